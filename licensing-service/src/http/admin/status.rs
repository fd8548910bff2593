//! `/v1/admin/status` (the service at a glance, backups included) and
//! `/v1/admin/backups` (list; take one now) — thin over `services::backups`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::backup::BackupFile;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::services::backups::{self, BackupStatus, ServiceStatus};

pub async fn status(State(s): State<AppState>) -> Result<Json<ServiceStatus>, ApiError> {
    Ok(Json(backups::service_status(&s.core).await?))
}

pub async fn list_backups(State(s): State<AppState>) -> Result<Json<BackupStatus>, ApiError> {
    Ok(Json(backups::status(&s.core).await?))
}

pub async fn take_backup(State(s): State<AppState>) -> Result<(StatusCode, Json<BackupFile>), ApiError> {
    Ok((StatusCode::CREATED, Json(backups::run_now(&s.core, "admin").await?)))
}

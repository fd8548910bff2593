//! `GET /redeem` (`?code=&product=` prefill it) and `POST /redeem`: a
//! free-license code becomes a key through the same rules as
//! `POST /v1/redeem`, then the buyer lands on the thank-you page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use super::security::PageForm;
use super::thank_you::path as thank_you_path;
use super::{field_error, render_form, Caching, Chrome, FormError, PageQuery};
use crate::db;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::public::codes::too_many;
use crate::http::state::AppState;
use crate::services::orders::{redeem_code, OrderInput};

/// Both the prefilling query and the posted form.
#[derive(Deserialize, Default, JsonSchema)]
pub struct RedeemForm {
    product: Option<String>,
    code: Option<String>,
    policy_slug: Option<String>,
    buyer_email: Option<String>,
    buyer_npub: Option<String>,
}

#[derive(Template)]
#[template(path = "redeem.html")]
struct RedeemPage {
    chrome: Chrome,
    products: Vec<(String, String)>,
    product: String,
    code: String,
    policy_slug: String,
    buyer_email: String,
    buyer_npub: String,
    error: Option<FormError>,
}

impl RedeemPage {
    fn selected(&self, slug: &str) -> bool {
        self.product == slug
    }

    /// The field's error sentence, when the form came back for it.
    fn error_at(&self, field: &str) -> Option<&str> {
        field_error(&self.error, field)
    }

    fn invalid(&self, field: &str) -> bool {
        self.error_at(field).is_some()
    }
}

/// A refused code is the code field's fault (the API's answer names no field).
fn form_error(e: &ApiError) -> FormError {
    let mut f = FormError::new(e);
    if f.field.is_none() && e.status == StatusCode::UNPROCESSABLE_ENTITY && e.code != "buyer_required" {
        f.field = Some("code");
    }
    f
}

pub async fn page(State(s): State<AppState>, PageQuery(q): PageQuery<RedeemForm>) -> Result<Response, ApiError> {
    show(&s, q, None).await
}

pub async fn submit(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<RedeemForm>,
) -> Result<Response, ApiError> {
    if let Err(retry) = s.limits.code.check(ip) {
        return show(&s, form, Some(too_many(retry))).await;
    }
    let product = form.product.as_deref().unwrap_or_default().trim();
    let order = OrderInput {
        product,
        policy_slug: form.policy_slug.as_deref().filter(|p| !p.trim().is_empty()),
        code: Some(form.code.as_deref().unwrap_or_default()),
        buyer_email: form.buyer_email.clone(),
        buyer_npub: form.buyer_npub.clone(),
        buyer_note: None,
    };
    match redeem_code(&s.core, order, None).await.map_err(ApiError::from) {
        Ok(reply) => Ok(Redirect::to(&thank_you_path(reply.body.invoice_id)).into_response()),
        Err(e) if e.status == StatusCode::INTERNAL_SERVER_ERROR => Err(e),
        Err(e) => show(&s, form, Some(e)).await,
    }
}

async fn show(s: &AppState, form: RedeemForm, error: Option<ApiError>) -> Result<Response, ApiError> {
    let products: Vec<(String, String)> =
        db::products::list(&s.db.read, true).await?.into_iter().map(|p| (p.slug.to_string(), p.name)).collect();
    let page = RedeemPage {
        chrome: Chrome::new(s),
        products,
        product: form.product.unwrap_or_default(),
        code: form.code.unwrap_or_default(),
        policy_slug: form.policy_slug.unwrap_or_default(),
        buyer_email: form.buyer_email.unwrap_or_default(),
        buyer_npub: form.buyer_npub.unwrap_or_default(),
        error: error.as_ref().map(form_error),
    };
    render_form(&page, error.as_ref(), Caching::Revalidate)
}

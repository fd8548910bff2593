//! The stylesheet, script and icon, compiled into the binary. Pages link
//! them with a content hash in the query, so a browser may keep them for a
//! year and still never runs an old script against a new page.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::PageQuery;
use crate::http::error::ApiError;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
    version: LazyLock<String>,
    url: LazyLock<String>,
}

macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_str!(concat!("../../../static/", $name)),
            version: LazyLock::new(|| version_of(include_str!(concat!("../../../static/", $name)))),
            url: LazyLock::new(|| {
                format!("/static/{}?v={}", $name, version_of(include_str!(concat!("../../../static/", $name))))
            }),
        }
    };
}

pub static CSS: Asset = asset!("keysat.css", "text/css; charset=utf-8");
pub static JS: Asset = asset!("keysat.js", "text/javascript; charset=utf-8");
pub static ICON: Asset = asset!("icon.svg", "image/svg+xml");

static ALL: [&Asset; 3] = [&CSS, &JS, &ICON];

fn version_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    hex::encode(&digest[..6])
}

/// The address pages link the asset at.
pub fn url(asset: &'static Asset) -> &'static str {
    asset.url.as_str()
}

#[derive(Deserialize, JsonSchema)]
pub struct AssetQuery {
    v: Option<String>,
}

/// `GET /static/{name}`.
pub async fn serve(Path(name): Path<String>, PageQuery(q): PageQuery<AssetQuery>) -> Result<Response, ApiError> {
    let asset = ALL.iter().find(|a| a.name == name).ok_or_else(|| ApiError::not_found("no such file"))?;
    Ok(respond(asset, q.v.as_deref() == Some(asset.version.as_str())))
}

/// `GET /favicon.ico`: browsers ask for it whatever the page links.
pub async fn favicon() -> Response {
    respond(&ICON, false)
}

fn respond(asset: &Asset, versioned: bool) -> Response {
    let cache = if versioned { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    let mut res = (StatusCode::OK, asset.body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

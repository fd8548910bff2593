//! `GET /renew` and `POST /renew`: the buyer pastes their key (or arrives
//! from a reminder's link, which names the license), sees what the next
//! period costs, and pays — through the same service as `POST /v1/renew`.
//! Without JavaScript: each step is a form post.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use super::security::PageForm;
use super::{date, render_form, term, Caching, Chrome, PageQuery};
use crate::delivery::buyer_notices::until as expiry;
use crate::domain::now_unix;
use crate::domain::subscription::{renewal_start, State as SubState};
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::public::codes::too_many;
use crate::http::state::AppState;
use crate::services::orders::Caller;
use crate::services::subscriptions::{self, price_text, Holder};

/// The query of a reminder's link and every form field of the page.
#[derive(Deserialize, Default, JsonSchema)]
pub struct RenewForm {
    key: Option<String>,
    license: Option<String>,
    t: Option<String>,
    code: Option<String>,
    intent: Option<String>,
}

impl RenewForm {
    fn holder(&self) -> Option<Holder<'_>> {
        match (&self.license, &self.t, &self.key) {
            (Some(l), Some(t), _) if !l.trim().is_empty() => Some(Holder::Link { license_id: l, token: t }),
            (_, _, Some(k)) if !k.trim().is_empty() => Some(Holder::Key(k)),
            _ => None,
        }
    }
}

#[derive(Template)]
#[template(path = "renew.html")]
struct RenewPage {
    chrome: Chrome,
    key: String,
    license: String,
    t: String,
    code: String,
    summary: Option<Summary>,
    error: Option<String>,
}

/// The subscription and its next period, as the page shows them.
struct Summary {
    product: String,
    tier: String,
    state: &'static str,
    until: String,
    next: String,
    price: String,
}

pub async fn page(State(s): State<AppState>, PageQuery(q): PageQuery<RenewForm>) -> Result<Response, ApiError> {
    if q.holder().is_some() {
        return look(&s, q).await;
    }
    show(&s, q, None, None)
}

pub async fn submit(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<RenewForm>,
) -> Result<Response, ApiError> {
    if form.intent.as_deref() != Some("pay") {
        return look(&s, form).await;
    }
    if let Err(retry) = s.limits.purchase.check(ip) {
        return show(&s, form, None, Some(too_many(retry)));
    }
    let Some(holder) = form.holder() else {
        return show(&s, form, None, Some(ApiError::bad_request("invalid_request", "Paste your license key.")));
    };
    let caller = Caller { ip, idem: None };
    match subscriptions::renew(&s.core, holder, form.code.as_deref(), None, &caller).await.map_err(ApiError::from) {
        Ok(reply) => Ok(Redirect::to(reply.body.checkout_url()).into_response()),
        Err(e) if e.status == StatusCode::INTERNAL_SERVER_ERROR => Err(e),
        Err(e) => {
            let summary = summary(&s, &form).await.ok();
            show(&s, form, summary, Some(e))
        }
    }
}

/// The subscription the holder names, or why not.
async fn look(s: &AppState, form: RenewForm) -> Result<Response, ApiError> {
    match summary(s, &form).await {
        Ok(summary) => show(s, form, Some(summary), None),
        Err(e) if e.status == StatusCode::INTERNAL_SERVER_ERROR => Err(e),
        Err(e) => show(s, form, None, Some(e)),
    }
}

async fn summary(s: &AppState, form: &RenewForm) -> Result<Summary, ApiError> {
    let holder = form.holder().ok_or_else(|| ApiError::bad_request("invalid_request", "Paste your license key."))?;
    // The code is applied when paying; the summary shows the tier's price.
    let r = subscriptions::renewal(&s.core, holder, None).await?;
    let l = &r.license;
    let start = renewal_start(l.expires_at, l.grace_seconds, now_unix());
    let end = start + r.order.policy.duration_seconds;
    Ok(Summary {
        product: r.order.product.name.clone(),
        tier: r.order.policy.name.clone(),
        state: match r.subscription.state {
            SubState::Active => "Active",
            SubState::Notice => "Active, renewal due",
            SubState::PastDue => "Ended, in its grace period",
            SubState::Lapsed => "Lapsed",
            SubState::Canceled => "Canceled (renewing resumes it)",
        },
        until: expiry(l.expires_at),
        next: format!("{}, until {}", term(r.order.policy.duration_seconds), date(end)),
        price: price_text(&r.order.policy),
    })
}

fn show(
    s: &AppState,
    form: RenewForm,
    summary: Option<Summary>,
    error: Option<ApiError>,
) -> Result<Response, ApiError> {
    let page = RenewPage {
        chrome: Chrome::new(s),
        key: form.key.unwrap_or_default(),
        license: form.license.unwrap_or_default(),
        t: form.t.unwrap_or_default(),
        code: form.code.unwrap_or_default(),
        summary,
        error: error.as_ref().map(super::errors::for_form),
    };
    render_form(&page, error.as_ref(), Caching::Private)
}

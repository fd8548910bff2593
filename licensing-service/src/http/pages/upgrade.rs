//! `GET /upgrade` and `POST /upgrade`: the buyer pastes their key, sees
//! every tier they can move to with what it costs now (the credit for their
//! unused time taken off) or, for a lower tier, when it takes effect, and
//! pays — through the same services as `POST /v1/upgrade-quote` and
//! `/v1/upgrade`. Each step is a form post; no JavaScript needed.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use super::security::PageForm;
use super::{date, render_form, sats, seats, Caching, Chrome};
use crate::db;
use crate::delivery::buyer_notices::until as expiry;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::public::codes::too_many;
use crate::http::state::AppState;
use crate::services::orders::Caller;
use crate::services::subscriptions::{holder_license, Holder};
use crate::services::upgrades::{self, Direction, Outcome, UpgradeQuoteView};
use crate::services::{catalog, ServiceError};

#[derive(Deserialize, Default, JsonSchema)]
pub struct UpgradeForm {
    key: Option<String>,
    to_policy_slug: Option<String>,
    intent: Option<String>,
}

#[derive(Template)]
#[template(path = "upgrade.html")]
struct UpgradePage {
    chrome: Chrome,
    key: String,
    options: Vec<TierOption>,
    scheduled: Option<String>,
    error: Option<String>,
}

/// A tier the license can move to.
struct TierOption {
    slug: String,
    name: String,
    seats: String,
    /// What it costs now, or when it takes effect.
    offer: String,
    /// How the amount was worked out.
    detail: String,
}

pub async fn page(State(s): State<AppState>) -> Result<Response, ApiError> {
    show(&s, UpgradeForm::default(), Vec::new(), None, None)
}

pub async fn submit(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<UpgradeForm>,
) -> Result<Response, ApiError> {
    let key = form.key.clone().unwrap_or_default();
    if form.intent.as_deref() != Some("pay") {
        return look(&s, form).await;
    }
    if let Err(retry) = s.limits.purchase.check(ip) {
        return show(&s, form, Vec::new(), None, Some(too_many(retry)));
    }
    let to = form.to_policy_slug.clone().unwrap_or_default();
    let caller = Caller { ip, idem: None };
    match upgrades::upgrade(&s.core, Holder::Key(&key), &to, None, &caller).await.map_err(ApiError::from) {
        Ok(Outcome::Checkout(reply)) => Ok(Redirect::to(reply.body.checkout_url()).into_response()),
        Ok(Outcome::Scheduled(d)) => {
            let note = format!(
                "Done: your license moves to tier '{}' at its next renewal, on {}.",
                d.to_policy_slug,
                date(d.effective_at.0)
            );
            show(&s, form, Vec::new(), Some(note), None)
        }
        Ok(Outcome::Applied(_)) => Ok(Redirect::to("/upgrade").into_response()),
        Err(e) if e.status == StatusCode::INTERNAL_SERVER_ERROR => Err(e),
        Err(e) => {
            let options = options(&s, &key).await.unwrap_or_default();
            show(&s, form, options, None, Some(e))
        }
    }
}

async fn look(s: &AppState, form: UpgradeForm) -> Result<Response, ApiError> {
    let key = form.key.clone().unwrap_or_default();
    match options(s, &key).await {
        Ok(options) if options.is_empty() => {
            let none = ApiError::new(StatusCode::OK, "no_options", "There is no other tier this license can move to.");
            show(s, form, Vec::new(), None, Some(none))
        }
        Ok(options) => show(s, form, options, None, None),
        Err(e) if e.status == StatusCode::INTERNAL_SERVER_ERROR => Err(e),
        Err(e) => show(s, form, Vec::new(), None, Some(e)),
    }
}

/// Every tier on sale the key's license can move to, quoted now.
async fn options(s: &AppState, key: &str) -> Result<Vec<TierOption>, ApiError> {
    let l = holder_license(&s.core, Holder::Key(key)).await?;
    let product = db::products::by_id(&s.db.read, l.product_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the license's product is gone"))?;
    let mut found = Vec::new();
    for tier in catalog::tiers_on_sale(&s.db, &product).await? {
        if tier.id == l.policy_id || tier.is_trial {
            continue;
        }
        match upgrades::quote(&s.core, Holder::Key(key), tier.slug.as_str()).await {
            Ok(q) => found.push(TierOption {
                slug: tier.slug.to_string(),
                name: tier.name.clone(),
                seats: seats(tier.max_machines),
                offer: offer(&q),
                detail: detail(&q),
            }),
            // A tier off the ladder, or one that cannot be credited, is not offered.
            Err(ServiceError::Domain(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(found)
}

fn money(sats_value: i64, fiat: &Option<String>, currency: &Option<String>) -> String {
    match (fiat, currency) {
        (Some(a), Some(c)) => format!("{a} {c}"),
        _ => sats(sats_value),
    }
}

fn is_zero(amount: &str) -> bool {
    amount.bytes().all(|b| b == b'0' || b == b'.')
}

fn offer(q: &UpgradeQuoteView) -> String {
    match q.direction {
        Direction::Downgrade => format!("From your next renewal, {}", date(q.effective_at.0)),
        _ => format!("Pay {} now", money(q.amount_sats, &q.amount, &q.currency)),
    }
}

fn detail(q: &UpgradeQuoteView) -> String {
    let until = expiry(q.expires_at.map_or(0, |t| t.0));
    match q.direction {
        Direction::Downgrade => {
            format!("Nothing to pay now; the renewal is priced at this tier. Valid until: {until}.")
        }
        _ if q.credit_sats == 0 && q.credit_amount.as_deref().is_none_or(is_zero) => format!("Valid until: {until}."),
        _ => format!(
            "{} less {} for the unused part of what you paid. Valid until: {until}.",
            money(q.price_sats, &q.price_amount, &q.currency),
            money(q.credit_sats, &q.credit_amount, &q.currency),
        ),
    }
}

fn show(
    s: &AppState,
    form: UpgradeForm,
    options: Vec<TierOption>,
    scheduled: Option<String>,
    error: Option<ApiError>,
) -> Result<Response, ApiError> {
    let page = UpgradePage {
        chrome: Chrome::new(s),
        key: form.key.unwrap_or_default(),
        options,
        scheduled,
        error: error.as_ref().map(super::errors::for_form),
    };
    let status_error = error.filter(|e| e.status != StatusCode::OK);
    render_form(&page, status_error.as_ref(), Caching::Private)
}

//! The demo checkout (`keysat serve --demo` only): a page with "Pay" and
//! "Let it expire" buttons standing in for the payment provider.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use uuid::Uuid;

use crate::domain::invoice::Observed;
use crate::http::error::ApiError;
use crate::http::pages::{sats, Chrome};
use crate::http::state::AppState;
use crate::payment::simulated::Simulated;
use crate::payment::Amount;
use crate::services::fulfillment;

#[derive(Template)]
#[template(path = "demo_checkout.html")]
struct CheckoutPage<'a> {
    chrome: Chrome,
    id: &'a str,
    description: &'a str,
    amount: String,
    status: &'a str,
    open: bool,
    redirect_url: &'a str,
}

fn simulator(s: &AppState) -> Result<&Simulated, ApiError> {
    s.demo.as_deref().ok_or_else(|| ApiError::not_found(crate::http::error::NO_SUCH_ENDPOINT))
}

pub async fn checkout_page(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let inv = simulator(&s)?.get(&id).ok_or_else(|| ApiError::not_found("no such demo invoice"))?;
    let amount = match &inv.amount {
        Amount::Sats(n) => sats(*n),
        Amount::Fiat { amount, currency } => format!("{amount} {currency}"),
    };
    let status = match inv.state {
        Observed::New => "waiting for payment",
        Observed::Processing => "confirming",
        Observed::Settled => "paid",
        Observed::Expired => "expired",
        Observed::Invalid => "invalid",
    };
    let page = CheckoutPage {
        chrome: Chrome::new(&s),
        id: &id,
        description: &inv.description,
        amount,
        status,
        open: inv.state == Observed::New,
        redirect_url: &inv.redirect_url,
    };
    Ok(Html(page.render().map_err(|e| anyhow::anyhow!("rendering the demo checkout: {e}"))?).into_response())
}

/// "Pay" settles the invoice (and fulfils it at once); "expire" closes it.
pub async fn resolve(
    State(s): State<AppState>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let sim = simulator(&s)?;
    let to = match action.as_str() {
        "pay" => Observed::Settled,
        "expire" => Observed::Expired,
        _ => return Err(ApiError::not_found(crate::http::error::NO_SUCH_ENDPOINT)),
    };
    let inv = sim.resolve(&id, to).ok_or_else(|| ApiError::not_found("no such demo invoice"))?;
    let ours: Uuid = inv.order_id;
    fulfillment::apply_invoice_news(&s.core, Some(ours), Some(inv.state), None, None, "demo")
        .await
        .map_err(|e| anyhow::anyhow!("demo payment: {e}"))?;
    Ok(Redirect::to(&inv.redirect_url).into_response())
}

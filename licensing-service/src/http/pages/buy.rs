//! `GET /buy/{slug}`: the product's tiers, a discount code with its price
//! preview, the buyer's details; `POST /buy/{slug}` either previews the code
//! (without JavaScript) or creates the purchase and sends the buyer on to
//! the payment provider's checkout (303).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use super::security::PageForm;
use super::{field_error, render, render_form, sats, seats, term, Caching, Chrome, FormError, PageQuery};
use crate::domain::catalog::{Policy, Product};
use crate::domain::discount::{Kind, Quote};
use crate::domain::Slug;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::public::codes::too_many;
use crate::http::state::AppState;
use crate::services::orders::{create_purchase, create_purchase_on, Caller, OrderInput, Rail};
use crate::services::{catalog, ServiceError};

/// `?tier=&code=` preselect a tier and fill in a code (links from the seller).
#[derive(Deserialize, Default, JsonSchema)]
pub struct BuyQuery {
    tier: Option<String>,
    code: Option<String>,
}

/// The form's fields; `intent` is the button pressed ("preview" or "pay").
#[derive(Deserialize, Default, JsonSchema)]
pub struct BuyForm {
    policy_slug: Option<String>,
    code: Option<String>,
    buyer_email: Option<String>,
    buyer_npub: Option<String>,
    buyer_note: Option<String>,
    intent: Option<String>,
}

#[derive(Template)]
#[template(path = "buy.html")]
struct BuyPage {
    chrome: Chrome,
    slug: String,
    name: String,
    description: String,
    tiers: Vec<TierCard>,
    form: FormValues,
    offer: Option<String>,
    code_note: Option<Note>,
    total: Total,
    error: Option<FormError>,
    payments_ready: bool,
    /// The line under the pay button when there is something to pay.
    paid_help: String,
    /// What renewing a subscription means, when a tier is one.
    renewal_note: Option<String>,
    /// Bitcoin (BTCPay or demo) is connected.
    bitcoin_ready: bool,
    /// Cards (Stripe) are connected: tiers with a fiat price may be paid by card.
    card_ready: bool,
    /// The chosen tier can be paid by card now (shows "Pay by card").
    card_now: bool,
}

/// The line under the button when nothing is to be paid.
const FREE_HELP: &str = "Nothing to pay: your key is issued on the next page, at once.";

impl BuyPage {
    /// The field's error sentence, when the form came back for it.
    fn error_at(&self, field: &str) -> Option<&str> {
        field_error(&self.error, field)
    }

    fn invalid(&self, field: &str) -> bool {
        self.error_at(field).is_some()
    }

    /// A field of this form (the summary links to it).
    fn on_page(&self, field: &str) -> bool {
        matches!(field, "buyer_email" | "buyer_npub" | "buyer_note" | "code")
    }

    /// The code was refused (by the preview or the order).
    fn code_refused(&self) -> bool {
        self.invalid("code") || self.code_note.as_ref().is_some_and(|n| !n.ok)
    }

    fn free_help(&self) -> &'static str {
        FREE_HELP
    }

    /// Nothing can take a payment and there is something to pay: the button
    /// is disabled and the line under it says why.
    fn blocked(&self) -> bool {
        !self.payments_ready && !self.total.free
    }
}

struct TierCard {
    slug: String,
    name: String,
    description: String,
    price_sats: i64,
    price: String,
    fiat: Option<String>,
    term: String,
    renews: Option<String>,
    /// "per month", "per year" … for a subscription.
    per: Option<String>,
    seats: String,
    entitlements: Vec<String>,
    trial: Option<String>,
    highlighted: bool,
    checked: bool,
}

/// What the buyer typed, given back to them when the page is shown again.
#[derive(Default)]
struct FormValues {
    code: String,
    buyer_email: String,
    buyer_npub: String,
    buyer_note: String,
}

/// A line under the code field: what the code does, or why it does nothing.
struct Note {
    ok: bool,
    text: String,
}

/// The price of the chosen tier with the code applied.
struct Total {
    tier: String,
    /// The price before the code, when the code changes it.
    was: Option<String>,
    /// What is charged: sats, or the tier's fiat amount.
    price: String,
    /// A line beside the price (how a fiat price is paid).
    also: Option<String>,
    free: bool,
}

pub async fn page(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(slug): Path<String>,
    PageQuery(q): PageQuery<BuyQuery>,
) -> Result<Response, ApiError> {
    let product = on_sale(&s, &slug).await?;
    let tiers = public_tiers(&s, &product).await?;
    let mut offer = None;
    let code = match q.code {
        // `?code=` with nothing: the link asks for no code, not the featured one.
        Some(c) if c.trim().is_empty() => String::new(),
        // A code in the address is looked up like a preview: limited per address.
        Some(c) => {
            if let Err(retry) = s.limits.code.check(ip) {
                // Not looked up: the page comes back without it.
                let form = BuyForm { policy_slug: q.tier, ..BuyForm::default() };
                return show_again(&s, product, tiers, form, Some(too_many(retry))).await;
            }
            c
        }
        None => match featured(&s, &product, &tiers).await? {
            Some((code, what)) => {
                offer = Some(format!("Offer: code {code} gives {what}. It is filled in below."));
                code
            }
            None => String::new(),
        },
    };
    let form = BuyForm { policy_slug: q.tier, code: Some(code), ..BuyForm::default() };
    let mut page = build(&s, product, tiers, form).await?;
    page.offer = offer;
    render(&page, StatusCode::OK, Caching::Revalidate)
}

pub async fn submit(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(slug): Path<String>,
    PageForm(form): PageForm<BuyForm>,
) -> Result<Response, ApiError> {
    let product = on_sale(&s, &slug).await?;
    let tiers = public_tiers(&s, &product).await?;
    if form.intent.as_deref() == Some("preview") {
        let limited = s.limits.code.check(ip).err().map(too_many);
        return show_again(&s, product, tiers, form, limited).await;
    }
    if let Err(retry) = s.limits.purchase.check(ip) {
        return show_again(&s, product, tiers, form, Some(too_many(retry))).await;
    }
    let order = OrderInput {
        product: product.slug.as_str(),
        policy_slug: form.policy_slug.as_deref(),
        code: form.code.as_deref(),
        buyer_email: form.buyer_email.clone(),
        buyer_npub: form.buyer_npub.clone(),
        buyer_note: form.buyer_note.clone(),
    };
    // "Pay by card" asks for the card rail; "Pay" takes the default (bitcoin when connected).
    let caller = Caller { ip, idem: None };
    let purchase = match form.intent.as_deref() {
        Some("card") => create_purchase_on(&s.core, order, None, &caller, Some(Rail::Card)).await,
        _ => create_purchase(&s.core, order, None, &caller).await,
    };
    match purchase.map_err(ApiError::from) {
        Ok(reply) => Ok(Redirect::to(reply.body.checkout_url()).into_response()),
        // Our own failures get the error page; the buyer's, the form again.
        Err(e) if e.status == StatusCode::INTERNAL_SERVER_ERROR => Err(e),
        Err(e) => show_again(&s, product, tiers, form, Some(e)).await,
    }
}

/// The page again with what the buyer typed and, if any, what went wrong.
async fn show_again(
    s: &AppState,
    product: Product,
    tiers: Vec<Policy>,
    form: BuyForm,
    error: Option<ApiError>,
) -> Result<Response, ApiError> {
    let mut page = build(s, product, tiers, form).await?;
    page.error = error.as_ref().map(FormError::new);
    render_form(&page, error.as_ref(), Caching::Revalidate)
}

async fn on_sale(s: &AppState, slug: &str) -> Result<Product, ApiError> {
    Ok(s.catalogue.shelf(&s.db).await?.product(slug)?.product.clone())
}

async fn public_tiers(s: &AppState, product: &Product) -> Result<Vec<Policy>, ApiError> {
    let shelf = s.catalogue.shelf(&s.db).await?;
    Ok(shelf.product(product.slug.as_str())?.tiers.clone())
}

/// The product's featured code, when it can be used on some tier now.
async fn featured(s: &AppState, product: &Product, tiers: &[Policy]) -> Result<Option<(String, String)>, ApiError> {
    let shelf = s.catalogue.shelf(&s.db).await?;
    let Some(dc) = &shelf.product(product.slug.as_str())?.featured else {
        return Ok(None);
    };
    for tier in tiers {
        match catalog::quote_code(&s.core, product, tier, dc.code.as_str()).await {
            Ok((dc, _)) => return Ok(Some((dc.code.as_str().to_string(), describe(dc.kind)))),
            Err(ServiceError::Refused(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// What a code does, in words.
fn describe(kind: Kind) -> String {
    match kind {
        Kind::PercentOff(p) => format!("{p}% off"),
        Kind::FixedSatsOff(n) => format!("{} off", sats(n)),
        Kind::SetPriceSats(n) => format!("a price of {}", sats(n)),
        Kind::FreeLicense => "a free license".to_string(),
    }
}

async fn build(s: &AppState, product: Product, tiers: Vec<Policy>, form: BuyForm) -> Result<BuyPage, ApiError> {
    let wanted = form.policy_slug.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let chosen = wanted
        .and_then(|w| tiers.iter().position(|t| t.slug.as_str() == w))
        .or_else(|| tiers.iter().position(|t| t.highlighted))
        .unwrap_or(0);
    let code = form.code.as_deref().map(str::trim).unwrap_or_default().to_string();
    let mut code_note = None;
    let total = match tiers.get(chosen) {
        None => None,
        Some(tier) if code.is_empty() => Some(total(tier, &Quote::list_price(tier))),
        Some(tier) => match catalog::quote_code(&s.core, &product, tier, &code).await {
            Ok((dc, quote)) => {
                let text = format!("Code {}: {}.", dc.code.as_str(), describe(dc.kind));
                code_note = Some(Note { ok: true, text });
                Some(total(tier, &quote))
            }
            Err(ServiceError::Refused(r)) => {
                code_note = Some(Note { ok: false, text: super::errors::for_form(&ApiError::from(r)) });
                Some(total(tier, &Quote::list_price(tier)))
            }
            Err(e) => return Err(e.into()),
        },
    };
    let cards = tiers.iter().enumerate().map(|(i, t)| card(&product, t, i == chosen)).collect();
    let renewal_note = tiers.iter().find(|t| t.is_recurring).map(|t| {
        format!(
            "Subscriptions renew only when you pay: {} before each period ends you are reminded (by Nostr DM \
             if you give your npub) and renew in bitcoin on the renew page with your key. Nothing is charged \
             automatically; without a renewal the key stops working when the period (and any grace time) ends.",
            term(t.renewal_notice_seconds)
        )
    });
    let card_ready = s.payments.card().is_some();
    let bitcoin_ready = s.payments.current().is_some();
    let total_free = total.as_ref().is_some_and(|t| t.free);
    let paid_help = match (bitcoin_ready, card_ready) {
        (false, false) => "Paid tiers cannot be bought until the seller connects a payment provider. \
                           A free code still works."
            .to_string(),
        (true, false) => {
            "You pay on the payment page (Lightning or on-chain), then come back here for your key.".to_string()
        }
        (false, true) => "You pay by card on Stripe's secure page, then come back here for your key. \
                          Tiers marked \"Bitcoin only\" cannot be bought by card."
            .to_string(),
        (true, true) => "You pay on the payment page (bitcoin: Lightning or on-chain; card: Stripe's secure page), \
                         then come back here for your key. Tiers marked \"Bitcoin only\" have no card price."
            .to_string(),
    };
    Ok(BuyPage {
        chrome: Chrome::new(s),
        slug: product.slug.to_string(),
        name: product.name,
        description: product.description,
        tiers: cards,
        form: FormValues {
            code,
            buyer_email: form.buyer_email.unwrap_or_default(),
            buyer_npub: form.buyer_npub.unwrap_or_default(),
            buyer_note: form.buyer_note.unwrap_or_default(),
        },
        offer: None,
        code_note,
        total: total.unwrap_or(Total { tier: String::new(), was: None, price: String::new(), also: None, free: false }),
        error: None,
        payments_ready: bitcoin_ready || card_ready,
        paid_help,
        card_now: card_ready && tiers.get(chosen).is_some_and(|t| t.fiat_price.is_some()) && !total_free,
        bitcoin_ready,
        card_ready,
        renewal_note,
    })
}

/// One tier as a card; entitlements by their catalogue names.
fn card(product: &Product, t: &Policy, checked: bool) -> TierCard {
    let entitlement_name = |e: &Slug| {
        product.entitlements_catalog.iter().find(|c| &c.slug == e).map_or_else(|| e.to_string(), |c| c.name.clone())
    };
    TierCard {
        slug: t.slug.to_string(),
        name: t.name.clone(),
        description: t.description.clone(),
        price_sats: t.price_sats,
        // A fiat tier is charged in its currency only; its price_sats plays no part.
        price: t.fiat_price.as_ref().map_or_else(|| sats(t.price_sats), |f| format!("{} {}", f.amount, f.currency)),
        fiat: t.fiat_price.as_ref().map(|f| format!("{} {}", f.amount, f.currency)),
        term: if t.is_recurring { "Subscription".to_string() } else { term(t.duration_seconds) },
        renews: t.is_recurring.then(|| match per(t.duration_seconds).strip_prefix("per ") {
            Some(unit) => format!("renews each {unit}"),
            None => format!("renews {}", per(t.duration_seconds)),
        }),
        per: t.is_recurring.then(|| per(t.duration_seconds)),
        seats: seats(t.max_machines),
        entitlements: t.entitlements.iter().map(entitlement_name).collect(),
        trial: t.is_trial.then(|| {
            let kind = if t.price_sats == 0 && t.fiat_price.is_none() { "Free trial" } else { "Trial" };
            match t.trial_days().filter(|d| *d > 0) {
                Some(d) => format!("{kind} · {}", term(d * 86_400)),
                None => kind.to_string(),
            }
        }),
        highlighted: t.highlighted,
        checked,
    }
}

/// A subscription's period as a price suffix: "per month", or "every 2 weeks".
fn per(seconds: i64) -> String {
    let t = term(seconds);
    match t.strip_prefix("1 ") {
        Some(unit) => format!("per {unit}"),
        None => format!("every {t}"),
    }
}

fn total(tier: &Policy, q: &Quote) -> Total {
    let (price, was, also) = match &q.fiat {
        // A fiat tier is charged in its currency, converted to bitcoin at checkout.
        Some((before, after, currency)) => {
            let was = (before != after).then(|| format!("{before} {currency}"));
            let also = (!q.is_free()).then(|| "paid in bitcoin at the rate of the day".to_string());
            (format!("{after} {currency}"), was, also)
        }
        None => (sats(q.final_price_sats.max(0)), (q.discount_sats != 0).then(|| sats(q.base_price_sats)), None),
    };
    Total { tier: tier.name.clone(), was, price, also, free: q.is_free() }
}

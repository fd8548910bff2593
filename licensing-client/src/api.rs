//! The JSON answers of the public HTTP API (PROTOCOL.md §4) as typed
//! values, shared by the Keysat server (which writes them) and clients
//! (which read them): [`Answer`] for `validate` and `machines/*`, the
//! purchase and redemption answers, and the error envelope.
//!
//! Field names, and which fields are `null` rather than absent, are the
//! wire contract: these types write exactly what the server has always
//! written. Readers ignore fields they do not know, so a server may add
//! fields without breaking them.

use std::borrow::Cow;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use crate::time::Rfc3339;
use crate::Answer;

/// Writes `value` under `key`, or leaves the field out.
fn optional<S: SerializeStruct, T: Serialize + ?Sized>(
    st: &mut S,
    key: &'static str,
    value: Option<&T>,
) -> Result<(), S::Error> {
    match value {
        Some(v) => st.serialize_field(key, v),
        None => st.skip_field(key),
    }
}

/// `None` fields are left out, except `expires_at` of an answer that
/// describes a license (with `issued_at`): `null` for a perpetual license.
impl Serialize for Answer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let perpetual = self.issued_at.is_some() && self.expires_at.is_none();
        let present = [
            self.reason.is_some(),
            self.message.is_some(),
            self.status.is_some(),
            self.license_id.is_some(),
            self.product_id.is_some(),
            self.product_slug.is_some(),
            self.issued_at.is_some(),
            self.expires_at.is_some() || perpetual,
            self.grace_until.is_some(),
            self.in_grace_period.is_some(),
            self.is_trial.is_some(),
            self.entitlements.is_some(),
            self.machine_id.is_some(),
            self.active_count.is_some(),
            self.max_machines.is_some(),
            self.signature.is_some(),
        ];
        let mut st = s.serialize_struct("Answer", 1 + present.iter().filter(|p| **p).count())?;
        st.serialize_field("ok", &self.ok)?;
        optional(&mut st, "reason", self.reason.as_deref())?;
        optional(&mut st, "message", self.message.as_deref())?;
        optional(&mut st, "status", self.status.as_deref())?;
        optional(&mut st, "license_id", self.license_id.as_ref())?;
        optional(&mut st, "product_id", self.product_id.as_ref())?;
        optional(&mut st, "product_slug", self.product_slug.as_deref())?;
        optional(&mut st, "issued_at", self.issued_at.map(Rfc3339).as_ref())?;
        if perpetual {
            st.serialize_field("expires_at", &None::<Rfc3339>)?;
        } else {
            optional(&mut st, "expires_at", self.expires_at.map(Rfc3339).as_ref())?;
        }
        optional(&mut st, "grace_until", self.grace_until.map(Rfc3339).as_ref())?;
        optional(&mut st, "in_grace_period", self.in_grace_period.as_ref())?;
        optional(&mut st, "is_trial", self.is_trial.as_ref())?;
        optional(&mut st, "entitlements", self.entitlements.as_deref())?;
        optional(&mut st, "machine_id", self.machine_id.as_ref())?;
        optional(&mut st, "active_count", self.active_count.as_ref())?;
        optional(&mut st, "max_machines", self.max_machines.as_ref())?;
        optional(&mut st, "signature", self.signature.as_deref())?;
        st.end()
    }
}

/// The error answer of every endpoint but `validate` and `machines/*`
/// (which answer HTTP 200 with an [`Answer`]), sent with an HTTP 4xx or
/// 5xx status: `{"ok": false, "error": "<code>", "message": "<human text>"}`.
///
/// ```
/// use keysat_client::ErrorEnvelope;
///
/// let e = ErrorEnvelope { error: "unknown_code".into(), message: "this code cannot be used".into() };
/// let json = serde_json::to_string(&e)?;
/// assert_eq!(json, r#"{"ok":false,"error":"unknown_code","message":"this code cannot be used"}"#);
/// assert_eq!(serde_json::from_str::<ErrorEnvelope>(&json)?, e);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorEnvelope<'a> {
    /// A stable machine code (`not_found`, `rate_limited`, `unknown_code`, …).
    pub error: Cow<'a, str>,
    /// Human text; may change between versions.
    pub message: Cow<'a, str>,
}

/// Always written with `"ok": false`.
impl Serialize for ErrorEnvelope<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ErrorEnvelope", 3)?;
        st.serialize_field("ok", &false)?;
        st.serialize_field("error", &self.error)?;
        st.serialize_field("message", &self.message)?;
        st.end()
    }
}

/// The answer of `POST /v1/purchase`, told apart by its `status`: a
/// checkout to pay (`"pending"`), or, when nothing is left to pay (a free
/// tier, a code that makes it free), the license issued at once
/// (`"settled"`).
///
/// ```
/// use keysat_client::PurchaseAnswer;
///
/// let json = r#"{"status":"pending","invoice_id":"6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0",
///     "btcpay_invoice_id":"B1","checkout_url":"https://pay.example/i/B1","amount_sats":5000,
///     "base_price_sats":5000,"discount_applied_sats":0,"price_amount":null,"price_currency":null,
///     "poll_url":"https://shop.example/v1/purchase/6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0"}"#;
/// let answer: PurchaseAnswer = serde_json::from_str(json)?;
/// assert_eq!(answer.checkout_url(), "https://pay.example/i/B1");
/// assert_eq!(answer.license_key(), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(tag = "status")]
pub enum PurchaseAnswer {
    /// `"status": "pending"`: pay at `checkout_url`, then poll `poll_url`.
    #[serde(rename = "pending")]
    Checkout(PurchaseCheckout),
    /// `"status": "settled"`: nothing to pay, the license is issued.
    #[serde(rename = "settled")]
    Issued(PurchaseIssued),
}

impl PurchaseAnswer {
    /// `invoice_id`: the server's id of the purchase.
    pub fn invoice_id(&self) -> Uuid {
        match self {
            PurchaseAnswer::Checkout(c) => c.invoice_id,
            PurchaseAnswer::Issued(i) => i.invoice_id,
        }
    }

    /// `checkout_url`: where to send the buyer (the provider's checkout, or
    /// the thank-you page of a license issued at once).
    pub fn checkout_url(&self) -> &str {
        match self {
            PurchaseAnswer::Checkout(c) => &c.checkout_url,
            PurchaseAnswer::Issued(i) => &i.checkout_url,
        }
    }

    /// `poll_url`: `GET` it for a [`PurchaseStatus`].
    pub fn poll_url(&self) -> &str {
        match self {
            PurchaseAnswer::Checkout(c) => &c.poll_url,
            PurchaseAnswer::Issued(i) => &i.poll_url,
        }
    }

    /// The key, when it was issued at once.
    pub fn license_key(&self) -> Option<&str> {
        match self {
            PurchaseAnswer::Checkout(_) => None,
            PurchaseAnswer::Issued(i) => Some(&i.license_key),
        }
    }
}

/// A purchase waiting for payment (PROTOCOL.md §4 "Purchase").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PurchaseCheckout {
    /// The server's id of the purchase (its receipt).
    pub invoice_id: Uuid,
    /// The payment provider's invoice id (named after BTCPay whatever the provider).
    pub btcpay_invoice_id: String,
    /// The payment provider's checkout page.
    pub checkout_url: String,
    /// What is charged, in sats (0 for a tier priced in fiat: the provider converts).
    pub amount_sats: i64,
    /// The tier's price before any code (0 for a tier priced in fiat).
    pub base_price_sats: i64,
    /// What the code took off, in sats.
    pub discount_applied_sats: i64,
    /// A tier priced in fiat: the amount charged (a decimal string), else `null`.
    pub price_amount: Option<String>,
    /// A tier priced in fiat: its currency, else `null`.
    pub price_currency: Option<String>,
    /// `GET` it for a [`PurchaseStatus`].
    pub poll_url: String,
}

/// A purchase with nothing to pay: the license is issued already.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PurchaseIssued {
    /// The server's id of the purchase (its receipt).
    pub invoice_id: Uuid,
    /// No provider invoice: always `null`.
    pub btcpay_invoice_id: Option<String>,
    /// The thank-you page of the purchase.
    pub checkout_url: String,
    /// Always 0.
    pub amount_sats: i64,
    /// The tier's price before any code (0 for a tier priced in fiat).
    pub base_price_sats: i64,
    /// What the code took off, in sats.
    pub discount_applied_sats: i64,
    /// `GET` it for a [`PurchaseStatus`].
    pub poll_url: String,
    /// The license's id.
    pub license_id: Uuid,
    /// The `LIC1` key.
    pub license_key: String,
    /// The code use that made it free; `null` for a free tier bought without a code.
    pub redemption_id: Option<Uuid>,
}

/// The answer of `GET /v1/purchase/{invoice_id}`: where a purchase stands.
/// Every field is always written, `null` when it does not apply (yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PurchaseStatus {
    /// The server's id of the purchase (its receipt).
    pub invoice_id: Uuid,
    /// `pending`, `settled`, `expired` or `invalid`.
    pub status: String,
    /// The payment stage (an addition): `waiting_for_payment`, `confirming`,
    /// `paid`, `expired` or `invalid`.
    pub stage: String,
    /// The product's id.
    pub product_id: Uuid,
    /// What is charged, in sats (0 for a tier priced in fiat: the provider converts).
    pub amount_sats: i64,
    /// `null` until the license exists.
    pub license_key: Option<String>,
    /// `null` until the license exists.
    pub license_id: Option<Uuid>,
    /// The license's expiry (unix seconds; RFC 3339 in the JSON); `null`
    /// until the license exists, and for a perpetual one.
    #[serde(default, with = "crate::time::nullable")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<crate::schema::Timestamp>"))]
    pub expires_at: Option<u64>,
    /// The license's seats (0 = unlimited); `null` until it exists.
    pub max_machines: Option<i64>,
    /// The provider's checkout while the purchase is pending, else `null`.
    pub checkout_url: Option<String>,
}

/// The answer of `POST /v1/redeem`: the license a free-license code gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct RedeemAnswer {
    /// The license's id.
    pub license_id: Uuid,
    /// The `LIC1` key.
    pub license_key: String,
    /// The server's id of the purchase (its receipt).
    pub invoice_id: Uuid,
    /// The code use (always set by a code redemption; `null` otherwise).
    pub redemption_id: Option<Uuid>,
    /// The product's id.
    pub product_id: Uuid,
    /// Unix seconds (RFC 3339 in the JSON); `null` for a perpetual license.
    #[serde(default, with = "crate::time::nullable")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<crate::schema::Timestamp>"))]
    pub expires_at: Option<u64>,
    /// Seats (0 = unlimited).
    pub max_machines: i64,
}

//! A thin typed client for the Stripe calls Keysat makes: form-encoded
//! requests, `Authorization: Bearer <secret key>`, an `Idempotency-Key` on
//! every create, a pinned API version, timeouts, and errors that name the
//! call and Stripe's error code.
//!
//! Shapes follow Stripe's API reference and the `stripe` npm package's
//! TypeScript types at version 23.1.0 (API version [`API_VERSION`]):
//! `Checkout.SessionCreateParams`, `Checkout.Session`, `RefundCreateParams`,
//! `Refund`, `WebhookEndpointCreateParams`, `WebhookEndpoint`, `Charge`,
//! `Dispute`, `Event`. [`CALLS`] lists every call.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::payment::ProviderError;

/// The API version Keysat speaks (sent as `Stripe-Version` and asked of its
/// webhook endpoint, so events arrive in the shapes this module reads).
pub const API_VERSION: &str = "2026-10-28.endive";

pub const CREATE_SESSION: &str = "POST /v1/checkout/sessions";
pub const GET_SESSION: &str = "GET /v1/checkout/sessions/{id}";
pub const LIST_SESSIONS: &str = "GET /v1/checkout/sessions";
pub const CREATE_REFUND: &str = "POST /v1/refunds";
pub const LIST_WEBHOOKS: &str = "GET /v1/webhook_endpoints";
pub const CREATE_WEBHOOK: &str = "POST /v1/webhook_endpoints";
pub const GET_WEBHOOK: &str = "GET /v1/webhook_endpoints/{id}";
pub const DELETE_WEBHOOK: &str = "DELETE /v1/webhook_endpoints/{id}";

/// Every call this client makes.
pub const CALLS: &[&str] = &[
    CREATE_SESSION,
    GET_SESSION,
    LIST_SESSIONS,
    CREATE_REFUND,
    LIST_WEBHOOKS,
    CREATE_WEBHOOK,
    GET_WEBHOOK,
    DELETE_WEBHOOK,
];

/// Form fields, in order (Stripe's bracket notation for nested ones).
pub type Form = Vec<(String, String)>;

/// One Stripe account, reached with one secret key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    secret_key: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

/// `Checkout.Session`: the fields Keysat reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    /// `open`, `complete` or `expired`.
    #[serde(default)]
    pub status: Option<String>,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: String,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    /// In the currency's smallest unit.
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    /// The PaymentIntent's id (not expanded).
    #[serde(default)]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

/// A page of a list call.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// `WebhookEndpoint`; `secret` only in the answer to its creation.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub secret: Option<String>,
    /// `enabled` or `disabled`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub enabled_events: Vec<String>,
    #[serde(default)]
    pub livemode: bool,
}

/// `Refund`.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub payment_intent: Option<String>,
}

/// Stripe's error body: `{"error": {"type", "code"?, "message"?, "param"?}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl Client {
    pub fn new(base: &Url, secret_key: &str) -> Result<Client, ProviderError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("keysat/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Config(format!("building the HTTP client: {e}")))?;
        Ok(Client { http, base: base.clone(), secret_key: secret_key.to_string() })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let url = format!("{}{}", self.base.as_str().trim_end_matches('/'), path);
        self.http.request(method, url).bearer_auth(&self.secret_key).header("Stripe-Version", API_VERSION)
    }

    /// A create: form-encoded, with its idempotency key.
    fn create(&self, path: &str, form: &Form, idempotency_key: &str) -> RequestBuilder {
        self.request(Method::POST, path).header("Idempotency-Key", idempotency_key).form(form)
    }

    async fn send<T: DeserializeOwned>(&self, call: &'static str, req: RequestBuilder) -> Result<T, ProviderError> {
        let resp = req.send().await.map_err(|e| ProviderError::Unreachable { call, message: error_chain(&e) })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ProviderError::Unreachable { call, message: error_chain(&e) })?;
        if !status.is_success() {
            return Err(ProviderError::Status { call, status: status.as_u16(), message: error_message(&bytes) });
        }
        serde_json::from_slice(&bytes).map_err(|e| ProviderError::Malformed { call, message: e.to_string() })
    }

    pub async fn create_session(&self, form: &Form, idempotency_key: &str) -> Result<Session, ProviderError> {
        self.send(CREATE_SESSION, self.create("/v1/checkout/sessions", form, idempotency_key)).await
    }

    pub async fn session(&self, id: &str) -> Result<Session, ProviderError> {
        self.send(GET_SESSION, self.request(Method::GET, &format!("/v1/checkout/sessions/{}", seg(id)))).await
    }

    /// A page of sessions, newest first; `query` filters (`payment_intent`,
    /// `starting_after`, `limit`, `created[gte]`).
    pub async fn sessions(&self, query: &[(&str, &str)]) -> Result<List<Session>, ProviderError> {
        self.send(LIST_SESSIONS, self.request(Method::GET, "/v1/checkout/sessions").query(query)).await
    }

    pub async fn create_refund(&self, form: &Form, idempotency_key: &str) -> Result<Refund, ProviderError> {
        self.send(CREATE_REFUND, self.create("/v1/refunds", form, idempotency_key)).await
    }

    pub async fn webhook_endpoints(&self) -> Result<List<WebhookEndpoint>, ProviderError> {
        let req = self.request(Method::GET, "/v1/webhook_endpoints").query(&[("limit", "100")]);
        self.send(LIST_WEBHOOKS, req).await
    }

    pub async fn create_webhook_endpoint(
        &self,
        form: &Form,
        idempotency_key: &str,
    ) -> Result<WebhookEndpoint, ProviderError> {
        self.send(CREATE_WEBHOOK, self.create("/v1/webhook_endpoints", form, idempotency_key)).await
    }

    pub async fn webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint, ProviderError> {
        self.send(GET_WEBHOOK, self.request(Method::GET, &format!("/v1/webhook_endpoints/{}", seg(id)))).await
    }

    pub async fn delete_webhook_endpoint(&self, id: &str) -> Result<(), ProviderError> {
        let req = self.request(Method::DELETE, &format!("/v1/webhook_endpoints/{}", seg(id)));
        self.send::<Value>(DELETE_WEBHOOK, req).await.map(|_| ())
    }
}

/// A path segment, percent-encoded.
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `<code> (<type>): <message>` from Stripe's error body, or what there is.
fn error_message(body: &[u8]) -> String {
    let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) else {
        let text = String::from_utf8_lossy(body);
        return if text.trim().is_empty() { "no error body".into() } else { text.chars().take(200).collect() };
    };
    let code = error.code.or(error.kind.clone()).unwrap_or_else(|| "error".into());
    let kind = error.kind.filter(|k| *k != code).map(|k| format!(" ({k})")).unwrap_or_default();
    format!("{code}{kind}: {}", error.message.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_stripes_code() {
        let body = br#"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such checkout.session"}}"#;
        assert_eq!(error_message(body), "resource_missing (invalid_request_error): No such checkout.session");
        let body = br#"{"error":{"type":"api_error","message":"Something went wrong"}}"#;
        assert_eq!(error_message(body), "api_error: Something went wrong");
        assert_eq!(error_message(b""), "no error body");
    }
}

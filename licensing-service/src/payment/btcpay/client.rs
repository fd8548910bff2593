//! A thin typed client for the BTCPay Server Greenfield calls Keysat makes
//! (shapes from BTCPay's own Greenfield spec, `docs/btcpay/greenfield.openapi.json`).
//! Every error names the call and, for an HTTP error, its status.
//!
//! # Which BTCPay versions it works with
//!
//! Every route and permission it uses exists in BTCPay Server 2.0.0, the
//! oldest version the StartOS package accepts (`>=2.0.0:0`), and in every
//! later one; [`ROUTES`] lists them with the version each was checked
//! against (BTCPay's own controllers at tag `v2.0.0`: `GreenfieldInvoiceController`,
//! `GreenfieldStoreWebhooksController`, `GreenfieldStoresController`,
//! `GreenfieldApiKeysController`; `Permissions.cs` for the policy names).
//!
//! The store-less aliases (`/api/v1/invoices/{invoiceId}…`,
//! `/api/v1/webhooks/{webhookId}…`) exist only since BTCPay 2.4.0 (upstream
//! PRs #7313 and #7367); an older BTCPay answers them 404. Keysat therefore
//! calls the store-scoped form of every invoice and webhook route, which every
//! 2.x serves. `tests/integration/btcpay_conformance.rs` fails if a request uses a route
//! outside [`ROUTES`] or a store-less alias.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::payment::ProviderError;

/// One Greenfield route Keysat calls: method, path template as in the spec,
/// the oldest BTCPay version it was checked in, and the permission it needs
/// (`None`: any valid key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub since: &'static str,
    pub permission: Option<&'static str>,
}

/// Every route this client calls. All exist in BTCPay 2.0.0 with these
/// permissions (policy names as in `BTCPayServer.Client/Permissions.cs`).
pub const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/api/v1/api-keys/current", since: "2.0.0", permission: None },
    Route {
        method: "GET",
        path: "/api/v1/stores",
        since: "2.0.0",
        permission: Some("btcpay.store.canviewstoresettings"),
    },
    Route {
        method: "GET",
        path: "/api/v1/stores/{storeId}",
        since: "2.0.0",
        permission: Some("btcpay.store.canviewstoresettings"),
    },
    Route {
        method: "POST",
        path: "/api/v1/stores/{storeId}/webhooks",
        since: "2.0.0",
        permission: Some("btcpay.store.webhooks.canmodifywebhooks"),
    },
    Route {
        method: "DELETE",
        path: "/api/v1/stores/{storeId}/webhooks/{webhookId}",
        since: "2.0.0",
        permission: Some("btcpay.store.webhooks.canmodifywebhooks"),
    },
    Route {
        method: "POST",
        path: "/api/v1/stores/{storeId}/invoices",
        since: "2.0.0",
        permission: Some("btcpay.store.cancreateinvoice"),
    },
    // `orderId` query parameter: also in 2.0.0.
    Route {
        method: "GET",
        path: "/api/v1/stores/{storeId}/invoices",
        since: "2.0.0",
        permission: Some("btcpay.store.canviewinvoices"),
    },
    Route {
        method: "GET",
        path: "/api/v1/stores/{storeId}/invoices/{invoiceId}",
        since: "2.0.0",
        permission: Some("btcpay.store.canviewinvoices"),
    },
    // The invoice refund (a pull payment the buyer claims): store-scoped in
    // every 2.x (the store-less alias is 2.4.0+); BTCPay has had it since 1.x.
    Route {
        method: "POST",
        path: "/api/v1/stores/{storeId}/invoices/{invoiceId}/refund",
        since: "2.0.0",
        permission: Some("btcpay.store.cancreatepullpayments"),
    },
    // The authorize page (not Greenfield): `permissions`, `applicationName`,
    // `applicationIdentifier`, `strict`, `selectiveStores`, `redirect` are all
    // read by 2.0.0, which posts back `apiKey`, `userId`, `permissions[]`.
    Route { method: "GET", path: "/api-keys/authorize", since: "2.0.0", permission: None },
];

/// `Authorization: token <key>` against one BTCPay Server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    api_key: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

/// `GET /api/v1/api-keys/current`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyData {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// One entry of `GET /api/v1/stores`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Store {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// `POST /api/v1/stores/{storeId}/webhooks` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCreate<'a> {
    pub url: &'a str,
    pub enabled: bool,
    pub automatic_redelivery: bool,
    pub authorized_events: AuthorizedEvents,
    pub secret: &'a str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizedEvents {
    pub everything: bool,
    pub specific_events: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookCreated {
    pub id: String,
}

/// `POST /api/v1/stores/{storeId}/invoices` body.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceCreate {
    pub amount: String,
    pub currency: String,
    pub metadata: Value,
    pub checkout: CheckoutOptions,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutOptions {
    #[serde(rename = "redirectURL")]
    pub redirect_url: String,
    pub redirect_automatically: bool,
}

/// `POST /api/v1/stores/{storeId}/invoices/{invoiceId}/refund` body (`RefundInvoiceRequest`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundCreate {
    pub name: String,
    pub description: String,
    /// `RateThen`: the bitcoin amount paid, at the rate it was paid at.
    pub refund_variant: &'static str,
}

/// The fields of `PullPaymentData` Keysat reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullPaymentData {
    pub id: String,
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    /// The page where the buyer claims the refund.
    #[serde(default)]
    pub view_link: Option<String>,
}

/// The fields of `InvoiceData` Keysat reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceData {
    pub id: String,
    /// The store the invoice belongs to.
    #[serde(default)]
    pub store_id: Option<String>,
    /// The amount asked, a decimal string in `currency`.
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub checkout_link: Option<String>,
    pub status: String,
    #[serde(default)]
    pub additional_status: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

impl InvoiceData {
    pub fn order_id(&self) -> Option<String> {
        self.metadata.as_ref()?.get("orderId")?.as_str().map(str::to_string)
    }
}

impl Client {
    pub fn new(base: &Url, api_key: &str) -> Result<Client, ProviderError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("keysat/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Config(format!("building the HTTP client: {e}")))?;
        Ok(Client { http, base: base.clone(), api_key: api_key.to_string() })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let url = format!("{}{}", self.base.as_str().trim_end_matches('/'), path);
        self.http.request(method, url).header("Authorization", format!("token {}", self.api_key))
    }

    async fn send<T: DeserializeOwned>(&self, call: &'static str, req: RequestBuilder) -> Result<T, ProviderError> {
        let resp = req.send().await.map_err(|e| ProviderError::Unreachable { call, message: error_chain(&e) })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ProviderError::Unreachable { call, message: error_chain(&e) })?;
        if !status.is_success() {
            return Err(ProviderError::Status {
                call,
                status: status.as_u16(),
                message: error_message(status, &bytes),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ProviderError::Malformed { call, message: e.to_string() })
    }

    async fn send_empty(&self, call: &'static str, req: RequestBuilder) -> Result<(), ProviderError> {
        let resp = req.send().await.map_err(|e| ProviderError::Unreachable { call, message: error_chain(&e) })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let bytes = resp.bytes().await.unwrap_or_default();
        Err(ProviderError::Status { call, status: status.as_u16(), message: error_message(status, &bytes) })
    }

    pub async fn current_key(&self) -> Result<ApiKeyData, ProviderError> {
        self.send("GET /api/v1/api-keys/current", self.request(Method::GET, "/api/v1/api-keys/current")).await
    }

    pub async fn stores(&self) -> Result<Vec<Store>, ProviderError> {
        self.send("GET /api/v1/stores", self.request(Method::GET, "/api/v1/stores")).await
    }

    pub async fn store(&self, store_id: &str) -> Result<Store, ProviderError> {
        let path = format!("/api/v1/stores/{}", seg(store_id));
        self.send("GET /api/v1/stores/{storeId}", self.request(Method::GET, &path)).await
    }

    pub async fn create_webhook(
        &self,
        store_id: &str,
        body: &WebhookCreate<'_>,
    ) -> Result<WebhookCreated, ProviderError> {
        let path = format!("/api/v1/stores/{}/webhooks", seg(store_id));
        self.send("POST /api/v1/stores/{storeId}/webhooks", self.request(Method::POST, &path).json(body)).await
    }

    pub async fn delete_webhook(&self, store_id: &str, webhook_id: &str) -> Result<(), ProviderError> {
        let path = format!("/api/v1/stores/{}/webhooks/{}", seg(store_id), seg(webhook_id));
        self.send_empty("DELETE /api/v1/stores/{storeId}/webhooks/{webhookId}", self.request(Method::DELETE, &path))
            .await
    }

    pub async fn create_invoice(&self, store_id: &str, body: &InvoiceCreate) -> Result<InvoiceData, ProviderError> {
        let path = format!("/api/v1/stores/{}/invoices", seg(store_id));
        self.send("POST /api/v1/stores/{storeId}/invoices", self.request(Method::POST, &path).json(body)).await
    }

    /// One invoice of the store (BTCPay answers 404 for another store's).
    pub async fn invoice(&self, store_id: &str, invoice_id: &str) -> Result<InvoiceData, ProviderError> {
        let path = format!("/api/v1/stores/{}/invoices/{}", seg(store_id), seg(invoice_id));
        self.send(INVOICE_CALL, self.request(Method::GET, &path)).await
    }

    /// Refunds a settled invoice: BTCPay answers a pull payment to claim it from.
    pub async fn refund_invoice(
        &self,
        store_id: &str,
        invoice_id: &str,
        body: &RefundCreate,
    ) -> Result<PullPaymentData, ProviderError> {
        let path = format!("/api/v1/stores/{}/invoices/{}/refund", seg(store_id), seg(invoice_id));
        self.send(REFUND_CALL, self.request(Method::POST, &path).json(body)).await
    }

    /// Invoices of the store carrying `metadata.orderId = order_id`.
    pub async fn invoices_by_order(&self, store_id: &str, order_id: &str) -> Result<Vec<InvoiceData>, ProviderError> {
        let path = format!("/api/v1/stores/{}/invoices", seg(store_id));
        let req = self.request(Method::GET, &path).query(&[("orderId", order_id)]);
        self.send("GET /api/v1/stores/{storeId}/invoices", req).await
    }
}

/// The invoice refund, as error messages name it.
pub const REFUND_CALL: &str = "POST /api/v1/stores/{storeId}/invoices/{invoiceId}/refund";

/// The invoice look-up, as error messages name it.
pub const INVOICE_CALL: &str = "GET /api/v1/stores/{storeId}/invoices/{invoiceId}";

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

/// BTCPay's error bodies carry `message` (or a list of field errors); fall
/// back to the status text.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let from_json = parsed.as_ref().and_then(|v| match v {
        Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_string),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(|e| Some(format!("{}: {}", e.get("path")?.as_str()?, e.get("message")?.as_str()?)))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    });
    from_json.filter(|m| !m.is_empty()).unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string())
}

//! Every route `http/router.rs` builds (the public API, the buyer pages,
//! BTCPay's calls and `/metrics`) as the OpenAPI document describes it. A
//! test reads `router.rs` and fails unless this table holds exactly its
//! routes, with the same handlers: a route added there must be added here.
//! Each entry names its handler (whose extractors say what the request
//! holds) and adds what the handler's types cannot say — most public
//! handlers answer a `Response` they build (signed answers, headers), so the
//! entry names the type they serialize; the integration test `openapi`
//! validates real answers against it.

use schemars::JsonSchema;

use super::{operation_id, then, Document, Part};
use crate::domain::access::Scope;
use crate::http::public::{
    catalog, codes, machines, purchase, recover, redeem, seats, service, subscriptions, validate,
};
use crate::http::{admin, demo, pages, webhooks};

/// `GET /healthz`'s constant answer.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Health {
    ok: bool,
}

macro_rules! router_routes {
    ($($part:ident $method:ident $path:literal => $handler:path $(, $doc:expr)?;)*) => {
        /// `(method, path, handler)` of every route of `http/router.rs`.
        #[cfg(test)]
        pub const ROUTES: &[(&str, &str, &str)] = &[$((stringify!($method), $path, stringify!($handler))),*];

        /// Every route of `http/router.rs` into the document.
        pub fn describe(doc: &mut Document) {
            $(doc.op(stringify!($method), $path, part!($part), &operation_id("", stringify!($handler)), |d| {
                d.handler(&$handler);
                $(then(d, $doc);)?
            });)*
        }
    };
}

macro_rules! part {
    (Api) => {
        Part::Public
    };
    (Page) => {
        Part::Pages
    };
    (Metrics) => {
        Part::Admin(Scope::ReadOnly)
    };
}

router_routes! {
    // The public API.
    Api GET "/" => service::root, |d| d.json::<service::ServiceInfo>();
    Api GET "/healthz" => service::healthz, |d| d.json::<Health>();
    Api GET "/v1/openapi.json" => crate::http::openapi::serve, |d| d.media("application/json", "This document (OpenAPI 3.1)");
    Api GET "/v1/pubkey" => service::pubkey, |d| d.json::<service::PublicKey>();
    Api GET "/v1/products" => catalog::list_products, |d| d.json::<Vec<catalog::PublicProduct>>();
    Api GET "/v1/products/{slug}" => catalog::get_product, |d| d.json::<catalog::PublicProduct>();
    Api GET "/v1/products/{slug}/policies" => catalog::list_policies, |d| d.json::<catalog::Tiers>();
    Api POST "/v1/discount-codes/preview" => codes::preview, |d| d.json::<codes::Preview>();
    Api POST "/v1/validate" => validate::validate, |d| d.body::<validate::ValidateBody>().json::<keysat_client::Answer>();
    Api POST "/v1/machines/activate" => machines::activate, |d| d.body::<machines::MachineBody>().json::<machines::SeatAnswer>();
    Api POST "/v1/machines/heartbeat" => machines::heartbeat, |d| d.body::<machines::MachineBody>().json::<machines::SeatAnswer>();
    Api POST "/v1/machines/deactivate" => machines::deactivate, |d| d.body::<machines::MachineBody>().json::<machines::FreedAnswer>();
    Api POST "/v1/machines/lease" => machines::lease, |d| d.body::<machines::MachineBody>().json::<machines::LeaseAnswer>();
    Api POST "/v1/machines/offline-activate" => seats::offline_activate, |d| d.body::<seats::OfflineBody>().json::<seats::OfflineAnswer>();
    Api POST "/v1/machines/list" => seats::list, |d| d.body::<seats::ListBody>().json::<seats::ListOrRefusal>();
    Api POST "/v1/purchase" => purchase::create, |d| d.body::<purchase::PurchaseBody>().json::<keysat_client::PurchaseAnswer>();
    Api POST "/v1/redeem" => redeem::redeem, |d| d.body::<redeem::RedeemBody>().json::<keysat_client::RedeemAnswer>();
    Api GET "/v1/purchase/{invoice_id}" => purchase::get, |d| d.json::<keysat_client::PurchaseStatus>();
    Api POST "/v1/btcpay/webhook" => webhooks::btcpay_webhook, |d| d.body_media("application/json");
    Api POST "/v1/stripe/webhook" => webhooks::stripe_webhook, |d| d.body_media("application/json");
    Api POST "/v1/recover/npub" => recover::npub, |d| d.status(202);
    Api POST "/v1/recover/email" => recover::email, |d| d.status(202);
    Api POST "/v1/renew" => subscriptions::renew, |d| d.body::<subscriptions::RenewBody>().json::<keysat_client::PurchaseAnswer>();
    Api POST "/v1/upgrade-quote" => subscriptions::upgrade_quote, |d| d.body::<subscriptions::QuoteBody>().json::<crate::services::upgrades::UpgradeQuoteView>();
    Api POST "/v1/upgrade" => subscriptions::upgrade, |d| d.body::<subscriptions::UpgradeBody>().json::<subscriptions::UpgradeAnswer>();
    Api POST "/v1/subscriptions/cancel" => subscriptions::cancel, |d| d.body::<subscriptions::CancelBody>().json::<crate::services::subscriptions::SubscriptionView>();
    // The buyer pages.
    Page GET "/buy/{slug}" => pages::buy::page, |d| d.page();
    Page POST "/buy/{slug}" => pages::buy::submit, |d| d.form_page();
    Page GET "/thank-you" => pages::thank_you::page, |d| d.page();
    Page GET "/thank-you/key.lic" => pages::thank_you::key_file, |d| d.media("text/plain", "The license key, as a file");
    Page GET "/download/{token}" => pages::download::download, |d| d.media("text/csv", "An export through a one-time link (POST /v1/admin/export-links): CSV or JSON Lines, once");
    Page GET "/redeem" => pages::redeem::page, |d| d.page();
    Page POST "/redeem" => pages::redeem::submit, |d| d.form_page();
    Page GET "/recover" => pages::recover::page, |d| d.page();
    Page POST "/recover" => pages::recover::submit, |d| d.form_page();
    Page POST "/recover/npub" => pages::recover::submit_npub, |d| d.form_page();
    Page POST "/recover/email" => pages::recover::submit_email, |d| d.form_page();
    Page GET "/activate" => pages::activate::page, |d| d.page();
    Page POST "/activate" => pages::activate::submit, |d| d.form_page();
    Page GET "/seats" => pages::seats::page, |d| d.page();
    Page POST "/seats" => pages::seats::submit, |d| d.form_page();
    Page POST "/seats/free" => pages::seats::free, |d| d.form_page();
    Page GET "/renew" => pages::renew::page, |d| d.page();
    Page POST "/renew" => pages::renew::submit, |d| d.form_page();
    Page GET "/upgrade" => pages::upgrade::page, |d| d.page();
    Page POST "/upgrade" => pages::upgrade::submit, |d| d.form_page();
    Page GET "/static/{name}" => pages::assets::serve, |d| d.page().media("*/*", "A stylesheet, script or image of the pages");
    Page GET "/favicon.ico" => pages::assets::favicon, |d| d.page().media("image/svg+xml", "The icon");
    Page GET "/demo/checkout/{id}" => demo::checkout_page, |d| d.page();
    Page POST "/demo/checkout/{id}/{action}" => demo::resolve, |d| d.form_page();
    Page POST "/v1/btcpay/connect/callback" => webhooks::btcpay_connect_callback, |d| d.form().page();
    // Beside the admin table (`http::admin::routes`), behind the same key.
    Metrics GET "/metrics" => admin::metrics::metrics, |d| d.media("text/plain", "Prometheus text format");
}

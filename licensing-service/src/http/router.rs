//! The one router listing every public route; the admin routes are the
//! one table in `admin/routes.rs`, behind one authentication layer.

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};

use super::extract::MAX_BODY_BYTES;
use super::state::AppState;
use super::{admin, cors, demo, error, openapi, pages, public, webhooks};

/// Every public route: the buyer pages (whose errors browsers see as pages),
/// then service info, catalogue, validation, machines, purchases — the API,
/// kept free of page middleware so the hot path pays nothing for it.
pub fn public_routes(state: &AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(public::service::root))
        .route("/buy/{slug}", get(pages::buy::page).post(pages::buy::submit))
        .route("/thank-you", get(pages::thank_you::page))
        .route("/thank-you/key.lic", get(pages::thank_you::key_file))
        .route("/download/{token}", get(pages::download::download))
        .route("/redeem", get(pages::redeem::page).post(pages::redeem::submit))
        .route("/recover", get(pages::recover::page).post(pages::recover::submit))
        .route("/recover/npub", post(pages::recover::submit_npub))
        .route("/recover/email", post(pages::recover::submit_email))
        .route("/activate", get(pages::activate::page).post(pages::activate::submit))
        .route("/seats", get(pages::seats::page).post(pages::seats::submit))
        .route("/seats/free", post(pages::seats::free))
        .route("/renew", get(pages::renew::page).post(pages::renew::submit))
        .route("/upgrade", get(pages::upgrade::page).post(pages::upgrade::submit))
        .route("/static/{name}", get(pages::assets::serve))
        .route("/favicon.ico", get(pages::assets::favicon))
        .route("/demo/checkout/{id}", get(demo::checkout_page))
        .route("/demo/checkout/{id}/{action}", post(demo::resolve))
        // BTCPay's authorize page posts here and the operator sees the answer page.
        .route("/v1/btcpay/connect/callback", post(webhooks::btcpay_connect_callback))
        .layer(middleware::from_fn_with_state(state.clone(), pages::errors::html_errors));
    let pages = pages::security::with_headers(pages);
    Router::new()
        .route("/healthz", get(public::service::healthz))
        .route("/v1/openapi.json", get(openapi::serve))
        .route("/v1/pubkey", get(public::service::pubkey))
        .route("/v1/products", get(public::catalog::list_products))
        .route("/v1/products/{slug}", get(public::catalog::get_product))
        .route("/v1/products/{slug}/policies", get(public::catalog::list_policies))
        .route("/v1/discount-codes/preview", post(public::codes::preview))
        .route("/v1/validate", post(public::validate::validate))
        .route("/v1/machines/activate", post(public::machines::activate))
        .route("/v1/machines/heartbeat", post(public::machines::heartbeat))
        .route("/v1/machines/deactivate", post(public::machines::deactivate))
        .route("/v1/machines/lease", post(public::machines::lease))
        .route("/v1/machines/offline-activate", post(public::seats::offline_activate))
        .route("/v1/machines/list", post(public::seats::list))
        .route("/v1/purchase", post(public::purchase::create))
        .route("/v1/redeem", post(public::redeem::redeem))
        .route("/v1/purchase/{invoice_id}", get(public::purchase::get))
        .route("/v1/btcpay/webhook", post(webhooks::btcpay_webhook))
        .route("/v1/stripe/webhook", post(webhooks::stripe_webhook))
        .route("/v1/recover/npub", post(public::recover::npub))
        .route("/v1/recover/email", post(public::recover::email))
        .route("/v1/renew", post(public::subscriptions::renew))
        .route("/v1/upgrade-quote", post(public::subscriptions::upgrade_quote))
        .route("/v1/upgrade", post(public::subscriptions::upgrade))
        .route("/v1/subscriptions/cancel", post(public::subscriptions::cancel))
        // CORS for the listed origins on the routes `cors::ROUTES` names.
        .layer(middleware::from_fn_with_state(state.clone(), cors::public_cors))
        .merge(pages)
}

/// Every admin route (the one table in `http::admin::routes`), under
/// `/v1/admin`, and `/metrics`, each behind the admin-key check.
pub fn admin_routes(state: &AppState) -> Router<AppState> {
    let auth = middleware::from_fn_with_state(state.clone(), admin::auth::require_admin_key);
    let routes = admin::routes::router().route_layer(auth.clone());
    let metrics = Router::new().route("/metrics", get(admin::metrics::metrics)).route_layer(auth);
    Router::new().nest("/v1/admin", routes).merge(metrics)
}

pub fn finish(router: Router<AppState>, state: AppState) -> Router {
    // Unknown addresses: a page for browsers, the JSON envelope for programs.
    let not_found = pages::security::with_headers(
        Router::new()
            .fallback(error::not_found_fallback)
            .layer(middleware::from_fn_with_state(state.clone(), pages::errors::html_errors)),
    );
    router
        .fallback_service(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A request span at INFO (method, path) so every error logged while
        // serving carries its request; a 5xx is logged with its status.
        .layer(TraceLayer::new_for_http().make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO)))
        .with_state(state)
}

//! Every admin route, in one table: the router is built from it, and
//! [`ROUTES`] lists it, so the authentication test walks the same routes the
//! server serves and a new route cannot be missed by either.

use axum::routing::{on, MethodFilter};
use axum::Router;

use super::*;
use crate::http::state::AppState;

macro_rules! admin_routes {
    ($($method:ident $path:literal => $handler:path;)*) => {
        /// `(method, path under /v1/admin)` of every admin route.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// The admin routes, unauthenticated: `app::admin_routes` puts
        /// [`super::auth::require_admin_key`] in front of all of them.
        pub fn router() -> Router<AppState> {
            Router::new()$(.route($path, on(MethodFilter::$method, $handler)))*
        }
    };
}

admin_routes! {
    POST "/products" => products::create;
    GET "/products" => products::list;
    GET "/products/{slug}" => products::get;
    PATCH "/products/{slug}" => products::patch;
    POST "/products/{slug}/policies" => policies::create;
    GET "/products/{slug}/policies" => policies::list;
    GET "/products/{slug}/policies/{policy_slug}" => policies::get;
    PATCH "/products/{slug}/policies/{policy_slug}" => policies::patch;
    POST "/licenses" => licenses::issue;
    GET "/licenses" => licenses::list;
    GET "/licenses/search" => licenses::search;
    GET "/licenses/{id}" => licenses::get;
    POST "/licenses/{id}/suspend" => licenses::suspend;
    POST "/licenses/{id}/unsuspend" => licenses::unsuspend;
    POST "/licenses/{id}/revoke" => licenses::revoke;
    GET "/machines" => machines::list;
    POST "/machines/{id}/deactivate" => machines::deactivate;
    POST "/discount-codes" => codes::create;
    GET "/discount-codes" => codes::list;
    GET "/discount-codes/{code}" => codes::get;
    PATCH "/discount-codes/{code}" => codes::patch;
    DELETE "/discount-codes/{code}" => codes::delete;
    POST "/discount-codes/{code}/disable" => codes::disable;
    POST "/discount-codes/{code}/enable" => codes::enable;
    GET "/audit" => audit::list;
    POST "/btcpay/connect" => btcpay::connect;
    GET "/btcpay/status" => btcpay::status;
    POST "/btcpay/store" => btcpay::choose_store;
    POST "/btcpay/disconnect" => btcpay::disconnect;
    POST "/btcpay/manual" => btcpay::manual;
    POST "/btcpay/reconcile" => btcpay::reconcile;
    GET "/settings" => settings::get;
    PUT "/settings" => settings::put;
    GET "/nostr" => settings::get_nostr;
    PUT "/nostr" => settings::put_nostr;
    POST "/webhook-endpoints" => webhook_endpoints::create;
    GET "/webhook-endpoints" => webhook_endpoints::list;
    GET "/webhook-endpoints/{id}" => webhook_endpoints::get;
    PATCH "/webhook-endpoints/{id}" => webhook_endpoints::patch;
    DELETE "/webhook-endpoints/{id}" => webhook_endpoints::delete;
    GET "/webhook-deliveries" => webhook_endpoints::deliveries;
    GET "/webhook-deliveries/{id}" => webhook_endpoints::delivery;
    POST "/webhook-deliveries/{id}/retry" => webhook_endpoints::retry;
    GET "/stats" => settings::stats;
    GET "/invoices" => sales::list;
    GET "/invoices/{id}" => sales::get;
    GET "/revenue" => sales::revenue;
    GET "/customers" => customers::list;
    GET "/customers/{id}" => customers::get;
    POST "/licenses/{id}/reset-seats" => support::reset_seats;
    POST "/licenses/{id}/resend" => support::resend;
    GET "/licenses/{id}/support" => support::show;
    GET "/export/{file}" => export::export;
    POST "/import/licenses" => import::licenses;
    GET "/status" => status::status;
    GET "/backups" => status::list_backups;
    POST "/backups" => status::take_backup;
}

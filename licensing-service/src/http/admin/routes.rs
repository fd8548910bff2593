//! Every admin route, in one table with the scope an API key needs for it
//! (`domain::access`): the router is built from it, the authentication layer
//! looks the scope up in it, and [`ROUTES`] lists it, so the authentication
//! and scope tests walk the same routes the server serves and a new route
//! cannot be missed by any of them. The OpenAPI document describes them
//! from here too ([`describe`]): a handler's request and answer types are
//! read off its signature; an entry adds what they cannot say (a status
//! picked at run time, a body read raw) after its scope.

use axum::routing::{on, MethodFilter};
use axum::Router;

use super::*;
use crate::domain::access::Scope;
use crate::http::openapi::{operation_id, then, Document, Part};
use crate::http::state::AppState;

macro_rules! admin_routes {
    ($($method:ident $path:literal => $handler:path, $scope:ident $(, $doc:expr)?;)*) => {
        /// `(method, path under /v1/admin, the scope a key needs)` of every admin route.
        pub const ROUTES: &[(&str, &str, Scope)] = &[$((stringify!($method), $path, Scope::$scope)),*];

        /// The admin routes, unauthenticated: `app::admin_routes` puts
        /// [`super::auth::require_admin_key`] in front of all of them.
        pub fn router() -> Router<AppState> {
            Router::new()$(.route($path, on(MethodFilter::$method, $handler)))*
        }

        /// Every admin route into the OpenAPI document: what its handler's
        /// types say, with its scope, and what the entry adds (`|d| d.status(201)`).
        pub fn describe(doc: &mut Document) {
            $(doc.op(
                stringify!($method),
                concat!("/v1/admin", $path),
                Part::Admin(Scope::$scope),
                &operation_id("admin.", stringify!($handler)),
                |d| {
                    d.handler(&$handler);
                    $(then(d, $doc);)?
                },
            );)*
        }
    };
}

admin_routes! {
    POST "/products" => products::create, Full, |d| d.status(201);
    GET "/products" => products::list, ReadOnly;
    GET "/products/{slug}" => products::get, ReadOnly;
    PATCH "/products/{slug}" => products::patch, Full;
    POST "/products/{slug}/policies" => policies::create, Full, |d| d.status(201);
    GET "/products/{slug}/policies" => policies::list, ReadOnly;
    GET "/products/{slug}/policies/{policy_slug}" => policies::get, ReadOnly;
    PATCH "/products/{slug}/policies/{policy_slug}" => policies::patch, Full;
    POST "/licenses" => licenses::issue, Issuer, |d| d.status(201);
    GET "/licenses" => licenses::list, ReadOnly;
    GET "/licenses/search" => licenses::search, ReadOnly;
    GET "/licenses/{id}" => licenses::get, ReadOnly;
    POST "/licenses/{id}/suspend" => licenses::suspend, Support, |d| d.optional_body::<licenses::ReasonBody>();
    POST "/licenses/{id}/unsuspend" => licenses::unsuspend, Support, |d| d.optional_body::<licenses::ReasonBody>();
    POST "/licenses/{id}/revoke" => licenses::revoke, Full;
    GET "/machines" => machines::list, ReadOnly;
    POST "/machines/{id}/deactivate" => machines::deactivate, Support, |d| d.optional_body::<machines::DeactivateBody>();
    POST "/discount-codes" => codes::create, Issuer, |d| d.status(201);
    GET "/discount-codes" => codes::list, ReadOnly;
    GET "/discount-codes/{code}" => codes::get, ReadOnly;
    PATCH "/discount-codes/{code}" => codes::patch, Full;
    DELETE "/discount-codes/{code}" => codes::delete, Full;
    POST "/discount-codes/{code}/disable" => codes::disable, Full;
    POST "/discount-codes/{code}/enable" => codes::enable, Full;
    GET "/audit" => audit::list, ReadOnly;
    POST "/btcpay/connect" => btcpay::connect, Full;
    GET "/btcpay/status" => btcpay::status, ReadOnly;
    POST "/btcpay/store" => btcpay::choose_store, Full;
    POST "/btcpay/disconnect" => btcpay::disconnect, Full;
    POST "/btcpay/manual" => btcpay::manual, Full;
    POST "/btcpay/reconcile" => btcpay::reconcile, Full;
    GET "/settings" => settings::get, ReadOnly;
    PUT "/settings" => settings::put, Full;
    POST "/email/test" => email::test, Full;
    GET "/nostr" => settings::get_nostr, ReadOnly;
    PUT "/nostr" => settings::put_nostr, Full;
    POST "/webhook-endpoints" => webhook_endpoints::create, Full, |d| d.status(201);
    GET "/webhook-endpoints" => webhook_endpoints::list, ReadOnly;
    GET "/webhook-endpoints/{id}" => webhook_endpoints::get, ReadOnly;
    PATCH "/webhook-endpoints/{id}" => webhook_endpoints::patch, Full;
    DELETE "/webhook-endpoints/{id}" => webhook_endpoints::delete, Full, |d| d.status(204);
    GET "/webhook-deliveries" => webhook_endpoints::deliveries, ReadOnly;
    GET "/webhook-deliveries/{id}" => webhook_endpoints::delivery, ReadOnly;
    POST "/webhook-deliveries/{id}/retry" => webhook_endpoints::retry, Full;
    GET "/stats" => settings::stats, ReadOnly;
    GET "/invoices" => sales::list, ReadOnly;
    GET "/invoices/{id}" => sales::get, ReadOnly;
    GET "/revenue" => sales::revenue, ReadOnly;
    GET "/customers" => customers::list, ReadOnly;
    GET "/customers/{id}" => customers::get, ReadOnly;
    POST "/licenses/{id}/reset-seats" => support::reset_seats, Support, |d| d.optional_body::<support::ReasonBody>();
    POST "/licenses/{id}/resend" => support::resend, Support, |d| d.optional_body::<support::ResendBody>();
    GET "/licenses/{id}/support" => support::show, ReadOnly;
    GET "/export/{file}" => export::export, ReadOnly, |d| d.media("text/csv", "licenses.csv, invoices.jsonl, …: CSV (text/csv) or JSON Lines (application/x-ndjson), streamed");
    POST "/export-links" => export::create_link, ReadOnly;
    POST "/import/licenses" => import::licenses, Full, |d| d.body_media("text/csv").json::<crate::services::import::ImportReport>().also::<import::Refused>(422, "Rows with errors: the report, nothing imported");
    GET "/status" => status::status, ReadOnly;
    GET "/backups" => status::list_backups, ReadOnly;
    POST "/backups" => status::take_backup, Full, |d| d.status(201);
    POST "/api-keys" => api_keys::create, Full, |d| d.status(201);
    GET "/api-keys" => api_keys::list, Full;
    DELETE "/api-keys/{id}" => api_keys::revoke, Full;
    GET "/subscriptions" => subscriptions::list, ReadOnly;
    GET "/subscriptions/{id}" => subscriptions::get, ReadOnly;
    POST "/subscriptions/{id}/cancel" => subscriptions::cancel, Support, |d| d.optional_body::<subscriptions::ReasonBody>();
    POST "/licenses/{id}/change-tier" => subscriptions::change_tier, Full, |d| d.json::<subscriptions::ChangeTierAnswer>();
    POST "/licenses/{id}/adjust" => subscriptions::adjust, Full;
    POST "/stripe/connect" => stripe::connect, Full;
    GET "/stripe/status" => stripe::status, ReadOnly;
    POST "/stripe/disconnect" => stripe::disconnect, Full;
    POST "/stripe/reconcile" => stripe::reconcile, Full;
    POST "/invoices/{id}/refund" => refunds::refund, Full;
}

/// The scope a route needs: from the table; `/metrics` is read-only; a
/// route missing from the table (none should) needs `full`.
pub fn scope_of(method: &str, matched_path: &str) -> Scope {
    if matched_path == "/metrics" {
        return Scope::ReadOnly;
    }
    let path = matched_path.strip_prefix("/v1/admin").unwrap_or(matched_path);
    ROUTES.iter().find(|(m, p, _)| *m == method && *p == path).map_or(Scope::Full, |r| r.2)
}

//! The admin API (`/v1/admin/*`, `Authorization: Bearer <admin key>`).

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod btcpay;
pub mod codes;
pub mod customers;
pub mod email;
pub mod export;
pub mod import;
pub mod licenses;
pub mod machines;
pub mod metrics;
pub mod policies;
pub mod products;
pub mod refunds;
pub mod routes;
pub mod sales;
pub mod settings;
pub mod status;
pub mod stripe;
pub mod subscriptions;
pub mod support;
pub mod webhook_endpoints;

pub fn page_size(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, 500)
}

/// `?cursor=` of a paged list (the rowid the previous page ended at).
pub fn parse_cursor(cursor: Option<&str>) -> Result<Option<i64>, crate::http::error::ApiError> {
    cursor
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                crate::http::error::ApiError::bad_request("invalid_request", "cursor: not a cursor from this API")
            })
        })
        .transpose()
}

//! The one check in front of every admin route: `Authorization: Bearer
//! <key>` — the admin key (compared in constant time; every scope) or a
//! scoped API key whose scopes cover the route's (`routes::scope_of`; else
//! 403). The request then runs as that key, so the audit log names it.
//! Failures are logged with the
//! client address (the log itself is rate-limited, so a flood cannot fill
//! the disk) and counted per address: past the limit an address is answered
//! 429 before its key is even looked at.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::access::allowed;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::services::api_keys;

/// Failed-authentication log lines written per minute at most; the rest are
/// counted and summed up in one line when the next minute starts.
const LOG_LINES_PER_MINUTE: u32 = 20;

/// The key's digest and the log's budget (failure counts per address are
/// the core's `limits.admin_failures`, pruned with the other limits).
pub struct AdminAuth {
    key_digest: [u8; 32],
    log: LogBudget,
}

impl AdminAuth {
    pub fn new(admin_key: &str) -> AdminAuth {
        AdminAuth {
            key_digest: Sha256::digest(admin_key.as_bytes()).into(),
            log: LogBudget::new(LOG_LINES_PER_MINUTE, Duration::from_secs(60)),
        }
    }

    /// Whether the headers carry the admin key. Digests of equal length are
    /// compared, so neither the key's content nor its length leaks in timing.
    fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(token) = bearer_token(headers) else {
            return false;
        };
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        bool::from(presented.ct_eq(&self.key_digest))
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// Middleware on every admin route (see `app::admin_routes`).
pub async fn require_admin_key(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    req: Request,
    next: Next,
) -> Response {
    let auth = &s.admin_auth;
    if let Err(retry_after) = s.limits.admin_failures.peek(ip) {
        auth.log.warn(ip, &req, "refused: too many failed attempts");
        return ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many failed admin authentications from this address; try again in {retry_after} s"),
            )
        }
        .into_response();
    }
    if auth.accepts(req.headers()) {
        return api_keys::acting_as("admin".to_string(), next.run(req)).await;
    }
    let token = bearer_token(req.headers()).unwrap_or_default().to_string();
    match api_keys::authenticate(&s.core, &token).await {
        Ok(Some(key)) => {
            let path = req.extensions().get::<MatchedPath>().map_or("", |m| m.as_str());
            let need = super::routes::scope_of(req.method().as_str(), path);
            if !allowed(&key.scopes, need) {
                let held: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
                let message = format!(
                    "this API key ({}) may not {} {path}: it needs the {} scope",
                    held.join(", "),
                    req.method(),
                    need.as_str()
                );
                return ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).into_response();
            }
            return api_keys::acting_as(key.actor, next.run(req)).await;
        }
        Ok(None) => {}
        Err(e) => return ApiError::from(e).into_response(),
    }
    let _ = s.limits.admin_failures.check(ip);
    let why = if bearer_token(req.headers()).is_some() { "wrong key" } else { "no bearer key" };
    auth.log.warn(ip, &req, why);
    ApiError::unauthorized().into_response()
}

/// At most `lines` warnings per window; the rest are counted.
struct LogBudget {
    lines: u32,
    window: Duration,
    state: Mutex<LogWindow>,
}

struct LogWindow {
    start: Instant,
    written: u32,
    suppressed: u64,
}

impl LogBudget {
    fn new(lines: u32, window: Duration) -> LogBudget {
        LogBudget { lines, window, state: Mutex::new(LogWindow { start: Instant::now(), written: 0, suppressed: 0 }) }
    }

    /// Whether to write a line now, and how many were left out before it.
    fn take(&self, now: Instant) -> Option<u64> {
        let mut w = self.state.lock().expect("log budget lock");
        let mut left_out = 0;
        if now.duration_since(w.start) >= self.window {
            left_out = std::mem::take(&mut w.suppressed);
            (w.start, w.written) = (now, 0);
        }
        if w.written >= self.lines {
            w.suppressed += 1;
            return None;
        }
        w.written += 1;
        Some(left_out)
    }

    /// Logs a failed attempt: address, method, path and why — never a header.
    fn warn(&self, ip: IpAddr, req: &Request, why: &str) {
        let Some(left_out) = self.take(Instant::now()) else {
            return;
        };
        if left_out > 0 {
            tracing::warn!(left_out, "failed admin authentications not logged in the last minute (log rate limit)");
        }
        // The full path: inside `nest` the request's own URI lacks the prefix.
        let path = req.extensions().get::<OriginalUri>().map_or(req.uri().path(), |u| u.path());
        tracing::warn!(client = %ip, method = %req.method(), path, "admin authentication failed: {why}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_budget_caps_lines_and_reports_what_it_left_out() {
        let b = LogBudget::new(3, Duration::from_secs(60));
        let t = Instant::now();
        let taken: Vec<_> = (0..10).map(|_| b.take(t)).collect();
        assert_eq!(taken.iter().filter(|x| x.is_some()).count(), 3);
        assert_eq!(b.take(t + Duration::from_secs(61)), Some(7));
        assert_eq!(b.take(t + Duration::from_secs(62)), Some(0));
    }

    #[test]
    fn only_the_bearer_key_is_accepted() {
        let auth = AdminAuth::new("the-admin-key-0123456789");
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert!(auth.accepts(&with("Bearer the-admin-key-0123456789")));
        assert!(auth.accepts(&with("bearer  the-admin-key-0123456789 ")));
        assert!(!auth.accepts(&with("Bearer the-admin-key-012345678")));
        assert!(!auth.accepts(&with("Basic the-admin-key-0123456789")));
        assert!(!auth.accepts(&HeaderMap::new()));
    }
}

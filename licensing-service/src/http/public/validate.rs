//! `POST /v1/validate`: the hot path. Every decision is HTTP 200.

use std::borrow::Cow;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use keysat_client::{Answer, AnswerRequest, Endpoint};
use schemars::JsonSchema;
use serde::Deserialize;

use super::machines::text_field;
use crate::domain::time::{unix, unix_or_never};
use crate::domain::validation::{Expiry, Reason};
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, OptText, RawBody};
use crate::http::state::AppState;
use crate::licensing::{GrantedRef, Refusal, ValidateInput};

/// Borrows from the request body where the JSON has no escapes.
#[derive(Deserialize, JsonSchema)]
pub struct ValidateBody<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    #[schemars(with = "Option<String>")]
    product_slug: OptText<'a>,
    #[serde(borrow)]
    #[schemars(with = "Option<String>")]
    fingerprint: OptText<'a>,
    #[serde(borrow)]
    #[schemars(with = "Option<String>")]
    hostname: OptText<'a>,
    #[serde(borrow)]
    #[schemars(with = "Option<String>")]
    platform: OptText<'a>,
    #[serde(borrow)]
    #[schemars(with = "Option<String>")]
    nonce: OptText<'a>,
}

/// `{"ok": false, "reason", "message"}`: a refusal of validate, or of a
/// machine endpoint before any license is read.
pub fn refusal(reason: Reason) -> Answer<'static> {
    Answer {
        ok: false,
        reason: Some(Cow::Borrowed(reason.code())),
        message: Some(Cow::Borrowed(reason.message())),
        ..Answer::default()
    }
}

/// The refusal answer shared by validate and the machine endpoints' callers.
pub fn refusal_response(reason: Reason, retry_after: Option<u64>) -> Response {
    let body = answer_json(&refusal(reason));
    match retry_after {
        Some(secs) => (StatusCode::OK, [(header::RETRY_AFTER, secs.to_string())], body).into_response(),
        None => body,
    }
}

/// Bytes set aside for an answer: a granted one with a seat is about 360.
const ANSWER_BYTES: usize = 640;
/// A buffer grown past this (an answer with a long list of entitlements) is
/// not kept for the next answer.
const ANSWER_BUFFER_KEPT: usize = 16 * 1024;

thread_local! {
    /// Each thread's buffer that answers are written into.
    static ANSWER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(ANSWER_BYTES));
}

/// An answer as `application/json`, written into the thread's buffer (through
/// the writer axum's `Json` uses, so each answer type's serialisation is in
/// the binary once) and copied out at its size: one allocation, where a
/// buffer of its own frozen into `Bytes` took two (the buffer and, its
/// length short of its capacity, the header `Bytes` shares it through).
pub fn answer_json(answer: &impl serde::Serialize) -> Response {
    let body = ANSWER.with_borrow_mut(|buf| {
        buf.clear();
        let written = serde_json::to_writer(&mut *buf, answer).is_ok().then(|| Bytes::copy_from_slice(buf));
        if buf.capacity() > ANSWER_BUFFER_KEPT {
            *buf = Vec::with_capacity(ANSWER_BYTES);
        }
        written
    });
    json_response(body)
}

/// What [`answer_json`] wrote, else (not reached: an answer has no map with
/// other than text keys) the internal error's envelope. Not generic, so each
/// answer type adds only its serialisation to the binary.
fn json_response(body: Option<Bytes>) -> Response {
    match body {
        Some(body) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
        None => ApiError::internal().into_response(),
    }
}

/// Seats as the answers count them (never negative: policies bound them).
pub fn seats(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A successful validation, borrowing the license snapshot (nothing is
/// copied; times are formatted as they are written).
fn granted(g: GrantedRef<'_>) -> Answer<'_> {
    let l = g.license;
    let grace_until = match g.expiry {
        Expiry::InGrace { grace_until } => Some(unix(grace_until)),
        _ => None,
    };
    Answer {
        ok: true,
        status: Some(Cow::Borrowed("active")),
        license_id: Some(l.license_id),
        product_id: Some(l.terms.product_id),
        product_slug: Some(Cow::Borrowed(&l.terms.product_slug)),
        issued_at: Some(unix(l.issued_at)),
        // With issued_at set, a perpetual license's expiry is written as null.
        expires_at: unix_or_never(l.expires_at),
        grace_until,
        in_grace_period: Some(grace_until.is_some()),
        is_trial: Some(l.terms.is_trial),
        entitlements: Some(Cow::Borrowed(&l.terms.entitlements)),
        machine_id: g.machine_id,
        max_machines: Some(seats(l.terms.max_machines)),
        ..Answer::default()
    }
}

pub async fn validate(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Err(retry_after) = s.limits.validate.check(ip) {
        s.licensing.log_event(None, None, None, ip, Reason::RateLimited.code());
        return Ok(refusal_response(Reason::RateLimited, Some(retry_after)));
    }
    let b: ValidateBody = parse_json(&body)?;
    let nonce = super::signed::nonce(b.nonce.as_deref())?;
    let input = ValidateInput {
        key: &b.key,
        product_slug: b.product_slug.as_deref().filter(|s| !s.is_empty()),
        fingerprint: text_field("fingerprint", b.fingerprint.as_deref(), 256)?,
        hostname: text_field("hostname", b.hostname.as_deref(), 255)?,
        platform: text_field("platform", b.platform.as_deref(), 255)?,
    };
    let reply = |decided: Result<GrantedRef<'_>, Reason>| {
        let mut answer = match decided {
            Ok(g) => granted(g),
            Err(reason) => refusal(reason),
        };
        if nonce.is_some() {
            let request = AnswerRequest {
                endpoint: Endpoint::Validate,
                key: &b.key,
                product_slug: b.product_slug.as_deref(),
                fingerprint: b.fingerprint.as_deref(),
            };
            super::signed::sign(&s, &mut answer, &request, nonce.as_ref())?;
        }
        Ok(answer_json(&answer))
    };
    // Nearly always decided where the cache holds the license; else (a seat
    // to take, a key not cached) the long way, from where that stopped. `reply` only borrows, so it is
    // `Copy`: whichever way decides uses it.
    let undecided = match s.licensing.validate_cached(&input, ip, reply) {
        Ok(sent) => return sent,
        Err(undecided) => undecided,
    };
    match s.licensing.validate(&input, ip, undecided).await {
        Ok(g) => reply(Ok(g.borrowed())),
        Err(Refusal::Reason { reason, .. }) => reply(Err(reason)),
        Err(Refusal::Internal(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use uuid::Uuid;

    use super::*;
    use crate::domain::license::LicenseStatus;
    use crate::domain::validation::{LicenseSnapshot, LicenseTerms, Seats};

    fn snapshot(expires_at: i64) -> LicenseSnapshot {
        let terms = LicenseTerms {
            product_id: Uuid::from_u128(2),
            product_slug: "demo-app".into(),
            policy_id: Uuid::from_u128(9),
            status: LicenseStatus::Active,
            grace_seconds: 604_800,
            max_machines: 3,
            is_trial: false,
            entitlements: vec!["pro".into()],
        };
        LicenseSnapshot {
            license_id: Uuid::from_u128(1),
            key: [0; 16],
            version: 1,
            issued_at: 1_700_000_000,
            expires_at,
            terms: terms.shared(),
            seats: Seats::None,
        }
    }

    fn written(answer: &Answer<'_>) -> Value {
        serde_json::from_slice(&serde_json::to_vec(answer).unwrap()).unwrap()
    }

    /// What the hand-written struct of the validate answer wrote before it
    /// became the shared `keysat_client::Answer`: a perpetual license has
    /// `"expires_at": null`; `grace_until` and `machine_id` are absent
    /// unless they apply.
    #[test]
    fn a_validate_answer_without_expiry_is_written_as_before() {
        let license = snapshot(0);
        let g = GrantedRef { license: &license, expiry: Expiry::Current, machine_id: None };
        let expected = json!({
            "ok": true, "status": "active",
            "license_id": "00000000-0000-0000-0000-000000000001",
            "product_id": "00000000-0000-0000-0000-000000000002",
            "product_slug": "demo-app", "issued_at": "2023-11-14T22:13:20Z", "expires_at": null,
            "in_grace_period": false, "is_trial": false, "entitlements": ["pro"], "max_machines": 3,
        });
        assert_eq!(written(&granted(g)), expected);
    }

    #[test]
    fn a_validate_answer_in_grace_and_with_a_seat_is_written_as_before() {
        let license = snapshot(1_900_000_000);
        let g = GrantedRef {
            license: &license,
            expiry: Expiry::InGrace { grace_until: 1_900_604_800 },
            machine_id: Some(Uuid::from_u128(3)),
        };
        let v = written(&granted(g));
        assert_eq!(v["expires_at"], "2030-03-17T17:46:40Z");
        assert_eq!(v["grace_until"], "2030-03-24T17:46:40Z");
        assert_eq!(v["in_grace_period"], true);
        assert_eq!(v["machine_id"], "00000000-0000-0000-0000-000000000003");
        assert_eq!(v.as_object().unwrap().len(), 13);
    }

    /// Every text field is borrowed from the body unless its JSON has an
    /// escape; an absent or null one is `None`.
    #[test]
    fn a_validate_body_borrows_its_text_fields() {
        let body = br#"{"key":"LIC1-k","product_slug":"app","fingerprint":"f\u0031","hostname":null}"#;
        let b: ValidateBody = parse_json(body).unwrap();
        assert!(matches!(b.key, Cow::Borrowed("LIC1-k")));
        assert!(matches!(b.product_slug.0, Some(Cow::Borrowed("app"))));
        assert!(matches!(&b.fingerprint.0, Some(Cow::Owned(f)) if f == "f1"));
        assert!(b.hostname.0.is_none() && b.platform.0.is_none() && b.nonce.0.is_none());
        let Err(wrong) = parse_json::<ValidateBody>(br#"{"key":"k","fingerprint":7}"#) else {
            panic!("a number is not a fingerprint")
        };
        assert_eq!(wrong.into_response().status(), StatusCode::BAD_REQUEST);
    }

    /// An answer is the same whichever buffer wrote it, one after another on a thread.
    #[tokio::test]
    async fn answers_written_in_turn_are_each_whole() {
        let long = Answer { entitlements: Some(Cow::Owned(vec!["e".repeat(40_000)])), ..refusal(Reason::Revoked) };
        for answer in [refusal(Reason::Revoked), long, refusal(Reason::NotFound)] {
            let body = axum::body::to_bytes(answer_json(&answer).into_body(), usize::MAX).await.unwrap();
            assert_eq!(body, serde_json::to_vec(&answer).unwrap());
        }
    }

    #[test]
    fn a_refusal_is_ok_reason_and_message_only() {
        let text = serde_json::to_string(&refusal(Reason::Revoked)).unwrap();
        assert_eq!(text, r#"{"ok":false,"reason":"revoked","message":"the license has been revoked"}"#);
    }
}

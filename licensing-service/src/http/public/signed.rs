//! Signed answers (PROTOCOL.md §7): a request's optional `nonce`, and the
//! `signature` its answer then carries. Nothing is signed without a nonce,
//! so the hot path pays nothing unless a client asks.

use std::borrow::Cow;

use keysat_client::{sign_answer, Answer, AnswerRequest, Nonce};

use crate::http::error::ApiError;
use crate::http::state::AppState;

/// The request's `nonce`: absent or empty is `None`; anything but 22–128
/// base64url characters is a 400.
pub fn nonce(value: Option<&str>) -> Result<Option<Nonce>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(text) => Nonce::parse(text).map(Some).map_err(|_| {
            ApiError::bad_request(
                "invalid_request",
                "nonce: must be 22 to 128 base64url characters (16 to 64 random bytes in hex or unpadded base64url)",
            )
        }),
    }
}

/// Signs `answer` for `request` when the request carried a nonce.
pub fn sign(
    s: &AppState,
    answer: &mut Answer<'_>,
    request: &AnswerRequest<'_>,
    nonce: Option<&Nonce>,
) -> Result<(), ApiError> {
    let Some(nonce) = nonce else { return Ok(()) };
    let signature = sign_answer(answer, request, nonce, &s.signer)
        .map_err(|e| ApiError::from(anyhow::anyhow!("signing an answer: {e}")))?;
    answer.signature = Some(Cow::Owned(signature));
    Ok(())
}

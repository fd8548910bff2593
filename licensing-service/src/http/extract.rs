//! Extractors that turn raw requests into typed values, answering bad input
//! in the error envelope.

use std::borrow::Cow;
use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use bytes::BytesMut;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest request body accepted anywhere (bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `axum::Json`, but every rejection is an [`ApiError`] in our envelope.
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonDataError(e) => ApiError::bad_request("invalid_request", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("malformed_json", e.body_text()),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than {MAX_BODY_BYTES} bytes"),
        ),
        other => ApiError::new(other.status(), "invalid_request", other.body_text()),
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("request body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

/// The raw request body (for [`parse_json`]), at most [`MAX_BODY_BYTES`];
/// rejections in our envelope.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        read_body(req.into_body()).await.map(RawBody)
    }
}

/// The whole body, refused past [`MAX_BODY_BYTES`] (before any of it is
/// read when its length says so). A body that comes in one piece, as nearly
/// every API call's does, is that piece as hyper read it: no copy, and
/// neither the boxed length limit nor the list of pieces `Bytes`'s own
/// extractor allocates for every request (two allocations of each validation).
async fn read_body(mut body: Body) -> Result<Bytes, ApiError> {
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        return Err(too_large());
    }
    let (mut first, mut joined, mut total) = (Bytes::new(), None::<BytesMut>, 0);
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame
            .map_err(|e| ApiError::bad_request("invalid_request", format!("Failed to buffer the request body: {e}")))?;
        let Ok(data) = frame.into_data() else { continue };
        total += data.len();
        if total > MAX_BODY_BYTES {
            return Err(too_large());
        }
        match &mut joined {
            Some(all) => all.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => {
                let mut all = BytesMut::with_capacity(total);
                all.extend_from_slice(&first);
                all.extend_from_slice(&data);
                joined = Some(all);
            }
        }
    }
    Ok(joined.map_or(first, BytesMut::freeze))
}

/// The public POSTs that create something take JSON only: a `text/plain`
/// or form body is what a page on another site can send without asking.
pub fn require_json(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let ct = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ))
    }
}

/// Parses a JSON body whatever its content type (the hot path and optional
/// bodies); malformed → 400, too large → 413.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_data() { "invalid_request" } else { "malformed_json" };
        ApiError::bad_request(code, format!("request body: {e}"))
    })
}

/// An optional text field of a JSON body, borrowed from the body where its
/// JSON has no escapes (serde's `borrow` reaches a bare `Cow` only: an
/// `Option<Cow<str>>` was always copied into a new `String`, two allocations
/// of each validation). Absent or `null` is `None`, as for an `Option`.
#[derive(Debug, Default)]
pub struct OptText<'a>(pub Option<Cow<'a, str>>);

impl OptText<'_> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for OptText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
        Ok(OptText(<Option<Text<'de>> as serde::Deserialize>::deserialize(d)?.map(|t| t.0)))
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    fn pieces(parts: Vec<Vec<u8>>) -> Body {
        Body::from_stream(futures::stream::iter(parts.into_iter().map(Ok::<_, std::io::Error>)))
    }

    #[tokio::test]
    async fn a_body_is_read_whole_whether_in_one_piece_or_many() {
        assert_eq!(read_body(Body::from("{\"key\":1}")).await.unwrap(), "{\"key\":1}");
        assert_eq!(read_body(Body::empty()).await.unwrap(), "");
        let body = pieces(vec![b"ab".to_vec(), vec![], b"cd".to_vec(), b"e".to_vec()]);
        assert_eq!(read_body(body).await.unwrap(), "abcde");
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_refused_by_its_length_or_as_it_comes() {
        let status = |r: Result<Bytes, ApiError>| r.unwrap_err().into_response().status();
        let exact = vec![b' '; MAX_BODY_BYTES];
        assert_eq!(read_body(Body::from(exact.clone())).await.unwrap().len(), MAX_BODY_BYTES);
        let over = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(status(read_body(Body::from(over)).await), StatusCode::PAYLOAD_TOO_LARGE);
        // No length given up front: refused once the pieces pass the limit.
        let streamed = pieces(vec![exact, b"x".to_vec()]);
        assert_eq!(status(read_body(streamed).await), StatusCode::PAYLOAD_TOO_LARGE);
        let failing =
            Body::from_stream(futures::stream::iter([Ok(Bytes::from("ab")), Err(std::io::Error::other("reset"))]));
        assert_eq!(status(read_body(failing).await), StatusCode::BAD_REQUEST);
    }
}

//! Signed answers of `POST /v1/validate` and `POST /v1/machines/*`: an
//! Ed25519 signature over a canonical encoding of the request (nonce,
//! endpoint, key, product, fingerprint) and of the decision.

use std::borrow::Cow;

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::codec::{self, SIGNATURE_LEN};
use crate::{fingerprint_hash, Error, Nonce, PublicKey};

/// What an answer signature covers starts with these 17 bytes, so that no
/// answer can be taken for a license key, a lease or an activation.
pub const ANSWER_CONTEXT: &[u8] = b"keysat-answer-v1\0";

/// The endpoint that answered (part of what is signed, so an answer of one
/// endpoint cannot stand in for another's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /v1/validate`
    Validate,
    /// `POST /v1/machines/activate`
    Activate,
    /// `POST /v1/machines/heartbeat`
    Heartbeat,
    /// `POST /v1/machines/deactivate`
    Deactivate,
    /// `POST /v1/machines/lease` (an offline lease, PROTOCOL.md §8)
    Lease,
}

impl Endpoint {
    /// The path, exactly as signed: `/v1/validate`, `/v1/machines/activate`,
    /// `/v1/machines/heartbeat`, `/v1/machines/deactivate` or
    /// `/v1/machines/lease`.
    ///
    /// ```
    /// # use keysat_client::Endpoint;
    /// assert_eq!(Endpoint::Heartbeat.path(), "/v1/machines/heartbeat");
    /// assert_eq!(Endpoint::from_path("/v1/validate"), Some(Endpoint::Validate));
    /// assert_eq!(Endpoint::from_path("/v1/purchase"), None);
    /// ```
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Validate => "/v1/validate",
            Endpoint::Activate => "/v1/machines/activate",
            Endpoint::Heartbeat => "/v1/machines/heartbeat",
            Endpoint::Deactivate => "/v1/machines/deactivate",
            Endpoint::Lease => "/v1/machines/lease",
        }
    }

    /// The endpoint with this exact path, if it is one that signs answers.
    ///
    /// ```
    /// # use keysat_client::Endpoint;
    /// assert_eq!(Endpoint::from_path("/v1/machines/deactivate"), Some(Endpoint::Deactivate));
    /// assert_eq!(Endpoint::from_path("/v1/machines/lease"), Some(Endpoint::Lease));
    /// assert_eq!(Endpoint::from_path("/v1/validate/"), None);
    /// ```
    pub fn from_path(path: &str) -> Option<Endpoint> {
        [Endpoint::Validate, Endpoint::Activate, Endpoint::Heartbeat, Endpoint::Deactivate, Endpoint::Lease]
            .into_iter()
            .find(|e| e.path() == path)
    }
}

/// The request fields an answer is bound to (besides the nonce).
///
/// An empty `product_slug` or `fingerprint` counts as absent, as it does
/// for the server's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerRequest<'a> {
    /// Which endpoint was asked.
    pub endpoint: Endpoint,
    /// The `key` field exactly as sent (signed as its SHA-256).
    pub key: &'a str,
    /// The `product_slug` field as sent. Only `validate` reads it, so it is
    /// signed as absent for the other endpoints whatever it holds.
    pub product_slug: Option<&'a str>,
    /// The `fingerprint` field as sent (signed as its SHA-256).
    pub fingerprint: Option<&'a str>,
}

/// A `validate` or `machines/*` answer as typed values: the signed fields
/// (PROTOCOL.md §7.3), `message` and `signature`.
///
/// `None` stands for a field that is absent **or** `null` in the JSON;
/// timestamps are unix seconds (RFC 3339 in the JSON, see
/// [`parse_timestamp`](crate::parse_timestamp)). `message` (human text) and
/// `signature` are not signed, and neither is any field this type does not
/// list.
///
/// With the `serde` feature (on by default) an `Answer` reads from and
/// writes to the JSON of the public API; strings and entitlements may
/// borrow (`Cow`), so a server writes one without copying them, and a
/// client reads an owned `Answer<'static>`:
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use keysat_client::Answer;
///
/// let answer: Answer = serde_json::from_str(r#"{"ok":false,"reason":"revoked","message":"revoked by the seller"}"#)?;
/// assert_eq!(answer.reason.as_deref(), Some("revoked"));
/// assert_eq!(serde_json::to_string(&answer)?, r#"{"ok":false,"reason":"revoked","message":"revoked by the seller"}"#);
/// # }
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// When written, `None` fields are left out, with one exception: an answer
/// that describes a license (`issued_at` is set) always has `expires_at`,
/// `null` for a perpetual license.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
pub struct Answer<'a> {
    /// `ok`
    pub ok: bool,
    /// `reason` (a refusal's code)
    pub reason: Option<Cow<'a, str>>,
    /// `message`: human text about a refusal. Not signed.
    pub message: Option<Cow<'a, str>>,
    /// `status` (`"active"` on a successful validation)
    pub status: Option<Cow<'a, str>>,
    /// `license_id`
    pub license_id: Option<Uuid>,
    /// `product_id`
    pub product_id: Option<Uuid>,
    /// `product_slug`
    pub product_slug: Option<Cow<'a, str>>,
    /// `issued_at`
    #[cfg_attr(feature = "serde", serde(default, with = "crate::time::nullable"))]
    pub issued_at: Option<u64>,
    /// `expires_at` (`null` for a perpetual license)
    #[cfg_attr(feature = "serde", serde(default, with = "crate::time::nullable"))]
    pub expires_at: Option<u64>,
    /// `grace_until`
    #[cfg_attr(feature = "serde", serde(default, with = "crate::time::nullable"))]
    pub grace_until: Option<u64>,
    /// `in_grace_period`
    pub in_grace_period: Option<bool>,
    /// `is_trial`
    pub is_trial: Option<bool>,
    /// `entitlements`
    pub entitlements: Option<Cow<'a, [String]>>,
    /// `machine_id`
    pub machine_id: Option<Uuid>,
    /// `active_count`
    pub active_count: Option<u64>,
    /// `max_machines`
    pub max_machines: Option<u64>,
    /// `signature`: present when the request carried a `nonce`; check it
    /// with [`verify_answer`]. Not signed, of course.
    pub signature: Option<Cow<'a, str>>,
}

impl Answer<'_> {
    /// The same answer owning all its strings.
    ///
    /// ```
    /// # use keysat_client::Answer;
    /// let reason = String::from("revoked");
    /// let borrowed = Answer { reason: Some(reason.as_str().into()), ..Answer::default() };
    /// let owned: Answer<'static> = borrowed.clone().into_owned();
    /// assert_eq!(owned, borrowed);
    /// ```
    pub fn into_owned(self) -> Answer<'static> {
        let own = |s: Option<Cow<'_, str>>| s.map(|s| Cow::Owned(s.into_owned()));
        Answer {
            ok: self.ok,
            reason: own(self.reason),
            message: own(self.message),
            status: own(self.status),
            license_id: self.license_id,
            product_id: self.product_id,
            product_slug: own(self.product_slug),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            grace_until: self.grace_until,
            in_grace_period: self.in_grace_period,
            is_trial: self.is_trial,
            entitlements: self.entitlements.map(|e| Cow::Owned(e.into_owned())),
            machine_id: self.machine_id,
            active_count: self.active_count,
            max_machines: self.max_machines,
            signature: own(self.signature),
        }
    }
}

/// The canonical bytes an answer signature covers. Every variable-length
/// item is a u32 big-endian length then its bytes; an optional item is a
/// `0x00` byte when absent, `0x01` then the item when present.
struct Canonical(Vec<u8>);

impl Canonical {
    fn bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let len = u32::try_from(bytes.len()).map_err(|_| Error::bad_format("a signed field exceeds 4 GiB"))?;
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn flag(&mut self, value: bool) {
        self.0.push(u8::from(value));
    }

    fn opt<T>(&mut self, value: Option<T>, put: impl FnOnce(&mut Self, T) -> Result<(), Error>) -> Result<(), Error> {
        self.flag(value.is_some());
        value.map_or(Ok(()), |v| put(self, v))
    }

    fn text(&mut self, value: Option<&str>) -> Result<(), Error> {
        self.opt(value, |c, s| c.bytes(s.as_bytes()))
    }

    fn number(&mut self, value: Option<u64>) -> Result<(), Error> {
        self.opt(value, |c, n| {
            c.0.extend_from_slice(&n.to_be_bytes());
            Ok(())
        })
    }

    fn uuid(&mut self, value: Option<Uuid>) -> Result<(), Error> {
        self.opt(value, |c, u| {
            c.0.extend_from_slice(u.as_bytes());
            Ok(())
        })
    }

    fn boolean(&mut self, value: Option<bool>) -> Result<(), Error> {
        self.opt(value, |c, b| {
            c.flag(b);
            Ok(())
        })
    }

    fn hash(&mut self, value: Option<[u8; 32]>) -> Result<(), Error> {
        self.opt(value, |c, h| {
            c.0.extend_from_slice(&h);
            Ok(())
        })
    }

    fn list(&mut self, value: Option<&[String]>) -> Result<(), Error> {
        self.opt(value, |c, list| {
            let count = u32::try_from(list.len()).map_err(|_| Error::bad_format("too many entitlements"))?;
            c.0.extend_from_slice(&count.to_be_bytes());
            list.iter().try_for_each(|s| c.bytes(s.as_bytes()))
        })
    }
}

/// The exact bytes an answer signature covers (documented byte for byte in
/// PROTOCOL.md §7.3): [`ANSWER_CONTEXT`], the nonce, the request binding,
/// then the answer's fields in a fixed order. Errors with
/// [`Error::BadFormat`] only for a field longer than 4 GiB.
///
/// ```
/// use keysat_client::{answer_message, Answer, AnswerRequest, Endpoint, Nonce};
///
/// let nonce = Nonce::parse("00112233445566778899aabbccddeeff")?;
/// let request = AnswerRequest { endpoint: Endpoint::Heartbeat, key: "LIC1-…", product_slug: None, fingerprint: None };
/// let answer = Answer { ok: false, reason: Some("not_activated".into()), ..Answer::default() };
/// let message = answer_message(&answer, &request, &nonce)?;
/// assert!(message.starts_with(b"keysat-answer-v1\0\0\0\0\x2000112233"));
/// # Ok::<(), keysat_client::Error>(())
/// ```
pub fn answer_message(answer: &Answer<'_>, request: &AnswerRequest<'_>, nonce: &Nonce) -> Result<Vec<u8>, Error> {
    let mut c = Canonical(ANSWER_CONTEXT.to_vec());
    c.bytes(nonce.as_str().as_bytes())?;
    c.bytes(request.endpoint.path().as_bytes())?;
    c.0.extend_from_slice(&Sha256::digest(request.key.as_bytes()));
    let product_slug = request.product_slug.filter(|s| !s.is_empty() && request.endpoint == Endpoint::Validate);
    c.text(product_slug)?;
    c.hash(request.fingerprint.filter(|s| !s.is_empty()).map(fingerprint_hash))?;
    c.flag(answer.ok);
    c.text(answer.reason.as_deref())?;
    c.text(answer.status.as_deref())?;
    c.uuid(answer.license_id)?;
    c.uuid(answer.product_id)?;
    c.text(answer.product_slug.as_deref())?;
    c.number(answer.issued_at)?;
    c.number(answer.expires_at)?;
    c.number(answer.grace_until)?;
    c.boolean(answer.in_grace_period)?;
    c.boolean(answer.is_trial)?;
    c.list(answer.entitlements.as_deref())?;
    c.uuid(answer.machine_id)?;
    c.number(answer.active_count)?;
    c.number(answer.max_machines)?;
    Ok(c.0)
}

/// Signs `answer` to `request` carrying `nonce` with the license signing
/// key (the server's side); returns the JSON `signature` value: the 64
/// signature bytes in unpadded base64url (86 characters). Errors as
/// [`answer_message`].
///
/// ```
/// use keysat_client::{sign_answer, Answer, AnswerRequest, Endpoint, Nonce};
/// use keysat_client::ed25519_dalek::SigningKey;
///
/// let nonce = Nonce::parse("00112233445566778899aabbccddeeff")?;
/// let request = AnswerRequest { endpoint: Endpoint::Validate, key: "LIC1-…", product_slug: None, fingerprint: None };
/// let answer = Answer { ok: false, reason: Some("not_found".into()), ..Answer::default() };
/// let signature = sign_answer(&answer, &request, &nonce, &SigningKey::from_bytes(&[7; 32]))?;
/// assert_eq!(signature.len(), 86);
/// # Ok::<(), keysat_client::Error>(())
/// ```
pub fn sign_answer(
    answer: &Answer<'_>,
    request: &AnswerRequest<'_>,
    nonce: &Nonce,
    signing_key: &SigningKey,
) -> Result<String, Error> {
    let signature = codec::sign(&answer_message(answer, request, nonce)?, signing_key);
    Ok(BASE64URL_NOPAD.encode(&signature))
}

/// Checks the `signature` of `answer` (the app's side), where `request`
/// and `nonce` are what the app itself sent. Errors with
/// [`Error::BadFormat`] if `signature` is not 86 characters of unpadded
/// base64url, and [`Error::BadSignature`] if it does not cover exactly
/// these fields: a changed field, another nonce, key, fingerprint, product
/// or endpoint, or another signing key.
///
/// ```
/// use keysat_client::{sign_answer, verify_answer, Answer, AnswerRequest, Endpoint, Nonce, PublicKey};
/// use keysat_client::ed25519_dalek::SigningKey;
///
/// let sk = SigningKey::from_bytes(&[7; 32]);
/// let pk = PublicKey::from(sk.verifying_key());
/// let nonce = Nonce::from_bytes(&[0x42; 16])?; // use real random bytes
/// let request = AnswerRequest {
///     endpoint: Endpoint::Activate, key: "LIC1-…", product_slug: None, fingerprint: Some("machine-a"),
/// };
/// let answer = Answer { ok: true, active_count: Some(1), max_machines: Some(3), ..Answer::default() };
/// let signature = sign_answer(&answer, &request, &nonce, &sk)?;
/// verify_answer(&answer, &request, &nonce, &signature, &pk)?;
///
/// let forged = Answer { max_machines: Some(0), ..answer.clone() };
/// assert_eq!(verify_answer(&forged, &request, &nonce, &signature, &pk).unwrap_err().code(), "bad_signature");
/// let replayed = Nonce::from_bytes(&[0x43; 16])?;
/// assert_eq!(verify_answer(&answer, &request, &replayed, &signature, &pk).unwrap_err().code(), "bad_signature");
/// # Ok::<(), keysat_client::Error>(())
/// ```
pub fn verify_answer(
    answer: &Answer<'_>,
    request: &AnswerRequest<'_>,
    nonce: &Nonce,
    signature: &str,
    public_key: &PublicKey,
) -> Result<(), Error> {
    let mut bytes = [0u8; SIGNATURE_LEN];
    match BASE64URL_NOPAD.decode_len(signature.len()) {
        Ok(SIGNATURE_LEN) => BASE64URL_NOPAD
            .decode_mut(signature.as_bytes(), &mut bytes)
            .map_err(|_| Error::bad_format("signature is not unpadded base64url"))?,
        _ => return Err(Error::bad_format("signature must be 86 base64url characters (64 bytes)")),
    };
    codec::verify(&answer_message(answer, request, nonce)?, &bytes, public_key)
}

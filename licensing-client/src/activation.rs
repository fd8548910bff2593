//! Air-gapped activation, second half: the `ACTR1-…` response, a lease
//! signed for one [`ActivationChallenge`] (its license, machine and nonce).

use std::fmt;

use ed25519_dalek::SigningKey;

use crate::codec::{self, CHECKSUM_LEN, SIGNATURE_LEN};
use crate::lease::{check_no_empty, check_order, check_window};
use crate::payload::{array_at, decode_entitlements, encode_entitlements, entitlements_len, u64_at};
use crate::{ActivationChallenge, Error, PublicKey};

/// The prefix of every activation response.
pub const RESPONSE_PREFIX: &str = "ACTR1";

/// What an activation response's signature covers starts with these 21
/// bytes, followed by the challenge's 36 bytes and the grant.
pub const ACTIVATION_CONTEXT: &[u8] = b"keysat-activation-v1\0";

/// The checksum of a response is the first 4 bytes of SHA-256 of these 30
/// bytes followed by the grant and the signature.
pub const RESPONSE_CHECKSUM_CONTEXT: &[u8] = b"keysat-activation-checksum-v1\0";

/// Grant bytes before the entitlement count: issued_at, expires_at.
const GRANT_FIXED_LEN: usize = 16;

/// What the server grants in answer to a challenge: a lease whose license,
/// machine and nonce are those of the challenge, so they are not repeated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationGrant {
    /// When the activation was granted (and starts), unix seconds.
    pub issued_at: u64,
    /// When it ends, unix seconds; always after `issued_at`.
    pub expires_at: u64,
    /// Entitlement slugs granted (1–255 bytes each, at most 255).
    pub entitlements: Vec<String>,
}

impl ActivationGrant {
    /// Encodes the grant: `issued_at`, `expires_at` (u64 big-endian), then
    /// the entitlements as in `LIC1`. Errors with [`Error::BadFormat`] if
    /// `expires_at <= issued_at` or the entitlements cannot be encoded.
    ///
    /// ```
    /// # use keysat_client::ActivationGrant;
    /// let grant = ActivationGrant { issued_at: 1, expires_at: 2, entitlements: vec!["pro".into()] };
    /// assert_eq!(grant.encode()?, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 3, b'p', b'r', b'o']);
    /// assert_eq!(ActivationGrant::decode(&grant.encode()?)?, grant);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        check_order(self.issued_at, self.expires_at)?;
        let mut out = Vec::with_capacity(GRANT_FIXED_LEN + entitlements_len(&self.entitlements)?);
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        encode_entitlements(&self.entitlements, &mut out)?;
        Ok(out)
    }

    /// Strictly decodes a grant; every failure is [`Error::BadFormat`].
    ///
    /// ```
    /// # use keysat_client::ActivationGrant;
    /// assert_eq!(ActivationGrant::decode(&[0; 17]).unwrap_err().code(), "bad_format"); // expires_at <= issued_at
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<ActivationGrant, Error> {
        if bytes.len() <= GRANT_FIXED_LEN {
            return Err(Error::bad_format(format!("grant truncated: {} bytes", bytes.len())));
        }
        let grant = ActivationGrant {
            issued_at: u64_at(bytes, 0),
            expires_at: u64_at(bytes, 8),
            entitlements: decode_entitlements(&bytes[GRANT_FIXED_LEN..])?,
        };
        check_order(grant.issued_at, grant.expires_at)?;
        check_no_empty(&grant.entitlements)?;
        Ok(grant)
    }

    /// Whether the grant includes `slug` (exact comparison).
    ///
    /// ```
    /// # use keysat_client::ActivationGrant;
    /// let grant = ActivationGrant { issued_at: 1, expires_at: 2, entitlements: vec!["pro".into()] };
    /// assert!(grant.has_entitlement("pro") && !grant.has_entitlement("max"));
    /// ```
    pub fn has_entitlement(&self, slug: &str) -> bool {
        self.entitlements.iter().any(|e| e == slug)
    }
}

/// A parsed (not yet verified) activation response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationResponse {
    grant: ActivationGrant,
    body: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl ActivationResponse {
    /// Signs `grant` for `challenge` (the server's side, once it has found
    /// the challenge's license and given the machine a seat). Errors as
    /// [`ActivationGrant::encode`].
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, ActivationGrant, ActivationResponse, uuid::Uuid};
    /// # use keysat_client::ed25519_dalek::SigningKey;
    /// let challenge = ActivationChallenge::parse(
    ///     &ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]).to_code_string())?;
    /// let grant = ActivationGrant { issued_at: 1_700_000_000, expires_at: 1_800_000_000, entitlements: vec![] };
    /// let response = ActivationResponse::sign(&challenge, &grant, &SigningKey::from_bytes(&[7; 32]))?;
    /// assert_eq!(response.grant(), &grant);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn sign(
        challenge: &ActivationChallenge,
        grant: &ActivationGrant,
        signing_key: &SigningKey,
    ) -> Result<ActivationResponse, Error> {
        let body = grant.encode()?;
        let signature = codec::sign(&signed_message(challenge, &body), signing_key);
        Ok(ActivationResponse { grant: grant.clone(), body, signature })
    }

    /// Parses a response as typed or scanned: `ACTR1` in any case, then
    /// Crockford base32 read as for challenges. Errors with
    /// [`Error::BadFormat`], then [`Error::BadChecksum`] (a typing mistake),
    /// then [`Error::BadFormat`] again if the checked bytes are not a
    /// grant.
    ///
    /// ```
    /// # use keysat_client::ActivationResponse;
    /// assert_eq!(ActivationResponse::parse("ACT1-0000").unwrap_err().code(), "bad_format");
    /// ```
    pub fn parse(text: &str) -> Result<ActivationResponse, Error> {
        let bytes = codec::decode_code(text, RESPONSE_PREFIX)?;
        if bytes.len() <= GRANT_FIXED_LEN + SIGNATURE_LEN + CHECKSUM_LEN {
            return Err(Error::bad_format("response too short (characters missing?)"));
        }
        let (checked, check) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if codec::checksum(RESPONSE_CHECKSUM_CONTEXT, checked) != check {
            return Err(Error::BadChecksum);
        }
        let (body, signature) = checked.split_at(checked.len() - SIGNATURE_LEN);
        let grant = ActivationGrant::decode(body)?;
        Ok(ActivationResponse { grant, body: body.to_vec(), signature: array_at(signature, 0) })
    }

    /// The granted terms; not trustworthy before a successful
    /// [`ActivationResponse::verify_at`].
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, ActivationGrant, ActivationResponse, uuid::Uuid};
    /// # use keysat_client::ed25519_dalek::SigningKey;
    /// # let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// let grant = ActivationGrant { issued_at: 1, expires_at: 2, entitlements: vec![] };
    /// let response = ActivationResponse::sign(&challenge, &grant, &SigningKey::from_bytes(&[7; 32]))?;
    /// assert_eq!(response.into_grant(), grant);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn grant(&self) -> &ActivationGrant {
        &self.grant
    }

    /// Consumes the response, returning the grant.
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, ActivationGrant, ActivationResponse, uuid::Uuid};
    /// # use keysat_client::ed25519_dalek::SigningKey;
    /// # let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// let grant = ActivationGrant { issued_at: 1, expires_at: 2, entitlements: vec!["pro".into()] };
    /// let code = ActivationResponse::sign(&challenge, &grant, &SigningKey::from_bytes(&[7; 32]))?.to_code_string();
    /// assert_eq!(ActivationResponse::parse(&code)?.into_grant(), grant);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn into_grant(self) -> ActivationGrant {
        self.grant
    }

    /// The 64-byte Ed25519 signature.
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, ActivationGrant, ActivationResponse, uuid::Uuid};
    /// # use keysat_client::ed25519_dalek::{Signature, SigningKey};
    /// let sk = SigningKey::from_bytes(&[7; 32]);
    /// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// let grant = ActivationGrant { issued_at: 1, expires_at: 2, entitlements: vec![] };
    /// let response = ActivationResponse::sign(&challenge, &grant, &sk)?;
    /// let signature = Signature::from_bytes(response.signature());
    /// assert!(sk.verifying_key().verify_strict(&response.signed_message(&challenge), &signature).is_ok());
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// The exact bytes the signature covers for `challenge`:
    /// [`ACTIVATION_CONTEXT`] ‖ challenge bytes (36) ‖ grant.
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, ActivationGrant, ActivationResponse, uuid::Uuid};
    /// # use keysat_client::ed25519_dalek::SigningKey;
    /// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// let grant = ActivationGrant { issued_at: 1, expires_at: 2, entitlements: vec![] };
    /// let response = ActivationResponse::sign(&challenge, &grant, &SigningKey::from_bytes(&[7; 32]))?;
    /// let message = response.signed_message(&challenge);
    /// assert_eq!(message.len(), 21 + 36 + 17);
    /// assert_eq!(&message[21..57], &challenge.to_bytes());
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn signed_message(&self, challenge: &ActivationChallenge) -> Vec<u8> {
        signed_message(challenge, &self.body)
    }

    /// Checks, in this order: the signature for `challenge`
    /// ([`Error::BadSignature`], also for a response to another challenge),
    /// that `fingerprint` is the challenge's machine
    /// ([`Error::FingerprintMismatch`]), and the time window at `now_unix`
    /// ([`Error::NotYetValid`], [`Error::Expired`], as for leases).
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, ActivationGrant, ActivationResponse, PublicKey, uuid::Uuid};
    /// # use keysat_client::ed25519_dalek::SigningKey;
    /// let sk = SigningKey::from_bytes(&[7; 32]);
    /// let pk = PublicKey::from(sk.verifying_key());
    /// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// let grant = ActivationGrant { issued_at: 1000, expires_at: 2000, entitlements: vec![] };
    /// let response = ActivationResponse::sign(&challenge, &grant, &sk)?;
    /// assert!(response.verify_at(&challenge, &pk, "machine-a", 1500).is_ok());
    /// assert_eq!(response.verify_at(&challenge, &pk, "machine-b", 1500).unwrap_err().code(), "fingerprint_mismatch");
    /// let other = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [8; 10]);
    /// assert_eq!(response.verify_at(&other, &pk, "machine-a", 1500).unwrap_err().code(), "bad_signature");
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn verify_at(
        &self,
        challenge: &ActivationChallenge,
        key: &PublicKey,
        fingerprint: &str,
        now_unix: u64,
    ) -> Result<(), Error> {
        codec::verify(&self.signed_message(challenge), &self.signature, key)?;
        if !challenge.fingerprint_matches(fingerprint) {
            return Err(Error::FingerprintMismatch);
        }
        check_window(self.grant.issued_at, self.grant.expires_at, now_unix)
    }

    /// The code to type or scan: `ACTR1-` and the Crockford base32 of grant
    /// ‖ signature ‖ checksum, upper case, in groups of four.
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, ActivationGrant, ActivationResponse, uuid::Uuid};
    /// # use keysat_client::ed25519_dalek::SigningKey;
    /// # let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// let grant = ActivationGrant { issued_at: 1, expires_at: 2, entitlements: vec![] };
    /// let response = ActivationResponse::sign(&challenge, &grant, &SigningKey::from_bytes(&[7; 32]))?;
    /// let code = response.to_code_string();
    /// assert!(code.starts_with("ACTR1-"));
    /// assert_eq!(code.parse::<ActivationResponse>()?, response);
    /// assert_eq!(response.to_string(), code);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn to_code_string(&self) -> String {
        let checked = [&self.body[..], &self.signature[..]].concat();
        let check = codec::checksum(RESPONSE_CHECKSUM_CONTEXT, &checked);
        codec::encode_code(RESPONSE_PREFIX, &[&checked[..], &check[..]].concat())
    }
}

/// Writes the code ([`ActivationResponse::to_code_string`]).
impl fmt::Display for ActivationResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_code_string())
    }
}

/// Parses a code, as [`ActivationResponse::parse`].
impl std::str::FromStr for ActivationResponse {
    type Err = Error;

    fn from_str(text: &str) -> Result<ActivationResponse, Error> {
        ActivationResponse::parse(text)
    }
}

fn signed_message(challenge: &ActivationChallenge, grant: &[u8]) -> Vec<u8> {
    [ACTIVATION_CONTEXT, &challenge.to_bytes(), grant].concat()
}

/// Signs `grant` for `challenge` and returns the `ACTR1-…` code (the
/// server's side). Errors as [`ActivationGrant::encode`].
///
/// ```
/// use keysat_client::{sign_activation, verify_activation, ActivationChallenge, ActivationGrant, PublicKey};
/// use keysat_client::{ed25519_dalek::SigningKey, uuid::Uuid};
///
/// // On the offline machine:
/// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
/// let shown = challenge.to_code_string();
/// // On the server, from the typed code:
/// let sk = SigningKey::from_bytes(&[7; 32]);
/// let grant = ActivationGrant { issued_at: 1_700_000_000, expires_at: 1_731_536_000, entitlements: vec!["pro".into()] };
/// let response = sign_activation(&ActivationChallenge::parse(&shown)?, &grant, &sk)?;
/// // Back on the offline machine:
/// let pk = PublicKey::from(sk.verifying_key());
/// assert_eq!(verify_activation(&response, &challenge, &pk, "machine-a", 1_700_000_060)?, grant);
/// # Ok::<(), keysat_client::Error>(())
/// ```
pub fn sign_activation(
    challenge: &ActivationChallenge,
    grant: &ActivationGrant,
    signing_key: &SigningKey,
) -> Result<String, Error> {
    Ok(ActivationResponse::sign(challenge, grant, signing_key)?.to_code_string())
}

/// Parses an `ACTR1-…` code and checks it against the app's own
/// `challenge` (the app's side); errors in the order [`Error::BadFormat`],
/// [`Error::BadChecksum`], [`Error::BadSignature`] (also for a response to
/// another challenge), [`Error::FingerprintMismatch`],
/// [`Error::NotYetValid`], [`Error::Expired`]. Returns the grant.
///
/// ```
/// use keysat_client::{sign_activation, verify_activation, ActivationChallenge, ActivationGrant, PublicKey};
/// use keysat_client::{ed25519_dalek::SigningKey, uuid::Uuid};
///
/// let sk = SigningKey::from_bytes(&[7; 32]);
/// let pk = PublicKey::from(sk.verifying_key());
/// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
/// let grant = ActivationGrant { issued_at: 1000, expires_at: 2000, entitlements: vec![] };
/// let response = sign_activation(&challenge, &grant, &sk)?;
/// let code = |text: &str, now| verify_activation(text, &challenge, &pk, "machine-a", now).unwrap_err().code();
/// assert_eq!(code(&response, 2000), "expired");
/// assert_eq!(code(&response.replacen("ACTR1", "ACTR2", 1), 1500), "bad_format");
/// # Ok::<(), keysat_client::Error>(())
/// ```
pub fn verify_activation(
    text: &str,
    challenge: &ActivationChallenge,
    public_key: &PublicKey,
    fingerprint: &str,
    now_unix: u64,
) -> Result<ActivationGrant, Error> {
    let response = ActivationResponse::parse(text)?;
    response.verify_at(challenge, public_key, fingerprint, now_unix)?;
    Ok(response.into_grant())
}

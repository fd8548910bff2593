//! Offline leases: `LEASE1-<BASE32(body)>-<BASE32(signature)>`, a signed,
//! machine-bound, time-boxed permission to run without asking the server.

use std::fmt;

use ed25519_dalek::SigningKey;
use uuid::Uuid;

use crate::codec::{self, SIGNATURE_LEN};
use crate::payload::{array_at, decode_entitlements, encode_entitlements, entitlements_len, u64_at, uuid_at};
use crate::{fingerprint_hash, Error, PublicKey};

/// The prefix (first `-`-separated part) of every lease string.
pub const LEASE_PREFIX: &str = "LEASE1";

/// What a lease signature covers starts with these 16 bytes, so that no
/// lease can be taken for a license key, an answer or an activation.
pub const LEASE_CONTEXT: &[u8] = b"keysat-lease-v1\0";

/// How far the verifier's clock may lag behind the issuer's: a lease or an
/// activation is accepted from `issued_at - CLOCK_SKEW_SECONDS` on (5
/// minutes). Expiry has no such allowance.
pub const CLOCK_SKEW_SECONDS: u64 = 300;

/// Body version byte of `LEASE1` leases.
const LEASE_VERSION: u8 = 1;

/// Bytes before the entitlement count: version, product id, license id,
/// issued_at, expires_at, fingerprint hash.
const FIXED_LEN: usize = 1 + 16 + 16 + 8 + 8 + 32;

/// The signed contents of a lease.
///
/// A lease lets one machine (the SHA-256 of its fingerprint, as for a bound
/// `LIC1` key) run one license, with these entitlements, from `issued_at`
/// until `expires_at`, without contacting the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The product of the license.
    pub product_id: Uuid,
    /// The license this lease was granted under.
    pub license_id: Uuid,
    /// When the lease was issued (and starts), unix seconds.
    pub issued_at: u64,
    /// When the lease ends, unix seconds; always after `issued_at`.
    pub expires_at: u64,
    /// [`fingerprint_hash`] of the machine's fingerprint.
    pub fingerprint_hash: [u8; 32],
    /// Entitlement slugs the lease grants (1–255 bytes each, at most 255).
    pub entitlements: Vec<String>,
}

impl Lease {
    /// Encodes the lease body: version 1, product id, license id,
    /// `issued_at`, `expires_at`, fingerprint hash, entitlements.
    ///
    /// Errors with [`Error::BadFormat`] if `expires_at <= issued_at` or the
    /// entitlements cannot be encoded (as for `LIC1`).
    ///
    /// ```
    /// # use keysat_client::{Lease, uuid::Uuid};
    /// let lease = Lease {
    ///     product_id: Uuid::nil(),
    ///     license_id: Uuid::nil(),
    ///     issued_at: 100,
    ///     expires_at: 200,
    ///     fingerprint_hash: keysat_client::fingerprint_hash("machine"),
    ///     entitlements: vec!["pro".into()],
    /// };
    /// let body = lease.encode()?;
    /// assert_eq!(body.len(), 81 + 1 + 4);
    /// assert_eq!(Lease::decode(&body)?, lease);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        check_order(self.issued_at, self.expires_at)?;
        let mut out = Vec::with_capacity(FIXED_LEN + entitlements_len(&self.entitlements)?);
        out.push(LEASE_VERSION);
        out.extend_from_slice(self.product_id.as_bytes());
        out.extend_from_slice(self.license_id.as_bytes());
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        out.extend_from_slice(&self.fingerprint_hash);
        encode_entitlements(&self.entitlements, &mut out)?;
        Ok(out)
    }

    /// Strictly decodes a lease body: version byte 1, the fixed fields,
    /// `expires_at > issued_at`, non-empty UTF-8 entitlements, nothing
    /// after them. Every failure is [`Error::BadFormat`].
    ///
    /// ```
    /// # use keysat_client::Lease;
    /// assert_eq!(Lease::decode(&[2; 90]).unwrap_err().code(), "bad_format");
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Lease, Error> {
        if bytes.len() <= FIXED_LEN {
            return Err(Error::bad_format(format!(
                "lease truncated: {} bytes, need more than {FIXED_LEN}",
                bytes.len()
            )));
        }
        if bytes[0] != LEASE_VERSION {
            return Err(Error::bad_format(format!("unsupported lease version {}", bytes[0])));
        }
        let lease = Lease {
            product_id: uuid_at(bytes, 1),
            license_id: uuid_at(bytes, 17),
            issued_at: u64_at(bytes, 33),
            expires_at: u64_at(bytes, 41),
            fingerprint_hash: array_at(bytes, 49),
            entitlements: decode_entitlements(&bytes[FIXED_LEN..])?,
        };
        check_order(lease.issued_at, lease.expires_at)?;
        check_no_empty(&lease.entitlements)?;
        Ok(lease)
    }

    /// Whether [`fingerprint_hash`]`(fingerprint)` is the lease's.
    ///
    /// ```
    /// # use keysat_client::{Lease, uuid::Uuid};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1, expires_at: 2,
    /// #     fingerprint_hash: keysat_client::fingerprint_hash("machine"), entitlements: vec![] };
    /// assert!(lease.fingerprint_matches("machine"));
    /// assert!(!lease.fingerprint_matches("Machine"));
    /// ```
    pub fn fingerprint_matches(&self, fingerprint: &str) -> bool {
        fingerprint_hash(fingerprint) == self.fingerprint_hash
    }

    /// Whether the lease grants `slug` (exact comparison).
    ///
    /// ```
    /// # use keysat_client::{Lease, uuid::Uuid};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1, expires_at: 2,
    /// #     fingerprint_hash: [0; 32], entitlements: vec!["pro".into()] };
    /// assert!(lease.has_entitlement("pro") && !lease.has_entitlement("Pro"));
    /// ```
    pub fn has_entitlement(&self, slug: &str) -> bool {
        self.entitlements.iter().any(|e| e == slug)
    }

    /// Checks, in this order, the machine ([`Error::FingerprintMismatch`])
    /// and the time window at `now_unix` ([`Error::NotYetValid`] if
    /// `now_unix + CLOCK_SKEW_SECONDS < issued_at`, [`Error::Expired`] if
    /// `now_unix >= expires_at`). Does not check any signature: see
    /// [`SignedLease::verify_at`].
    ///
    /// ```
    /// # use keysat_client::{Lease, uuid::Uuid};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1000, expires_at: 2000,
    /// #     fingerprint_hash: keysat_client::fingerprint_hash("machine"), entitlements: vec![] };
    /// assert!(lease.check_at("machine", 1500).is_ok());
    /// assert!(lease.check_at("machine", 1000 - 300).is_ok()); // clock a little behind
    /// assert_eq!(lease.check_at("machine", 699).unwrap_err().code(), "not_yet_valid");
    /// assert_eq!(lease.check_at("machine", 2000).unwrap_err().code(), "expired");
    /// assert_eq!(lease.check_at("other", 1500).unwrap_err().code(), "fingerprint_mismatch");
    /// ```
    pub fn check_at(&self, fingerprint: &str, now_unix: u64) -> Result<(), Error> {
        if !self.fingerprint_matches(fingerprint) {
            return Err(Error::FingerprintMismatch);
        }
        check_window(self.issued_at, self.expires_at, now_unix)
    }
}

/// The time window shared by leases and activations.
pub(crate) fn check_window(issued_at: u64, expires_at: u64, now_unix: u64) -> Result<(), Error> {
    if now_unix.saturating_add(CLOCK_SKEW_SECONDS) < issued_at {
        return Err(Error::NotYetValid { issued_at });
    }
    if now_unix >= expires_at {
        return Err(Error::Expired { expires_at });
    }
    Ok(())
}

/// A lease is time-boxed: it must end after it starts.
pub(crate) fn check_order(issued_at: u64, expires_at: u64) -> Result<(), Error> {
    if expires_at <= issued_at {
        return Err(Error::bad_format(format!("expires_at {expires_at} is not after issued_at {issued_at}")));
    }
    Ok(())
}

/// New formats decode canonically: a zero-length slug cannot be encoded, so
/// it is refused when decoding too.
pub(crate) fn check_no_empty(entitlements: &[String]) -> Result<(), Error> {
    match entitlements.iter().position(String::is_empty) {
        Some(index) => Err(Error::bad_format(format!("entitlement {index} is empty"))),
        None => Ok(()),
    }
}

/// A parsed (not yet verified) `LEASE1` string: the decoded lease, the
/// exact body bytes and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLease {
    lease: Lease,
    body: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl SignedLease {
    /// Parses `LEASE1-<BASE32(body)>-<BASE32(signature)>` with the rules of
    /// `LIC1` keys (RFC 4648 base32 without padding, case-insensitive,
    /// surrounding whitespace ignored, canonical trailing bits) and
    /// [`Lease::decode`]. Every failure is [`Error::BadFormat`].
    ///
    /// ```
    /// # use keysat_client::SignedLease;
    /// assert_eq!(SignedLease::parse("LIC1-AAAA-BBBB").unwrap_err().code(), "bad_format");
    /// ```
    pub fn parse(text: &str) -> Result<SignedLease, Error> {
        let (body, signature) = codec::parse_signed(text, LEASE_PREFIX)?;
        let lease = Lease::decode(&body)?;
        Ok(SignedLease { lease, body, signature })
    }

    /// Encodes `lease` and signs [`LEASE_CONTEXT`] ‖ body with the license
    /// signing key (what the server does). Errors as [`Lease::encode`].
    ///
    /// ```
    /// # use keysat_client::{Lease, SignedLease, PublicKey, uuid::Uuid, ed25519_dalek::SigningKey};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1, expires_at: 2,
    /// #     fingerprint_hash: [0; 32], entitlements: vec![] };
    /// let sk = SigningKey::from_bytes(&[7; 32]);
    /// let signed = SignedLease::sign(&lease, &sk)?;
    /// assert!(signed.verify(&PublicKey::from(sk.verifying_key())).is_ok());
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn sign(lease: &Lease, signing_key: &SigningKey) -> Result<SignedLease, Error> {
        let body = lease.encode()?;
        let signature = codec::sign(&signed_message(&body), signing_key);
        Ok(SignedLease { lease: lease.clone(), body, signature })
    }

    /// The decoded lease; not trustworthy before a successful
    /// [`SignedLease::verify_at`].
    ///
    /// ```
    /// # use keysat_client::{Lease, SignedLease, uuid::Uuid, ed25519_dalek::SigningKey};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1, expires_at: 2,
    /// #     fingerprint_hash: [0; 32], entitlements: vec![] };
    /// let signed = SignedLease::sign(&lease, &SigningKey::from_bytes(&[7; 32]))?;
    /// assert_eq!(signed.lease(), &lease);
    /// assert_eq!(signed.into_lease(), lease);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Consumes the signed lease, returning the lease.
    ///
    /// ```
    /// # use keysat_client::{Lease, SignedLease, uuid::Uuid, ed25519_dalek::SigningKey};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::from_u128(5), issued_at: 1, expires_at: 2,
    /// #     fingerprint_hash: [0; 32], entitlements: vec![] };
    /// let text = SignedLease::sign(&lease, &SigningKey::from_bytes(&[7; 32]))?.to_lease_string();
    /// assert_eq!(SignedLease::parse(&text)?.into_lease().license_id, Uuid::from_u128(5));
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn into_lease(self) -> Lease {
        self.lease
    }

    /// The exact bytes the signature covers: [`LEASE_CONTEXT`] ‖ body.
    ///
    /// ```
    /// # use keysat_client::{Lease, SignedLease, uuid::Uuid, ed25519_dalek::SigningKey};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1, expires_at: 2,
    /// #     fingerprint_hash: [0; 32], entitlements: vec![] };
    /// let signed = SignedLease::sign(&lease, &SigningKey::from_bytes(&[7; 32]))?;
    /// assert!(signed.signed_message().starts_with(b"keysat-lease-v1\0"));
    /// assert_eq!(signed.signature().len(), 64);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn signed_message(&self) -> Vec<u8> {
        signed_message(&self.body)
    }

    /// The 64-byte Ed25519 signature.
    ///
    /// ```
    /// # use keysat_client::{Lease, SignedLease, PublicKey, uuid::Uuid, ed25519_dalek::{Signature, SigningKey}};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1, expires_at: 2,
    /// #     fingerprint_hash: [0; 32], entitlements: vec![] };
    /// let sk = SigningKey::from_bytes(&[7; 32]);
    /// let signed = SignedLease::sign(&lease, &sk)?;
    /// let signature = Signature::from_bytes(signed.signature());
    /// assert!(sk.verifying_key().verify_strict(&signed.signed_message(), &signature).is_ok());
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Checks the signature alone ([`Error::BadSignature`]).
    ///
    /// ```
    /// # use keysat_client::{Lease, SignedLease, PublicKey, uuid::Uuid, ed25519_dalek::SigningKey};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1, expires_at: 2,
    /// #     fingerprint_hash: [0; 32], entitlements: vec![] };
    /// let signed = SignedLease::sign(&lease, &SigningKey::from_bytes(&[7; 32]))?;
    /// let other = PublicKey::from(SigningKey::from_bytes(&[8; 32]).verifying_key());
    /// assert_eq!(signed.verify(&other).unwrap_err().code(), "bad_signature");
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn verify(&self, key: &PublicKey) -> Result<(), Error> {
        codec::verify(&self.signed_message(), &self.signature, key)
    }

    /// Checks, in this order, the signature, the machine and the time
    /// window (see [`Lease::check_at`]).
    ///
    /// ```
    /// # use keysat_client::{fingerprint_hash, Lease, SignedLease, PublicKey, uuid::Uuid, ed25519_dalek::SigningKey};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1000, expires_at: 2000,
    /// #     fingerprint_hash: fingerprint_hash("machine"), entitlements: vec![] };
    /// let sk = SigningKey::from_bytes(&[7; 32]);
    /// let signed = SignedLease::sign(&lease, &sk)?;
    /// let pk = PublicKey::from(sk.verifying_key());
    /// assert!(signed.verify_at(&pk, "machine", 1500).is_ok());
    /// assert_eq!(signed.verify_at(&pk, "machine", 2500).unwrap_err().code(), "expired");
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn verify_at(&self, key: &PublicKey, fingerprint: &str, now_unix: u64) -> Result<(), Error> {
        self.verify(key)?;
        self.lease.check_at(fingerprint, now_unix)
    }

    /// The canonical string: `LEASE1-`, upper-case unpadded base32 of the
    /// body, `-`, and of the signature.
    ///
    /// ```
    /// # use keysat_client::{Lease, SignedLease, uuid::Uuid, ed25519_dalek::SigningKey};
    /// # let lease = Lease { product_id: Uuid::nil(), license_id: Uuid::nil(), issued_at: 1, expires_at: 2,
    /// #     fingerprint_hash: [0; 32], entitlements: vec![] };
    /// let signed = SignedLease::sign(&lease, &SigningKey::from_bytes(&[7; 32]))?;
    /// let text = signed.to_lease_string();
    /// assert!(text.starts_with("LEASE1-"));
    /// assert_eq!(SignedLease::parse(&text.to_lowercase())?, signed);
    /// assert_eq!(text.parse::<SignedLease>()?.to_string(), text);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn to_lease_string(&self) -> String {
        codec::format_signed(LEASE_PREFIX, &self.body, &self.signature)
    }
}

/// Writes the canonical string ([`SignedLease::to_lease_string`]).
impl fmt::Display for SignedLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_lease_string())
    }
}

/// Parses a lease string, as [`SignedLease::parse`].
impl std::str::FromStr for SignedLease {
    type Err = Error;

    fn from_str(text: &str) -> Result<SignedLease, Error> {
        SignedLease::parse(text)
    }
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    [LEASE_CONTEXT, body].concat()
}

/// Signs `lease` and returns its `LEASE1-…` string (the server's side).
/// Errors as [`Lease::encode`].
///
/// ```
/// use keysat_client::{fingerprint_hash, sign_lease, verify_lease, Lease, PublicKey};
/// use keysat_client::{ed25519_dalek::SigningKey, uuid::Uuid};
///
/// let sk = SigningKey::from_bytes(&[7; 32]);
/// let lease = Lease {
///     product_id: Uuid::from_u128(1),
///     license_id: Uuid::from_u128(2),
///     issued_at: 1_700_000_000,
///     expires_at: 1_700_000_000 + 7 * 86_400,
///     fingerprint_hash: fingerprint_hash("machine-a"),
///     entitlements: vec!["pro".into()],
/// };
/// let text = sign_lease(&lease, &sk)?;
/// let pk = PublicKey::from(sk.verifying_key());
/// assert_eq!(verify_lease(&text, &pk, "machine-a", 1_700_000_100)?, lease);
/// # Ok::<(), keysat_client::Error>(())
/// ```
pub fn sign_lease(lease: &Lease, signing_key: &SigningKey) -> Result<String, Error> {
    Ok(SignedLease::sign(lease, signing_key)?.to_lease_string())
}

/// Parses a `LEASE1-…` string and checks it offline (the app's side):
/// errors in the order [`Error::BadFormat`], [`Error::BadSignature`],
/// [`Error::FingerprintMismatch`], [`Error::NotYetValid`],
/// [`Error::Expired`]. Returns the lease; the app still compares its
/// `product_id` (and `license_id`, if it holds a key) with its own.
///
/// ```
/// use keysat_client::{fingerprint_hash, sign_lease, verify_lease, Lease, PublicKey};
/// use keysat_client::{ed25519_dalek::SigningKey, uuid::Uuid};
///
/// let sk = SigningKey::from_bytes(&[7; 32]);
/// let lease = Lease {
///     product_id: Uuid::from_u128(1),
///     license_id: Uuid::from_u128(2),
///     issued_at: 1_700_000_000,
///     expires_at: 1_700_086_400,
///     fingerprint_hash: fingerprint_hash("machine-a"),
///     entitlements: vec![],
/// };
/// let text = sign_lease(&lease, &sk)?;
/// let pk = PublicKey::from(sk.verifying_key());
/// let code = |fp, now| verify_lease(&text, &pk, fp, now).unwrap_err().code();
/// assert_eq!(code("machine-b", 1_700_000_100), "fingerprint_mismatch");
/// assert_eq!(code("machine-a", 1_699_000_000), "not_yet_valid");
/// assert_eq!(code("machine-a", 1_700_086_400), "expired");
/// # Ok::<(), keysat_client::Error>(())
/// ```
pub fn verify_lease(text: &str, public_key: &PublicKey, fingerprint: &str, now_unix: u64) -> Result<Lease, Error> {
    let signed = SignedLease::parse(text)?;
    signed.verify_at(public_key, fingerprint, now_unix)?;
    Ok(signed.into_lease())
}

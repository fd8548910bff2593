//! Offline verification of Keysat `LIC1` license keys, and the other signed
//! formats of the Keysat protocol: signed server answers, `LEASE1` offline
//! leases and `ACT1`/`ACTR1` air-gapped activation (see
//! [Other signed formats](#other-signed-formats)).
//!
//! A Keysat license key is a self-contained, Ed25519-signed token that an
//! application can check without talking to any server:
//!
//! ```text
//! LIC1-<BASE32(payload)>-<BASE32(signature)>
//! ```
//!
//! * Base32 is RFC 4648, upper-case, **no padding**; decoding is
//!   case-insensitive and surrounding whitespace is ignored.
//! * `signature` is the 64-byte Ed25519 signature of the raw payload bytes,
//!   made with the seller's key; the matching public key is published as
//!   SPKI PEM ([`PublicKey::from_pem`]).
//! * The payload ([`Payload`]) is a small big-endian binary record. Version 2
//!   (the one issued) holds: version, flags ([`FLAG_FINGERPRINT_BOUND`],
//!   [`FLAG_TRIAL`]), product id, license id (UUIDs), `issued_at` and
//!   `expires_at` (unix seconds, 0 = perpetual), the SHA-256 of the bound
//!   machine fingerprint ([`fingerprint_hash`]), and a list of entitlement
//!   slugs. Version 1 (74 bytes, no expiry, no entitlements) is still
//!   accepted when parsing but never issued.
//!
//! Verification runs in a fixed order, and each step has its own error and
//! protocol code ([`Error::code`]): format ([`Error::BadFormat`]), then
//! signature ([`Error::BadSignature`]), then, if asked for, expiry
//! ([`Error::Expired`]).
//!
//! Revocation, seat limits and grace periods are not visible offline: ask the
//! server's `POST /v1/validate` for those.
//!
//! # Verify a key offline
//!
//! ```
//! use keysat_client::PublicKey;
//!
//! const PEM: &str = "-----BEGIN PUBLIC KEY-----
//! MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=
//! -----END PUBLIC KEY-----";
//! const KEY: &str = "LIC1-AIBW6RVE6YGS6SRIW2VD5D57N4UPBKVKVKVLXO6MZTO533XO53XO53QAAAAAAZKT6EAAAAAAABYT7MYA2NCGD73DC4G6MM5VVISRFTROCWWBECY4GJNM3LNGPQBOLFF2HM6QEA3QOJXQY3LVNR2GSLLEMV3GSY3F-QPSJIDYL6Y5TFCKXQ2SN43EDJIZIRJZCEROM2I4MJHODT6KO4KDPW6AJ3HMYJERYPD34CF2Z46PXPYFKSRZS7BDZKVKWE57UBJSTEBI";
//!
//! let pk = PublicKey::from_pem(PEM)?;
//! let payload = keysat_client::verify_at(KEY, &pk, 1_800_000_000)?;
//! assert!(payload.entitlements.contains(&"pro".to_string()));
//! assert!(payload.fingerprint_matches("test-machine-fingerprint"));
//! # assert_eq!(
//! #     keysat_client::verify_at(KEY, &pk, 1_900_000_000).unwrap_err().code(),
//! #     "expired"
//! # );
//! # Ok::<(), keysat_client::Error>(())
//! ```
//!
//! # Issue a key
//!
//! [`sign`] encodes a [`Payload`] (always as version 2) and signs it with an
//! `ed25519_dalek::SigningKey`; [`LicenseKey::to_key_string`] gives the
//! canonical string of a parsed key.
//!
//! # Other signed formats
//!
//! Every format is signed by the same license signing key, and every
//! signature covers a distinct context prefix first, so that none can be
//! taken for another (PROTOCOL.md §6–§9 give each byte for byte). Each has
//! a sign side, used by the server, and a verify side, used by apps:
//!
//! * **Signed answers** — a client sends a [`Nonce`] to `POST /v1/validate`
//!   or `POST /v1/machines/*` and gets a `signature` over the request and
//!   the decision: [`sign_answer`] / [`verify_answer`] on an [`Answer`] and
//!   the [`AnswerRequest`] it answers ([`answer_message`] gives the bytes).
//! * **Offline leases** — `LEASE1-…`, one machine, one license, a time box:
//!   [`sign_lease`] / [`verify_lease`] on a [`Lease`] ([`SignedLease`] for
//!   the parsed form).
//! * **Air-gapped activation** — the app shows an [`ActivationChallenge`]
//!   (`ACT1-…`, typed or scanned into the server's page), the server answers
//!   with an [`ActivationResponse`] (`ACTR1-…`) that grants an
//!   [`ActivationGrant`] to that challenge only: [`sign_activation`] /
//!   [`verify_activation`].
//!
//! Leases and activations are checked in the order format, checksum (typed
//! codes), signature, machine ([`Error::FingerprintMismatch`]), then time
//! ([`Error::NotYetValid`], [`Error::Expired`]).
//!
//! # The JSON answers of the server
//!
//! With the `serde` feature (on by default), the answers of the public HTTP
//! API are typed values that read from and write to the server's JSON
//! exactly (the same types the Keysat server writes them with):
//! [`Answer`] (`POST /v1/validate`, `POST /v1/machines/*`),
//! [`PurchaseAnswer`] and [`PurchaseStatus`] (`/v1/purchase`),
//! [`RedeemAnswer`] (`POST /v1/redeem`) and [`ErrorEnvelope`] (every other
//! refusal). Timestamps are unix seconds, RFC 3339 in the JSON
//! ([`parse_timestamp`], [`format_timestamp`]). The crate stays free of any
//! HTTP client: send the requests with the one your application uses.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod activation;
mod answer;
#[cfg(feature = "serde")]
mod api;
mod challenge;
mod codec;
mod error;
mod key;
mod lease;
mod nonce;
mod payload;
mod public_key;
#[cfg(feature = "schemars")]
mod schema;
mod time;

pub use activation::{
    sign_activation, verify_activation, ActivationGrant, ActivationResponse, ACTIVATION_CONTEXT,
    RESPONSE_CHECKSUM_CONTEXT, RESPONSE_PREFIX,
};
pub use answer::{answer_message, sign_answer, verify_answer, Answer, AnswerRequest, Endpoint, ANSWER_CONTEXT};
pub use challenge::{
    ActivationChallenge, CHALLENGE_CHECKSUM_CONTEXT, CHALLENGE_LEN, CHALLENGE_NONCE_LEN, CHALLENGE_PREFIX,
    FINGERPRINT_PREFIX_LEN,
};
pub use error::Error;
pub use key::{key_in_file, sign, verify, verify_at, LicenseKey, KEY_PREFIX};
pub use lease::{sign_lease, verify_lease, Lease, SignedLease, CLOCK_SKEW_SECONDS, LEASE_CONTEXT, LEASE_PREFIX};
pub use nonce::{Nonce, NONCE_MAX_CHARS, NONCE_MIN_CHARS};
pub use payload::{fingerprint_hash, Payload, FLAG_FINGERPRINT_BOUND, FLAG_TRIAL};
pub use public_key::{PublicKey, SPKI_DER_LEN};
pub use time::{format_timestamp, parse_timestamp};

#[cfg(feature = "serde")]
pub use api::{ErrorEnvelope, PurchaseAnswer, PurchaseCheckout, PurchaseIssued, PurchaseStatus, RedeemAnswer};

/// Re-export of the `ed25519-dalek` crate this API is built on (for
/// `SigningKey` and `VerifyingKey`), so callers can name the same version.
pub use ed25519_dalek;
/// Re-export of the `uuid` crate used by [`Payload`].
pub use uuid;

//! Air-gapped activation, first half: the `ACT1-…` challenge an offline
//! machine shows (to be typed or scanned into the activation page).

use std::fmt;

use uuid::Uuid;

use crate::codec::{self, CHECKSUM_LEN};
use crate::payload::array_at;
use crate::{fingerprint_hash, Error};

/// The prefix of every activation challenge.
pub const CHALLENGE_PREFIX: &str = "ACT1";

/// The checksum of a challenge is the first 4 bytes of SHA-256 of these 20
/// bytes followed by the challenge's first 36 bytes.
pub const CHALLENGE_CHECKSUM_CONTEXT: &[u8] = b"keysat-challenge-v1\0";

/// How many leading bytes of [`fingerprint_hash`] a challenge carries (80
/// bits).
pub const FINGERPRINT_PREFIX_LEN: usize = 10;

/// Length of a challenge's random nonce (80 bits).
pub const CHALLENGE_NONCE_LEN: usize = 10;

/// Length of the signed part of a challenge: license id, fingerprint
/// prefix, nonce.
pub const CHALLENGE_LEN: usize = 16 + FINGERPRINT_PREFIX_LEN + CHALLENGE_NONCE_LEN;

/// An activation challenge: which license, which machine, and a fresh
/// random nonce that makes the answer to this challenge useless for any
/// other.
///
/// Written as `ACT1-` and 64 Crockford base32 characters in groups of four
/// (40 bytes: the 36 of [`ActivationChallenge::to_bytes`] and a 4-byte
/// checksum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActivationChallenge {
    /// The license to activate (from the app's verified `LIC1` key).
    pub license_id: Uuid,
    /// The first [`FINGERPRINT_PREFIX_LEN`] bytes of
    /// [`fingerprint_hash`] of the machine's fingerprint.
    pub fingerprint_prefix: [u8; FINGERPRINT_PREFIX_LEN],
    /// Random bytes chosen by the app for this challenge only.
    pub nonce: [u8; CHALLENGE_NONCE_LEN],
}

impl ActivationChallenge {
    /// Builds the challenge for `license_id` on the machine whose
    /// fingerprint is `fingerprint` (the app's side). `nonce` must come
    /// from a cryptographically secure random source (e.g. the `getrandom`
    /// crate); the app keeps the challenge until the response arrives.
    ///
    /// ```
    /// use keysat_client::{ActivationChallenge, uuid::Uuid};
    ///
    /// let nonce = [0x5a; 10]; // use real random bytes
    /// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", nonce);
    /// assert!(challenge.fingerprint_matches("machine-a"));
    /// assert_eq!(challenge.to_code_string().len(), 84);
    /// ```
    pub fn new(license_id: Uuid, fingerprint: &str, nonce: [u8; CHALLENGE_NONCE_LEN]) -> ActivationChallenge {
        let fingerprint_prefix = array_at(&fingerprint_hash(fingerprint), 0);
        ActivationChallenge { license_id, fingerprint_prefix, nonce }
    }

    /// The 36 bytes that identify the challenge and that an activation
    /// response signs: license id (16), fingerprint prefix (10), nonce (10).
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, uuid::Uuid};
    /// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// let bytes = challenge.to_bytes();
    /// assert_eq!(&bytes[..16], Uuid::from_u128(2).as_bytes());
    /// assert_eq!(&bytes[16..26], &keysat_client::fingerprint_hash("machine-a")[..10]);
    /// assert_eq!(&bytes[26..], &[9; 10]);
    /// ```
    pub fn to_bytes(&self) -> [u8; CHALLENGE_LEN] {
        let mut out = [0u8; CHALLENGE_LEN];
        out[..16].copy_from_slice(self.license_id.as_bytes());
        out[16..16 + FINGERPRINT_PREFIX_LEN].copy_from_slice(&self.fingerprint_prefix);
        out[16 + FINGERPRINT_PREFIX_LEN..].copy_from_slice(&self.nonce);
        out
    }

    /// Parses a challenge as typed or scanned (the server's side):
    /// surrounding whitespace ignored, `ACT1` in any case, then Crockford
    /// base32 where case does not matter, `I`/`L` read as `1`, `O` as `0`,
    /// and `-` or spaces anywhere are skipped.
    ///
    /// Errors with [`Error::BadFormat`] (wrong prefix, a character outside
    /// the alphabet, not exactly 64 characters), then
    /// [`Error::BadChecksum`] (a typing mistake).
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, uuid::Uuid};
    /// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// let typed = challenge.to_code_string().to_lowercase().replace('-', " ").replacen(' ', "-", 1);
    /// assert_eq!(ActivationChallenge::parse(&typed)?, challenge);
    ///
    /// let mut typo = challenge.to_code_string().into_bytes();
    /// typo[10] = if typo[10] == b'7' { b'8' } else { b'7' };
    /// let typo = String::from_utf8(typo).unwrap();
    /// assert_eq!(ActivationChallenge::parse(&typo).unwrap_err().code(), "bad_checksum");
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<ActivationChallenge, Error> {
        let bytes = codec::decode_code(text, CHALLENGE_PREFIX)?;
        if bytes.len() != CHALLENGE_LEN + CHECKSUM_LEN {
            return Err(Error::bad_format(format!(
                "a challenge is {} characters after {CHALLENGE_PREFIX}-, not counting '-'",
                (CHALLENGE_LEN + CHECKSUM_LEN) * 8 / 5
            )));
        }
        let (body, check) = bytes.split_at(CHALLENGE_LEN);
        if codec::checksum(CHALLENGE_CHECKSUM_CONTEXT, body) != check {
            return Err(Error::BadChecksum);
        }
        Ok(ActivationChallenge {
            license_id: Uuid::from_bytes(array_at(body, 0)),
            fingerprint_prefix: array_at(body, 16),
            nonce: array_at(body, 16 + FINGERPRINT_PREFIX_LEN),
        })
    }

    /// The code to show: `ACT1-` and the Crockford base32 of the 36 bytes
    /// and their checksum, upper case, in 16 groups of four (84
    /// characters in all).
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, uuid::Uuid};
    /// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// let code = challenge.to_code_string();
    /// assert!(code.starts_with("ACT1-"));
    /// assert_eq!(code.split('-').count(), 17);
    /// assert_eq!(code, challenge.to_string());
    /// assert_eq!(code.parse::<ActivationChallenge>()?, challenge);
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn to_code_string(&self) -> String {
        let body = self.to_bytes();
        let check = codec::checksum(CHALLENGE_CHECKSUM_CONTEXT, &body);
        codec::encode_code(CHALLENGE_PREFIX, &[&body[..], &check[..]].concat())
    }

    /// Whether `fingerprint` hashes to this challenge's fingerprint prefix.
    ///
    /// ```
    /// # use keysat_client::{ActivationChallenge, uuid::Uuid};
    /// let challenge = ActivationChallenge::new(Uuid::from_u128(2), "machine-a", [9; 10]);
    /// assert!(challenge.fingerprint_matches("machine-a"));
    /// assert!(!challenge.fingerprint_matches("machine-b"));
    /// ```
    pub fn fingerprint_matches(&self, fingerprint: &str) -> bool {
        fingerprint_hash(fingerprint)[..FINGERPRINT_PREFIX_LEN] == self.fingerprint_prefix
    }
}

/// Writes the code ([`ActivationChallenge::to_code_string`]).
impl fmt::Display for ActivationChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_code_string())
    }
}

/// Parses a code, as [`ActivationChallenge::parse`].
impl std::str::FromStr for ActivationChallenge {
    type Err = Error;

    fn from_str(text: &str) -> Result<ActivationChallenge, Error> {
        ActivationChallenge::parse(text)
    }
}

//! The `LIC1-<payload>-<signature>` key string.

use std::fmt;

use ed25519_dalek::SigningKey;

use crate::codec::{self, SIGNATURE_LEN};
use crate::{Error, Payload, PublicKey};

/// The prefix (first `-`-separated part) of every key of this format.
pub const KEY_PREFIX: &str = "LIC1";

/// A parsed (not yet verified) license key: the decoded payload, the exact
/// payload bytes the signature covers, and the signature.
///
/// Parsing only checks the format; call [`LicenseKey::verify`] or
/// [`LicenseKey::verify_at`] before trusting anything in the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseKey {
    payload: Payload,
    payload_bytes: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl LicenseKey {
    /// Parses a key string `LIC1-<BASE32(payload)>-<BASE32(signature)>`.
    ///
    /// * Surrounding whitespace is ignored; whitespace inside is an error.
    /// * The prefix is compared ASCII case-insensitively (`lic1-…` is
    ///   accepted), like the base32 parts, so a key lower-cased as a whole
    ///   still parses. No other prefix is accepted.
    /// * Exactly three `-`-separated parts.
    /// * Base32 is the RFC 4648 alphabet, case-insensitive, **without**
    ///   padding (`=` is rejected), and with canonical trailing bits only:
    ///   a final character whose unused low bits are not zero is rejected,
    ///   so no two distinct strings (ignoring case) decode to the same key.
    /// * The signature must decode to exactly 64 bytes, and the payload must
    ///   pass [`Payload::decode`].
    ///
    /// Every failure is [`Error::BadFormat`].
    pub fn parse(key: &str) -> Result<LicenseKey, Error> {
        let (payload_bytes, signature) = codec::parse_signed(key, KEY_PREFIX)?;
        let payload = Payload::decode(&payload_bytes)?;
        Ok(LicenseKey { payload, payload_bytes, signature })
    }

    /// Encodes `payload` (as version 2) and signs it with `signing_key`.
    ///
    /// Errors with [`Error::BadFormat`] if the payload cannot be encoded
    /// (see [`Payload::encode`]). The returned key's payload is the
    /// re-decoded one, so its `version` is 2.
    pub fn sign(payload: &Payload, signing_key: &SigningKey) -> Result<LicenseKey, Error> {
        let payload_bytes = payload.encode()?;
        let signature = codec::sign(&payload_bytes, signing_key);
        let payload = Payload::decode(&payload_bytes)?;
        Ok(LicenseKey { payload, payload_bytes, signature })
    }

    /// The decoded payload. Not trustworthy until [`LicenseKey::verify`]
    /// succeeded.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Consumes the key, returning its decoded payload.
    pub fn into_payload(self) -> Payload {
        self.payload
    }

    /// The raw payload bytes, exactly as signed.
    pub fn payload_bytes(&self) -> &[u8] {
        &self.payload_bytes
    }

    /// The 64-byte Ed25519 signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Checks the Ed25519 signature of the raw payload bytes against
    /// `key`, using strict verification (rejects non-canonical signatures
    /// and weak keys). Errors with [`Error::BadSignature`].
    pub fn verify(&self, key: &PublicKey) -> Result<(), Error> {
        codec::verify(&self.payload_bytes, &self.signature, key)
    }

    /// [`LicenseKey::verify`], then checks expiry at `now_unix` (unix
    /// seconds): [`Error::Expired`] if `expires_at != 0` and
    /// `now_unix >= expires_at`.
    pub fn verify_at(&self, key: &PublicKey, now_unix: u64) -> Result<(), Error> {
        self.verify(key)?;
        if self.payload.is_expired_at(now_unix) {
            return Err(Error::Expired { expires_at: self.payload.expires_at });
        }
        Ok(())
    }

    /// The canonical string form: `LIC1-`, upper-case unpadded base32 of the
    /// payload bytes, `-`, and of the signature. Parsing it gives back an
    /// equal key.
    pub fn to_key_string(&self) -> String {
        codec::format_signed(KEY_PREFIX, &self.payload_bytes, &self.signature)
    }
}

/// Writes the canonical string form ([`LicenseKey::to_key_string`]).
impl fmt::Display for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_key_string())
    }
}

/// Parses a key string, as [`LicenseKey::parse`].
impl std::str::FromStr for LicenseKey {
    type Err = Error;

    fn from_str(key: &str) -> Result<LicenseKey, Error> {
        LicenseKey::parse(key)
    }
}

/// Encodes `payload` as version 2, signs it with `signing_key` and returns
/// the key string (`LIC1-…-…`, canonical form).
///
/// Errors with [`Error::BadFormat`] if the payload cannot be encoded (see
/// [`Payload::encode`]).
pub fn sign(payload: &Payload, signing_key: &SigningKey) -> Result<String, Error> {
    Ok(LicenseKey::sign(payload, signing_key)?.to_key_string())
}

/// Parses `key` and verifies its signature against `public_key`; returns the
/// payload. Does **not** check expiry: see [`verify_at`].
///
/// Errors: [`Error::BadFormat`], then [`Error::BadSignature`].
pub fn verify(key: &str, public_key: &PublicKey) -> Result<Payload, Error> {
    let key = LicenseKey::parse(key)?;
    key.verify(public_key)?;
    Ok(key.into_payload())
}

/// Parses `key`, verifies its signature against `public_key` and checks that
/// it is not expired at `now_unix` (unix seconds); returns the payload.
///
/// Errors, in this order: [`Error::BadFormat`], [`Error::BadSignature`],
/// [`Error::Expired`].
pub fn verify_at(key: &str, public_key: &PublicKey, now_unix: u64) -> Result<Payload, Error> {
    let key = LicenseKey::parse(key)?;
    key.verify_at(public_key, now_unix)?;
    Ok(key.into_payload())
}

/// The key in the text of a `.lic` file, as Keysat's thank-you page
/// downloads it: the first line that is neither blank nor a comment (`#` at
/// its start), trimmed. A file holding only the key (the form before
/// comments were added) reads the same; `None` when no such line exists.
/// The line is not checked: hand it to [`verify`] or [`LicenseKey::parse`].
pub fn key_in_file(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))
}

#[cfg(test)]
mod file_tests {
    use super::key_in_file;

    #[test]
    fn reads_the_old_and_the_new_form() {
        assert_eq!(key_in_file("LIC1-abc-def\n"), Some("LIC1-abc-def"));
        assert_eq!(key_in_file("  LIC1-abc-def  "), Some("LIC1-abc-def"));
        assert_eq!(
            key_in_file("LIC1-abc-def\r\n# Order number: 1\r\n# Lost it? https://x/recover\r\n"),
            Some("LIC1-abc-def")
        );
        assert_eq!(key_in_file("\u{feff}# a comment first\n\nLIC1-abc-def\n# after\n"), Some("LIC1-abc-def"));
        assert_eq!(key_in_file("# only comments\n\n"), None);
        assert_eq!(key_in_file(""), None);
    }
}

//! The seller's Ed25519 public key and its SPKI PEM form.

use data_encoding::BASE64;
use ed25519_dalek::VerifyingKey;

use crate::Error;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the SEQUENCE,
/// the AlgorithmIdentifier with OID 1.3.101.112 and the BIT STRING header.
/// The 32 raw key bytes follow it.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// Length of the whole Ed25519 SPKI DER structure.
pub const SPKI_DER_LEN: usize = SPKI_PREFIX.len() + 32;

const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";

/// An Ed25519 public key used to verify license keys.
///
/// Published by the Keysat server as SPKI PEM (`-----BEGIN PUBLIC KEY-----`,
/// e.g. `GET /v1/pubkey`). Small-order ("weak") points are rejected when
/// loading, so a key that loads is one that signatures can be checked
/// against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Loads a key from SPKI PEM text (`-----BEGIN PUBLIC KEY-----` …
    /// `-----END PUBLIC KEY-----`).
    ///
    /// Surrounding whitespace, `\r\n` line endings and any line width are
    /// tolerated. Errors with [`Error::BadPublicKey`] if the text is not such
    /// a PEM block, its base64 is invalid, or the DER is not an Ed25519
    /// SubjectPublicKeyInfo (see [`PublicKey::from_spki_der`]).
    pub fn from_pem(pem: &str) -> Result<PublicKey, Error> {
        let body =
            pem.trim().strip_prefix(PEM_BEGIN).and_then(|rest| rest.strip_suffix(PEM_END)).ok_or_else(|| {
                Error::bad_public_key("not a PEM public key (expected -----BEGIN PUBLIC KEY----- block)")
            })?;
        let b64: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let der = BASE64.decode(&b64).map_err(|e| Error::bad_public_key(format!("invalid base64 in PEM body: {e}")))?;
        PublicKey::from_spki_der(&der)
    }

    /// Loads a key from its DER-encoded Ed25519 SubjectPublicKeyInfo
    /// (exactly 44 bytes: a fixed 12-byte prefix and the 32 key bytes).
    ///
    /// Errors with [`Error::BadPublicKey`] on another length, another
    /// algorithm or encoding, or an invalid key (see
    /// [`PublicKey::from_bytes`]).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, Error> {
        if der.len() != SPKI_DER_LEN {
            return Err(Error::bad_public_key(format!(
                "expected a {SPKI_DER_LEN}-byte Ed25519 SubjectPublicKeyInfo, got {} bytes",
                der.len()
            )));
        }
        let (prefix, raw) = der.split_at(SPKI_PREFIX.len());
        if prefix != SPKI_PREFIX {
            return Err(Error::bad_public_key("not an Ed25519 SubjectPublicKeyInfo (unexpected DER prefix)"));
        }
        PublicKey::from_bytes(raw)
    }

    /// Loads a key from its raw 32 bytes.
    ///
    /// Errors with [`Error::BadPublicKey`] if `raw` is not exactly 32 bytes,
    /// is not a valid compressed Edwards point, or is a weak (small-order)
    /// point.
    pub fn from_bytes(raw: &[u8]) -> Result<PublicKey, Error> {
        let raw: &[u8; 32] = raw
            .try_into()
            .map_err(|_| Error::bad_public_key(format!("an Ed25519 public key is 32 bytes, got {}", raw.len())))?;
        let key = VerifyingKey::from_bytes(raw).map_err(|_| Error::bad_public_key("not a valid Ed25519 point"))?;
        if key.is_weak() {
            return Err(Error::bad_public_key("weak (small-order) Ed25519 key"));
        }
        Ok(PublicKey(key))
    }

    /// The DER-encoded SubjectPublicKeyInfo (44 bytes).
    pub fn to_spki_der(&self) -> [u8; SPKI_DER_LEN] {
        let mut der = [0u8; SPKI_DER_LEN];
        der[..SPKI_PREFIX.len()].copy_from_slice(&SPKI_PREFIX);
        der[SPKI_PREFIX.len()..].copy_from_slice(self.as_bytes());
        der
    }

    /// The SPKI PEM form: header line, base64 in lines of at most 64
    /// columns, footer line, each ending in `"\n"` — the format the server
    /// publishes.
    pub fn to_pem(&self) -> String {
        let b64 = BASE64.encode(&self.to_spki_der());
        let mut out = String::with_capacity(PEM_BEGIN.len() + PEM_END.len() + b64.len() + 8);
        out.push_str(PEM_BEGIN);
        out.push('\n');
        // Base64 output is ASCII, so splitting at any byte index is safe.
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str(PEM_END);
        out.push('\n');
        out
    }

    /// The raw 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The underlying `ed25519-dalek` key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

/// Wraps an `ed25519-dalek` key as is (no weak-key check: verification with
/// a weak key always fails with [`Error::BadSignature`]).
impl From<VerifyingKey> for PublicKey {
    fn from(key: VerifyingKey) -> PublicKey {
        PublicKey(key)
    }
}

/// Parses SPKI PEM, as [`PublicKey::from_pem`].
impl std::str::FromStr for PublicKey {
    type Err = Error;

    fn from_str(pem: &str) -> Result<PublicKey, Error> {
        PublicKey::from_pem(pem)
    }
}

//! Encodings shared by the formats: the `PREFIX-<payload>-<signature>`
//! strings in RFC 4648 base32 (`LIC1`, `LEASE1`), the typed codes in
//! Crockford base32 (`ACT1`, `ACTR1`), checksums and signatures.

use std::sync::OnceLock;

use data_encoding::{Encoding, Specification, BASE32_NOPAD};
use ed25519_dalek::{Signature, Signer, SigningKey};
use sha2::{Digest, Sha256};

use crate::{Error, PublicKey};

/// Length of an Ed25519 signature in bytes.
pub(crate) const SIGNATURE_LEN: usize = 64;

/// Base32 length of a 64-byte signature without padding: ceil(512 / 5).
const SIGNATURE_B32_LEN: usize = 103;

/// Length of the checksum of a typed code.
pub(crate) const CHECKSUM_LEN: usize = 4;

/// Characters per group when a typed code is written out.
const GROUP_LEN: usize = 4;

/// RFC 4648 base32, no padding, decoding lower-case letters as upper-case,
/// rejecting non-zero trailing bits (so every byte string has exactly one
/// accepted spelling, up to letter case).
fn rfc4648() -> &'static Encoding {
    static DECODER: OnceLock<Encoding> = OnceLock::new();
    DECODER.get_or_init(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        spec.translate.from.push_str("abcdefghijklmnopqrstuvwxyz");
        spec.translate.to.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        spec.check_trailing_bits = true;
        spec.encoding().expect("valid base32 specification")
    })
}

/// Crockford base32 (`0-9 A-Z` without `I L O U`), most significant bit
/// first, no padding, non-zero trailing bits rejected. Decoding ignores
/// case, reads `I`/`L` as `1` and `O` as `0`, and skips `-` and spaces.
fn crockford() -> &'static Encoding {
    static CODEC: OnceLock<Encoding> = OnceLock::new();
    CODEC.get_or_init(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
        spec.translate.from.push_str("abcdefghjkmnpqrstvwxyzIiLlOo");
        spec.translate.to.push_str("ABCDEFGHJKMNPQRSTVWXYZ111100");
        spec.ignore.push_str("- \t");
        spec.check_trailing_bits = true;
        spec.encoding().expect("valid Crockford base32 specification")
    })
}

/// Splits `text` at its first `-` and checks the part before it against
/// `prefix` (ASCII case-insensitive); returns the rest.
fn strip_prefix<'a>(text: &'a str, prefix: &str) -> Result<&'a str, Error> {
    match text.split_once('-') {
        Some((p, rest)) if p.eq_ignore_ascii_case(prefix) => Ok(rest),
        _ => Err(Error::bad_format(format!("must start with {prefix}-"))),
    }
}

/// Parses `PREFIX-<BASE32(payload)>-<BASE32(signature)>` (RFC 4648 base32,
/// see [`rfc4648`]): surrounding whitespace ignored, prefix compared ASCII
/// case-insensitively, exactly three parts, a 64-byte signature, a
/// non-empty payload. Returns the payload bytes and the signature.
pub(crate) fn parse_signed(text: &str, prefix: &str) -> Result<(Vec<u8>, [u8; SIGNATURE_LEN]), Error> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::bad_format("empty string"));
    }
    let mut parts = strip_prefix(text, prefix)?.split('-');
    let (payload_b32, signature_b32) = match (parts.next(), parts.next(), parts.next()) {
        (Some(p), Some(s), None) => (p, s),
        (Some(_), Some(_), Some(_)) => return Err(Error::bad_format("too many '-' separated parts")),
        _ => return Err(Error::bad_format("expected three '-' separated parts: prefix, payload, signature")),
    };
    if payload_b32.is_empty() {
        return Err(Error::bad_format("empty payload part"));
    }
    if signature_b32.len() != SIGNATURE_B32_LEN {
        return Err(Error::bad_format(format!(
            "signature part must be {SIGNATURE_B32_LEN} base32 characters (64 bytes), got {}",
            signature_b32.len()
        )));
    }
    let b32 = rfc4648();
    let mut signature = [0u8; SIGNATURE_LEN];
    decode_into(b32, signature_b32.as_bytes(), &mut signature, "signature")?;
    let payload_len = b32
        .decode_len(payload_b32.len())
        .map_err(|_| Error::bad_format("payload part has an impossible base32 length"))?;
    let mut payload = vec![0u8; payload_len];
    let written = decode_into(b32, payload_b32.as_bytes(), &mut payload, "payload")?;
    payload.truncate(written);
    Ok((payload, signature))
}

/// The canonical `PREFIX-<BASE32(payload)>-<BASE32(signature)>` string:
/// upper-case RFC 4648 base32 without padding.
pub(crate) fn format_signed(prefix: &str, payload: &[u8], signature: &[u8; SIGNATURE_LEN]) -> String {
    let len = prefix.len() + 2 + BASE32_NOPAD.encode_len(payload.len()) + SIGNATURE_B32_LEN;
    let mut out = String::with_capacity(len);
    out.push_str(prefix);
    out.push('-');
    BASE32_NOPAD.encode_append(payload, &mut out);
    out.push('-');
    BASE32_NOPAD.encode_append(signature, &mut out);
    debug_assert_eq!(out.len(), len);
    out
}

/// Decodes base32 `input` into `out` (sized by `decode_len`), returning the
/// number of bytes written.
fn decode_into(b32: &Encoding, input: &[u8], out: &mut [u8], what: &str) -> Result<usize, Error> {
    let expected = b32
        .decode_len(input.len())
        .map_err(|_| Error::bad_format(format!("{what} part has an impossible base32 length")))?;
    if expected != out.len() {
        return Err(Error::bad_format(format!("{what} part decodes to {expected} bytes, expected {}", out.len())));
    }
    b32.decode_mut(input, out)
        .map_err(|e| Error::bad_format(format!("invalid base32 in {what} part at position {}", e.error.position)))
}

/// Decodes a typed code `PREFIX-XXXX-XXXX-…` (Crockford base32, see
/// [`crockford`]): surrounding whitespace ignored, prefix compared ASCII
/// case-insensitively, `-` and spaces anywhere after it ignored.
pub(crate) fn decode_code(text: &str, prefix: &str) -> Result<Vec<u8>, Error> {
    let body = strip_prefix(text.trim(), prefix)?;
    crockford().decode(body.as_bytes()).map_err(|e| match e.kind {
        data_encoding::DecodeKind::Symbol => {
            Error::bad_format(format!("character {} is not Crockford base32", e.position + 1))
        }
        _ => Error::bad_format("wrong number of characters (a character missing or one too many?)"),
    })
}

/// Writes a typed code: `PREFIX-`, then upper-case Crockford base32 in
/// groups of four characters joined by `-`.
pub(crate) fn encode_code(prefix: &str, bytes: &[u8]) -> String {
    let symbols = crockford().encode(bytes);
    let mut out = String::with_capacity(prefix.len() + symbols.len() * 5 / 4 + 1);
    out.push_str(prefix);
    for group in symbols.as_bytes().chunks(GROUP_LEN) {
        out.push('-');
        out.push_str(std::str::from_utf8(group).expect("base32 is ASCII"));
    }
    out
}

/// The first [`CHECKSUM_LEN`] bytes of SHA-256(`context` ‖ `bytes`).
pub(crate) fn checksum(context: &[u8], bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::new().chain_update(context).chain_update(bytes).finalize();
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

/// Ed25519 signature of `message` (which starts with its format's context).
pub(crate) fn sign(message: &[u8], signing_key: &SigningKey) -> [u8; SIGNATURE_LEN] {
    signing_key.sign(message).to_bytes()
}

/// Strict Ed25519 verification (non-canonical signatures and weak keys
/// rejected), as for `LIC1`. Errors with [`Error::BadSignature`].
pub(crate) fn verify(message: &[u8], signature: &[u8; SIGNATURE_LEN], key: &PublicKey) -> Result<(), Error> {
    let signature = Signature::from_bytes(signature);
    key.verifying_key().verify_strict(message, &signature).map_err(|_| Error::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crockford_reads_look_alikes_and_ignores_separators() {
        let code = encode_code("T1", &[0xff, 0x00, 0x10, 0x42, 0x99]);
        assert_eq!(code, "T1-ZW01-0GMS");
        assert_eq!(decode_code("  t1-zw01-0gms\n", "T1").unwrap(), [0xff, 0x00, 0x10, 0x42, 0x99]);
        assert_eq!(decode_code("T1-ZWOl 0GMS", "T1").unwrap(), [0xff, 0x00, 0x10, 0x42, 0x99]);
        assert_eq!(decode_code("T1-ZWO1-OGMS", "T1").unwrap(), [0xff, 0x00, 0x10, 0x42, 0x99]);
        assert!(decode_code("T1-ZWU1-0GMS", "T1").is_err(), "U is not in the alphabet");
        assert!(decode_code("T1-ZW01-0GM", "T1").is_err(), "a character short");
        assert_eq!(encode_code("T1", &[0xff]), "T1-ZW");
        assert!(decode_code("T1-ZX", "T1").is_err(), "non-zero trailing bits");
        assert!(decode_code("T2-ZW01-0GMS", "T1").is_err(), "another prefix");
        assert!(decode_code("T1ZW010GMS", "T1").is_err(), "no separator after the prefix");
    }

    #[test]
    fn signed_strings_round_trip() {
        let s = format_signed("X1", b"hello", &[7; 64]);
        assert_eq!(parse_signed(&s.to_ascii_lowercase(), "X1").unwrap(), (b"hello".to_vec(), [7; 64]));
        assert!(parse_signed(&s, "X2").is_err());
        assert!(parse_signed("", "X1").is_err());
    }
}

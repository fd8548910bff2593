//! The signed payload of a `LIC1` key and its binary layout.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Error;

/// Flag bit 0: the key is bound to one machine fingerprint
/// ([`Payload::fingerprint_hash`] holds the SHA-256 of it).
pub const FLAG_FINGERPRINT_BOUND: u8 = 0b01;

/// Flag bit 1: the key is a trial license.
pub const FLAG_TRIAL: u8 = 0b10;

/// All flag bits this version of the protocol defines; any other bit set is
/// a format error.
const KNOWN_FLAGS: u8 = FLAG_FINGERPRINT_BOUND | FLAG_TRIAL;

/// Size of a version 1 payload (it has a fixed layout).
pub(crate) const V1_LEN: usize = 74;

/// Size of the fixed part of a version 2 payload, up to and including the
/// entitlement count byte.
const V2_FIXED_LEN: usize = 83;

/// The decoded contents of a license key: what the signature vouches for.
///
/// Parsing accepts payload versions 1 and 2; [`Payload::encode`] always
/// writes version 2 (version 1 is never issued any more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// Payload version: 1 or 2 when parsed. Ignored by [`Payload::encode`],
    /// which always writes version 2.
    pub version: u8,
    /// Flag bits: [`FLAG_FINGERPRINT_BOUND`] and [`FLAG_TRIAL`]; no other
    /// bit may be set.
    pub flags: u8,
    /// The product this license is for.
    pub product_id: Uuid,
    /// The license's own id.
    pub license_id: Uuid,
    /// When the key was issued, unix seconds.
    pub issued_at: u64,
    /// When the license expires, unix seconds; 0 means perpetual (always 0
    /// for version 1 payloads).
    pub expires_at: u64,
    /// SHA-256 of the bound fingerprint string (see [`fingerprint_hash`]);
    /// all zero unless [`FLAG_FINGERPRINT_BOUND`] is set.
    pub fingerprint_hash: [u8; 32],
    /// Entitlement slugs granted by the license (empty for version 1).
    pub entitlements: Vec<String>,
}

impl Payload {
    /// Whether the key is bound to a machine fingerprint
    /// ([`FLAG_FINGERPRINT_BOUND`]).
    pub fn is_fingerprint_bound(&self) -> bool {
        self.flags & FLAG_FINGERPRINT_BOUND != 0
    }

    /// Whether the key is a trial license ([`FLAG_TRIAL`]).
    pub fn is_trial(&self) -> bool {
        self.flags & FLAG_TRIAL != 0
    }

    /// Whether the license never expires (`expires_at == 0`).
    pub fn is_perpetual(&self) -> bool {
        self.expires_at == 0
    }

    /// Whether the license is expired at `now_unix` (unix seconds):
    /// `expires_at != 0 && now_unix >= expires_at`.
    pub fn is_expired_at(&self, now_unix: u64) -> bool {
        self.expires_at != 0 && now_unix >= self.expires_at
    }

    /// Whether the key's entitlements contain `slug` (exact, case-sensitive
    /// comparison).
    pub fn has_entitlement(&self, slug: &str) -> bool {
        self.entitlements.iter().any(|e| e == slug)
    }

    /// Strictly decodes raw payload bytes (the first base32 part of a key).
    ///
    /// * Version 1: exactly 74 bytes (version, flags, product id, license id,
    ///   issued_at, fingerprint hash); `expires_at` is 0 and there are no
    ///   entitlements.
    /// * Version 2: the layout of the protocol's table, ending exactly after
    ///   the last entitlement.
    ///
    /// Errors with [`Error::BadFormat`] on an empty or truncated input, any
    /// other version byte, flag bits other than bits 0 and 1 (in either
    /// version), a version 1 payload of the wrong length, trailing bytes, or
    /// an entitlement that is not UTF-8. Zero-length entitlements are
    /// accepted when decoding (they cannot be encoded).
    pub fn decode(bytes: &[u8]) -> Result<Payload, Error> {
        let version = *bytes.first().ok_or_else(|| Error::bad_format("empty payload"))?;
        match version {
            1 => {
                if bytes.len() != V1_LEN {
                    return Err(Error::bad_format(format!(
                        "version 1 payload must be {V1_LEN} bytes, got {}",
                        bytes.len()
                    )));
                }
                let flags = check_flags(bytes[1])?;
                Ok(Payload {
                    version,
                    flags,
                    product_id: uuid_at(bytes, 2),
                    license_id: uuid_at(bytes, 18),
                    issued_at: u64_at(bytes, 34),
                    expires_at: 0,
                    fingerprint_hash: hash_at(bytes, 42),
                    entitlements: Vec::new(),
                })
            }
            2 => {
                if bytes.len() < V2_FIXED_LEN {
                    return Err(Error::bad_format(format!(
                        "version 2 payload truncated: {} bytes, need at least {V2_FIXED_LEN}",
                        bytes.len()
                    )));
                }
                let flags = check_flags(bytes[1])?;
                let entitlements = decode_entitlements(&bytes[V2_FIXED_LEN - 1..])?;
                Ok(Payload {
                    version,
                    flags,
                    product_id: uuid_at(bytes, 2),
                    license_id: uuid_at(bytes, 18),
                    issued_at: u64_at(bytes, 34),
                    expires_at: u64_at(bytes, 42),
                    fingerprint_hash: hash_at(bytes, 50),
                    entitlements,
                })
            }
            other => Err(Error::bad_format(format!("unsupported payload version {other}"))),
        }
    }

    /// Encodes the payload in the version 2 layout, whatever
    /// [`Payload::version`] says.
    ///
    /// Errors with [`Error::BadFormat`] if `flags` has bits other than
    /// [`FLAG_FINGERPRINT_BOUND`] and [`FLAG_TRIAL`], if there are more than
    /// 255 entitlements, or if an entitlement is empty or longer than 255
    /// bytes. (It does not check that `fingerprint_hash` is zero for an
    /// unbound key; issuers should keep it so.)
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        check_flags(self.flags)?;
        let size = V2_FIXED_LEN + entitlements_len(&self.entitlements)? - 1;
        let mut out = Vec::with_capacity(size);
        out.push(2);
        out.push(self.flags);
        out.extend_from_slice(self.product_id.as_bytes());
        out.extend_from_slice(self.license_id.as_bytes());
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        out.extend_from_slice(&self.fingerprint_hash);
        encode_entitlements(&self.entitlements, &mut out)?;
        debug_assert_eq!(out.len(), size);
        Ok(out)
    }

    /// Whether `fingerprint` is the one this key is bound to: the key is
    /// fingerprint-bound and [`fingerprint_hash`]`(fingerprint)` equals
    /// [`Payload::fingerprint_hash`]. Always `false` for an unbound key.
    pub fn fingerprint_matches(&self, fingerprint: &str) -> bool {
        self.is_fingerprint_bound() && fingerprint_hash(fingerprint) == self.fingerprint_hash
    }
}

/// SHA-256 of the fingerprint string's UTF-8 bytes: the value stored in
/// [`Payload::fingerprint_hash`] of a key bound to that fingerprint.
///
/// The fingerprint is opaque and hashed exactly as given (no trimming or
/// case folding).
pub fn fingerprint_hash(fingerprint: &str) -> [u8; 32] {
    Sha256::digest(fingerprint.as_bytes()).into()
}

/// The encoded size of an entitlement list (count byte included), or
/// [`Error::BadFormat`] if it cannot be encoded: more than 255 slugs, or a
/// slug empty or longer than 255 bytes.
pub(crate) fn entitlements_len(entitlements: &[String]) -> Result<usize, Error> {
    if entitlements.len() > 255 {
        return Err(Error::bad_format(format!("{} entitlements, at most 255 fit", entitlements.len())));
    }
    let mut size = 1;
    for (index, slug) in entitlements.iter().enumerate() {
        if slug.is_empty() || slug.len() > 255 {
            return Err(Error::bad_format(format!(
                "entitlement {index} is {} bytes long, must be 1 to 255",
                slug.len()
            )));
        }
        size += 1 + slug.len();
    }
    Ok(size)
}

/// Appends an entitlement list: a count byte, then each slug as a length
/// byte and its UTF-8 bytes. Errors as [`entitlements_len`].
pub(crate) fn encode_entitlements(entitlements: &[String], out: &mut Vec<u8>) -> Result<(), Error> {
    entitlements_len(entitlements)?;
    // Lengths checked above.
    out.push(entitlements.len() as u8);
    for slug in entitlements {
        out.push(slug.len() as u8);
        out.extend_from_slice(slug.as_bytes());
    }
    Ok(())
}

/// Decodes an entitlement list that must fill `bytes` exactly (count byte
/// first). Zero-length slugs are accepted here; callers that issue only
/// canonical encodings reject them themselves.
pub(crate) fn decode_entitlements(bytes: &[u8]) -> Result<Vec<String>, Error> {
    let (&count, mut rest) = bytes.split_first().ok_or_else(|| Error::bad_format("entitlement count missing"))?;
    let count = usize::from(count);
    let mut entitlements = Vec::with_capacity(count);
    for index in 0..count {
        let (&len, tail) = rest.split_first().ok_or_else(|| {
            Error::bad_format(format!("payload truncated: {count} entitlements declared, {index} present"))
        })?;
        let len = usize::from(len);
        if tail.len() < len {
            return Err(Error::bad_format(format!("payload truncated inside entitlement {index}")));
        }
        let (slug, tail) = tail.split_at(len);
        let slug = std::str::from_utf8(slug)
            .map_err(|_| Error::bad_format(format!("entitlement {index} is not valid UTF-8")))?;
        entitlements.push(slug.to_owned());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(Error::bad_format(format!("{} trailing bytes after the payload", rest.len())));
    }
    Ok(entitlements)
}

fn check_flags(flags: u8) -> Result<u8, Error> {
    if flags & !KNOWN_FLAGS != 0 {
        Err(Error::bad_format(format!("unknown flag bits set: {flags:#010b}")))
    } else {
        Ok(flags)
    }
}

// The helpers below are only called with offsets the caller has already
// bounds-checked, so the slice-to-array conversions cannot fail.

pub(crate) fn array_at<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[offset..offset + N]);
    out
}

pub(crate) fn uuid_at(bytes: &[u8], offset: usize) -> Uuid {
    Uuid::from_bytes(array_at(bytes, offset))
}

pub(crate) fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    u64::from_be_bytes(array_at(bytes, offset))
}

fn hash_at(bytes: &[u8], offset: usize) -> [u8; 32] {
    array_at(bytes, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Payload {
        Payload {
            version: 2,
            flags: FLAG_TRIAL,
            product_id: Uuid::from_bytes([1; 16]),
            license_id: Uuid::from_bytes([2; 16]),
            issued_at: 0x0102_0304_0506_0708,
            expires_at: 42,
            fingerprint_hash: [0; 32],
            entitlements: vec!["a".into(), "bc".into()],
        }
    }

    #[test]
    fn layout_matches_protocol_table() {
        let bytes = sample().encode().unwrap();
        assert_eq!(bytes[0], 2);
        assert_eq!(bytes[1], FLAG_TRIAL);
        assert_eq!(&bytes[2..18], &[1; 16]);
        assert_eq!(&bytes[18..34], &[2; 16]);
        assert_eq!(&bytes[34..42], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[42..50], &42u64.to_be_bytes());
        assert_eq!(&bytes[50..82], &[0; 32]);
        assert_eq!(&bytes[82..], &[2, 1, b'a', 2, b'b', b'c']);
        assert_eq!(Payload::decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn encode_ignores_version_field() {
        let mut p = sample();
        p.version = 1;
        assert_eq!(p.encode().unwrap()[0], 2);
    }

    #[test]
    fn expiry_helpers() {
        let mut p = sample();
        assert!(!p.is_expired_at(41));
        assert!(p.is_expired_at(42));
        assert!(!p.is_perpetual());
        p.expires_at = 0;
        assert!(p.is_perpetual());
        assert!(!p.is_expired_at(u64::MAX));
    }

    #[test]
    fn fingerprint_matching_requires_the_flag() {
        let mut p = sample();
        p.fingerprint_hash = fingerprint_hash("m");
        assert!(!p.fingerprint_matches("m"));
        p.flags |= FLAG_FINGERPRINT_BOUND;
        assert!(p.fingerprint_matches("m"));
        assert!(!p.fingerprint_matches("M"));
        assert!(p.has_entitlement("bc"));
        assert!(!p.has_entitlement("b"));
    }
}

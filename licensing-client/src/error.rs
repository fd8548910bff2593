//! The error type shared by every fallible operation of this crate.

/// Why a key, a payload or a public key was rejected.
///
/// The variants map one-to-one onto the failure reasons of the Keysat
/// protocol (see [`Error::code`]), in the order a verifier checks them:
/// format first (then the checksum of a typed code), then signature, then
/// machine, then time.
///
/// New formats may bring new variants, so the enum is `#[non_exhaustive]`:
/// match on [`Error::code`] or keep a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key string or its payload is malformed: wrong prefix, wrong
    /// number of parts, invalid base32, a signature that is not 64 bytes,
    /// an unknown payload version, unknown flag bits, a truncated payload,
    /// trailing bytes, a non-UTF-8 entitlement, and so on. Also returned by
    /// [`Payload::encode`](crate::Payload::encode) for payloads that cannot
    /// be represented. The same for the other formats: a malformed lease,
    /// challenge, response, nonce, timestamp or answer signature, or one
    /// whose fields cannot be encoded. The string is a human-readable detail.
    #[error("bad key format: {0}")]
    BadFormat(String),
    /// The key (lease, answer, activation response) is well formed but its
    /// Ed25519 signature does not verify against the given public key over
    /// the bytes the verifier rebuilt: for an answer, with the verifier's own
    /// request and nonce; for a response, with its own challenge.
    #[error("signature does not match")]
    BadSignature,
    /// The key (lease, activation) is authentic but expired:
    /// `now >= expires_at` (and, for keys, `expires_at != 0`).
    #[error("license expired at {expires_at}")]
    Expired {
        /// The key's expiry, unix seconds.
        expires_at: u64,
    },
    /// A lease or an activation response is authentic but not valid yet:
    /// `now + CLOCK_SKEW_SECONDS < issued_at` (see
    /// [`CLOCK_SKEW_SECONDS`](crate::CLOCK_SKEW_SECONDS)). Usually a clock
    /// set far back.
    #[error("not valid before {issued_at}")]
    NotYetValid {
        /// The lease's `issued_at`, unix seconds.
        issued_at: u64,
    },
    /// A lease or an activation response is authentic but was issued for
    /// another machine: the fingerprint given does not hash to the one it
    /// is bound to.
    #[error("issued for another machine")]
    FingerprintMismatch,
    /// A typed code (`ACT1-…`, `ACTR1-…`) decodes, but its checksum does not
    /// match: almost always a typing mistake.
    #[error("checksum does not match (typing mistake?)")]
    BadChecksum,
    /// The public key could not be loaded (not PEM, not an Ed25519
    /// SubjectPublicKeyInfo, wrong length, not a valid curve point, or a
    /// weak small-order point). The string is a human-readable detail.
    #[error("bad public key: {0}")]
    BadPublicKey(String),
}

impl Error {
    /// The stable, machine-readable protocol code of this error:
    /// `"bad_format"`, `"bad_signature"`, `"expired"`, `"not_yet_valid"`,
    /// `"fingerprint_mismatch"`, `"bad_checksum"` or `"bad_public_key"`.
    ///
    /// `bad_format`, `bad_signature`, `expired` and `fingerprint_mismatch`
    /// are also `reason`/`error` codes of the public HTTP API.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadFormat(_) => "bad_format",
            Error::BadSignature => "bad_signature",
            Error::Expired { .. } => "expired",
            Error::NotYetValid { .. } => "not_yet_valid",
            Error::FingerprintMismatch => "fingerprint_mismatch",
            Error::BadChecksum => "bad_checksum",
            Error::BadPublicKey(_) => "bad_public_key",
        }
    }

    pub(crate) fn bad_format(detail: impl Into<String>) -> Error {
        Error::BadFormat(detail.into())
    }

    pub(crate) fn bad_public_key(detail: impl Into<String>) -> Error {
        Error::BadPublicKey(detail.into())
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn codes_and_messages() {
        let cases = [
            (Error::BadFormat("x".into()), "bad_format", "bad key format: x"),
            (Error::BadSignature, "bad_signature", "signature does not match"),
            (Error::Expired { expires_at: 5 }, "expired", "license expired at 5"),
            (Error::NotYetValid { issued_at: 6 }, "not_yet_valid", "not valid before 6"),
            (Error::FingerprintMismatch, "fingerprint_mismatch", "issued for another machine"),
            (Error::BadChecksum, "bad_checksum", "checksum does not match (typing mistake?)"),
            (Error::BadPublicKey("y".into()), "bad_public_key", "bad public key: y"),
        ];
        for (err, code, msg) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.to_string(), msg);
        }
    }
}

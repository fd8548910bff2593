//! The `nonce` a client sends to get a signed answer.

use std::fmt;

use data_encoding::BASE64URL_NOPAD;

use crate::Error;

/// Fewest characters a nonce may have (16 bytes in unpadded base64url).
pub const NONCE_MIN_CHARS: usize = 22;

/// Most characters a nonce may have (64 bytes in hex).
pub const NONCE_MAX_CHARS: usize = 128;

/// A request nonce: 22 to 128 characters of the base64url alphabet
/// (`A–Z a–z 0–9 - _`).
///
/// Clients make it from 16 to 64 random bytes written in hex (32–128
/// characters) or unpadded base64url (22–86 characters); both alphabets
/// fall inside the accepted one. The server checks only this form and signs
/// the characters exactly as received, never decoding them, so the two
/// spellings never need telling apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    /// Checks the form of a received nonce (the server's side). Errors with
    /// [`Error::BadFormat`] on a length outside 22–128 characters or a
    /// character outside the base64url alphabet (padding `=` included).
    /// An empty `nonce` in a request counts as absent: the server does not
    /// call this for it.
    ///
    /// ```
    /// use keysat_client::Nonce;
    ///
    /// assert!(Nonce::parse("00112233445566778899aabbccddeeff").is_ok()); // hex, 16 bytes
    /// assert!(Nonce::parse("ABEiM0RVZneImaq7zN3u_w").is_ok()); // base64url, 16 bytes
    /// assert!(Nonce::parse("too-short").is_err());
    /// assert!(Nonce::parse("ABEiM0RVZneImaq7zN3u/w==").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Nonce, Error> {
        if !(NONCE_MIN_CHARS..=NONCE_MAX_CHARS).contains(&text.len()) {
            return Err(Error::bad_format(format!(
                "a nonce is {NONCE_MIN_CHARS} to {NONCE_MAX_CHARS} characters, got {}",
                text.len()
            )));
        }
        if let Some(bad) = text.bytes().position(|c| !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_')) {
            return Err(Error::bad_format(format!("nonce character {} is not base64url", bad + 1)));
        }
        Ok(Nonce(text.to_owned()))
    }

    /// Makes a nonce from 16 to 64 random bytes, written in unpadded
    /// base64url (the client's side). The bytes must come from a
    /// cryptographically secure source (e.g. the `getrandom` crate) and
    /// never be reused. Errors with [`Error::BadFormat`] on another length.
    ///
    /// ```
    /// use keysat_client::Nonce;
    ///
    /// let random = [0x11u8; 16]; // use real random bytes
    /// let nonce = Nonce::from_bytes(&random)?;
    /// assert_eq!(nonce.as_str(), "EREREREREREREREREREREQ");
    /// assert!(Nonce::from_bytes(&[0; 15]).is_err());
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn from_bytes(random: &[u8]) -> Result<Nonce, Error> {
        if !(16..=64).contains(&random.len()) {
            return Err(Error::bad_format(format!("a nonce is made of 16 to 64 bytes, got {}", random.len())));
        }
        Ok(Nonce(BASE64URL_NOPAD.encode(random)))
    }

    /// The nonce as sent in JSON (and as signed).
    ///
    /// ```
    /// # use keysat_client::Nonce;
    /// let nonce = Nonce::parse("00112233445566778899aabbccddeeff")?;
    /// assert_eq!(nonce.as_str(), "00112233445566778899aabbccddeeff");
    /// assert_eq!(nonce.to_string(), nonce.as_str());
    /// # Ok::<(), keysat_client::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Writes the nonce as sent.
impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a nonce, as [`Nonce::parse`].
impl std::str::FromStr for Nonce {
    type Err = Error;

    fn from_str(text: &str) -> Result<Nonce, Error> {
        Nonce::parse(text)
    }
}

//! Nostr public keys as buyers give them: `npub1…` (NIP-19 bech32) or 64 hex
//! characters. Stored as lower-case hex.

use std::fmt;

use super::DomainError;

/// A 32-byte Nostr public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Npub([u8; 32]);

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATORS: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

fn polymod(values: impl Iterator<Item = u8>) -> u32 {
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GENERATORS.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn hrp_expand(hrp: &str) -> impl Iterator<Item = u8> + '_ {
    hrp.bytes().map(|b| b >> 5).chain(std::iter::once(0)).chain(hrp.bytes().map(|b| b & 31))
}

/// Regroups bits (8→5 or 5→8); `pad` only when encoding.
fn convert_bits(data: &[u8], from: u32, to: u32, pad: bool) -> Option<Vec<u8>> {
    let (mut acc, mut bits) = (0u32, 0u32);
    let maxv = (1u32 << to) - 1;
    let mut out = Vec::with_capacity(data.len() * from as usize / to as usize + 1);
    for &v in data {
        acc = (acc << from) | u32::from(v);
        bits += from;
        while bits >= to {
            bits -= to;
            out.push(((acc >> bits) & maxv) as u8);
        }
    }
    if pad {
        if bits > 0 {
            out.push(((acc << (to - bits)) & maxv) as u8);
        }
    } else if bits >= from || ((acc << (to - bits)) & maxv) != 0 {
        return None;
    }
    Some(out)
}

impl Npub {
    /// Parses `npub1…` or 64 hex characters.
    pub fn parse(value: &str) -> Result<Npub, DomainError> {
        let v = value.trim();
        let bad =
            || DomainError::invalid("buyer_npub", format!("'{v}' is not an npub or a 64-character hex public key"));
        if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes = data_encoding::HEXLOWER_PERMISSIVE.decode(v.as_bytes()).map_err(|_| bad())?;
            return Npub::from_bytes(bytes).ok_or_else(bad);
        }
        let lower = v.to_ascii_lowercase();
        if lower != v && v.to_ascii_uppercase() != v {
            return Err(bad()); // mixed case is invalid bech32
        }
        let data = lower.strip_prefix("npub1").ok_or_else(bad)?;
        let values: Vec<u8> = data
            .bytes()
            .map(|c| CHARSET.iter().position(|&x| x == c).map(|p| p as u8))
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        if values.len() < 6 || polymod(hrp_expand("npub").chain(values.iter().copied())) != 1 {
            return Err(bad());
        }
        let bytes = convert_bits(&values[..values.len() - 6], 5, 8, false).ok_or_else(bad)?;
        Npub::from_bytes(bytes).ok_or_else(bad)
    }

    /// 32 bytes that are a public key (an x coordinate on secp256k1): a DM
    /// can be encrypted to it.
    fn from_bytes(bytes: Vec<u8>) -> Option<Npub> {
        let bytes: [u8; 32] = bytes.try_into().ok()?;
        nostr_sdk::PublicKey::from_byte_array(bytes).xonly().ok()?;
        Some(Npub(bytes))
    }

    /// A key Keysat stored itself (lower-case hex, checked when it was
    /// given): decoded without checking the curve again, for listings.
    pub fn stored(hex: &str) -> Option<Npub> {
        let bytes = data_encoding::HEXLOWER_PERMISSIVE.decode(hex.as_bytes()).ok()?;
        Some(Npub(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The NIP-19 `npub1…` form.
    pub fn to_bech32(&self) -> String {
        let data = convert_bits(&self.0, 8, 5, true).expect("padding conversion cannot fail");
        let checksum_input = hrp_expand("npub").chain(data.iter().copied()).chain([0u8; 6]);
        let pm = polymod(checksum_input) ^ 1;
        let mut out = String::from("npub1");
        for v in data.iter().copied().chain((0..6).map(|i| ((pm >> (5 * (5 - i))) & 31) as u8)) {
            out.push(CHARSET[v as usize] as char);
        }
        out
    }
}

impl fmt::Display for Npub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_bech32())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // NIP-19's published example pair.
    const HEX: &str = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";
    const NPUB: &str = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6";

    #[test]
    fn a_stored_key_reads_back_without_the_curve_check() {
        assert_eq!(Npub::stored(HEX).unwrap().to_bech32(), NPUB);
        assert!(Npub::stored("abc").is_none());
    }

    #[test]
    fn parses_both_forms() {
        let a = Npub::parse(NPUB).unwrap();
        let b = Npub::parse(HEX).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_hex(), HEX);
        assert_eq!(a.to_bech32(), NPUB);
        assert_eq!(Npub::parse(&NPUB.to_uppercase()).unwrap(), a);
    }

    #[test]
    fn rejects_bad_checksum_and_shapes() {
        let mut broken = NPUB.to_string();
        broken.replace_range(10..11, "q");
        assert!(Npub::parse(&broken).is_err());
        assert!(Npub::parse("nsec180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6").is_err());
        assert!(Npub::parse(&HEX[..62]).is_err());
        assert!(Npub::parse("").is_err());
        // 32 bytes, but no point on the curve has this x coordinate.
        assert!(Npub::parse(&"f".repeat(64)).is_err());
        assert!(Npub::parse(&Npub([0xff; 32]).to_bech32()).is_err());
    }
}

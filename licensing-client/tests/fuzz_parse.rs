//! The `fuzz/` target's oracle on stable Rust, as a proptest target that
//! `make test` runs: arbitrary bytes, and reference keys mutated by a few
//! random edits (which reach far deeper into the parser than random text),
//! fed to `Payload::decode` and `LicenseKey::parse`. Nothing may panic; a
//! decoded v2 payload re-encodes to its bytes; a key that parses
//! round-trips through its canonical form. (cargo-fuzz needs nightly, which
//! this project's CI does not have; `fuzz/` stays for those who do.)
//! `PROPTEST_CASES=…` runs more cases (CI runs 4,096 in release: `make test-release`).

mod common;
mod mutate;

use keysat_client::{LicenseKey, Payload};
use mutate::{apply, edit, Edit};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(512);
    ProptestConfig::with_cases(cases)
}

/// The fuzz target's body: the same checks on one input.
fn check(data: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(payload) = Payload::decode(data) {
        if payload.version == 2 && payload.entitlements.iter().all(|e| !e.is_empty()) {
            prop_assert_eq!(payload.encode().expect("decoded payload encodes"), data.to_vec());
        }
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = LicenseKey::parse(&text) {
        let canonical = key.to_key_string();
        let again = LicenseKey::parse(&canonical).expect("canonical form parses");
        prop_assert_eq!(&again, &key);
        prop_assert_eq!(again.to_key_string(), canonical);
        let decoded = Payload::decode(key.payload_bytes());
        prop_assert_eq!(decoded.as_ref(), Ok(key.payload()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&data)?;
    }

    #[test]
    fn mutated_reference_keys(which in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 0..4)) {
        let vectors = common::load().vectors;
        let key = &vectors[which.index(vectors.len())].key;
        check(apply(key, &edits).as_bytes())?;
    }
}

/// The mutation strategy reaches keys that parse (with no edits, or a case
/// flip), so the round-trip checks above are exercised, not only the
/// refusals.
#[test]
fn unmutated_and_case_flipped_reference_keys_parse() {
    let vectors = common::load().vectors;
    let parsed = vectors.iter().filter(|v| LicenseKey::parse(&apply(&v.key, &[Edit::FlipCase(7)])).is_ok()).count();
    assert!(parsed > 0, "no reference key parses: the round-trip oracle would never run");
}

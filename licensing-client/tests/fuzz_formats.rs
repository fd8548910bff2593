//! The proptest fuzz target of the signed formats' parsers, like
//! `fuzz_parse` for `LIC1`: arbitrary bytes, and reference leases,
//! challenges, responses, nonces and timestamps mutated by a few random
//! edits, fed to every parser. Nothing may panic; a decoded lease or grant
//! re-encodes to its bytes; whatever parses round-trips through its
//! canonical form. `PROPTEST_CASES=…` runs more cases.

mod formats;
mod mutate;

use keysat_client::{
    parse_timestamp, ActivationChallenge, ActivationGrant, ActivationResponse, Lease, Nonce, SignedLease,
};
use mutate::{apply, edit, Edit};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(512);
    ProptestConfig::with_cases(cases)
}

fn check(data: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(lease) = Lease::decode(data) {
        prop_assert_eq!(lease.encode().expect("decoded lease encodes"), data.to_vec());
    }
    if let Ok(grant) = ActivationGrant::decode(data) {
        prop_assert_eq!(grant.encode().expect("decoded grant encodes"), data.to_vec());
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(lease) = SignedLease::parse(&text) {
        prop_assert_eq!(SignedLease::parse(&lease.to_lease_string()), Ok(lease));
    }
    if let Ok(challenge) = ActivationChallenge::parse(&text) {
        prop_assert_eq!(ActivationChallenge::parse(&challenge.to_code_string()), Ok(challenge));
    }
    if let Ok(response) = ActivationResponse::parse(&text) {
        prop_assert_eq!(ActivationResponse::parse(&response.to_code_string()), Ok(response));
    }
    if let Ok(nonce) = Nonce::parse(&text) {
        prop_assert_eq!(nonce.as_str(), &*text);
    }
    let _ = parse_timestamp(&text);
    Ok(())
}

/// Every reference string of the vector files, and a nonce and a timestamp.
fn references() -> Vec<String> {
    let mut out = vec!["00112233445566778899aabbccddeeff".to_owned(), "2023-11-14T22:13:20Z".to_owned()];
    for (file, fields) in [("lease", &["lease"][..]), ("activation", &["challenge", "response"][..])] {
        for (_, v) in formats::vectors(&formats::load(file)) {
            out.extend(fields.iter().map(|f| v[*f].as_str().unwrap().to_owned()));
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&data)?;
    }

    #[test]
    fn mutated_reference_strings(which in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 0..4)) {
        let references = references();
        check(apply(&references[which.index(references.len())], &edits).as_bytes())?;
    }
}

/// The round-trip oracles above run: every reference parses, also with a
/// letter's case flipped.
#[test]
fn references_parse_so_the_oracles_run() {
    for reference in references() {
        let flipped = apply(&reference, &[Edit::FlipCase(7)]);
        let parses = |t: &str| {
            SignedLease::parse(t).is_ok()
                || ActivationChallenge::parse(t).is_ok()
                || ActivationResponse::parse(t).is_ok()
                || Nonce::parse(t).is_ok()
                || parse_timestamp(t).is_ok()
        };
        assert!(parses(&reference) && parses(&flipped), "{reference}");
    }
}

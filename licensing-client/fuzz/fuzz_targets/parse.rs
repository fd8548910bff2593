//! Fuzzes the key-string parser and the strict payload decoder: neither may
//! panic, and whatever parses must survive a round trip through its
//! canonical form.
#![no_main]

use keysat_client::{LicenseKey, Payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The raw bytes as a payload.
    if let Ok(payload) = Payload::decode(data) {
        // Version 2 decoding is canonical: re-encoding gives the input back
        // (empty slugs decode but cannot be encoded; v1 re-encodes as v2).
        if payload.version == 2 && payload.entitlements.iter().all(|e| !e.is_empty()) {
            assert_eq!(payload.encode().expect("decoded payload encodes"), data);
        }
    }

    // The bytes as a key string.
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = LicenseKey::parse(&text) {
        let canonical = key.to_key_string();
        let again = LicenseKey::parse(&canonical).expect("canonical form parses");
        assert_eq!(again, key);
        assert_eq!(again.to_key_string(), canonical);
        assert_eq!(Payload::decode(key.payload_bytes()).as_ref(), Ok(key.payload()));
    }
});

//! Writes `tests/vectors/{answer,lease,activation}.json` (see
//! `formats/gen.rs` for the inputs):
//!
//!     cargo test -p keysat-client --test gen_vectors -- --ignored
//!
//! `formats_vectors` checks that the committed files are exactly what this
//! writes, and `independent_ed25519` checks them with other code.

mod formats;

#[test]
#[ignore = "writes the vector files; run by hand after a deliberate format change"]
fn write_vectors() {
    for name in ["answer", "lease", "activation"] {
        std::fs::write(formats::path(name), formats::gen::generate(name)).unwrap();
    }
}

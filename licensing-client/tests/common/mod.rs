//! Shared loading of the reference vectors in `tests/vectors/lic1.json`
//! (the copy of the product's LIC1 vectors this repository carries).
#![allow(dead_code)]

use serde_json::Value;

/// One reference key with its expected fields (`expected` object as is).
pub struct Vector {
    pub name: String,
    pub key: String,
    pub expected: Value,
}

/// The vector file: the seller's PEM and every named vector.
pub struct Vectors {
    pub public_key_pem: String,
    pub vectors: Vec<Vector>,
}

/// In the crate's own tests, so a clone of the repository alone runs them.
pub fn vectors_path() -> String {
    format!("{}/tests/vectors/lic1.json", env!("CARGO_MANIFEST_DIR"))
}

pub fn load() -> Vectors {
    let path = vectors_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read vector file {path}: {e}"));
    let root: Value = serde_json::from_str(&text).expect("vector file is JSON");
    let root = root.as_object().expect("vector file is a JSON object");
    let public_key_pem = root["publicKeyPem"].as_str().expect("publicKeyPem is a string").to_owned();
    let vectors: Vec<Vector> = root
        .iter()
        .filter(|(name, _)| name.as_str() != "publicKeyPem")
        .map(|(name, v)| Vector {
            name: name.clone(),
            key: v["licenseKey"].as_str().unwrap_or_else(|| panic!("{name}: licenseKey is a string")).to_owned(),
            expected: v["expected"].clone(),
        })
        .collect();
    assert!(!vectors.is_empty(), "vector file {path} holds no key vectors");
    Vectors { public_key_pem, vectors }
}

//! Shared by the tests of the signed formats (answers, leases,
//! activations): loading `tests/vectors/{answer,lease,activation}.json`,
//! the fixed test signing key, and reading a JSON answer the way a client
//! does.
#![allow(dead_code)]

pub mod gen;

use keysat_client::ed25519_dalek::SigningKey;
use keysat_client::uuid::Uuid;
use keysat_client::{parse_timestamp, Answer, AnswerRequest, Endpoint, Nonce, PublicKey};
use serde_json::{Map, Value};

/// RFC 8032 §7.1, TEST 1: a published Ed25519 key pair, so any other
/// implementation can rebuild every vector.
pub const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

pub fn signing_key() -> SigningKey {
    let seed: [u8; 32] = data_encoding::HEXLOWER.decode(SEED_HEX.as_bytes()).unwrap().try_into().unwrap();
    SigningKey::from_bytes(&seed)
}

pub fn public_key() -> PublicKey {
    PublicKey::from(signing_key().verifying_key())
}

pub fn path(name: &str) -> String {
    format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"))
}

/// The whole vector file `name`.json, checked to name the test key.
pub fn load(name: &str) -> Value {
    let path = path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let root: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
    assert_eq!(root["signingKeySeedHex"], SEED_HEX, "{path}: seed");
    assert_eq!(root["publicKeyPem"], public_key().to_pem(), "{path}: PEM");
    root
}

/// The named vectors of a file, in file order.
pub fn vectors(root: &Value) -> Vec<(String, Value)> {
    let map = root["vectors"].as_object().expect("vectors is an object");
    assert!(!map.is_empty());
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

pub fn unhex(text: &Value) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(text.as_str().expect("hex string").as_bytes()).expect("lower-case hex")
}

pub fn uuid(v: &Value) -> Uuid {
    Uuid::parse_str(v.as_str().expect("UUID string")).expect("UUID")
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|s| s.as_str().expect("string").to_owned()).collect()
}

/// A JSON answer read as a client reads it: absent and `null` are the same,
/// timestamps become unix seconds, `message` and `signature` are left out.
pub fn answer_from_json(v: &Value) -> Answer<'static> {
    let field = |name: &str| v.get(name).filter(|x| !x.is_null());
    let text = |name: &str| field(name).map(|x| x.as_str().expect("string").to_owned().into());
    let time = |name: &str| field(name).map(|x| parse_timestamp(x.as_str().expect("timestamp")).expect("RFC 3339"));
    let number = |name: &str| field(name).map(|x| x.as_u64().expect("unsigned integer"));
    let boolean = |name: &str| field(name).map(|x| x.as_bool().expect("boolean"));
    Answer {
        ok: v["ok"].as_bool().expect("ok is a boolean"),
        reason: text("reason"),
        status: text("status"),
        license_id: field("license_id").map(uuid),
        product_id: field("product_id").map(uuid),
        product_slug: text("product_slug"),
        issued_at: time("issued_at"),
        expires_at: time("expires_at"),
        grace_until: time("grace_until"),
        in_grace_period: boolean("in_grace_period"),
        is_trial: boolean("is_trial"),
        entitlements: field("entitlements").map(|e| strings(e).into()),
        machine_id: field("machine_id").map(uuid),
        active_count: number("active_count"),
        max_machines: number("max_machines"),
        message: None,
        signature: None,
    }
}

/// The request of an answer vector: `endpoint`, `key`, `product_slug`?,
/// `fingerprint`?, `nonce`.
pub struct Request {
    pub endpoint: Endpoint,
    pub key: String,
    pub product_slug: Option<String>,
    pub fingerprint: Option<String>,
    pub nonce: Nonce,
}

impl Request {
    pub fn from_json(v: &Value) -> Request {
        let text = |name: &str| v.get(name).filter(|x| !x.is_null()).map(|x| x.as_str().unwrap().to_owned());
        Request {
            endpoint: Endpoint::from_path(v["endpoint"].as_str().unwrap()).expect("known endpoint"),
            key: text("key").expect("key"),
            product_slug: text("product_slug"),
            fingerprint: text("fingerprint"),
            nonce: Nonce::parse(v["nonce"].as_str().unwrap()).expect("valid nonce"),
        }
    }

    pub fn as_request(&self) -> AnswerRequest<'_> {
        AnswerRequest {
            endpoint: self.endpoint,
            key: &self.key,
            product_slug: self.product_slug.as_deref(),
            fingerprint: self.fingerprint.as_deref(),
        }
    }
}

/// `base` with every field of `changes` set (a `null` change sets `null`).
pub fn with_changes(base: &Value, changes: Option<&Value>) -> Value {
    let mut out: Map<String, Value> = base.as_object().expect("object").clone();
    if let Some(changes) = changes {
        for (k, v) in changes.as_object().expect("changes are an object") {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

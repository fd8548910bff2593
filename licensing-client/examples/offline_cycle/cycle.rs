//! The whole cycle of a licensed app against a Keysat server, with nothing
//! but `keysat-client`, `serde_json` and the standard library (a real app
//! uses its own HTTP client and a TLS connection):
//!
//! 1. **online**: verify the key offline, then ask `POST /v1/validate` with a
//!    fresh `nonce` and trust the answer only if its signature verifies;
//! 2. **offline lease**: take a `LEASE1` lease for this machine, keep it, and
//!    check it later without the network (against the fingerprint and clock);
//! 3. **air-gapped**: for a machine that never goes online, show an `ACT1`
//!    challenge, have it answered (here: `POST /v1/machines/offline-activate`,
//!    as the buyer's other device or Keysat's `/activate` page would), and
//!    verify the `ACTR1` response offline.

use std::error::Error;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{SystemTime, UNIX_EPOCH};

use keysat_client::{
    verify_activation, verify_answer, verify_at, ActivationChallenge, Answer, AnswerRequest, Endpoint, Nonce,
    PublicKey, SignedLease,
};
use serde_json::{json, Value};

/// What one run established.
#[derive(Debug)]
pub struct Report {
    /// The license, from the key verified offline.
    pub license_id: keysat_client::uuid::Uuid,
    /// The lease (keep it on disk) and until when it runs.
    pub lease: String,
    pub lease_expires_at: u64,
    /// The challenge the air-gapped machine showed, and its verified response.
    pub challenge: String,
    pub response: String,
    pub response_expires_at: u64,
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Runs the cycle against `base` (`http://host:port`) with `key`, for the
/// machines `fingerprint` (online) and `airgapped_fingerprint`; `random`
/// fills buffers from a cryptographically secure source.
pub fn run(
    base: &str,
    key: &str,
    fingerprint: &str,
    airgapped_fingerprint: &str,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<Report, Box<dyn Error>> {
    let pem = get(base, "/v1/pubkey")?["public_key_pem"].as_str().ok_or("no public_key_pem")?.to_string();
    // In a real app the PEM is built in; fetching it is for the example only.
    let pk = PublicKey::from_pem(&pem)?;

    // 1. Online, with a signed answer.
    let payload = verify_at(key, &pk, now())?;
    let mut bytes = [0u8; 16];
    random(&mut bytes);
    let nonce = Nonce::from_bytes(&bytes)?;
    let body = json!({"key": key, "fingerprint": fingerprint, "nonce": nonce.as_str()});
    let answer: Answer = serde_json::from_value(post(base, "/v1/validate", &body)?)?;
    let request =
        AnswerRequest { endpoint: Endpoint::Validate, key, product_slug: None, fingerprint: Some(fingerprint) };
    let signature = answer.signature.as_deref().ok_or("the answer is not signed: treat it as no answer")?;
    verify_answer(&answer, &request, &nonce, signature, &pk)?;
    if !answer.ok {
        return Err(format!("refused: {}", answer.reason.as_deref().unwrap_or("?")).into());
    }

    // 2. An offline lease for this machine.
    let body = json!({"key": key, "fingerprint": fingerprint});
    let leased = post(base, "/v1/machines/lease", &body)?;
    let lease = leased["lease"].as_str().ok_or_else(|| format!("no lease: {leased}"))?.to_string();
    // Later, offline: the lease alone decides.
    let parsed = SignedLease::parse(&lease)?;
    parsed.verify_at(&pk, fingerprint, now())?;
    if parsed.lease().license_id != payload.license_id {
        return Err("the lease is for another license".into());
    }

    // 3. Air-gapped: the machine shows a challenge, keeps it, and checks the response.
    let mut challenge_nonce = [0u8; 10];
    random(&mut challenge_nonce);
    let challenge = ActivationChallenge::new(payload.license_id, airgapped_fingerprint, challenge_nonce);
    let shown = challenge.to_code_string();
    let body = json!({"key": key, "challenge": shown});
    let answered = post(base, "/v1/machines/offline-activate", &body)?;
    let response = answered["response"].as_str().ok_or_else(|| format!("no response: {answered}"))?.to_string();
    let grant = verify_activation(&response, &challenge, &pk, airgapped_fingerprint, now())?;

    Ok(Report {
        license_id: payload.license_id,
        lease_expires_at: parsed.lease().expires_at,
        lease,
        challenge: shown,
        response,
        response_expires_at: grant.expires_at,
    })
}

fn get(base: &str, path: &str) -> Result<Value, Box<dyn Error>> {
    request(base, "GET", path, None)
}

fn post(base: &str, path: &str, body: &Value) -> Result<Value, Box<dyn Error>> {
    request(base, "POST", path, Some(body))
}

/// One HTTP/1.1 request over plain TCP (`http://` only), `Connection: close`.
fn request(base: &str, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Box<dyn Error>> {
    let host = base.strip_prefix("http://").ok_or("the example speaks plain http:// only")?.trim_end_matches('/');
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(host)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8(raw)?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    let status = head.split_whitespace().nth(1).unwrap_or("?");
    if status != "200" {
        return Err(format!("{method} {path}: HTTP {status}: {body}").into());
    }
    Ok(serde_json::from_str(body)?)
}

//! A licensed app's online, offline-lease and air-gapped cycle against a
//! running Keysat:
//!
//! ```text
//! cargo run -p keysat-client --example offline_cycle -- http://127.0.0.1:8080 LIC1-… [fingerprint]
//! ```

mod cycle;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: offline_cycle <base url> <license key> [fingerprint]";
    let base = args.next().ok_or(usage)?;
    let key = args.next().ok_or(usage)?;
    let fingerprint = args.next().unwrap_or_else(|| "example-machine".to_string());
    let mut random = |buf: &mut [u8]| getrandom::getrandom(buf).expect("the OS random source");
    let report = cycle::run(&base, &key, &fingerprint, &format!("{fingerprint}-airgapped"), &mut random)?;
    println!("license {}: the signed online answer is ok", report.license_id);
    println!("lease until {}:\n  {}", keysat_client::format_timestamp(report.lease_expires_at), report.lease);
    println!("air-gapped challenge:\n  {}", report.challenge);
    println!(
        "response (verified offline, until {}):\n  {}",
        keysat_client::format_timestamp(report.response_expires_at),
        report.response
    );
    Ok(())
}

//! Air-gapped activation: a seat taken for an `ACT1` challenge, on behalf
//! of a machine the server never talks to.

use std::net::IpAddr;

use keysat_client::ActivationChallenge;

use super::{refuse, Granted, Licensing, Refusal, SeatFor};
use crate::db;
use crate::domain::now_unix;
use crate::domain::validation::{check_license, Reason};

/// What an air-gapped machine's seat stores as its fingerprint: the server
/// only ever sees the first 10 bytes of its hash, in the challenge.
pub fn offline_fingerprint(challenge: &ActivationChallenge) -> String {
    format!("act1:{}", hex::encode(challenge.fingerprint_prefix))
}

impl Licensing {
    /// The seat of the challenge's machine, held or taken, after the key
    /// proved the license: `challenge_mismatch` when the challenge names
    /// another license, the key's own checks (a fingerprint-bound key must
    /// be bound to the challenge's machine), then `challenge_used` for a
    /// challenge already answered. Every answer counts against the
    /// license's hourly seat changes.
    pub async fn activate_offline(
        &self,
        key: &str,
        challenge: &ActivationChallenge,
        hostname: Option<&str>,
        client_ip: IpAddr,
    ) -> Result<Granted, Refusal> {
        let fingerprint = offline_fingerprint(challenge);
        let result = async {
            let (verified, license) = self.resolve(key).await?;
            if challenge.license_id != license.license_id {
                return Err(refuse(Reason::ChallengeMismatch, &license));
            }
            let now = now_unix();
            let bound = verified.bound_fingerprint.map(|hash| hash[..10] == challenge.fingerprint_prefix);
            let expiry = check_license(&license.facts(bound), None, now).map_err(|r| refuse(r, &license))?;
            let used = db::seat_rules::challenge_used_at(&self.db.read, license.license_id, &challenge.nonce).await?;
            if used.is_some() {
                return Err(refuse(Reason::ChallengeUsed, &license));
            }
            self.count_seat_change(&license)?;
            let machine = SeatFor {
                fingerprint: &fingerprint,
                prefix: Some(challenge.fingerprint_prefix),
                hostname,
                platform: None,
            };
            self.hold_seat(license, expiry, &machine, now).await
        }
        .await;
        self.log(&result, Some(&fingerprint), client_ip);
        result
    }
}

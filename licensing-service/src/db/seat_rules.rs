//! What the machine rules of a policy remember: machines that held a trial
//! of a product, seats buyers freed themselves, air-gapped challenges
//! answered.

use sqlx::{Executor, Sqlite};
use uuid::Uuid;

use super::policies::RulesColumns;
use super::{Conn, Hyphenated, Tx};
use crate::domain::machine_rules::MachineRules;

/// The machine rules of a policy, read alone (at each seat take, so a
/// changed rule applies at once).
pub async fn rules_of_policy<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    policy_id: Uuid,
) -> Result<Option<MachineRules>, sqlx::Error> {
    let row: Option<RulesColumns> = sqlx::query_as(
        "SELECT lease_seconds, self_reset_limit, seat_timeout_seconds, one_trial_per_machine FROM policies WHERE id = ?",
    )
    .bind(policy_id.to_string())
    .fetch_optional(e)
    .await?;
    Ok(row.map(MachineRules::from))
}

/// The trial license this machine (its fingerprint-hash prefix) first held
/// of the product, if any.
pub async fn trial_holder<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    product_id: Uuid,
    prefix: &[u8],
) -> Result<Option<Uuid>, sqlx::Error> {
    let row: Option<Hyphenated> =
        sqlx::query_scalar("SELECT license_id FROM trial_machines WHERE product_id = ? AND fingerprint_prefix = ?")
            .bind(product_id.to_string())
            .bind(prefix)
            .fetch_optional(e)
            .await?;
    Ok(row.map(Uuid::from))
}

/// Remembers that this machine held a trial of the product (the first one stays).
pub async fn record_trial(
    tx: &mut Conn,
    product_id: Uuid,
    prefix: &[u8],
    license_id: Uuid,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO trial_machines (product_id, fingerprint_prefix, license_id, first_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT DO NOTHING",
    )
    .bind(product_id.to_string())
    .bind(prefix)
    .bind(license_id.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

/// Self-service frees of a license since `since`: how many, and when the oldest was.
pub async fn resets_since<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    license_id: Uuid,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    sqlx::query_as("SELECT count(*), min(at) FROM seat_resets WHERE license_id = ? AND at > ?")
        .bind(license_id.to_string())
        .bind(since)
        .fetch_one(e)
        .await
}

pub async fn record_reset(tx: &mut Tx, license_id: Uuid, now: i64, freed: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO seat_resets (license_id, at, freed) VALUES (?, ?, ?)")
        .bind(license_id.to_string())
        .bind(now)
        .bind(freed)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// When this challenge (license id and nonce) was answered, if it was.
pub async fn challenge_used_at<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    license_id: Uuid,
    nonce: &[u8],
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT used_at FROM activation_challenges WHERE license_id = ? AND nonce = ?")
        .bind(license_id.to_string())
        .bind(nonce)
        .fetch_optional(e)
        .await
}

/// An answered challenge.
pub struct UsedChallenge<'a> {
    pub license_id: Uuid,
    pub nonce: &'a [u8],
    pub fingerprint_prefix: &'a [u8],
    pub machine_id: Uuid,
    pub used_at: i64,
    pub expires_at: i64,
}

/// Records the challenge as answered; false when it already was.
pub async fn use_challenge(tx: &mut Tx, c: &UsedChallenge<'_>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO activation_challenges (license_id, nonce, fingerprint_prefix, machine_id, used_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(c.license_id.to_string())
    .bind(c.nonce)
    .bind(c.fingerprint_prefix)
    .bind(c.machine_id.to_string())
    .bind(c.used_at)
    .bind(c.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

//! Subscriptions and the record of every change to a license's terms.

use sqlx::{Executor, QueryBuilder, Sqlite};
use uuid::Uuid;

use super::{Hyphenated, NullableUuid, Tx};
use crate::domain::proration::Money;
use crate::domain::subscription::{Period, State};

/// A subscription as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Subscription {
    pub rowid: i64,
    #[sqlx(try_from = "Hyphenated")]
    pub id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    pub license_id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    pub product_id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    pub policy_id: Uuid,
    #[sqlx(try_from = "NullableUuid")]
    pub next_policy_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub state: State,
    pub period_seconds: i64,
    pub current_period_end: i64,
    pub notice_at: i64,
    pub grace_until: i64,
    pub renewals: i64,
    pub canceled_at: Option<i64>,
    pub canceled_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Subscription {
    pub fn period(&self) -> Period {
        Period { end: self.current_period_end, notice_at: self.notice_at, grace_until: self.grace_until }
    }
}

const COLUMNS: &str = "rowid, id, license_id, product_id, policy_id, next_policy_id, state, period_seconds, \
    current_period_end, notice_at, grace_until, renewals, canceled_at, canceled_by, cancel_reason, created_at, \
    updated_at";

pub async fn insert(tx: &mut Tx, s: &Subscription) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO subscriptions (id, license_id, product_id, policy_id, next_policy_id, state, period_seconds, \
         current_period_end, notice_at, grace_until, renewals, created_at, updated_at) \
         VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, 0, ?, ?)",
    )
    .bind(s.id.to_string())
    .bind(s.license_id.to_string())
    .bind(s.product_id.to_string())
    .bind(s.policy_id.to_string())
    .bind(s.state.as_str())
    .bind(s.period_seconds)
    .bind(s.current_period_end)
    .bind(s.notice_at)
    .bind(s.grace_until)
    .bind(s.created_at)
    .bind(s.updated_at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn by_id<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    id: Uuid,
) -> Result<Option<Subscription>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM subscriptions WHERE id = ?"))
        .bind(id.to_string())
        .fetch_optional(e)
        .await
}

pub async fn by_license<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    license_id: Uuid,
) -> Result<Option<Subscription>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM subscriptions WHERE license_id = ?"))
        .bind(license_id.to_string())
        .fetch_optional(e)
        .await
}

/// Moves the subscription from `from` to `to`; false when it was no longer
/// in `from` (another pass, or a renewal, got there first).
pub async fn step(tx: &mut Tx, id: Uuid, from: State, to: State, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE subscriptions SET state = ?, updated_at = ? WHERE id = ? AND state = ?")
        .bind(to.as_str())
        .bind(now)
        .bind(id.to_string())
        .bind(from.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A new period (a renewal, a tier change): active again, at `policy_id`,
/// any scheduled downgrade and cancellation cleared.
pub async fn start_period(
    tx: &mut Tx,
    id: Uuid,
    policy_id: Uuid,
    period_seconds: i64,
    period: Period,
    renewed: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE subscriptions SET state = 'active', policy_id = ?, next_policy_id = NULL, period_seconds = ?, \
         current_period_end = ?, notice_at = ?, grace_until = ?, renewals = renewals + ?, canceled_at = NULL, \
         canceled_by = NULL, cancel_reason = NULL, updated_at = ? WHERE id = ?",
    )
    .bind(policy_id.to_string())
    .bind(period_seconds)
    .bind(period.end)
    .bind(period.notice_at)
    .bind(period.grace_until)
    .bind(i64::from(renewed))
    .bind(now)
    .bind(id.to_string())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The current period's times changed (the operator moved the expiry):
/// unless canceled, the subscription takes the state those times give now.
pub async fn set_period(tx: &mut Tx, id: Uuid, period: Period, state: State, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE subscriptions SET current_period_end = ?, notice_at = ?, grace_until = ?, updated_at = ?, \
         state = CASE WHEN state = 'canceled' THEN state ELSE ? END WHERE id = ?",
    )
    .bind(period.end)
    .bind(period.notice_at)
    .bind(period.grace_until)
    .bind(now)
    .bind(state.as_str())
    .bind(id.to_string())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Cancels; false when it already was.
pub async fn cancel(tx: &mut Tx, id: Uuid, by: &str, reason: Option<&str>, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE subscriptions SET state = 'canceled', canceled_at = ?, canceled_by = ?, cancel_reason = ?, \
         updated_at = ? WHERE id = ? AND state != 'canceled'",
    )
    .bind(now)
    .bind(by)
    .bind(reason)
    .bind(now)
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Schedules (or clears) a change of tier at the next renewal.
pub async fn set_next_policy(tx: &mut Tx, id: Uuid, next: Option<Uuid>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE subscriptions SET next_policy_id = ?, updated_at = ? WHERE id = ?")
        .bind(next.map(|n| n.to_string()))
        .bind(now)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Ids of subscriptions a time has come for (each condition an index seek).
pub async fn due<'e, E: Executor<'e, Database = Sqlite>>(e: E, now: i64, limit: i64) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<Hyphenated> = sqlx::query_scalar(
        "SELECT id FROM subscriptions WHERE state = 'active' AND notice_at <= ?1 \
         UNION SELECT id FROM subscriptions WHERE state IN ('active', 'notice') AND current_period_end <= ?1 \
         UNION SELECT id FROM subscriptions WHERE state = 'past_due' AND grace_until <= ?1 LIMIT ?2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(ids.into_iter().map(Uuid::from).collect())
}

/// Filters for the admin list; newest first, paged by `before_rowid`.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub state: Option<State>,
    pub product_id: Option<Uuid>,
    pub license_id: Option<Uuid>,
    pub before_rowid: Option<i64>,
    pub limit: i64,
}

pub async fn list<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    f: &ListFilter,
) -> Result<Vec<Subscription>, sqlx::Error> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!("SELECT {COLUMNS} FROM subscriptions WHERE 1 = 1"));
    if let Some(s) = f.state {
        q.push(" AND state = ").push_bind(s.as_str());
    }
    if let Some(p) = f.product_id {
        q.push(" AND product_id = ").push_bind(p.to_string());
    }
    if let Some(l) = f.license_id {
        q.push(" AND license_id = ").push_bind(l.to_string());
    }
    if let Some(r) = f.before_rowid {
        q.push(" AND rowid < ").push_bind(r);
    }
    q.push(" ORDER BY rowid DESC LIMIT ").push_bind(f.limit);
    q.build_query_as().fetch_all(e).await
}

/// What a change to a license's terms records.
pub struct NewChange<'a> {
    pub license_id: Uuid,
    /// `renewal`, `upgrade`, `change_tier` or `adjust`.
    pub kind: &'a str,
    /// What paid for it, applied once (our invoice id, a provider's id).
    pub reference: Option<&'a str>,
    pub invoice_id: Option<Uuid>,
    pub from_policy_id: Uuid,
    pub to_policy_id: Uuid,
    /// The period paid for (`end` 0: perpetual), and with what.
    pub period: Option<(i64, i64)>,
    pub paid: Option<&'a Money>,
    pub old_expires_at: i64,
    pub new_expires_at: i64,
    pub actor: &'a str,
}

/// Records a change; false when its reference was applied before.
pub async fn record_change(tx: &mut Tx, c: &NewChange<'_>, now: i64) -> Result<bool, sqlx::Error> {
    let (sats, amount, currency) = match c.paid {
        Some(Money::Sats(n)) => (*n, None, None),
        Some(Money::Fiat { amount, currency }) => (0, Some(amount.as_str()), Some(currency.as_str())),
        None => (0, None, None),
    };
    let done = sqlx::query(
        "INSERT INTO license_changes (id, license_id, kind, reference, invoice_id, from_policy_id, to_policy_id, \
         period_start, period_end, paid_sats, paid_amount, paid_currency, old_expires_at, new_expires_at, actor, \
         created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reference) DO NOTHING",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(c.license_id.to_string())
    .bind(c.kind)
    .bind(c.reference)
    .bind(c.invoice_id.map(|i| i.to_string()))
    .bind(c.from_policy_id.to_string())
    .bind(c.to_policy_id.to_string())
    .bind(c.period.map(|p| p.0))
    .bind(c.period.map(|p| p.1))
    .bind(sats)
    .bind(amount)
    .bind(currency)
    .bind(c.old_expires_at)
    .bind(c.new_expires_at)
    .bind(c.actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether a payment with this reference was applied already.
pub async fn applied<'e, E: Executor<'e, Database = Sqlite>>(e: E, reference: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM license_changes WHERE reference = ?")
        .bind(reference)
        .fetch_optional(e)
        .await?;
    Ok(found.is_some())
}

/// A recorded change, as the credit of an upgrade reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Change {
    pub kind: String,
    pub period_start: Option<i64>,
    pub period_end: Option<i64>,
    pub paid_sats: i64,
    pub paid_amount: Option<String>,
    pub paid_currency: Option<String>,
    pub old_expires_at: i64,
    pub new_expires_at: i64,
    pub created_at: i64,
}

impl Change {
    pub fn paid(&self) -> Money {
        match (&self.paid_amount, &self.paid_currency) {
            (Some(amount), Some(currency)) => Money::Fiat { amount: amount.clone(), currency: currency.clone() },
            _ => Money::Sats(self.paid_sats),
        }
    }
}

/// A license's changes, oldest first.
pub async fn changes<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    license_id: Uuid,
) -> Result<Vec<Change>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind, period_start, period_end, paid_sats, paid_amount, paid_currency, old_expires_at, \
         new_expires_at, created_at FROM license_changes WHERE license_id = ? ORDER BY created_at, rowid",
    )
    .bind(license_id.to_string())
    .fetch_all(e)
    .await
}

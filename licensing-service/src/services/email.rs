//! E-mail to buyers, the parts an operator or a buyer asks for: the
//! operator's test mail, and a buyer's keys sent to the address they bought
//! with (receiving them proves they own it). What is mailed on issue,
//! renewal, change and refund is queued by those services themselves
//! (`delivery::email`).

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Serialize;

use super::{Core, ServiceError};
use crate::db::email::{EmailKind, NewEmail};
use crate::db::{self};
use crate::domain::email::parse_address;
use crate::domain::{now_unix, DomainError};

/// What the SMTP server said to the test mail.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TestSent {
    pub sent: bool,
    pub to: String,
    /// The server's answer, e.g. `250 2.0.0 Ok: queued as 4F1A`.
    pub server_reply: String,
}

fn email_off() -> ServiceError {
    DomainError::conflict(
        "email_off",
        "e-mail is off: set the SMTP server first (PUT /v1/admin/settings {\"smtp\": …})",
    )
    .into()
}

/// Sends a test mail now, through the stored SMTP settings.
pub async fn send_test(s: &Core, to: &str) -> Result<TestSent, ServiceError> {
    let to = parse_address("to", to)?;
    let smtp = db::email::smtp(&s.db.read).await?.ok_or_else(email_off)?;
    match crate::delivery::email::send_test(&s.delivery, &smtp, &to).await {
        Ok(server_reply) => Ok(TestSent { sent: true, to, server_reply }),
        Err(message) => Err(ServiceError::Unavailable {
            code: "smtp_failed",
            message: format!("the test e-mail was not sent: {message}"),
            retry_after: None,
        }),
    }
}

/// Whether e-mail is on (SMTP set).
pub async fn enabled(s: &Core) -> Result<bool, ServiceError> {
    Ok(db::email::smtp(&s.db.read).await?.is_some())
}

/// Queues the recovery mail for `email`: a malformed address is a clear
/// error; otherwise the caller answers the same whatever was found.
/// Limited per client address (with recovery by npub), for everyone
/// together, and silently per address (`KEYSAT_RECOVER_PER_EMAIL_PER_HOUR`).
pub async fn request_recovery(s: &Core, ip: IpAddr, email: &str) -> Result<(), ServiceError> {
    s.limits.recover.check(ip).map_err(ServiceError::rate_limited)?;
    s.limits.global.recover.admit()?;
    let to = parse_address("email", email)?;
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    if db::email::smtp(&mut *tx).await?.is_none() {
        return Err(email_off_for_buyers());
    }
    let recent = db::email::recoveries_since(&mut tx, &to, now - 3600).await?;
    if recent < i64::from(s.config.recover_per_email_per_hour)
        && !db::email::keys_of_email(&mut *tx, &to, 1).await?.is_empty()
    {
        let m = NewEmail { kind: EmailKind::Recovery, to: &to, license_id: None, notice: None, text: None };
        db::email::enqueue(&mut tx, now, m).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn email_off_for_buyers() -> ServiceError {
    DomainError::conflict("email_off", "this shop does not send e-mail: use your order number, or your npub").into()
}

//! What the seller's systems hear of, and when a failed delivery is tried
//! again: event types, operator notices, retry schedules.

use std::fmt;
use std::time::Duration;

use super::DomainError;

/// Every event Keysat sends to webhook endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    LicenseIssued,
    LicenseSuspended,
    LicenseUnsuspended,
    LicenseRevoked,
    LicenseExpired,
    MachineActivated,
    MachineDeactivated,
    InvoiceSettled,
    InvoiceExpired,
    CodeRedeemed,
    /// A license's terms or key changed (renewal, upgrade, adjustment).
    LicenseUpdated,
    SubscriptionRenewalDue,
    SubscriptionRenewed,
    SubscriptionPastDue,
    SubscriptionLapsed,
    SubscriptionCanceled,
    InvoiceRefunded,
}

impl EventType {
    pub const ALL: [EventType; 17] = [
        EventType::LicenseIssued,
        EventType::LicenseSuspended,
        EventType::LicenseUnsuspended,
        EventType::LicenseRevoked,
        EventType::LicenseExpired,
        EventType::MachineActivated,
        EventType::MachineDeactivated,
        EventType::InvoiceSettled,
        EventType::InvoiceExpired,
        EventType::CodeRedeemed,
        EventType::LicenseUpdated,
        EventType::SubscriptionRenewalDue,
        EventType::SubscriptionRenewed,
        EventType::SubscriptionPastDue,
        EventType::SubscriptionLapsed,
        EventType::SubscriptionCanceled,
        EventType::InvoiceRefunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::LicenseIssued => "license.issued",
            EventType::LicenseSuspended => "license.suspended",
            EventType::LicenseUnsuspended => "license.unsuspended",
            EventType::LicenseRevoked => "license.revoked",
            EventType::LicenseExpired => "license.expired",
            EventType::MachineActivated => "machine.activated",
            EventType::MachineDeactivated => "machine.deactivated",
            EventType::InvoiceSettled => "invoice.settled",
            EventType::InvoiceExpired => "invoice.expired",
            EventType::CodeRedeemed => "code.redeemed",
            EventType::LicenseUpdated => "license.updated",
            EventType::SubscriptionRenewalDue => "subscription.renewal_due",
            EventType::SubscriptionRenewed => "subscription.renewed",
            EventType::SubscriptionPastDue => "subscription.past_due",
            EventType::SubscriptionLapsed => "subscription.lapsed",
            EventType::SubscriptionCanceled => "subscription.canceled",
            EventType::InvoiceRefunded => "invoice.refunded",
        }
    }

    pub fn parse(s: &str) -> Result<EventType, DomainError> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            DomainError::invalid("events", format!("'{s}' is not an event type (or \"*\" for every type)"))
        })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The events an endpoint subscribes to: every type, or some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    All,
    Only(Vec<EventType>),
}

impl EventFilter {
    /// `["*"]` or a non-empty list of distinct event types.
    pub fn parse(names: &[String]) -> Result<EventFilter, DomainError> {
        if names.is_empty() {
            return Err(DomainError::invalid("events", "give at least one event type, or \"*\" for every type"));
        }
        if names.iter().any(|n| n == "*") {
            if names.len() > 1 {
                return Err(DomainError::invalid("events", "\"*\" already means every type; give it alone"));
            }
            return Ok(EventFilter::All);
        }
        let mut types: Vec<EventType> = Vec::with_capacity(names.len());
        for n in names {
            let t = EventType::parse(n)?;
            if !types.contains(&t) {
                types.push(t);
            }
        }
        Ok(EventFilter::Only(types))
    }

    /// As stored and shown: `["*"]` or the type names.
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            EventFilter::All => vec!["*"],
            EventFilter::Only(types) => types.iter().map(|t| t.as_str()).collect(),
        }
    }
}

/// What the operator can be told by Nostr DM; each can be switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    Sale,
    FreeRedemption,
    WebhookDeadLetter,
    BtcpayConnectionLost,
    BtcpayConnected,
    BackupFailed,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 6] = [
        NoticeKind::Sale,
        NoticeKind::FreeRedemption,
        NoticeKind::WebhookDeadLetter,
        NoticeKind::BtcpayConnectionLost,
        NoticeKind::BtcpayConnected,
        NoticeKind::BackupFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Sale => "sale",
            NoticeKind::FreeRedemption => "free_redemption",
            NoticeKind::WebhookDeadLetter => "webhook_dead_letter",
            NoticeKind::BtcpayConnectionLost => "btcpay_connection_lost",
            NoticeKind::BtcpayConnected => "btcpay_connected",
            NoticeKind::BackupFailed => "backup_failed",
        }
    }

    pub fn parse(s: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How long to wait after each failed attempt: `delays[n]` after the
/// (n+1)-th failure; when they run out, the delivery gives up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl RetrySchedule {
    /// A comma-separated list of durations such as `1m,5m,30m,1h`
    /// (units `s`, `m`, `h`, `d`; a bare number is seconds).
    pub fn parse(s: &str) -> Result<RetrySchedule, String> {
        let delays =
            s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(parse_duration).collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() {
            return Err("give at least one delay, such as 1m,5m,30m".into());
        }
        if delays.len() > 100 {
            return Err("at most 100 delays".into());
        }
        Ok(RetrySchedule { delays })
    }

    /// The delay before the next attempt after `attempts` attempts have
    /// failed; `None` when there is to be no further attempt.
    pub fn after(&self, attempts: u32) -> Option<Duration> {
        attempts.checked_sub(1).and_then(|i| self.delays.get(i as usize)).copied()
    }

    /// Attempts in all: the first and one per delay.
    pub fn max_attempts(&self) -> u32 {
        self.delays.len() as u32 + 1
    }

    pub fn total(&self) -> Duration {
        self.delays.iter().sum()
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.delays.iter().map(|d| format!("{}s", d.as_secs())).collect();
        f.write_str(&parts.join(","))
    }
}

fn parse_duration(p: &str) -> Result<Duration, String> {
    let bad = || format!("'{p}' is not a duration such as 30s, 5m, 2h or 1d");
    let (digits, unit) = match p.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => p.split_at(i),
        None => (p, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        "d" => n.checked_mul(86_400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if secs > 7 * 86_400 {
        return Err(format!("'{p}' is longer than 7 days"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()).unwrap(), t);
        }
        assert!(EventType::parse("license.exploded").is_err());
    }

    #[test]
    fn filters() {
        assert_eq!(EventFilter::parse(&["*".into()]).unwrap(), EventFilter::All);
        assert!(EventFilter::parse(&[]).is_err());
        assert!(EventFilter::parse(&["*".into(), "license.issued".into()]).is_err());
        let f =
            EventFilter::parse(&["license.issued".into(), "license.issued".into(), "code.redeemed".into()]).unwrap();
        assert_eq!(f.names(), vec!["license.issued", "code.redeemed"]);
    }

    #[test]
    fn schedules() {
        let s = RetrySchedule::parse("1m, 5m,30m,1h,2h,4h,8h,8h").unwrap();
        assert_eq!(s.max_attempts(), 9);
        assert_eq!(s.after(0), None);
        assert_eq!(s.after(1), Some(Duration::from_secs(60)));
        assert_eq!(s.after(8), Some(Duration::from_secs(8 * 3600)));
        assert_eq!(s.after(9), None);
        let hours = s.total().as_secs() as f64 / 3600.0;
        assert!((20.0..=28.0).contains(&hours), "about a day: {hours}");
        assert_eq!(RetrySchedule::parse("0,2").unwrap().after(1), Some(Duration::ZERO));
        assert!(RetrySchedule::parse("").is_err());
        assert!(RetrySchedule::parse("5x").is_err());
        assert!(RetrySchedule::parse("8d").is_err());
        assert_eq!(RetrySchedule::parse("90s,2m").unwrap().to_string(), "90s,120s");
    }
}

//! Subscriptions: what an invoice pays for, a subscription's states and the
//! times that move it from one to the next.
//!
//! A subscription belongs to one license of a recurring tier; its period
//! ends when the license expires. `active` → `notice` (the buyer is asked to
//! renew) → `past_due` (the period ended; the key still validates inside the
//! grace period) → `lapsed` (validation answers `expired`). `canceled` sends
//! no more notices and runs to the end of the paid period. A paid renewal
//! makes any of them `active` again.

use serde::Serialize;

use super::DomainError;

/// What an invoice pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// A new license.
    Purchase,
    /// Another period of an existing license.
    Renewal,
    /// Moving an existing license to the invoice's tier.
    Upgrade,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Purchase => "purchase",
            Purpose::Renewal => "renewal",
            Purpose::Upgrade => "upgrade",
        }
    }
}

impl TryFrom<String> for Purpose {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Purpose, DomainError> {
        match s.as_str() {
            "purchase" => Ok(Purpose::Purchase),
            "renewal" => Ok(Purpose::Renewal),
            "upgrade" => Ok(Purpose::Upgrade),
            other => {
                Err(DomainError::invalid("purpose", format!("'{other}' is not one of purchase, renewal, upgrade")))
            }
        }
    }
}

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "SubscriptionState")]
pub enum State {
    Active,
    Notice,
    PastDue,
    Lapsed,
    Canceled,
}

impl State {
    pub const ALL: [State; 5] = [State::Active, State::Notice, State::PastDue, State::Lapsed, State::Canceled];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Notice => "notice",
            State::PastDue => "past_due",
            State::Lapsed => "lapsed",
            State::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Result<State, DomainError> {
        State::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            DomainError::invalid("state", format!("'{s}' is not one of active, notice, past_due, lapsed, canceled"))
        })
    }
}

impl TryFrom<String> for State {
    type Error = DomainError;
    fn try_from(s: String) -> Result<State, DomainError> {
        State::parse(&s)
    }
}

/// The times of one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub end: i64,
    pub notice_at: i64,
    pub grace_until: i64,
}

impl Period {
    /// A period ending at `end`: the notice `notice_seconds` before it (never
    /// before `start`), the grace `grace_seconds` after it.
    pub fn new(start: i64, end: i64, notice_seconds: i64, grace_seconds: i64) -> Period {
        Period {
            end,
            notice_at: end.saturating_sub(notice_seconds).max(start).min(end),
            grace_until: end.saturating_add(grace_seconds),
        }
    }

    /// Where a subscription that was not canceled stands at `now`.
    pub fn state_at(&self, now: i64) -> State {
        if now >= self.grace_until && now >= self.end {
            State::Lapsed
        } else if now >= self.end {
            State::PastDue
        } else if now >= self.notice_at {
            State::Notice
        } else {
            State::Active
        }
    }

    /// The state the scheduler moves a subscription in `state` to at `now`,
    /// and every state passed on the way (in order, each told once); a
    /// canceled subscription stays canceled.
    pub fn steps(&self, state: State, now: i64) -> Vec<State> {
        let due = self.state_at(now);
        if state == State::Canceled || due <= state {
            return Vec::new();
        }
        [State::Notice, State::PastDue, State::Lapsed].into_iter().filter(|s| *s > state && *s <= due).collect()
    }
}

/// Where a renewal paid at `now` starts its period: at the end of the
/// current one (renewing early loses nothing; paying late inside the grace
/// period keeps the dates), or now when the subscription had lapsed.
pub fn renewal_start(current_end: i64, grace_seconds: i64, now: i64) -> i64 {
    if current_end == 0 || now >= current_end.saturating_add(grace_seconds) {
        now
    } else {
        current_end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    #[test]
    fn the_scheduler_walks_forward_once() {
        let p = Period::new(0, 100, 30, 20);
        assert_eq!(p.notice_at, 70);
        assert_eq!(p.grace_until, 120);
        assert_eq!(p.steps(Active, 69), vec![]);
        assert_eq!(p.steps(Active, 70), vec![Notice]);
        assert_eq!(p.steps(Notice, 80), vec![]);
        assert_eq!(p.steps(Notice, 100), vec![PastDue]);
        assert_eq!(p.steps(PastDue, 119), vec![]);
        assert_eq!(p.steps(PastDue, 120), vec![Lapsed]);
        assert_eq!(p.steps(Lapsed, 10_000), vec![]);
        // A clock jump (or a daemon stopped for long) tells every step once, in order.
        assert_eq!(p.steps(Active, 500), vec![Notice, PastDue, Lapsed]);
        assert_eq!(p.steps(Canceled, 500), vec![]);
    }

    #[test]
    fn a_notice_longer_than_the_period_comes_at_its_start() {
        let p = Period::new(50, 100, 1000, 0);
        assert_eq!(p.notice_at, 50);
        // No grace: past due and lapsed at the same second.
        assert_eq!(p.steps(Notice, 100), vec![PastDue, Lapsed]);
    }

    #[test]
    fn renewals_start_at_the_period_end_unless_lapsed() {
        assert_eq!(renewal_start(100, 20, 50), 100, "early");
        assert_eq!(renewal_start(100, 20, 110), 100, "late, inside grace");
        assert_eq!(renewal_start(100, 20, 119), 100, "the last second of grace");
        // Lapsed from the second validation answers `expired` and the subscription steps to lapsed.
        assert_eq!(renewal_start(100, 20, 120), 120, "lapsed");
        assert_eq!(renewal_start(100, 0, 100), 100, "no grace: lapsed at the end");
        assert_eq!(renewal_start(0, 0, 7), 7, "perpetual");
    }

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()).unwrap(), s);
        }
        assert!(State::parse("paused").is_err());
        for p in [Purpose::Purchase, Purpose::Renewal, Purpose::Upgrade] {
            assert_eq!(Purpose::try_from(p.as_str().to_string()).unwrap(), p);
        }
    }
}

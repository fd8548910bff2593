//! A tier's rules for machines beyond the seat count: offline leases,
//! buyers freeing their own seats, floating seats and one trial per machine.

use super::DomainError;

/// Default length of an offline lease (and an air-gapped grant): 7 days.
pub const DEFAULT_LEASE_SECONDS: i64 = 7 * 86_400;
/// Default number of self-service frees per [`RESET_WINDOW_SECONDS`].
pub const DEFAULT_SELF_RESET_LIMIT: i64 = 3;
/// The window `self_reset_limit` counts in: 30 days.
pub const RESET_WINDOW_SECONDS: i64 = 30 * 86_400;
/// Longest lease: 10 years.
const MAX_LEASE_SECONDS: i64 = 10 * 366 * 86_400;
/// Longest floating-seat timeout: a year.
const MAX_TIMEOUT_SECONDS: i64 = 366 * 86_400;

/// The machine rules of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineRules {
    /// How long an offline lease (`LEASE1`) or an air-gapped grant
    /// (`ACTR1`) runs, capped by the license's own expiry.
    pub lease_seconds: i64,
    /// Seats a buyer may free themselves (`/seats`, `POST /v1/machines/deactivate`
    /// by machine id or all) per 30 days; 0 = only the operator frees seats.
    pub self_reset_limit: i64,
    /// A seat not heard from for this long is freed by the scheduler; 0 = never.
    pub seat_timeout_seconds: i64,
    /// A trial of this tier refuses a machine that already held a trial of the product.
    pub one_trial_per_machine: bool,
}

impl Default for MachineRules {
    fn default() -> Self {
        MachineRules {
            lease_seconds: DEFAULT_LEASE_SECONDS,
            self_reset_limit: DEFAULT_SELF_RESET_LIMIT,
            seat_timeout_seconds: 0,
            one_trial_per_machine: false,
        }
    }
}

/// The fields of a create or patch body; absent fields keep their value.
#[derive(Debug, Default, Clone, Copy)]
pub struct MachineRulesInput {
    pub lease_seconds: Option<i64>,
    pub self_reset_limit: Option<i64>,
    pub seat_timeout_seconds: Option<i64>,
    pub one_trial_per_machine: Option<bool>,
}

impl MachineRules {
    /// These rules with `input` applied, each field checked.
    pub fn with(self, input: MachineRulesInput) -> Result<MachineRules, DomainError> {
        let mut r = self;
        if let Some(v) = input.lease_seconds {
            if !(60..=MAX_LEASE_SECONDS).contains(&v) {
                return Err(DomainError::invalid(
                    "lease_seconds",
                    format!("must be between 60 and {MAX_LEASE_SECONDS}"),
                ));
            }
            r.lease_seconds = v;
        }
        if let Some(v) = input.self_reset_limit {
            if !(0..=1000).contains(&v) {
                return Err(DomainError::invalid("self_reset_limit", "must be between 0 and 1000"));
            }
            r.self_reset_limit = v;
        }
        if let Some(v) = input.seat_timeout_seconds {
            if v != 0 && !(1..=MAX_TIMEOUT_SECONDS).contains(&v) {
                return Err(DomainError::invalid(
                    "seat_timeout_seconds",
                    format!("must be 0 (never) or between 1 and {MAX_TIMEOUT_SECONDS}"),
                ));
            }
            r.seat_timeout_seconds = v;
        }
        if let Some(v) = input.one_trial_per_machine {
            r.one_trial_per_machine = v;
        }
        Ok(r)
    }
}

/// When a lease issued at `now` ends: `lease_seconds` later, but never after
/// the license stops validating (`usable_until`: its expiry, or the end of
/// its grace period when in grace; 0 = perpetual). `None` when nothing is
/// left to grant.
pub fn lease_end(now: i64, lease_seconds: i64, usable_until: i64) -> Option<i64> {
    let end = now.saturating_add(lease_seconds.max(1));
    let end = if usable_until > 0 { end.min(usable_until) } else { end };
    (end > now).then_some(end)
}

/// Whether a buyer may free `wanted` more seats when `used` frees fall in
/// the window, the oldest at `oldest_at`; `Err(next_free_at)` says when the
/// next free becomes possible.
pub fn reset_allowed(limit: i64, used: i64, oldest_at: Option<i64>, now: i64) -> Result<(), Option<i64>> {
    if used < limit {
        return Ok(());
    }
    if limit == 0 {
        return Err(None);
    }
    Err(Some(oldest_at.map_or(now, |at| at + RESET_WINDOW_SECONDS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_checked() {
        let r = MachineRules::default();
        assert_eq!(r.lease_seconds, 604_800);
        let ok = r
            .with(MachineRulesInput {
                lease_seconds: Some(3600),
                self_reset_limit: Some(0),
                seat_timeout_seconds: Some(900),
                one_trial_per_machine: Some(true),
            })
            .unwrap();
        assert_eq!((ok.lease_seconds, ok.self_reset_limit, ok.seat_timeout_seconds), (3600, 0, 900));
        assert!(ok.one_trial_per_machine);
        for bad in [
            MachineRulesInput { lease_seconds: Some(0), ..Default::default() },
            MachineRulesInput { self_reset_limit: Some(-1), ..Default::default() },
            MachineRulesInput { seat_timeout_seconds: Some(-5), ..Default::default() },
        ] {
            assert_eq!(r.with(bad).unwrap_err().code(), "invalid_field");
        }
    }

    #[test]
    fn leases_end_with_the_license() {
        assert_eq!(lease_end(1000, 100, 0), Some(1100));
        assert_eq!(lease_end(1000, 100, 1050), Some(1050));
        assert_eq!(lease_end(1000, 100, 1000), None);
    }

    #[test]
    fn resets_say_when_the_next_one_is_possible() {
        assert_eq!(reset_allowed(3, 2, Some(10), 100), Ok(()));
        assert_eq!(reset_allowed(3, 3, Some(10), 100), Err(Some(10 + RESET_WINDOW_SECONDS)));
        assert_eq!(reset_allowed(0, 0, None, 100), Err(None));
    }
}

//! The invoice state machine. An invoice only moves forward: `pending` may
//! become anything; `expired` and `invalid` may still become `settled` (a
//! late payment, or the operator marking it paid at the provider); `settled`
//! is final. Older or repeated provider news never moves it back.

use schemars::JsonSchema;
use serde::Serialize;

use super::DomainError;

/// Our invoice's status, as `GET /v1/purchase/{id}` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    Pending,
    Settled,
    Expired,
    Invalid,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Pending => "pending",
            InvoiceStatus::Settled => "settled",
            InvoiceStatus::Expired => "expired",
            InvoiceStatus::Invalid => "invalid",
        }
    }

    pub fn parse(s: &str) -> Option<InvoiceStatus> {
        Some(match s {
            "pending" => InvoiceStatus::Pending,
            "settled" => InvoiceStatus::Settled,
            "expired" => InvoiceStatus::Expired,
            "invalid" => InvoiceStatus::Invalid,
            _ => return None,
        })
    }
}

impl TryFrom<String> for InvoiceStatus {
    type Error = DomainError;
    fn try_from(s: String) -> Result<InvoiceStatus, DomainError> {
        InvoiceStatus::parse(&s).ok_or_else(|| {
            DomainError::invalid("status", format!("'{s}' is not one of pending, settled, expired, invalid"))
        })
    }
}

/// What a payment provider says about an invoice (from a webhook or a look-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Created, nothing paid yet.
    New,
    /// Paid in full, waiting for confirmations.
    Processing,
    Settled,
    Expired,
    Invalid,
}

/// What to do with our invoice given news from the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changes (old, repeated or uninformative news).
    None,
    /// Still pending; payment seen and confirming.
    MarkProcessing,
    /// Paid: fulfil.
    Settle,
    /// Close without a license (and release any reserved code use).
    Close(InvoiceStatus),
}

/// The transition for `observed` news about an invoice in `current` state
/// (`processing`: a payment was already seen).
pub fn transition(current: InvoiceStatus, processing: bool, observed: Observed) -> Transition {
    use InvoiceStatus::*;
    match (current, observed) {
        (Settled, _) => Transition::None,
        (_, Observed::Settled) => Transition::Settle,
        (Pending, Observed::Processing) if !processing => Transition::MarkProcessing,
        (Pending, Observed::Expired) => Transition::Close(Expired),
        (Pending, Observed::Invalid) => Transition::Close(Invalid),
        _ => Transition::None,
    }
}

/// What a provider says one of its invoices charges, and in which store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charged {
    pub store_id: Option<String>,
    /// A decimal string, as the provider writes it.
    pub amount: String,
    pub currency: String,
}

/// What we asked for: our invoice's amount and the store we are connected to.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub store_id: Option<&'a str>,
    pub amount_sats: i64,
    /// A fiat invoice's amount and currency.
    pub fiat: Option<(&'a str, &'a str)>,
}

/// Whether the provider invoice is the one we asked for: same store, same
/// currency, same amount. A difference (an invoice made by hand in the store
/// carrying our order id, or another store's) is described, and must not
/// settle ours.
pub fn check_charged(asked: Asked<'_>, got: &Charged) -> Result<(), String> {
    if let (Some(want), Some(have)) = (asked.store_id, got.store_id.as_deref()) {
        if want != have {
            return Err(format!("the provider invoice belongs to store {have}, not the connected store {want}"));
        }
    }
    let sats = asked.amount_sats.to_string();
    let (amount, currency) = asked.fiat.unwrap_or((sats.as_str(), "SATS"));
    if !got.currency.eq_ignore_ascii_case(currency) {
        return Err(format!("the provider invoice is in {}, ours in {currency}", got.currency));
    }
    match (decimal(&got.amount), decimal(amount)) {
        (Some(g), Some(w)) if g == w => Ok(()),
        _ => Err(format!("the provider invoice is for {} {}, ours for {amount} {currency}", got.amount, got.currency)),
    }
}

/// A non-negative decimal in one spelling: no leading zeros, no trailing
/// fractional zeros (`"0100.50"` → `"100.5"`); `None` when it is not one.
fn decimal(s: &str) -> Option<String> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    Some(if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use InvoiceStatus::*;

    #[test]
    fn settled_is_final() {
        for o in [Observed::New, Observed::Processing, Observed::Settled, Observed::Expired, Observed::Invalid] {
            assert_eq!(transition(Settled, false, o), Transition::None);
        }
    }

    #[test]
    fn closed_invoices_can_still_be_paid() {
        assert_eq!(transition(Expired, false, Observed::Settled), Transition::Settle);
        assert_eq!(transition(Invalid, false, Observed::Settled), Transition::Settle);
        assert_eq!(transition(Expired, false, Observed::Invalid), Transition::None);
        assert_eq!(transition(Invalid, false, Observed::Expired), Transition::None);
        assert_eq!(transition(Expired, false, Observed::Processing), Transition::None);
    }

    #[test]
    fn pending_moves_forward_only() {
        assert_eq!(transition(Pending, false, Observed::New), Transition::None);
        assert_eq!(transition(Pending, false, Observed::Processing), Transition::MarkProcessing);
        assert_eq!(transition(Pending, true, Observed::Processing), Transition::None);
        assert_eq!(transition(Pending, true, Observed::New), Transition::None);
        assert_eq!(transition(Pending, true, Observed::Expired), Transition::Close(Expired));
        assert_eq!(transition(Pending, false, Observed::Invalid), Transition::Close(Invalid));
        assert_eq!(transition(Pending, true, Observed::Settled), Transition::Settle);
    }

    fn charged(store: &str, amount: &str, currency: &str) -> Charged {
        Charged { store_id: Some(store.into()), amount: amount.into(), currency: currency.into() }
    }

    #[test]
    fn a_provider_invoice_settles_ours_only_when_it_is_ours() {
        let sats = Asked { store_id: Some("S1"), amount_sats: 2100, fiat: None };
        assert_eq!(check_charged(sats, &charged("S1", "2100", "SATS")), Ok(()));
        assert_eq!(check_charged(sats, &charged("S1", "2100.000", "sats")), Ok(()));
        assert!(check_charged(sats, &charged("S1", "21", "SATS")).is_err());
        assert!(check_charged(sats, &charged("S2", "2100", "SATS")).is_err());
        assert!(check_charged(sats, &charged("S1", "2100", "USD")).is_err());
        assert!(check_charged(sats, &charged("S1", "lots", "SATS")).is_err());
        let fiat = Asked { store_id: Some("S1"), amount_sats: 0, fiat: Some(("49.00", "USD")) };
        assert_eq!(check_charged(fiat, &charged("S1", "49", "USD")), Ok(()));
        assert!(check_charged(fiat, &charged("S1", "0", "USD")).is_err());
        assert!(check_charged(fiat, &charged("S1", "49.00", "EUR")).is_err());
        assert!(check_charged(fiat, &charged("S1", "4900", "SATS")).is_err());
        // A provider that names no store is judged on amount and currency.
        let unknown_store = Charged { store_id: None, amount: "2100".into(), currency: "SATS".into() };
        assert_eq!(check_charged(sats, &unknown_store), Ok(()));
    }
}

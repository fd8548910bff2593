//! The invoice state machine. An invoice only moves forward: `pending` may
//! become anything; `expired` and `invalid` may still become `settled` (a
//! late payment, or the operator marking it paid at the provider); `settled`
//! is final. Older or repeated provider news never moves it back.

use serde::Serialize;

/// Our invoice's status, as `GET /v1/purchase/{id}` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

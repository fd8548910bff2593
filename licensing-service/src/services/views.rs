//! The typed answers of the operator's use cases: what `/v1/admin/*` and the
//! StartOS actions see. Times are [`Timestamp`]s (RFC 3339 UTC on the wire);
//! a license has one shape wherever it appears.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::db::audit::AuditRow;
use crate::db::email::Email;
use crate::db::events::LoggedEvent;
use crate::db::licenses::License;
use crate::db::machines::Machine;
use crate::db::nostr::Message;
use crate::db::sales::Sale;
use crate::domain::catalog::{Entitlement, Policy, Product};
use crate::domain::license::LicenseStatus;
use crate::domain::npub::Npub;
use crate::domain::slug::Slug;
use crate::domain::time::Timestamp;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProductView {
    pub id: Uuid,
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub price_sats: i64,
    pub active: bool,
    pub entitlements_catalog: Vec<Entitlement>,
    pub homepage_url: Option<String>,
    pub download_url: Option<String>,
    pub key_instructions: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> ProductView {
        ProductView {
            id: p.id,
            slug: p.slug.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            price_sats: p.price_sats,
            active: p.active,
            entitlements_catalog: p.entitlements_catalog.clone(),
            homepage_url: p.homepage_url.clone(),
            download_url: p.download_url.clone(),
            key_instructions: p.key_instructions.clone(),
            created_at: Timestamp(p.created_at),
            updated_at: Timestamp(p.updated_at),
        }
    }
}

/// A product with its policies (tiers).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProductDetails {
    #[serde(flatten)]
    pub product: ProductView,
    pub policies: Vec<PolicyView>,
}

/// A policy (tier) as the operator sees it: every field.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyView {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product_slug: Slug,
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub price_sats: i64,
    pub price_amount: Option<String>,
    pub price_currency: Option<String>,
    pub duration_seconds: i64,
    pub grace_seconds: i64,
    pub max_machines: i64,
    pub entitlements: Vec<Slug>,
    pub is_trial: bool,
    pub public: bool,
    pub highlighted: bool,
    pub tier_rank: Option<i64>,
    pub archived: bool,
    pub is_recurring: bool,
    pub renewal_period_days: Option<i64>,
    pub renewal_notice_seconds: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub lease_seconds: i64,
    pub self_reset_limit: i64,
    pub seat_timeout_seconds: i64,
    pub one_trial_per_machine: bool,
}

impl PolicyView {
    pub fn new(p: &Policy, product_slug: &Slug) -> PolicyView {
        PolicyView {
            id: p.id,
            product_id: p.product_id,
            product_slug: product_slug.clone(),
            slug: p.slug.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            price_sats: p.price_sats,
            price_amount: p.fiat_price.as_ref().map(|f| f.amount.clone()),
            price_currency: p.fiat_price.as_ref().map(|f| f.currency.clone()),
            duration_seconds: p.duration_seconds,
            grace_seconds: p.grace_seconds,
            max_machines: p.max_machines,
            entitlements: p.entitlements.clone(),
            is_trial: p.is_trial,
            public: p.public,
            highlighted: p.highlighted,
            tier_rank: p.tier_rank,
            archived: p.archived,
            is_recurring: p.is_recurring,
            renewal_period_days: p.renewal_period_days,
            renewal_notice_seconds: p.renewal_notice_seconds,
            created_at: Timestamp(p.created_at),
            updated_at: Timestamp(p.updated_at),
            lease_seconds: p.machine_rules.lease_seconds,
            self_reset_limit: p.machine_rules.self_reset_limit,
            seat_timeout_seconds: p.machine_rules.seat_timeout_seconds,
            one_trial_per_machine: p.machine_rules.one_trial_per_machine,
        }
    }
}

/// A license, the one shape: issued, listed, searched, shown, changed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LicenseView {
    pub license_id: Uuid,
    pub license_key: String,
    /// The product and tier it is of.
    #[serde(flatten)]
    pub of: TierRef,
    pub status: LicenseStatus,
    pub issued_at: Timestamp,
    /// Null: perpetual.
    pub expires_at: Option<Timestamp>,
    pub grace_seconds: i64,
    pub max_machines: i64,
    pub entitlements: Vec<String>,
    pub is_trial: bool,
    pub fingerprint: Option<String>,
    pub buyer_email: Option<String>,
    /// bech32.
    pub buyer_npub: Option<String>,
    pub note: Option<String>,
    pub source: String,
    pub invoice_id: Option<String>,
    pub revoked_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// What the buyer paid: sats for a sat-priced tier (null when free, by
    /// hand, or fiat-priced), the fiat amount and currency as charged.
    pub amount_paid_sats: Option<i64>,
    pub amount_paid_fiat: Option<String>,
    pub paid_currency: Option<String>,
    /// The discount code the invoice used.
    pub code: Option<String>,
}

/// What a license or an invoice is of: the product and the tier by id,
/// slug and name (slug and name null if it is gone). Flattened into its answer.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TierRef {
    pub product_id: Uuid,
    pub product_slug: Option<Slug>,
    pub product_name: Option<String>,
    pub policy_id: Uuid,
    pub policy_slug: Option<Slug>,
    pub policy_name: Option<String>,
}

impl TierRef {
    pub fn new(product_id: Uuid, policy_id: Uuid, names: &impl CatalogNames) -> TierRef {
        let product = names.product(product_id);
        let policy = names.policy(policy_id);
        TierRef {
            product_id,
            product_slug: product.map(|p| p.0.clone()),
            product_name: product.map(|p| p.1.to_string()),
            policy_id,
            policy_slug: policy.map(|p| p.0.clone()),
            policy_name: policy.map(|p| p.1.to_string()),
        }
    }
}

/// Slugs and names of the catalogue, to name what a license is of.
pub trait CatalogNames {
    fn product(&self, id: Uuid) -> Option<(&Slug, &str)>;
    fn policy(&self, id: Uuid) -> Option<(&Slug, &str)>;
}

impl LicenseView {
    pub fn new(l: &License, names: &impl CatalogNames) -> LicenseView {
        LicenseView {
            license_id: l.id,
            license_key: l.license_key.clone(),
            of: TierRef::new(l.product_id, l.policy_id, names),
            status: l.status,
            issued_at: Timestamp(l.issued_at),
            expires_at: Timestamp::or_never(l.expires_at),
            grace_seconds: l.grace_seconds,
            max_machines: l.max_machines,
            entitlements: l.entitlements.clone(),
            is_trial: l.is_trial,
            fingerprint: l.fingerprint.clone(),
            buyer_email: l.buyer_email.clone(),
            buyer_npub: l.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok()).map(|n| n.to_bech32()),
            note: l.note.clone(),
            source: l.source.clone(),
            invoice_id: l.invoice_id.clone(),
            revoked_reason: l.revoked_reason.clone(),
            created_at: Timestamp(l.created_at),
            updated_at: Timestamp(l.updated_at),
            amount_paid_sats: None,
            amount_paid_fiat: None,
            paid_currency: None,
            code: None,
        }
    }

    /// Adds what the license's invoice was paid with.
    pub fn paid_with(&mut self, sale: &Sale) {
        match (&sale.price_amount, &sale.price_currency) {
            (Some(amount), Some(currency)) => {
                self.amount_paid_fiat = Some(amount.clone());
                self.paid_currency = Some(currency.clone());
            }
            _ => self.amount_paid_sats = Some(sale.amount_sats),
        }
        self.code = sale.code.clone();
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MachineView {
    pub id: Uuid,
    pub license_id: Uuid,
    pub fingerprint: String,
    pub hostname: Option<String>,
    pub platform: Option<String>,
    pub active: bool,
    pub activated_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub deactivated_at: Option<Timestamp>,
    pub deactivation_reason: Option<String>,
}

impl From<&Machine> for MachineView {
    fn from(m: &Machine) -> MachineView {
        MachineView {
            id: m.id,
            license_id: m.license_id,
            fingerprint: m.fingerprint.clone(),
            hostname: m.hostname.clone(),
            platform: m.platform.clone(),
            active: m.active,
            activated_at: Timestamp(m.activated_at),
            last_seen_at: Timestamp(m.last_seen_at),
            deactivated_at: m.deactivated_at.map(Timestamp),
            deactivation_reason: m.deactivation_reason.clone(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: Value,
}

impl From<&AuditRow> for AuditEntry {
    fn from(a: &AuditRow) -> AuditEntry {
        AuditEntry {
            id: a.id,
            at: Timestamp(a.record.at),
            actor: a.record.actor.clone(),
            action: a.record.action.clone(),
            target_type: a.record.target_type.clone(),
            target_id: a.record.target_id.clone(),
            details: serde_json::from_str(&a.record.details).unwrap_or(Value::Null),
        }
    }
}

/// How the DM delivering a license stands.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NostrDelivery {
    pub state: String,
    pub recipient_npub: String,
    pub attempts: i64,
    /// While pending: when the next attempt is due.
    pub next_attempt_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub event_id: Option<String>,
    pub relays_accepted: Vec<String>,
    pub queued_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

impl From<&Message> for NostrDelivery {
    fn from(m: &Message) -> NostrDelivery {
        NostrDelivery {
            state: m.state.clone(),
            recipient_npub: Npub::parse(&m.recipient).map(|n| n.to_bech32()).unwrap_or_else(|_| m.recipient.clone()),
            attempts: m.attempts,
            next_attempt_at: (m.state == "pending").then_some(Timestamp(m.next_attempt_at)),
            last_error: m.last_error.clone(),
            event_id: m.event_id.clone(),
            relays_accepted: serde_json::from_str(&m.acked_by).unwrap_or_default(),
            queued_at: Timestamp(m.created_at),
            delivered_at: m.delivered_at.map(Timestamp),
        }
    }
}

/// How an e-mail about a license stands.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EmailDelivery {
    /// `license` (the key or a notice about it), `refund`.
    pub kind: String,
    /// What it said when not the key as issued: `renewal_due`, `renewed`, `upgraded`, `updated`.
    pub notice: Option<String>,
    /// `pending`, `delivered` or `failed` (given up).
    pub state: String,
    pub to: String,
    pub attempts: i64,
    /// While pending: when the next attempt is due.
    pub next_attempt_at: Option<Timestamp>,
    pub last_error: Option<String>,
    /// What the SMTP server answered when it took the mail.
    pub server_reply: Option<String>,
    pub queued_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

impl From<&Email> for EmailDelivery {
    fn from(m: &Email) -> EmailDelivery {
        EmailDelivery {
            kind: m.kind.clone(),
            notice: m.notice.clone(),
            state: m.state.clone(),
            to: m.recipient.clone(),
            attempts: m.attempts,
            next_attempt_at: (m.state == "pending").then_some(Timestamp(m.next_attempt_at)),
            last_error: m.last_error.clone(),
            server_reply: m.server_reply.clone(),
            queued_at: Timestamp(m.created_at),
            delivered_at: m.delivered_at.map(Timestamp),
        }
    }
}

/// Validations of a license, folded as the log keeps them.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ValidationView {
    pub at: Timestamp,
    pub fingerprint: Option<String>,
    pub client_ip: Option<String>,
    pub result: String,
    pub count: i64,
    pub distinct_addresses: i64,
}

impl From<&LoggedEvent> for ValidationView {
    fn from(e: &LoggedEvent) -> ValidationView {
        ValidationView {
            at: Timestamp(e.at),
            fingerprint: e.fingerprint.clone(),
            client_ip: e.client_ip.clone(),
            result: e.result.clone(),
            count: e.count,
            distinct_addresses: e.ip_count,
        }
    }
}

/// A license with everything the operator looks at for support.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LicenseDetails {
    #[serde(flatten)]
    pub license: LicenseView,
    pub active_machines: usize,
    pub machines: Vec<MachineView>,
    pub audit: Vec<AuditEntry>,
    pub nostr_delivery: Option<NostrDelivery>,
    /// The latest e-mail about the license, when e-mail is on and the buyer gave an address.
    pub email_delivery: Option<EmailDelivery>,
    pub recent_validations: Vec<ValidationView>,
    /// Its subscription, when it is of a recurring tier.
    pub subscription: Option<super::subscriptions::SubscriptionView>,
}

/// An invoice as the operator sees it: what was asked, by whom, what it became.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InvoiceView {
    pub invoice_id: Uuid,
    pub status: crate::domain::invoice::InvoiceStatus,
    /// A payment was seen and is confirming.
    pub processing: bool,
    pub provider: String,
    pub provider_invoice_id: Option<String>,
    /// The product and tier it is for.
    #[serde(flatten)]
    pub of: TierRef,
    /// Sats asked (after any code); for a fiat-priced tier, the sat price it also had.
    pub amount_sats: i64,
    pub base_price_sats: i64,
    pub discount_sats: i64,
    /// Fiat amount and currency asked of the provider, after any code.
    pub price_amount: Option<String>,
    pub price_currency: Option<String>,
    pub code: Option<String>,
    pub buyer_email: Option<String>,
    /// bech32.
    pub buyer_npub: Option<String>,
    pub buyer_note: Option<String>,
    pub license_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub settled_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

impl InvoiceView {
    pub fn new(r: &crate::db::sales::InvoiceRow, names: &impl CatalogNames) -> InvoiceView {
        let i = &r.invoice;
        InvoiceView {
            invoice_id: i.id,
            status: i.status,
            processing: i.processing,
            provider: i.provider.clone(),
            provider_invoice_id: i.provider_invoice_id.clone(),
            of: TierRef::new(i.product_id, i.policy_id, names),
            amount_sats: i.amount_sats,
            base_price_sats: i.base_price_sats,
            discount_sats: i.discount_sats,
            price_amount: i.price_amount.clone(),
            price_currency: i.price_currency.clone(),
            code: r.code.clone(),
            buyer_email: i.buyer_email.clone(),
            buyer_npub: i.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok()).map(|n| n.to_bech32()),
            buyer_note: i.buyer_note.clone(),
            license_id: r.license_id,
            created_at: Timestamp(i.created_at),
            updated_at: Timestamp(i.updated_at),
            settled_at: i.settled_at.map(Timestamp),
            closed_at: i.closed_at.map(Timestamp),
        }
    }
}

/// The provider's side of an invoice, asked now.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProviderInvoiceView {
    /// `new`, `processing`, `settled`, `expired` or `invalid`; null when the provider could not be asked.
    pub state: Option<&'static str>,
    pub charged_amount: Option<String>,
    pub charged_currency: Option<String>,
    /// Why the provider could not be asked.
    pub error: Option<String>,
}

/// A provider delivery (webhook) received about an invoice.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProviderDeliveryView {
    pub delivery_id: String,
    pub event_type: String,
    pub received_at: Timestamp,
}

/// An invoice with the provider's view, the deliveries received and its license.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InvoiceDetails {
    #[serde(flatten)]
    pub invoice: InvoiceView,
    pub provider_invoice: Option<ProviderInvoiceView>,
    pub deliveries: Vec<ProviderDeliveryView>,
    /// Why the provider's invoice did not settle this one, if it did not.
    pub mismatch: Option<String>,
    pub license: Option<LicenseView>,
    /// Its refund, once asked for (with a bitcoin refund's claim link).
    pub refund: Option<super::refunds::RefundView>,
}

/// Money in one currency, as charged (a decimal string).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, JsonSchema)]
pub struct FiatAmount {
    pub currency: String,
    pub amount: String,
}

/// Sales of one group (or all of them).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RevenueLine {
    /// The group: a day `2026-12-01`, an ISO week `2026-W49`, a month
    /// `2026-12`, a product or tier (`product/tier`) slug, a code, a provider;
    /// absent in the totals. A sale without a code is in the group `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Option<String>>,
    /// Settled invoices.
    pub sales: i64,
    /// Sats settled on sat-priced tiers.
    pub sats: i64,
    /// Fiat settled on fiat-priced tiers, per currency, as charged.
    pub fiat: Vec<FiatAmount>,
    /// Refunded in the period (sats-priced sales), already subtracted from `sats`.
    pub refunded_sats: i64,
    /// Refunded in the period (fiat-priced sales), per currency, already subtracted from `fiat`.
    pub refunded_fiat: Vec<FiatAmount>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Revenue {
    pub from: Timestamp,
    pub to: Timestamp,
    pub group_by: Option<&'static str>,
    pub totals: RevenueLine,
    pub groups: Vec<RevenueLine>,
}

/// A buyer: every e-mail address and npub used together on one order or
/// license, with what they hold and paid.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CustomerView {
    /// `cus_…`, stable while the customer's identities stay the same.
    pub customer_id: String,
    pub emails: Vec<String>,
    /// bech32.
    pub npubs: Vec<String>,
    pub license_ids: Vec<Uuid>,
    /// Settled invoices.
    pub sales: i64,
    pub total_paid_sats: i64,
    pub total_paid_fiat: Vec<FiatAmount>,
    pub first_purchase_at: Timestamp,
    pub last_purchase_at: Timestamp,
}

/// A customer with their licenses in full.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CustomerDetails {
    #[serde(flatten)]
    pub customer: CustomerView,
    pub licenses: Vec<LicenseView>,
}

/// The seats freed by resetting a license.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SeatsReset {
    pub license_id: Uuid,
    pub freed: usize,
    pub machines: Vec<MachineView>,
}

/// A key sent again.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Resent {
    pub license_id: Uuid,
    /// `nostr` or `email`.
    pub channel: &'static str,
    /// The npub (bech32) or the e-mail address it goes to.
    pub recipient: String,
    /// The npub, when sent by Nostr.
    pub recipient_npub: Option<String>,
    pub queued_at: Timestamp,
}

/// A license with everything support looks at: machines, audit trail and
/// validations (as in its details), its invoice in full and every delivery.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LicenseSupport {
    #[serde(flatten)]
    pub details: LicenseDetails,
    pub invoice: Option<InvoiceDetails>,
    /// Every DM that carried the key, newest first.
    pub deliveries: Vec<NostrDelivery>,
    /// Every e-mail about the license (its key, notices, refunds), newest first.
    pub email_deliveries: Vec<EmailDelivery>,
}

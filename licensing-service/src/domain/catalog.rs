//! Products, their entitlement catalogue, and policies (tiers): the rules a
//! create or a patch must satisfy.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::machine_rules::{MachineRules, MachineRulesInput};
use super::seller::web_url;
use super::{nullable, optional_text, required_text, DomainError, Slug};

/// One entry of a product's entitlement catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entitlement {
    pub slug: Slug,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: Uuid,
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub price_sats: i64,
    pub active: bool,
    pub entitlements_catalog: Vec<Entitlement>,
    /// Links shown to buyers: the product's page and where to download it.
    pub homepage_url: Option<String>,
    pub download_url: Option<String>,
    /// What to do with the key, shown with it.
    pub key_instructions: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Body of a product create or patch; absent fields keep their value.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_sats: Option<i64>,
    pub active: Option<bool>,
    pub entitlements_catalog: Option<Vec<Entitlement>>,
    /// The product's web page (http or https); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    pub homepage_url: Option<Option<String>>,
    /// Where buyers download the application (http or https); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    pub download_url: Option<Option<String>>,
    /// What to do with the key, shown beside it (at most 2000 characters); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    pub key_instructions: Option<Option<String>>,
}

const NAME_MAX: usize = 120;
const DESCRIPTION_MAX: usize = 4000;
const INSTRUCTIONS_MAX: usize = 2000;

fn sats(field: &'static str, v: i64) -> Result<i64, DomainError> {
    // 21M BTC in sats bounds every real price.
    if !(0..=2_100_000_000_000_000).contains(&v) {
        return Err(DomainError::invalid(field, "must be a whole number of sats, 0 or more"));
    }
    Ok(v)
}

fn catalog(entries: Vec<Entitlement>) -> Result<Vec<Entitlement>, DomainError> {
    let field = "entitlements_catalog";
    if entries.len() > 255 {
        return Err(DomainError::invalid(field, "at most 255 entitlements"));
    }
    let mut seen = std::collections::HashSet::new();
    entries
        .into_iter()
        .map(|e| {
            if !seen.insert(e.slug.clone()) {
                return Err(DomainError::invalid(field, format!("'{}' is listed twice", e.slug)));
            }
            Ok(Entitlement {
                name: required_text("entitlements_catalog.name", &e.name, NAME_MAX)?,
                description: optional_text("entitlements_catalog.description", Some(e.description), DESCRIPTION_MAX)?
                    .unwrap_or_default(),
                slug: e.slug,
            })
        })
        .collect()
}

impl Product {
    /// A new product from a create body (slug, name and price_sats required).
    pub fn create(input: ProductInput, now: i64) -> Result<Product, DomainError> {
        let slug =
            input.slug.as_deref().ok_or_else(|| DomainError::invalid("slug", "is required")).and_then(Slug::parse)?;
        let name = input.name.as_deref().ok_or_else(|| DomainError::invalid("name", "is required"))?;
        let price = input.price_sats.ok_or_else(|| DomainError::invalid("price_sats", "is required"))?;
        Ok(Product {
            id: Uuid::new_v4(),
            slug,
            name: required_text("name", name, NAME_MAX)?,
            description: optional_text("description", input.description, DESCRIPTION_MAX)?.unwrap_or_default(),
            price_sats: sats("price_sats", price)?,
            active: input.active.unwrap_or(true),
            entitlements_catalog: catalog(input.entitlements_catalog.unwrap_or_default())?,
            homepage_url: web_url("homepage_url", input.homepage_url.flatten())?,
            download_url: web_url("download_url", input.download_url.flatten())?,
            key_instructions: optional_text("key_instructions", input.key_instructions.flatten(), INSTRUCTIONS_MAX)?,
            created_at: now,
            updated_at: now,
        })
    }

    /// This product with a patch applied. The slug is permanent (buy links and
    /// issued keys' applications refer to it).
    pub fn patched(&self, input: ProductInput, now: i64) -> Result<Product, DomainError> {
        if let Some(s) = &input.slug {
            if s != self.slug.as_str() {
                return Err(DomainError::invalid("slug", "cannot be changed"));
            }
        }
        let mut p = self.clone();
        if let Some(n) = input.name {
            p.name = required_text("name", &n, NAME_MAX)?;
        }
        if let Some(d) = input.description {
            p.description = optional_text("description", Some(d), DESCRIPTION_MAX)?.unwrap_or_default();
        }
        if let Some(v) = input.price_sats {
            p.price_sats = sats("price_sats", v)?;
        }
        if let Some(a) = input.active {
            p.active = a;
        }
        if let Some(c) = input.entitlements_catalog {
            p.entitlements_catalog = catalog(c)?;
        }
        if let Some(u) = input.homepage_url {
            p.homepage_url = web_url("homepage_url", u)?;
        }
        if let Some(u) = input.download_url {
            p.download_url = web_url("download_url", u)?;
        }
        if let Some(t) = input.key_instructions {
            p.key_instructions = optional_text("key_instructions", t, INSTRUCTIONS_MAX)?;
        }
        p.updated_at = now;
        Ok(p)
    }

    /// Buyers can see it and buy from it.
    pub fn on_sale(&self) -> bool {
        self.active
    }

    pub fn has_entitlement(&self, slug: &Slug) -> bool {
        self.entitlements_catalog.iter().any(|e| &e.slug == slug)
    }
}

/// A policy (tier) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: Uuid,
    pub product_id: Uuid,
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub price_sats: i64,
    pub fiat_price: Option<FiatPrice>,
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
    /// How long before a period ends the buyer is asked to renew (recurring tiers).
    pub renewal_notice_seconds: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Leases, self-service frees, floating seats, one trial per machine.
    pub machine_rules: MachineRules,
}

/// A fiat price: a positive decimal string and an ISO 4217 code, handed to
/// the payment provider as they are (never a float).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiatPrice {
    pub amount: String,
    pub currency: String,
}

impl FiatPrice {
    pub fn parse(amount: &str, currency: &str) -> Result<FiatPrice, DomainError> {
        let amount = amount.trim();
        let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let nonzero = amount.bytes().any(|b| (b'1'..=b'9').contains(&b));
        if int.is_empty()
            || int.len() > 12
            || frac.len() > 8
            || !digits(int)
            || !digits(frac)
            || (amount.contains('.') && frac.is_empty())
            || !nonzero
        {
            return Err(DomainError::invalid(
                "price_amount",
                format!("'{amount}' is not a positive decimal amount such as 19.99"),
            ));
        }
        let currency = currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(DomainError::invalid(
                "price_currency",
                format!("'{currency}' is not a three-letter currency code such as USD"),
            ));
        }
        Ok(FiatPrice { amount: amount.to_string(), currency })
    }
}

/// Body of a policy create or patch; absent fields keep their value.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_sats: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub price_amount: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub price_currency: Option<Option<String>>,
    pub duration_seconds: Option<i64>,
    pub grace_seconds: Option<i64>,
    pub max_machines: Option<i64>,
    pub entitlements: Option<Vec<Slug>>,
    pub is_trial: Option<bool>,
    pub public: Option<bool>,
    pub highlighted: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub tier_rank: Option<Option<i64>>,
    pub archived: Option<bool>,
    pub lease_seconds: Option<i64>,
    pub self_reset_limit: Option<i64>,
    pub seat_timeout_seconds: Option<i64>,
    pub one_trial_per_machine: Option<bool>,
    pub is_recurring: Option<bool>,
    pub renewal_notice_seconds: Option<i64>,
}

impl PolicyInput {
    /// The machine-rule fields of the body.
    fn machine_rules(&self) -> MachineRulesInput {
        MachineRulesInput {
            lease_seconds: self.lease_seconds,
            self_reset_limit: self.self_reset_limit,
            seat_timeout_seconds: self.seat_timeout_seconds,
            one_trial_per_machine: self.one_trial_per_machine,
        }
    }
}

/// A week: when a subscription's buyer is asked to renew, unless the tier says.
pub const DEFAULT_RENEWAL_NOTICE_SECONDS: i64 = 7 * 86_400;

/// Longest term a policy may grant: 100 years.
const MAX_SECONDS: i64 = 100 * 366 * 86_400;

impl Policy {
    /// Buyers can see this tier and buy it (it is public and not archived).
    pub fn on_sale(&self) -> bool {
        self.public && !self.archived
    }

    /// A new policy for `product` from a create body (slug and name required;
    /// price_sats defaults to the product's price).
    pub fn create(product: &Product, input: PolicyInput, now: i64) -> Result<Policy, DomainError> {
        let slug =
            input.slug.as_deref().ok_or_else(|| DomainError::invalid("slug", "is required")).and_then(Slug::parse)?;
        let name = input.name.clone().ok_or_else(|| DomainError::invalid("name", "is required"))?;
        let blank = Policy {
            id: Uuid::new_v4(),
            product_id: product.id,
            slug,
            name,
            description: String::new(),
            price_sats: product.price_sats,
            fiat_price: None,
            duration_seconds: 0,
            grace_seconds: 0,
            max_machines: 0,
            entitlements: Vec::new(),
            is_trial: false,
            public: true,
            highlighted: false,
            tier_rank: None,
            archived: false,
            is_recurring: false,
            renewal_period_days: None,
            renewal_notice_seconds: DEFAULT_RENEWAL_NOTICE_SECONDS,
            created_at: now,
            updated_at: now,
            machine_rules: MachineRules::default(),
        };
        blank.apply(product, PolicyInput { slug: None, ..input }, now)
    }

    /// This policy with a patch applied; the slug is permanent.
    pub fn patched(&self, product: &Product, input: PolicyInput, now: i64) -> Result<Policy, DomainError> {
        if let Some(s) = &input.slug {
            if s != self.slug.as_str() {
                return Err(DomainError::invalid("slug", "cannot be changed"));
            }
        }
        self.apply(product, PolicyInput { slug: None, ..input }, now)
    }

    fn apply(&self, product: &Product, input: PolicyInput, now: i64) -> Result<Policy, DomainError> {
        let mut p = self.clone();
        let rules = input.machine_rules();
        if let Some(n) = input.name {
            p.name = required_text("name", &n, NAME_MAX)?;
        }
        p.name = required_text("name", &p.name, NAME_MAX)?;
        if let Some(d) = input.description {
            p.description = optional_text("description", Some(d), DESCRIPTION_MAX)?.unwrap_or_default();
        }
        if let Some(v) = input.price_sats {
            p.price_sats = sats("price_sats", v)?;
        }
        p.fiat_price = match (input.price_amount, input.price_currency) {
            (None, None) => p.fiat_price,
            (Some(None), Some(None)) | (Some(None), None) | (None, Some(None)) => None,
            (Some(Some(a)), Some(Some(c))) => Some(FiatPrice::parse(&a, &c)?),
            (Some(Some(a)), None) => match &p.fiat_price {
                Some(old) => Some(FiatPrice::parse(&a, &old.currency)?),
                None => return Err(DomainError::invalid("price_currency", "is required with price_amount")),
            },
            (None, Some(Some(c))) => match &p.fiat_price {
                Some(old) => Some(FiatPrice::parse(&old.amount, &c)?),
                None => return Err(DomainError::invalid("price_amount", "is required with price_currency")),
            },
            _ => {
                return Err(DomainError::invalid(
                    "price_amount",
                    "price_amount and price_currency are set or cleared together",
                ))
            }
        };
        if let Some(v) = input.duration_seconds {
            p.duration_seconds = bounded("duration_seconds", v, MAX_SECONDS)?;
        }
        if let Some(v) = input.grace_seconds {
            p.grace_seconds = bounded("grace_seconds", v, MAX_SECONDS)?;
        }
        if let Some(v) = input.max_machines {
            p.max_machines = bounded("max_machines", v, 100_000)?;
        }
        if let Some(list) = input.entitlements {
            let mut list = list;
            list.sort();
            list.dedup();
            if let Some(missing) = list.iter().find(|e| !product.has_entitlement(e)) {
                return Err(DomainError::invalid(
                    "entitlements",
                    format!("'{missing}' is not in the product's entitlements_catalog"),
                ));
            }
            p.entitlements = list;
        }
        if let Some(v) = input.is_trial {
            p.is_trial = v;
        }
        if p.is_trial && p.duration_seconds == 0 {
            return Err(DomainError::invalid("duration_seconds", "a trial policy needs a duration"));
        }
        if let Some(v) = input.public {
            p.public = v;
        }
        if let Some(v) = input.highlighted {
            p.highlighted = v;
        }
        if let Some(rank) = input.tier_rank {
            if let Some(r) = rank {
                bounded("tier_rank", r, 1000)?;
            }
            p.tier_rank = rank;
        }
        if let Some(v) = input.archived {
            p.archived = v;
        }
        p.machine_rules = p.machine_rules.with(rules)?;
        p.apply_recurring(input.is_recurring, input.renewal_notice_seconds)?;
        p.updated_at = now;
        Ok(p)
    }

    /// A recurring tier sells a subscription: each period lasts
    /// `duration_seconds` (`renewal_period_days` is that in whole days, for
    /// display), and the buyer is asked to renew `renewal_notice_seconds`
    /// before it ends (less than the period).
    fn apply_recurring(&mut self, recurring: Option<bool>, notice: Option<i64>) -> Result<(), DomainError> {
        if let Some(v) = recurring {
            self.is_recurring = v;
        }
        if let Some(v) = notice {
            self.renewal_notice_seconds = bounded("renewal_notice_seconds", v, MAX_SECONDS)?;
        }
        if !self.is_recurring {
            self.renewal_period_days = None;
            return Ok(());
        }
        if self.duration_seconds == 0 {
            return Err(DomainError::invalid("duration_seconds", "a recurring tier needs a period (duration_seconds)"));
        }
        if self.is_trial {
            return Err(DomainError::invalid(
                "is_recurring",
                "a trial does not renew; sell the subscription as its own tier",
            ));
        }
        if self.renewal_notice_seconds >= self.duration_seconds {
            if notice.is_some() {
                return Err(DomainError::invalid(
                    "renewal_notice_seconds",
                    "must be less than the period (duration_seconds)",
                ));
            }
            // The default week does not fit a short period: ask at half of it.
            self.renewal_notice_seconds = self.duration_seconds / 2;
        }
        self.renewal_period_days = Some(self.duration_seconds / 86_400);
        Ok(())
    }

    /// Whole days of a trial, as the public catalogue reports it.
    pub fn trial_days(&self) -> Option<i64> {
        self.is_trial.then_some(self.duration_seconds / 86_400)
    }
}

fn bounded(field: &'static str, v: i64, max: i64) -> Result<i64, DomainError> {
    if !(0..=max).contains(&v) {
        return Err(DomainError::invalid(field, format!("must be between 0 and {max}")));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> Product {
        let input: ProductInput = serde_json::from_value(serde_json::json!({
            "slug": "app", "name": "App", "price_sats": 1000,
            "entitlements_catalog": [{"slug": "pro", "name": "Pro"}]
        }))
        .unwrap();
        Product::create(input, 1).unwrap()
    }

    fn policy_input(v: serde_json::Value) -> PolicyInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn policy_entitlements_must_be_in_catalogue() {
        let p = product();
        let ok = Policy::create(
            &p,
            policy_input(serde_json::json!({"slug":"default","name":"D","entitlements":["pro"]})),
            1,
        );
        assert_eq!(ok.unwrap().price_sats, 1000);
        let bad =
            Policy::create(&p, policy_input(serde_json::json!({"slug":"x","name":"X","entitlements":["nope"]})), 1);
        assert_eq!(bad.unwrap_err().code(), "invalid_field");
    }

    #[test]
    fn fiat_prices() {
        assert!(FiatPrice::parse("19.99", "usd").is_ok());
        assert_eq!(FiatPrice::parse("19.99", "usd").unwrap().currency, "USD");
        for bad in ["", "0", "0.00", "-1", "1.", ".5", "1e3", "12.123456789"] {
            assert!(FiatPrice::parse(bad, "USD").is_err(), "{bad}");
        }
        assert!(FiatPrice::parse("5", "US").is_err());
    }

    #[test]
    fn patch_can_clear_tier_rank_and_fiat() {
        let p = product();
        let pol = Policy::create(
            &p,
            policy_input(serde_json::json!({
            "slug":"default","name":"D","tier_rank": 5, "price_amount": "9.50", "price_currency": "EUR"})),
            1,
        )
        .unwrap();
        assert_eq!(pol.tier_rank, Some(5));
        let cleared = pol
            .patched(
                &p,
                policy_input(serde_json::json!({"tier_rank": null, "price_amount": null, "price_currency": null})),
                2,
            )
            .unwrap();
        assert_eq!(cleared.tier_rank, None);
        assert_eq!(cleared.fiat_price, None);
        assert!(pol.patched(&p, policy_input(serde_json::json!({"tier_rank": 1001})), 2).is_err());
        assert!(pol.patched(&p, policy_input(serde_json::json!({"slug": "other"})), 2).is_err());
        assert!(pol.patched(&p, policy_input(serde_json::json!({"is_trial": true})), 2).is_err());
    }

    #[test]
    fn recurring_tiers_need_a_period_and_a_notice_inside_it() {
        let p = product();
        let month = 30 * 86_400;
        let sub = Policy::create(
            &p,
            policy_input(serde_json::json!({"slug":"monthly","name":"M","is_recurring":true,"duration_seconds":month})),
            1,
        )
        .unwrap();
        assert_eq!(sub.renewal_period_days, Some(30));
        assert_eq!(sub.renewal_notice_seconds, DEFAULT_RENEWAL_NOTICE_SECONDS);
        let no_period = serde_json::json!({"slug":"x","name":"X","is_recurring":true});
        assert!(Policy::create(&p, policy_input(no_period), 1).is_err());
        let long_notice = serde_json::json!({"renewal_notice_seconds": month});
        assert!(sub.patched(&p, policy_input(long_notice), 2).is_err());
        // A short period gets its notice halfway unless one is given.
        let short = sub.patched(&p, policy_input(serde_json::json!({"duration_seconds": 60})), 2).unwrap();
        assert_eq!((short.renewal_notice_seconds, short.renewal_period_days), (30, Some(0)));
        let off = sub.patched(&p, policy_input(serde_json::json!({"is_recurring": false})), 2).unwrap();
        assert_eq!(off.renewal_period_days, None);
    }
}

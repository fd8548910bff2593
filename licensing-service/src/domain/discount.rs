//! Discount, referral and free-license codes: the code's shape, its kinds and
//! their arithmetic (integer sats; fiat as decimal strings), and the rules
//! that decide whether a code applies.

use schemars::JsonSchema;
use serde::Serialize;

use super::DomainError;

/// A code as buyers type it: 4–64 letters, digits, `-` or `_`,
/// case-insensitive (kept upper-case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Code(String);

impl Code {
    pub fn parse(s: &str) -> Result<Code, DomainError> {
        let s = s.trim();
        let ok = (4..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(DomainError::invalid("code", "must be 4 to 64 letters, digits, '-' or '_'"));
        }
        Ok(Code(s.to_ascii_uppercase()))
    }

    /// A readable random code: three groups of four from an alphabet without
    /// look-alikes (no 0/O, 1/I/L), e.g. `KX7M-Q9TR-2HWD`.
    pub fn generate(random: &[u8; 12]) -> Code {
        const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
        let mut s = String::with_capacity(14);
        for (i, b) in random.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                s.push('-');
            }
            s.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
        }
        Code(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Code {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Code, DomainError> {
        Code::parse(&s)
    }
}

/// What a code does to the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 1–100 percent off.
    PercentOff(i64),
    /// This many sats off, never below zero.
    FixedSatsOff(i64),
    /// The price becomes this many sats.
    SetPriceSats(i64),
    /// No payment: the license is issued at once.
    FreeLicense,
}

impl Kind {
    /// From the admin API's `kind` and `value`.
    pub fn parse(kind: &str, value: Option<i64>) -> Result<Kind, DomainError> {
        let need = |v: Option<i64>| v.ok_or_else(|| DomainError::invalid("value", format!("is required for {kind}")));
        let k = match kind {
            "percent_off" => {
                let v = need(value)?;
                if !(1..=100).contains(&v) {
                    return Err(DomainError::invalid("value", "percent_off takes 1 to 100"));
                }
                Kind::PercentOff(v)
            }
            "fixed_sats_off" | "set_price_sats" => {
                let v = need(value)?;
                if !(0..=2_100_000_000_000_000).contains(&v) || (kind == "fixed_sats_off" && v == 0) {
                    return Err(DomainError::invalid("value", "must be a positive whole number of sats"));
                }
                if kind == "fixed_sats_off" {
                    Kind::FixedSatsOff(v)
                } else {
                    Kind::SetPriceSats(v)
                }
            }
            "free_license" => {
                if value.is_some() {
                    return Err(DomainError::invalid("value", "free_license takes no value"));
                }
                Kind::FreeLicense
            }
            other => {
                return Err(DomainError::invalid(
                    "kind",
                    format!("'{other}' is not one of percent_off, fixed_sats_off, set_price_sats, free_license"),
                ))
            }
        };
        Ok(k)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::PercentOff(_) => "percent_off",
            Kind::FixedSatsOff(_) => "fixed_sats_off",
            Kind::SetPriceSats(_) => "set_price_sats",
            Kind::FreeLicense => "free_license",
        }
    }

    pub fn value(self) -> Option<i64> {
        match self {
            Kind::PercentOff(v) | Kind::FixedSatsOff(v) | Kind::SetPriceSats(v) => Some(v),
            Kind::FreeLicense => None,
        }
    }

    /// The price in sats after the code (`base - result` is the discount).
    /// A percentage's discount is rounded down to whole sats.
    pub fn apply_sats(self, base: i64) -> i64 {
        let base = base.max(0);
        match self {
            Kind::PercentOff(p) => base - discount_part(base as i128, p) as i64,
            Kind::FixedSatsOff(off) => (base - off).max(0),
            // A "set price" above the base is still the set price: the operator asked for it.
            Kind::SetPriceSats(price) => price,
            Kind::FreeLicense => 0,
        }
    }

    /// For a fiat-priced tier: the fiat amount after the code, or `None`
    /// when this kind is denominated in sats and so cannot price a fiat tier.
    pub fn apply_fiat(self, amount: &str) -> Option<String> {
        match self {
            Kind::PercentOff(p) => Some(percent_of_decimal(amount, p)),
            Kind::FreeLicense => Some(percent_of_decimal(amount, 100)),
            Kind::FixedSatsOff(_) | Kind::SetPriceSats(_) => None,
        }
    }

    /// Whether this kind is an amount of sats (it cannot apply to a fiat price).
    pub fn is_sats_denominated(self) -> bool {
        matches!(self, Kind::FixedSatsOff(_) | Kind::SetPriceSats(_))
    }
}

/// `value * percent / 100`, rounded down.
fn discount_part(value: i128, percent: i64) -> i128 {
    value * i128::from(percent) / 100
}

/// A decimal string less `percent` percent, keeping at least two decimals;
/// the discount is rounded down to the smallest unit shown.
fn percent_of_decimal(amount: &str, percent: i64) -> String {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let scale = frac.len().max(2);
    let frac_padded = format!("{frac:0<scale$}");
    let units: i128 = format!("{int}{frac_padded}").parse().unwrap_or(0);
    let left = units - discount_part(units, percent);
    let s = format!("{left:0>width$}", width = scale + 1);
    let (i, f) = s.split_at(s.len() - scale);
    format!("{i}.{f}")
}

/// What a buyer pays for a tier, with or without a code: the one price
/// computation behind the buy page, the preview, purchases and redemptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Quote {
    /// For a fiat tier these three are 0: the provider converts at checkout,
    /// and the tier's `price_sats` plays no part.
    pub base_price_sats: i64,
    pub discount_sats: i64,
    pub final_price_sats: i64,
    /// For a fiat-priced tier: (base amount, final amount, currency).
    #[serde(skip)]
    pub fiat: Option<(String, String, String)>,
}

impl Quote {
    /// The tier's price after `code`. A fiat tier is always charged in its
    /// currency: a percentage or a free license applies to the fiat amount,
    /// and a code denominated in sats is refused for it (converting at
    /// today's rate would let the rate decide the discount).
    pub fn for_policy(policy: &super::catalog::Policy, code: Option<Kind>) -> Result<Quote, Refusal> {
        let Some(code) = code else {
            return Ok(Quote::list_price(policy));
        };
        if let Some(f) = &policy.fiat_price {
            let after = code.apply_fiat(&f.amount).ok_or(Refusal::WrongCurrency)?;
            let fiat = Some((f.amount.clone(), after, f.currency.clone()));
            return Ok(Quote { base_price_sats: 0, discount_sats: 0, final_price_sats: 0, fiat });
        }
        let base = policy.price_sats;
        let final_sats = code.apply_sats(base);
        Ok(Quote { base_price_sats: base, discount_sats: base - final_sats, final_price_sats: final_sats, fiat: None })
    }

    /// The tier's price without a code.
    pub fn list_price(policy: &super::catalog::Policy) -> Quote {
        match &policy.fiat_price {
            Some(f) => Quote {
                base_price_sats: 0,
                discount_sats: 0,
                final_price_sats: 0,
                fiat: Some((f.amount.clone(), f.amount.clone(), f.currency.clone())),
            },
            None => Quote {
                base_price_sats: policy.price_sats,
                discount_sats: 0,
                final_price_sats: policy.price_sats,
                fiat: None,
            },
        }
    }

    /// Nothing to pay: issue the license without a provider invoice. A fiat
    /// tier is free only when its amount after the code is zero.
    pub fn is_free(&self) -> bool {
        match &self.fiat {
            Some((_, after, _)) => after.bytes().all(|b| b == b'0' || b == b'.'),
            None => self.final_price_sats == 0,
        }
    }
}

/// Why a code cannot be used; the codes of the public preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownCode,
    Expired,
    NotYetValid,
    CodeExhausted,
    NotValidForTier,
    Inactive,
    /// A code worth sats, on a tier priced in another currency.
    WrongCurrency,
    /// A code limited per buyer, used without an e-mail or npub.
    BuyerRequired,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::UnknownCode => "unknown_code",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::CodeExhausted => "code_exhausted",
            Refusal::NotValidForTier => "not_valid_for_tier",
            Refusal::Inactive => "inactive",
            Refusal::WrongCurrency => "not_valid_for_currency",
            Refusal::BuyerRequired => "buyer_required",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::UnknownCode => "this code is unknown, expired or used up",
            Refusal::Expired => "this code has expired",
            Refusal::NotYetValid => "this code is not valid yet",
            Refusal::CodeExhausted => "this code has been used up",
            Refusal::NotValidForTier => "this code does not apply to the chosen tier",
            Refusal::Inactive => "this code is not active",
            Refusal::WrongCurrency => "this code takes sats off, and this tier is priced in another currency",
            Refusal::BuyerRequired => "this code is limited per buyer: give your e-mail or npub to use it",
        }
    }

    /// What a stranger is told: a code that is unknown, expired, not yet
    /// valid, used up or switched off all look the same, so the answer
    /// cannot be used to learn which codes exist.
    pub fn public(self) -> Refusal {
        match self {
            Refusal::Expired | Refusal::NotYetValid | Refusal::CodeExhausted | Refusal::Inactive => {
                Refusal::UnknownCode
            }
            other => other,
        }
    }
}

/// The rules of one code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub active: bool,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    /// Empty: every tier of the product.
    pub policies: Vec<String>,
    pub max_uses: Option<i64>,
    pub max_uses_per_buyer: Option<i64>,
}

/// How much a code has been used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Consumed plus reserved (a pending payment holds a use).
    pub taken: i64,
    /// Taken by this buyer, when the buyer is known.
    pub taken_by_buyer: i64,
    /// Whether the buyer gave an e-mail or npub.
    pub buyer_known: bool,
}

impl Rules {
    /// Whether the code may be used now for `policy_slug`, in a fixed order.
    pub fn check(&self, now: i64, policy_slug: &str, usage: Usage) -> Result<(), Refusal> {
        if !self.active {
            return Err(Refusal::Inactive);
        }
        if self.valid_from.is_some_and(|t| now < t) {
            return Err(Refusal::NotYetValid);
        }
        if self.valid_until.is_some_and(|t| now >= t) {
            return Err(Refusal::Expired);
        }
        if !self.policies.is_empty() && !self.policies.iter().any(|p| p == policy_slug) {
            return Err(Refusal::NotValidForTier);
        }
        if self.max_uses.is_some_and(|m| usage.taken >= m) {
            return Err(Refusal::CodeExhausted);
        }
        if let Some(m) = self.max_uses_per_buyer {
            // A per-buyer limit means nothing without a buyer to count.
            if !usage.buyer_known {
                return Err(Refusal::BuyerRequired);
            }
            if usage.taken_by_buyer >= m {
                return Err(Refusal::CodeExhausted);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_case_insensitive_and_shaped() {
        assert_eq!(Code::parse(" launch-50 ").unwrap().as_str(), "LAUNCH-50");
        for bad in ["abc", "a b c d", "toolong".repeat(10).as_str(), "émoji", "no.dots"] {
            assert!(Code::parse(bad).is_err(), "{bad}");
        }
        let g = Code::generate(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 200]);
        assert_eq!(g.as_str().len(), 14);
        assert!(Code::parse(g.as_str()).is_ok());
    }

    #[test]
    fn arithmetic_and_edges() {
        assert_eq!(Kind::PercentOff(25).apply_sats(10_000), 7_500);
        assert_eq!(Kind::PercentOff(100).apply_sats(10_000), 0);
        assert_eq!(Kind::PercentOff(33).apply_sats(1_001), 671); // 330.33 off, rounded down to 330
        assert_eq!(Kind::FixedSatsOff(3_000).apply_sats(10_000), 7_000);
        assert_eq!(Kind::FixedSatsOff(30_000).apply_sats(10_000), 0);
        assert_eq!(Kind::SetPriceSats(500).apply_sats(10_000), 500);
        assert_eq!(Kind::SetPriceSats(50_000).apply_sats(10_000), 50_000);
        assert_eq!(Kind::FreeLicense.apply_sats(10_000), 0);
        assert_eq!(Kind::PercentOff(50).apply_sats(i64::MAX), i64::MAX - i64::MAX / 2);
    }

    #[test]
    fn fiat_percentages() {
        assert_eq!(Kind::PercentOff(25).apply_fiat("20.00").as_deref(), Some("15.00"));
        assert_eq!(Kind::PercentOff(10).apply_fiat("19.99").as_deref(), Some("18.00")); // 1.999 off → 1.99
        assert_eq!(Kind::PercentOff(100).apply_fiat("5").as_deref(), Some("0.00"));
        assert_eq!(Kind::PercentOff(50).apply_fiat("0.001").as_deref(), Some("0.001"));
        assert_eq!(Kind::PercentOff(50).apply_fiat("7").as_deref(), Some("3.50"));
        assert_eq!(Kind::FixedSatsOff(5).apply_fiat("7"), None);
    }

    #[test]
    fn kinds_parse_with_their_values() {
        assert_eq!(Kind::parse("percent_off", Some(100)), Ok(Kind::PercentOff(100)));
        assert!(Kind::parse("percent_off", Some(0)).is_err());
        assert!(Kind::parse("percent_off", Some(101)).is_err());
        assert!(Kind::parse("percent_off", None).is_err());
        assert!(Kind::parse("fixed_sats_off", Some(0)).is_err());
        assert_eq!(Kind::parse("set_price_sats", Some(0)), Ok(Kind::SetPriceSats(0)));
        assert!(Kind::parse("free_license", Some(1)).is_err());
        assert!(Kind::parse("bogus", None).is_err());
    }

    #[test]
    fn rules_in_order() {
        let r = Rules {
            active: true,
            valid_from: Some(100),
            valid_until: Some(200),
            policies: vec!["pro".into()],
            max_uses: Some(2),
            max_uses_per_buyer: Some(1),
        };
        let free = Usage { buyer_known: true, ..Usage::default() };
        assert_eq!(r.check(150, "pro", free), Ok(()));
        // A per-buyer limit with no buyer to count refuses (it would count nobody).
        assert_eq!(r.check(150, "pro", Usage::default()), Err(Refusal::BuyerRequired));
        assert_eq!(r.check(99, "pro", free), Err(Refusal::NotYetValid));
        assert_eq!(r.check(200, "pro", free), Err(Refusal::Expired));
        assert_eq!(r.check(150, "basic", free), Err(Refusal::NotValidForTier));
        assert_eq!(
            r.check(150, "pro", Usage { taken: 2, taken_by_buyer: 0, buyer_known: true }),
            Err(Refusal::CodeExhausted)
        );
        assert_eq!(
            r.check(150, "pro", Usage { taken: 1, taken_by_buyer: 1, buyer_known: true }),
            Err(Refusal::CodeExhausted)
        );
        let off = Rules { active: false, ..r };
        assert_eq!(off.check(150, "pro", free), Err(Refusal::Inactive));
    }

    fn tier(price_sats: i64, fiat: Option<(&str, &str)>) -> crate::domain::catalog::Policy {
        use crate::domain::catalog::{Policy, PolicyInput, Product, ProductInput};
        let product =
            ProductInput { slug: Some("p".into()), name: Some("P".into()), price_sats: Some(0), ..Default::default() };
        let input = PolicyInput {
            slug: Some("t".into()),
            name: Some("T".into()),
            price_sats: Some(price_sats),
            price_amount: fiat.map(|f| Some(f.0.to_string())),
            price_currency: fiat.map(|f| Some(f.1.to_string())),
            ..Default::default()
        };
        Policy::create(&Product::create(product, 0).unwrap(), input, 0).unwrap()
    }

    #[test]
    fn a_fiat_tier_is_charged_in_its_currency_only() {
        // price_sats is 0 here, as when a fiat tier inherits a free product's price.
        let fiat = tier(0, Some(("49.00", "USD")));
        let q = Quote::list_price(&fiat);
        assert!(!q.is_free());
        assert_eq!(q.fiat.as_ref().unwrap().1, "49.00");
        assert_eq!(Quote::for_policy(&fiat, Some(Kind::FixedSatsOff(500))), Err(Refusal::WrongCurrency));
        assert_eq!(Quote::for_policy(&fiat, Some(Kind::SetPriceSats(0))), Err(Refusal::WrongCurrency));
        let half = Quote::for_policy(&fiat, Some(Kind::PercentOff(50))).unwrap();
        assert_eq!(half.fiat.as_ref().unwrap().1, "24.50");
        assert!(!half.is_free());
        assert!(Quote::for_policy(&fiat, Some(Kind::PercentOff(100))).unwrap().is_free());
        assert!(Quote::for_policy(&fiat, Some(Kind::FreeLicense)).unwrap().is_free());
        // A fiat tier with a sats price never falls back to it.
        let both = tier(1000, Some(("200", "USD")));
        assert_eq!(Quote::for_policy(&both, Some(Kind::FixedSatsOff(100))), Err(Refusal::WrongCurrency));
        assert_eq!(Quote::list_price(&both).final_price_sats, 0);
        let sats = tier(1000, None);
        assert_eq!(Quote::for_policy(&sats, Some(Kind::FixedSatsOff(100))).unwrap().final_price_sats, 900);
    }

    #[test]
    fn strangers_cannot_tell_a_used_code_from_an_unknown_one() {
        for r in [Refusal::Expired, Refusal::NotYetValid, Refusal::CodeExhausted, Refusal::Inactive] {
            assert_eq!(r.public(), Refusal::UnknownCode);
        }
        assert_eq!(Refusal::BuyerRequired.public(), Refusal::BuyerRequired);
    }
}

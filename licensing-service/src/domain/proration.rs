//! Upgrade arithmetic: what moving a license to a higher tier costs now.
//!
//! The buyer pays the new tier's price less a credit for the unused part of
//! what they paid for the time they still hold: a period wholly ahead (a
//! renewal paid early) is credited whole, the period under way by the share
//! of its seconds still to come, a perpetual one whole. Integers only: sats,
//! or a fiat amount as whole units of its smallest shown decimal; the one
//! share that is not whole is rounded down, so the seller is favoured by less
//! than one sat (or one cent).

use std::fmt;

/// An amount as charged: sats, or a decimal amount of a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Money {
    Sats(i64),
    Fiat { amount: String, currency: String },
}

impl Money {
    /// `SATS` or the currency code.
    pub fn unit(&self) -> &str {
        match self {
            Money::Sats(_) => "SATS",
            Money::Fiat { currency, .. } => currency,
        }
    }

    fn is_zero(&self) -> bool {
        match self {
            Money::Sats(n) => *n == 0,
            Money::Fiat { amount, .. } => Decimal::parse(amount).is_some_and(|d| d.units == 0),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Money::Sats(n) => write!(f, "{n} sats"),
            Money::Fiat { amount, currency } => write!(f, "{amount} {currency}"),
        }
    }
}

/// What was paid for the span `start`..`end` (`end` 0: perpetual).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidPeriod {
    pub start: i64,
    pub end: i64,
    pub paid: Money,
}

/// The new tier's price, the credit taken off it and what is left to pay
/// (`price - credit`; the credit never exceeds the price).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeQuote {
    pub price: Money,
    pub credit: Money,
    pub amount: Money,
}

/// Why no quote can be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteError {
    /// Something was paid in another unit than the new tier's price; there is
    /// no rate to convert at that both sides would agree on.
    CurrencyMismatch { paid: String, price: String },
}

/// The quote for moving to a tier priced `price` at `now`, given what was
/// paid for the periods the license holds.
pub fn quote(price: &Money, periods: &[PaidPeriod], now: i64) -> Result<UpgradeQuote, QuoteError> {
    let mut scale = 0;
    let mut parts = Vec::with_capacity(periods.len());
    for p in periods.iter().filter(|p| !p.paid.is_zero()) {
        if p.paid.unit() != price.unit() {
            return Err(QuoteError::CurrencyMismatch {
                paid: p.paid.unit().to_string(),
                price: price.unit().to_string(),
            });
        }
        let d = Decimal::of(&p.paid);
        scale = scale.max(d.scale);
        parts.push((p, d));
    }
    let price_d = Decimal::of(price);
    if let Money::Fiat { .. } = price {
        scale = scale.max(price_d.scale).max(2);
    }
    let mut credit: i128 = 0;
    for (p, d) in parts {
        credit += unused_share(d.rescale(scale), p.start, p.end, now);
    }
    let price_units = price_d.rescale(scale);
    let credit = credit.min(price_units);
    let money = |units: i128| match price {
        Money::Sats(_) => Money::Sats(i64::try_from(units).unwrap_or(i64::MAX)),
        Money::Fiat { currency, .. } => {
            Money::Fiat { amount: Decimal { units, scale }.to_string(), currency: currency.clone() }
        }
    };
    Ok(UpgradeQuote { price: price.clone(), credit: money(credit), amount: money(price_units - credit) })
}

/// The part of `paid` (in units) for the seconds of `start..end` after `now`,
/// rounded down; a perpetual span is never used up.
fn unused_share(paid: i128, start: i64, end: i64, now: i64) -> i128 {
    if end == 0 {
        return paid;
    }
    let len = i128::from(end - start);
    if len <= 0 {
        return 0;
    }
    let unused = i128::from(end - now.max(start)).clamp(0, len);
    if unused == len {
        paid
    } else {
        paid * unused / len
    }
}

/// A non-negative decimal as whole units of its last shown digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    fn parse(s: &str) -> Option<Decimal> {
        let s = s.trim();
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() || int.len() > 20 || frac.len() > 12 {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Decimal { units: format!("{int}{frac}").parse().ok()?, scale: frac.len() as u32 })
    }

    /// Sats are whole; a fiat amount that does not parse counts as nothing.
    fn of(m: &Money) -> Decimal {
        match m {
            Money::Sats(n) => Decimal { units: i128::from((*n).max(0)), scale: 0 },
            Money::Fiat { amount, .. } => Decimal::parse(amount).unwrap_or(Decimal { units: 0, scale: 0 }),
        }
    }

    fn rescale(self, scale: u32) -> i128 {
        self.units * 10i128.pow(scale.saturating_sub(self.scale))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.units);
        }
        let s = format!("{:0>width$}", self.units, width = self.scale as usize + 1);
        let (i, d) = s.split_at(s.len() - self.scale as usize);
        write!(f, "{i}.{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sats(n: i64) -> Money {
        Money::Sats(n)
    }

    fn usd(a: &str) -> Money {
        Money::Fiat { amount: a.into(), currency: "USD".into() }
    }

    fn period(start: i64, end: i64, paid: Money) -> PaidPeriod {
        PaidPeriod { start, end, paid }
    }

    #[test]
    fn the_first_second_of_a_period_credits_it_all() {
        let q = quote(&sats(10_000), &[period(1000, 4000, sats(3000))], 1000).unwrap();
        assert_eq!((q.credit, q.amount), (sats(3000), sats(7000)));
        // Before it began (a clock behind the period's start), still all.
        assert_eq!(quote(&sats(10_000), &[period(1000, 4000, sats(3000))], 10).unwrap().credit, sats(3000));
    }

    #[test]
    fn the_last_second_of_a_period_credits_one_second_of_it() {
        // One second of 3000 s for 3001 sats is 1.0003 sats: 1 credited.
        let q = quote(&sats(10_000), &[period(0, 3000, sats(3001))], 2999).unwrap();
        assert_eq!((q.credit, q.amount), (sats(1), sats(9999)));
        // At the end, nothing is left.
        let q = quote(&sats(10_000), &[period(0, 3000, sats(3001))], 3000).unwrap();
        assert_eq!((q.credit, q.amount), (sats(0), sats(10_000)));
        assert_eq!(quote(&sats(10_000), &[period(0, 3000, sats(3001))], 9000).unwrap().credit, sats(0));
    }

    #[test]
    fn shares_are_rounded_down_by_less_than_one_sat() {
        // A third of 1000 sats is 333.33…: 333 credited.
        let q = quote(&sats(5000), &[period(0, 30, sats(1000))], 20).unwrap();
        assert_eq!(q.credit, sats(333));
        for now in 0..=30 {
            let Money::Sats(c) = quote(&sats(5000), &[period(0, 30, sats(1000))], now).unwrap().credit else {
                unreachable!()
            };
            let exact = 1000.0 * f64::from(30 - now as i32) / 30.0;
            assert!(exact - (c as f64) < 1.0 && c as f64 <= exact, "{now}: {c} for {exact}");
        }
    }

    #[test]
    fn a_renewal_paid_ahead_is_credited_whole() {
        let periods = [period(0, 100, sats(1000)), period(100, 200, sats(1200))];
        let q = quote(&sats(10_000), &periods, 50).unwrap();
        assert_eq!(q.credit, sats(500 + 1200));
    }

    #[test]
    fn a_perpetual_tier_is_credited_whole() {
        let q = quote(&sats(50_000), &[period(0, 0, sats(20_000))], 1_000_000).unwrap();
        assert_eq!((q.credit, q.amount), (sats(20_000), sats(30_000)));
    }

    #[test]
    fn the_credit_never_exceeds_the_price() {
        let q = quote(&sats(1000), &[period(0, 0, sats(5000))], 1).unwrap();
        assert_eq!((q.credit, q.amount), (sats(1000), sats(0)));
    }

    #[test]
    fn nothing_paid_nothing_credited() {
        let q = quote(&sats(1000), &[], 1).unwrap();
        assert_eq!((q.credit, q.amount), (sats(0), sats(1000)));
        // A free (or comp) period in another unit is no mismatch: it credits nothing.
        let q = quote(&usd("10"), &[period(0, 10, sats(0))], 1).unwrap();
        assert_eq!((q.credit, q.amount), (usd("0.00"), usd("10.00")));
    }

    #[test]
    fn fiat_tiers_are_quoted_in_their_currency() {
        // Half of 19.99 USD is 9.995: 9.99 credited (rounded down by under a cent).
        let q = quote(&usd("49.00"), &[period(0, 100, usd("19.99"))], 50).unwrap();
        assert_eq!((q.credit, q.amount), (usd("9.99"), usd("39.01")));
        // Finer decimals keep their scale.
        let q = quote(&usd("10"), &[period(0, 4, usd("1.005"))], 1).unwrap();
        assert_eq!((q.credit, q.amount), (usd("0.753"), usd("9.247")));
        assert_eq!(quote(&usd("10"), &[], 0).unwrap().amount, usd("10.00"));
    }

    #[test]
    fn another_currency_cannot_be_credited() {
        let e = quote(&usd("10"), &[period(0, 10, sats(500))], 1).unwrap_err();
        assert_eq!(e, QuoteError::CurrencyMismatch { paid: "SATS".into(), price: "USD".into() });
        let eur = Money::Fiat { amount: "5".into(), currency: "EUR".into() };
        assert!(quote(&usd("10"), &[period(0, 10, eur)], 1).is_err());
        assert!(quote(&sats(10), &[period(0, 10, usd("1"))], 1).is_err());
    }
}

//! Sales: the invoice list and one invoice in full, revenue over a period,
//! and what each license was paid with. Reads only.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::licenses::Names;
use super::views::{
    FiatAmount, InvoiceDetails, InvoiceView, LicenseView, ProviderDeliveryView, ProviderInvoiceView, Revenue,
    RevenueLine,
};
use super::{products, Core, ServiceError};
use crate::db::{self, sales::Sale};
use crate::domain::invoice::{InvoiceStatus, Observed};
use crate::domain::npub::Npub;
use crate::domain::time::Timestamp;

/// Which invoices to list; `product` and `tier` are slugs (`tier` needs `product`).
#[derive(Default)]
pub struct InvoiceQuery {
    pub status: Option<String>,
    pub provider: Option<String>,
    pub product: Option<String>,
    pub tier: Option<String>,
    pub code: Option<String>,
    /// An e-mail address or an npub (bech32 or hex).
    pub buyer: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub before_rowid: Option<i64>,
    pub limit: i64,
}

pub struct InvoicePage {
    pub invoices: Vec<InvoiceView>,
    pub next_cursor: Option<String>,
}

/// A buyer as stored: a lower-case e-mail address, or an npub's hex.
pub fn buyer_key(buyer: &str) -> Result<String, ServiceError> {
    let b = buyer.trim();
    if let Ok(n) = Npub::parse(b) {
        return Ok(n.to_hex());
    }
    if b.contains('@') && b.len() <= 254 {
        return Ok(b.to_lowercase());
    }
    Err(ServiceError::bad_input("invalid_request", "buyer: give an e-mail address or an npub"))
}

async fn filter(s: &Core, q: InvoiceQuery) -> Result<db::sales::InvoiceFilter, ServiceError> {
    let status = q
        .status
        .as_deref()
        .map(|v| {
            InvoiceStatus::parse(v).map(InvoiceStatus::as_str).ok_or_else(|| {
                ServiceError::bad_input("invalid_request", "state: one of pending, settled, expired, invalid")
            })
        })
        .transpose()?;
    let (mut product_id, mut policy_id) = (None, None);
    if let Some(slug) = &q.product {
        let product = products::find(s, slug).await?;
        if let Some(tier) = &q.tier {
            policy_id = Some(products::find_policy(s, &product, tier).await?.id);
        }
        product_id = Some(product.id);
    } else if q.tier.is_some() {
        return Err(ServiceError::bad_input("invalid_request", "tier: give the product too"));
    }
    let code_id = match &q.code {
        Some(c) => Some(
            db::codes::by_code(&s.db.read, &crate::domain::discount::Code::parse(c)?)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("no discount code '{c}'")))?
                .id,
        ),
        None => None,
    };
    Ok(db::sales::InvoiceFilter {
        status,
        provider: q.provider,
        product_id,
        policy_id,
        code_id,
        buyer: q.buyer.as_deref().map(buyer_key).transpose()?,
        created_from: q.created_from,
        created_to: q.created_to,
        before_rowid: q.before_rowid,
        limit: q.limit,
    })
}

pub async fn list(s: &Core, q: InvoiceQuery) -> Result<InvoicePage, ServiceError> {
    let limit = q.limit;
    let rows = db::sales::list(&s.db.read, &filter(s, q).await?).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last().map(|r| r.rowid.to_string())).flatten();
    let names = Names::load(s).await?;
    Ok(InvoicePage { invoices: rows.iter().map(|r| InvoiceView::new(r, &names)).collect(), next_cursor })
}

pub async fn details(s: &Core, id: &str) -> Result<InvoiceDetails, ServiceError> {
    let no_invoice = || ServiceError::NotFound(format!("no invoice '{id}'"));
    let id = Uuid::parse_str(id.trim()).map_err(|_| no_invoice())?;
    let row = db::sales::invoice(&s.db.read, id).await?.ok_or_else(no_invoice)?;
    let names = Names::load(s).await?;
    let deliveries = db::sales::provider_events(&s.db.read, id).await?;
    let license = match row.license_id {
        Some(l) => match db::licenses::by_id(&s.db.read, l).await? {
            Some(l) => Some(super::licenses::view(s, &l).await?),
            None => None,
        },
        None => None,
    };
    let refund = match db::refunds::for_invoice(&s.db.read, id).await? {
        Some(_) => Some(super::refunds::view(s, id).await?),
        None => None,
    };
    Ok(InvoiceDetails {
        refund,
        provider_invoice: ask_provider(s, &row.invoice).await,
        deliveries: deliveries
            .into_iter()
            .map(|d| ProviderDeliveryView {
                delivery_id: d.delivery_id,
                event_type: d.event_type,
                received_at: Timestamp(d.received_at),
            })
            .collect(),
        mismatch: db::invoices::mismatch(&s.db.read, id).await?,
        invoice: InvoiceView::new(&row, &names),
        license,
    })
}

/// The provider's invoice, asked now (none for free orders or another provider).
async fn ask_provider(s: &Core, i: &db::invoices::Invoice) -> Option<ProviderInvoiceView> {
    let provider = s.payments.for_invoice(&i.provider)?;
    let pid = i.provider_invoice_id.as_deref()?;
    Some(match provider.invoice(pid).await {
        Ok(p) => ProviderInvoiceView {
            state: Some(observed_str(p.state)),
            charged_amount: p.charged.as_ref().map(|c| c.amount.clone()),
            charged_currency: p.charged.map(|c| c.currency),
            error: None,
        },
        Err(e) => ProviderInvoiceView {
            state: None,
            charged_amount: None,
            charged_currency: None,
            error: Some(e.to_string()),
        },
    })
}

fn observed_str(o: Observed) -> &'static str {
    match o {
        Observed::New => "new",
        Observed::Processing => "processing",
        Observed::Settled => "settled",
        Observed::Expired => "expired",
        Observed::Invalid => "invalid",
    }
}

/// Adds what each license's invoice was paid with (one query for all).
pub async fn attach(s: &Core, views: &mut [LicenseView]) -> Result<(), ServiceError> {
    let ids: Vec<&str> = views.iter().filter_map(|v| v.invoice_id.as_deref()).collect();
    let sales = db::sales::by_invoices(&s.db.read, &ids).await?;
    for v in views.iter_mut() {
        if let Some(sale) = v.invoice_id.as_ref().and_then(|i| sales.get(i)) {
            v.paid_with(sale);
        }
    }
    Ok(())
}

/// How revenue is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Week,
    Month,
    Product,
    Tier,
    Code,
    Provider,
}

impl GroupBy {
    pub fn parse(v: &str) -> Result<GroupBy, ServiceError> {
        Ok(match v {
            "day" => GroupBy::Day,
            "week" => GroupBy::Week,
            "month" => GroupBy::Month,
            "product" => GroupBy::Product,
            "tier" => GroupBy::Tier,
            "code" => GroupBy::Code,
            "provider" => GroupBy::Provider,
            _ => {
                return Err(ServiceError::bad_input(
                    "invalid_request",
                    "group_by: one of day, week, month, product, tier, code, provider",
                ))
            }
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Week => "week",
            GroupBy::Month => "month",
            GroupBy::Product => "product",
            GroupBy::Tier => "tier",
            GroupBy::Code => "code",
            GroupBy::Provider => "provider",
        }
    }

    fn key(self, sale: &Sale, names: &Names) -> Option<String> {
        use super::views::CatalogNames;
        let date =
            |f: &str| chrono::DateTime::from_timestamp(sale.settled_at, 0).unwrap_or_default().format(f).to_string();
        let product = || names.product(sale.product_id).map_or(sale.product_id.to_string(), |p| p.0.to_string());
        Some(match self {
            GroupBy::Day => date("%Y-%m-%d"),
            GroupBy::Week => date("%G-W%V"),
            GroupBy::Month => date("%Y-%m"),
            GroupBy::Product => product(),
            GroupBy::Tier => {
                let tier = names.policy(sale.policy_id).map_or(sale.policy_id.to_string(), |p| p.0.to_string());
                format!("{}/{tier}", product())
            }
            GroupBy::Code => return sale.code.clone(),
            GroupBy::Provider => sale.provider.clone(),
        })
    }
}

/// Settled sales in `[from, to)`, in total and by `group_by`.
pub async fn revenue(s: &Core, from: i64, to: i64, group_by: Option<GroupBy>) -> Result<Revenue, ServiceError> {
    if from >= to {
        return Err(ServiceError::bad_input("invalid_request", "from: must be before to"));
    }
    let sales = db::sales::settled(&s.db.read, from, to).await?;
    let names = Names::load(s).await?;
    let mut totals = Tally::default();
    let mut groups: BTreeMap<Option<String>, Tally> = BTreeMap::new();
    for sale in &sales {
        totals.add(sale)?;
        if let Some(g) = group_by {
            groups.entry(g.key(sale, &names)).or_default().add(sale)?;
        }
    }
    // Refunds made in the period, each subtracted once, in its sale's group.
    for refund in &db::refunds::done_between(&s.db.read, from, to).await? {
        totals.refund(refund)?;
        if let Some(g) = group_by {
            groups.entry(g.key(refund, &names)).or_default().refund(refund)?;
        }
    }
    Ok(Revenue {
        from: Timestamp(from),
        to: Timestamp(to),
        group_by: group_by.map(GroupBy::as_str),
        totals: totals.line(None),
        groups: groups.into_iter().map(|(k, t)| t.line(Some(k))).collect(),
    })
}

/// Sales added up: count, sats, fiat per currency.
#[derive(Default)]
pub struct Tally {
    pub sales: i64,
    pub sats: i64,
    pub fiat: BTreeMap<String, Decimal>,
    pub refunded_sats: i64,
    pub refunded_fiat: BTreeMap<String, Decimal>,
}

impl Tally {
    pub fn add(&mut self, sale: &Sale) -> Result<(), ServiceError> {
        self.sales += 1;
        match (&sale.price_amount, &sale.price_currency) {
            (Some(amount), Some(currency)) => {
                let d = Decimal::parse(amount)
                    .ok_or_else(|| anyhow::anyhow!("invoice {}: stored amount '{amount}'", sale.invoice_id))?;
                self.fiat.entry(currency.clone()).or_default().add(d);
            }
            _ => self.sats += sale.amount_sats,
        }
        Ok(())
    }

    /// A refunded sale: its money comes off (the sale stays counted).
    pub fn refund(&mut self, sale: &Sale) -> Result<(), ServiceError> {
        match (&sale.price_amount, &sale.price_currency) {
            (Some(amount), Some(currency)) => {
                let d = Decimal::parse(amount)
                    .ok_or_else(|| anyhow::anyhow!("invoice {}: stored amount '{amount}'", sale.invoice_id))?;
                self.fiat.entry(currency.clone()).or_default().sub(d);
                self.refunded_fiat.entry(currency.clone()).or_default().add(d);
            }
            _ => {
                self.sats -= sale.amount_sats;
                self.refunded_sats += sale.amount_sats;
            }
        }
        Ok(())
    }

    pub fn fiat(&self) -> Vec<FiatAmount> {
        amounts(&self.fiat)
    }

    fn line(&self, key: Option<Option<String>>) -> RevenueLine {
        RevenueLine {
            key,
            sales: self.sales,
            sats: self.sats,
            fiat: self.fiat(),
            refunded_sats: self.refunded_sats,
            refunded_fiat: amounts(&self.refunded_fiat),
        }
    }
}

fn amounts(by_currency: &BTreeMap<String, Decimal>) -> Vec<FiatAmount> {
    by_currency.iter().map(|(c, d)| FiatAmount { currency: c.clone(), amount: d.to_string() }).collect()
}

impl Tally {}

/// An exact decimal sum: units of 10^-`scale`, printed with as many places
/// as the most precise amount added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    pub fn parse(s: &str) -> Option<Decimal> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || int.len() > 18 || frac.len() > 18 || !digits(int) || !digits(frac) {
            return None;
        }
        let units: i128 = format!("{int}{frac}").parse().ok()?;
        Some(Decimal { units, scale: frac.len() as u32 })
    }

    fn rescaled(self, scale: u32) -> i128 {
        self.units * 10i128.pow(scale - self.scale)
    }

    pub fn add(&mut self, other: Decimal) {
        let scale = self.scale.max(other.scale);
        self.units = self.rescaled(scale) + other.rescaled(scale);
        self.scale = scale;
    }

    pub fn sub(&mut self, other: Decimal) {
        self.add(Decimal { units: -other.units, scale: other.scale });
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = 10i128.pow(self.scale);
        let (sign, units) = if self.units < 0 { ("-", -self.units) } else { ("", self.units) };
        match self.scale {
            0 => write!(f, "{sign}{units}"),
            s => write!(f, "{sign}{}.{:0width$}", units / p, units % p, width = s as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn decimals_add_exactly() {
        let mut d = Decimal::default();
        for a in ["10.5", "0.25", "3", "0.05"] {
            d.add(Decimal::parse(a).unwrap());
        }
        assert_eq!(d.to_string(), "13.80");
        d.sub(Decimal::parse("14.3").unwrap());
        assert_eq!(d.to_string(), "-0.50");
        assert!(Decimal::parse("1e5").is_none() && Decimal::parse("-1").is_none() && Decimal::parse(".5").is_none());
    }
}

//! Customers: buyers grouped by e-mail address and npub. Identities used
//! together (one order or license carrying both) are one customer. Grouped
//! on each request from the licenses and settled invoices, so the grouping
//! is never stale.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::sales::Tally;
use super::views::{CustomerDetails, CustomerView};
use super::{Core, ServiceError};
use crate::db;
use crate::domain::npub::Npub;
use crate::domain::time::Timestamp;

/// Identities, `e:<email>` or `n:<hex>`, joined when seen together.
#[derive(Default)]
struct Groups {
    parent: HashMap<String, String>,
}

impl Groups {
    fn root(&mut self, id: &str) -> String {
        let mut cur = id.to_string();
        while let Some(p) = self.parent.get(&cur).filter(|p| **p != cur) {
            cur = p.clone();
        }
        // Path compression: point `id` straight at its root.
        self.parent.insert(id.to_string(), cur.clone());
        cur
    }

    /// Records the identities of one order or license; the root is the smallest.
    fn join(&mut self, email: Option<&str>, npub: Option<&str>) -> Option<String> {
        let ids: Vec<String> =
            [email.map(|e| format!("e:{e}")), npub.map(|n| format!("n:{n}"))].into_iter().flatten().collect();
        let roots: Vec<String> = ids.iter().map(|i| self.root(i)).collect();
        let min = roots.iter().min()?.clone();
        for r in roots {
            self.parent.insert(r, min.clone());
        }
        Some(min)
    }
}

#[derive(Default)]
struct Acc {
    ids: BTreeSet<String>,
    licenses: Vec<(i64, Uuid)>,
    tally: Tally,
    first: Option<i64>,
    last: Option<i64>,
}

impl Acc {
    fn seen(&mut self, at: i64) {
        self.first = Some(self.first.map_or(at, |f| f.min(at)));
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
    }

    fn view(mut self, key: &str) -> CustomerView {
        self.licenses.sort_by(|a, b| b.cmp(a));
        let (emails, npubs): (Vec<&String>, Vec<&String>) = self.ids.iter().partition(|i| i.starts_with("e:"));
        CustomerView {
            customer_id: customer_id(key),
            emails: emails.iter().map(|e| e[2..].to_string()).collect(),
            npubs: npubs.iter().filter_map(|n| Npub::stored(&n[2..])).map(|n| n.to_bech32()).collect(),
            license_ids: self.licenses.iter().map(|l| l.1).collect(),
            sales: self.tally.sales,
            total_paid_sats: self.tally.sats,
            total_paid_fiat: self.tally.fiat(),
            first_purchase_at: Timestamp(self.first.unwrap_or_default()),
            last_purchase_at: Timestamp(self.last.unwrap_or_default()),
        }
    }
}

fn customer_id(root: &str) -> String {
    format!("cus_{}", &hex::encode(Sha256::digest(root.as_bytes()))[..20])
}

/// Every customer, most recently active first.
pub(super) async fn all(s: &Core) -> Result<Vec<CustomerView>, ServiceError> {
    let holders = db::customers::holders(&s.db.read).await?;
    let sales = db::sales::all_settled(&s.db.read).await?;
    let mut groups = Groups::default();
    for h in &holders {
        groups.join(h.email.as_deref(), h.npub.as_deref());
    }
    let sale_email = |e: &Option<String>| e.as_deref().map(str::to_lowercase);
    for sale in &sales {
        groups.join(sale_email(&sale.buyer_email).as_deref(), sale.buyer_npub.as_deref());
    }
    let mut accs: BTreeMap<String, Acc> = BTreeMap::new();
    let ids: Vec<String> = groups.parent.keys().cloned().collect();
    for id in ids {
        let root = groups.root(&id);
        accs.entry(root).or_default().ids.insert(id);
    }
    for h in &holders {
        let root = groups.join(h.email.as_deref(), h.npub.as_deref()).expect("a holder has an identity");
        let acc = accs.get_mut(&root).expect("every root has an entry");
        acc.licenses.push((h.created_at, h.license_id));
        acc.seen(h.created_at);
    }
    for sale in &sales {
        let Some(root) = groups.join(sale_email(&sale.buyer_email).as_deref(), sale.buyer_npub.as_deref()) else {
            continue;
        };
        let acc = accs.get_mut(&root).expect("every root has an entry");
        acc.tally.add(sale)?;
        acc.seen(sale.settled_at);
    }
    let mut list: Vec<CustomerView> = accs.into_iter().map(|(k, a)| a.view(&k)).collect();
    list.sort_by(|a, b| b.last_purchase_at.cmp(&a.last_purchase_at).then(a.customer_id.cmp(&b.customer_id)));
    Ok(list)
}

pub struct CustomerPage {
    pub customers: Vec<CustomerView>,
    pub next_cursor: Option<String>,
}

/// Customers matching `q` (part of an e-mail address, an npub in bech32 or
/// hex, a customer id), most recently active first; `offset` pages.
pub async fn list(s: &Core, q: Option<&str>, offset: usize, limit: usize) -> Result<CustomerPage, ServiceError> {
    let term = q.map(str::trim).filter(|t| !t.is_empty());
    if term.is_some_and(|t| t.len() > 254) {
        return Err(ServiceError::bad_input("invalid_request", "q: at most 254 characters"));
    }
    let npub = term.and_then(|t| Npub::parse(t).ok()).map(|n| n.to_bech32());
    let lower = term.map(str::to_lowercase);
    let matches = |c: &CustomerView| match (&lower, &npub) {
        (None, _) => true,
        (_, Some(n)) => c.npubs.contains(n),
        (Some(t), None) => c.customer_id == *t || c.emails.iter().any(|e| e.contains(t.as_str())),
    };
    let found: Vec<CustomerView> = all(s).await?.into_iter().filter(matches).skip(offset).take(limit + 1).collect();
    let more = found.len() > limit;
    Ok(CustomerPage {
        customers: found.into_iter().take(limit).collect(),
        next_cursor: more.then(|| (offset + limit).to_string()),
    })
}

pub async fn details(s: &Core, id: &str) -> Result<CustomerDetails, ServiceError> {
    let customer = all(s)
        .await?
        .into_iter()
        .find(|c| c.customer_id == id.trim())
        .ok_or_else(|| ServiceError::NotFound(format!("no customer '{id}'")))?;
    let mut licenses = Vec::with_capacity(customer.license_ids.len());
    for id in &customer.license_ids {
        if let Some(l) = db::licenses::by_id(&s.db.read, *id).await? {
            licenses.push(super::licenses::view(s, &l).await?);
        }
    }
    Ok(CustomerDetails { customer, licenses })
}

//! Customers: buyers grouped by e-mail address and npub. Identities used
//! together (one order or license carrying both) are one customer. Grouped
//! on each request from the licenses and settled invoices, so the grouping
//! is never stale.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::sales::Tally;
use super::views::{CustomerDetails, CustomerView};
use super::{Core, ServiceError};
use crate::db;
use crate::domain::npub::Npub;
use crate::domain::time::Timestamp;

/// Identities, `e:<email>` or `n:<hex>`, joined when seen together: a
/// union-find over their indices, whose root is always the smallest identity
/// of its group (the customer's id derives from it).
#[derive(Default)]
struct Groups {
    index: HashMap<String, usize>,
    names: Vec<String>,
    parent: Vec<usize>,
    /// Reused to build each identity's name without allocating.
    buf: String,
}

impl Groups {
    fn id(&mut self, prefix: &str, value: &str) -> usize {
        self.buf.clear();
        self.buf.push_str(prefix);
        self.buf.push_str(value);
        if let Some(&i) = self.index.get(self.buf.as_str()) {
            return i;
        }
        let i = self.names.len();
        self.index.insert(self.buf.clone(), i);
        self.names.push(self.buf.clone());
        self.parent.push(i);
        i
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            // Path halving: each step points a node at its grandparent.
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Records the identities of one order or license; their group's root.
    fn join(&mut self, email: Option<&str>, npub: Option<&str>) -> Option<usize> {
        let mut root: Option<usize> = None;
        for (prefix, value) in [("e:", email), ("n:", npub)] {
            let Some(value) = value else { continue };
            let id = self.id(prefix, value);
            let r = self.root(id);
            root = Some(match root {
                Some(b) if b != r => {
                    let (keep, other) = if self.names[r] < self.names[b] { (r, b) } else { (b, r) };
                    self.parent[other] = keep;
                    keep
                }
                _ => r,
            });
        }
        root
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
    let mut accs: Vec<Option<Acc>> = (0..groups.names.len()).map(|_| None).collect();
    for id in 0..groups.names.len() {
        let root = groups.root(id);
        accs[root].get_or_insert_with(Acc::default).ids.insert(groups.names[id].clone());
    }
    for h in &holders {
        let root = groups.join(h.email.as_deref(), h.npub.as_deref()).expect("a holder has an identity");
        let acc = accs[root].as_mut().expect("every root has an entry");
        acc.licenses.push((h.created_at, h.license_id));
        acc.seen(h.created_at);
    }
    for sale in &sales {
        let Some(root) = groups.join(sale_email(&sale.buyer_email).as_deref(), sale.buyer_npub.as_deref()) else {
            continue;
        };
        let acc = accs[root].as_mut().expect("every root has an entry");
        acc.tally.add(sale)?;
        acc.seen(sale.settled_at);
    }
    let mut list: Vec<CustomerView> =
        accs.into_iter().enumerate().filter_map(|(root, a)| a.map(|a| a.view(&groups.names[root]))).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_seen_together_are_one_group_rooted_at_the_smallest() {
        let mut g = Groups::default();
        let b = g.join(Some("bob@x"), None).unwrap();
        let n = g.join(None, Some("ff")).unwrap();
        assert_ne!(g.root(b), g.root(n));
        // A later order carries both: one group, and its root is the smallest name.
        let r = g.join(Some("bob@x"), Some("ff")).unwrap();
        assert_eq!(g.names[r], "e:bob@x");
        let a = g.join(Some("ann@x"), Some("ff")).unwrap();
        assert_eq!(g.names[a], "e:ann@x", "a smaller identity joining becomes the root");
        for id in 0..g.names.len() {
            assert_eq!(g.root(id), a);
        }
        assert_eq!(g.join(None, None), None);
    }
}

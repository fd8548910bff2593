//! The one-click connection: BTCPay's `/api-keys/authorize` page asks the
//! operator to grant Keysat a key with the least permissions it needs, then
//! posts the key back to Keysat's callback.

use url::Url;

use super::client::{AuthorizedEvents, Client, Store, WebhookCreate};
use crate::payment::ProviderError;

/// View and create invoices, view store settings, manage store webhooks:
/// what selling needs. All four policies exist under these names from BTCPay
/// 2.0.0 on (`BTCPayServer.Client/Permissions.cs`).
pub const PERMISSIONS: [&str; 4] = [
    "btcpay.store.canviewinvoices",
    "btcpay.store.cancreateinvoice",
    "btcpay.store.canviewstoresettings",
    "btcpay.store.webhooks.canmodifywebhooks",
];

/// Create pull payments: what refunds need (an invoice refund is one). Asked
/// for at connect; a key without it still sells, and refunds say to reconnect.
pub const REFUND_PERMISSION: &str = "btcpay.store.cancreatepullpayments";

/// Every permission the authorize page asks for.
pub fn requested() -> impl Iterator<Item = &'static str> {
    PERMISSIONS.into_iter().chain([REFUND_PERMISSION])
}

/// Whether `granted` allows refunds on `store`.
pub fn can_refund(granted: &[String], store: &str) -> bool {
    granted.iter().any(|g| match g.split_once(':') {
        None => g == REFUND_PERMISSION || covers(g, REFUND_PERMISSION),
        Some((name, id)) => id == store && (name == REFUND_PERMISSION || covers(name, REFUND_PERMISSION)),
    })
}

/// Parses and normalises a BTCPay address given by the operator.
pub fn parse_base_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("'{s}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("'{s}' must be an http(s) address such as https://btcpay.example.com"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!("'{s}' must not carry a query, fragment or credentials"));
    }
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// The authorize page address the operator opens.
pub fn authorize_url(base: &Url, redirect: &str) -> Url {
    let mut url = base.clone();
    let path = format!("{}/api-keys/authorize", base.path().trim_end_matches('/'));
    url.set_path(&path);
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("applicationName", "Keysat");
        q.append_pair("applicationIdentifier", "keysat");
        q.append_pair("strict", "true");
        q.append_pair("selectiveStores", "true");
        q.append_pair("redirect", redirect);
        for p in requested() {
            q.append_pair("permissions", p);
        }
    }
    url
}

/// The stores a key may act on with every permission Keysat needs. A
/// permission is either global (`name`) or for one store (`name:storeId`).
pub fn usable_stores(granted: &[String], stores: &[Store]) -> Vec<Store> {
    let allows = |perm: &str, store: &str| {
        granted.iter().any(|g| match g.split_once(':') {
            None => g == perm || covers(g, perm),
            Some((name, id)) => id == store && (name == perm || covers(name, perm)),
        })
    };
    stores.iter().filter(|s| PERMISSIONS.iter().all(|p| allows(p, &s.id))).cloned().collect()
}

/// BTCPay's broader permissions that include a narrower one (its policy
/// map, the same from 2.0.0 to 2.4.x).
fn covers(granted: &str, wanted: &str) -> bool {
    match granted {
        "btcpay.store.canmodifystoresettings" => wanted.starts_with("btcpay.store."),
        "btcpay.store.canmodifyinvoices" => {
            wanted == "btcpay.store.canviewinvoices" || wanted == "btcpay.store.cancreateinvoice"
        }
        "btcpay.store.canviewstoresettings" => wanted == "btcpay.store.canviewinvoices",
        "btcpay.store.canmanagepullpayments" => wanted == REFUND_PERMISSION,
        _ => false,
    }
}

/// Registers Keysat's webhook on a store with a fresh secret; returns its id.
pub async fn register_webhook(
    client: &Client,
    store_id: &str,
    webhook_url: &str,
    secret: &str,
) -> Result<String, ProviderError> {
    let body = WebhookCreate {
        url: webhook_url,
        enabled: true,
        automatic_redelivery: true,
        authorized_events: AuthorizedEvents { everything: true, specific_events: Vec::new() },
        secret,
    };
    Ok(client.create_webhook(store_id, &body).await?.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_asks_for_the_least_permissions() {
        let base = parse_base_url("https://pay.example.com/btc/").unwrap();
        let u = authorize_url(&base, "https://keysat.example.com/v1/btcpay/connect/callback?state=abc");
        assert_eq!(u.path(), "/btc/api-keys/authorize");
        let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("applicationName".into(), "Keysat".into())));
        assert!(pairs.contains(&("strict".into(), "true".into())));
        assert!(pairs.contains(&("selectiveStores".into(), "true".into())));
        assert_eq!(pairs.iter().filter(|(k, _)| k == "permissions").count(), 5);
        assert!(pairs.contains(&("permissions".into(), REFUND_PERMISSION.into())));
        assert!(pairs.iter().any(|(k, v)| k == "redirect" && v.ends_with("state=abc")));
    }

    #[test]
    fn stores_need_every_permission() {
        let stores = vec![Store { id: "A".into(), name: "a".into() }, Store { id: "B".into(), name: "b".into() }];
        let granted: Vec<String> = PERMISSIONS.iter().map(|p| format!("{p}:A")).collect();
        assert_eq!(usable_stores(&granted, &stores), vec![stores[0].clone()]);
        let global: Vec<String> = PERMISSIONS.iter().map(|p| p.to_string()).collect();
        assert_eq!(usable_stores(&global, &stores).len(), 2);
        let partial = vec![format!("{}:A", PERMISSIONS[0])];
        assert!(usable_stores(&partial, &stores).is_empty());
        assert!(usable_stores(&["btcpay.store.canmodifystoresettings:B".into()], &stores) == vec![stores[1].clone()]);
        // Viewing store settings includes viewing its invoices.
        let implied: Vec<String> = PERMISSIONS[1..].iter().map(|p| format!("{p}:A")).collect();
        assert_eq!(usable_stores(&implied, &stores), vec![stores[0].clone()]);
        let without_settings: Vec<String> =
            PERMISSIONS.iter().filter(|p| !p.ends_with("canviewstoresettings")).map(|p| format!("{p}:A")).collect();
        assert!(usable_stores(&without_settings, &stores).is_empty());
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("not a url").is_err());
        assert!(parse_base_url("https://x/?a=1").is_err());
        assert_eq!(parse_base_url("http://btcpay.local:23000/").unwrap().as_str(), "http://btcpay.local:23000/");
    }
}

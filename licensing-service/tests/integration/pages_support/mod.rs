//! What the page tests share: a client that behaves like a browser posting
//! our own forms (no automatic redirects), and the shop they buy from.

use std::time::Duration;

use reqwest::redirect::Policy;
use serde_json::json;

use crate::common::{Reply, TestApp};

/// Text that must never reach a page unescaped.
pub const HOSTILE: &str = r#"<script>alert("pwned")</script>'"</script>javascript:alert(1)"#;

/// The hostile text as askama escapes it.
pub fn escaped(s: &str) -> String {
    s.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

/// Requests a browser would make: `Accept: text/html`, forms from our own origin.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    http: reqwest::Client,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Browser { app, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.app.send(self.http.get(self.url(path)).header("accept", "text/html,application/xhtml+xml")).await
    }

    /// A form posted from one of our pages.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.form_with(path, fields, &[("origin", &self.app.base), ("sec-fetch-site", "same-origin")]).await
    }

    /// A form posted with exactly these provenance headers.
    pub async fn form_with(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
        let mut req = self.http.post(self.url(path)).header("accept", "text/html").form(fields);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.app.send(req).await
    }

    /// A POST to the demo checkout's button (`pay` or `expire`); returns the redirect target.
    pub async fn demo_checkout(&self, checkout_url: &str, action: &str) -> String {
        let r = self.app.send(self.http.post(format!("{checkout_url}/{action}"))).await;
        assert_eq!(r.status, 303, "{}", r.text);
        location(&r)
    }
}

/// The `Location` of a redirect.
#[track_caller]
pub fn location(r: &Reply) -> String {
    r.headers
        .get("location")
        .unwrap_or_else(|| panic!("no Location ({}): {}", r.status, r.text))
        .to_str()
        .unwrap()
        .into()
}

/// The page's `<main>` (what differs between answers; the chrome is the same).
pub fn main_of(html: &str) -> &str {
    let start = html.find("<main").unwrap_or(0);
    let end = html.find("</main>").map_or(html.len(), |e| e + 7);
    &html[start..end]
}

/// The text of the element with `id`, up to its first closing tag.
pub fn text_of<'h>(html: &'h str, id: &str) -> &'h str {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let open = at + html[at..].find('>').expect("tag end") + 1;
    let close = open + html[open..].find("</").expect("closing tag");
    &html[open..close]
}

/// The shop most page tests use, product `app`:
/// - `default`: 10,000 sats, 1 year, 2 machines, "Pro features";
/// - `lifetime` (highlighted): 30,000 sats or 99.00 USD, lifetime, 3 machines, both entitlements;
/// - `trial`: free 14-day trial, 1 machine;
/// - `hidden` (not public) and `old` (archived) are never shown;
/// - codes `SPRING` (20% off, featured) and `FREEBIE` (free license).
pub async fn shop(app: &TestApp) {
    app.create_product(
        "app",
        json!({"name": "Acme Editor", "description": "Edits text, fast.",
               "entitlements_catalog": [{"slug": "pro", "name": "Pro features"}, {"slug": "sync", "name": "Cloud sync"}]}),
    )
    .await;
    app.create_policy(
        "app",
        json!({"slug": "default", "name": "One year", "price_sats": 10_000, "duration_seconds": 31_536_000,
               "max_machines": 2, "entitlements": ["pro"], "tier_rank": 1}),
    )
    .await;
    app.create_policy(
        "app",
        json!({"slug": "lifetime", "name": "Lifetime", "price_sats": 30_000, "price_amount": "99.00",
               "price_currency": "USD", "max_machines": 3, "entitlements": ["pro", "sync"], "highlighted": true,
               "tier_rank": 2}),
    )
    .await;
    app.create_policy(
        "app",
        json!({"slug": "trial", "name": "Trial", "price_sats": 0, "duration_seconds": 14 * 86_400,
               "max_machines": 1, "is_trial": true, "tier_rank": 3}),
    )
    .await;
    app.create_policy("app", json!({"slug": "hidden", "name": "Secret tier", "public": false})).await;
    app.create_policy("app", json!({"slug": "old", "name": "Retired tier"})).await;
    app.admin_patch("/products/app/policies/old", json!({"archived": true})).await.expect(200);
    app.admin_post(
        "/discount-codes",
        json!({"code": "SPRING", "product_slug": "app", "kind": "percent_off", "value": 20, "featured": true}),
    )
    .await
    .expect(201);
    app.admin_post("/discount-codes", json!({"code": "FREEBIE", "product_slug": "app", "kind": "free_license"}))
        .await
        .expect(201);
}

/// Product `evil`: every name and description a seller could type is [`HOSTILE`],
/// and so is the operator's name.
pub async fn hostile_shop(app: &TestApp) {
    app.admin_put("/settings", json!({"operator_name": HOSTILE})).await.expect(200);
    app.create_product(
        "evil",
        json!({"name": HOSTILE, "description": HOSTILE,
               "entitlements_catalog": [{"slug": "x", "name": HOSTILE, "description": HOSTILE}]}),
    )
    .await;
    app.create_policy(
        "evil",
        json!({"slug": "default", "name": HOSTILE, "description": HOSTILE, "entitlements": ["x"], "price_sats": 1_000,
               "price_amount": "1.00", "price_currency": "USD"}),
    )
    .await;
}

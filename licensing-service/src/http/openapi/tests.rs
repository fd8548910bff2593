//! The document describes every route the server serves, and nothing else.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{generate, public, DOCUMENT};
use crate::http::admin::routes::ROUTES as ADMIN_ROUTES;

/// The document as the code builds it.
fn doc() -> Value {
    generate()
}

/// The committed file: compact JSON (it is served, and embedded in the
/// binary, as it is) with a line per entry of the first three levels (each
/// path, each method, each schema), so a change shows as a line in a diff.
fn committed_text(doc: &Value) -> String {
    fn write(v: &Value, level: usize, out: &mut String) {
        match v {
            Value::Object(entries) if level < 3 && !entries.is_empty() => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&Value::from(key.as_str()).to_string());
                    out.push(':');
                    write(value, level + 1, out);
                }
                out.push_str("\n}");
            }
            _ => out.push_str(&v.to_string()),
        }
    }
    let mut out = String::new();
    write(doc, 0, &mut out);
    out.push('\n');
    out
}

#[test]
fn the_committed_document_is_what_the_code_generates() {
    let generated = committed_text(&doc());
    if std::env::var_os("KEYSAT_WRITE_OPENAPI").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/openapi/openapi.json");
        std::fs::write(path, &generated).expect("write openapi.json");
        return;
    }
    assert!(
        generated == DOCUMENT,
        "src/http/openapi/openapi.json (what the daemon serves) is not what the code generates; rewrite it with\n\
         KEYSAT_WRITE_OPENAPI=1 cargo nextest run -p keysat -E 'test(the_committed_document_is_what_the_code_generates)'\n\
         and commit it"
    );
}

/// `(METHOD, path)` of every operation in the document.
fn documented() -> BTreeSet<(String, String)> {
    let doc = doc();
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().expect("path item").keys().map(move |m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect()
}

/// Every `.route("path", get(handler).post(handler))` of `router.rs`, as
/// `(METHOD, path, handler)`; rustfmt may break a call over lines, so
/// whitespace is dropped first.
fn router_rs_routes() -> BTreeSet<(String, String, String)> {
    let source: String = include_str!("../router.rs").split_whitespace().collect();
    let mut found = BTreeSet::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find(".route(\"") {
        rest = &rest[at + ".route(\"".len()..];
        let (path, after) = rest.split_once("\",").expect("a path then a method router");
        // The method router: up to the `)` that closes `.route(`.
        let mut depth = 0;
        let end = after
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => return true,
                    ')' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map(|(i, _)| i)
            .expect("the end of .route(");
        for call in after[..end].split(").") {
            let call = call.trim_start_matches('.').trim_end_matches(')');
            let (method, handler) = call.split_once('(').expect("method(handler)");
            found.insert((method.to_ascii_uppercase(), path.to_string(), handler.to_string()));
        }
        rest = &after[end..];
    }
    found
}

#[test]
fn the_table_of_router_rs_holds_exactly_its_routes_and_handlers() {
    let served = router_rs_routes();
    assert!(served.len() > 30, "router.rs was not read right: {served:?}");
    // router.rs names handlers from `http` (`public::catalog::list_products`,
    // `openapi::serve`); the table from its own imports: compare the ends.
    let tail = |h: &str| h.rsplit("::").take(2).collect::<Vec<_>>().join("<");
    let served: BTreeSet<_> = served.iter().map(|(m, p, h)| (m.clone(), p.clone(), tail(h))).collect();
    let table: BTreeSet<_> = public::ROUTES
        .iter()
        .map(|(m, p, h)| {
            let h: String = h.split_whitespace().collect();
            (m.to_string(), p.to_string(), tail(&h))
        })
        .collect();
    let missing: Vec<_> = served.difference(&table).collect();
    let extra: Vec<_> = table.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "http/openapi/public.rs must list every route of http/router.rs with its handler.\n\
         served but not documented: {missing:?}\ndocumented but not served: {extra:?}"
    );
}

#[test]
fn the_document_describes_every_route_served_and_nothing_else() {
    let mut served: BTreeSet<(String, String)> =
        ADMIN_ROUTES.iter().map(|(m, p, _)| (m.to_string(), format!("/v1/admin{p}"))).collect();
    served.extend(router_rs_routes().into_iter().map(|(m, p, _)| (m, p)));
    assert_eq!(documented(), served);
}

#[test]
fn every_admin_operation_names_its_scope() {
    let doc = doc();
    for (method, path, scope) in ADMIN_ROUTES {
        let op = &doc["paths"][format!("/v1/admin{path}")][method.to_ascii_lowercase()];
        assert_eq!(op["x-keysat-scope"], scope.as_str(), "{method} {path}");
        assert_eq!(op["security"][0]["adminKey"][0], scope.as_str(), "{method} {path}");
    }
}

#[test]
fn every_json_answer_names_a_schema_that_exists() {
    let doc = doc();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let text = doc.to_string();
    let mut at = 0;
    while let Some(i) = text[at..].find("\"$ref\":\"#/components/schemas/") {
        let start = at + i + "\"$ref\":\"#/components/schemas/".len();
        let end = start + text[start..].find('"').expect("end of $ref");
        let name = text[start..end].replace("~1", "/").replace("~0", "~");
        assert!(schemas.contains_key(&name), "$ref to a missing schema {name}");
        at = end;
    }
    assert!(schemas.contains_key("ErrorEnvelope") && schemas.contains_key("Answer"));
}

#[test]
fn schema_names_are_their_types_names() {
    // schemars numbers a second type of the same name (`CreateBody2`):
    // give one of them a name of its own (`#[schemars(rename = "…")]`).
    let doc = doc();
    let numbered: Vec<&String> = doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
        .filter(|k| k.ends_with(char::is_numeric))
        .collect();
    assert!(numbered.is_empty(), "two types share a schema name: {numbered:?}");
}

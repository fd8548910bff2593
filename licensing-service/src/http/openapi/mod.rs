//! `GET /v1/openapi.json`: the OpenAPI 3.1 description of every route the
//! server serves, built from the code. The admin routes come from their one
//! table (`http::admin::routes`, which also builds their router and holds
//! their scopes), the public ones from [`public::describe`] (checked
//! against `http/router.rs` by a test); each operation's request and answer
//! are read off its handler's types ([`describe`]) and their JSON Schemas
//! derived from the same types the handlers serialize (`schemars`), so the
//! document cannot say one thing while the code does another.
//!
//! The daemon serves the document as committed (`openapi.json` beside this
//! file, [`DOCUMENT`]) rather than building it at run time: the schema
//! generation is then not linked into the binary (about 1 MB of the static
//! binary). The unit test `the_committed_document_is_what_the_code_generates`
//! fails when the file and [`generate`] differ (a route, a handler's types or
//! a doc comment changed); `KEYSAT_WRITE_OPENAPI=1` on that test rewrites it.

mod describe;
pub mod public;

use std::collections::BTreeMap;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use keysat_client::ErrorEnvelope;
use schemars::generate::SchemaSettings;
use schemars::Schema;
use serde_json::{json, Map, Value};

pub use describe::OpDoc;
use describe::{Errors, Generators, Success};

use crate::domain::access::Scope;

/// Where every schema lives in the document.
const SCHEMAS: &str = "/components/schemas";

/// The document as committed: what [`generate`] builds (compact JSON, a line per path, method and schema).
pub const DOCUMENT: &str = include_str!("openapi.json");

/// The document's JSON text (as committed).
pub fn document() -> &'static str {
    DOCUMENT
}

/// Builds the document from the code: the route tables, the handlers' types
/// and their schemas. The daemon does not call it (it serves [`DOCUMENT`]);
/// the tests do, and check the committed file against it.
///
/// # Panics
/// When a table entry documents no answer (see [`Document::op`]).
// Only the tests call it (the daemon serves the committed text): what it
// alone reaches is not dead code, and stays out of the binary all the same.
#[cfg_attr(not(test), allow(dead_code))]
pub fn generate() -> Value {
    let mut doc = Document::new();
    crate::http::admin::routes::describe(&mut doc);
    public::describe(&mut doc);
    doc.finish()
}

/// `GET /v1/openapi.json`.
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

/// Applies a table entry's additions to what the handler's types said
/// (a function, so the entry's closure needs no type annotation).
pub fn then(d: &mut OpDoc, more: impl FnOnce(&mut OpDoc) -> &mut OpDoc) {
    more(d);
}

/// `products :: create` (a stringified handler path) → `products.create`.
pub fn operation_id(prefix: &str, handler: &str) -> String {
    let path: String = handler.split_whitespace().collect();
    format!("{prefix}{}", path.replace("::", "."))
}

/// Which part of the service a route belongs to (its tag and security).
#[derive(Clone, Copy)]
pub enum Part {
    /// `/v1/admin/*` and `/metrics`: the admin key (or an API key holding the scope).
    Admin(Scope),
    /// The public API: applications, websites, BTCPay.
    Public,
    /// The buyer pages.
    Pages,
}

/// The document being built: operations by path and method, and the schemas.
pub struct Document {
    gen: Generators,
    paths: BTreeMap<String, Map<String, Value>>,
}

impl Document {
    fn new() -> Self {
        let settings = |s: SchemaSettings| s.with(|s| s.definitions_path = SCHEMAS.into());
        Document {
            gen: Generators {
                answers: settings(SchemaSettings::draft2020_12().for_serialize()).into_generator(),
                requests: settings(SchemaSettings::draft2020_12().for_deserialize()).into_generator(),
            },
            paths: BTreeMap::new(),
        }
    }

    /// Adds the operation `method path` (axum's template: `{name}` segments),
    /// named `id`, described by `what`.
    ///
    /// # Panics
    /// When `what` leaves the success answer unknown, or its status picked at
    /// run time and undeclared, or a body read raw undescribed, or the
    /// operation is there already.
    pub fn op(&mut self, method: &str, path: &str, part: Part, id: &str, what: impl FnOnce(&mut OpDoc)) {
        let mut d = OpDoc::new(std::mem::take(&mut self.gen));
        what(&mut d);
        let op = operation(&d, path, part, id, method);
        self.gen = d.gen;
        let method = method.to_ascii_lowercase();
        let previous = self.paths.entry(path.to_string()).or_default().insert(method.clone(), op);
        assert!(previous.is_none(), "{method} {path} is documented twice");
    }

    fn finish(mut self) -> Value {
        let envelope = self.gen.answers.subschema_for::<ErrorEnvelope>();
        assert_eq!(envelope.get("$ref"), Some(&json!(format!("#{SCHEMAS}/ErrorEnvelope"))));
        let answers = self.gen.answers.take_definitions(true);
        let requests = self.gen.requests.take_definitions(true);
        let (schemas, renamed) = merge_definitions(answers, requests);
        let mut paths = Value::Object(self.paths.into_iter().map(|(p, ops)| (p, Value::Object(ops))).collect());
        rename_request_refs(&mut paths, &renamed);
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "Keysat",
                "version": env!("CARGO_PKG_VERSION"),
                "description": INFO,
                "license": { "name": "MIT", "identifier": "MIT" },
            },
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "tags": [
                { "name": "public", "description": "The public API: applications (validation, machines), websites (catalogue, purchases, codes), BTCPay." },
                { "name": "admin", "description": "The admin API, under /v1/admin (on StartOS, only inside the container). Each operation names the scope an API key needs (x-keysat-scope)." },
                { "name": "pages", "description": "The buyer pages (HTML)." },
            ],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "adminKey": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "The admin key (full), or an API key from POST /v1/admin/api-keys holding the operation's scope: read-only, support, issuer or full (full covers all; support covers read-only).",
                    },
                },
            },
        })
    }
}

const INFO: &str = "Keysat: self-hosted, Bitcoin-first software licensing. \
The wire contract with licensed applications is PROTOCOL.md. Errors (except validation and machine \
decisions, which answer HTTP 200) are {\"ok\": false, \"error\", \"message\"} with a 4xx or 5xx status. \
Timestamps are RFC 3339 UTC; amounts are integer satoshis or fiat decimal strings.";

/// One operation object.
fn operation(d: &OpDoc, path: &str, part: Part, id: &str, method: &str) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(id));
    let tag = match part {
        Part::Admin(_) => "admin",
        Part::Public => "public",
        Part::Pages => "pages",
    };
    op.insert("tags".into(), json!([tag]));
    let mut params: Vec<Value> = path_params(path)
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    if let Some(query) = &d.query {
        params.extend(query_params(query));
    }
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    assert!(
        !d.raw_body || d.body.is_some(),
        "{method} {path}: its handler reads the body raw; say what it holds in the table (d.body::<T>(), …)"
    );
    if let Some((media, schema, optional)) = &d.body {
        let content = match schema {
            Some(s) => json!({ *media: { "schema": s } }),
            None => json!({ *media: {} }),
        };
        op.insert("requestBody".into(), json!({ "required": !optional, "content": content }));
    }
    op.insert("responses".into(), responses(d, method, path));
    if matches!(part, Part::Public) && crate::http::cors::ROUTES.contains(&path) {
        op.insert("x-keysat-cors".into(), json!(true));
    }
    if let Part::Admin(scope) = part {
        op.insert("security".into(), json!([{ "adminKey": [scope.as_str()] }]));
        op.insert("x-keysat-scope".into(), json!(scope.as_str()));
    }
    Value::Object(op)
}

fn responses(d: &OpDoc, method: &str, path: &str) -> Value {
    let mut out = Map::new();
    let declared = d.status.map(|s| s.to_string());
    let chosen = || {
        declared.clone().unwrap_or_else(|| {
            panic!("{method} {path}: the handler picks its status at run time; declare it in the table (d.status(…))")
        })
    };
    match &d.success {
        Success::Unknown => {
            panic!(
                "{method} {path}: its handler's types do not say what it answers; say it in the table (d.json::<T>())"
            )
        }
        Success::Json(s) => {
            let status = declared.clone().unwrap_or_else(|| "200".into());
            out.insert(status, json_answer("Success", s));
        }
        Success::JsonChosenStatus(s) => {
            out.insert(chosen(), json_answer("Success", s));
        }
        Success::Empty => {
            out.insert(chosen(), json!({ "description": "Success, no body" }));
        }
        Success::Media { media, description } => {
            let status = declared.clone().unwrap_or_else(|| "200".into());
            out.insert(status, json!({ "description": description, "content": { *media: {} } }));
        }
    }
    if d.redirects {
        out.insert("303".into(), json!({ "description": "A redirect to the next page (Location)" }));
    }
    for (status, schema, description) in &d.extra {
        out.insert(status.to_string(), json_answer(description, schema));
    }
    let error = match d.errors {
        Errors::Envelope => json_answer("Error", &Schema::new_ref(format!("#{SCHEMAS}/ErrorEnvelope"))),
        Errors::Page => json!({ "description": "An error page", "content": { "text/html": {} } }),
    };
    out.insert("4XX".into(), error.clone());
    out.insert("5XX".into(), error);
    Value::Object(out)
}

fn json_answer(description: &str, schema: &Schema) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// `{name}` segments of an axum template.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// The query string's fields, one parameter each.
fn query_params(query: &Schema) -> Vec<Value> {
    let required: Vec<&str> = query
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = query.get("properties").and_then(Value::as_object) else {
        return vec![];
    };
    props
        .iter()
        .map(|(name, schema)| {
            let mut p =
                json!({ "name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": schema });
            if let Some(desc) = schema.get("description") {
                p["description"] = desc.clone();
            }
            p
        })
        .collect()
}

/// One set of schemas from the two generators: a request schema named like
/// an answer's but different is renamed `<Name>Request`; returns the set and
/// the renames.
fn merge_definitions(
    answers: Map<String, Value>,
    requests: Map<String, Value>,
) -> (Map<String, Value>, BTreeMap<String, String>) {
    let mut renamed = BTreeMap::new();
    for (name, schema) in &requests {
        if answers.get(name).is_some_and(|a| a != schema) {
            renamed.insert(name.clone(), format!("{name}Request"));
        }
    }
    let mut all = answers;
    for (name, mut schema) in requests {
        rename_request_refs(&mut schema, &renamed);
        let name = renamed.get(&name).cloned().unwrap_or(name);
        all.entry(name).or_insert(schema);
    }
    (all, renamed)
}

/// Points the `$ref`s of request schemas at their renamed definitions. Only
/// request bodies and parameters are walked (answers keep their names).
fn rename_request_refs(v: &mut Value, renamed: &BTreeMap<String, String>) {
    if renamed.is_empty() {
        return;
    }
    match v {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match key.as_str() {
                    // Answers' schemas keep their names.
                    "responses" => continue,
                    "$ref" => {
                        if let Some(name) = child.as_str().and_then(|r| r.strip_prefix(&format!("#{SCHEMAS}/"))) {
                            if let Some(new) = renamed.get(name) {
                                *child = json!(format!("#{SCHEMAS}/{new}"));
                            }
                        }
                    }
                    _ => rename_request_refs(child, renamed),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| rename_request_refs(c, renamed)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;

//! JSON Schemas of the answers whose `Serialize` is written by hand
//! ([`Answer`], [`ErrorEnvelope`]) and of the RFC 3339 timestamps they
//! carry: the `schemars` feature, which the server's OpenAPI document
//! (`GET /v1/openapi.json`) is built from. Each schema says what the
//! `Serialize` beside its type writes; the server's tests validate real
//! answers against them.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use crate::{Answer, ErrorEnvelope};

/// An RFC 3339 UTC timestamp in whole seconds, as [`crate::format_timestamp`]
/// writes it (the schema of the `with = "crate::time::nullable"` fields).
pub(crate) struct Timestamp;

impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 UTC in whole seconds, e.g. 2023-11-14T22:13:20Z",
        })
    }
}

/// `{"ok": false, "error": "<code>", "message": "<text>"}`, nothing else.
impl JsonSchema for ErrorEnvelope<'_> {
    fn schema_name() -> Cow<'static, str> {
        "ErrorEnvelope".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": "The error answer of every endpoint but validate and machines/* (sent with a 4xx or 5xx status).",
            "properties": {
                "ok": { "const": false },
                "error": { "type": "string", "description": "A stable machine code (not_found, rate_limited, unknown_code, …)." },
                "message": { "type": "string", "description": "Human text; may change between versions." },
            },
            "required": ["ok", "error", "message"],
        })
    }
}

/// Every field but `ok` may be absent; only `expires_at` may be `null` (a
/// perpetual license), as `Answer`'s `Serialize` writes them.
impl JsonSchema for Answer<'_> {
    fn schema_name() -> Cow<'static, str> {
        "Answer".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let uuid = generator.subschema_for::<uuid::Uuid>();
        let time = generator.subschema_for::<Timestamp>();
        let count = json_schema!({ "type": "integer", "minimum": 0 });
        json_schema!({
            "type": "object",
            "description": "The answer of validate and machines/* (PROTOCOL.md §4), HTTP 200 for every decision: ok, or a refusal's reason.",
            "properties": {
                "ok": { "type": "boolean" },
                "reason": { "type": "string", "description": "A refusal's code." },
                "message": { "type": "string", "description": "Human text about a refusal. Not signed." },
                "status": { "type": "string" },
                "license_id": uuid,
                "product_id": uuid,
                "product_slug": { "type": "string" },
                "issued_at": time,
                "expires_at": { "anyOf": [time, { "type": "null" }], "description": "null for a perpetual license." },
                "grace_until": time,
                "in_grace_period": { "type": "boolean" },
                "is_trial": { "type": "boolean" },
                "entitlements": { "type": "array", "items": { "type": "string" } },
                "machine_id": uuid,
                "active_count": count,
                "max_machines": count,
                "signature": { "type": "string", "description": "Present when the request carried a nonce (PROTOCOL.md §7)." },
            },
            "required": ["ok"],
        })
    }
}

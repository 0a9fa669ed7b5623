//! Gemini's OpenAPI-subset `Schema` (used by `functionDeclarations[].parameters` and
//! `generationConfig.responseSchema`) → JSON Schema for the upstream (protocols.md §7 item
//! 14b; clients.md §3.3 "Tools").
//!
//! The rewrite, applied to every schema node (`properties` values, `items`, `anyOf` members,
//! `$defs` / `definitions` values):
//! - `type` is lower-cased (`OBJECT` → `object`, `STRING` → `string`, …);
//!   `TYPE_UNSPECIFIED` is dropped;
//! - `nullable: true` becomes a `"null"` member of `type` (`["string","null"]`);
//! - Gemini-only keys without a JSON Schema meaning are dropped: `propertyOrdering`,
//!   `nullable`, `example`.
//!
//! Everything else (`description`, `enum`, `format`, `required`, `minItems`, …) is kept.

use serde_json::{Map, Value};

/// Gemini-only keys that are dropped.
const DROPPED: [&str; 3] = ["propertyOrdering", "nullable", "example"];

/// `schema` rewritten as JSON Schema (module docs).
pub fn to_json_schema(schema: Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(node(map)),
        other => other,
    }
}

fn node(mut map: Map<String, Value>) -> Map<String, Value> {
    let nullable = matches!(map.get("nullable"), Some(Value::Bool(true)));
    for key in DROPPED {
        map.remove(key);
    }
    if let Some(ty) = map.remove("type") {
        let ty = match ty {
            Value::String(s) if s.eq_ignore_ascii_case("TYPE_UNSPECIFIED") => None,
            Value::String(s) => Some(Value::String(s.to_ascii_lowercase())),
            Value::Array(items) => Some(Value::Array(
                items
                    .into_iter()
                    .map(|t| match t {
                        Value::String(s) => Value::String(s.to_ascii_lowercase()),
                        other => other,
                    })
                    .collect(),
            )),
            other => Some(other),
        };
        let ty = match (ty, nullable) {
            (Some(Value::String(s)), true) if s != "null" => {
                Some(Value::Array(vec![Value::String(s), "null".into()]))
            }
            (ty, _) => ty,
        };
        if let Some(ty) = ty {
            map.insert("type".into(), ty);
        }
    }
    for key in ["properties", "$defs", "definitions"] {
        if let Some(Value::Object(props)) = map.remove(key) {
            let props = props
                .into_iter()
                .map(|(name, sub)| (name, to_json_schema(sub)))
                .collect();
            map.insert(key.into(), Value::Object(props));
        }
    }
    if let Some(items) = map.remove("items") {
        map.insert("items".into(), to_json_schema(items));
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(members)) = map.remove(key) {
            let members = members.into_iter().map(to_json_schema).collect();
            map.insert(key.into(), Value::Array(members));
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openapi_types_become_json_schema() {
        let gemini = json!({
            "type": "OBJECT",
            "propertyOrdering": ["city", "days"],
            "properties": {
                "city": {"type": "STRING", "description": "City name", "example": "Paris"},
                "days": {"type": "ARRAY", "items": {"type": "INTEGER"}, "nullable": true},
                "unit": {"anyOf": [{"type": "STRING", "enum": ["c", "f"]}, {"type": "NUMBER"}]}
            },
            "required": ["city"]
        });
        assert_eq!(
            to_json_schema(gemini),
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "days": {"type": ["array", "null"], "items": {"type": "integer"}},
                    "unit": {"anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "number"}]}
                },
                "required": ["city"]
            })
        );
    }

    #[test]
    fn json_schema_passes_through() {
        let schema = json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}}});
        assert_eq!(to_json_schema(schema.clone()), schema);
        assert_eq!(to_json_schema(json!(true)), json!(true));
    }
}

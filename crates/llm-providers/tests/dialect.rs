//! Every dialect rewrite over a corpus of schemas, as insta snapshots: the rewritten schema and the report of
//! what changed. The corpus covers nested objects, optional fields, enums, arrays of objects, recursive `$ref`,
//! `oneOf`/`anyOf`, formats and numeric bounds.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_providers::dialect::{self, Rewritten};
use serde_json::{Value, json};

fn corpus() -> Vec<(&'static str, Value)> {
    vec![
        (
            "nested_objects",
            json!({
                "type": "object",
                "properties": {
                    "order": {"type": "object", "properties": {
                        "id": {"type": "string"},
                        "customer": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
                    }, "required": ["id", "customer"]}
                },
                "required": ["order"]
            }),
        ),
        (
            "optional_fields",
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "nickname": {"type": "string"},
                    "age": {"type": ["integer", "null"], "format": "uint8", "minimum": 0}
                },
                "required": ["name"]
            }),
        ),
        (
            "enums",
            json!({
                "type": "object",
                "properties": {
                    "color": {"type": "string", "enum": ["red", "green"]},
                    "size": {"enum": [1, 2, 3]},
                    "kind": {"const": "shirt"}
                },
                "required": ["color", "size", "kind"]
            }),
        ),
        (
            "array_of_objects",
            json!({
                "type": "object",
                "properties": {
                    "items": {"type": "array", "minItems": 2, "maxItems": 10, "uniqueItems": true,
                              "items": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}, "required": ["sku"]}}
                },
                "required": ["items"]
            }),
        ),
        (
            "recursive_ref",
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {"root": {"$ref": "#/$defs/Node"}},
                "required": ["root"],
                "$defs": {"Node": {"type": "object", "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                }, "required": ["label"]}}
            }),
        ),
        (
            "one_of_any_of",
            json!({
                "type": "object",
                "properties": {
                    "payment": {"oneOf": [
                        {"type": "object", "properties": {"card": {"type": "string"}}, "required": ["card"]},
                        {"type": "object", "properties": {"iban": {"type": "string"}}, "required": ["iban"]}
                    ]},
                    "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}
                },
                "required": ["payment"]
            }),
        ),
        (
            "formats_and_bounds",
            json!({
                "type": "object",
                "properties": {
                    "email": {"type": "string", "format": "email"},
                    "site": {"type": "string", "format": "uri"},
                    "when": {"type": "string", "format": "date-time"},
                    "code": {"type": "string", "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3},
                    "price": {"type": "number", "format": "double", "exclusiveMinimum": 0, "maximum": 1000, "multipleOf": 0.01},
                    "count": {"type": "integer", "minimum": 1, "default": 1}
                },
                "required": ["email", "site", "when", "code", "price", "count"],
                "additionalProperties": false
            }),
        ),
    ]
}

fn all(schema: &Value) -> Vec<(&'static str, Rewritten)> {
    vec![
        ("openai_strict", dialect::openai_strict(schema)),
        ("anthropic", dialect::anthropic(schema)),
        ("gemini_json_schema", dialect::gemini_json_schema(schema)),
        ("gemini_openapi", dialect::gemini_openapi(schema)),
    ]
}

#[test]
fn corpus_snapshots() {
    for (name, schema) in corpus() {
        for (dialect_name, rewritten) in all(&schema) {
            insta::assert_json_snapshot!(format!("{dialect_name}__{name}"), rewritten);
        }
    }
}

/// Walks a schema and calls `f` on every sub-schema object.
fn walk(v: &Value, f: &mut dyn FnMut(&serde_json::Map<String, Value>)) {
    match v {
        Value::Object(o) => {
            f(o);
            for x in o.values() {
                walk(x, f);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

#[test]
fn openai_strict_invariants_hold_on_the_whole_corpus() {
    for (name, schema) in corpus() {
        let r = dialect::openai_strict(&schema);
        walk(&r.schema, &mut |o| {
            if let Some(Value::Object(props)) = o.get("properties") {
                assert_eq!(o.get("additionalProperties"), Some(&Value::Bool(false)), "{name}: open object");
                let req: Vec<&str> = o["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
                for k in props.keys() {
                    assert!(req.contains(&k.as_str()), "{name}: {k} not required");
                }
            }
            assert!(!o.contains_key("oneOf"), "{name}: oneOf left");
            assert!(!o.contains_key("uniqueItems") && !o.contains_key("default"), "{name}: unsupported keyword left");
            if let Some(Value::String(r)) = o.get("$ref") {
                assert_eq!(o.len(), 1, "{name}: $ref {r} with siblings");
            }
        });
    }
}

#[test]
fn anthropic_invariants_hold_on_the_whole_corpus() {
    for (name, schema) in corpus() {
        let r = dialect::anthropic(&schema);
        walk(&r.schema, &mut |o| {
            for k in ["minimum", "maximum", "minLength", "maxLength", "maxItems", "multipleOf", "uniqueItems"] {
                assert!(!o.contains_key(k), "{name}: {k} left");
            }
            if o.contains_key("properties") {
                assert_eq!(o.get("additionalProperties"), Some(&Value::Bool(false)), "{name}");
            }
            if let Some(n) = o.get("minItems") {
                assert!(n.as_u64().unwrap() <= 1, "{name}");
            }
        });
    }
}

#[test]
fn gemini_openapi_has_no_refs_and_upper_case_types() {
    for (name, schema) in corpus() {
        let r = dialect::gemini_openapi(&schema);
        walk(&r.schema, &mut |o| {
            assert!(!o.contains_key("$ref") && !o.contains_key("$defs"), "{name}: ref left");
            if let Some(Value::String(t)) = o.get("type") {
                assert_eq!(t, &t.to_ascii_uppercase(), "{name}");
            }
            assert!(!o.contains_key("additionalProperties"), "{name}");
        });
    }
}

/// Every rewrite keeps the properties in the schema's order (serde_json's `preserve_order`): models write JSON
/// objects in schema order, so a `reasoning` property declared before `answer` is generated first. OpenAI's
/// strict `required` and Gemini's `propertyOrdering` follow that order too.
#[test]
fn rewrites_keep_the_property_order() {
    let schema = json!({
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "answer": {"type": "string"},
            "confidence": {"type": "number"}
        },
        "required": ["reasoning", "answer"]
    });
    let order = ["reasoning", "answer", "confidence"];
    let keys = |v: &Value| -> Vec<String> { v["properties"].as_object().unwrap().keys().cloned().collect() };
    for (name, r) in [
        ("openai_strict", dialect::openai_strict(&schema)),
        ("anthropic", dialect::anthropic(&schema)),
        ("gemini_json_schema", dialect::gemini_json_schema(&schema)),
        ("gemini_openapi", dialect::gemini_openapi(&schema)),
    ] {
        assert_eq!(keys(&r.schema), order, "{name}");
    }
    assert_eq!(dialect::openai_strict(&schema).schema["required"], json!(order));
    assert_eq!(dialect::gemini_openapi(&schema).schema["propertyOrdering"], json!(order));
    // And on the wire.
    let wire = serde_json::to_string(&dialect::anthropic(&schema).schema).unwrap();
    let at = |k: &str| wire.find(&format!("\"{k}\":")).unwrap();
    assert!(at("reasoning") < at("answer") && at("answer") < at("confidence"), "{wire}");
}

/// The adapters report what their encoders rewrite: a strict tool's parameters and a strict response format
/// for OpenAI (non-strict ones go as given), every schema for Gemini, renamed parameters for Mistral.
#[test]
fn adapters_report_their_schema_rewrites_and_renames() {
    use llm_core::{ChatRequest, JsonSchemaFormat, Message, ResponseFormat, Tool};
    use llm_providers::ProviderClient;
    let params =
        json!({"type": "object", "properties": {"age": {"type": "integer", "format": "uint8"}}, "required": ["age"]});
    let strict = Tool::function("get_age", "an age", params.clone()).with_strict(true);
    let loose = Tool::function("loose", "as given", params.clone());
    let mut req = ChatRequest::new("m", vec![Message::user("hi")]).with_max_tokens(5).with_seed(1);
    req.tools = vec![strict, loose];
    let targets = |a: &[llm_core::Adjustment]| -> Vec<String> {
        a.iter()
            .map(|x| {
                format!(
                    "{} {} {} {}",
                    x.kind,
                    x.schema.as_deref().or(x.param.as_deref()).unwrap_or_default(),
                    x.target(),
                    x.keyword.as_deref().unwrap_or_default()
                )
            })
            .collect()
    };
    let client = |p: &str| ProviderClient::builder(p).api_key(llm_core::ApiKey::new("k")).build().unwrap();
    assert_eq!(
        targets(&client("openai").adapter().adjustments(&req, "gpt-4o")),
        vec![
            "param_renamed max_tokens max_tokens ",
            "schema_object_closed tools/get_age  additionalProperties",
            "schema_keyword_dropped tools/get_age /properties/age format",
        ]
    );
    let mistral = targets(&client("mistral").adapter().adjustments(&req, "mistral-large-latest"));
    assert_eq!(mistral[0], "param_renamed seed seed ", "max_tokens keeps its name on Mistral: {mistral:?}");
    assert_eq!(mistral.len(), 3, "{mistral:?}");
    let mut schema = JsonSchemaFormat::new("out", params);
    schema.strict = Some(true);
    req.response_format = Some(ResponseFormat::JsonSchema(schema));
    req.tools.clear();
    assert_eq!(
        targets(&client("gemini").adapter().adjustments(&req, "gemini-1.5-flash")),
        vec!["schema_keyword_dropped response_format /properties/age format"]
    );
    let openai = client("openai").adapter().adjustments(&req, "gpt-4o");
    assert_eq!(openai[2].detail, "\"uint8\"", "{openai:?}");
}

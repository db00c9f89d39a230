//! Validation of one reply against a cached validator: parse + validate, the per-attempt cost of structured
//! output on our side. Run: `cargo bench -p llm-schema --bench validate`.

#![allow(clippy::panic, reason = "a benchmark with a broken fixture should stop loudly")]

use llm_schema::SchemaSpec;
use serde_json::{Value, json};

fn main() {
    divan::main();
}

fn spec() -> SchemaSpec {
    SchemaSpec::new(
        "invoice",
        json!({
            "type": "object",
            "properties": {
                "number": {"type": "string", "pattern": "^INV-[0-9]{4}$"},
                "total": {"type": "number", "minimum": 0},
                "currency": {"enum": ["EUR", "USD", "GBP"]},
                "lines": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}, "price": {"type": "number"}},
                    "required": ["sku", "qty", "price"], "additionalProperties": false
                }}
            },
            "required": ["number", "total", "currency", "lines"],
            "additionalProperties": false
        }),
    )
    .unwrap_or_else(|e| panic!("bench schema: {e}"))
}

const REPLY: &str = r#"{"number":"INV-0042","total":123.5,"currency":"EUR","lines":[{"sku":"A-1","qty":2,"price":50},{"sku":"B-7","qty":1,"price":23.5}]}"#;
const BAD_REPLY: &str = r#"{"number":"42","total":-1,"currency":"JPY","lines":[{"sku":"A-1","qty":0}]}"#;

#[divan::bench]
fn parse_and_validate_valid(bencher: divan::Bencher) {
    let spec = spec();
    bencher.bench(|| {
        let v: Value = serde_json::from_str(divan::black_box(REPLY)).unwrap_or(Value::Null);
        spec.validate(&v).is_ok()
    });
}

#[divan::bench]
fn parse_and_validate_invalid_with_report(bencher: divan::Bencher) {
    let spec = spec();
    bencher.bench(|| {
        let v: Value = serde_json::from_str(divan::black_box(BAD_REPLY)).unwrap_or(Value::Null);
        spec.validate(&v).err().map(|v| v.len())
    });
}

#[divan::bench]
fn compile_schema_uncached() -> SchemaSpec {
    spec()
}

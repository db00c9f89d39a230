//! Cost breakdowns on a fixed test price book (`test_data/price_book.json`), so a price refresh never changes
//! these snapshots. Each scenario exercises one rule of the pricing semantics (docs/pricing.md).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use llm_core::Usage;
use llm_cost::{BillingTime, Catalog, CostOptions, CustomRates};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn book() -> Catalog {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/price_book.json")).unwrap();
    Catalog::from_json_with_version(&text, "test-price-book").unwrap()
}

fn at(t: &str) -> CostOptions {
    CostOptions::new().with_billing_time(BillingTime::parse_rfc3339(t).unwrap())
}

fn noon() -> CostOptions {
    at("2025-06-04T12:00:00Z")
}

#[test]
fn cost_breakdowns() {
    let c = book();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let scenarios: Vec<(&str, &str, Option<&str>, Usage, CostOptions)> = vec![
        ("plain", "flat-chat", None, Usage::new(1000, 500), noon()),
        ("cache read at its own rate", "flat-chat", None, Usage::new(2000, 300).with_cache_read(1200), noon()),
        ("alias row", "flat-chat-latest", None, Usage::new(1000, 500), noon()),
        ("case-insensitive key", "FLAT-CHAT", Some("openai"), Usage::new(1000, 500), noon()),
        ("service tier flex", "flat-chat", None, Usage::new(1000, 500), noon().with_service_tier("flex")),
        ("fast is priority", "flat-chat", None, Usage::new(1000, 500), noon().with_service_tier("fast")),
        ("unknown tier is standard", "flat-chat", None, Usage::new(1000, 500), noon().with_service_tier("auto")),
        ("openai eu residency uplift", "flat-chat", None, Usage::new(1000, 500), noon().with_data_residency("eu")),
        ("reasoning rate", "reasoner", None, Usage::new(500, 2000).with_reasoning(1500), noon()),
        ("numeric string price", "reasoner", None, Usage::new(1000, 0), noon()),
        (
            "anthropic cache write and read",
            "claude-test-4-5",
            None,
            Usage::new(3000, 200).with_cache_read(500).with_cache_write(1000),
            noon(),
        ),
        (
            "anthropic 1h cache write",
            "claude-test-4-5",
            None,
            Usage::new(3000, 200).with_cache_write_ttl(600, 400),
            noon(),
        ),
        ("threshold at 200k is base", "claude-test-4-5", None, Usage::new(200_000, 500), noon()),
        (
            "threshold above 200k re-prices all",
            "claude-test-4-5",
            None,
            Usage::new(200_001, 500).with_cache_read(10_000),
            noon(),
        ),
        ("anthropic us geo", "claude-test-4-5", None, Usage::new(1000, 500), noon().with_inference_geo("us")),
        ("anthropic fast speed", "claude-test-4-5", None, Usage::new(1000, 500), noon().with_speed("fast")),
        (
            "vertex 128k whole prompt",
            "gemini-test-pro",
            Some("vertex_ai"),
            Usage::new(130_000, 500).with_cache_read(100_000),
            noon(),
        ),
        (
            "vertex regional uplift",
            "gemini-test-pro",
            Some("vertex_ai"),
            Usage::new(1000, 500),
            noon().with_vertex_location("us-east5"),
        ),
        ("xai threshold inclusive", "xai/grok-test", None, Usage::new(128_000, 500), noon()),
        ("xai reasoning billed as output", "xai/grok-test", None, Usage::new(1000, 500).with_reasoning(300), noon()),
        ("dashscope first tier", "dashscope/qwen-test", None, Usage::new(32_000, 500), noon()),
        ("dashscope second tier", "dashscope/qwen-test", None, Usage::new(32_001, 500), noon()),
        (
            "off-peak window",
            "deepseek/deepseek-test",
            None,
            Usage::new(1000, 500).with_cache_read(200),
            at("2025-06-04T17:00:00Z"),
        ),
        (
            "peak",
            "deepseek/deepseek-test",
            None,
            Usage::new(1000, 500).with_cache_read(200),
            at("2025-06-04T12:00:00Z"),
        ),
        ("audio tokens", "audio-chat", None, Usage::new(1000, 500).with_audio(Some(200), Some(100)), noon()),
        ("per second without a duration", "groq/per-second", None, Usage::new(1000, 500), noon()),
        (
            "per second with a duration",
            "groq/per-second",
            None,
            Usage::new(1000, 500),
            noon().with_response_time(Duration::from_millis(2500)),
        ),
        ("row without prices", "groq/no-price", None, Usage::new(1000, 500), noon()),
        ("routing rule, capability rule, no price", "acme-7", None, Usage::new(1000, 500), noon()),
        ("unknown model", "nope", None, Usage::new(1000, 500), noon()),
        (
            "custom rates",
            "nope",
            None,
            Usage::new(1000, 500).with_cache_read(400),
            noon().with_custom_rates(
                CustomRates::per_token(d("0.000001"), d("0.000002")).with_cache_read(d("0.0000001")),
            ),
        ),
    ];
    let results: Vec<Value> = scenarios
        .into_iter()
        .map(|(name, model, provider, usage, opts)| {
            let cost = c.cost_per_token(model, provider, &usage, &opts).unwrap();
            json!({
                "scenario": name,
                "model": model,
                "provider": provider,
                "total": cost.total().map(|t| t.to_string()),
                "cost": cost,
            })
        })
        .collect();
    insta::assert_json_snapshot!("price_book_costs", results);
}

#[test]
fn jsonl_answers() {
    let c = book();
    let lines = [
        r#"{"model": "flat-chat", "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "cached_tokens": 200}, "billing_time": "2025-06-04T12:00:00Z"}"#,
        r#"{"model": "flat-chat", "provider": "openai", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}, "service_tier": "priority", "billing_time": "2025-06-04T12:00:00Z"}"#,
        r#"{"model": "reasoner", "usage": {"prompt_tokens": 500, "completion_tokens": 2000, "reasoning_tokens": 1500}, "billing_time": "2025-06-04T12:00:00Z"}"#,
        r#"{"model": "groq/no-price", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}}"#,
        r#"{"model": "nope", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}}"#,
        r#"{"response": {"id": "r1", "model": "flat-chat", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500, "prompt_tokens_details": {"cached_tokens": 200}}, "service_tier": "flex"}}"#,
        r#"{"response": {"id": "r2", "model": "flat-chat", "choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500, "cost": 0.0123}}, "provider": "openrouter"}"#,
        r#"{"response": {"id": "r3", "model": "claude-test-4-5", "choices": [], "usage": {"input_tokens": 1000, "output_tokens": 500, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 400}}, "provider": "anthropic"}"#,
        r#"{"response": {"id": "r4", "model": "xai/grok-test", "choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1500, "completion_tokens_details": {"reasoning_tokens": 300}}}}"#,
        r#"{"response": {"id": "r5", "model": "sonar", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20, "cost": {"total_cost": 0.005}}}, "provider": "perplexity"}"#,
        r#"{"model": "flat-chat", "usage": {"prompt_tokens": -1, "completion_tokens": 500}}"#,
        r#"{"model": "flat-chat"}"#,
        r#"{"model": "flat-chat", "usage": {"prompt_tokens": 1, "completion_tokens": 1}, "billing_time": "yesterday"}"#,
        r#"{"response": {"model": "x"}}"#,
        "[1, 2, 3]",
        "",
    ];
    let answers: Vec<(String, String)> =
        lines.iter().map(|l| ((*l).to_owned(), llm_cost::answer_jsonl_line(&c, l))).collect();
    insta::assert_json_snapshot!("jsonl_answers", answers);
}

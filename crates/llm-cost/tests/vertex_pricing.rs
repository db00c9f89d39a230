//! Vertex AI prices from the embedded catalog (LiteLLM 1.110.2's rows), with pinned figures worked out by hand
//! from the rows' rates: the standard rates with cache reads and writes, the `_above_200k_tokens` tier that
//! re-prices every bucket, the regional-endpoint uplift of a non-global location, and the `@` version names.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::{CostStatus, Usage};
use llm_cost::{Catalog, CostOptions};
use rust_decimal::Decimal;

/// (prompt cost, completion cost, total) of a call, as decimal text, with the catalog key.
fn priced(model: &str, usage: &Usage, opts: &CostOptions) -> (String, String, String, String) {
    let c = Catalog::embedded().cost_per_token(model, Some("vertex_ai"), usage, opts).unwrap();
    assert_eq!(c.status, CostStatus::Priced, "{model}");
    let text = |d: Decimal| d.normalize().to_string();
    (
        c.catalog_key.clone().unwrap(),
        text(c.prompt_cost().amount()),
        text(c.completion_cost().amount()),
        text(c.total().unwrap().amount()),
    )
}

fn owned(key: &str, prompt: &str, completion: &str, total: &str) -> (String, String, String, String) {
    (key.to_owned(), prompt.to_owned(), completion.to_owned(), total.to_owned())
}

#[test]
fn claude_on_vertex_standard_rates_with_cache_reads_and_writes() {
    // vertex_ai/claude-sonnet-4-5: $3/M in, $0.30/M cache read, $3.75/M cache write, $15/M out.
    // 70,000 × 3e-6 + 20,000 × 3e-7 + 10,000 × 3.75e-6 = 0.21 + 0.006 + 0.0375; 1,000 × 1.5e-5 = 0.015.
    let usage = Usage::new(100_000, 1_000).with_cache_read(20_000).with_cache_write(10_000);
    let want = owned("vertex_ai/claude-sonnet-4-5", "0.2535", "0.015", "0.2685");
    assert_eq!(priced("vertex_ai/claude-sonnet-4-5", &usage, &CostOptions::new()), want);
    assert_eq!(priced("vertex_ai/claude-sonnet-4-5", &usage, &CostOptions::new().with_vertex_location("global")), want);
}

#[test]
fn a_regional_location_applies_the_rows_uplift() {
    // regional_endpoint_uplift_multiplier 1.1 on every bucket: 0.2535 × 1.1, 0.015 × 1.1.
    let usage = Usage::new(100_000, 1_000).with_cache_read(20_000).with_cache_write(10_000);
    let opts = CostOptions::new().with_vertex_location("us-east5");
    assert_eq!(
        priced("vertex_ai/claude-sonnet-4-5", &usage, &opts),
        owned("vertex_ai/claude-sonnet-4-5", "0.27885", "0.0165", "0.29535")
    );
    // A row without the multiplier is not uplifted: 1,000 × 3e-6 + 100 × 1.5e-5.
    assert_eq!(
        priced("vertex_ai/claude-3-5-sonnet@20240620", &Usage::new(1_000, 100), &opts),
        owned("vertex_ai/claude-3-5-sonnet@20240620", "0.003", "0.0015", "0.0045")
    );
}

#[test]
fn above_200k_prompt_tokens_every_rate_switches() {
    // Claude: 200,000 × 6e-6 + 50,000 × 6e-7 = 1.2 + 0.03; 2,000 × 2.25e-5 = 0.045.
    let claude = Usage::new(250_000, 2_000).with_cache_read(50_000);
    assert_eq!(
        priced("vertex_ai/claude-sonnet-4-5", &claude, &CostOptions::new()),
        owned("vertex_ai/claude-sonnet-4-5", "1.23", "0.045", "1.275")
    );
    // gemini-2.5-pro (vertex_ai-language-models): 200,000 × 2.5e-6 + 100,000 × 2.5e-7 = 0.5 + 0.025;
    // 10,000 × 1.5e-5 = 0.15.
    let gemini = Usage::new(300_000, 10_000).with_cache_read(100_000);
    assert_eq!(
        priced("gemini-2.5-pro", &gemini, &CostOptions::new()),
        owned("gemini-2.5-pro", "0.525", "0.15", "0.675")
    );
    // Exactly 200,000 is still the base tier: 200,000 × 1.25e-6 = 0.25; 1,000 × 1e-5 = 0.01.
    assert_eq!(
        priced("vertex_ai/gemini-2.5-pro", &Usage::new(200_000, 1_000), &CostOptions::new()),
        owned("gemini-2.5-pro", "0.25", "0.01", "0.26")
    );
}

#[test]
fn a_response_carries_the_location_that_served_it() {
    use llm_core::{ChatResponse, Choice, FinishReason, Message};
    let response = |location: Option<&str>| {
        let mut r = ChatResponse::new(
            "msg_1",
            "claude-sonnet-4-5",
            vec![Choice::new(0, Message::assistant("Paris."), Some(FinishReason::Stop))],
            Some(Usage::new(1_000, 200)),
        );
        r.location = location.map(str::to_owned);
        r
    };
    let c = Catalog::embedded();
    let total = |r: &ChatResponse, opts: &CostOptions| {
        let cost = c.price_response("vertex_ai/claude-sonnet-4-5", r, Some("vertex_ai"), opts);
        cost.total().unwrap().amount().normalize().to_string()
    };
    // 1,000 × 3e-6 + 200 × 1.5e-5 = 0.006; × 1.1 in a region.
    assert_eq!(total(&response(None), &CostOptions::new()), "0.006");
    assert_eq!(total(&response(Some("global")), &CostOptions::new()), "0.006");
    assert_eq!(total(&response(Some("us-east5")), &CostOptions::new()), "0.0066");
    // The caller's location wins.
    assert_eq!(total(&response(Some("us-east5")), &CostOptions::new().with_vertex_location("global")), "0.006");
}

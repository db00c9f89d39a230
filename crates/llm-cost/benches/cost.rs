//! Lookup plus cost per call, and the catalog's cold load: `cargo bench -p llm-cost`.
//!
//! The target is under 1 µs per cost computation including the lookup (LiteLLM 1.110.2: 0.19–0.5 ms).

use divan::{Bencher, black_box};
use llm_core::Usage;
use llm_cost::{BillingTime, Catalog, CostOptions};

fn main() {
    // parse the embedded catalog before timing anything else
    let _ = Catalog::embedded();
    divan::main();
}

fn options() -> CostOptions {
    CostOptions::new().with_billing_time(BillingTime::from_unix_seconds(1_749_024_000))
}

/// `model_info` for an exact key.
#[divan::bench]
fn lookup_exact(bencher: Bencher) {
    let c = Catalog::embedded();
    bencher.bench(|| c.model_info(black_box("gpt-4o"), None).map(|i| i.max_tokens()));
}

/// `model_info` for a name that needs stripping (a Bedrock cross-region profile with a routing prefix).
#[divan::bench]
fn lookup_stripped(bencher: Bencher) {
    let c = Catalog::embedded();
    bencher.bench(|| {
        c.model_info(black_box("bedrock/converse/us.anthropic.claude-3-5-sonnet-20240620-v1:0"), None)
            .map(|i| i.max_tokens())
    });
}

/// `model_info` for a name the catalog does not know (a local model served under its own name): the slow
/// path's answer is memoized, so this is the second and later lookups.
#[divan::bench]
fn lookup_unknown(bencher: Bencher) {
    let c = Catalog::embedded();
    bencher.bench(|| c.model_info(black_box("my-finetuned-llama"), Some("openai")).is_err());
}

/// The common case: a bare name, its provider resolved, cached prompt tokens.
#[divan::bench]
fn cost_openai_cached(bencher: Bencher) {
    let c = Catalog::embedded();
    let usage = Usage::new(2000, 300).with_cache_read(1200);
    let opts = options();
    bencher.bench(|| c.cost_per_token(black_box("gpt-4o"), None, black_box(&usage), &opts));
}

/// Anthropic with the provider given: cache reads and writes, the geo multiplier path.
#[divan::bench]
fn cost_anthropic_cache_write(bencher: Bencher) {
    let c = Catalog::embedded();
    let usage = Usage::new(3000, 200).with_cache_read(500).with_cache_write(1000);
    let opts = options();
    bencher.bench(|| c.cost_per_token(black_box("claude-sonnet-4-5"), Some("anthropic"), black_box(&usage), &opts));
}

/// A prompt above a threshold (`_above_200k_tokens`) with reasoning tokens.
#[divan::bench]
fn cost_threshold_reasoning(bencher: Bencher) {
    let c = Catalog::embedded();
    let usage = Usage::new(300_000, 2000).with_reasoning(1500);
    let opts = options();
    bencher.bench(|| c.cost_per_token(black_box("gemini/gemini-2.5-pro"), None, black_box(&usage), &opts));
}

/// Off-peak windows restricted to weekdays in `Asia/Shanghai` (the weekday is read in that zone on every call;
/// Wednesday 08:00 UTC, no window open).
#[divan::bench]
fn cost_off_peak_weekday_zone(bencher: Bencher) {
    let c = Catalog::embedded();
    let usage = Usage::new(1000, 500).with_cache_read(200);
    let opts = options();
    bencher.bench(|| c.cost_per_token(black_box("tencent/deepseek-v4.1-flash"), None, black_box(&usage), &opts));
}

/// A service tier (`_priority` keys with fallbacks).
#[divan::bench]
fn cost_service_tier(bencher: Bencher) {
    let c = Catalog::embedded();
    let usage = Usage::new(1000, 500).with_cache_read(200);
    let opts = options().with_service_tier("priority");
    bencher.bench(|| c.cost_per_token(black_box("gpt-4o"), Some("openai"), black_box(&usage), &opts));
}

/// One `llm cost --jsonl` line: parse, price, write the answer.
#[divan::bench]
fn jsonl_line(bencher: Bencher) {
    let c = Catalog::embedded();
    let line = r#"{"model": "gpt-4o", "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "cached_tokens": 1200}, "billing_time": "2025-06-04T08:00:00Z"}"#;
    bencher.bench(|| llm_cost::answer_jsonl_line(c, black_box(line)));
}

/// Parsing the whole embedded catalog (what the first use of `Catalog::embedded` costs).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn catalog_cold_load() -> llm_cost::Result<Catalog> {
    Catalog::from_json_with_version(black_box(llm_cost::catalog::EMBEDDED_CATALOG), "bench")
}

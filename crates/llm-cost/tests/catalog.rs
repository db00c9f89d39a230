//! The embedded catalog: fresh against the vendored upstream file, every row loaded, LiteLLM's key resolution.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::ModelDirectory;
use llm_cost::Catalog;
use llm_cost::catalog::{EMBEDDED_CATALOG, EMBEDDED_VERSION, NormalizeOptions, normalize, sha256_hex};

fn data(path: &str) -> String {
    let p = format!("{}/data/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {p}: {e}"))
}

fn provenance(key: &str) -> String {
    data("upstream/PROVENANCE")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")).map(|v| v.trim().to_owned()))
        .unwrap_or_default()
}

/// A plain `cargo test` fails when the committed catalog is stale against the vendored upstream file (or the
/// overrides): the generated file is committed, and this test regenerates it in memory.
#[test]
fn committed_catalog_is_fresh() {
    let upstream = data("upstream/model_prices_and_context_window.json");
    assert_eq!(
        sha256_hex(upstream.as_bytes()),
        provenance("sha256"),
        "data/upstream/PROVENANCE does not match the vendored file: run `cargo xtask update-pricing --vendored`"
    );
    let overrides = data("overrides.json");
    let fresh = normalize(&upstream, &overrides, &NormalizeOptions::new(provenance("litellm_version"))).unwrap();
    if fresh.catalog != EMBEDDED_CATALOG {
        let line = fresh.catalog.lines().zip(EMBEDDED_CATALOG.lines()).position(|(a, b)| a != b).unwrap_or(0) + 1;
        panic!(
            "crates/llm-cost/data/catalog.json is stale (first difference at line {line}): \
             run `cargo xtask update-pricing --vendored` and commit the result"
        );
    }
    assert_eq!(
        fresh.version,
        EMBEDDED_VERSION.trim(),
        "data/catalog.version is stale: run `cargo xtask update-pricing --vendored`"
    );
}

#[test]
fn every_row_loads() {
    let c = Catalog::embedded();
    // 4,778 model rows + 98 alias rows; sample_spec and the rules block are not models
    assert_eq!(c.len(), 4876);
    assert!(c.version().starts_with("litellm-1.110.2+8943af58bf9f"), "{}", c.version());
    assert!(c.skipped_rules().is_empty(), "{:?}", c.skipped_rules());
    assert!(c.get("sample_spec").is_none());
    assert_eq!(c.alias_target("claude-sonnet-latest"), Some("claude-sonnet-5-5"));
    for key in c.keys() {
        assert!(c.get(key).is_some(), "{key}");
    }
    // every mode loads
    let modes: std::collections::BTreeSet<String> =
        c.keys().filter_map(|k| c.get(k).and_then(|i| i.mode().map(str::to_owned))).collect();
    for m in ["chat", "embedding", "image_generation", "audio_transcription", "rerank", "search", "ocr", "responses"] {
        assert!(modes.contains(m), "mode {m} missing");
    }
}

#[test]
fn normalizer_output_on_an_upstream_sample() {
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/upstream_sample.json")).unwrap();
    let out =
        normalize(&sample, r#"{"gpt-4o": {"output_cost_per_token": 0.000011}}"#, &NormalizeOptions::new("1.110.2"))
            .unwrap();
    insta::assert_snapshot!(
        "normalized_sample",
        format!("version: {}\noverridden: {:?}\n\n{}", out.version, out.overridden, out.catalog)
    );
    // the output is a fixed point, and loads
    let again = normalize(&out.catalog, "{}", &NormalizeOptions::new("1.110.2")).unwrap();
    assert_eq!(again.catalog, out.catalog);
    let c = Catalog::from_json(&out.catalog).unwrap();
    assert_eq!(c.get("odd/int-and-string-prices").unwrap().input_cost_per_token().unwrap().to_string(), "0.0000003");
}

#[test]
fn litellm_key_resolution() {
    let c = Catalog::embedded();
    let key = |m: &str, p: Option<&str>| {
        c.model_info(m, p).map(|i| i.key().to_owned()).unwrap_or_else(|e| format!("error: {e}"))
    };
    let cases: &[(&str, Option<&str>, &str)] = &[
        // provider prefix, exact key
        ("openai/gpt-4o", None, "gpt-4o"),
        ("gpt-4o", Some("azure"), "azure/gpt-4o"),
        // date suffix
        ("gpt-4o-2099-01-01", None, "gpt-4o"),
        // case-insensitive
        ("GPT-4O", Some("openai"), "gpt-4o"),
        // fine-tunes
        ("ft:gpt-4o-mini-2024-07-18:org::abc123", None, "ft:gpt-4o-mini-2024-07-18"),
        // bedrock: routing prefixes, regions, cross-region profiles
        (
            "bedrock/converse/anthropic.claude-3-5-sonnet-20240620-v1:0",
            None,
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
        ),
        (
            "bedrock/us-east-1/anthropic.claude-3-5-sonnet-20240620-v1:0",
            None,
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
        ),
        ("bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0", None, "us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
        // vertex versions and families
        ("vertex_ai/gemini-2.0-flash-001", None, "vertex_ai/gemini-2.0-flash"),
        ("vertex_ai/claude-sonnet-4-5", None, "vertex_ai/claude-sonnet-4-5"),
        // alias rows keep their own key
        ("claude-sonnet-latest", None, "claude-sonnet-latest"),
        // an unknown name
        ("totally-unknown", None, "error: model \"totally-unknown\" is not in the catalog (provider unknown)"),
    ];
    for (m, p, want) in cases {
        assert_eq!(key(m, *p), *want, "{m} / {p:?}");
    }
}

#[test]
fn provider_of_bare_names() {
    let c = Catalog::embedded();
    let p = |m: &str| c.provider_of(m).map(|p| p.into_string());
    assert_eq!(p("gpt-4o").as_deref(), Some("openai"));
    assert_eq!(p("claude-sonnet-4-5").as_deref(), Some("anthropic"));
    assert_eq!(p("gemini-2.5-pro").as_deref(), Some("vertex_ai"));
    assert_eq!(p("anthropic.claude-3-5-sonnet-20240620-v1:0").as_deref(), Some("bedrock"));
    // routing rules for names the file does not list yet
    assert_eq!(p("claude-newfamily-9").as_deref(), Some("anthropic"));
    assert_eq!(p("eu.anthropic.claude-future-9-v1:0").as_deref(), Some("bedrock"));
    // LiteLLM cannot resolve these bare names either
    assert_eq!(p("deepseek-chat"), None);
    assert_eq!(p("GPT-4O"), None);
    assert_eq!(p(""), None);
    let r = c.resolve("claude-sonnet-latest", None).unwrap();
    assert_eq!((r.provider.as_str(), r.model.as_str()), ("anthropic", "claude-sonnet-5-5"));
}

type Case = (&'static str, Option<&'static str>, Option<(&'static str, &'static str)>);

/// LiteLLM 1.110.2's `get_llm_provider` answers for the name families it rewrites (checked against the real
/// LiteLLM; the differential data has every alias row, region and geo prefix).
#[test]
fn aliases_mantle_regions_and_nested_names_resolve_like_litellm() {
    let c = Catalog::embedded();
    // (model, provider, LiteLLM's (provider, model) or None for an error)
    let cases: &[Case] = &[
        ("claude-sonnet-latest", None, Some(("anthropic", "claude-sonnet-5-5"))),
        ("azure_ai/claude-opus-latest", None, Some(("azure_ai", "claude-opus-5-5"))),
        ("bedrock/claude-opus-latest", None, Some(("bedrock", "global.anthropic.claude-opus-5-5"))),
        ("gpt-luna-latest", None, Some(("openai", "gpt-6-luna"))),
        ("zai/glm-latest", None, Some(("zai", "glm-5.3"))),
        ("glm-latest", Some("zai"), Some(("zai", "glm-5.3"))),
        ("bedrock_mantle/us-gov-east-1/openai.gpt-oss-20b", None, Some(("bedrock_mantle", "openai.gpt-oss-20b"))),
        (
            "bedrock_mantle/not-a-region/openai.gpt-oss-20b",
            None,
            Some(("bedrock_mantle", "not-a-region/openai.gpt-oss-20b")),
        ),
        ("bedrock_mantle/us-east-1/gpt-luna-latest", None, Some(("bedrock_mantle", "openai.gpt-6-luna"))),
        ("crusoe/openai/gpt-oss-120b", None, Some(("crusoe", "openai/gpt-oss-120b"))),
        ("ai21/jamba-1.5-large", None, Some(("ai21_chat", "jamba-1.5-large"))),
        ("jamba-1.5-large", Some("ai21"), Some(("ai21_chat", "jamba-1.5-large"))),
        ("ai21/j2-ultra", None, Some(("ai21", "j2-ultra"))),
        ("bedrock/apac.anthropic.claude-opus-5", None, Some(("bedrock", "apac.anthropic.claude-opus-5"))),
        (
            "apac.anthropic.claude-opus-5",
            Some("bedrock_converse"),
            Some(("bedrock_converse", "bedrock_converse/apac.anthropic.claude-opus-5")),
        ),
        // `bedrock_converse` is not a prefix LiteLLM resolves (not in its provider_list)
        ("bedrock_converse/apac.anthropic.claude-opus-5", None, None),
    ];
    for (model, provider, want) in cases {
        let got = c.resolve(model, *provider).ok().map(|r| (r.provider, r.model));
        let want = want.map(|(p, m)| (p.to_owned(), m.to_owned()));
        assert_eq!(got, want, "{model} / {provider:?}");
    }
    // what llm-providers asks once it has chosen the provider
    let renamed = |p: &str, m: &str| c.provider_model(p, m).map(|(p, m)| (p.into_string(), m));
    assert_eq!(renamed("anthropic", "claude-sonnet-latest"), Some(("anthropic".into(), "claude-sonnet-5-5".into())));
    assert_eq!(
        renamed("bedrock_mantle", "us-east-1/openai.gpt-oss-20b").map(|r| r.1).as_deref(),
        Some("openai.gpt-oss-20b")
    );
    assert_eq!(renamed("ai21", "jamba-mini-1.7").map(|r| r.0).as_deref(), Some("ai21_chat"));
    assert_eq!(renamed("openai", "gpt-4o"), None);
    // an alias is resolved only under the provider it is requested through
    assert_eq!(renamed("openai", "claude-sonnet-latest"), None);
}

/// `completion_cost` of an OpenAI-shaped response whose usage carries LiteLLM's `cache_creation_tokens` and its
/// TTL split: writes at the write rate, one-hour writes at `cache_creation_input_token_cost_above_1hr`, twelve-hour
/// writes at `…_above_12hr` (the figures are LiteLLM 1.110.2's).
#[test]
fn completion_cost_bills_cache_creation_tokens_and_their_ttl_split() {
    let c = Catalog::embedded();
    let opts = llm_cost::CostOptions::new();
    let priced = |model: &str, details: serde_json::Value| {
        let body = serde_json::json!({
            "id": "x", "model": model, "choices": [],
            "usage": {"prompt_tokens": 10_000, "completion_tokens": 100, "total_tokens": 10_100,
                      "prompt_tokens_details": details}
        });
        let response = llm_core::openai::response_from_json(body.to_string().as_bytes()).unwrap();
        c.completion_cost(&response, None, &opts).unwrap()
    };
    let cost = |details| priced("claude-sonnet-5-5", details);
    // 5000 × $2/M + 2000 × $0.1/M + 3000 × $2.5/M; 100 × $10/M
    let plain = cost(serde_json::json!({"cached_tokens": 2000, "cache_creation_tokens": 3000}));
    assert_eq!(plain.breakdown.input.to_string(), "0.01");
    assert_eq!(plain.breakdown.cache_read.to_string(), "0.0002");
    assert_eq!(plain.breakdown.cache_write.to_string(), "0.0075");
    assert_eq!(plain.total().map(|t| t.to_string()).as_deref(), Some("0.0187"));
    // 1000 five-minute writes × $2.5/M + 2000 one-hour writes × $4/M
    let split = cost(serde_json::json!({
        "cached_tokens": 2000, "cache_creation_tokens": 3000,
        "cache_creation_token_details": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000}
    }));
    assert_eq!(split.breakdown.cache_write.to_string(), "0.0105");
    assert_eq!(split.total().map(|t| t.to_string()).as_deref(), Some("0.0217"));
    // a row without a one-hour rate bills every write at its write rate; without a write rate, the input rate
    let gpt = |details| priced("gpt-4o", details);
    let w = gpt(serde_json::json!({"cache_creation_tokens": 3000,
        "cache_creation_token_details": {"ephemeral_1h_input_tokens": 2000}}));
    assert_eq!(w.breakdown.cache_write.to_string(), "0.0075");
    assert_eq!(w.total().map(|t| t.to_string()).as_deref(), Some("0.026"));
    // OpenAI's 30-minute writes at the write rate, 12-hour writes at `cache_creation_input_token_cost_above_12hr`
    // (gpt-6-sol: input $2/M, read $0.2/M, write $2.5/M, 12 h $5/M, output $10/M)
    let sol = |details| priced("gpt-6-sol", details);
    let openai = sol(serde_json::json!({
        "cached_tokens": 2000, "cache_creation_tokens": 3000,
        "cache_creation_token_details": {"ephemeral_30m_input_tokens": 1000, "ephemeral_12h_input_tokens": 2000}
    }));
    assert_eq!(openai.breakdown.input.to_string(), "0.01");
    assert_eq!(openai.breakdown.cache_read.to_string(), "0.0004");
    assert_eq!(openai.breakdown.cache_write.to_string(), "0.0125");
    assert_eq!(openai.total().map(|t| t.to_string()).as_deref(), Some("0.0239"));
    // a 1-hour count on a row without a 1-hour rate: the write rate
    let h1 = sol(serde_json::json!({"cache_creation_tokens": 3000,
        "cache_creation_token_details": {"ephemeral_1h_input_tokens": 2000}}));
    assert_eq!(h1.breakdown.cache_write.to_string(), "0.0075");
}

#[test]
fn capabilities_answer_false_for_unknown_models() {
    let c = Catalog::embedded();
    assert!(c.supports_function_calling("gpt-4o", None));
    assert!(c.supports_response_schema("accounts/fireworks/models/anything", Some("fireworks_ai")));
    assert!(c.supports("claude-sonnet-4-5", None, "supports_prompt_caching"));
    assert!(c.supports("claude-sonnet-4-5", None, "vision"));
    for f in ["vision", "reasoning", "function_calling", "response_schema", "prompt_caching", "pdf_input"] {
        assert!(!c.supports("no-such-model", None, f), "{f}");
        assert!(!c.supports("", None, f), "{f}");
    }
}

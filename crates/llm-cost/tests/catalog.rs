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

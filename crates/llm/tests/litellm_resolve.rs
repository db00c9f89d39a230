//! Provider resolution against LiteLLM 1.110.2's `get_llm_provider`, through the real resolution step: the
//! answers recorded by `scripts/litellm-diff/generate.py` (`crates/llm-cost/test_data/litellm/get_llm_provider.jsonl`)
//! replayed through `llm_providers::resolve` with the vendored catalog (`llm_cost::Catalog::embedded()`) as its
//! model directory — what `Client` and `llm resolve` run.
//!
//! At least 99.5 % of the cases must agree (provider and model, or both failing), and every disagreement must
//! fall under one of the reasons below, each explained in docs/pricing.md ("Resolution differences"). Run with
//! `--nocapture` to see the figures, `LITELLM_DIFF_RESOLVE=1` to list every disagreement.

#![cfg(feature = "providers")]
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;

use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../llm-cost/test_data/litellm/get_llm_provider.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Why a case may disagree; `None` for a disagreement nothing explains.
fn reason(model: &str, api_base: Option<&str>, want: &Value) -> Option<&'static str> {
    let want_provider = want.get("provider");
    if api_base.is_some() && want_provider.is_some_and(Value::is_null) {
        // LiteLLM's endpoint table names these hosts but its if-chain answers provider None
        return Some("api-base-provider-none");
    }
    // LiteLLM reroutes azure/<Mistral or Cohere chat model> to openai; the Azure adapter serves them
    if model.starts_with("azure/") && want_provider.and_then(Value::as_str) == Some("openai") {
        return Some("azure-openai-reroute");
    }
    // LiteLLM refuses ragflow/<model> outside ragflow/chat|agent/<id>/<model>
    if model.starts_with("ragflow/") {
        return Some("ragflow-route-format");
    }
    None
}

#[test]
fn resolution_matches_litellm_on_the_real_catalog() {
    let catalog = llm::cost::Catalog::embedded();
    let mut total = 0usize;
    let mut agree = 0usize;
    let mut by_reason: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for case in cases() {
        let input = &case["input"];
        // `llm_providers::resolve` takes no separate provider: the prefix is how a caller names it
        if input.get("custom_llm_provider").is_some() {
            continue;
        }
        let model = input["model"].as_str().unwrap();
        let base = input["api_base"].as_str();
        let want = &case["expected"];
        let got = llm::providers::resolve(model, base, catalog).ok().map(|r| (r.provider.into_string(), r.model));
        total += 1;
        let ok = match (want.get("error"), &got) {
            (Some(_), None) => true,
            (None, Some((p, m))) => want["provider"] == p.as_str() && want["model"] == m.as_str(),
            _ => false,
        };
        if ok {
            agree += 1;
            continue;
        }
        let line = format!("{model:?} base={base:?}: litellm {want} ; ours {got:?}");
        match reason(model, base, want) {
            Some(r) => by_reason.entry(r).or_default().push(line),
            None => unexplained.push(line),
        }
    }
    let rate = agree as f64 / total as f64;
    println!(
        "get_llm_provider through llm_providers::resolve + catalog: {agree} / {total} agree ({:.3} %)",
        rate * 100.0
    );
    let show = std::env::var("LITELLM_DIFF_RESOLVE").is_ok();
    for (r, lines) in &by_reason {
        println!("    {:5}  {r}", lines.len());
        if show {
            for l in lines {
                println!("        {l}");
            }
        }
    }
    for l in &unexplained {
        println!("  unexplained: {l}");
    }
    assert!(total > 9_000, "{total} cases");
    assert!(unexplained.is_empty(), "{} disagreements have no known reason", unexplained.len());
    assert!(rate >= 0.995, "resolution agreement {:.3} % is below 99.5 %", rate * 100.0);
}

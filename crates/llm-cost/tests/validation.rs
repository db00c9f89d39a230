//! Every way a catalog is loaded validates its prices the way `cargo xtask update-pricing` does: a bad price is
//! an error naming the model and the key, never a negative, zero or unpriced cost at call time.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::Usage;
use llm_cost::catalog::{EMBEDDED_CATALOG, validate_catalog};
use llm_cost::{Catalog, CostOptions, ErrorKind};

fn row(field: &str, value: &str) -> String {
    format!(
        r#"{{"good": {{"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}},
            "bad-model": {{"litellm_provider": "openai", "mode": "chat", "output_cost_per_token": 2e-6, "{field}": {value}}}}}"#
    )
}

/// (field, JSON value, expected message after `model "bad-model": `)
const BAD: &[(&str, &str, &str)] = &[
    ("input_cost_per_token", "-0.000001", "input_cost_per_token: -0.000001 is negative"),
    ("input_cost_per_token", r#""NaN""#, "input_cost_per_token: NaN is not a finite number"),
    ("input_cost_per_token", r#""Infinity""#, "input_cost_per_token: Infinity is not a finite number"),
    ("input_cost_per_token", r#""cheap""#, r#"input_cost_per_token: "cheap" is not a number"#),
    ("input_cost_per_token", "null", "input_cost_per_token: null where a price is expected"),
    ("input_cost_per_token", "{}", "input_cost_per_token: expected a number, found an object"),
    ("input_cost_per_token", "1e308", "input_cost_per_token: 1e308 is too large to be a price"),
    ("input_cost_per_token", "0.5", "input_cost_per_token: 0.5 is absurdly large (per-token limit $0.01)"),
    ("output_cost_per_image", "1000", "output_cost_per_image: 1000 is absurdly large (per-unit limit $100)"),
    ("cache_read_input_token_cost", "[1]", "cache_read_input_token_cost: expected a number, found an array"),
    ("provider_specific_entry", r#"{"us": -1.1}"#, "provider_specific_entry.us: -1.1 is negative"),
    ("provider_specific_entry", r#"{"us": "-2"}"#, "provider_specific_entry.us: -2 is negative"),
    (
        "provider_specific_entry",
        r#"{"fast": 50}"#,
        "provider_specific_entry.fast: 50 is absurdly large (multiplier limit 10)",
    ),
    ("regional_processing_uplift_multiplier_eu", "-1", "regional_processing_uplift_multiplier_eu: -1 is negative"),
    (
        "tiered_pricing",
        r#"[{"range": [0, 1000], "input_cost_per_token": "NaN"}]"#,
        "tiered_pricing[0].input_cost_per_token: NaN is not a finite number",
    ),
    (
        "off_peak_pricing",
        r#"{"input_cost_per_token": -1e-7, "hours_utc": "00:00-08:00"}"#,
        "off_peak_pricing.input_cost_per_token: -1e-7 is negative",
    ),
    (
        "search_context_cost_per_query",
        r#"{"search_context_size_low": "free"}"#,
        r#"search_context_cost_per_query.search_context_size_low: "free" is not a number"#,
    ),
    ("max_input_tokens", "-5", "max_input_tokens: expected a non-negative integer, found a number"),
];

#[test]
fn from_json_rejects_bad_prices_naming_model_and_key() {
    for (field, value, want) in BAD {
        let text = row(field, value);
        let err = Catalog::from_json(&text).err().unwrap_or_else(|| panic!("{field} = {value} loaded"));
        assert_eq!(err.to_string(), format!("model \"bad-model\": {want}"), "{field} = {value}");
        assert!(
            matches!(err.kind(), ErrorKind::InvalidPrice | ErrorKind::InvalidCatalog),
            "{field} = {value}: {:?}",
            err.kind()
        );
        let again = Catalog::from_json_with_version(&text, "v").err().unwrap();
        assert_eq!(again.to_string(), err.to_string());
        assert_eq!(validate_catalog(&text).err().unwrap().to_string(), err.to_string());
    }
}

#[test]
fn from_file_rejects_bad_prices() {
    let dir = std::env::temp_dir().join(format!("llm-cost-validation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("prices.json");
    std::fs::write(&path, row("input_cost_per_token", "-0.995")).unwrap();
    let err = Catalog::from_file(&path).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidPrice);
    assert_eq!(err.to_string(), "model \"bad-model\": input_cost_per_token: -0.995 is negative");
    std::fs::write(&path, row("input_cost_per_token", "0.000003")).unwrap();
    let c = Catalog::from_file(&path).unwrap();
    let cost = c.cost_per_token("bad-model", Some("openai"), &Usage::new(1000, 10), &CostOptions::new()).unwrap();
    assert_eq!(cost.total().unwrap().to_string(), "0.00302");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn good_rows_still_load() {
    let text = r#"{
        "m": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": "3e-6", "output_cost_per_token": 0.000015,
              "provider_specific_entry": {"us": 1.1, "fast": 6, "mode_name": "fast-mode"},
              "search_context_cost_per_query": {"search_context_size_low": 0.01}, "max_input_tokens": "200000"},
        "a": {"alias_of": "m"},
        "odd": [1, 2],
        "sample_spec": {"input_cost_per_token": "sample"},
        "new-field": {"litellm_provider": "x", "input_cost_per_thought": 1e-6}
    }"#;
    let c = Catalog::from_json(text).unwrap();
    assert_eq!(c.len(), 3);
    let cost = c.cost_per_token("m", Some("anthropic"), &Usage::new(1000, 100), &CostOptions::new()).unwrap();
    assert_eq!(cost.total().unwrap().to_string(), "0.0045");
}

#[test]
fn register_model_and_overrides_reject_bad_prices() {
    let mut c = Catalog::from_json(&row("input_cost_per_token", "1e-6")).unwrap();
    for (field, value, want) in BAD {
        let patch = format!(r#"{{"{field}": {value}}}"#);
        let err = c.register_model("bad-model", &patch).err().unwrap_or_else(|| panic!("{patch} registered"));
        assert_eq!(err.to_string(), format!("model \"bad-model\": {want}"), "{patch}");
        let err = c.apply_overrides(&format!(r#"{{"bad-model": {patch}}}"#)).err().unwrap();
        assert_eq!(err.to_string(), format!("model \"bad-model\": {want}"), "{patch}");
    }
    // the row is unchanged: still priced at its valid rates
    let cost = c.cost_per_token("bad-model", Some("openai"), &Usage::new(1000, 0), &CostOptions::new()).unwrap();
    assert_eq!(cost.total().unwrap().to_string(), "0.001");
    // a null price in an override would have priced prompts at $0 `priced`
    let err = c.register_model("good", r#"{"input_cost_per_token": null}"#).unwrap_err();
    assert_eq!(err.to_string(), "model \"good\": input_cost_per_token: null where a price is expected");
    // null still removes other fields
    c.register_model("good", r#"{"mode": null}"#).unwrap();
    assert_eq!(c.get("good").unwrap().mode(), None);
}

/// The embedded catalog passes the same validation (it is also checked when generated).
#[test]
fn embedded_catalog_validates() {
    validate_catalog(EMBEDDED_CATALOG).unwrap();
    let loaded = Catalog::from_json(EMBEDDED_CATALOG).unwrap();
    assert_eq!(loaded.len(), Catalog::embedded().len());
}

//! The model catalog (prices, context windows, capabilities) and the exact cost calculator for llm-rs.
//!
//! Prices come from LiteLLM's public price file, vendored in `data/upstream/` and normalized by
//! `cargo xtask update-pricing` into a canonical catalog the crate embeds. Every amount is a [`llm_core::Usd`] (a
//! `Decimal`): prices are read from the JSON number text and token counts multiply them exactly, never through
//! `f64`. The semantics are LiteLLM 1.110.2's (key resolution, bucket rates and fallbacks, thresholds, service
//! tiers, provider rules), checked against LiteLLM's own answers by a differential test; docs/pricing.md lists
//! the few places this crate differs on purpose. A model without a price is [`CostStatus::Unpriced`], never a
//! silent $0.
//!
//! ```
//! use llm_core::{CostStatus, Usage};
//! use llm_cost::{Catalog, CostOptions};
//!
//! let catalog = Catalog::embedded();
//!
//! // What the catalog knows about a model, with LiteLLM's name resolution.
//! let info = catalog.model_info("openai/gpt-4o", None).unwrap();
//! assert_eq!((info.key(), info.provider(), info.max_input_tokens()), ("gpt-4o", Some("openai"), Some(128000)));
//! assert!(catalog.supports_response_schema("gpt-4o", None));
//!
//! // The exact cost of a call: 1,000 prompt tokens of which 200 cached, 500 completion tokens.
//! let usage = Usage::new(1000, 500).with_cache_read(200);
//! let cost = catalog.cost_per_token("gpt-4o", None, &usage, &CostOptions::new()).unwrap();
//! assert_eq!(cost.status, CostStatus::Priced);
//! assert_eq!(cost.breakdown.input.to_string(), "0.002"); // 800 × $2.50/M
//! assert_eq!(cost.breakdown.cache_read.to_string(), "0.00025"); // 200 × $1.25/M
//! assert_eq!(cost.total().unwrap().to_string(), "0.00725");
//! assert_eq!(cost.catalog_key.as_deref(), Some("gpt-4o"));
//!
//! // An unknown model is unknown, not free.
//! let unknown = catalog.cost_per_token("my-finetune", None, &usage, &CostOptions::new()).unwrap();
//! assert_eq!(unknown.status, CostStatus::UnknownModel);
//! assert_eq!(unknown.total(), None);
//!
//! // The `llm cost --jsonl` protocol, one line at a time.
//! let answer = llm_cost::answer_jsonl_line(
//!     catalog,
//!     r#"{"model": "claude-sonnet-4-5", "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "cached_tokens": 1200}}"#,
//! );
//! assert_eq!(answer, r#"{"prompt_cost":0.00276,"completion_cost":0.0045,"total_cost":0.00726,"status":"priced","catalog_key":"claude-sonnet-4-5"}"#);
//! ```
//!
//! The catalog can be replaced at run time by a newer price file in the same format ([`Catalog::from_json`]),
//! extended or corrected model by model ([`Catalog::register_model`], [`Catalog::apply_overrides`]), and a call
//! can carry its own rates ([`CostOptions::with_custom_rates`]).

mod capabilities;
pub mod catalog;
mod cost;
mod error;
mod exact;
mod jsonl;
mod names;
mod pattern;
mod resolve;
mod shared;
mod time;

pub use capabilities::CAPABILITIES;
pub use catalog::{Catalog, ModelInfo, PriceTier};
pub use cost::{CostOptions, CustomRates, completion_cost, cost_per_token};
pub use error::{Error, ErrorKind, Result};
pub use jsonl::{answer_jsonl_line, cost_answer, error_answer, price_jsonl_line};
pub use llm_core::CostStatus;
pub use resolve::Resolved;
pub use shared::{CatalogRef, SharedCatalog};
pub use time::BillingTime;

use sha2::{Digest, Sha256};

/// The lowercase hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The first 12 hex digits of the sha256 of `bytes`.
pub(crate) fn digest12(bytes: &[u8]) -> String {
    sha256_hex(bytes).chars().take(12).collect()
}

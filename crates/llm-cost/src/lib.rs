//! The model catalog (prices, context windows, capabilities) and the exact cost calculator for llm-rs.
//!
//! Prices come from LiteLLM's public price file, vendored and normalized into an embedded catalog; every
//! amount is a [`llm_core::Usd`] (a `Decimal`), never an `f64`. This crate depends only on llm-core.

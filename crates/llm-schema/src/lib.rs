//! Structured output for llm-rs: a JSON schema from a Rust type, a strategy per provider (native schema,
//! forced tool call, prompted JSON), validation against the caller's original schema, and repair by retrying
//! with the validation errors.
//!
//! This crate depends only on llm-core; provider dialect rewrites live in each provider's encoder.

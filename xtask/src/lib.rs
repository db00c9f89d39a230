//! Repository tasks for llm-rs, run as `cargo xtask <task>`.
//!
//! - `tidy`: checks repository rules, today the dependency direction between the workspace crates.
//! - `update-pricing`: regenerates llm-cost's catalog from LiteLLM's price file ([`pricing`]).

pub mod pricing;
pub mod tidy;

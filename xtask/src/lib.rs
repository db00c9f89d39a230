//! Repository tasks for llm-rs, run as `cargo xtask <task>`.
//!
//! - `tidy`: checks repository rules: the dependency direction between the workspace crates ([`tidy`]) and that
//!   every test asserts something or says why not ([`assertions`]).
//! - `update-pricing`: regenerates llm-cost's catalog from LiteLLM's price file ([`pricing`]).

pub mod assertions;
pub mod pricing;
pub mod tidy;

//! Repository tasks for llm-rs, run as `cargo xtask <task>`.
//!
//! - `tidy`: checks repository rules, today the dependency direction between the workspace crates.

pub mod tidy;

//! Provider adapters for llm-rs: one folder per provider, with pure request encoding and response decoding
//! apart from HTTP, and the OpenAI-compatible family described as data.
//!
//! This crate implements [`llm_core::Provider`]; it never depends on llm-cost, llm-schema or llm-tracking.
//! Resolution of bare model names takes a [`llm_core::ModelDirectory`] from the caller.
//!
//! The adapters land with the providers issue; today the crate only fixes its place in the layering.

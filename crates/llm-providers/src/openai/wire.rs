//! Serde mirrors of the parts of an OpenAI-family answer that llm-core's decoder normalizes away and a
//! family member's quirks need: the reported `total_tokens`, and xAI's `cost_in_usd_ticks`. Everything else
//! is read by [`llm_core::openai`].

use llm_core::openai::{Count, WireUsage};
use serde::Deserialize;
use serde_json::Value;

/// The raw totals of a `usage` object.
#[derive(Debug, Default, Deserialize)]
pub struct RawUsage {
    /// `prompt_tokens`.
    #[serde(default)]
    pub prompt_tokens: Count,
    /// `completion_tokens`.
    #[serde(default)]
    pub completion_tokens: Count,
    /// `total_tokens` as reported.
    #[serde(default)]
    pub total_tokens: Count,
    /// `completion_tokens_details`.
    #[serde(default)]
    pub completion_tokens_details: Option<RawCompletionDetails>,
    /// xAI's billed cost in ticks (10¹⁰ per USD).
    #[serde(default)]
    pub cost_in_usd_ticks: Option<Value>,
    /// DeepInfra's cost of the call in USD.
    #[serde(default)]
    pub estimated_cost: Option<Value>,
}

/// `completion_tokens_details.reasoning_tokens`.
#[derive(Debug, Default, Deserialize)]
pub struct RawCompletionDetails {
    /// Reasoning tokens.
    #[serde(default)]
    pub reasoning_tokens: Count,
}

/// An envelope holding only `usage` (a response or a chunk).
#[derive(Debug, Default, Deserialize)]
pub struct UsageEnvelope {
    /// `usage`.
    #[serde(default)]
    pub usage: Option<RawUsage>,
    /// Groq's `x_groq`.
    #[serde(default)]
    pub x_groq: Option<XGroq>,
}

/// Groq's `x_groq` object.
#[derive(Debug, Default, Deserialize)]
pub struct XGroq {
    /// The usage Groq puts on the last stream chunk.
    #[serde(default)]
    pub usage: Option<Value>,
}

/// Reads the full usage of Groq's `x_groq.usage`, when present.
pub fn x_groq_usage(x: &XGroq) -> Option<(WireUsage, RawUsage)> {
    let v = x.usage.as_ref()?;
    let wire = WireUsage::deserialize(v).ok()?;
    let raw = RawUsage::deserialize(v).ok()?;
    Some((wire, raw))
}

//! Serde mirrors of Bedrock Converse answers and stream events (PROVIDERS.md §13.3–13.4). Wire names are
//! lowerCamelCase.

use llm_core::openai::Count;
use serde::Deserialize;
use serde_json::Value;

/// A `ConverseResponse`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireResponse {
    /// `output.message`.
    #[serde(default)]
    pub output: Option<WireOutput>,
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Usage.
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// `output`.
#[derive(Debug, Default, Deserialize)]
pub struct WireOutput {
    /// The assistant message.
    #[serde(default)]
    pub message: Option<WireMessage>,
}

/// A message.
#[derive(Debug, Default, Deserialize)]
pub struct WireMessage {
    /// Content blocks (one key each).
    #[serde(default)]
    pub content: Vec<WireBlock>,
}

/// A content block of an answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBlock {
    /// Text.
    #[serde(default)]
    pub text: Option<String>,
    /// A tool call.
    #[serde(default)]
    pub tool_use: Option<WireToolUse>,
    /// Reasoning.
    #[serde(default)]
    pub reasoning_content: Option<WireReasoning>,
}

/// `toolUse`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireToolUse {
    /// `tooluse_…`.
    #[serde(default)]
    pub tool_use_id: String,
    /// The tool.
    #[serde(default)]
    pub name: String,
    /// The arguments object (a partial JSON string in stream deltas).
    #[serde(default)]
    pub input: Option<Value>,
}

/// `reasoningContent`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireReasoning {
    /// `reasoningText.text`.
    #[serde(default)]
    pub reasoning_text: Option<WireReasoningText>,
    /// A text piece (stream deltas).
    #[serde(default)]
    pub text: Option<String>,
}

/// `reasoningText`.
#[derive(Debug, Default, Deserialize)]
pub struct WireReasoningText {
    /// The text.
    #[serde(default)]
    pub text: String,
}

/// `cacheDetails[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCacheDetail {
    /// `5m` or `1h`.
    #[serde(default)]
    pub ttl: String,
    /// Tokens written with that TTL.
    #[serde(default)]
    pub input_tokens: Count,
}

/// `TokenUsage`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireUsage {
    /// Uncached input only.
    #[serde(default)]
    pub input_tokens: Count,
    /// Output, reasoning included.
    #[serde(default)]
    pub output_tokens: Count,
    /// input + output + cache read + cache write.
    #[serde(default)]
    pub total_tokens: Count,
    /// Cache reads (not in `inputTokens`).
    #[serde(default)]
    pub cache_read_input_tokens: Count,
    /// Cache writes (not in `inputTokens`).
    #[serde(default)]
    pub cache_write_input_tokens: Count,
    /// The cache-write split by TTL.
    #[serde(default)]
    pub cache_details: Vec<WireCacheDetail>,
}

/// `contentBlockStart`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBlockStart {
    /// The block position.
    #[serde(default)]
    pub content_block_index: u32,
    /// `start`.
    #[serde(default)]
    pub start: Option<WireBlock>,
}

/// `contentBlockDelta`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBlockDelta {
    /// The block position.
    #[serde(default)]
    pub content_block_index: u32,
    /// `delta`.
    #[serde(default)]
    pub delta: Option<WireBlock>,
}

/// `messageStop`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMessageStop {
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// `metadata`.
#[derive(Debug, Default, Deserialize)]
pub struct WireMetadata {
    /// Usage, last in the stream.
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

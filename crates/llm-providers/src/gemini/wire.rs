//! Serde mirrors of Gemini `GenerateContentResponse` (PROVIDERS.md §6.3–6.5). Wire names are lowerCamelCase.

use llm_core::openai::Count;
use serde::Deserialize;
use serde_json::Value;

/// A `GenerateContentResponse` (also each stream chunk).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireResponse {
    /// Candidates; absent when the prompt was blocked.
    #[serde(default)]
    pub candidates: Vec<WireCandidate>,
    /// Why the prompt was blocked.
    #[serde(default)]
    pub prompt_feedback: Option<WirePromptFeedback>,
    /// Usage (running totals in streams).
    #[serde(default)]
    pub usage_metadata: Option<WireUsage>,
    /// The served model.
    #[serde(default)]
    pub model_version: Option<String>,
    /// The response id.
    #[serde(default)]
    pub response_id: Option<String>,
    /// An error object (inside a stream).
    #[serde(default)]
    pub error: Option<Value>,
}

/// `promptFeedback`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePromptFeedback {
    /// `SAFETY`, `PROHIBITED_CONTENT`, ...
    #[serde(default)]
    pub block_reason: Option<String>,
}

/// One candidate.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCandidate {
    /// The content.
    #[serde(default)]
    pub content: Option<WireContent>,
    /// Why it stopped.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Its position.
    #[serde(default)]
    pub index: Option<u32>,
}

/// `content`.
#[derive(Debug, Default, Deserialize)]
pub struct WireContent {
    /// The parts.
    #[serde(default)]
    pub parts: Vec<WirePart>,
}

/// One part (one data field each).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePart {
    /// Text.
    #[serde(default)]
    pub text: Option<String>,
    /// True for thought summaries.
    #[serde(default)]
    pub thought: Option<bool>,
    /// A function call.
    #[serde(default)]
    pub function_call: Option<WireFunctionCall>,
    /// The signature to echo in the next turn.
    #[serde(default)]
    pub thought_signature: Option<String>,
}

/// `functionCall`.
#[derive(Debug, Default, Deserialize)]
pub struct WireFunctionCall {
    /// The function.
    #[serde(default)]
    pub name: String,
    /// The arguments object.
    #[serde(default)]
    pub args: Option<Value>,
    /// Its id, when the API sends one.
    #[serde(default)]
    pub id: Option<String>,
}

/// `ModalityTokenCount`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireModalityCount {
    /// `TEXT`, `IMAGE`, `AUDIO`, ...
    #[serde(default)]
    pub modality: String,
    /// Tokens.
    #[serde(default)]
    pub token_count: Count,
}

/// `usageMetadata`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireUsage {
    /// The prompt, cached part included.
    #[serde(default)]
    pub prompt_token_count: Count,
    /// Cache hits (inside the prompt count).
    #[serde(default)]
    pub cached_content_token_count: Count,
    /// Visible output (thoughts excluded).
    #[serde(default)]
    pub candidates_token_count: Count,
    /// Thoughts (not in candidates).
    #[serde(default)]
    pub thoughts_token_count: Count,
    /// Server-side tool results fed back (not in the prompt count).
    #[serde(default)]
    pub tool_use_prompt_token_count: Count,
    /// The total.
    #[serde(default)]
    pub total_token_count: Count,
    /// The prompt by modality.
    #[serde(default)]
    pub prompt_tokens_details: Vec<WireModalityCount>,
    /// The output by modality.
    #[serde(default)]
    pub candidates_tokens_details: Vec<WireModalityCount>,
}

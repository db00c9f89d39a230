//! Serde mirrors of Ollama's native `/api/chat` answers (PROVIDERS.md §7.3).

use llm_core::openai::Count;
use serde::Deserialize;
use serde_json::Value;

/// One answer object (the whole reply, or one NDJSON line of a stream).
#[derive(Debug, Default, Deserialize)]
pub struct WireChat {
    /// The model.
    #[serde(default)]
    pub model: Option<String>,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The message (or its delta).
    #[serde(default)]
    pub message: Option<WireMessage>,
    /// True on the last object.
    #[serde(default)]
    pub done: bool,
    /// `stop`, `length`, `load`, `unload`.
    #[serde(default)]
    pub done_reason: Option<String>,
    /// Input tokens evaluated (absent means 0).
    #[serde(default)]
    pub prompt_eval_count: Count,
    /// Output tokens, thinking included.
    #[serde(default)]
    pub eval_count: Count,
    /// An error (mid-stream).
    #[serde(default)]
    pub error: Option<Value>,
}

/// `message`.
#[derive(Debug, Default, Deserialize)]
pub struct WireMessage {
    /// Text.
    #[serde(default)]
    pub content: Option<String>,
    /// Thinking text.
    #[serde(default)]
    pub thinking: Option<String>,
    /// Tool calls (arguments are objects).
    #[serde(default)]
    pub tool_calls: Vec<WireToolCall>,
}

/// One tool call.
#[derive(Debug, Default, Deserialize)]
pub struct WireToolCall {
    /// Its id, when sent.
    #[serde(default)]
    pub id: Option<String>,
    /// The call.
    #[serde(default)]
    pub function: WireFunction,
}

/// `function`.
#[derive(Debug, Default, Deserialize)]
pub struct WireFunction {
    /// The function.
    #[serde(default)]
    pub name: String,
    /// The arguments object.
    #[serde(default)]
    pub arguments: Option<Value>,
}

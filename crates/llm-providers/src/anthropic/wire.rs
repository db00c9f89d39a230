//! Serde mirrors of Anthropic Messages answers (PROVIDERS.md §5.3–5.5).

use llm_core::openai::Count;
use serde::Deserialize;
use serde_json::Value;

/// A `message`.
#[derive(Debug, Deserialize)]
pub struct WireMessage {
    /// `msg_…`.
    #[serde(default)]
    pub id: String,
    /// The served model.
    #[serde(default)]
    pub model: String,
    /// Content blocks.
    #[serde(default)]
    pub content: Vec<WireBlock>,
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Usage.
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// A content block of an answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireBlock {
    /// Text.
    Text {
        /// The text.
        #[serde(default)]
        text: String,
    },
    /// Extended thinking.
    Thinking {
        /// The thinking text.
        #[serde(default)]
        thinking: String,
        /// The signature to send back with it in later turns.
        #[serde(default)]
        signature: Option<String>,
    },
    /// A tool call; `input` is a JSON object.
    ToolUse {
        /// `toolu_…`.
        #[serde(default)]
        id: String,
        /// The tool.
        #[serde(default)]
        name: String,
        /// The arguments.
        #[serde(default)]
        input: Value,
    },
    /// Anything else (redacted thinking, server tool blocks, ...).
    #[serde(other)]
    Other,
}

/// `cache_creation`: the cache-write split by TTL.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
pub struct WireCacheCreation {
    /// 5-minute writes.
    #[serde(default)]
    pub ephemeral_5m_input_tokens: Count,
    /// 1-hour writes.
    #[serde(default)]
    pub ephemeral_1h_input_tokens: Count,
}

/// `output_tokens_details`.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
pub struct WireOutputDetails {
    /// Thinking tokens (inside `output_tokens`).
    #[serde(default)]
    pub thinking_tokens: Count,
}

/// `server_tool_use`.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
pub struct WireServerToolUse {
    /// Web searches.
    #[serde(default)]
    pub web_search_requests: Count,
}

/// Usage, as in a `message` or (partially, cumulative) in `message_delta`.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
pub struct WireUsage {
    /// Uncached input only.
    #[serde(default)]
    pub input_tokens: Count,
    /// Cache writes (not in `input_tokens`).
    #[serde(default)]
    pub cache_creation_input_tokens: Count,
    /// Cache reads (not in `input_tokens`).
    #[serde(default)]
    pub cache_read_input_tokens: Count,
    /// The cache-write TTL split.
    #[serde(default)]
    pub cache_creation: Option<WireCacheCreation>,
    /// All output, thinking included.
    #[serde(default)]
    pub output_tokens: Count,
    /// Thinking breakdown.
    #[serde(default)]
    pub output_tokens_details: Option<WireOutputDetails>,
    /// Server tool requests.
    #[serde(default)]
    pub server_tool_use: Option<WireServerToolUse>,
}

impl WireUsage {
    /// Overlays the fields a later (cumulative) usage reports.
    pub fn merge(&mut self, later: &WireUsage) {
        fn over(a: &mut Count, b: Count) {
            if b.0.is_some() {
                *a = b;
            }
        }
        over(&mut self.input_tokens, later.input_tokens);
        over(&mut self.cache_creation_input_tokens, later.cache_creation_input_tokens);
        over(&mut self.cache_read_input_tokens, later.cache_read_input_tokens);
        over(&mut self.output_tokens, later.output_tokens);
        if later.cache_creation.is_some() {
            self.cache_creation = later.cache_creation;
        }
        if later.output_tokens_details.is_some() {
            self.output_tokens_details = later.output_tokens_details;
        }
        if later.server_tool_use.is_some() {
            self.server_tool_use = later.server_tool_use;
        }
    }
}

/// One stream event's data.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireEvent {
    /// The message head with the initial usage.
    MessageStart {
        /// The message (empty content).
        message: WireMessage,
    },
    /// A block begins.
    ContentBlockStart {
        /// The block position.
        index: u32,
        /// The block head.
        content_block: WireBlock,
    },
    /// A piece of a block.
    ContentBlockDelta {
        /// The block position.
        index: u32,
        /// The piece.
        delta: WireDelta,
    },
    /// A block ends.
    ContentBlockStop {
        /// The block position.
        index: u32,
    },
    /// The stop reason and the cumulative usage.
    MessageDelta {
        /// `stop_reason`, ...
        delta: WireMessageDelta,
        /// Cumulative usage.
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    /// The end.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// An error inside the stream.
    Error,
    /// An event this version does not know.
    #[serde(other)]
    Other,
}

/// A block delta.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireDelta {
    /// Text.
    TextDelta {
        /// The text.
        text: String,
    },
    /// A piece of a tool call's JSON input.
    InputJsonDelta {
        /// The piece.
        partial_json: String,
    },
    /// Thinking text.
    ThinkingDelta {
        /// The text.
        thinking: String,
    },
    /// The thinking block's signature.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// Anything else (signatures, citations).
    #[serde(other)]
    Other,
}

/// `message_delta.delta`.
#[derive(Debug, Deserialize)]
pub struct WireMessageDelta {
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
}

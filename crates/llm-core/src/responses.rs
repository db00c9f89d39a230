//! OpenAI's Responses API (`POST /v1/responses`): the request, the response object, its items and usage, the
//! typed stream of semantic events, and the bridge to and from chat ([`to_chat_response`],
//! [`request_from_chat`]) that serves models which exist only on this API through [`crate::Provider::chat`].
//!
//! The types mirror the wire format: an item is a `message`, `reasoning`, `function_call`,
//! `function_call_output` or `item_reference` (anything else is kept as raw JSON in `Other`), the same type
//! for input and output, so an output item can be sent back as input as it came.
//!
//! ```
//! use llm_core::responses::{ResponsesResponse, ResponsesUsage};
//! let r: ResponsesResponse = serde_json::from_str(r#"{
//!   "id": "resp_1", "object": "response", "created_at": 1741476542, "status": "completed", "model": "o1-pro",
//!   "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
//!               "content": [{"type": "output_text", "text": "Hi!", "annotations": []}]}],
//!   "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4},
//!             "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 16}, "total_tokens": 30}
//! }"#).unwrap();
//! assert_eq!(r.output_text(), "Hi!");
//! let u = r.normalized_usage().unwrap();
//! assert_eq!((u.prompt_tokens, u.cache_read_tokens, u.completion_tokens, u.reasoning_tokens), (10, Some(4), 20, Some(16)));
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::cost::Cost;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::ProviderId;
use crate::message::{Content, ContentPart, Message, Role, ToolCall};
use crate::report::{Adjustment, AdjustmentKind, Retry};
use crate::request::{ChatRequest, ToolChoice};
use crate::response::{ChatResponse, Choice, FinishReason};
use crate::usage::Usage;

/// What [`ResponsesRequest::input`] holds: a plain string (one user message) or a list of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Input {
    /// One user message.
    Text(String),
    /// Messages and other items, in order.
    Items(Vec<Item>),
}

/// A message's content: a string, or content parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemContent {
    /// Plain text.
    Text(String),
    /// Parts (`input_text`, `input_image`, `input_file`, `output_text`, `refusal`).
    Parts(Vec<ContentItem>),
}

/// One part of a message's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContentItem {
    /// Text given to the model.
    InputText {
        /// The text.
        text: String,
    },
    /// An image given to the model, by URL (a `data:` URL for inline bytes) or file id.
    InputImage {
        /// The URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
        /// A file id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
        /// `low`, `high` or `auto`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A file given to the model.
    InputFile {
        /// A file id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
        /// The file name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
        /// A `data:` URL with the bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_data: Option<String>,
    },
    /// Text the model wrote.
    OutputText {
        /// The text.
        text: String,
        /// Citations and other annotations.
        #[serde(default)]
        annotations: Vec<Value>,
    },
    /// A refusal the model wrote.
    Refusal {
        /// Its text.
        refusal: String,
    },
    /// A part type this version does not model, kept as received.
    #[serde(untagged)]
    Other(Value),
}

/// One line of a reasoning item's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SummaryText {
    /// Always `summary_text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    pub text: String,
}

impl SummaryText {
    /// A `summary_text` line.
    pub fn new(text: impl Into<String>) -> Self {
        Self { kind: "summary_text".into(), text: text.into() }
    }
}

/// A reasoning item: its id, its summary, and (with `include: ["reasoning.encrypted_content"]`) the encrypted
/// reasoning that a later call needs back when nothing is stored server-side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningItem {
    /// The item id (`rs_...`).
    pub id: String,
    /// The summary lines (empty unless a summary was asked for).
    #[serde(default)]
    pub summary: Vec<SummaryText>,
    /// The encrypted reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    /// The item status, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl ReasoningItem {
    /// The summary lines joined by blank lines.
    pub fn summary_text(&self) -> String {
        self.summary.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n\n")
    }
}

/// A function call the model made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionCallItem {
    /// The item id (`fc_...`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call id a `function_call_output` answers.
    pub call_id: String,
    /// The function's name.
    pub name: String,
    /// The arguments, a JSON text as the model wrote it.
    #[serde(default)]
    pub arguments: String,
    /// The item status, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A message item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageItem {
    /// The item id (`msg_...`), on output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `user`, `assistant`, `system` or `developer`.
    pub role: Role,
    /// The content.
    pub content: ItemContent,
    /// The item status, on output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// One item of a conversation: input and output share these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Item {
    /// A message.
    Message(MessageItem),
    /// Reasoning.
    Reasoning(ReasoningItem),
    /// A function call.
    FunctionCall(FunctionCallItem),
    /// The result of a function call.
    FunctionCallOutput {
        /// The call it answers.
        call_id: String,
        /// The result text.
        output: String,
    },
    /// An item of an earlier response, by id.
    ItemReference {
        /// The id.
        id: String,
    },
    /// An item type this version does not model (built-in tool calls, ...), kept as received.
    #[serde(untagged)]
    Other(Value),
}

impl Item {
    /// A message with text content.
    pub fn message(role: Role, text: impl Into<String>) -> Self {
        Self::Message(MessageItem { id: None, role, content: ItemContent::Text(text.into()), status: None })
    }

    /// A function call result.
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        Self::FunctionCallOutput { call_id: call_id.into(), output: output.into() }
    }
}

/// `reasoning` of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningConfig {
    /// `minimal`, `low`, `medium`, `high`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `auto`, `concise` or `detailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// `text` of a request: the output format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextConfig {
    /// `{"type": "text"}`, `{"type": "json_object"}` or `{"type": "json_schema", "name", "schema", "strict"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
    /// `low`, `medium` or `high`, where the model takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
}

/// A `POST /v1/responses` request.
///
/// `tags` and `metadata` are for tracking and are never sent (OpenAI's own `metadata` field goes in
/// [`ResponsesRequest::extra`]); anything else the API takes can go in `extra` too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponsesRequest {
    /// The model (a `provider/` prefix is removed before sending).
    pub model: String,
    /// The input.
    pub input: Input,
    /// System instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Tools, in the API's shape (`{"type": "function", "name", "parameters", ...}` or a built-in tool).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    /// `auto`, `none`, `required` or `{"type": "function", "name"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Whether tool calls may run in parallel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Reasoning effort and summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningConfig>,
    /// The output format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextConfig>,
    /// The output limit, reasoning included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Continue from a stored response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    /// Whether OpenAI stores the response (its default is `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Extra output to include, such as `reasoning.encrypted_content`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// The service tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// The end user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Tracking tags (not sent).
    #[serde(skip)]
    pub tags: Vec<String>,
    /// Tracking metadata (not sent), read like [`ChatRequest::metadata`].
    #[serde(skip)]
    pub metadata: std::collections::BTreeMap<String, Value>,
    /// Any other field, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ResponsesRequest {
    /// A request with this model and input.
    pub fn new(model: impl Into<String>, input: impl Into<Input>) -> Self {
        Self {
            model: model.into(),
            input: input.into(),
            instructions: None,
            tools: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
            reasoning: None,
            text: None,
            max_output_tokens: None,
            temperature: None,
            top_p: None,
            previous_response_id: None,
            store: None,
            include: Vec::new(),
            service_tier: None,
            user: None,
            tags: Vec::new(),
            metadata: std::collections::BTreeMap::new(),
            extra: Map::new(),
        }
    }

    /// Sets the instructions.
    #[must_use]
    pub fn with_instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// Sets the reasoning effort and summary.
    #[must_use]
    pub fn with_reasoning(mut self, effort: Option<&str>, summary: Option<&str>) -> Self {
        self.reasoning =
            Some(ReasoningConfig { effort: effort.map(str::to_owned), summary: summary.map(str::to_owned) });
        self
    }

    /// Sets the output limit.
    #[must_use]
    pub fn with_max_output_tokens(mut self, n: u32) -> Self {
        self.max_output_tokens = Some(n);
        self
    }

    /// Asks for JSON following `schema` (`text.format` of type `json_schema`).
    #[must_use]
    pub fn with_json_schema(mut self, name: &str, schema: Value, strict: bool) -> Self {
        let format = json!({"type": "json_schema", "name": name, "schema": schema, "strict": strict});
        self.text = Some(TextConfig { format: Some(format), verbosity: None });
        self
    }

    /// Adds a function tool.
    #[must_use]
    pub fn with_function_tool(mut self, name: &str, description: Option<&str>, parameters: Value) -> Self {
        let mut t = json!({"type": "function", "name": name, "parameters": parameters});
        if let (Some(d), Some(obj)) = (description, t.as_object_mut()) {
            obj.insert("description".into(), d.into());
        }
        self.tools.push(t);
        self
    }

    /// Continues from a stored response.
    #[must_use]
    pub fn with_previous_response_id(mut self, id: impl Into<String>) -> Self {
        self.previous_response_id = Some(id.into());
        self
    }

    /// Sets `store`.
    #[must_use]
    pub fn with_store(mut self, store: bool) -> Self {
        self.store = Some(store);
        self
    }

    /// Adds an `include` entry (`reasoning.encrypted_content`, ...).
    #[must_use]
    pub fn with_include(mut self, what: impl Into<String>) -> Self {
        self.include.push(what.into());
        self
    }

    /// Adds a tracking tag.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }
}

impl From<&str> for Input {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Input {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<Vec<Item>> for Input {
    fn from(items: Vec<Item>) -> Self {
        Self::Items(items)
    }
}

/// `input_tokens_details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputTokensDetails {
    /// Tokens read from the prompt cache (inside `input_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Tokens written to the prompt cache (inside `input_tokens`), where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
}

/// `output_tokens_details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputTokensDetails {
    /// Reasoning tokens (inside `output_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

/// A response's `usage`, as the API reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponsesUsage {
    /// Every input token, cached ones included.
    #[serde(default)]
    pub input_tokens: u64,
    /// Input details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_details: Option<InputTokensDetails>,
    /// Every output token, reasoning included.
    #[serde(default)]
    pub output_tokens: u64,
    /// Output details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_details: Option<OutputTokensDetails>,
    /// The total.
    #[serde(default)]
    pub total_tokens: u64,
}

impl ResponsesUsage {
    /// The normalized [`Usage`]: the API already counts cached tokens inside `input_tokens` and reasoning
    /// inside `output_tokens`, which is [`Usage`]'s convention.
    pub fn to_usage(&self) -> Usage {
        let mut u = Usage::new(self.input_tokens, self.output_tokens);
        if let Some(d) = &self.input_tokens_details {
            u.cache_read_tokens = d.cached_tokens;
            u.cache_write_tokens = d.cache_write_tokens;
        }
        if let Some(d) = &self.output_tokens_details {
            u.reasoning_tokens = d.reasoning_tokens;
        }
        u
    }
}

/// The error of a failed response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponseError {
    /// The code (`server_error`, `rate_limit_exceeded`, ...).
    #[serde(default)]
    pub code: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: String,
}

/// Why a response is incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The response object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponsesResponse {
    /// The id (`resp_...`).
    pub id: String,
    /// `completed`, `incomplete`, `failed`, `in_progress`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Unix seconds of creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
    /// The served model.
    #[serde(default)]
    pub model: String,
    /// The output items, in order.
    #[serde(default)]
    pub output: Vec<Item>,
    /// The usage (absent until the response is done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ResponsesUsage>,
    /// The error of a failed response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ResponseError>,
    /// Why an incomplete response stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_details: Option<IncompleteDetails>,
    /// The service tier that served it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// The provider that served it (set by llm-rs, not sent by the API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderId>,
    /// The priced cost (set by llm-rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// The attempts retried before this answer (set by llm-rs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<Retry>,
    /// Every other field of the object, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ResponsesResponse {
    /// The text of every `output_text` part of the message items, joined (the SDKs' `output_text`).
    pub fn output_text(&self) -> String {
        let mut out = String::new();
        for item in &self.output {
            if let Item::Message(m) = item {
                match &m.content {
                    ItemContent::Text(t) => out.push_str(t),
                    ItemContent::Parts(parts) => {
                        for p in parts {
                            if let ContentItem::OutputText { text, .. } = p {
                                out.push_str(text);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The reasoning items.
    pub fn reasoning_items(&self) -> Vec<&ReasoningItem> {
        self.output
            .iter()
            .filter_map(|i| match i {
                Item::Reasoning(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// The function calls.
    pub fn function_calls(&self) -> Vec<&FunctionCallItem> {
        self.output
            .iter()
            .filter_map(|i| match i {
                Item::FunctionCall(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    /// The normalized usage; `None` when the API reported none.
    pub fn normalized_usage(&self) -> Option<Usage> {
        self.usage.as_ref().map(ResponsesUsage::to_usage)
    }

    /// The error a `failed` response stands for; `None` for any other status.
    pub fn failure(&self) -> Option<Error> {
        if self.status.as_deref() != Some("failed") {
            return None;
        }
        let (code, message) = match &self.error {
            Some(e) => (e.code.clone(), e.message.clone()),
            None => (None, String::new()),
        };
        Some(failure_error(code.as_deref(), &message))
    }
}

/// The error for a failed response or an `error` event: its kind from the code, the message kept.
pub fn failure_error(code: Option<&str>, message: &str) -> Error {
    let kind = match code.unwrap_or_default() {
        "rate_limit_exceeded" => ErrorKind::RateLimited,
        "insufficient_quota" => ErrorKind::QuotaExceeded,
        "context_length_exceeded" => ErrorKind::ContextLength,
        "invalid_prompt"
        | "invalid_request_error"
        | "invalid_image"
        | "invalid_image_format"
        | "empty_image_file"
        | "invalid_base64_image"
        | "image_too_large"
        | "image_too_small"
        | "unsupported_image_media_type"
        | "invalid_image_url"
        | "image_content_policy_violation" => ErrorKind::InvalidRequest,
        "vector_store_timeout" => ErrorKind::Timeout,
        _ => ErrorKind::Server,
    };
    let message = if message.is_empty() { "the response failed" } else { message };
    let text = match code {
        Some(c) => format!("response failed ({c}): {message}"),
        None => format!("response failed: {message}"),
    };
    Error::new(kind, text)
}

/// One event of a streamed response (the `type` of each SSE data object, equal to its `event:` name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum ResponsesEvent {
    /// `response.created`: the response, without output yet.
    #[serde(rename = "response.created")]
    Created {
        /// The response so far.
        response: Box<ResponsesResponse>,
    },
    /// `response.in_progress`.
    #[serde(rename = "response.in_progress")]
    InProgress {
        /// The response so far.
        response: Box<ResponsesResponse>,
    },
    /// `response.output_item.added`: an item begins.
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        /// Its position in `output`.
        #[serde(default)]
        output_index: u32,
        /// The item as far as known.
        item: Item,
    },
    /// `response.output_item.done`: an item is complete.
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        /// Its position in `output`.
        #[serde(default)]
        output_index: u32,
        /// The whole item.
        item: Item,
    },
    /// `response.output_text.delta`.
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        /// The message item.
        #[serde(default)]
        item_id: String,
        /// Its position in `output`.
        #[serde(default)]
        output_index: u32,
        /// The content part.
        #[serde(default)]
        content_index: u32,
        /// The text to append.
        delta: String,
    },
    /// `response.output_text.done`: the part's whole text.
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        /// The message item.
        #[serde(default)]
        item_id: String,
        /// Its position in `output`.
        #[serde(default)]
        output_index: u32,
        /// The content part.
        #[serde(default)]
        content_index: u32,
        /// The whole text.
        text: String,
    },
    /// `response.function_call_arguments.delta`.
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        /// The function call item.
        #[serde(default)]
        item_id: String,
        /// Its position in `output`.
        #[serde(default)]
        output_index: u32,
        /// The argument text to append.
        delta: String,
    },
    /// `response.function_call_arguments.done`.
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        /// The function call item.
        #[serde(default)]
        item_id: String,
        /// Its position in `output`.
        #[serde(default)]
        output_index: u32,
        /// The whole arguments.
        arguments: String,
    },
    /// `response.reasoning_summary_text.delta`.
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        /// The reasoning item.
        #[serde(default)]
        item_id: String,
        /// Its position in `output`.
        #[serde(default)]
        output_index: u32,
        /// The summary line.
        #[serde(default)]
        summary_index: u32,
        /// The text to append.
        delta: String,
    },
    /// `response.reasoning_summary_text.done`.
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        /// The reasoning item.
        #[serde(default)]
        item_id: String,
        /// Its position in `output`.
        #[serde(default)]
        output_index: u32,
        /// The summary line.
        #[serde(default)]
        summary_index: u32,
        /// The whole line.
        text: String,
    },
    /// `response.completed`: the whole response, usage included.
    #[serde(rename = "response.completed")]
    Completed {
        /// The response.
        response: Box<ResponsesResponse>,
    },
    /// `response.incomplete`: the response stopped early (`incomplete_details.reason`), usage included.
    #[serde(rename = "response.incomplete")]
    Incomplete {
        /// The response.
        response: Box<ResponsesResponse>,
    },
    /// `response.failed`: the response failed (`response.error`).
    #[serde(rename = "response.failed")]
    Failed {
        /// The response.
        response: Box<ResponsesResponse>,
    },
    /// `error`: the stream failed.
    #[serde(rename = "error")]
    Error {
        /// The code.
        #[serde(default)]
        code: Option<String>,
        /// The message.
        #[serde(default)]
        message: String,
        /// The parameter concerned.
        #[serde(default)]
        param: Option<String>,
    },
    /// Any other event (content parts added/done, refusals, built-in tool progress, ...), kept as received.
    #[serde(untagged)]
    Other(Value),
}

impl ResponsesEvent {
    /// Whether the event ends the stream (`response.completed`, `response.incomplete`, `response.failed`,
    /// `error`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Completed { .. } | Self::Incomplete { .. } | Self::Failed { .. } | Self::Error { .. })
    }

    /// The typed error a `response.failed` or `error` event stands for.
    pub fn error(&self) -> Option<Error> {
        match self {
            Self::Failed { response } => Some(response.failure().unwrap_or_else(|| failure_error(None, ""))),
            Self::Error { code, message, .. } => Some(failure_error(code.as_deref(), message)),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The chat bridge

/// A streamed Responses call: its semantic events in order, ending with `response.completed` or
/// `response.incomplete`; a `response.failed` or `error` event, or a stream cut short, arrives as an `Err`.
pub type ResponsesStream = std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<ResponsesEvent>> + Send + 'static>>;

/// The [`Adjustment`] that reports a chat request sent to the Responses API.
pub fn bridge_adjustment(model: &str) -> Adjustment {
    Adjustment::new(AdjustmentKind::ResponsesApiBridge).with_detail(format!(
        "{model} is served only by the Responses API: the chat request was sent as POST /responses \
         (messages as input items, max_tokens as max_output_tokens, response_format as text.format, \
         store false, reasoning.encrypted_content included)"
    ))
}

/// Chat parameters the Responses API has no field for; the bridge leaves them out and reports each.
pub const BRIDGE_UNSUPPORTED: [&str; 5] = ["stop", "seed", "presence_penalty", "frequency_penalty", "n"];

/// What [`request_from_chat`] leaves out of `req`, as adjustments.
pub fn bridge_dropped(req: &ChatRequest) -> Vec<Adjustment> {
    let present = [
        !req.stop.is_empty(),
        req.seed.is_some(),
        req.presence_penalty.is_some(),
        req.frequency_penalty.is_some(),
        req.n.is_some_and(|n| n != 1),
    ];
    BRIDGE_UNSUPPORTED
        .iter()
        .zip(present)
        .filter(|(_, p)| *p)
        .map(|(name, _)| Adjustment::param_dropped(*name, "the Responses API has no such parameter"))
        .collect()
}

/// Translates a chat request into a Responses request for `model` (the provider-side name):
/// messages become input items (an assistant message's tool calls become `function_call` items, tool results
/// `function_call_output` items, and the reasoning items it carries in `reasoning_signature` go back first),
/// tools and `tool_choice` take the API's flat shape, `response_format` becomes `text.format`, `max_tokens`
/// `max_output_tokens` and `reasoning_effort` `reasoning.effort`. `store` is `false` and
/// `reasoning.encrypted_content` is included, so reasoning can round-trip without server-side state; both can
/// be overridden through `extra`, which is merged last. What the API has no field for ([`BRIDGE_UNSUPPORTED`])
/// is left out ([`bridge_dropped`] reports it).
///
/// # Errors
/// An [`ErrorKind::InvalidRequest`] for content the API cannot take (audio input).
pub fn request_from_chat(req: &ChatRequest, model: &str) -> Result<ResponsesRequest> {
    let mut items = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        message_items(m, &mut items)?;
    }
    let mut r = ResponsesRequest::new(model, Input::Items(items));
    r.tools = req
        .tools
        .iter()
        .map(|t| {
            // Chat's `{"type": "function", "function": {...}}`, flattened.
            let mut flat = Map::new();
            flat.insert("type".into(), "function".into());
            if let Value::Object(f) = crate::openai::tool_to_json(t)["function"].take() {
                flat.extend(f);
            }
            Value::Object(flat)
        })
        .collect();
    r.tool_choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Auto => "auto".into(),
        ToolChoice::None => "none".into(),
        ToolChoice::Required => "required".into(),
        ToolChoice::Function(name) => json!({"type": "function", "name": name}),
    });
    r.parallel_tool_calls = req.parallel_tool_calls;
    r.text = req.response_format.as_ref().map(|f| {
        // Chat's `{"type": "json_schema", "json_schema": {...}}`, flattened.
        let mut format = crate::openai::response_format_to_json(f);
        if let Some(Value::Object(inner)) = format.as_object_mut().and_then(|o| o.shift_remove("json_schema"))
            && let Some(o) = format.as_object_mut()
        {
            o.extend(inner);
        }
        TextConfig { format: Some(format), verbosity: None }
    });
    r.max_output_tokens = req.max_tokens;
    r.temperature = req.temperature;
    r.top_p = req.top_p;
    r.reasoning =
        req.reasoning_effort.as_ref().map(|e| ReasoningConfig { effort: Some(e.as_str().to_owned()), summary: None });
    r.service_tier = req.service_tier.as_ref().map(|t| t.as_str().to_owned());
    r.user = req.user.clone();
    r.store = Some(false);
    r.include = vec!["reasoning.encrypted_content".into()];
    r.extra = req.extra.clone();
    for key in ["store", "include", "reasoning", "text", "max_output_tokens", "tool_choice", "instructions"] {
        if let Some(v) = r.extra.get(key).cloned() {
            override_field(&mut r, key, v)?;
        }
    }
    Ok(r)
}

/// Moves a typed field given in `extra` onto the request (so it is not sent twice).
fn override_field(r: &mut ResponsesRequest, key: &str, v: Value) -> Result<()> {
    let bad = |e: serde_json::Error| {
        Error::new(ErrorKind::InvalidRequest, format!("invalid `{key}` for the Responses API: {e}"))
    };
    match key {
        "store" => r.store = serde_json::from_value(v).map_err(bad)?,
        "include" => r.include = serde_json::from_value(v).map_err(bad)?,
        "reasoning" => r.reasoning = serde_json::from_value(v).map_err(bad)?,
        "text" => r.text = serde_json::from_value(v).map_err(bad)?,
        "max_output_tokens" => r.max_output_tokens = serde_json::from_value(v).map_err(bad)?,
        "tool_choice" => r.tool_choice = Some(v),
        "instructions" => r.instructions = serde_json::from_value(v).map_err(bad)?,
        _ => return Ok(()),
    }
    r.extra.remove(key);
    Ok(())
}

/// The input items of one chat message.
fn message_items(m: &Message, items: &mut Vec<Item>) -> Result<()> {
    match &m.role {
        Role::Tool => {
            items.push(Item::function_call_output(m.tool_call_id.clone().unwrap_or_default(), m.text()));
        }
        Role::Assistant => {
            if let Some(sig) = &m.reasoning_signature {
                items.extend(reasoning_from_signature(sig).into_iter().map(Item::Reasoning));
            }
            let text = m.text();
            if !text.is_empty() {
                items.push(Item::message(Role::Assistant, text));
            }
            for c in &m.tool_calls {
                items.push(Item::FunctionCall(FunctionCallItem {
                    id: None,
                    call_id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                    status: None,
                }));
            }
        }
        role => {
            let content = match &m.content {
                None => ItemContent::Text(String::new()),
                Some(Content::Text(t)) => ItemContent::Text(t.clone()),
                Some(Content::Parts(parts)) => {
                    ItemContent::Parts(parts.iter().map(input_part).collect::<Result<Vec<_>>>()?)
                }
            };
            items.push(Item::Message(MessageItem { id: None, role: role.clone(), content, status: None }));
        }
    }
    Ok(())
}

fn input_part(p: &ContentPart) -> Result<ContentItem> {
    Ok(match p {
        ContentPart::Text { text } => ContentItem::InputText { text: text.clone() },
        ContentPart::Image { source, detail } => ContentItem::InputImage {
            image_url: Some(source.to_url()),
            file_id: None,
            detail: Some(detail.clone().unwrap_or_else(|| "auto".into())),
        },
        ContentPart::File { file_id, filename, data, media_type } => ContentItem::InputFile {
            file_id: file_id.clone(),
            filename: filename.clone(),
            file_data: data.as_ref().map(|d| match (d.starts_with("data:"), media_type) {
                (false, Some(t)) => format!("data:{t};base64,{d}"),
                _ => d.clone(),
            }),
        },
        ContentPart::Audio { .. } => {
            return Err(Error::new(ErrorKind::InvalidRequest, "the Responses API takes no audio input"));
        }
    })
}

/// The token an assistant message carries in `reasoning_signature` for the Responses API: the reasoning
/// items as a JSON array (id, summary, encrypted content), sent back as they came.
pub fn reasoning_signature(items: &[&ReasoningItem]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    serde_json::to_string(items).ok()
}

/// The reasoning items of a [`reasoning_signature`]; empty for a signature of another provider.
pub fn reasoning_from_signature(sig: &str) -> Vec<ReasoningItem> {
    serde_json::from_str(sig).unwrap_or_default()
}

/// The finish reason of a response: `tool_calls` when it called functions, `length` / `content_filter` for
/// an incomplete one, else `stop`.
pub fn finish_reason(r: &ResponsesResponse) -> FinishReason {
    if r.status.as_deref() == Some("incomplete") {
        return match r.incomplete_details.as_ref().and_then(|d| d.reason.as_deref()) {
            Some("content_filter") => FinishReason::ContentFilter,
            _ => FinishReason::Length,
        };
    }
    if r.output.iter().any(|i| matches!(i, Item::FunctionCall(_))) {
        FinishReason::ToolCalls
    } else {
        FinishReason::Stop
    }
}

/// The chat response a Responses answer stands for: one choice whose text is the output text, whose tool
/// calls are the function calls, whose `reasoning` is the reasoning summaries and whose
/// `reasoning_signature` carries the reasoning items for the next turn ([`reasoning_signature`]).
///
/// # Errors
/// The typed error of a `failed` response ([`ResponsesResponse::failure`]).
pub fn to_chat_response(r: &ResponsesResponse) -> Result<ChatResponse> {
    if let Some(e) = r.failure() {
        return Err(e);
    }
    let text = r.output_text();
    let calls: Vec<ToolCall> = r
        .function_calls()
        .into_iter()
        .map(|f| ToolCall::new(f.call_id.clone(), f.name.clone(), f.arguments.clone()))
        .collect();
    let reasoning = r.reasoning_items();
    let summary: Vec<String> = reasoning.iter().map(|i| i.summary_text()).filter(|s| !s.is_empty()).collect();
    let refusal: String = r
        .output
        .iter()
        .filter_map(|i| match i {
            Item::Message(MessageItem { content: ItemContent::Parts(parts), .. }) => Some(parts),
            _ => None,
        })
        .flatten()
        .filter_map(|p| match p {
            ContentItem::Refusal { refusal } => Some(refusal.as_str()),
            _ => None,
        })
        .collect();
    let mut message = if calls.is_empty() || !text.is_empty() {
        Message::assistant(text)
    } else {
        Message::assistant_tool_calls(Vec::new())
    };
    message.tool_calls = calls;
    message.reasoning = (!summary.is_empty()).then(|| summary.join("\n\n"));
    message.reasoning_signature = reasoning_signature(&reasoning);
    message.refusal = (!refusal.is_empty()).then_some(refusal);
    let mut out = ChatResponse::new(
        r.id.clone(),
        r.model.clone(),
        vec![Choice::new(0, message, Some(finish_reason(r)))],
        r.normalized_usage(),
    );
    out.created = r.created_at;
    out.service_tier = r.service_tier.clone();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{JsonSchemaFormat, ResponseFormat};

    #[test]
    fn usage_keeps_openai_convention() {
        let u: ResponsesUsage = serde_json::from_str(
            r#"{"input_tokens": 5120, "input_tokens_details": {"cached_tokens": 4864, "cache_write_tokens": 256},
                "output_tokens": 1450, "output_tokens_details": {"reasoning_tokens": 1216}, "total_tokens": 6570}"#,
        )
        .unwrap();
        let n = u.to_usage();
        assert_eq!((n.prompt_tokens, n.completion_tokens, n.total_tokens), (5120, 1450, 6570));
        assert_eq!(
            (n.cache_read_tokens, n.cache_write_tokens, n.reasoning_tokens),
            (Some(4864), Some(256), Some(1216))
        );
        let bare: ResponsesUsage =
            serde_json::from_str(r#"{"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}"#).unwrap();
        assert_eq!(bare.to_usage().cache_read_tokens, None, "not reported stays None");
    }

    #[test]
    fn chat_request_becomes_input_items() {
        let mut assistant = Message::assistant_tool_calls(vec![ToolCall::new("call_1", "f", "{}")]);
        assistant.reasoning_signature = Some(r#"[{"id":"rs_1","summary":[],"encrypted_content":"gAAA"}]"#.into());
        let req = ChatRequest::new(
            "o1-pro",
            vec![Message::system("Be brief."), Message::user("Hi"), assistant, Message::tool_result("call_1", "42")],
        )
        .with_max_tokens(100)
        .with_response_format(ResponseFormat::JsonSchema(JsonSchemaFormat::new("a", json!({"type": "object"}))));
        let r = request_from_chat(&req, "o1-pro").unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["input"][0], json!({"type": "message", "role": "system", "content": "Be brief."}));
        assert_eq!(
            v["input"][2],
            json!({"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"})
        );
        assert_eq!(
            v["input"][3],
            json!({"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"})
        );
        assert_eq!(v["input"][4], json!({"type": "function_call_output", "call_id": "call_1", "output": "42"}));
        assert_eq!(v["max_output_tokens"], 100);
        assert_eq!(v["text"]["format"], json!({"type": "json_schema", "name": "a", "schema": {"type": "object"}}));
        assert_eq!(v["store"], false);
        assert!(v.get("metadata").is_none() && v.get("tags").is_none());
    }

    #[test]
    fn failed_and_incomplete_responses() {
        let failed: ResponsesResponse = serde_json::from_value(json!({
            "id": "resp_1", "status": "failed", "model": "o1-pro", "output": [],
            "error": {"code": "rate_limit_exceeded", "message": "slow down"}
        }))
        .unwrap();
        let e = to_chat_response(&failed).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::RateLimited);
        assert!(e.message().contains("slow down"));
        let incomplete: ResponsesResponse = serde_json::from_value(json!({
            "id": "resp_2", "status": "incomplete", "model": "o1-pro", "output": [],
            "incomplete_details": {"reason": "max_output_tokens"}
        }))
        .unwrap();
        assert_eq!(to_chat_response(&incomplete).unwrap().finish_reason(), Some(&FinishReason::Length));
    }

    #[test]
    fn unknown_items_and_events_are_kept() {
        let item: Item =
            serde_json::from_value(json!({"type": "web_search_call", "id": "ws_1", "status": "completed"})).unwrap();
        assert_eq!(item, Item::Other(json!({"type": "web_search_call", "id": "ws_1", "status": "completed"})));
        let ev: ResponsesEvent =
            serde_json::from_value(json!({"type": "response.content_part.added", "sequence_number": 3})).unwrap();
        assert!(matches!(ev, ResponsesEvent::Other(_)));
        let ev: ResponsesEvent = serde_json::from_value(
            json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "Hi", "sequence_number": 5}),
        )
        .unwrap();
        assert_eq!(
            ev,
            ResponsesEvent::OutputTextDelta {
                item_id: "msg_1".into(),
                output_index: 1,
                content_index: 0,
                delta: "Hi".into()
            }
        );
    }
}

//! Conversion to and from OpenAI's chat-completions JSON: the lingua franca the CLI prints and reads, the
//! body OpenAI-compatible providers speak, and the shape of the mock provider's answers.
//!
//! Decoders are tolerant where providers differ (token counts as floats or strings, `null` for absent,
//! arguments as an object instead of a string, unknown keys ignored) and return a [`ErrorKind::Decode`] error,
//! never a panic, on anything they cannot read.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::cost::Usd;
use crate::error::{Error, ErrorKind, Result};
use crate::message::{Content, ContentPart, ImageSource, Message, Role, ToolCall};
use crate::request::{ChatRequest, JsonSchemaFormat, ReasoningEffort, ResponseFormat, ServiceTier, Tool, ToolChoice};
use crate::response::{ChatResponse, Choice, FinishReason};
use crate::stream::StreamEvent;
use crate::usage::{SearchContextSize, Usage};

// ---------------------------------------------------------------------------------------------------------
// Usage

/// Writes a [`Usage`] as an OpenAI `usage` object. Sub-counts appear only when reported.
pub fn usage_to_json(u: &Usage) -> Value {
    let mut out = Map::new();
    out.insert("prompt_tokens".into(), u.prompt_tokens.into());
    out.insert("completion_tokens".into(), u.completion_tokens.into());
    out.insert("total_tokens".into(), u.total_tokens.into());
    let mut prompt = Map::new();
    put(&mut prompt, "cached_tokens", u.cache_read_tokens);
    put(&mut prompt, "cache_write_tokens", u.cache_write_tokens);
    put(&mut prompt, "audio_tokens", u.audio_input_tokens);
    put(&mut prompt, "image_tokens", u.image_input_tokens);
    if u.cache_write_ttl_split().iter().any(Option::is_some) {
        let mut ttl = Map::new();
        put(&mut ttl, "ephemeral_5m_input_tokens", u.cache_write_5m_tokens);
        put(&mut ttl, "ephemeral_30m_input_tokens", u.cache_write_30m_tokens);
        put(&mut ttl, "ephemeral_1h_input_tokens", u.cache_write_1h_tokens);
        put(&mut ttl, "ephemeral_12h_input_tokens", u.cache_write_12h_tokens);
        prompt.insert("cache_creation_token_details".into(), Value::Object(ttl));
    }
    if !prompt.is_empty() {
        out.insert("prompt_tokens_details".into(), Value::Object(prompt));
    }
    let mut completion = Map::new();
    put(&mut completion, "reasoning_tokens", u.reasoning_tokens);
    put(&mut completion, "audio_tokens", u.audio_output_tokens);
    put(&mut completion, "image_tokens", u.image_output_tokens);
    if !completion.is_empty() {
        out.insert("completion_tokens_details".into(), Value::Object(completion));
    }
    if let Some(n) = u.web_search_requests {
        out.insert("server_tool_use".into(), json!({ "web_search_requests": n }));
    }
    put(&mut out, "citation_tokens", u.citation_tokens);
    if let Some(size) = u.search_context_size {
        out.insert("search_context_size".into(), size.as_str().into());
    }
    Value::Object(out)
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<u64>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v.into());
    }
}

/// 2^53: an integral float count must be below it; from there on a float no longer holds every integer (the
/// count it was written as may have been rounded already).
const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

/// A token count as providers send it: an integer, an integral float (below 2^53: a larger float may be a
/// rounded count, and is refused), a numeric string, or `null`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count(pub Option<u64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        let n = match &v {
            Value::Null => None,
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Some(u)
                } else if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < MAX_EXACT_FLOAT) {
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "checked integral and in range"
                    )]
                    Some(f as u64)
                } else {
                    return Err(D::Error::custom(format!("token count {n} is not a non-negative integer")));
                }
            }
            Value::String(s) => Some(
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| D::Error::custom(format!("token count {s:?} is not a non-negative integer")))?,
            ),
            other => return Err(D::Error::custom(format!("token count has the wrong type: {other}"))),
        };
        Ok(Count(n))
    }
}

/// The wire shape of an OpenAI-family `usage` object, with every field optional.
#[derive(Debug, Default, Deserialize)]
#[non_exhaustive]
pub struct WireUsage {
    /// `prompt_tokens`.
    #[serde(default)]
    pub prompt_tokens: Count,
    /// `completion_tokens`.
    #[serde(default)]
    pub completion_tokens: Count,
    /// `total_tokens`.
    #[serde(default)]
    pub total_tokens: Count,
    /// `prompt_tokens_details`.
    #[serde(default)]
    pub prompt_tokens_details: Option<WirePromptDetails>,
    /// `completion_tokens_details`.
    #[serde(default)]
    pub completion_tokens_details: Option<WireCompletionDetails>,
    /// `server_tool_use`.
    #[serde(default)]
    pub server_tool_use: Option<WireServerToolUse>,
    /// A cost the provider reported: OpenRouter's `cost` (credits, 1 credit = 1 USD), or the `total_cost` of
    /// Perplexity's `cost` object (`{input_tokens_cost, output_tokens_cost, request_cost, total_cost}`).
    #[serde(default, deserialize_with = "reported_cost")]
    pub cost: Option<Usd>,
    /// DeepSeek's `prompt_cache_hit_tokens`.
    #[serde(default)]
    pub prompt_cache_hit_tokens: Count,
    /// Moonshot's `cached_tokens`, at the top of `usage` rather than in `prompt_tokens_details`.
    #[serde(default)]
    pub cached_tokens: Count,
    /// Perplexity's `citation_tokens`.
    #[serde(default)]
    pub citation_tokens: Count,
    /// Perplexity's `reasoning_tokens`, at the top of `usage` (inside `completion_tokens`, as LiteLLM reads it).
    #[serde(default)]
    pub reasoning_tokens: Count,
    /// Perplexity's `num_search_queries`.
    #[serde(default)]
    pub num_search_queries: Count,
    /// Perplexity's `search_context_size` (`low`, `medium`, `high`); another value reads as not reported.
    #[serde(default)]
    pub search_context_size: Option<Value>,
}

/// A reported cost: a number, a numeric string, `null`, or an object whose `total_cost` is one of those
/// (Perplexity). Anything else is a decode error, as a malformed count is.
fn reported_cost<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Usd>, D::Error> {
    use serde::de::Error as _;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Reported {
        Amount(Option<Usd>),
        Breakdown { total_cost: Option<Usd> },
    }
    match Reported::deserialize(d) {
        Ok(Reported::Amount(a) | Reported::Breakdown { total_cost: a }) => Ok(a),
        Err(_) => Err(D::Error::custom("usage.cost is neither an amount nor an object with a total_cost amount")),
    }
}

/// `prompt_tokens_details`.
#[derive(Debug, Default, Deserialize)]
#[non_exhaustive]
pub struct WirePromptDetails {
    /// Cache reads.
    #[serde(default)]
    pub cached_tokens: Count,
    /// Cache writes.
    #[serde(default)]
    pub cache_write_tokens: Count,
    /// Cache writes under LiteLLM's other name (its `Usage` keeps both in step; `cache_write_tokens` wins).
    #[serde(default)]
    pub cache_creation_tokens: Count,
    /// Audio input.
    #[serde(default)]
    pub audio_tokens: Count,
    /// Image input.
    #[serde(default)]
    pub image_tokens: Count,
    /// The cache-write TTL split.
    #[serde(default)]
    pub cache_creation_token_details: Option<WireCacheTtl>,
}

/// `cache_creation_token_details`.
#[derive(Debug, Default, Deserialize)]
#[non_exhaustive]
pub struct WireCacheTtl {
    /// 5-minute TTL writes.
    #[serde(default)]
    pub ephemeral_5m_input_tokens: Count,
    /// 30-minute TTL writes (OpenAI).
    #[serde(default)]
    pub ephemeral_30m_input_tokens: Count,
    /// 1-hour TTL writes.
    #[serde(default)]
    pub ephemeral_1h_input_tokens: Count,
    /// 12-hour TTL writes (OpenAI).
    #[serde(default)]
    pub ephemeral_12h_input_tokens: Count,
}

/// `completion_tokens_details`.
#[derive(Debug, Default, Deserialize)]
#[non_exhaustive]
pub struct WireCompletionDetails {
    /// Reasoning.
    #[serde(default)]
    pub reasoning_tokens: Count,
    /// Audio output.
    #[serde(default)]
    pub audio_tokens: Count,
    /// Image output.
    #[serde(default)]
    pub image_tokens: Count,
}

/// `server_tool_use`.
#[derive(Debug, Default, Deserialize)]
#[non_exhaustive]
pub struct WireServerToolUse {
    /// Web searches made.
    #[serde(default)]
    pub web_search_requests: Count,
}

impl WireUsage {
    /// Normalizes the wire usage, in OpenAI's convention (sub-counts inside the totals). The total is
    /// recomputed as prompt plus completion.
    pub fn to_usage(&self) -> Usage {
        let p = self.prompt_tokens_details.as_ref();
        let c = self.completion_tokens_details.as_ref();
        let ttl = p.and_then(|p| p.cache_creation_token_details.as_ref());
        let mut u = Usage::new(self.prompt_tokens.0.unwrap_or(0), self.completion_tokens.0.unwrap_or(0));
        u.cache_read_tokens =
            p.and_then(|p| p.cached_tokens.0).or(self.prompt_cache_hit_tokens.0).or(self.cached_tokens.0);
        // LiteLLM's `PromptTokensDetailsWrapper`: `cache_write_tokens` when present (0 included), else
        // `cache_creation_tokens`
        u.cache_write_tokens = p.and_then(|p| p.cache_write_tokens.0.or(p.cache_creation_tokens.0));
        u.cache_write_5m_tokens = ttl.and_then(|t| t.ephemeral_5m_input_tokens.0);
        u.cache_write_1h_tokens = ttl.and_then(|t| t.ephemeral_1h_input_tokens.0);
        u.cache_write_30m_tokens = ttl.and_then(|t| t.ephemeral_30m_input_tokens.0);
        u.cache_write_12h_tokens = ttl.and_then(|t| t.ephemeral_12h_input_tokens.0);
        let split = u.cache_write_ttl_split();
        if u.cache_write_tokens.is_none() && split.iter().any(Option::is_some) {
            u.cache_write_tokens = Some(split.iter().map(|n| n.unwrap_or(0)).fold(0, u64::saturating_add));
        }
        u.audio_input_tokens = p.and_then(|p| p.audio_tokens.0);
        u.image_input_tokens = p.and_then(|p| p.image_tokens.0);
        u.reasoning_tokens = c.and_then(|c| c.reasoning_tokens.0).or(self.reasoning_tokens.0);
        u.audio_output_tokens = c.and_then(|c| c.audio_tokens.0);
        u.image_output_tokens = c.and_then(|c| c.image_tokens.0);
        u.web_search_requests =
            self.server_tool_use.as_ref().and_then(|s| s.web_search_requests.0).or(self.num_search_queries.0);
        u.citation_tokens = self.citation_tokens.0;
        u.search_context_size =
            self.search_context_size.as_ref().and_then(Value::as_str).and_then(SearchContextSize::parse);
        u
    }
}

/// Reads an OpenAI `usage` object.
pub fn usage_from_json(value: &Value) -> Result<Usage> {
    Ok(WireUsage::deserialize(value).map_err(|e| Error::decode(format!("invalid usage: {e}")))?.to_usage())
}

// ---------------------------------------------------------------------------------------------------------
// Requests

/// The top-level fields [`request_to_json`] writes (before `extra`), in the order it writes them.
pub const REQUEST_FIELDS: [&str; 17] = [
    "model",
    "messages",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "n",
    "presence_penalty",
    "frequency_penalty",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "service_tier",
    "user",
];

/// Writes a [`ChatRequest`] as an OpenAI chat-completions body (without `stream`). Tags and metadata stay out
/// of the body; `extra` fields are merged in last.
pub fn request_to_json(req: &ChatRequest) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), Value::String(req.model.as_str().to_owned()));
    body.insert("messages".into(), Value::Array(req.messages.iter().map(message_to_json).collect()));
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(m) = req.max_tokens {
        body.insert("max_tokens".into(), m.into());
    }
    if !req.stop.is_empty() {
        body.insert("stop".into(), json!(req.stop));
    }
    if let Some(s) = req.seed {
        body.insert("seed".into(), s.into());
    }
    if let Some(n) = req.n {
        body.insert("n".into(), n.into());
    }
    if let Some(p) = req.presence_penalty {
        body.insert("presence_penalty".into(), json!(p));
    }
    if let Some(f) = req.frequency_penalty {
        body.insert("frequency_penalty".into(), json!(f));
    }
    if !req.tools.is_empty() {
        body.insert("tools".into(), Value::Array(req.tools.iter().map(tool_to_json).collect()));
    }
    if let Some(c) = &req.tool_choice {
        body.insert("tool_choice".into(), tool_choice_to_json(c));
    }
    if let Some(p) = req.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), p.into());
    }
    if let Some(f) = &req.response_format {
        body.insert("response_format".into(), response_format_to_json(f));
    }
    if let Some(e) = &req.reasoning_effort {
        body.insert("reasoning_effort".into(), e.as_str().into());
    }
    if let Some(t) = &req.service_tier {
        body.insert("service_tier".into(), t.as_str().into());
    }
    if let Some(u) = &req.user {
        body.insert("user".into(), u.clone().into());
    }
    for (k, v) in &req.extra {
        body.insert(k.clone(), v.clone());
    }
    Value::Object(body)
}

/// Writes one message in OpenAI's shape.
pub fn message_to_json(m: &Message) -> Value {
    let mut out = Map::new();
    out.insert("role".into(), m.role.as_str().into());
    match &m.content {
        Some(Content::Text(t)) => {
            out.insert("content".into(), t.clone().into());
        }
        Some(Content::Parts(parts)) => {
            out.insert("content".into(), Value::Array(parts.iter().map(part_to_json).collect()));
        }
        None => {
            out.insert("content".into(), Value::Null);
        }
    }
    if let Some(n) = &m.name {
        out.insert("name".into(), n.clone().into());
    }
    if !m.tool_calls.is_empty() {
        out.insert(
            "tool_calls".into(),
            Value::Array(
                m.tool_calls
                    .iter()
                    .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                    .collect(),
            ),
        );
    }
    if let Some(id) = &m.tool_call_id {
        out.insert("tool_call_id".into(), id.clone().into());
    }
    if let Some(r) = &m.reasoning {
        out.insert("reasoning_content".into(), r.clone().into());
        if let Some(sig) = &m.reasoning_signature {
            // LiteLLM's shape for signed thinking.
            out.insert("thinking_blocks".into(), json!([{"type": "thinking", "thinking": r, "signature": sig}]));
        }
    }
    if let Some(r) = &m.refusal {
        out.insert("refusal".into(), r.clone().into());
    }
    Value::Object(out)
}

/// Writes one content part (text, image, audio, file) in OpenAI's shape.
pub fn part_to_json(p: &ContentPart) -> Value {
    match p {
        ContentPart::Text { text } => json!({"type": "text", "text": text}),
        ContentPart::Image { source, detail } => {
            let mut image = Map::new();
            image.insert("url".into(), source.to_url().into());
            if let Some(d) = detail {
                image.insert("detail".into(), d.clone().into());
            }
            json!({"type": "image_url", "image_url": image})
        }
        ContentPart::Audio { data, format } => {
            json!({"type": "input_audio", "input_audio": {"data": data, "format": format}})
        }
        ContentPart::File { file_id, filename, data, media_type } => {
            let mut file = Map::new();
            if let Some(id) = file_id {
                file.insert("file_id".into(), id.clone().into());
            }
            if let Some(n) = filename {
                file.insert("filename".into(), n.clone().into());
            }
            if let Some(d) = data {
                let data_url = match media_type {
                    Some(mt) if !d.starts_with("data:") => format!("data:{mt};base64,{d}"),
                    _ => d.clone(),
                };
                file.insert("file_data".into(), data_url.into());
            }
            json!({"type": "file", "file": file})
        }
    }
}

/// Writes one function tool in OpenAI's shape.
pub fn tool_to_json(t: &Tool) -> Value {
    let mut f = Map::new();
    f.insert("name".into(), t.name.clone().into());
    if let Some(d) = &t.description {
        f.insert("description".into(), d.clone().into());
    }
    f.insert("parameters".into(), t.parameters.clone());
    if let Some(s) = t.strict {
        f.insert("strict".into(), s.into());
    }
    json!({"type": "function", "function": f})
}

/// Writes a tool choice in OpenAI's shape.
pub fn tool_choice_to_json(c: &ToolChoice) -> Value {
    match c {
        ToolChoice::Auto => "auto".into(),
        ToolChoice::None => "none".into(),
        ToolChoice::Required => "required".into(),
        ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

/// Writes a response format in OpenAI's shape.
pub fn response_format_to_json(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema(s) => {
            let mut js = Map::new();
            js.insert("name".into(), s.name.clone().into());
            if let Some(d) = &s.description {
                js.insert("description".into(), d.clone().into());
            }
            js.insert("schema".into(), s.schema.clone());
            if let Some(strict) = s.strict {
                js.insert("strict".into(), strict.into());
            }
            json!({"type": "json_schema", "json_schema": js})
        }
    }
}

fn decode_err(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::decode(format!("invalid {what}: {detail}"))
}

fn opt_f64(body: &Map<String, Value>, key: &str) -> Result<Option<f64>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(decode_err(key, format!("expected a number, got {other}"))),
    }
}

fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str, what: &str) -> Result<Option<&'a str>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(decode_err(what, format!("`{key}` must be a string, got {other}"))),
    }
}

/// Reads an OpenAI chat-completions request body. Unknown top-level fields (other than `stream` and
/// `stream_options`) are kept in `extra`.
pub fn request_from_json(body: &[u8]) -> Result<ChatRequest> {
    let value: Value = serde_json::from_slice(body).map_err(|e| decode_err("request", e))?;
    request_from_value(&value)
}

/// Like [`request_from_json`], from a parsed value.
pub fn request_from_value(value: &Value) -> Result<ChatRequest> {
    let body = value.as_object().ok_or_else(|| decode_err("request", "expected a json object"))?;
    let model = opt_str(body, "model", "request")?.ok_or_else(|| decode_err("request", "missing `model`"))?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| decode_err("request", "missing `messages` array"))?
        .iter()
        .map(message_from_value)
        .collect::<Result<Vec<_>>>()?;
    let mut req = ChatRequest::new(model, messages);
    req.temperature = opt_f64(body, "temperature")?;
    req.top_p = opt_f64(body, "top_p")?;
    req.presence_penalty = opt_f64(body, "presence_penalty")?;
    req.frequency_penalty = opt_f64(body, "frequency_penalty")?;
    let max = body.get("max_completion_tokens").filter(|v| !v.is_null()).or_else(|| body.get("max_tokens"));
    req.max_tokens = match max {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            decode_err("request", format!("max tokens must be a small non-negative integer, got {v}"))
        })?),
    };
    req.stop = match body.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| decode_err("request", "`stop` must hold strings")))
            .collect::<Result<_>>()?,
        Some(other) => return Err(decode_err("request", format!("`stop` must be a string or an array, got {other}"))),
    };
    req.seed = body.get("seed").and_then(Value::as_i64);
    req.n = body.get("n").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
    if let Some(tools) = body.get("tools").filter(|v| !v.is_null()) {
        let tools = tools.as_array().ok_or_else(|| decode_err("request", "`tools` must be an array"))?;
        req.tools = tools.iter().map(tool_from_value).collect::<Result<_>>()?;
    }
    req.tool_choice = match body.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" | "any" => ToolChoice::Required,
            other => return Err(decode_err("request", format!("unknown tool_choice {other:?}"))),
        }),
        Some(v) => Some(ToolChoice::Function(
            v.pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(|| decode_err("request", "tool_choice object without function.name"))?
                .to_owned(),
        )),
    };
    req.parallel_tool_calls = body.get("parallel_tool_calls").and_then(Value::as_bool);
    if let Some(f) = body.get("response_format").filter(|v| !v.is_null()) {
        req.response_format = Some(response_format_from_value(f)?);
    }
    req.reasoning_effort = opt_str(body, "reasoning_effort", "request")?.map(ReasoningEffort::from);
    req.service_tier = opt_str(body, "service_tier", "request")?.map(ServiceTier::from);
    req.user = opt_str(body, "user", "request")?.map(str::to_owned);
    if let Some(Value::Object(meta)) = body.get("metadata") {
        req.metadata = meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    if let Some(Value::Array(tags)) = body.get("tags") {
        req.tags = tags.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    }
    // Read above, or not a request field of ours (streaming is the caller's choice; the rest are legacy or
    // proxy fields).
    const READ_ALSO: [&str; 8] = [
        "max_completion_tokens",
        "metadata",
        "tags",
        "stream",
        "stream_options",
        "functions",
        "function_call",
        "store",
    ];
    for (k, v) in body {
        if !REQUEST_FIELDS.contains(&k.as_str()) && !READ_ALSO.contains(&k.as_str()) {
            req.extra.insert(k.clone(), v.clone());
        }
    }
    Ok(req)
}

fn tool_from_value(v: &Value) -> Result<Tool> {
    let f = v.get("function").unwrap_or(v);
    let name = f.get("name").and_then(Value::as_str).ok_or_else(|| decode_err("tool", "missing function.name"))?;
    Ok(Tool {
        name: name.to_owned(),
        description: f.get("description").and_then(Value::as_str).map(str::to_owned),
        parameters: f.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        strict: f.get("strict").and_then(Value::as_bool),
    })
}

/// Reads an OpenAI `response_format` object.
pub fn response_format_from_value(v: &Value) -> Result<ResponseFormat> {
    match v.get("type").and_then(Value::as_str) {
        Some("text") => Ok(ResponseFormat::Text),
        Some("json_object") => Ok(ResponseFormat::JsonObject),
        Some("json_schema") => {
            let js = v
                .get("json_schema")
                .ok_or_else(|| decode_err("response_format", "json_schema type without `json_schema`"))?;
            let schema = js
                .get("schema")
                .cloned()
                .ok_or_else(|| decode_err("response_format", "json_schema without `schema`"))?;
            let mut f = JsonSchemaFormat::new(js.get("name").and_then(Value::as_str).unwrap_or("response"), schema);
            f.description = js.get("description").and_then(Value::as_str).map(str::to_owned);
            f.strict = js.get("strict").and_then(Value::as_bool);
            Ok(ResponseFormat::JsonSchema(f))
        }
        other => Err(decode_err("response_format", format!("unknown type {other:?}"))),
    }
}

/// Reads one OpenAI message.
pub fn message_from_value(v: &Value) -> Result<Message> {
    message_with_default_role(v, None)
}

fn message_with_default_role(v: &Value, default_role: Option<Role>) -> Result<Message> {
    let obj = v.as_object().ok_or_else(|| decode_err("message", "expected a json object"))?;
    let role = match (opt_str(obj, "role", "message")?, default_role) {
        (Some(r), _) => Role::from(r),
        (None, Some(d)) => d,
        (None, None) => return Err(decode_err("message", "missing `role`")),
    };
    let content = match obj.get("content") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Content::Text(s.clone())),
        Some(Value::Array(parts)) => Some(Content::Parts(parts.iter().map(part_from_value).collect::<Result<_>>()?)),
        Some(other) => return Err(decode_err("message", format!("content must be a string or an array, got {other}"))),
    };
    let mut m = Message::new(role, "");
    m.content = content;
    m.name = opt_str(obj, "name", "message")?.map(str::to_owned);
    m.tool_call_id = opt_str(obj, "tool_call_id", "message")?.map(str::to_owned);
    m.reasoning =
        opt_str(obj, "reasoning_content", "message")?.or(opt_str(obj, "reasoning", "message")?).map(str::to_owned);
    m.refusal = opt_str(obj, "refusal", "message")?.map(str::to_owned);
    m.reasoning_signature = obj
        .get("thinking_blocks")
        .and_then(Value::as_array)
        .and_then(|blocks| blocks.iter().rev().find_map(|b| b.get("signature").and_then(Value::as_str)))
        .map(str::to_owned);
    if let Some(calls) = obj.get("tool_calls").filter(|v| !v.is_null()) {
        let calls = calls.as_array().ok_or_else(|| decode_err("message", "`tool_calls` must be an array"))?;
        m.tool_calls = calls.iter().map(tool_call_from_value).collect::<Result<_>>()?;
    } else if let Some(fc) = obj.get("function_call").filter(|v| !v.is_null()) {
        m.tool_calls = vec![ToolCall::new(
            "",
            fc.get("name").and_then(Value::as_str).unwrap_or_default(),
            arguments_text(fc.get("arguments")),
        )];
    }
    Ok(m)
}

fn arguments_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn tool_call_from_value(v: &Value) -> Result<ToolCall> {
    let f = v.get("function").ok_or_else(|| decode_err("tool call", "missing `function`"))?;
    Ok(ToolCall::new(
        v.get("id").and_then(Value::as_str).unwrap_or_default(),
        f.get("name").and_then(Value::as_str).ok_or_else(|| decode_err("tool call", "missing function.name"))?,
        arguments_text(f.get("arguments")),
    ))
}

fn part_from_value(v: &Value) -> Result<ContentPart> {
    let kind = v.get("type").and_then(Value::as_str).ok_or_else(|| decode_err("content part", "missing `type`"))?;
    match kind {
        "text" => Ok(ContentPart::text(
            v.get("text")
                .and_then(Value::as_str)
                .ok_or_else(|| decode_err("content part", "text part without `text`"))?,
        )),
        "image_url" => {
            let image = v.get("image_url").ok_or_else(|| decode_err("content part", "missing `image_url`"))?;
            let url = image
                .as_str()
                .or_else(|| image.get("url").and_then(Value::as_str))
                .ok_or_else(|| decode_err("content part", "image_url without `url`"))?;
            Ok(ContentPart::Image {
                source: ImageSource::from_url(url),
                detail: image.get("detail").and_then(Value::as_str).map(str::to_owned),
            })
        }
        "input_audio" => {
            let a = v.get("input_audio").ok_or_else(|| decode_err("content part", "missing `input_audio`"))?;
            Ok(ContentPart::Audio {
                data: a.get("data").and_then(Value::as_str).unwrap_or_default().to_owned(),
                format: a.get("format").and_then(Value::as_str).unwrap_or_default().to_owned(),
            })
        }
        "file" => {
            let f = v.get("file").ok_or_else(|| decode_err("content part", "missing `file`"))?;
            let data = f.get("file_data").and_then(Value::as_str);
            let (media_type, data) = match data.map(ImageSource::from_url) {
                Some(ImageSource::Base64 { media_type, data }) => (Some(media_type), Some(data)),
                Some(ImageSource::Url { url }) => (None, Some(url)),
                None => (None, None),
            };
            Ok(ContentPart::File {
                file_id: f.get("file_id").and_then(Value::as_str).map(str::to_owned),
                filename: f.get("filename").and_then(Value::as_str).map(str::to_owned),
                data,
                media_type,
            })
        }
        other => Err(decode_err("content part", format!("unknown type {other:?}"))),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Responses

/// Writes a [`ChatResponse`] as an OpenAI `chat.completion` object. The priced cost and provider are not part
/// of OpenAI's shape; callers that want them add them beside.
pub fn response_to_json(r: &ChatResponse) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), r.id.clone().into());
    out.insert("object".into(), "chat.completion".into());
    out.insert("created".into(), r.created.unwrap_or(0).into());
    out.insert("model".into(), r.model.clone().into());
    out.insert(
        "choices".into(),
        Value::Array(
            r.choices
                .iter()
                .map(|c| {
                    json!({
                        "index": c.index,
                        "message": message_to_json(&c.message),
                        "finish_reason": c.finish_reason.as_ref().map(FinishReason::as_str),
                    })
                })
                .collect(),
        ),
    );
    if let Some(u) = &r.usage {
        out.insert("usage".into(), usage_to_json(u));
    }
    for (k, v) in &r.provider_fields {
        out.entry(k.as_str()).or_insert_with(|| v.clone());
    }
    if let Some(t) = &r.service_tier {
        out.insert("service_tier".into(), t.clone().into());
    }
    if let Some(f) = &r.system_fingerprint {
        out.insert("system_fingerprint".into(), f.clone().into());
    }
    Value::Object(out)
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    created: Count,
    choices: Vec<Value>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    service_tier: Option<String>,
    #[serde(default)]
    system_fingerprint: Option<String>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    citations: Option<Value>,
    #[serde(default)]
    search_results: Option<Value>,
    #[serde(default)]
    images: Option<Value>,
    #[serde(default)]
    related_questions: Option<Value>,
}

/// The top-level fields of the providers' own that [`ChatResponse::provider_fields`] keeps (Perplexity's
/// `citations`, `search_results`, `images`, `related_questions`), from a response or a stream chunk; `null`s
/// are left out.
fn provider_fields(fields: [(&str, Option<Value>); 4]) -> Map<String, Value> {
    fields.into_iter().filter_map(|(k, v)| Some((k.to_owned(), v.filter(|v| !v.is_null())?))).collect()
}

/// Reads an OpenAI `chat.completion` object. A body with an `error` object and no choices is a decode error
/// that quotes the provider's message.
pub fn response_from_json(body: &[u8]) -> Result<ChatResponse> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|e| {
        if let Ok(v) = serde_json::from_slice::<Value>(body)
            && let Some(err) = v.get("error")
        {
            return Error::new(ErrorKind::Server, format!("error in response body: {}", error_message(err)))
                .with_body(&String::from_utf8_lossy(body));
        }
        decode_err("chat.completion", e).with_body(&String::from_utf8_lossy(body))
    })?;
    if let (Some(err), true) = (&wire.error, wire.choices.is_empty()) {
        return Err(Error::new(ErrorKind::Server, format!("error in response body: {}", error_message(err))));
    }
    let choices = wire
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let index = c.get("index").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
            let index = index.unwrap_or_else(|| u32::try_from(i).unwrap_or(u32::MAX));
            let message = c.get("message").ok_or_else(|| decode_err("choice", "missing `message`"))?;
            let message = message_with_default_role(message, Some(Role::Assistant))?;
            let finish = c.get("finish_reason").and_then(Value::as_str).map(FinishReason::from);
            Ok(Choice::new(index, message, finish))
        })
        .collect::<Result<Vec<_>>>()?;
    let usage = wire.usage.as_ref().map(WireUsage::to_usage);
    let mut r = ChatResponse::new(wire.id.unwrap_or_default(), wire.model.unwrap_or_default(), choices, usage);
    r.created = wire.created.0;
    r.provider_cost = wire.usage.as_ref().and_then(|u| u.cost);
    r.service_tier = wire.service_tier;
    r.system_fingerprint = wire.system_fingerprint;
    r.provider_fields = provider_fields([
        ("citations", wire.citations),
        ("search_results", wire.search_results),
        ("images", wire.images),
        ("related_questions", wire.related_questions),
    ]);
    Ok(r)
}

/// The message of an OpenAI-style `error` value (an object with `message`, or a string).
pub fn error_message(err: &Value) -> String {
    match err {
        Value::String(s) => s.clone(),
        other => other.get("message").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Stream chunks

/// Reads `chat.completion.chunk` objects (the `data:` payloads of an OpenAI-family SSE stream) into
/// [`StreamEvent`]s. It emits one `Start` for the first chunk that names an id or model.
#[derive(Debug, Default)]
pub struct ChunkDecoder {
    started: bool,
}

#[derive(Deserialize)]
struct WireChunk {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    citations: Option<Value>,
    #[serde(default)]
    search_results: Option<Value>,
    #[serde(default)]
    images: Option<Value>,
    #[serde(default)]
    related_questions: Option<Value>,
}

#[derive(Deserialize)]
struct WireChunkChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<WireDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
    /// Moonshot puts the stream's usage in the last chunk's choice when `stream_options` is not set.
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCallDelta>>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct WireToolCallDelta {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunctionDelta>,
}

#[derive(Deserialize)]
struct WireFunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

impl ChunkDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one chunk. An `error` object inside the stream becomes an error (kind from its `code` or
    /// `type` when recognizable, else `Server`).
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<StreamEvent>> {
        let chunk: WireChunk = serde_json::from_slice(data)
            .map_err(|e| decode_err("chat.completion.chunk", e).with_body(&String::from_utf8_lossy(data)))?;
        if let Some(err) = chunk.error.as_ref().filter(|e| !e.is_null()) {
            let kind = match err.get("type").or_else(|| err.get("code")).and_then(Value::as_str) {
                Some("rate_limit_exceeded" | "rate_limit_error") => ErrorKind::RateLimited,
                Some("overloaded_error" | "provider_overloaded") => ErrorKind::Overloaded,
                Some("invalid_request_error") => ErrorKind::InvalidRequest,
                _ => ErrorKind::Server,
            };
            return Err(Error::new(kind, format!("error in stream: {}", error_message(err))));
        }
        let mut events = Vec::with_capacity(2);
        // Azure's first chunk has `"id": ""` and `"model": ""`: empty strings do not start the stream.
        let id = chunk.id.filter(|s| !s.is_empty());
        let model = chunk.model.filter(|s| !s.is_empty());
        if !self.started && (id.is_some() || model.is_some()) {
            self.started = true;
            events.push(StreamEvent::Start { id, model });
        }
        let fields = provider_fields([
            ("citations", chunk.citations),
            ("search_results", chunk.search_results),
            ("images", chunk.images),
            ("related_questions", chunk.related_questions),
        ]);
        if !fields.is_empty() {
            events.push(StreamEvent::ProviderFields { fields });
        }
        let mut usage = chunk.usage;
        for c in chunk.choices {
            if usage.is_none() {
                usage = c.usage;
            }
            if let Some(d) = c.delta {
                if let Some(r) = d.reasoning_content.or(d.reasoning).filter(|s| !s.is_empty()) {
                    events.push(StreamEvent::ReasoningDelta { index: c.index, text: r });
                }
                if let Some(t) = d.content.or(d.refusal).filter(|s| !s.is_empty()) {
                    events.push(StreamEvent::TextDelta { index: c.index, text: t });
                }
                for t in d.tool_calls.unwrap_or_default() {
                    let (name, arguments) = match t.function {
                        Some(f) => (f.name, arguments_text(f.arguments.as_ref())),
                        None => (None, String::new()),
                    };
                    events.push(StreamEvent::ToolCallDelta {
                        index: c.index,
                        tool_index: t.index,
                        id: t.id,
                        name,
                        arguments,
                    });
                }
            }
            if let Some(f) = c.finish_reason.filter(|s| !s.is_empty()) {
                events.push(StreamEvent::Finish { index: c.index, reason: FinishReason::from(f) });
            }
        }
        if let Some(u) = usage {
            if let Some(cost) = u.cost {
                events.push(StreamEvent::ProviderCost { amount: cost });
            }
            events.push(StreamEvent::Usage(u.to_usage()));
        }
        Ok(events)
    }
}

/// Writes [`StreamEvent`]s as `chat.completion.chunk` objects, one per event (`Start` gives a role chunk;
/// `ProviderCost` and `Other` give none).
#[derive(Debug, Clone)]
pub struct ChunkEncoder {
    id: String,
    model: String,
    created: u64,
}

impl ChunkEncoder {
    /// An encoder stamping every chunk with this id, model and creation time.
    pub fn new(id: impl Into<String>, model: impl Into<String>, created: u64) -> Self {
        Self { id: id.into(), model: model.into(), created }
    }

    fn chunk(&self, choices: Value, usage: Option<Value>) -> Value {
        let mut out = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        });
        if let (Some(u), Some(obj)) = (usage, out.as_object_mut()) {
            obj.insert("usage".into(), u);
        }
        out
    }

    /// The chunk for one event.
    pub fn encode(&self, event: &StreamEvent) -> Option<Value> {
        let choice = |index: u32, delta: Value, finish: Option<&str>| json!([{ "index": index, "delta": delta, "finish_reason": finish }]);
        match event {
            StreamEvent::Start { .. } => {
                Some(self.chunk(choice(0, json!({"role": "assistant", "content": ""}), None), None))
            }
            StreamEvent::TextDelta { index, text } => {
                Some(self.chunk(choice(*index, json!({"content": text}), None), None))
            }
            StreamEvent::ReasoningDelta { index, text } => {
                Some(self.chunk(choice(*index, json!({"reasoning_content": text}), None), None))
            }
            StreamEvent::ToolCallDelta { index, tool_index, id, name, arguments } => {
                let mut call = json!({"index": tool_index, "function": {"arguments": arguments}});
                if let Some(id) = id {
                    call["id"] = id.clone().into();
                    call["type"] = "function".into();
                }
                if let Some(name) = name {
                    call["function"]["name"] = name.clone().into();
                }
                Some(self.chunk(choice(*index, json!({"tool_calls": [call]}), None), None))
            }
            StreamEvent::Finish { index, reason } => {
                Some(self.chunk(choice(*index, json!({}), Some(reason.as_str())), None))
            }
            StreamEvent::Usage(u) => Some(self.chunk(json!([]), Some(usage_to_json(u)))),
            StreamEvent::ProviderCost { .. }
            | StreamEvent::ProviderFields { .. }
            | StreamEvent::ReasoningSignature { .. }
            | StreamEvent::Call { .. }
            | StreamEvent::Routed(_)
            | StreamEvent::Other { .. } => None,
        }
    }
}

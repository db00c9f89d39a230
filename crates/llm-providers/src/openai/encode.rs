//! Building an OpenAI-family chat-completions body: llm-core's OpenAI encoder, then this family member's
//! quirks (the output-limit and seed field names, the `developer` role, `reasoning_content` round trips,
//! streaming flags).
//!
//! Two paths give the same bytes. [`encode_request`] builds a `serde_json::Value` (the reference, easy to
//! read and to inspect); [`write_request`], which the adapters call, serializes the request's own types
//! straight into the body without building that tree (a `Value` costs an allocation per key and per string,
//! about half of an adapter's per-call work). A test holds them byte for byte equal over a corpus of requests.

use llm_core::openai::{
    REQUEST_FIELDS, part_to_json, request_to_json, response_format_to_json, tool_choice_to_json, tool_to_json,
};
use llm_core::{ChatRequest, Content, ContentPart, Message, Result, Role};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value, json};

use crate::registry::Quirks;

/// The request body for `model` (the provider-side name), as a JSON tree.
pub fn encode_request(req: &ChatRequest, model: &str, stream: bool, q: &Quirks) -> Value {
    let mut body = request_to_json(req);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("model".into(), model.into());
        rename_key(obj, "max_tokens", q.max_tokens_field);
        rename_key(obj, "seed", q.seed_field);
        if let Some(Value::Array(messages)) = obj.get_mut("messages") {
            for m in messages.iter_mut().filter_map(Value::as_object_mut) {
                if !q.developer_role && m.get("role").and_then(Value::as_str) == Some("developer") {
                    m.insert("role".into(), "system".into());
                }
                if !q.reasoning_content_roundtrip {
                    m.shift_remove("reasoning_content");
                }
            }
        }
        // Strict schemas and strict function tools go out in OpenAI's strict dialect (closed objects, every
        // property required).
        if let Some(f) = obj.get_mut("response_format") {
            strict_response_format(f);
        }
        if let Some(Value::Array(tools)) = obj.get_mut("tools") {
            tools.iter_mut().for_each(strict_tool);
        }
        if stream {
            obj.insert("stream".into(), true.into());
            if q.stream_usage_option {
                obj.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
    }
    body
}

/// The request body for `model`, serialized straight from the request's types: the bytes
/// `serde_json::to_vec(&encode_request(..))` gives, without the tree.
///
/// # Errors
/// Serialization errors from `serde_json` (a custom `extra` value that fails to serialize).
pub fn write_request(req: &ChatRequest, model: &str, stream: bool, q: &Quirks) -> Result<Vec<u8>> {
    // `extra` may repeat a field the body already has; the tree merges it in place, so that path decides.
    if req.extra.keys().any(|k| is_body_field(k, q)) {
        return Ok(serde_json::to_vec(&encode_request(req, model, stream, q))?);
    }
    let mut out = Vec::with_capacity(256);
    Body { req, model, stream, q }.serialize(&mut serde_json::Serializer::new(&mut out))?;
    Ok(out)
}

/// Whether `extra` repeats a field the body already has: one of [`REQUEST_FIELDS`], the streaming flags, or
/// a quirk's field name.
fn is_body_field(key: &str, q: &Quirks) -> bool {
    REQUEST_FIELDS.contains(&key)
        || matches!(key, "stream" | "stream_options")
        || key == q.max_tokens_field
        || key == q.seed_field
}

/// Renames `from` to `to` where it stands, keeping the order of the other keys; a later `to` (from `extra`)
/// still wins, as `extra` is merged last.
fn rename_key(obj: &mut Map<String, Value>, from: &str, to: &str) {
    if from == to || !obj.contains_key(from) {
        return;
    }
    for (k, v) in std::mem::take(obj) {
        if k == from {
            obj.entry(to).or_insert(v);
        } else {
            obj.insert(k, v);
        }
    }
}

/// Rewrites a strict JSON schema response format (`json_schema.strict: true`) into OpenAI's strict dialect.
fn strict_response_format(f: &mut Value) {
    if let Some(js) = f.get_mut("json_schema")
        && js.get("strict") == Some(&Value::Bool(true))
        && let Some(schema) = js.get_mut("schema")
    {
        *schema = crate::dialect::openai_strict(schema).schema;
    }
}

/// Rewrites a strict function tool's parameters (`function.strict: true`) into OpenAI's strict dialect.
fn strict_tool(t: &mut Value) {
    if let Some(f) = t.get_mut("function")
        && f.get("strict") == Some(&Value::Bool(true))
        && let Some(params) = f.get_mut("parameters")
    {
        *params = crate::dialect::openai_strict(params).schema;
    }
}

/// The whole body, in [`encode_request`]'s key order.
struct Body<'a> {
    req: &'a ChatRequest,
    model: &'a str,
    stream: bool,
    q: &'a Quirks,
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let (r, q) = (self.req, self.q);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("model", self.model)?;
        m.serialize_entry("messages", &Messages { messages: &r.messages, q })?;
        if let Some(t) = r.temperature {
            m.serialize_entry("temperature", &t)?;
        }
        if let Some(p) = r.top_p {
            m.serialize_entry("top_p", &p)?;
        }
        if let Some(n) = r.max_tokens {
            m.serialize_entry(q.max_tokens_field, &n)?;
        }
        if !r.stop.is_empty() {
            m.serialize_entry("stop", &r.stop)?;
        }
        if let Some(seed) = r.seed {
            m.serialize_entry(q.seed_field, &seed)?;
        }
        if let Some(n) = r.n {
            m.serialize_entry("n", &n)?;
        }
        if let Some(p) = r.presence_penalty {
            m.serialize_entry("presence_penalty", &p)?;
        }
        if let Some(f) = r.frequency_penalty {
            m.serialize_entry("frequency_penalty", &f)?;
        }
        if !r.tools.is_empty() {
            let tools: Vec<Value> = r
                .tools
                .iter()
                .map(|t| {
                    let mut v = tool_to_json(t);
                    strict_tool(&mut v);
                    v
                })
                .collect();
            m.serialize_entry("tools", &tools)?;
        }
        if let Some(c) = &r.tool_choice {
            m.serialize_entry("tool_choice", &tool_choice_to_json(c))?;
        }
        if let Some(p) = r.parallel_tool_calls {
            m.serialize_entry("parallel_tool_calls", &p)?;
        }
        if let Some(f) = &r.response_format {
            let mut v = response_format_to_json(f);
            strict_response_format(&mut v);
            m.serialize_entry("response_format", &v)?;
        }
        if let Some(e) = &r.reasoning_effort {
            m.serialize_entry("reasoning_effort", e.as_str())?;
        }
        if let Some(t) = &r.service_tier {
            m.serialize_entry("service_tier", t.as_str())?;
        }
        if let Some(u) = &r.user {
            m.serialize_entry("user", u)?;
        }
        for (k, v) in &r.extra {
            m.serialize_entry(k, v)?;
        }
        if self.stream {
            m.serialize_entry("stream", &true)?;
            if q.stream_usage_option {
                m.serialize_entry("stream_options", &IncludeUsage { include_usage: true })?;
            }
        }
        m.end()
    }
}

#[derive(Serialize)]
struct IncludeUsage {
    include_usage: bool,
}

struct Messages<'a> {
    messages: &'a [Message],
    q: &'a Quirks,
}

impl Serialize for Messages<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.messages.len()))?;
        for message in self.messages {
            seq.serialize_element(&MessageBody { m: message, q: self.q })?;
        }
        seq.end()
    }
}

/// One message, in `llm_core::openai::message_to_json`'s key order, with the quirks applied.
struct MessageBody<'a> {
    m: &'a Message,
    q: &'a Quirks,
}

impl Serialize for MessageBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let (msg, q) = (self.m, self.q);
        let mut m = s.serialize_map(None)?;
        let role = if msg.role == Role::Developer && !q.developer_role { "system" } else { msg.role.as_str() };
        m.serialize_entry("role", role)?;
        match &msg.content {
            Some(Content::Text(t)) => m.serialize_entry("content", t)?,
            Some(Content::Parts(parts)) => m.serialize_entry("content", &Parts(parts))?,
            None => m.serialize_entry("content", &())?,
        }
        if let Some(n) = &msg.name {
            m.serialize_entry("name", n)?;
        }
        if !msg.tool_calls.is_empty() {
            let calls: Vec<WireToolCall<'_>> = msg
                .tool_calls
                .iter()
                .map(|c| WireToolCall {
                    id: &c.id,
                    kind: "function",
                    function: WireFunction { name: &c.name, arguments: &c.arguments },
                })
                .collect();
            m.serialize_entry("tool_calls", &calls)?;
        }
        if let Some(id) = &msg.tool_call_id {
            m.serialize_entry("tool_call_id", id)?;
        }
        if let Some(r) = &msg.reasoning {
            if q.reasoning_content_roundtrip {
                m.serialize_entry("reasoning_content", r)?;
            }
            if let Some(sig) = &msg.reasoning_signature {
                // LiteLLM's shape for signed thinking.
                m.serialize_entry(
                    "thinking_blocks",
                    &[ThinkingBlock { kind: "thinking", thinking: r, signature: sig }],
                )?;
            }
        }
        if let Some(r) = &msg.refusal {
            m.serialize_entry("refusal", r)?;
        }
        m.end()
    }
}

/// Content parts go through llm-core's encoder (images, audio and files are rare and carry their own data).
struct Parts<'a>(&'a [ContentPart]);

impl Serialize for Parts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(part_to_json))
    }
}

#[derive(Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct ThinkingBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    thinking: &'a str,
    signature: &'a str,
}

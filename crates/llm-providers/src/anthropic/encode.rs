//! Building an Anthropic Messages body (PROVIDERS.md §5.2).

use llm_core::{
    ChatRequest, Content, ContentPart, Error, ErrorKind, ImageSource, Message, ReasoningEffort, ResponseFormat, Result,
    Role, ServiceTier, ToolChoice,
};
use serde_json::{Map, Value, json};

/// The output limit sent when the request sets none (`max_tokens` is required).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Whether an API version rejects the sampling parameters (`2026-10-21` and later).
pub fn rejects_sampling(version: &str) -> bool {
    version >= "2026-10-21"
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidRequest, msg).with_provider("anthropic")
}

fn part_block(p: &ContentPart) -> Result<Value> {
    Ok(match p {
        ContentPart::Text { text } => json!({"type": "text", "text": text}),
        ContentPart::Image { source, .. } => match source {
            ImageSource::Base64 { media_type, data } => {
                json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
            }
            ImageSource::Url { url } => json!({"type": "image", "source": {"type": "url", "url": url}}),
            _ => return Err(invalid("unsupported image source")),
        },
        ContentPart::File { data: Some(data), media_type, .. } => json!({"type": "document", "source": {
            "type": "base64", "media_type": media_type.as_deref().unwrap_or("application/pdf"), "data": data}}),
        ContentPart::File { .. } => return Err(invalid("anthropic needs file parts with inline data")),
        ContentPart::Audio { .. } => return Err(invalid("anthropic does not accept audio input")),
        _ => return Err(invalid("unsupported content part")),
    })
}

fn content_blocks(c: &Content) -> Result<Vec<Value>> {
    match c {
        Content::Text(t) => Ok(vec![json!({"type": "text", "text": t})]),
        Content::Parts(parts) => parts.iter().map(part_block).collect(),
    }
}

fn push_turn(messages: &mut Vec<Value>, role: &str, mut blocks: Vec<Value>) {
    if let Some(last) = messages.last_mut()
        && last["role"] == role
    {
        if let Some(Value::String(s)) = last.get("content").cloned() {
            last["content"] = json!([{"type": "text", "text": s}]);
        }
        if let Some(arr) = last["content"].as_array_mut() {
            arr.append(&mut blocks);
            return;
        }
    }
    messages.push(json!({"role": role, "content": blocks}));
}

fn tool_use_input(arguments: &str) -> Result<Value> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(arguments).map_err(|e| invalid(format!("tool call arguments are not json: {e}")))
}

fn encode_messages(msgs: &[Message]) -> Result<(Option<Value>, Vec<Value>)> {
    let mut system: Vec<String> = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    for m in msgs {
        match &m.role {
            Role::System | Role::Developer => system.push(m.text()),
            Role::User => match &m.content {
                Some(Content::Text(t)) if out.last().is_none_or(|l| l["role"] != "user") => {
                    out.push(json!({"role": "user", "content": t}));
                }
                Some(c) => push_turn(&mut out, "user", content_blocks(c)?),
                None => {}
            },
            Role::Assistant => {
                let mut blocks = Vec::new();
                // Signed thinking goes back first, as Anthropic requires when tools are used with thinking.
                if let (Some(r), Some(sig)) = (&m.reasoning, &m.reasoning_signature) {
                    blocks.push(json!({"type": "thinking", "thinking": r, "signature": sig}));
                }
                let text = m.text();
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for c in &m.tool_calls {
                    blocks.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": tool_use_input(&c.arguments)?}),
                    );
                }
                if m.tool_calls.is_empty()
                    && m.reasoning_signature.is_none()
                    && out.last().is_none_or(|l| l["role"] != "assistant")
                {
                    out.push(json!({"role": "assistant", "content": text}));
                } else if !blocks.is_empty() {
                    push_turn(&mut out, "assistant", blocks);
                }
            }
            Role::Tool => {
                let id = m.tool_call_id.clone().unwrap_or_default();
                push_turn(
                    &mut out,
                    "user",
                    vec![json!({"type": "tool_result", "tool_use_id": id, "content": m.text()})],
                );
            }
            Role::Other(r) => return Err(invalid(format!("anthropic does not accept the role {r:?}"))),
            _ => return Err(invalid("unsupported role")),
        }
    }
    let system = match system.len() {
        0 => None,
        1 => Some(Value::String(system.swap_remove(0))),
        _ => Some(Value::Array(system.into_iter().map(|t| json!({"type": "text", "text": t})).collect())),
    };
    Ok((system, out))
}

/// The thinking budget LiteLLM maps `reasoning_effort` to.
pub fn thinking_budget(e: &ReasoningEffort) -> Option<u32> {
    match e {
        ReasoningEffort::None => None,
        ReasoningEffort::Minimal | ReasoningEffort::Low => Some(1024),
        ReasoningEffort::Medium => Some(2048),
        ReasoningEffort::High => Some(4096),
        _ => Some(8192),
    }
}

/// The request body for `model`. With an API version that rejects sampling parameters, `temperature` and
/// `top_p` are left out (the caller is warned by the adapter).
pub fn encode_request(req: &ChatRequest, model: &str, stream: bool, version: &str) -> Result<Value> {
    let (system, messages) = encode_messages(&req.messages)?;
    let mut b = Map::new();
    b.insert("model".into(), model.into());
    let mut max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    if let Some(s) = system {
        b.insert("system".into(), s);
    }
    b.insert("messages".into(), Value::Array(messages));
    if !rejects_sampling(version) {
        if let Some(t) = req.temperature {
            b.insert("temperature".into(), json!(t));
        }
        if let Some(p) = req.top_p {
            b.insert("top_p".into(), json!(p));
        }
    }
    if !req.stop.is_empty() {
        b.insert("stop_sequences".into(), json!(req.stop));
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                // Strict tools take the same schema subset as structured outputs.
                let schema = if t.strict == Some(true) {
                    crate::dialect::anthropic(&t.parameters).schema
                } else {
                    t.parameters.clone()
                };
                let mut o = json!({"name": t.name, "input_schema": schema});
                if let Some(d) = &t.description {
                    o["description"] = d.clone().into();
                }
                if let Some(s) = t.strict {
                    o["strict"] = s.into();
                }
                o
            })
            .collect();
        b.insert("tools".into(), Value::Array(tools));
    }
    let mut choice = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
        Some(ToolChoice::Required) => Some(json!({"type": "any"})),
        Some(ToolChoice::None) => Some(json!({"type": "none"})),
        Some(ToolChoice::Function(n)) => Some(json!({"type": "tool", "name": n})),
        Some(_) => None,
    };
    if req.parallel_tool_calls == Some(false) && !req.tools.is_empty() {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        c["disable_parallel_tool_use"] = true.into();
    }
    if let Some(c) = choice {
        b.insert("tool_choice".into(), c);
    }
    if let Some(ResponseFormat::JsonSchema(s)) = &req.response_format {
        let schema = crate::dialect::anthropic(&s.schema).schema;
        b.insert("output_config".into(), json!({"format": {"type": "json_schema", "schema": schema}}));
    }
    if let Some(budget) = req.reasoning_effort.as_ref().and_then(thinking_budget) {
        b.insert("thinking".into(), json!({"type": "enabled", "budget_tokens": budget}));
        if max_tokens <= budget {
            max_tokens = budget.saturating_add(DEFAULT_MAX_TOKENS);
        }
    }
    b.insert("max_tokens".into(), max_tokens.into());
    if let Some(u) = &req.user {
        b.insert("metadata".into(), json!({"user_id": u}));
    }
    match &req.service_tier {
        Some(ServiceTier::Auto) => {
            b.insert("service_tier".into(), "auto".into());
        }
        Some(ServiceTier::Default) => {
            b.insert("service_tier".into(), "standard_only".into());
        }
        _ => {}
    }
    if stream {
        b.insert("stream".into(), true.into());
    }
    for (k, v) in &req.extra {
        b.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(b))
}

//! Building an Ollama `/api/chat` body (PROVIDERS.md §7.2).

use llm_core::{
    ChatRequest, Content, ContentPart, Error, ErrorKind, ImageSource, Message, ReasoningEffort, ResponseFormat, Result,
    Role,
};
use serde_json::{Map, Value, json};

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidRequest, msg).with_provider("ollama")
}

fn tool_name_for(messages: &[Message], id: &str) -> Option<String> {
    messages.iter().flat_map(|m| m.tool_calls.iter()).find(|c| c.id == id).map(|c| c.name.clone())
}

fn message(m: &Message, all: &[Message]) -> Result<Value> {
    let role = match &m.role {
        Role::System | Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
        Role::Other(r) => return Err(invalid(format!("ollama does not accept the role {r:?}"))),
        _ => return Err(invalid("unsupported role")),
    };
    let mut o = Map::new();
    o.insert("role".into(), role.into());
    let mut images = Vec::new();
    let text = match &m.content {
        Some(Content::Parts(parts)) => {
            let mut t = String::new();
            for p in parts {
                match p {
                    ContentPart::Text { text } => t.push_str(text),
                    ContentPart::Image { source: ImageSource::Base64 { data, .. }, .. } => {
                        images.push(Value::String(data.clone()))
                    }
                    ContentPart::Image { .. } => return Err(invalid("ollama takes images as base64 data, not urls")),
                    _ => return Err(invalid("ollama takes text and image parts only")),
                }
            }
            t
        }
        _ => m.text(),
    };
    o.insert("content".into(), text.into());
    if !images.is_empty() {
        o.insert("images".into(), Value::Array(images));
    }
    if !m.tool_calls.is_empty() {
        let calls = m
            .tool_calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let args: Value = if c.arguments.trim().is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(&c.arguments)
                        .map_err(|e| invalid(format!("tool call arguments are not json: {e}")))?
                };
                let mut call = json!({"function": {"index": i, "name": c.name, "arguments": args}});
                if !c.id.is_empty() && !c.id.starts_with("call_") {
                    call["id"] = c.id.clone().into();
                }
                Ok(call)
            })
            .collect::<Result<Vec<_>>>()?;
        o.insert("tool_calls".into(), Value::Array(calls));
    }
    if m.role == Role::Tool {
        let id = m.tool_call_id.clone().unwrap_or_default();
        if let Some(name) = m.name.clone().or_else(|| tool_name_for(all, &id)) {
            o.insert("tool_name".into(), name.into());
        }
        if !id.is_empty() && !id.starts_with("call_") {
            o.insert("tool_call_id".into(), id.into());
        }
    }
    Ok(Value::Object(o))
}

/// The request body; `stream` is always sent, since Ollama streams by default.
pub fn encode_request(req: &ChatRequest, model: &str, stream: bool) -> Result<Value> {
    let mut b = Map::new();
    b.insert("model".into(), model.into());
    let messages = req.messages.iter().map(|m| message(m, &req.messages)).collect::<Result<Vec<_>>>()?;
    b.insert("messages".into(), Value::Array(messages));
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description.clone().unwrap_or_default(), "parameters": t.parameters}}))
            .collect();
        b.insert("tools".into(), Value::Array(tools));
    }
    match &req.response_format {
        Some(ResponseFormat::JsonSchema(s)) => {
            b.insert("format".into(), s.schema.clone());
        }
        Some(ResponseFormat::JsonObject) => {
            b.insert("format".into(), "json".into());
        }
        _ => {}
    }
    if let Some(e) = &req.reasoning_effort {
        let think = match e {
            ReasoningEffort::None => json!(false),
            ReasoningEffort::Low | ReasoningEffort::Minimal => json!("low"),
            ReasoningEffort::Medium => json!("medium"),
            ReasoningEffort::High => json!("high"),
            _ => json!(true),
        };
        b.insert("think".into(), think);
    }
    let mut opts = Map::new();
    if let Some(t) = req.temperature {
        opts.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        opts.insert("top_p".into(), json!(p));
    }
    if let Some(n) = req.max_tokens {
        opts.insert("num_predict".into(), n.into());
    }
    if let Some(s) = req.seed {
        opts.insert("seed".into(), s.into());
    }
    if !req.stop.is_empty() {
        opts.insert("stop".into(), json!(req.stop));
    }
    if let Some(p) = req.presence_penalty {
        opts.insert("presence_penalty".into(), json!(p));
    }
    if let Some(f) = req.frequency_penalty {
        opts.insert("frequency_penalty".into(), json!(f));
    }
    if !opts.is_empty() {
        b.insert("options".into(), Value::Object(opts));
    }
    b.insert("stream".into(), stream.into());
    for (k, v) in &req.extra {
        b.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(b))
}

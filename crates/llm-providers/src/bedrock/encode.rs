//! Building a Bedrock `ConverseRequest` body (PROVIDERS.md §13.2). The model id goes in the URL.

use llm_core::{
    ChatRequest, Content, ContentPart, Error, ErrorKind, ImageSource, Message, ResponseFormat, Result, Role, ToolChoice,
};
use serde_json::{Map, Value, json};

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidRequest, msg).with_provider("bedrock")
}

fn image_format(media_type: &str) -> Result<&'static str> {
    match media_type {
        "image/png" => Ok("png"),
        "image/jpeg" | "image/jpg" => Ok("jpeg"),
        "image/gif" => Ok("gif"),
        "image/webp" => Ok("webp"),
        other => Err(invalid(format!("bedrock does not accept images of type {other:?}"))),
    }
}

fn block(p: &ContentPart) -> Result<Value> {
    Ok(match p {
        ContentPart::Text { text } => json!({ "text": text }),
        ContentPart::Image { source: ImageSource::Base64 { media_type, data }, .. } => {
            json!({"image": {"format": image_format(media_type)?, "source": {"bytes": data}}})
        }
        ContentPart::Image { .. } => return Err(invalid("bedrock takes images as base64 data, not urls")),
        ContentPart::File { data: Some(data), filename, .. } => json!({"document": {
            "format": "pdf", "name": filename.as_deref().unwrap_or("document"), "source": {"bytes": data}}}),
        _ => return Err(invalid("unsupported content part for bedrock")),
    })
}

fn push(messages: &mut Vec<Value>, role: &str, mut blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut()
        && last["role"] == role
        && let Some(arr) = last["content"].as_array_mut()
    {
        arr.append(&mut blocks);
        return;
    }
    messages.push(json!({"role": role, "content": blocks}));
}

fn encode_messages(msgs: &[Message]) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut system = Vec::new();
    let mut out = Vec::new();
    for m in msgs {
        match &m.role {
            Role::System | Role::Developer => system.push(json!({"text": m.text()})),
            Role::User => {
                let blocks = match &m.content {
                    Some(Content::Text(t)) => vec![json!({ "text": t })],
                    Some(Content::Parts(ps)) => ps.iter().map(block).collect::<Result<_>>()?,
                    None => Vec::new(),
                };
                push(&mut out, "user", blocks);
            }
            Role::Assistant => {
                let mut blocks = Vec::new();
                let text = m.text();
                if !text.is_empty() {
                    blocks.push(json!({ "text": text }));
                }
                for c in &m.tool_calls {
                    let input: Value = if c.arguments.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&c.arguments)
                            .map_err(|e| invalid(format!("tool call arguments are not json: {e}")))?
                    };
                    blocks.push(json!({"toolUse": {"toolUseId": c.id, "name": c.name, "input": input}}));
                }
                push(&mut out, "assistant", blocks);
            }
            Role::Tool => {
                let text = m.text();
                let content = match serde_json::from_str::<Value>(&text) {
                    Ok(v @ (Value::Object(_) | Value::Array(_))) => json!([{ "json": v }]),
                    _ => json!([{ "text": text }]),
                };
                let id = m.tool_call_id.clone().unwrap_or_default();
                push(
                    &mut out,
                    "user",
                    vec![json!({"toolResult": {"toolUseId": id, "content": content, "status": "success"}})],
                );
            }
            Role::Other(r) => return Err(invalid(format!("bedrock does not accept the role {r:?}"))),
            _ => return Err(invalid("unsupported role")),
        }
    }
    Ok((system, out))
}

/// The request body.
pub fn encode_request(req: &ChatRequest, model: &str) -> Result<Value> {
    let (system, messages) = encode_messages(&req.messages)?;
    let mut b = Map::new();
    b.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        b.insert("system".into(), Value::Array(system));
    }
    let mut inf = Map::new();
    if let Some(n) = req.max_tokens {
        inf.insert("maxTokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        inf.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        inf.insert("topP".into(), json!(p));
    }
    if !req.stop.is_empty() {
        inf.insert("stopSequences".into(), json!(req.stop));
    }
    if !inf.is_empty() {
        b.insert("inferenceConfig".into(), Value::Object(inf));
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let schema = if t.strict == Some(true) {
                    crate::dialect::anthropic(&t.parameters).schema
                } else {
                    t.parameters.clone()
                };
                let mut spec = json!({"name": t.name, "inputSchema": {"json": schema}});
                if let Some(d) = &t.description {
                    spec["description"] = d.clone().into();
                }
                json!({ "toolSpec": spec })
            })
            .collect();
        let mut tc = json!({ "tools": tools });
        match &req.tool_choice {
            Some(ToolChoice::Auto) => tc["toolChoice"] = json!({"auto": {}}),
            Some(ToolChoice::Required) => tc["toolChoice"] = json!({"any": {}}),
            Some(ToolChoice::Function(n)) => tc["toolChoice"] = json!({"tool": {"name": n}}),
            _ => {}
        }
        b.insert("toolConfig".into(), tc);
    }
    if let Some(ResponseFormat::JsonSchema(s)) = &req.response_format {
        // Bedrock's native structured output takes Anthropic's subset (closed objects, constraints moved into
        // descriptions), as LiteLLM sends it; the schema travels as a JSON string.
        let schema = crate::dialect::anthropic(&s.schema).schema;
        let mut js = json!({"name": s.name, "schema": schema.to_string()});
        if let Some(d) = &s.description {
            js["description"] = d.clone().into();
        }
        b.insert(
            "outputConfig".into(),
            json!({"textFormat": {"type": "json_schema", "structure": {"jsonSchema": js}}}),
        );
    }
    if let Some(budget) = req.reasoning_effort.as_ref().and_then(crate::anthropic::encode::thinking_budget)
        && model.contains("claude")
    {
        b.insert(
            "additionalModelRequestFields".into(),
            json!({"thinking": {"type": "enabled", "budget_tokens": budget}}),
        );
    }
    for (k, v) in &req.extra {
        b.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(b))
}

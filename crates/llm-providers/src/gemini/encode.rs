//! Building a Gemini `generateContent` body (PROVIDERS.md §6.2).

use llm_core::{
    ChatRequest, Content, ContentPart, Error, ErrorKind, ImageSource, Message, ReasoningEffort, ResponseFormat, Result,
    Role, ToolChoice,
};
use serde_json::{Map, Value, json};

use super::decode::SIGNATURE_MARK;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidRequest, msg).with_provider("gemini")
}

fn part(p: &ContentPart) -> Result<Value> {
    Ok(match p {
        ContentPart::Text { text } => json!({"text": text}),
        ContentPart::Image { source, .. } => match source {
            ImageSource::Base64 { media_type, data } => json!({"inlineData": {"mimeType": media_type, "data": data}}),
            ImageSource::Url { url } => json!({"fileData": {"mimeType": guess_mime(url), "fileUri": url}}),
            _ => return Err(invalid("unsupported image source")),
        },
        ContentPart::Audio { data, format } => {
            json!({"inlineData": {"mimeType": format!("audio/{format}"), "data": data}})
        }
        ContentPart::File { data: Some(data), media_type, .. } => {
            json!({"inlineData": {"mimeType": media_type.as_deref().unwrap_or("application/pdf"), "data": data}})
        }
        ContentPart::File { file_id: Some(uri), media_type, .. } => {
            json!({"fileData": {"mimeType": media_type.as_deref().unwrap_or("application/pdf"), "fileUri": uri}})
        }
        _ => return Err(invalid("unsupported content part")),
    })
}

fn guess_mime(url: &str) -> &'static str {
    let lower = url.to_ascii_lowercase();
    if lower.ends_with(".png") {
        "image/png"
    } else if lower.ends_with(".webp") {
        "image/webp"
    } else if lower.ends_with(".gif") {
        "image/gif"
    } else {
        "image/jpeg"
    }
}

/// Splits a tool-call id made by the decoder into the call's id and its thought signature.
pub fn split_signature(id: &str) -> (&str, Option<&str>) {
    match id.split_once(SIGNATURE_MARK) {
        Some((id, sig)) => (id, Some(sig)),
        None => (id, None),
    }
}

fn push(contents: &mut Vec<Value>, role: &str, mut parts: Vec<Value>) {
    if let Some(last) = contents.last_mut()
        && last["role"] == role
        && let Some(arr) = last["parts"].as_array_mut()
    {
        arr.append(&mut parts);
        return;
    }
    contents.push(json!({"role": role, "parts": parts}));
}

fn tool_name_for(messages: &[Message], id: &str) -> Option<String> {
    messages
        .iter()
        .flat_map(|m| m.tool_calls.iter())
        .find(|c| c.id == id || split_signature(&c.id).0 == id)
        .map(|c| c.name.clone())
}

fn encode_contents(messages: &[Message]) -> Result<(Option<Value>, Vec<Value>)> {
    let mut system = Vec::new();
    let mut contents = Vec::new();
    for m in messages {
        match &m.role {
            Role::System | Role::Developer => system.push(json!({"text": m.text()})),
            Role::User => {
                let parts = match &m.content {
                    Some(Content::Text(t)) => vec![json!({"text": t})],
                    Some(Content::Parts(ps)) => ps.iter().map(part).collect::<Result<_>>()?,
                    None => Vec::new(),
                };
                push(&mut contents, "user", parts);
            }
            Role::Assistant => {
                let mut parts = Vec::new();
                let text = m.text();
                if !text.is_empty() {
                    parts.push(json!({"text": text}));
                }
                for c in &m.tool_calls {
                    let (id, sig) = split_signature(&c.id);
                    let args: Value = if c.arguments.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&c.arguments)
                            .map_err(|e| invalid(format!("tool call arguments are not json: {e}")))?
                    };
                    let mut call = json!({"name": c.name, "args": args});
                    if !id.is_empty() && !id.starts_with("call_") {
                        call["id"] = id.into();
                    }
                    let mut p = json!({"functionCall": call});
                    if let Some(sig) = sig {
                        p["thoughtSignature"] = sig.into();
                    }
                    parts.push(p);
                }
                push(&mut contents, "model", parts);
            }
            Role::Tool => {
                let call_id = m.tool_call_id.clone().unwrap_or_default();
                let name = m.name.clone().or_else(|| tool_name_for(messages, &call_id)).unwrap_or_default();
                let text = m.text();
                let output = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
                let mut fr = json!({"name": name, "response": {"output": output}});
                let (id, _) = split_signature(&call_id);
                if !id.is_empty() && !id.starts_with("call_") {
                    fr["id"] = id.into();
                }
                push(&mut contents, "user", vec![json!({"functionResponse": fr})]);
            }
            Role::Other(r) => return Err(invalid(format!("gemini does not accept the role {r:?}"))),
            _ => return Err(invalid("unsupported role")),
        }
    }
    let system = (!system.is_empty()).then(|| json!({"parts": system}));
    Ok((system, contents))
}

fn thinking_config(model: &str, effort: &ReasoningEffort) -> Value {
    let m = model.rsplit('/').next().unwrap_or(model);
    if m.starts_with("gemini-3") {
        let level = match effort {
            ReasoningEffort::None | ReasoningEffort::Minimal => "MINIMAL",
            ReasoningEffort::Low => "LOW",
            ReasoningEffort::Medium => "MEDIUM",
            _ => "HIGH",
        };
        json!({"thinkingLevel": level})
    } else {
        let budget = match effort {
            ReasoningEffort::None => 0,
            ReasoningEffort::Minimal | ReasoningEffort::Low => 1024,
            ReasoningEffort::Medium => 2048,
            ReasoningEffort::High => 4096,
            _ => 8192,
        };
        json!({"thinkingBudget": budget})
    }
}

/// Whether a model takes standard JSON Schema (`responseJsonSchema`, `parametersJsonSchema`): Gemini 2.x and
/// later, as LiteLLM decides (`gemini-[2-9]`). Older models (`gemini-1.5-*`, `gemini-pro`) take the OpenAPI
/// subset (`responseSchema`, `parameters`).
pub fn uses_json_schema(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    match m.find("gemini-") {
        Some(i) => m[i + "gemini-".len()..].chars().next().is_some_and(|c| ('2'..='9').contains(&c)),
        None => true,
    }
}

/// The request body (the model goes in the URL).
pub fn encode_request(req: &ChatRequest, model: &str) -> Result<Value> {
    let (system, contents) = encode_contents(&req.messages)?;
    let mut b = Map::new();
    if let Some(s) = system {
        b.insert("systemInstruction".into(), s);
    }
    b.insert("contents".into(), Value::Array(contents));
    if !req.tools.is_empty() {
        let decls: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut d = if uses_json_schema(model) {
                    json!({"name": t.name, "parametersJsonSchema": crate::dialect::gemini_json_schema(&t.parameters).schema})
                } else {
                    json!({"name": t.name, "parameters": crate::dialect::gemini_openapi(&t.parameters).schema})
                };
                if let Some(desc) = &t.description {
                    d["description"] = desc.clone().into();
                }
                d
            })
            .collect();
        b.insert("tools".into(), json!([{"functionDeclarations": decls}]));
    }
    let mode = match &req.tool_choice {
        Some(ToolChoice::Auto) => Some(json!({"mode": "AUTO"})),
        Some(ToolChoice::Required) => Some(json!({"mode": "ANY"})),
        Some(ToolChoice::None) => Some(json!({"mode": "NONE"})),
        Some(ToolChoice::Function(n)) => Some(json!({"mode": "ANY", "allowedFunctionNames": [n]})),
        _ => None,
    };
    if let Some(m) = mode {
        b.insert("toolConfig".into(), json!({ "functionCallingConfig": m }));
    }
    let mut g = Map::new();
    if let Some(t) = req.temperature {
        g.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        g.insert("topP".into(), json!(p));
    }
    if let Some(n) = req.max_tokens {
        g.insert("maxOutputTokens".into(), n.into());
    }
    if !req.stop.is_empty() {
        g.insert("stopSequences".into(), json!(req.stop));
    }
    if let Some(s) = req.seed {
        g.insert("seed".into(), s.into());
    }
    if let Some(n) = req.n {
        g.insert("candidateCount".into(), n.into());
    }
    if let Some(p) = req.presence_penalty {
        g.insert("presencePenalty".into(), json!(p));
    }
    if let Some(f) = req.frequency_penalty {
        g.insert("frequencyPenalty".into(), json!(f));
    }
    match &req.response_format {
        Some(ResponseFormat::JsonSchema(s)) => {
            g.insert("responseMimeType".into(), "application/json".into());
            if uses_json_schema(model) {
                g.insert("responseJsonSchema".into(), crate::dialect::gemini_json_schema(&s.schema).schema);
            } else {
                g.insert("responseSchema".into(), crate::dialect::gemini_openapi(&s.schema).schema);
            }
        }
        Some(ResponseFormat::JsonObject) => {
            g.insert("responseMimeType".into(), "application/json".into());
        }
        _ => {}
    }
    if let Some(e) = &req.reasoning_effort {
        g.insert("thinkingConfig".into(), thinking_config(model, e));
    }
    if !g.is_empty() {
        b.insert("generationConfig".into(), Value::Object(g));
    }
    for (k, v) in &req.extra {
        b.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(b))
}

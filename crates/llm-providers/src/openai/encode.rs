//! Building an OpenAI-family chat-completions body: llm-core's OpenAI encoder, then this family member's
//! quirks (the output-limit and seed field names, the `developer` role, `reasoning_content` round trips,
//! streaming flags).

use llm_core::ChatRequest;
use serde_json::{Value, json};

use crate::registry::Quirks;

/// The request body for `model` (the provider-side name).
pub fn encode_request(req: &ChatRequest, model: &str, stream: bool, q: &Quirks) -> Value {
    let mut body = llm_core::openai::request_to_json(req);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("model".into(), model.into());
        if q.max_tokens_field != "max_tokens"
            && let Some(v) = obj.remove("max_tokens")
        {
            obj.insert(q.max_tokens_field.into(), v);
        }
        if q.seed_field != "seed"
            && let Some(v) = obj.remove("seed")
        {
            obj.insert(q.seed_field.into(), v);
        }
        if let Some(Value::Array(messages)) = obj.get_mut("messages") {
            for m in messages.iter_mut().filter_map(Value::as_object_mut) {
                if !q.developer_role && m.get("role").and_then(Value::as_str) == Some("developer") {
                    m.insert("role".into(), "system".into());
                }
                if !q.reasoning_content_roundtrip {
                    m.remove("reasoning_content");
                }
            }
        }
        // Strict schemas go out in OpenAI's strict dialect (closed objects, every property required).
        if let Some(js) = obj.get_mut("response_format").and_then(|f| f.get_mut("json_schema"))
            && js.get("strict") == Some(&Value::Bool(true))
            && let Some(schema) = js.get_mut("schema")
        {
            *schema = crate::dialect::openai_strict(schema).schema;
        }
        // Strict function tools take the same dialect.
        if let Some(Value::Array(tools)) = obj.get_mut("tools") {
            for t in tools.iter_mut().filter_map(|t| t.get_mut("function")) {
                if t.get("strict") == Some(&Value::Bool(true))
                    && let Some(params) = t.get_mut("parameters")
                {
                    *params = crate::dialect::openai_strict(params).schema;
                }
            }
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

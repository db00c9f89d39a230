//! Reading Bedrock Converse answers into llm-core types.

use llm_core::{ChatResponse, Choice, Content, Error, FinishReason, Message, Result, Role, ToolCall, Usage};

use super::wire::{WireResponse, WireUsage};

/// Normalizes Bedrock usage (PROVIDERS.md §1.1): cache reads and writes are outside `inputTokens`.
pub fn usage(u: &WireUsage) -> Usage {
    let read = u.cache_read_input_tokens.0;
    let write = u.cache_write_input_tokens.0;
    let prompt = u.input_tokens.0.unwrap_or(0).saturating_add(read.unwrap_or(0)).saturating_add(write.unwrap_or(0));
    let mut out = Usage::new(prompt, u.output_tokens.0.unwrap_or(0));
    out.cache_read_tokens = read;
    out.cache_write_tokens = write;
    for d in &u.cache_details {
        match d.ttl.as_str() {
            "5m" => out.cache_write_5m_tokens = d.input_tokens.0,
            "1h" => out.cache_write_1h_tokens = d.input_tokens.0,
            _ => {}
        }
    }
    out
}

/// Maps `stopReason` (PROVIDERS.md §1.2).
pub fn finish_reason(s: &str) -> FinishReason {
    match s {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        "model_context_window_exceeded" => FinishReason::ContextOverflow,
        "malformed_model_output" | "malformed_tool_use" => FinishReason::Error,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Reads a `ConverseResponse`.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse> {
    let r: WireResponse = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!("invalid bedrock response: {e}")).with_body(&String::from_utf8_lossy(body))
    })?;
    let blocks = r.output.and_then(|o| o.message).map(|m| m.content).unwrap_or_default();
    let mut text = String::new();
    let mut saw_text = false;
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for b in &blocks {
        if let Some(t) = &b.text {
            saw_text = true;
            text.push_str(t);
        }
        if let Some(t) = &b.tool_use {
            let args = t.input.as_ref().map_or_else(|| "{}".to_owned(), ToString::to_string);
            calls.push(ToolCall::new(t.tool_use_id.clone(), t.name.clone(), args));
        }
        if let Some(t) = b.reasoning_content.as_ref().and_then(|r| r.reasoning_text.as_ref()) {
            reasoning.push_str(&t.text);
        }
    }
    let mut m = Message::new(Role::Assistant, "");
    m.content = (saw_text || calls.is_empty()).then_some(Content::Text(text));
    m.tool_calls = calls;
    m.reasoning = (!reasoning.is_empty()).then_some(reasoning);
    let finish = r.stop_reason.as_deref().map(finish_reason);
    Ok(ChatResponse::new("", "", vec![Choice::new(0, m, finish)], r.usage.as_ref().map(usage)))
}

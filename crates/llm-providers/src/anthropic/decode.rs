//! Reading Anthropic answers into llm-core types.

use llm_core::{ChatResponse, Choice, Content, Error, FinishReason, Message, Result, Role, ToolCall, Usage};

use super::wire::{WireBlock, WireMessage, WireUsage};

/// Normalizes Anthropic usage (PROVIDERS.md §1.1): cache reads and writes are outside `input_tokens`, so the
/// prompt count is their sum; thinking is inside `output_tokens`.
pub fn usage(u: &WireUsage) -> Usage {
    let input = u.input_tokens.0.unwrap_or(0);
    let write = u.cache_creation_input_tokens.0;
    let read = u.cache_read_input_tokens.0;
    let prompt = input.saturating_add(write.unwrap_or(0)).saturating_add(read.unwrap_or(0));
    let mut out = Usage::new(prompt, u.output_tokens.0.unwrap_or(0));
    out.cache_read_tokens = read;
    out.cache_write_tokens = write;
    if let Some(c) = u.cache_creation {
        out.cache_write_5m_tokens = c.ephemeral_5m_input_tokens.0;
        out.cache_write_1h_tokens = c.ephemeral_1h_input_tokens.0;
    }
    out.reasoning_tokens = u.output_tokens_details.and_then(|d| d.thinking_tokens.0);
    out.web_search_requests = u.server_tool_use.and_then(|s| s.web_search_requests.0);
    out
}

/// Maps `stop_reason` (PROVIDERS.md §1.2).
pub fn finish_reason(s: &str) -> FinishReason {
    match s {
        "end_turn" | "stop_sequence" | "pause_turn" => FinishReason::Stop,
        "max_tokens" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        "model_context_window_exceeded" => FinishReason::ContextOverflow,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Reads a `message` body.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse> {
    let m: WireMessage = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!("invalid anthropic message: {e}")).with_body(&String::from_utf8_lossy(body))
    })?;
    let mut text = String::new();
    let mut saw_text = false;
    let mut thinking = String::new();
    let mut signature = None;
    let mut calls = Vec::new();
    for b in &m.content {
        match b {
            WireBlock::Text { text: t } => {
                saw_text = true;
                text.push_str(t);
            }
            WireBlock::Thinking { thinking: t, signature: s } => {
                thinking.push_str(t);
                if s.is_some() {
                    signature.clone_from(s);
                }
            }
            WireBlock::ToolUse { id, name, input } => {
                calls.push(ToolCall::new(id.clone(), name.clone(), input.to_string()))
            }
            WireBlock::Other => {}
        }
    }
    let mut message = Message::new(Role::Assistant, "");
    message.content = (saw_text || calls.is_empty()).then_some(Content::Text(text));
    message.tool_calls = calls;
    message.reasoning = (!thinking.is_empty()).then_some(thinking);
    message.reasoning_signature = signature;
    let finish = m.stop_reason.as_deref().map(finish_reason);
    Ok(ChatResponse::new(m.id, m.model, vec![Choice::new(0, message, finish)], m.usage.as_ref().map(usage)))
}

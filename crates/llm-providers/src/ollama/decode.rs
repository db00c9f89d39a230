//! Reading Ollama answers into llm-core types.

use llm_core::{ChatResponse, Choice, Content, Error, FinishReason, Message, Result, Role, ToolCall, Usage};

use super::wire::{WireChat, WireToolCall};

/// Usage from the final object: `prompt_eval_count` (absent = 0) and `eval_count`.
pub fn usage(w: &WireChat) -> Usage {
    Usage::new(w.prompt_eval_count.0.unwrap_or(0), w.eval_count.0.unwrap_or(0))
}

/// Maps `done_reason`; `stop` with tool calls is `tool_calls`.
pub fn finish_reason(s: &str, called_tools: bool) -> FinishReason {
    match s {
        "stop" if called_tools => FinishReason::ToolCalls,
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// A tool call with its id, or `call_<n>` when Ollama sent none.
pub fn tool_call(c: &WireToolCall, n: usize) -> ToolCall {
    let args = c.function.arguments.as_ref().map_or_else(
        || "{}".to_owned(),
        |a| match a {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    );
    ToolCall::new(
        c.id.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| format!("call_{n}")),
        c.function.name.clone(),
        args,
    )
}

/// Reads a non-streamed reply.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse> {
    let w: WireChat = serde_json::from_slice(body)
        .map_err(|e| Error::decode(format!("invalid ollama reply: {e}")).with_body(&String::from_utf8_lossy(body)))?;
    if let Some(err) = &w.error {
        return Err(Error::new(llm_core::ErrorKind::Server, llm_core::openai::error_message(err)));
    }
    let msg = w.message.as_ref();
    let calls: Vec<ToolCall> =
        msg.map(|m| m.tool_calls.iter().enumerate().map(|(i, c)| tool_call(c, i)).collect()).unwrap_or_default();
    let text = msg.and_then(|m| m.content.clone()).unwrap_or_default();
    let mut m = Message::new(Role::Assistant, "");
    m.content = (!text.is_empty() || calls.is_empty()).then_some(Content::Text(text));
    m.reasoning = msg.and_then(|m| m.thinking.clone()).filter(|t| !t.is_empty());
    let finish = w.done_reason.as_deref().map(|r| finish_reason(r, !calls.is_empty()));
    m.tool_calls = calls;
    Ok(ChatResponse::new("", w.model.clone().unwrap_or_default(), vec![Choice::new(0, m, finish)], Some(usage(&w))))
}

//! Reading Gemini answers into llm-core types.

use llm_core::{ChatResponse, Choice, Content, Error, FinishReason, Message, Result, Role, ToolCall, Usage};

use super::wire::{WireModalityCount, WirePart, WireResponse, WireUsage};

/// The separator between a tool call's id and the thought signature it carries (see the module docs).
pub const SIGNATURE_MARK: &str = "#ts=";

fn modality(details: &[WireModalityCount], name: &str) -> Option<u64> {
    details.iter().find(|d| d.modality == name).and_then(|d| d.token_count.0)
}

/// Normalizes Gemini usage (PROVIDERS.md §1.1): thoughts are outside the candidates count and tool-use
/// prompt tokens outside the prompt count.
pub fn usage(u: &WireUsage) -> Usage {
    let prompt = u.prompt_token_count.0.unwrap_or(0).saturating_add(u.tool_use_prompt_token_count.0.unwrap_or(0));
    let thoughts = u.thoughts_token_count.0;
    let completion = u.candidates_token_count.0.unwrap_or(0).saturating_add(thoughts.unwrap_or(0));
    let mut out = Usage::new(prompt, completion);
    out.cache_read_tokens = u.cached_content_token_count.0;
    out.reasoning_tokens = thoughts;
    out.image_input_tokens = modality(&u.prompt_tokens_details, "IMAGE");
    out.audio_input_tokens = modality(&u.prompt_tokens_details, "AUDIO");
    out.image_output_tokens = modality(&u.candidates_tokens_details, "IMAGE");
    out.audio_output_tokens = modality(&u.candidates_tokens_details, "AUDIO");
    out
}

/// Maps `finishReason` (PROVIDERS.md §1.2); `STOP` with function calls is `tool_calls`.
pub fn finish_reason(s: &str, called_tools: bool) -> FinishReason {
    match s {
        "STOP" if called_tools => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "LANGUAGE"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" | "OTHER" => FinishReason::Error,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// A function call as a [`ToolCall`]: the id is the call's own id or `call_<n>`, plus the thought signature
/// after [`SIGNATURE_MARK`] when the part carries one, so it can be echoed in the next turn.
pub fn tool_call(part: &WirePart, n: usize) -> Option<ToolCall> {
    let f = part.function_call.as_ref()?;
    let mut id = f.id.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| format!("call_{n}"));
    if let Some(sig) = &part.thought_signature {
        id.push_str(SIGNATURE_MARK);
        id.push_str(sig);
    }
    let args = f.args.as_ref().map_or_else(|| "{}".to_owned(), ToString::to_string);
    Some(ToolCall::new(id, f.name.clone(), args))
}

/// Reads a `GenerateContentResponse`.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse> {
    let r: WireResponse = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!("invalid gemini response: {e}")).with_body(&String::from_utf8_lossy(body))
    })?;
    let mut choices = Vec::new();
    for (i, c) in r.candidates.iter().enumerate() {
        let mut text = String::new();
        let mut thoughts = String::new();
        let mut calls = Vec::new();
        for p in c.content.iter().flat_map(|c| c.parts.iter()) {
            if let Some(call) = tool_call(p, calls.len()) {
                calls.push(call);
            } else if let Some(t) = &p.text {
                if p.thought == Some(true) {
                    thoughts.push_str(t);
                } else {
                    text.push_str(t);
                }
            }
        }
        let finish = c.finish_reason.as_deref().map(|f| finish_reason(f, !calls.is_empty()));
        let mut m = Message::new(Role::Assistant, "");
        m.content = (!text.is_empty() || calls.is_empty()).then_some(Content::Text(text));
        m.tool_calls = calls;
        m.reasoning = (!thoughts.is_empty()).then_some(thoughts);
        let index = c.index.unwrap_or_else(|| u32::try_from(i).unwrap_or(u32::MAX));
        choices.push(Choice::new(index, m, finish));
    }
    if choices.is_empty()
        && let Some(reason) = r.prompt_feedback.as_ref().and_then(|f| f.block_reason.clone())
    {
        let mut m = Message::new(Role::Assistant, "");
        m.refusal = Some(format!("prompt blocked: {reason}"));
        choices.push(Choice::new(0, m, Some(FinishReason::ContentFilter)));
    }
    Ok(ChatResponse::new(
        r.response_id.unwrap_or_default(),
        r.model_version.unwrap_or_default(),
        choices,
        r.usage_metadata.as_ref().map(usage),
    ))
}

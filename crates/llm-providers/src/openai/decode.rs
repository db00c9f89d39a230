//! Reading an OpenAI-family `chat.completion`: llm-core's decoder, then the usage rules of PROVIDERS.md §1.1
//! that need the raw counts (the total-based reasoning rule, xAI's cost ticks).

use llm_core::{ChatResponse, Decimal, Result, Usage, Usd};
use serde::Deserialize;
use serde_json::Value;

use super::wire::{RawUsage, UsageEnvelope};
use crate::registry::Quirks;

/// Rewrites content arrays with `thinking` chunks (Mistral's Magistral models) into a text `content` and a
/// `reasoning_content`, in every `choices[].message` and `choices[].delta`. Returns `None` when nothing
/// needed rewriting.
pub fn normalize_thinking_chunks(body: &[u8]) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let mut changed = false;
    for choice in v.get_mut("choices")?.as_array_mut()? {
        for key in ["message", "delta"] {
            let Some(m) = choice.get_mut(key).and_then(Value::as_object_mut) else { continue };
            let Some(Value::Array(parts)) = m.get("content") else { continue };
            let mut text = String::new();
            let mut thinking = String::new();
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") => text.push_str(p.get("text").and_then(Value::as_str).unwrap_or_default()),
                    Some("thinking") => match p.get("thinking") {
                        Some(Value::String(t)) => thinking.push_str(t),
                        Some(Value::Array(inner)) => {
                            for i in inner {
                                thinking.push_str(i.get("text").and_then(Value::as_str).unwrap_or_default());
                            }
                        }
                        _ => {}
                    },
                    _ => {}
                }
            }
            m.insert("content".into(), Value::String(text));
            if !thinking.is_empty() {
                m.insert("reasoning_content".into(), Value::String(thinking));
            }
            changed = true;
        }
    }
    if changed { serde_json::to_vec(&v).ok() } else { None }
}

/// Reads a response body.
pub fn decode_response(body: &[u8], q: &Quirks) -> Result<ChatResponse> {
    let mut r = match llm_core::openai::response_from_json(body) {
        Ok(r) => r,
        Err(e) => match normalize_thinking_chunks(body) {
            Some(fixed) => llm_core::openai::response_from_json(&fixed).map_err(|_| e)?,
            None => return Err(e),
        },
    };
    let needs_raw = reports_cost(q) || r.usage.is_some_and(|u| u.reasoning_tokens.unwrap_or(0) > 0);
    if needs_raw && let Ok(env) = serde_json::from_slice::<UsageEnvelope>(body) {
        if let (Some(u), Some(raw)) = (r.usage.as_mut(), env.usage.as_ref()) {
            apply_reasoning_rule(u, raw);
        }
        if let Some(cost) = env.usage.as_ref().and_then(|raw| quirk_cost(raw, q)) {
            r.provider_cost = Some(cost);
        }
    }
    Ok(r)
}

/// Whether this family member reports its cost in a field of its own (xAI's ticks, DeepInfra's estimate).
pub(crate) fn reports_cost(q: &Quirks) -> bool {
    q.cost_in_usd_ticks || q.estimated_cost
}

/// The cost this family member reports in a field of its own, in USD.
pub(crate) fn quirk_cost(raw: &RawUsage, q: &Quirks) -> Option<Usd> {
    if q.cost_in_usd_ticks {
        return ticks_cost(raw);
    }
    if q.estimated_cost {
        let v = raw.estimated_cost.as_ref()?;
        return Usd::deserialize(v).ok().filter(|c| !c.amount().is_sign_negative());
    }
    None
}

/// The robustness rule of PROVIDERS.md §1.1: when `total_tokens == prompt + completion + reasoning` and
/// reasoning is positive, the provider counted reasoning outside `completion_tokens` (xAI); move it inside.
pub fn apply_reasoning_rule(u: &mut Usage, raw: &RawUsage) {
    let reasoning = raw.completion_tokens_details.as_ref().and_then(|d| d.reasoning_tokens.0).unwrap_or(0);
    let (Some(p), Some(c), Some(t)) = (raw.prompt_tokens.0, raw.completion_tokens.0, raw.total_tokens.0) else {
        return;
    };
    if reasoning > 0 && t == p.saturating_add(c).saturating_add(reasoning) {
        u.completion_tokens = c.saturating_add(reasoning);
        u.total_tokens = p.saturating_add(u.completion_tokens);
    }
}

/// xAI's `cost_in_usd_ticks` as USD (1 USD = 10¹⁰ ticks).
pub fn ticks_cost(raw: &RawUsage) -> Option<Usd> {
    let ticks = match raw.cost_in_usd_ticks.as_ref()? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    Some(Usd::new(Decimal::new(ticks, 10).normalize()))
}

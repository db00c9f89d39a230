//! The response cache's key and the per-request controls.

use llm_core::ChatRequest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What a request asks of the cache, in LiteLLM's per-request `cache` dict, read from
/// `metadata["cache"]`: `{"no-cache": true}` (do not read), `{"no-store": true}` (do not write),
/// `{"namespace": "..."}` (a key space of its own).
#[derive(Debug, Default)]
pub(crate) struct CacheControl {
    pub(crate) no_cache: bool,
    pub(crate) no_store: bool,
    pub(crate) namespace: Option<String>,
}

impl CacheControl {
    pub(crate) fn of(request: &ChatRequest) -> Self {
        let Some(Value::Object(c)) = request.metadata.get("cache") else { return Self::default() };
        let flag = |k: &str| matches!(c.get(k), Some(Value::Bool(true)));
        Self {
            no_cache: flag("no-cache"),
            no_store: flag("no-store"),
            namespace: c.get("namespace").and_then(Value::as_str).map(str::to_owned),
        }
    }

    /// Neither read nor written.
    pub(crate) fn off(&self) -> bool {
        self.no_cache && self.no_store
    }
}

/// The exact-match key of a request: the model group, the messages and every parameter that changes the
/// output (sampling, limits, stop, seed, n, tools, response format, reasoning effort, service tier and the
/// provider-specific `extra` fields), hashed with SHA-256. Tags, metadata and `user` do not change the
/// answer and are left out.
pub(crate) fn cache_key(
    group: &str,
    r: &ChatRequest,
    namespace: Option<&str>,
    request_namespace: Option<&str>,
) -> String {
    let normalized = json!({
        "model": group,
        "messages": r.messages,
        "temperature": r.temperature,
        "top_p": r.top_p,
        "max_tokens": r.max_tokens,
        "stop": r.stop,
        "seed": r.seed,
        "n": r.n,
        "presence_penalty": r.presence_penalty,
        "frequency_penalty": r.frequency_penalty,
        "tools": r.tools,
        "tool_choice": r.tool_choice,
        "parallel_tool_calls": r.parallel_tool_calls,
        "response_format": r.response_format,
        "reasoning_effort": r.reasoning_effort,
        "service_tier": r.service_tier,
        "extra": r.extra,
    });
    let digest = Sha256::digest(normalized.to_string().as_bytes());
    let mut key = String::with_capacity(80);
    for part in [namespace, request_namespace].into_iter().flatten() {
        key.push_str(part);
        key.push(':');
    }
    for b in digest {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_core::Message;

    #[test]
    fn keys_change_with_the_output_changing_parameters_only() {
        let base = ChatRequest::new("g", vec![Message::user("hi")]);
        let k = cache_key("g", &base, None, None);
        assert_eq!(k.len(), 64);
        assert_eq!(k, cache_key("g", &base.clone().with_tag("t").with_user("u"), None, None));
        assert_ne!(k, cache_key("g", &base.clone().with_temperature(0.5), None, None));
        assert_ne!(k, cache_key("other", &base, None, None));
        assert_eq!(cache_key("g", &base, Some("ns"), Some("team")), format!("ns:team:{k}"));
    }
}

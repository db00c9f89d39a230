//! The OpenAI-style parameters each provider and model accepts (LiteLLM's `get_supported_openai_params`,
//! LITELLM.md §3c), and the per-request check: drop what is unsupported (recording the names) or fail.

use std::borrow::Cow;

use llm_core::{ChatRequest, Error, ErrorKind, Result};

use crate::config::ParamPolicy;

const OPENAI_CHAT: &[&str] = &[
    "audio",
    "extra_headers",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_completion_tokens",
    "max_retries",
    "max_tokens",
    "modalities",
    "n",
    "parallel_tool_calls",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "prompt_cache_retention",
    "response_format",
    "safety_identifier",
    "seed",
    "service_tier",
    "stop",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "user",
    "web_search_options",
];

/// What LiteLLM lists for `litellm_proxy` on top of OpenAI's chat list (its `get_supported_openai_params`
/// mixes in client settings); the proxy routes to any model, so the list does not depend on the model.
const LITELLM_PROXY_ADDED: &[&str] = &[
    "api_base",
    "api_key",
    "api_version",
    "base_url",
    "default_headers",
    "deployment_id",
    "include_server_side_tool_invocations",
    "organization",
    "reasoning_effort",
    "request_timeout",
    "thinking",
    "timeout",
    "verbosity",
];

/// `base − remove + add`.
fn delta(base: &[&'static str], remove: &[&str], add: &[&'static str]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = base.iter().copied().filter(|p| !remove.contains(p)).collect();
    v.extend_from_slice(add);
    v
}

fn sorted(mut v: Vec<&'static str>) -> Vec<&'static str> {
    v.sort_unstable();
    v.dedup();
    v
}

fn bare(model: &str) -> &str {
    model.rsplit('/').next().unwrap_or(model)
}

const O_SERIES_REMOVED: &[&str] =
    &["frequency_penalty", "logprobs", "parallel_tool_calls", "presence_penalty", "top_logprobs", "top_p"];
const GPT5_REMOVED: &[&str] = &[
    "audio",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "modalities",
    "prediction",
    "presence_penalty",
    "stop",
    "top_logprobs",
    "top_p",
    "web_search_options",
];
const ANTHROPIC_REMOVED: &[&str] = &[
    "audio",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_retries",
    "modalities",
    "n",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "seed",
    "store",
    "stream_options",
    "top_logprobs",
];
const GEMINI_REMOVED: &[&str] = &[
    "audio",
    "extra_headers",
    "function_call",
    "logit_bias",
    "max_retries",
    "prediction",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "store",
    "stream_options",
    "top_logprobs",
    "user",
];
const OLLAMA_CHAT_REMOVED: &[&str] = &[
    "audio",
    "extra_headers",
    "function_call",
    "logit_bias",
    "logprobs",
    "max_retries",
    "modalities",
    "n",
    "parallel_tool_calls",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "store",
    "stream_options",
    "top_logprobs",
    "user",
    "web_search_options",
];
const BEDROCK_REMOVED: &[&str] = &[
    "audio",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_retries",
    "modalities",
    "n",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "seed",
    "store",
    "top_logprobs",
    "user",
];
const XAI_REMOVED: &[&str] = &[
    "audio",
    "extra_headers",
    "function_call",
    "functions",
    "max_retries",
    "modalities",
    "prediction",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "store",
];
const MISTRAL_REMOVED: &[&str] = &[
    "audio",
    "extra_headers",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_retries",
    "modalities",
    "n",
    "prediction",
    "presence_penalty",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "store",
    "stream_options",
    "top_logprobs",
    "user",
    "web_search_options",
];
const PERPLEXITY_REMOVED: &[&str] = &[
    "audio",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "modalities",
    "n",
    "parallel_tool_calls",
    "prediction",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "seed",
    "service_tier",
    "stop",
    "store",
    "stream_options",
    "tool_choice",
    "tools",
    "top_logprobs",
    "user",
];
const FIREWORKS_ADDED: &[&str] = &[
    "context_length_exceeded_behavior",
    "echo",
    "echo_last",
    "ignore_eos",
    "min_p",
    "mirostat_lr",
    "mirostat_target",
    "perf_metrics_in_response",
    "prompt_cache_isolation_key",
    "prompt_truncate_len",
    "raw_output",
    "repetition_penalty",
    "return_token_ids",
    "safe_tokenization",
    "sampling_mask",
    "speculation",
    "top_k",
    "typical_p",
];
const CEREBRAS_REMOVED: &[&str] = &[
    "audio",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "modalities",
    "n",
    "parallel_tool_calls",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "store",
    "stream_options",
    "top_logprobs",
    "web_search_options",
];
const NVIDIA_REMOVED: &[&str] = &[
    "audio",
    "extra_headers",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_retries",
    "modalities",
    "n",
    "prediction",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "store",
    "stream_options",
    "top_logprobs",
    "user",
    "web_search_options",
];

fn openai_like(model: &str, azure: bool) -> Vec<&'static str> {
    let m = bare(model);
    let azure_removed: &[&str] =
        if azure { &["max_retries", "prompt_cache_retention", "safety_identifier", "service_tier"] } else { &[] };
    if m.starts_with("gpt-5") && !m.contains("-chat") {
        delta(OPENAI_CHAT, GPT5_REMOVED, &["reasoning_effort", "verbosity"])
    } else if m.starts_with("o1-mini") || (m.starts_with("gpt-4o") && m.contains("audio")) {
        delta(OPENAI_CHAT, &["user"], &["reasoning_effort"])
    } else if m.starts_with("o1") || m.starts_with("o3") || m.starts_with("o4") {
        // Azure keeps parallel_tool_calls on the o-series.
        let mut v = delta(OPENAI_CHAT, O_SERIES_REMOVED, &["reasoning_effort"]);
        if azure && !v.contains(&"parallel_tool_calls") {
            v.push("parallel_tool_calls");
        }
        v
    } else {
        delta(OPENAI_CHAT, azure_removed, &[])
    }
}

fn claude_thinks(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    !(m.contains("claude-3-5")
        || m.contains("claude-3-haiku")
        || m.contains("claude-3-opus")
        || m.contains("claude-3-sonnet")
        || m.contains("claude-instant")
        || m.contains("claude-2"))
}

/// The OpenAI-style parameters `provider` accepts for `model` (LiteLLM 1.110.2's
/// `get_supported_openai_params`, sorted, checked against LiteLLM's answers in `tests/litellm_diff.rs`), or
/// `None` for a provider this crate does not know.
///
/// ```
/// let p = llm_providers::supported_params("anthropic", "claude-sonnet-4-5").unwrap();
/// assert!(p.contains(&"thinking") && !p.contains(&"seed"));
/// assert_eq!(llm_providers::supported_params("nope", "x"), None);
/// ```
pub fn supported_params(provider: &str, model: &str) -> Option<Vec<&'static str>> {
    supported_list(provider, model).map(sorted)
}

/// [`supported_params`] before sorting (the per-request check only tests membership).
fn supported_list(provider: &str, model: &str) -> Option<Vec<&'static str>> {
    let spec = crate::registry::provider_spec(provider)?;
    let m = bare(model);
    let list: Vec<&'static str> = match spec.name {
        "openai" => openai_like(model, false),
        "azure" => openai_like(model, true),
        "anthropic" => {
            let add: &[&'static str] = if claude_thinks(model) {
                &["cache_control", "context_management", "reasoning_effort", "speed", "thinking"]
            } else {
                &["cache_control", "context_management", "speed"]
            };
            delta(OPENAI_CHAT, ANTHROPIC_REMOVED, add)
        }
        "gemini" => {
            let thinks = !(m.starts_with("gemini-1") || m.starts_with("gemini-2.0"));
            let add: &[&'static str] = if thinks {
                &["include_server_side_tool_invocations", "reasoning_effort", "thinking"]
            } else {
                &["include_server_side_tool_invocations"]
            };
            delta(OPENAI_CHAT, GEMINI_REMOVED, add)
        }
        // Vertex AI: Claude takes Anthropic's list without `service_tier`, Gemini Gemini's list plus `audio`,
        // `extra_headers`, `top_k`, `top_logprobs` (LiteLLM's VertexGeminiConfig), Mistral Mistral's without
        // `prompt_cache_key`, Llama LiteLLM's OpenAI-like list; this crate calls neither of the last two.
        "vertex_ai" => {
            let lower = m.to_ascii_lowercase();
            if lower.starts_with("claude") {
                let mut v = supported_list("anthropic", model)?;
                v.retain(|p| *p != "service_tier");
                v
            } else if lower.starts_with("mistral") || lower.starts_with("codestral") {
                let mut v = supported_list("mistral", model)?;
                v.retain(|p| *p != "prompt_cache_key");
                v
            } else if lower.starts_with("meta/") || lower.contains("llama") {
                delta(OPENAI_CHAT, &["max_retries", "user"], &[])
            } else {
                let mut v = supported_list("gemini", model)?;
                v.extend(["audio", "extra_headers", "top_k", "top_logprobs"]);
                v
            }
        }
        // LiteLLM's `ollama` (/api/generate) list has no tools; this crate speaks /api/chat, so both names get
        // the `ollama_chat` list.
        "ollama" | "ollama_chat" => delta(OPENAI_CHAT, OLLAMA_CHAT_REMOVED, &["reasoning_effort"]),
        "bedrock" => {
            let lower = model.to_ascii_lowercase();
            if lower.contains("anthropic.claude") {
                let add: &[&'static str] = if claude_thinks(model) {
                    &["context_management", "output_config", "reasoning_effort", "requestMetadata", "thinking"]
                } else {
                    &["context_management", "requestMetadata"]
                };
                delta(OPENAI_CHAT, &[BEDROCK_REMOVED, &["web_search_options"]].concat(), add)
            } else if lower.contains("amazon.nova") {
                delta(OPENAI_CHAT, BEDROCK_REMOVED, &["requestMetadata"])
            } else if lower.contains("mistral.mistral-large") {
                delta(
                    OPENAI_CHAT,
                    &[BEDROCK_REMOVED, &["tool_choice", "web_search_options"]].concat(),
                    &["requestMetadata"],
                )
            } else if lower.contains("amazon.titan") {
                vec!["max_completion_tokens", "max_tokens", "stop", "stream", "temperature", "top_p"]
            } else if lower.contains("cohere.command") {
                vec![
                    "extra_headers",
                    "frequency_penalty",
                    "max_completion_tokens",
                    "max_tokens",
                    "n",
                    "presence_penalty",
                    "seed",
                    "stop",
                    "stream",
                    "temperature",
                    "tool_choice",
                    "tools",
                    "top_p",
                ]
            } else {
                // LiteLLM's converse list: Llama 3.1 and later take tools (not tool_choice); older ones neither.
                let regions = ["us", "eu", "apac", "au", "ca", "jp", "global", "us-gov"];
                let base =
                    lower.split_once('.').filter(|(p, _)| regions.contains(p)).map_or(lower.as_str(), |(_, m)| m);
                let tools = ["meta.llama3-1", "meta.llama3-2", "meta.llama3-3", "meta.llama4"]
                    .iter()
                    .any(|p| base.starts_with(p));
                let removed: &[&str] = if tools {
                    &["tool_choice", "web_search_options"]
                } else {
                    &["tool_choice", "tools", "web_search_options"]
                };
                delta(OPENAI_CHAT, &[BEDROCK_REMOVED, removed].concat(), &["requestMetadata"])
            }
        }
        "groq" => delta(OPENAI_CHAT, &["max_retries", "user", "web_search_options"], &[]),
        "deepseek" => delta(OPENAI_CHAT, &["user"], &["reasoning_effort", "thinking"]),
        "xai" => {
            if m.starts_with("grok-4") {
                delta(OPENAI_CHAT, &[XAI_REMOVED, &["frequency_penalty", "stop"]].concat(), &[])
            } else if m.starts_with("grok-3-mini") {
                delta(OPENAI_CHAT, &[XAI_REMOVED, &["stop"]].concat(), &[])
            } else {
                delta(OPENAI_CHAT, XAI_REMOVED, &[])
            }
        }
        "mistral" => {
            let add: &[&'static str] = if m.starts_with("magistral") {
                &["reasoning_effort", "thinking"]
            } else if m.starts_with("mistral-small") {
                &["reasoning_effort"]
            } else {
                &[]
            };
            delta(OPENAI_CHAT, MISTRAL_REMOVED, add)
        }
        "perplexity" => {
            let add: &[&'static str] = if m.contains("reasoning") { &["reasoning_effort"] } else { &[] };
            delta(OPENAI_CHAT, PERPLEXITY_REMOVED, add)
        }
        "fireworks_ai" => {
            let removed: &[&str] = &[
                "audio",
                "extra_headers",
                "function_call",
                "functions",
                "max_retries",
                "modalities",
                "prompt_cache_retention",
                "safety_identifier",
                "store",
                "tool_choice",
                "web_search_options",
            ];
            let mut v = delta(OPENAI_CHAT, removed, FIREWORKS_ADDED);
            if !m.contains("deepseek") && !m.contains("qwen") && !m.contains("kimi") && !m.contains("glm") {
                v.retain(|p| !matches!(*p, "parallel_tool_calls" | "tools"));
            }
            v
        }
        "openrouter" => delta(OPENAI_CHAT, &["user"], &["reasoning_effort", "thinking"]),
        "deepinfra" => delta(
            OPENAI_CHAT,
            &[
                "audio",
                "extra_headers",
                "logprobs",
                "max_retries",
                "modalities",
                "parallel_tool_calls",
                "prediction",
                "prompt_cache_key",
                "prompt_cache_retention",
                "safety_identifier",
                "seed",
                "service_tier",
                "store",
                "stream_options",
                "top_logprobs",
                "user",
                "web_search_options",
            ],
            &[],
        ),
        "cerebras" => {
            let add: &[&'static str] = if m.starts_with("gpt-oss") { &["reasoning_effort"] } else { &[] };
            delta(OPENAI_CHAT, CEREBRAS_REMOVED, add)
        }
        "sambanova" => vec![
            "max_completion_tokens",
            "max_tokens",
            "response_format",
            "stop",
            "stream",
            "stream_options",
            "temperature",
            "top_k",
            "top_p",
        ],
        "hyperbolic" => vec![
            "frequency_penalty",
            "max_tokens",
            "messages",
            "model",
            "n",
            "presence_penalty",
            "response_format",
            "seed",
            "stop",
            "stream",
            "temperature",
            "tool_choice",
            "tools",
            "top_p",
            "user",
        ],
        "nvidia_nim" => delta(OPENAI_CHAT, NVIDIA_REMOVED, &[]),
        "moonshot" => delta(OPENAI_CHAT, &["functions", "user"], &[]),
        "dashscope" => delta(OPENAI_CHAT, &["user"], &["reasoning_effort"]),
        "hosted_vllm" => delta(OPENAI_CHAT, &["user"], &["reasoning_effort", "thinking"]),
        "ollama_openai" => delta(OPENAI_CHAT, &["tool_choice", "logit_bias", "user", "n"], &["reasoning_effort"]),
        "litellm_proxy" => delta(OPENAI_CHAT, &[], LITELLM_PROXY_ADDED),
        // together_ai, nebius, novita, lm_studio, llamafile, llamacpp: LiteLLM's generic OpenAI-like list.
        _ => delta(OPENAI_CHAT, &["user"], &[]),
    };
    Some(list)
}

/// A request after the parameter policy, with the names of the parameters that were dropped.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Prepared<'a> {
    /// The request to send.
    pub request: Cow<'a, ChatRequest>,
    /// The parameters removed from it (empty unless the policy is [`ParamPolicy::Drop`]).
    pub dropped: Vec<&'static str>,
}

/// OpenAI-style parameter names that a request can also carry in its `extra` map (as `llm chat --param` puts
/// them): checked against the provider's list like the typed fields. Other `extra` keys are provider-specific
/// passthrough fields and are sent as they are.
const EXTRA_PARAMS: &[&str] = &["reasoning_effort", "thinking", "verbosity"];

/// The OpenAI-style parameter name of an `extra` key, as a static string, when it is one.
fn known_param(key: &str) -> Option<&'static str> {
    OPENAI_CHAT.iter().chain(EXTRA_PARAMS).find(|p| **p == key).copied()
}

/// The parameters `request` sets that `provider` does not accept for `model`: typed fields first, then
/// OpenAI-style names in `extra`.
pub fn unsupported_params(provider: &str, model: &str, request: &ChatRequest) -> Vec<&'static str> {
    let mut set = request.set_params();
    if !request.extra.is_empty() {
        for p in request.extra.keys().filter_map(|k| known_param(k)) {
            if !set.contains(&p) {
                set.push(p);
            }
        }
    }
    if set.is_empty() {
        return Vec::new();
    }
    // The supported list depends only on (provider, model): keep the last one per thread, since a client
    // usually calls the same model again and again.
    type Last = Option<(String, String, Option<Vec<&'static str>>)>;
    thread_local! {
        static LAST: std::cell::RefCell<Last> = const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| {
        let hit = last.as_ref().is_some_and(|(p, m, _)| p == provider && m == model);
        if !hit {
            *last = Some((provider.to_owned(), model.to_owned(), supported_list(provider, model)));
        }
        let Some((_, _, Some(supported))) = last.as_ref() else {
            return Vec::new();
        };
        set.into_iter()
            .filter(|p| {
                let ok = supported.contains(p) || (*p == "max_tokens" && supported.contains(&"max_completion_tokens"));
                !ok
            })
            .collect()
    })
}

/// Applies the parameter policy to a request before it is encoded for `provider` and `model`.
///
/// ```
/// use llm_core::{ChatRequest, Message};
/// use llm_providers::{ParamPolicy, prepare};
/// let req = ChatRequest::new("claude-sonnet-4-5", vec![Message::user("hi")]).with_seed(7).with_temperature(0.1);
/// let p = prepare("anthropic", "claude-sonnet-4-5", &req, ParamPolicy::Drop).unwrap();
/// assert_eq!(p.dropped, vec!["seed"]);
/// assert_eq!(p.request.seed, None);
/// let err = prepare("anthropic", "claude-sonnet-4-5", &req, ParamPolicy::Fail).unwrap_err();
/// assert!(err.message().contains("seed"));
/// ```
pub fn prepare<'a>(provider: &str, model: &str, request: &'a ChatRequest, policy: ParamPolicy) -> Result<Prepared<'a>> {
    if policy == ParamPolicy::Pass {
        return Ok(Prepared { request: Cow::Borrowed(request), dropped: Vec::new() });
    }
    let bad = unsupported_params(provider, model, request);
    if bad.is_empty() {
        return Ok(Prepared { request: Cow::Borrowed(request), dropped: bad });
    }
    if policy == ParamPolicy::Fail {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            format!(
                "{provider} does not support {} for {model}: leave them out, or have them dropped \
                 (ParamPolicy::Drop, llm chat --drop-params)",
                bad.join(", ")
            ),
        )
        .with_provider(provider)
        .with_model(model));
    }
    let mut r = request.clone();
    for p in &bad {
        clear(&mut r, p);
    }
    tracing::debug!(provider, model, dropped = ?bad, "dropped unsupported parameters");
    Ok(Prepared { request: Cow::Owned(r), dropped: bad })
}

fn clear(r: &mut ChatRequest, name: &str) {
    match name {
        "temperature" => r.temperature = None,
        "top_p" => r.top_p = None,
        "max_tokens" => r.max_tokens = None,
        "stop" => r.stop.clear(),
        "seed" => r.seed = None,
        "n" => r.n = None,
        "presence_penalty" => r.presence_penalty = None,
        "frequency_penalty" => r.frequency_penalty = None,
        "tools" => r.tools.clear(),
        "tool_choice" => r.tool_choice = None,
        "parallel_tool_calls" => r.parallel_tool_calls = None,
        "response_format" => r.response_format = None,
        "reasoning_effort" => r.reasoning_effort = None,
        "service_tier" => r.service_tier = None,
        "user" => r.user = None,
        _ => {}
    }
    r.extra.shift_remove(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_match_litellm_sizes() {
        assert_eq!(supported_params("openai", "gpt-4o").map(|v| v.len()), Some(32));
        assert_eq!(supported_params("anthropic", "claude-sonnet-4-5").map(|v| v.len()), Some(19));
        assert_eq!(supported_params("gemini", "gemini-2.5-flash").map(|v| v.len()), Some(22));
        assert_eq!(supported_params("groq", "llama-3.1-8b-instant").map(|v| v.len()), Some(29));
        assert_eq!(supported_params("mistral", "mistral-large-latest").map(|v| v.len()), Some(12));
        assert_eq!(supported_params("bedrock", "anthropic.claude-3-5-sonnet").map(|v| v.len()), Some(15));
        assert_eq!(supported_params("deepseek", "deepseek-chat").map(|v| v.len()), Some(33));
        assert_eq!(supported_params("litellm_proxy", "gpt-4o").map(|v| v.len()), Some(45));
        assert_eq!(supported_params("litellm_proxy", "o3"), supported_params("litellm_proxy", "gpt-4o"));
        let o3 = supported_params("openai", "o3").unwrap_or_default();
        assert!(o3.contains(&"reasoning_effort") && !o3.contains(&"top_p"));
        let gpt5 = supported_params("openai", "gpt-5").unwrap_or_default();
        assert!(gpt5.contains(&"verbosity") && !gpt5.contains(&"stop"));
        let llama = supported_params("bedrock", "meta.llama3-70b").unwrap_or_default();
        assert!(!llama.contains(&"tools"));
        for m in ["meta.llama3-1-70b-instruct-v1:0", "us.meta.llama3-3-70b-instruct-v1:0", "meta.llama4-scout"] {
            let l = supported_params("bedrock", m).unwrap_or_default();
            assert!(l.contains(&"tools") && !l.contains(&"tool_choice"), "{m}: {l:?}");
        }
    }
}

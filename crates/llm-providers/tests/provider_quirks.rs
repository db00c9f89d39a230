//! Each OpenAI-compatible provider's own quirks, as its documentation shows them, over real HTTP against the
//! fake upstream: its default base and path, its key (or none, for local servers), its usage fields (cache,
//! reasoning, Perplexity's search fields, Moonshot's top-level `cached_tokens`), the cost it reports
//! (Perplexity's `usage.cost`, DeepInfra's `estimated_cost`), the extra top-level fields it sends (Perplexity's
//! citations and search results; Cerebras' `time_info`, llama.cpp's `timings`, which must not break decoding),
//! chat and stream, and an error in its own shape mapped to a kind.
//!
//! The native adapters' wire quirks are the subject of `tests/fixtures.rs` (every PROVIDERS.md fixture by
//! value); every row of the registry runs the generic suite of `tests/conformance.rs`. The first test here
//! fails when a registry row is in neither this table nor the list of native rows.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::{ApiKey, ChatRequest, ChatResponse, ErrorKind, Message, Provider, SearchContextSize, collect_stream};
use llm_fake_upstream::{FakeUpstream, Reply, wire};
use llm_providers::{ProviderClient, RetryPolicy};
use serde_json::json;

/// The rows whose wire format has an adapter of its own (or a family member with PROVIDERS.md fixtures),
/// tested by value in `tests/fixtures.rs` (Vertex AI, Gemini's and Anthropic's bodies, in `tests/vertex.rs`).
const NATIVE: &[&str] = &[
    "openai",
    "azure",
    "anthropic",
    "gemini",
    "ollama",
    "ollama_chat",
    "bedrock",
    "groq",
    "deepseek",
    "xai",
    "mistral",
    "openrouter",
    "ollama_openai",
    "vertex_ai",
];

/// What one provider's documented answer must give.
struct Case {
    provider: &'static str,
    model: &'static str,
    /// The registry's default base (checked against the provider's documentation).
    base: &'static str,
    /// The path the call goes to under the fake upstream.
    path: &'static str,
    /// Local servers: no key is sent when none is configured.
    keyless: bool,
    /// The non-streamed answer and the streamed one (fixture files, or a generic OpenAI answer).
    chat: Reply,
    stream: Reply,
    /// prompt, completion, cache reads, reasoning, as normalized.
    usage: (u64, u64, Option<u64>, Option<u64>),
    /// The cost the provider reported, in USD, for chat and for the stream.
    cost: (Option<&'static str>, Option<&'static str>),
    /// Top-level fields kept on the response.
    fields: &'static [&'static str],
    /// An error in the provider's own shape, and the kind it maps to.
    error: (u16, Reply, ErrorKind),
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/test_data/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json_fixture(path: &str) -> Reply {
    Reply::json(200, fixture(path))
}

fn sse_fixture(path: &str) -> Reply {
    Reply::sse_transcript(&fixture(path))
}

fn error_fixture(status: u16, path: &str) -> Reply {
    Reply::json(status, fixture(path))
}

/// A provider with nothing of its own beyond OpenAI's shape: the generic answers, and an OpenAI-style error.
fn plain(provider: &'static str, model: &'static str, base: &'static str, path: &'static str, keyless: bool) -> Case {
    Case {
        provider,
        model,
        base,
        path,
        keyless,
        chat: wire::openai::chat("Lisbon is 21 °C and sunny.", 37, 9),
        stream: wire::openai::stream(&["Lisbon is", " 21 °C and sunny."], 37, 9),
        usage: (37, 9, None, None),
        cost: (None, None),
        fields: &[],
        error: (
            429,
            wire::openai::error(429, "rate_limit_exceeded", Some("rate_limit_exceeded"), "Rate limit reached"),
            ErrorKind::RateLimited,
        ),
    }
}

fn cases() -> Vec<Case> {
    let generic_error = |status, path| (status, error_fixture(status, path), ErrorKind::Auth);
    vec![
        Case {
            provider: "perplexity",
            model: "sonar",
            base: "https://api.perplexity.ai",
            path: "/chat/completions",
            keyless: false,
            chat: json_fixture("perplexity/chat_response_citations_cost.json"),
            stream: sse_fixture("perplexity/chat_stream_citations_cost.sse"),
            usage: (9, 13, None, None),
            cost: (Some("0.005"), Some("0.008022")),
            fields: &["citations", "search_results"],
            error: (400, error_fixture(400, "perplexity/error_400_invalid_model.json"), ErrorKind::InvalidRequest),
        },
        Case {
            provider: "moonshot",
            model: "kimi-k2.6",
            base: "https://api.moonshot.ai/v1",
            path: "/v1/chat/completions",
            keyless: false,
            chat: json_fixture("moonshot/chat_response_cached.json"),
            stream: sse_fixture("moonshot/chat_stream_usage_in_choice.sse"),
            usage: (1200, 9, Some(1024), None),
            cost: (None, None),
            fields: &[],
            error: generic_error(401, "moonshot/error_401_invalid_authentication.json"),
        },
        Case {
            provider: "deepinfra",
            model: "meta-llama/Llama-3.3-70B-Instruct",
            base: "https://api.deepinfra.com/v1/openai",
            path: "/v1/openai/chat/completions",
            keyless: false,
            chat: json_fixture("deepinfra/chat_response_estimated_cost.json"),
            stream: sse_fixture("deepinfra/chat_stream_estimated_cost.sse"),
            usage: (37, 9, None, None),
            cost: (Some("0.00000444"), Some("0.00000444")),
            fields: &[],
            error: (
                401,
                Reply::json_value(401, &json!({"detail": {"error": "authentication required"}})),
                ErrorKind::Auth,
            ),
        },
        Case {
            provider: "fireworks_ai",
            model: "accounts/fireworks/models/deepseek-v3p1",
            base: "https://api.fireworks.ai/inference/v1",
            path: "/inference/v1/chat/completions",
            keyless: false,
            chat: json_fixture("fireworks_ai/chat_response_cached.json"),
            stream: sse_fixture("fireworks_ai/chat_stream_usage_on_finish.sse"),
            usage: (2048, 9, Some(1536), None),
            cost: (None, None),
            fields: &[],
            error: (
                404,
                Reply::json_value(
                    404,
                    &json!({"error": {"object": "error", "type": "invalid_request_error", "code": "NOT_FOUND", "message": "Model not found, inaccessible, and/or not deployed"}}),
                ),
                ErrorKind::NotFound,
            ),
        },
        Case {
            provider: "cerebras",
            model: "llama3.1-8b",
            base: "https://api.cerebras.ai/v1",
            path: "/v1/chat/completions",
            keyless: false,
            chat: json_fixture("cerebras/chat_response_time_info.json"),
            stream: sse_fixture("cerebras/chat_stream_time_info.sse"),
            usage: (37, 9, Some(0), None),
            cost: (None, None),
            fields: &[],
            error: (400, error_fixture(400, "cerebras/error_400_wrong_api_format.json"), ErrorKind::InvalidRequest),
        },
        Case {
            provider: "sambanova",
            model: "Meta-Llama-3.3-70B-Instruct",
            base: "https://api.sambanova.ai/v1",
            path: "/v1/chat/completions",
            keyless: false,
            chat: json_fixture("sambanova/chat_response_timing_usage.json"),
            stream: sse_fixture("sambanova/chat_stream_timing_usage.sse"),
            usage: (37, 9, None, None),
            cost: (None, None),
            fields: &[],
            error: (
                429,
                Reply::json_value(
                    429,
                    &json!({"error": {"message": "Rate limit exceeded", "type": "rate_limit_exceeded", "code": "429"}}),
                ),
                ErrorKind::RateLimited,
            ),
        },
        Case {
            provider: "dashscope",
            model: "qwen-plus",
            base: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
            path: "/compatible-mode/v1/chat/completions",
            keyless: false,
            chat: json_fixture("dashscope/chat_response_cached_reasoning.json"),
            stream: sse_fixture("dashscope/chat_stream_cached_reasoning.sse"),
            usage: (1300, 40, Some(1024), Some(31)),
            cost: (None, None),
            fields: &[],
            error: generic_error(401, "dashscope/error_401_invalid_api_key.json"),
        },
        Case {
            provider: "llamacpp",
            model: "my-model",
            base: "http://127.0.0.1:8080/v1",
            path: "/v1/chat/completions",
            keyless: true,
            chat: json_fixture("llamacpp/chat_response_timings.json"),
            stream: sse_fixture("llamacpp/chat_stream_timings.sse"),
            usage: (37, 9, Some(12), None),
            cost: (None, None),
            fields: &[],
            error: (400, error_fixture(400, "llamacpp/error_400_context_size.json"), ErrorKind::ContextLength),
        },
        Case {
            chat: json_fixture("lm_studio/chat_response_stats.json"),
            ..plain("lm_studio", "qwen3-8b", "http://localhost:1234/v1", "/v1/chat/completions", true)
        },
        plain("llamafile", "my-model", "http://127.0.0.1:8080/v1", "/v1/chat/completions", true),
        plain("hosted_vllm", "my-model", "http://localhost:8000/v1", "/v1/chat/completions", true),
        plain("litellm_proxy", "gpt-4o", "", "/chat/completions", true),
        plain(
            "nebius",
            "meta-llama/Meta-Llama-3.1-70B-Instruct",
            "https://api.studio.nebius.ai/v1",
            "/v1/chat/completions",
            false,
        ),
        plain(
            "novita",
            "meta-llama/llama-3.3-70b-instruct",
            "https://api.novita.ai/v3/openai",
            "/v3/openai/chat/completions",
            false,
        ),
        plain(
            "hyperbolic",
            "meta-llama/Llama-3.3-70B-Instruct",
            "https://api.hyperbolic.xyz/v1",
            "/v1/chat/completions",
            false,
        ),
        plain(
            "nvidia_nim",
            "meta/llama-3.3-70b-instruct",
            "https://integrate.api.nvidia.com/v1",
            "/v1/chat/completions",
            false,
        ),
        plain(
            "together_ai",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "https://api.together.xyz/v1",
            "/v1/chat/completions",
            false,
        ),
    ]
}

#[test]
fn every_registry_row_has_its_quirks_tested() {
    let cases: Vec<&str> = cases().iter().map(|c| c.provider).collect();
    let mut covered: Vec<&str> = cases.iter().copied().chain(NATIVE.iter().copied()).collect();
    let registered: Vec<&str> = llm_providers::registry::provider_names().collect();
    let missing: Vec<&&str> = registered.iter().filter(|p| !covered.contains(p)).collect();
    assert!(missing.is_empty(), "registry rows with no quirk case and no fixture tests: {missing:?}");
    let unknown: Vec<&&str> = covered.iter().filter(|p| !registered.contains(p)).collect();
    assert!(unknown.is_empty(), "cases for providers the registry does not have: {unknown:?}");
    covered.sort_unstable();
    let n = covered.len();
    covered.dedup();
    assert_eq!(covered.len(), n, "each row is covered once");
}

fn client(c: &Case, server: &FakeUpstream) -> ProviderClient {
    let mut b = ProviderClient::builder(c.provider).api_base(server.url()).retry(RetryPolicy::none());
    if !c.keyless {
        b = b.api_key(ApiKey::new("test-key-0123456789"));
    }
    b.build().unwrap_or_else(|e| panic!("{}: {e}", c.provider))
}

fn check(c: &Case, r: &ChatResponse, cost: Option<&str>, how: &str) {
    let p = c.provider;
    assert_eq!(r.text(), "Lisbon is 21 °C and sunny.".replace(" sunny.", &sunny_suffix(p)), "{p} {how}");
    let u = r.usage.unwrap_or_else(|| panic!("{p} {how}: no usage"));
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.cache_read_tokens, u.reasoning_tokens), c.usage, "{p} {how}");
    assert!(u.check().is_ok(), "{p} {how}: {u:?}");
    assert_eq!(r.provider_cost.map(|c| c.amount().normalize().to_string()).as_deref(), cost, "{p} {how}");
    let keys: Vec<&str> = r.provider_fields.keys().map(String::as_str).collect();
    assert_eq!(keys, c.fields, "{p} {how}");
}

/// Perplexity's answer cites its sources.
fn sunny_suffix(provider: &str) -> String {
    if provider == "perplexity" { " sunny [1][2].".into() } else { " sunny.".into() }
}

#[tokio::test]
async fn each_provider_chat_stream_and_error_as_documented() {
    for c in cases() {
        let p = c.provider;
        assert_eq!(llm_providers::provider_spec(p).unwrap().base_url, c.base, "{p}: default base");
        let server = FakeUpstream::start().await.unwrap();
        let client = client(&c, &server);
        let req = ChatRequest::new(format!("{p}/{}", c.model), vec![Message::user("Weather in Lisbon?")]);

        server.push(c.chat.clone());
        let r = client.chat(&req).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        check(&c, &r, c.cost.0, "chat");
        let sent = server.last_request().unwrap();
        assert_eq!(sent.path, c.path, "{p}");
        assert_eq!(sent.json()["model"], c.model, "{p}");
        let auth = sent.header("authorization");
        assert_eq!(auth, (!c.keyless).then_some("Bearer test-key-0123456789"), "{p}: key sent only when configured");

        server.push(c.stream.clone());
        let s = client.stream(&req).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        let r = collect_stream(s).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        check(&c, &r, c.cost.1, "stream");
        let body = server.last_request().unwrap().json();
        assert_eq!(body["stream"], true, "{p}");
        // DashScope sends a stream's usage only when asked (`stream_options.include_usage`); Perplexity always
        // sends it and is not asked.
        match p {
            "dashscope" => assert_eq!(body["stream_options"]["include_usage"], true, "{p}"),
            "perplexity" => assert!(body.get("stream_options").is_none(), "{p}: {body}"),
            _ => {}
        }

        let (status, reply, kind) = c.error.clone();
        server.push(reply);
        let e = client.chat(&req).await.expect_err(p);
        assert_eq!((e.kind(), e.status()), (&kind, Some(status)), "{p}: {e}");
        assert_eq!(e.provider().map(|id| id.as_str()), Some(p), "{p}");
    }
}

/// Perplexity's search fields: the context size and the citations, whole and streamed (the stream's last
/// chunk reports a `medium` context).
#[tokio::test]
async fn perplexity_search_fields_reach_the_response() {
    let server = FakeUpstream::start().await.unwrap();
    let client =
        ProviderClient::builder("perplexity").api_key(ApiKey::new("pplx-test")).api_base(server.url()).build().unwrap();
    let req = ChatRequest::new("perplexity/sonar", vec![Message::user("Weather in Lisbon?")]);
    server.push(json_fixture("perplexity/chat_response_citations_cost.json"));
    let r = client.chat(&req).await.unwrap();
    let u = r.usage.unwrap();
    assert_eq!(u.search_context_size, Some(SearchContextSize::Low));
    assert_eq!(r.provider_fields["citations"][1], "https://en.wikipedia.org/wiki/Lisbon");
    assert_eq!(r.provider_fields["search_results"][0]["title"], "Lisbon weather forecast");
    // The CLI's OpenAI-shaped JSON keeps them at the top, with the usage's search fields.
    let out = llm_core::openai::response_to_json(&r);
    assert_eq!(out["citations"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["usage"]["search_context_size"], "low");

    server.push(sse_fixture("perplexity/chat_stream_citations_cost.sse"));
    let r = collect_stream(client.stream(&req).await.unwrap()).await.unwrap();
    assert_eq!(r.usage.unwrap().search_context_size, Some(SearchContextSize::Medium));
    assert_eq!(r.provider_fields["search_results"][1]["url"], "https://en.wikipedia.org/wiki/Lisbon");

    // An answer without a cost object: the search counts arrive for the calculator.
    server.push(json_fixture("perplexity/chat_response_deep_research_no_cost.json"));
    let r = client.chat(&ChatRequest::new("perplexity/sonar-deep-research", vec![Message::user("x")])).await.unwrap();
    let u = r.usage.unwrap();
    assert_eq!((u.citation_tokens, u.web_search_requests, r.provider_cost), (Some(5000), Some(20), None));
    assert_eq!(u.reasoning_tokens, Some(2000), "Perplexity reports reasoning at the top of usage");
}

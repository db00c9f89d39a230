//! Edges of the wire, over real HTTP against the fake upstream: a stream request answered with one JSON body
//! (LiteLLM's proxy with mocked models), 404s that name the URL they tried, Anthropic api_bases with or
//! without `/v1`, and `litellm_proxy/` as a provider.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::{
    ApiKey, ChatRequest, ErrorKind, FinishReason, Message, ModelDirectory, Provider, ProviderId, ToolCall, Usage,
    collect_stream,
};
use llm_fake_upstream::{FakeUpstream, Reply, wire};
use llm_providers::{ProviderClient, RetryPolicy};

const KEY: &str = "test-key-0123456789";

/// What LiteLLM's proxy (1.110) sends for `"stream": true` to a model configured with `mock_response`.
const LITELLM_MOCK_BODY: &str = r#"{"id":"chatcmpl-7f3c1e","created":1794312345,"model":"gpt-4o","object":"chat.completion","system_fingerprint":null,"choices":[{"finish_reason":"stop","index":0,"message":{"content":"This is a mock request","role":"assistant","tool_calls":null,"function_call":null}}],"usage":{"completion_tokens":20,"prompt_tokens":10,"total_tokens":30}}"#;

fn client(provider: &str, base: &str) -> ProviderClient {
    ProviderClient::builder(provider)
        .api_key(ApiKey::new(KEY))
        .api_base(base)
        .retry(RetryPolicy::none())
        .build()
        .unwrap_or_else(|e| panic!("{provider}: {e}"))
}

fn hi(model: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::user("Hi!")])
}

// ---------------------------------------------------------------------------------------------------------
// 1. A stream request answered with one JSON body

#[tokio::test]
async fn stream_request_answered_with_one_json_body() {
    let cases = [
        ("openai", "openai/gpt-4o", "/v1/chat/completions"),
        ("groq", "groq/llama-3.3-70b-versatile", "/openai/v1/chat/completions"),
        ("hosted_vllm", "hosted_vllm/my-model", "/v1/chat/completions"),
        ("litellm_proxy", "litellm_proxy/gpt-4o", "/chat/completions"),
    ];
    for (provider, model, path) in cases {
        let server = FakeUpstream::start().await.unwrap();
        server.push(Reply::json(200, LITELLM_MOCK_BODY));
        let c = client(provider, &server.url());
        let s = c.stream(&hi(model)).await.unwrap_or_else(|e| panic!("{provider}: {e}"));
        let r = collect_stream(s).await.unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert_eq!(r.text(), "This is a mock request", "{provider}");
        assert_eq!(r.finish_reason(), Some(&FinishReason::Stop), "{provider}");
        assert_eq!(r.usage, Some(Usage::new(10, 20)), "{provider}");
        assert_eq!((r.id.as_str(), r.model.as_str()), ("chatcmpl-7f3c1e", "gpt-4o"), "{provider}");
        assert_eq!(r.choices.len(), 1, "{provider}");
        let sent = server.last_request().unwrap();
        assert_eq!(sent.path, path, "{provider}");
        assert_eq!(sent.json()["stream"], true, "{provider}: it was a stream request");
        assert_eq!(server.request_count(), 1, "{provider}");
    }
}

#[tokio::test]
async fn json_answer_to_a_stream_keeps_tool_calls_and_content_type_parameters() {
    let server = FakeUpstream::start().await.unwrap();
    let body = r#"{"id":"c2","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,
        "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Porto\"}"}}]},
        "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":40,"completion_tokens":9,"total_tokens":49}}"#;
    server.push(Reply::new(200).header("content-type", "application/json; charset=utf-8").body(body));
    let c = client("openai", &server.url());
    let r = collect_stream(c.stream(&hi("gpt-4o-mini")).await.unwrap()).await.unwrap();
    assert_eq!(r.tool_calls(), [ToolCall::new("call_1", "get_weather", "{\"city\":\"Porto\"}")]);
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(r.choices[0].message.content, None);
    assert_eq!(r.usage, Some(Usage::new(40, 9)));

    // Anthropic speaks SSE too: a whole Messages body is accepted the same way.
    server.push(wire::anthropic::message("Bonjour", 12, 3));
    let c = client("anthropic", &server.url());
    let r = collect_stream(c.stream(&hi("claude-sonnet-4-5")).await.unwrap()).await.unwrap();
    assert_eq!(r.text(), "Bonjour");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(r.usage.map(|u| (u.prompt_tokens, u.completion_tokens)), Some((12, 3)));
}

#[tokio::test]
async fn json_answer_to_a_stream_that_is_not_a_response() {
    let server = FakeUpstream::start().await.unwrap();
    let c = client("openai", &server.url());

    // Malformed JSON: a decode error, with the provider named.
    server.push(Reply::json(200, "{\"choices\": [oops"));
    let e = c.stream(&hi("gpt-4o")).await.map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Decode, "{e}");
    assert_eq!(e.provider().map(ProviderId::as_str), Some("openai"));

    // Server-sent events under a JSON content type still decode as a stream.
    let sse = "data: {\"id\":\"c3\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"He\"}}]}\n\n\
               data: {\"id\":\"c3\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"llo\"},\"finish_reason\":\"stop\"}]}\n\n\
               data: [DONE]\n\n";
    server.push(Reply::stream("application/json", [sse]));
    let r = collect_stream(c.stream(&hi("gpt-4o")).await.unwrap()).await.unwrap();
    assert_eq!(r.text(), "Hello");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
}

// ---------------------------------------------------------------------------------------------------------
// 2. A 404 names the URL it tried

#[tokio::test]
async fn a_404_names_the_method_and_url() {
    let server = FakeUpstream::start().await.unwrap();
    let c = client("openai", &format!("{}/proxy/v1", server.url()));
    let url = format!("{}/proxy/v1/chat/completions", server.url());

    server.push(wire::openai::error(404, "invalid_request_error", Some("model_not_found"), "no such model"));
    let e = c.chat(&hi("gpt-4o")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NotFound);
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.message(), format!("no such model (POST {url})"));
    assert!(e.to_string().ends_with(&format!("(POST {url})")), "{e}");

    server.push(Reply::new(404));
    let e = c.stream(&hi("gpt-4o")).await.map(|_| ()).unwrap_err();
    assert_eq!(e.message(), format!("http status 404 with an empty body (POST {url})"));

    // Other statuses keep their message as the provider wrote it.
    server.push(wire::openai::error(400, "invalid_request_error", None, "bad request"));
    let e = c.chat(&hi("gpt-4o")).await.unwrap_err();
    assert_eq!(e.message(), "bad request");
}

#[tokio::test]
async fn a_gemini_404_never_shows_the_query_or_the_key() {
    let server = FakeUpstream::start().await.unwrap();
    let c = client("gemini", &server.url());
    let base = server.url();
    for stream in [false, true] {
        server.push(wire::gemini::error(404, "NOT_FOUND", "models/gemini-9 is not found"));
        let e = if stream {
            c.stream(&hi("gemini/gemini-9")).await.map(|_| ()).unwrap_err()
        } else {
            c.chat(&hi("gemini/gemini-9")).await.unwrap_err()
        };
        let method = if stream { "streamGenerateContent" } else { "generateContent" };
        assert_eq!(e.kind(), &ErrorKind::NotFound);
        assert_eq!(e.message(), format!("models/gemini-9 is not found (POST {base}/v1beta/models/gemini-9:{method})"));
        let sent = server.last_request().unwrap();
        assert_eq!(sent.query, if stream { "alt=sse" } else { "" }, "the call itself keeps its query");
        let all = format!("{e} {e:?}");
        assert!(!all.contains('?') && !all.contains("key=") && !all.contains(KEY), "{all}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// 3. Anthropic api_base with or without /v1

#[tokio::test]
async fn anthropic_api_base_with_or_without_v1() {
    let server = FakeUpstream::start().await.unwrap();
    let u = server.url();
    let cases = [
        (u.clone(), "/v1/messages"),
        (format!("{u}/"), "/v1/messages"),
        (format!("{u}/v1"), "/v1/messages"),
        (format!("{u}/v1/"), "/v1/messages"),
        (format!("{u}/anthropic"), "/anthropic/v1/messages"),
        (format!("{u}/anthropic/v1/"), "/anthropic/v1/messages"),
    ];
    for (base, path) in &cases {
        server.push(wire::anthropic::message("ok", 3, 1));
        let r = client("anthropic", base).chat(&hi("anthropic/claude-sonnet-4-5")).await.unwrap();
        assert_eq!(r.text(), "ok", "{base}");
        assert_eq!(server.last_request().unwrap().path, *path, "{base}");
    }
    server.push(wire::anthropic::stream(&["o", "k"], 3, 1));
    let s = client("anthropic", &format!("{u}/v1")).stream(&hi("claude-sonnet-4-5")).await.unwrap();
    assert_eq!(collect_stream(s).await.unwrap().text(), "ok");
    assert_eq!(server.last_request().unwrap().path, "/v1/messages");
}

// ---------------------------------------------------------------------------------------------------------
// 4. litellm_proxy

struct NoCatalog;

impl ModelDirectory for NoCatalog {
    fn provider_of(&self, _: &str) -> Option<ProviderId> {
        None
    }
}

#[tokio::test]
async fn litellm_proxy_chat_and_stream() {
    let server = FakeUpstream::start().await.unwrap();
    let c = client("litellm_proxy", &server.url());
    let req = hi("litellm_proxy/gpt-4o").with_max_tokens(32);

    server.push(wire::openai::chat("Hello via the proxy", 14, 5));
    let r = c.chat(&req).await.unwrap();
    assert_eq!(r.text(), "Hello via the proxy");
    assert_eq!(r.usage, Some(Usage::new(14, 5)));
    assert_eq!(r.provider.as_ref().map(ProviderId::as_str), Some("litellm_proxy"));
    let sent = server.last_request().unwrap();
    assert_eq!(sent.path, "/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer test-key-0123456789"));
    let body = sent.json();
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(body["max_tokens"], 32);

    server.push(wire::openai::stream(&["Hello", " via", " the proxy"], 14, 5));
    let r = collect_stream(c.stream(&req).await.unwrap()).await.unwrap();
    assert_eq!(r.text(), "Hello via the proxy");
    assert_eq!(r.usage, Some(Usage::new(14, 5)));
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let sent = server.last_request().unwrap();
    assert_eq!(sent.path, "/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer test-key-0123456789"));
    let body = sent.json();
    assert_eq!((&body["model"], &body["stream"]), (&serde_json::json!("gpt-4o"), &serde_json::json!(true)));
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn litellm_proxy_without_a_key_and_under_v1() {
    let server = FakeUpstream::start().await.unwrap();
    // A blank key is "no key": the proxy may run without one, and no authorization header is sent.
    let c = ProviderClient::builder("litellm_proxy")
        .api_key(ApiKey::new(""))
        .api_base(format!("{}/v1/", server.url()))
        .build()
        .unwrap();
    server.push(wire::openai::chat("ok", 2, 1));
    c.chat(&hi("litellm_proxy/claude-sonnet-4-5")).await.unwrap();
    let sent = server.last_request().unwrap();
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.json()["model"], "claude-sonnet-4-5");
}

#[tokio::test]
async fn litellm_proxy_resolves_and_builds_for_a_model() {
    let r = llm_providers::resolve("litellm_proxy/gpt-4o", None, &NoCatalog).unwrap();
    assert_eq!((r.provider.as_str(), r.model.as_str(), r.api_base), ("litellm_proxy", "gpt-4o", None));

    let server = FakeUpstream::start().await.unwrap();
    let (c, r) = ProviderClient::for_model("litellm_proxy/gpt-4o", Some(&server.url()), &NoCatalog).unwrap();
    assert_eq!(r.api_base.as_deref(), Some(server.url().as_str()));
    assert_eq!(c.provider_model("litellm_proxy/gpt-4o"), "gpt-4o");
    server.push(wire::openai::chat("ok", 2, 1));
    c.chat(&hi("litellm_proxy/gpt-4o")).await.unwrap();
    assert_eq!(server.last_request().unwrap().json()["model"], "gpt-4o");
}

/// A provider that sends no response id (Gemini often does not) and no creation time gets a generated id and
/// the call's start time, on a plain call and on a stream: never `""` and `0`.
#[tokio::test]
async fn responses_without_an_id_or_a_time_get_ours() {
    let server = FakeUpstream::start().await.unwrap();
    let body = serde_json::json!({
        "candidates": [{"content": {"parts": [{"text": "hi"}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4}
    });
    server.push(Reply::json_value(200, &body));
    server.push(Reply::stream("text/event-stream", vec![format!("data: {body}\r\n\r\n")]));
    let client = ProviderClient::builder("gemini")
        .api_key(llm_core::ApiKey::new("gemini-test-key-0000"))
        .api_base(server.url())
        .build()
        .unwrap();
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let request = llm_core::ChatRequest::new("gemini/gemini-2.5-flash", vec![llm_core::Message::user("hi")]);
    let plain = client.chat(&request).await.unwrap();
    let streamed = llm_core::collect_stream(client.stream(&request).await.unwrap()).await.unwrap();
    for r in [&plain, &streamed] {
        assert!(r.id.starts_with("chatcmpl-") && r.id.len() == 33, "{}", r.id);
        assert!(r.created.is_some_and(|c| c >= before && c <= before + 5), "{:?}", r.created);
    }
    assert_ne!(plain.id, streamed.id, "ids are unique");
}

//! Edges of the wire, over real HTTP against the fake upstream: a stream request answered with one JSON body
//! (LiteLLM's proxy with mocked models), 404s that name the URL they tried, Anthropic api_bases with or
//! without `/v1`, and `litellm_proxy/` as a provider.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::{
    ApiKey, ChatRequest, FinishReason, Message, ModelDirectory, Provider, ProviderId, Usage, collect_stream,
};
use llm_fake_upstream::{FakeUpstream, wire};
use llm_providers::{ProviderClient, RetryPolicy};

const KEY: &str = "test-key-0123456789";

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

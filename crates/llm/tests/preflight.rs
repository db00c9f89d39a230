//! The opt-in pre-flight check: a prompt that does not fit the model's input window fails before anything is
//! sent, with both numbers; one that fits is sent. Over HTTP to the fake upstream, which counts what arrives.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm::Client;
use llm::core::{ApiKey, ChatRequest, ErrorKind, Message};
use llm::providers::RetryPolicy;
use llm::tokens::{ContextWindowExceeded, TokenCount};
use llm_fake_upstream::{FakeUpstream, wire};

fn client(server: &FakeUpstream, preflight: bool) -> Client {
    Client::builder()
        .api_key("openai", ApiKey::new("sk-preflight-test-0001"))
        .api_base("openai", server.url())
        .retry(RetryPolicy::default().with_max_retries(0))
        .preflight(preflight)
        .build()
        .unwrap()
}

/// "hello " × 8200 is 8,201 cl100k_base tokens (Python tiktoken), 8,208 with the chat framing: more than gpt-4's
/// 8,192-token input window. × 8180 is 8,181 tokens, 8,188 framed: it fits.
fn prompt(words: usize) -> ChatRequest {
    ChatRequest::new("gpt-4", vec![Message::user("hello ".repeat(words))])
}

#[tokio::test]
async fn a_prompt_over_the_window_is_refused_before_it_is_sent() {
    let server = FakeUpstream::start().await.unwrap();
    let c = client(&server, true);
    assert_eq!(c.context_window("gpt-4"), Some(8192));
    assert_eq!(c.count_tokens(&prompt(8200)).unwrap(), TokenCount::new(8208, true));

    let err = c.chat(prompt(8200)).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ContextLength);
    let exceeded = std::error::Error::source(&err).unwrap().downcast_ref::<ContextWindowExceeded>().unwrap();
    assert_eq!((exceeded.tokens, exceeded.window, exceeded.exact), (8208, 8192, true));
    assert_eq!(exceeded.model, "gpt-4");
    assert!(err.to_string().contains("8208 tokens") && err.to_string().contains("8192 tokens"), "{err}");
    assert_eq!(err.provider().map(|p| p.as_str()), Some("openai"));

    let streamed = c.stream(prompt(8200)).await.err().unwrap();
    assert_eq!(streamed.kind(), &ErrorKind::ContextLength);
    assert_eq!(server.request_count(), 0, "nothing reached the upstream");

    // One that fits is sent.
    server.push(wire::openai::chat("ok", 8188, 1));
    assert_eq!(c.chat(prompt(8180)).await.unwrap().text(), "ok");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn without_preflight_the_provider_decides() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(wire::openai::chat("sent anyway", 8208, 1));
    let c = client(&server, false);
    assert_eq!(c.chat(prompt(8200)).await.unwrap().text(), "sent anyway");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn models_without_a_known_window_are_sent_unchecked() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(wire::openai::chat("ok", 1, 1));
    let c = client(&server, true);
    let req = ChatRequest::new("openai/my-private-model", vec![Message::user("hello ".repeat(9000))]);
    assert_eq!(c.context_window("openai/my-private-model"), None);
    assert!(!c.count_tokens(&req).unwrap().exact, "not an OpenAI model name: cl100k_base approximates");
    assert_eq!(c.chat(req).await.unwrap().text(), "ok");
    assert_eq!(server.request_count(), 1);
}

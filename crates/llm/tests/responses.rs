//! The Responses API through the facade, over real HTTP to the fake upstream: chat reaches models that exist
//! only on that API (the catalog's `mode: responses` rows) through the bridge, and `Client::responses` /
//! `responses_stream` call it directly; every call is priced from the catalog (the numbers pinned below from
//! its rows) and recorded by the tracker with `call_type: responses`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;

use futures_util::StreamExt;
use llm::Client;
use llm::core::responses::{ResponsesEvent, ResponsesRequest};
use llm::core::{ApiKey, ChatRequest, CostStatus, FinishReason, Message};
use llm::providers::RetryPolicy;
use llm::tracking::{MemoryStore, Store, Tracker};
use llm_fake_upstream::FakeUpstream;
use llm_fake_upstream::wire::{openai, openai_responses as wire};

const ENCRYPTED: &str = "gAAAAABoT9x1-encrypted-reasoning-blob==";

fn client(server: &FakeUpstream, tracker: Option<Tracker>) -> Client {
    let mut b = Client::builder()
        .api_key("openai", ApiKey::new("sk-responses-test-0001"))
        .api_base("openai", server.url())
        .api_key("azure", ApiKey::new("azure-responses-test-0001"))
        .api_base("azure", server.url())
        .retry(RetryPolicy::none());
    if let Some(t) = tracker {
        b = b.tracker(t);
    }
    b.build().unwrap()
}

/// A reasoning model's answer: a reasoning item, a text message, 1200 input tokens of which 800 cached, 300
/// output tokens of which 256 reasoning.
fn reasoning_answer() -> llm_fake_upstream::Reply {
    wire::response_of(
        "gpt-5-codex",
        vec![
            wire::reasoning_item("rs_1", &["Thinking about it."], Some(ENCRYPTED)),
            wire::message_item("msg_1", "Done."),
        ],
        wire::usage(1200, 800, 300, 256),
    )
}

// gpt-5-codex (mode: responses): input $1.25/M, cache read $0.125/M, output $10/M.
// 400 uncached × 1.25e-6 + 800 cached × 1.25e-7 = 0.0006; 300 × 1e-5 = 0.003; total 0.0036.
const CODEX_PROMPT: &str = "0.0006";
const CODEX_COMPLETION: &str = "0.003";
const CODEX_TOTAL: &str = "0.0036";

#[tokio::test]
async fn chat_reaches_a_responses_only_model_through_the_bridge() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(reasoning_answer());
    server.push(openai::chat("plain chat", 10, 2));
    let (tracker, store) = tracked();
    let c = client(&server, Some(tracker.clone()));
    let r = c.chat(ChatRequest::new("gpt-5-codex", vec![Message::user("Fix the bug")])).await.unwrap();
    assert_eq!(server.requests()[0].path, "/v1/responses");
    assert_eq!(r.text(), "Done.");
    assert_eq!(r.choices[0].message.reasoning.as_deref(), Some("Thinking about it."));
    assert!(r.choices[0].message.reasoning_signature.as_deref().unwrap().contains(ENCRYPTED));
    let cost = r.cost.unwrap();
    assert_eq!(cost.status, CostStatus::Priced);
    assert_eq!(cost.catalog_key.as_deref(), Some("gpt-5-codex"));
    assert_eq!(
        (cost.prompt_cost().to_string(), cost.completion_cost().to_string(), cost.total().unwrap().to_string()),
        (CODEX_PROMPT.into(), CODEX_COMPLETION.into(), CODEX_TOTAL.into())
    );
    assert!(r.adjustments.iter().any(|a| a.kind.as_str() == "responses_api_bridge"), "{:?}", r.adjustments);

    // A chat model on the same client still goes to chat completions.
    let r = c.chat(ChatRequest::new("gpt-4o-mini", vec![Message::user("Hi")])).await.unwrap();
    assert_eq!(server.requests()[1].path, "/v1/chat/completions");
    assert_eq!(r.text(), "plain chat");
    assert!(r.adjustments.is_empty());

    // The bridged call's record shows the bridge and the exact spend.
    c.flush().await.unwrap();
    let records = store.records(None, None, 10).await.unwrap();
    let bridged = records.iter().find(|r| r.requested_model == "gpt-5-codex").unwrap();
    assert_eq!(bridged.spend.to_string(), CODEX_TOTAL);
    assert_eq!(bridged.adjustments[0].kind.as_str(), "responses_api_bridge");
    assert_eq!(bridged.call_type, llm::tracking::CallType::Chat, "a bridged chat stays a chat call");
    assert_eq!(bridged.usage.reasoning_tokens, Some(256));
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn bridged_streams_are_priced_and_azure_uses_its_v1_route() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(wire::stream(&["Hel", "lo"], 10, 5));
    server.push(reasoning_answer());
    let c = client(&server, None);
    // o1-pro: input $150/M, output $600/M: 10 × 1.5e-4 + 5 × 6e-4 = 0.0045.
    let req = ChatRequest::new("o1-pro", vec![Message::user("Hi")]);
    let s = c.stream(req.clone()).await.unwrap();
    let r = c.collect(&req, s).await.unwrap();
    assert_eq!((r.text().as_str(), r.finish_reason()), ("Hello", Some(&FinishReason::Stop)));
    assert_eq!(r.cost.unwrap().total().unwrap().to_string(), "0.0045");
    assert_eq!(server.requests()[0].json()["stream"], true);

    let r = c.chat(ChatRequest::new("azure/gpt-5-codex", vec![Message::user("Hi")])).await.unwrap();
    let sent = server.requests()[1].clone();
    assert_eq!(sent.path, "/openai/v1/responses");
    assert_eq!(sent.json()["model"], "gpt-5-codex");
    let cost = r.cost.unwrap();
    assert_eq!(cost.catalog_key.as_deref(), Some("azure/gpt-5-codex"));
    assert_eq!(cost.total().unwrap().to_string(), CODEX_TOTAL);
}

fn tracked() -> (Tracker, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    (Tracker::builder().store(store.clone()).build().unwrap(), store)
}

#[tokio::test]
async fn direct_calls_are_priced_and_recorded_as_responses() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(reasoning_answer());
    server.push(wire::stream(&["Hel", "lo"], 10, 5));
    let (tracker, store) = tracked();
    let c = client(&server, Some(tracker.clone()));

    let r = c
        .responses(
            ResponsesRequest::new("gpt-5-codex", "Fix the bug")
                .with_reasoning(Some("high"), Some("auto"))
                .with_tag("codex"),
        )
        .await
        .unwrap();
    assert_eq!(server.requests()[0].path, "/v1/responses");
    assert!(server.requests()[0].json().get("tags").is_none(), "tracking fields are not sent");
    assert_eq!(r.output_text(), "Done.");
    assert_eq!(r.reasoning_items()[0].encrypted_content.as_deref(), Some(ENCRYPTED));
    assert_eq!(r.cost.as_ref().unwrap().total().unwrap().to_string(), CODEX_TOTAL);

    let mut s = c.responses_stream(ResponsesRequest::new("o1-pro", "Hi")).await.unwrap();
    let mut text = String::new();
    let mut completed = None;
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            ResponsesEvent::OutputTextDelta { delta, .. } => text.push_str(&delta),
            ResponsesEvent::Completed { response } => completed = Some(response),
            _ => {}
        }
    }
    assert_eq!(text, "Hello");
    let completed = completed.unwrap();
    assert_eq!(completed.cost.unwrap().total().unwrap().to_string(), "0.0045");

    c.flush().await.unwrap();
    let mut records = store.records(None, None, 10).await.unwrap();
    records.sort_by_key(|r| r.stream);
    assert_eq!(records.len(), 2);
    let (direct, streamed) = (&records[0], &records[1]);
    assert_eq!(direct.metadata["call_type"], "responses");
    assert_eq!(direct.call_type, llm::tracking::CallType::Responses);
    assert_eq!((direct.provider.as_str(), direct.requested_model.as_str()), ("openai", "gpt-5-codex"));
    assert_eq!(direct.spend.to_string(), CODEX_TOTAL);
    assert_eq!((direct.usage.prompt_tokens, direct.usage.cache_read_tokens), (1200, Some(800)));
    assert_eq!((direct.usage.completion_tokens, direct.usage.reasoning_tokens), (300, Some(256)));
    assert_eq!(direct.tags, vec!["codex".to_owned()]);
    assert_eq!(direct.response_id.as_deref(), Some("resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"));
    assert_eq!(streamed.metadata["call_type"], "responses");
    assert_eq!(streamed.call_type, llm::tracking::CallType::Responses);
    assert_eq!((streamed.stream, streamed.spend.to_string()), (true, "0.0045".to_owned()));
    assert_eq!(streamed.usage.total_tokens, 15);
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failed_direct_call_is_a_typed_error_and_a_failure_record() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(openai::error(429, "tokens", Some("rate_limit_exceeded"), "Rate limit reached for o1-pro"));
    let (tracker, store) = tracked();
    let c = client(&server, Some(tracker.clone()));
    let e = c.responses(ResponsesRequest::new("o1-pro", "Hi")).await.unwrap_err();
    assert_eq!((e.kind().as_str(), e.status()), ("rate_limited", Some(429)));
    c.flush().await.unwrap();
    let records = store.records(None, None, 10).await.unwrap();
    assert_eq!(records[0].error_kind.as_deref(), Some("rate_limited"));
    assert_eq!(records[0].metadata["call_type"], "responses");
    assert_eq!(records[0].call_type, llm::tracking::CallType::Responses);
    tracker.shutdown().await.unwrap();
}

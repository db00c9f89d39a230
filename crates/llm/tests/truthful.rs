//! The facade tells what it did: the client's own catalog prices tracked calls (and can be swapped while
//! running), a structured call's attempts share a trace, unsupported parameters are refused or dropped and
//! reported, and retries show on the response, over real HTTP to the fake upstream.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use llm::Client;
use llm::core::mock::{MockProvider, MockReply};
use llm::core::{ApiKey, ChatRequest, CostStatus, ErrorKind, Message, Usage};
use llm::cost::Catalog;
use llm::providers::RetryPolicy;
use llm::tracking::{GroupBy, MemoryStore, ReportQuery, Store, Tracker};
use llm_fake_upstream::{FakeUpstream, wire};

fn ask(model: &str, text: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::user(text)])
}

fn catalog(version: &str, input: &str, output: &str) -> Catalog {
    let json = format!(
        r#"{{"gpt-4o-mini": {{"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": {input},
            "output_cost_per_token": {output}, "supports_response_schema": true}}}}"#
    );
    Catalog::from_json_with_version(&json, version).unwrap()
}

fn tracked() -> (Tracker, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    (Tracker::builder().store(store.clone()).build().unwrap(), store)
}

#[tokio::test]
async fn the_clients_catalog_prices_tracked_calls_and_can_be_swapped() {
    let (tracker, store) = tracked();
    let client = Client::builder()
        .mock(MockProvider::new().with_default_reply(MockReply::TextWithUsage("ok".into(), Usage::new(1000, 100))))
        .catalog(catalog("prices-v1", "0.000001", "0.000002"))
        .tracker(tracker.clone())
        .build()
        .unwrap();
    let r = client.chat(ask("gpt-4o-mini", "hi")).await.unwrap();
    let cost = r.cost.unwrap();
    // 1000 × $1/M + 100 × $2/M, not the embedded catalog's gpt-4o-mini prices.
    assert_eq!(cost.total().unwrap().to_string(), "0.0012");
    assert_eq!(cost.catalog_version.as_deref(), Some("prices-v1"));

    // A fresh price file, swapped in while the client runs.
    assert_eq!(client.set_catalog(catalog("prices-v2", "0.000003", "0.000004")), "prices-v1");
    let r = client.chat(ask("gpt-4o-mini", "hi")).await.unwrap();
    assert_eq!(r.cost.as_ref().unwrap().total().unwrap().to_string(), "0.0034");
    client.flush().await.unwrap();
    let records = store.records(None, None, 10).await.unwrap();
    let priced: Vec<(String, Option<&str>)> =
        records.iter().map(|r| (r.spend.to_string(), r.catalog_version())).collect();
    assert_eq!(priced, vec![("0.0012".into(), Some("prices-v1")), ("0.0034".into(), Some("prices-v2"))]);
    tracker.shutdown().await.unwrap();
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code, reason = "read through serde")]
struct Answer {
    city: String,
    confidence: f64,
}

#[tokio::test]
async fn a_structured_calls_attempts_share_a_trace_and_count_once() {
    let (tracker, store) = tracked();
    let client = Client::builder()
        .mock(
            MockProvider::new()
                .with_reply(MockReply::TextWithUsage(r#"{"city": "Paris"}"#.into(), Usage::new(100, 10)))
                .with_reply(MockReply::TextWithUsage(
                    r#"{"city": "Paris", "confidence": 1}"#.into(),
                    Usage::new(150, 12),
                )),
        )
        .tracker(tracker.clone())
        .build()
        .unwrap();
    let out = client.structured::<Answer>(ask("gpt-4o-mini", "Capital of France?")).await.unwrap();
    assert_eq!(out.attempts.len(), 2);
    assert_eq!(out.trace_id.len(), 32, "{}", out.trace_id);
    client.chat(ask("gpt-4o-mini", "unrelated")).await.unwrap();
    client.flush().await.unwrap();
    let records = store.records(None, None, 10).await.unwrap();
    let linked: Vec<(bool, u32)> = records.iter().map(|r| (r.trace_id == out.trace_id, r.repair_attempts)).collect();
    assert_eq!(linked, vec![(true, 0), (true, 1), (false, 0)]);
    let report = store.report(&ReportQuery::new(GroupBy::Model)).await.unwrap();
    assert_eq!((report.rows[0].key.as_str(), report.total.calls, report.total.logical_calls), ("gpt-4o-mini", 3, 2));
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_structured_give_up_carries_what_the_attempts_cost() {
    let client = Client::builder()
        .mock(
            MockProvider::new()
                .with_default_reply(MockReply::TextWithUsage(r#"{"city": "Paris"}"#.into(), Usage::new(100, 10))),
        )
        .max_attempts(2)
        .build()
        .unwrap();
    let e = client.structured::<Answer>(ask("gpt-4o-mini", "Capital of France?")).await.unwrap_err();
    assert_eq!(e.kind(), &llm::schema::ErrorKind::Exhausted);
    assert_eq!(e.usage().map(|u| (u.prompt_tokens, u.completion_tokens)), Some((200, 20)));
    // gpt-4o-mini: $0.15/M input, $0.60/M output; two attempts of 100 + 10 tokens.
    let cost = e.cost().unwrap();
    assert_eq!((cost.status.clone(), cost.total().unwrap().to_string()), (CostStatus::Priced, "0.000042".into()));
}

#[tokio::test]
async fn unsupported_parameters_are_refused_by_default_and_dropped_on_request() {
    let server = FakeUpstream::start().await.unwrap();
    let build = |drop: bool| {
        Client::builder()
            .api_key("anthropic", ApiKey::new("sk-ant-facade-0001"))
            .api_base("anthropic", server.url())
            .retry(RetryPolicy::default().with_max_retries(0))
            .drop_params(drop)
            .build()
            .unwrap()
    };
    let req = ask("anthropic/claude-sonnet-4-5", "hi").with_seed(7);
    let e = build(false).chat(req.clone()).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidRequest);
    assert!(e.message().contains("seed"), "{}", e.message());
    assert_eq!(server.request_count(), 0, "refused before sending");

    server.push(wire::anthropic::message("hello", 10, 2));
    let r = build(true).chat(req).await.unwrap();
    assert_eq!(r.adjustments.len(), 1);
    assert_eq!((r.adjustments[0].kind.as_str(), r.adjustments[0].param.as_deref()), ("param_dropped", Some("seed")));
    assert!(server.last_request().unwrap().json().get("seed").is_none());
}

#[tokio::test]
async fn retries_show_on_the_response_and_the_record() {
    let server = FakeUpstream::start().await.unwrap();
    server.push_all([
        wire::openai::error(429, "rate_limit_exceeded", None, "Rate limit reached").header("retry-after-ms", "10"),
        wire::openai::chat("ok", 20, 5),
    ]);
    let (tracker, store) = tracked();
    let client = Client::builder()
        .api_key("openai", ApiKey::new("sk-facade-test-0002"))
        .api_base("openai", server.url())
        .retry(
            RetryPolicy::default().with_max_retries(2).with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .tracker(tracker.clone())
        .build()
        .unwrap();
    let r = client.chat(ask("gpt-4o-mini", "hi")).await.unwrap();
    assert_eq!(server.request_count(), 2);
    assert_eq!(r.retries.len(), 1);
    assert_eq!(
        (r.retries[0].kind.as_str(), r.retries[0].status, r.retries[0].wait_ms),
        ("rate_limited", Some(429), 10)
    );
    client.flush().await.unwrap();
    let records = store.records(None, None, 10).await.unwrap();
    assert_eq!((records[0].retry_attempts, records[0].retries.len()), (1, 1));
    tracker.shutdown().await.unwrap();
}

//! The facade end to end: routing once, pricing every response, tracking and budgets, structured output, on the
//! mock provider and over HTTP to the fake upstream.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;

use llm::Client;
use llm::core::mock::{MockProvider, MockReply};
use llm::core::{ApiKey, ChatRequest, CostStatus, ErrorKind, Message, Usage};
use llm::cost::{Catalog, CostOptions};
use llm::providers::RetryPolicy;
use llm::tracking::{Budget, CatalogPricer, GroupBy, MemoryStore, Period, ReportQuery, Scope, Store, Tracker};
use llm_fake_upstream::{FakeUpstream, wire};

fn ask(model: &str, text: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::user(text)])
}

#[tokio::test]
async fn mock_chat_is_priced_from_the_catalog() {
    let usage = Usage::new(1_000, 500).with_cache_read(200);
    let client = Client::builder()
        .mock(MockProvider::new().with_reply(MockReply::TextWithUsage("Paris.".into(), usage)))
        .build()
        .unwrap();
    let r = client.chat(ask("gpt-4o-mini", "Capital of France?")).await.unwrap();
    let cost = r.cost.clone().unwrap();
    let expected = Catalog::embedded().cost_per_token("gpt-4o-mini", None, &usage, &CostOptions::default()).unwrap();
    assert_eq!(cost, expected);
    assert_eq!(cost.status, CostStatus::Priced);
    assert_eq!(cost.catalog_key.as_deref(), Some("gpt-4o-mini"));
    // gpt-4o-mini: $0.15 / 1M input, $0.075 / 1M cached, $0.60 / 1M output.
    assert_eq!(cost.total().unwrap().to_string(), "0.000435");
}

#[tokio::test]
async fn unknown_models_are_never_a_silent_zero() {
    let client = Client::builder().mock(MockProvider::new()).build().unwrap();
    let r = client.chat(ask("my-private-model-7b", "hi")).await.unwrap();
    assert_eq!(r.cost.as_ref().unwrap().status, CostStatus::UnknownModel);
    assert_eq!(r.cost.unwrap().total(), None);
}

#[tokio::test]
async fn a_collected_stream_equals_the_chat() {
    let reply = MockReply::text("Rust is fast and safe.");
    let a = Client::builder().mock(MockProvider::new().with_default_reply(reply.clone())).build().unwrap();
    let b = Client::builder().mock(MockProvider::new().with_default_reply(reply)).build().unwrap();
    let req = ask("claude-sonnet-4-5", "Why Rust?");
    let chat = a.chat(req.clone()).await.unwrap();
    let stream = b.stream(req.clone()).await.unwrap();
    let streamed = b.collect(&req, stream).await.unwrap();
    assert_eq!(chat.text(), streamed.text());
    assert_eq!(chat.usage, streamed.usage);
    assert_eq!(chat.cost, streamed.cost);
    assert_eq!(chat.cost.unwrap().catalog_key.as_deref(), Some("claude-sonnet-4-5"));
}

#[tokio::test]
async fn tracked_calls_carry_default_tags_and_user_and_budgets_refuse() {
    let store = Arc::new(MemoryStore::new());
    let tracker = Tracker::builder().store(store.clone()).pricer(CatalogPricer::new()).build().unwrap();
    tracker
        .set_budget(&Budget::new(Scope::User("ana".into()), Period::Daily).with_max("0.0001".parse().unwrap()))
        .await
        .unwrap();
    let client = Client::builder()
        .mock(MockProvider::new().with_default_reply(MockReply::TextWithUsage("ok".into(), Usage::new(100, 10))))
        .tracker(tracker)
        .tag("tests")
        .user("ana")
        .team("core")
        .build()
        .unwrap();
    let first = client.chat(ask("gpt-4o-mini", "one").with_max_tokens(10)).await.unwrap();
    assert_eq!(first.cost.as_ref().unwrap().status, CostStatus::Priced);
    // A call that would cross the user's daily hard limit fails before anything is sent.
    let big = ask("gpt-4o-mini", &"word ".repeat(2_000)).with_max_tokens(100_000);
    let e = client.chat(big).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::BudgetExceeded);
    client.flush().await.unwrap();
    let report = store.report(&ReportQuery::new(GroupBy::User)).await.unwrap();
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.rows[0].key, "ana");
    let records = store.records(None, None, 10).await.unwrap();
    assert_eq!(records.len(), 2, "the refused call is recorded as a failure");
    let ok = records.iter().find(|r| r.error_kind.is_none()).unwrap();
    assert_eq!(ok.tags, vec!["tests".to_owned()]);
    assert_eq!(ok.team.as_deref(), Some("core"));
    assert_eq!(ok.user.as_deref(), Some("ana"));
    assert_eq!(ok.spend, first.cost.unwrap().total().unwrap());
    let refused = records.iter().find(|r| r.error_kind.is_some()).unwrap();
    assert_eq!(refused.error_kind.as_deref(), Some("budget_exceeded"));
    assert!(refused.spend.is_zero(), "the refused call sent nothing and spent nothing");
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Answer {
    city: String,
    confidence: f64,
}

#[tokio::test]
async fn structured_output_is_repaired_and_its_cost_adds_up() {
    let client = Client::builder()
        .mock(
            MockProvider::new()
                .with_reply(MockReply::TextWithUsage(r#"{"city": "Paris"}"#.into(), Usage::new(100, 10)))
                .with_reply(MockReply::TextWithUsage(
                    r#"{"city": "Paris", "confidence": 0.9}"#.into(),
                    Usage::new(150, 12),
                )),
        )
        .build()
        .unwrap();
    let out = client.structured::<Answer>(ask("gpt-4o-mini", "Capital of France?")).await.unwrap();
    assert_eq!(out.value.city, "Paris");
    assert!((out.value.confidence - 0.9).abs() < 1e-9);
    assert_eq!(out.attempts.len(), 2);
    assert_eq!(out.strategy, llm::schema::Strategy::Native, "gpt-4o-mini supports response_schema");
    assert_eq!((out.usage.prompt_tokens, out.usage.completion_tokens), (250, 22));
    // Pinned from the catalog (crates/llm-cost/data/catalog.json, "gpt-4o-mini": $0.15 per million input tokens,
    // $0.60 per million output tokens), by hand: attempt 1 is 100 × 0.00000015 + 10 × 0.0000006 = 0.000021,
    // attempt 2 is 150 × 0.00000015 + 12 × 0.0000006 = 0.0000297; both attempts are paid.
    let total = out.cost.unwrap();
    let usd = |s: &str| s.parse::<llm::core::Usd>().unwrap();
    assert_eq!(total.status, CostStatus::Priced);
    assert_eq!(total.breakdown.input, usd("0.0000375"), "250 input tokens");
    assert_eq!(total.breakdown.output, usd("0.0000132"), "22 output tokens");
    assert_eq!(total.total().unwrap(), usd("0.0000507"));
}

#[tokio::test]
async fn capabilities_come_from_the_catalog() {
    let client = Client::builder().build().unwrap();
    let c = client.capabilities("gpt-4o");
    assert!(c.response_schema && c.tool_calls && c.json_mode);
    assert_eq!(client.route("claude-sonnet-4-5").unwrap().provider.as_str(), "anthropic");
    let c = client.capabilities("claude-sonnet-4-5");
    assert!(!c.json_mode, "anthropic has no json mode");
    assert!(c.tool_calls);
}

/// A client whose OpenAI calls go to `server`, with `key` and no retries.
fn openai_client(server: &FakeUpstream, key: &str) -> Client {
    Client::builder()
        .api_key("openai", ApiKey::new(key))
        .api_base("openai", server.url())
        .retry(RetryPolicy::default().with_max_retries(0))
        .build()
        .unwrap()
}

#[tokio::test]
async fn real_provider_over_http_with_an_explicit_key_and_base() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(wire::openai::chat("Hello from the fake upstream", 20, 5));
    let client = openai_client(&server, "sk-facade-test-0001");
    assert_eq!(client.route("gpt-4o").unwrap().provider.as_str(), "openai");
    let r = client.chat(ask("gpt-4o", "hi")).await.unwrap();
    assert_eq!(r.text(), "Hello from the fake upstream");
    let cost = r.cost.unwrap();
    assert_eq!(cost.status, CostStatus::Priced);
    // gpt-4o: $2.50 / 1M input, $10 / 1M output: 20 × 2.5e-6 + 5 × 1e-5.
    assert_eq!(cost.total().unwrap().to_string(), "0.0001");
    let sent = server.last_request().unwrap();
    assert_eq!(sent.header("authorization"), Some("Bearer sk-facade-test-0001"));
    assert!(!format!("{client:?}").contains("sk-facade"), "keys never print");
}

/// A `*-latest` alias row is sent as its target, as LiteLLM's `get_llm_provider` renames it.
#[tokio::test]
async fn latest_aliases_are_sent_as_their_target() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(wire::openai::chat("ok", 20, 5));
    let client = openai_client(&server, "sk-facade-test-0002");
    let route = client.route("gpt-luna-latest").unwrap();
    assert_eq!((route.provider.as_str(), route.model.as_str()), ("openai", "gpt-6-luna"));
    client.chat(ask("gpt-luna-latest", "hi")).await.unwrap();
    assert_eq!(server.last_request().unwrap().json()["model"], "gpt-6-luna");
}

#[tokio::test]
async fn unresolvable_models_are_config_errors() {
    let client = Client::builder().build().unwrap();
    let e = client.chat(ask("definitely-not-a-model-xyz", "hi")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Config);
    assert!(e.to_string().contains("definitely-not-a-model-xyz"));
    assert_eq!(Client::builder().api_key("openai", ApiKey::new("  ")).build().unwrap_err().kind(), &ErrorKind::Config);
}

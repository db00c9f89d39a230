//! The cost of the OpenAI-compatible providers' documented answers, through `Client` over HTTP to the fake
//! upstream (the answers are `llm-providers`' fixtures): Perplexity's reported cost (its search fee included)
//! and, without one, its own maths with citation tokens and the catalog's `search_context_cost_per_query`;
//! Moonshot's cache reads from its top-level `cached_tokens`; DeepInfra's `estimated_cost`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm::Client;
use llm::core::{ApiKey, ChatRequest, ChatResponse, CostStatus, Message};
use llm::providers::RetryPolicy;
use llm_fake_upstream::{FakeUpstream, Reply};

fn fixture(path: &str) -> String {
    let path = format!("{}/../llm-providers/test_data/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn call(provider: &str, model: &str, reply: Reply, stream: bool) -> ChatResponse {
    let server = FakeUpstream::start().await.unwrap();
    server.push(reply);
    let client = Client::builder()
        .api_key(provider, ApiKey::new("test-key-0123456789"))
        .api_base(provider, server.url())
        .retry(RetryPolicy::default().with_max_retries(0))
        .build()
        .unwrap();
    let req = ChatRequest::new(format!("{provider}/{model}"), vec![Message::user("Weather in Lisbon?")]);
    if stream {
        let s = client.stream(req.clone()).await.unwrap();
        client.collect(&req, s).await.unwrap()
    } else {
        client.chat(req).await.unwrap()
    }
}

/// The provider's answer from its fixtures: the SSE transcript when streaming, else the JSON body.
fn answer(json: &str, sse: &str, stream: bool) -> Reply {
    if stream { Reply::sse_transcript(&fixture(sse)) } else { Reply::json(200, fixture(json)) }
}

fn cost(r: &ChatResponse) -> (CostStatus, String, String, String) {
    let c = r.cost.clone().unwrap();
    let text = |u: llm::core::Usd| u.amount().normalize().to_string();
    (c.status.clone(), text(c.prompt_cost()), text(c.completion_cost()), c.total().map(text).unwrap_or_default())
}

#[tokio::test]
async fn perplexity_reported_cost_includes_the_request_fee() {
    let r =
        call("perplexity", "sonar", Reply::json(200, fixture("perplexity/chat_response_citations_cost.json")), false)
            .await;
    // `usage.cost.total_cost`: $0.005, the low-context request fee of 1,000 requests at $5.
    assert_eq!(cost(&r), (CostStatus::ProviderReported, "0".into(), "0.005".into(), "0.005".into()));
    assert_eq!(r.cost.unwrap().catalog_key.as_deref(), Some("perplexity/sonar"));
    let r =
        call("perplexity", "sonar", Reply::sse_transcript(&fixture("perplexity/chat_stream_citations_cost.sse")), true)
            .await;
    assert_eq!(cost(&r), (CostStatus::ProviderReported, "0".into(), "0.008022".into(), "0.008022".into()));
}

#[tokio::test]
async fn perplexity_without_a_reported_cost_adds_citations_and_searches() {
    let r = call(
        "perplexity",
        "sonar-deep-research",
        Reply::json(200, fixture("perplexity/chat_response_deep_research_no_cost.json")),
        false,
    )
    .await;
    // sonar-deep-research: input $2/M, citations $2/M, output $8/M, reasoning $3/M, $5 per 1,000 searches.
    // prompt: 1,000 × 2e-6 + 5,000 citation tokens × 2e-6 = 0.012
    // completion: (3,000 − 2,000 reasoning) × 8e-6 + 2,000 × 3e-6 + 20 searches × 0.005 = 0.114
    assert_eq!(cost(&r), (CostStatus::Priced, "0.012".into(), "0.114".into(), "0.126".into()));
    let b = r.cost.unwrap().breakdown;
    assert_eq!((b.reasoning.to_string(), b.output.to_string()), ("0.006".into(), "0.108".into()));
}

/// The request fee follows the reported context size: one sonar request at `high` is $0.012.
#[tokio::test]
async fn perplexity_search_fee_follows_the_context_size() {
    let body = serde_json::json!({"id": "x", "model": "sonar", "created": 1_794_312_400, "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150, "search_context_size": "high"}});
    let r = call("perplexity", "sonar", Reply::json_value(200, &body), false).await;
    // 100 × 1e-6 in; 50 × 1e-6 + 0.012 out.
    assert_eq!(cost(&r), (CostStatus::Priced, "0.0001".into(), "0.01205".into(), "0.01215".into()));
}

#[tokio::test]
async fn moonshot_cache_reads_from_the_top_level_cached_tokens() {
    for stream in [false, true] {
        let reply = answer("moonshot/chat_response_cached.json", "moonshot/chat_stream_usage_in_choice.sse", stream);
        let r = call("moonshot", "kimi-k2.6", reply, stream).await;
        // kimi-k2.6: $0.95/M input, $0.16/M cache reads, $4/M output; 1,200 prompt tokens of which 1,024 cached.
        // 176 × 9.5e-7 + 1,024 × 1.6e-7 = 0.00033104; 9 × 4e-6 = 0.000036.
        assert_eq!(
            cost(&r),
            (CostStatus::Priced, "0.00033104".into(), "0.000036".into(), "0.00036704".into()),
            "{stream}"
        );
    }
}

#[tokio::test]
async fn deepinfra_estimated_cost_is_the_reported_cost() {
    for stream in [false, true] {
        let reply =
            answer("deepinfra/chat_response_estimated_cost.json", "deepinfra/chat_stream_estimated_cost.sse", stream);
        let r = call("deepinfra", "meta-llama/Llama-3.3-70B-Instruct", reply, stream).await;
        let (status, _, _, total) = cost(&r);
        assert_eq!((status, total.as_str()), (CostStatus::ProviderReported, "0.00000444"), "{stream}");
    }
}

//! `Client::embed` end to end over HTTP to the fake upstream: every embeddings provider priced from the catalog's
//! embedding rows (prompt tokens × input price, as LiteLLM's `completion_cost` prices embeddings; values pinned),
//! and tracked like chat (a record with call type `embedding`, spend equal to the cost).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;

use llm::Client;
use llm::core::{ApiKey, CostStatus, EmbeddingRequest, Provider, Usage, Usd};
use llm::providers::ProviderClient;
use llm::tracking::{CallType, CatalogPricer, MemoryStore, Store, Tracker};
use llm_fake_upstream::{FakeUpstream, Reply, wire::embeddings};

fn fixture(path: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../llm-providers/test_data");
    std::fs::read_to_string(format!("{dir}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn usd(s: &str) -> Usd {
    s.parse().unwrap()
}

fn client(provider: &str, server: &FakeUpstream) -> llm::ClientBuilder {
    Client::builder().api_key(provider, ApiKey::new("test-key-0123456789")).api_base(provider, server.url())
}

/// (provider, model, texts, the upstream's answer, the usage, the cost, the catalog key)
type Case = (&'static str, &'static str, Vec<&'static str>, Reply, u64, &'static str, &'static str);

#[tokio::test]
async fn every_provider_is_priced_from_the_embedding_rows() {
    let cases: Vec<Case> = vec![
        // 8 tokens × $0.02/M
        (
            "openai",
            "text-embedding-3-small",
            vec!["hello world", "goodbye"],
            Reply::json(200, fixture("openai/embeddings_response.json")),
            8,
            "0.00000016",
            "text-embedding-3-small",
        ),
        // Azure's own row: 8 tokens × $0.022/M
        (
            "azure",
            "azure/text-embedding-3-small",
            vec!["hello world", "goodbye"],
            Reply::json(200, fixture("openai/embeddings_response.json")),
            8,
            "0.000000176",
            "azure/text-embedding-3-small",
        ),
        // 15 tokens × $0.10/M
        (
            "mistral",
            "mistral/mistral-embed",
            vec!["a", "b"],
            Reply::json(200, fixture("mistral/embeddings_response.json")),
            15,
            "0.0000015",
            "mistral/mistral-embed",
        ),
        // 5 tokens × $0.008/M
        (
            "together_ai",
            "together_ai/BAAI/bge-base-en-v1.5",
            vec!["x"],
            embeddings::openai(&[vec![0.1]], 5),
            5,
            "0.00000004",
            "together_ai/BAAI/bge-base-en-v1.5",
        ),
        // no count from Gemini: 28 characters estimate to 7 tokens × $0.15/M
        (
            "gemini",
            "gemini/gemini-embedding-001",
            vec!["What is the meaning of life?"],
            Reply::json(200, fixture("gemini/embed_content_response.json")),
            7,
            "0.00000105",
            "gemini/gemini-embedding-001",
        ),
        // Titan: 6 + 4 tokens (inputTextTokenCount of each call) × $0.02/M
        (
            "bedrock",
            "bedrock/amazon.titan-embed-text-v2:0",
            vec!["first", "second"],
            Reply::json(200, fixture("bedrock/titan_embed_text_v2_response.json")),
            10,
            "0.0000002",
            "amazon.titan-embed-text-v2:0",
        ),
        // Cohere: 4 tokens from the invoke header × $0.10/M
        (
            "bedrock",
            "bedrock/cohere.embed-english-v3",
            vec!["hello world", "goodbye world"],
            Reply::json(200, fixture("bedrock/cohere_embed_response.json"))
                .header("x-amzn-bedrock-input-token-count", "4"),
            4,
            "0.0000004",
            "cohere.embed-english-v3",
        ),
    ];
    for (provider, model, texts, reply, tokens, cost, key) in cases {
        let server = FakeUpstream::start().await.unwrap();
        server.push(reply);
        server.push(embeddings::titan(&[0.5], 4));
        let c = client(provider, &server).build().unwrap();
        let req = EmbeddingRequest::many(model, texts);
        let r = if provider == "bedrock" {
            // The facade takes Bedrock's region from the environment: call the provider with one, then price
            // the answer as `Client::embed` does.
            let p = ProviderClient::builder("bedrock")
                .aws_region("us-east-1")
                .api_key(ApiKey::new("bedrock-api-key-0123"))
                .api_base(server.url())
                .build()
                .unwrap();
            let r = p.embed(&req).await.unwrap();
            let cost = c.price_embedding(&req, &r);
            r.with_cost(cost)
        } else {
            c.embed(req).await.unwrap_or_else(|e| panic!("{model}: {e}"))
        };
        assert_eq!(r.usage, Some(Usage::new(tokens, 0)), "{model}");
        let c = r.cost.unwrap();
        assert_eq!((c.status.clone(), c.catalog_key.as_deref()), (CostStatus::Priced, Some(key)), "{model}");
        assert_eq!(c.total(), Some(usd(cost)), "{model}");
        assert_eq!(c.completion_cost(), Usd::ZERO, "{model}");
    }
}

#[tokio::test]
async fn a_model_without_a_price_is_never_a_silent_zero() {
    // Ollama serves whatever it has pulled: a model the catalog does not list is `unpriced` (as LiteLLM answers
    // offline), with the usage kept.
    let server = FakeUpstream::start().await.unwrap();
    server.push(embeddings::ollama(&[vec![0.5]], 3));
    let c = Client::builder().api_base("ollama", server.url()).build().unwrap();
    let r = c.embed(EmbeddingRequest::new("ollama/my-private-embedder", "hi")).await.unwrap();
    assert_eq!(r.usage, Some(Usage::new(3, 0)));
    let cost = r.cost.unwrap();
    assert_eq!((cost.status.clone(), cost.total()), (CostStatus::Unpriced, None));
    // A name nobody knows is `unknown_model`.
    let server = FakeUpstream::start().await.unwrap();
    server.push(embeddings::openai(&[vec![0.5]], 3));
    let c = client("openai", &server).build().unwrap();
    let cost = c.embed(EmbeddingRequest::new("openai/no-such-embedder", "hi")).await.unwrap().cost.unwrap();
    assert_eq!((cost.status.clone(), cost.total()), (CostStatus::UnknownModel, None));
}

#[tokio::test]
async fn tracked_embeddings_are_recorded_with_their_call_type() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json(200, fixture("openai/embeddings_response.json")));
    let store = Arc::new(MemoryStore::new());
    let tracker = Tracker::builder().store(store.clone()).pricer(CatalogPricer::new()).build().unwrap();
    let c = client("openai", &server).tracker(tracker).user("ana").tag("rag").build().unwrap();
    let r = c.embed(EmbeddingRequest::many("openai/text-embedding-3-small", ["hello world", "goodbye"])).await.unwrap();
    assert_eq!(r.cost.as_ref().unwrap().total(), Some(usd("0.00000016")));
    c.flush().await.unwrap();
    let records = store.records(None, None, 10).await.unwrap();
    assert_eq!(records.len(), 1);
    let rec = &records[0];
    assert_eq!(rec.call_type, CallType::Embedding);
    assert_eq!(rec.spend, usd("0.00000016"));
    assert_eq!(rec.usage, Usage::new(8, 0));
    assert_eq!((rec.user.as_deref(), rec.tags.as_slice()), (Some("ana"), &["rag".to_owned()][..]));
    assert!(rec.api_key_fingerprint.is_some());
}

//! Embedding calls through `Tracked`: one record each with call type `embedding`, priced from the catalog's
//! embedding rows, attributed like chat, stored (SQLite, PostgreSQL) with the call type queryable, and held to
//! budgets (reserved before, settled after, refused when exhausted).
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use common::*;
use llm_core::{
    ChatRequest, ChatResponse, ChatStream, CostStatus, Embedding, EmbeddingRequest, EmbeddingResponse, ErrorKind,
    Provider, ProviderId, Usage,
};
use llm_tracking::store::SqliteStore;
use llm_tracking::{Budget, CallStatus, CallType, CatalogPricer, Period, Scope, Store, Tracker};
use serde_json::json;

/// An embeddings provider that reports one token per character and counts its calls.
struct Embedder {
    id: ProviderId,
    calls: AtomicUsize,
}

impl Embedder {
    fn new() -> Self {
        Self { id: "openai".into(), calls: AtomicUsize::new(0) }
    }
}

#[async_trait]
impl Provider for Embedder {
    fn id(&self) -> &ProviderId {
        &self.id
    }
    async fn chat(&self, _: &ChatRequest) -> llm_core::Result<ChatResponse> {
        unreachable!("embeddings only")
    }
    async fn stream(&self, _: &ChatRequest) -> llm_core::Result<ChatStream> {
        unreachable!("embeddings only")
    }
    async fn embed(&self, request: &EmbeddingRequest) -> llm_core::Result<EmbeddingResponse> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let tokens = request.input.iter().map(|t| t.chars().count() as u64).sum();
        let data = (0u32..).zip(&request.input).map(|(i, _)| Embedding::new(i, vec![0.5, -0.5])).collect();
        Ok(EmbeddingResponse::new(
            request.model.as_str().trim_start_matches("openai/"),
            data,
            Some(Usage::new(tokens, 0)),
        )
        .with_provider("openai"))
    }
}

/// A provider without embeddings (the trait's default).
struct ChatOnly(ProviderId);

#[async_trait]
impl Provider for ChatOnly {
    fn id(&self) -> &ProviderId {
        &self.0
    }
    async fn chat(&self, _: &ChatRequest) -> llm_core::Result<ChatResponse> {
        unreachable!("not called")
    }
    async fn stream(&self, _: &ChatRequest) -> llm_core::Result<ChatStream> {
        unreachable!("not called")
    }
}

async fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(dir.path().join("spend.db")).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedding_is_priced_and_recorded_with_its_call_type() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::builder().store(sqlite(&dir).await).pricer(CatalogPricer::new()).build().unwrap();
    let client = tracker.wrap(Embedder::new());
    // 1000 + 500 characters: 1500 tokens of text-embedding-3-small at $0.02 per million.
    let req = EmbeddingRequest::many("openai/text-embedding-3-small", ["a".repeat(1000), "b".repeat(500)])
        .with_tag("search")
        .with_metadata("user", json!("alice"))
        .with_metadata("team", json!("core"))
        .with_metadata("ticket", json!("T-1"));
    let r = client.embed(&req).await.unwrap();
    let cost = r.cost.clone().unwrap();
    assert_eq!(cost.status, CostStatus::Priced);
    assert_eq!(cost.total().unwrap(), usd("0.00003"));
    assert_eq!(cost.prompt_cost(), usd("0.00003"));
    assert_eq!(cost.catalog_key.as_deref(), Some("text-embedding-3-small"));

    tracker.flush().await.unwrap();
    let records = tracker.store().records(None, None, 10).await.unwrap();
    assert_eq!(records.len(), 1);
    let rec = &records[0];
    assert_eq!(rec.call_type, CallType::Embedding);
    assert_eq!(rec.status, CallStatus::Success);
    assert_eq!((rec.provider.as_str(), rec.model.as_str()), ("openai", "text-embedding-3-small"));
    assert_eq!(rec.usage, Usage::new(1500, 0));
    assert_eq!(rec.spend, usd("0.00003"));
    assert_eq!((rec.user.as_deref(), rec.team.as_deref()), (Some("alice"), Some("core")));
    assert_eq!(rec.tags, ["search"]);
    assert_eq!(rec.metadata.get("ticket"), Some(&json!("T-1")));
    assert!(rec.content.is_none());
    assert_eq!(serde_json::to_value(rec).unwrap()["call_type"], "embedding");

    // The view the SQL reports read has the call type as a column.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", dir.path().join("spend.db").display())).await.unwrap();
    let types: Vec<String> = sqlx::query_scalar("SELECT call_type FROM spend_log_view").fetch_all(&pool).await.unwrap();
    assert_eq!(types, ["embedding"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_blocks_an_embedding_once_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::builder().store(sqlite(&dir).await).pricer(CatalogPricer::new()).build().unwrap();
    let scope = Scope::Tag("emb".into());
    // $0.00002: the first call reserves its estimate (1000 characters / 4 = 250 tokens, $0.000005) and spends
    // 1000 tokens ($0.00002); then the budget is exhausted and the next estimate does not fit.
    tracker.set_budget(&Budget::new(scope.clone(), Period::Total).with_max(usd("0.00002"))).await.unwrap();
    let provider = Arc::new(Embedder::new());
    let client = tracker.wrap(Arc::clone(&provider));
    let req = EmbeddingRequest::new("openai/text-embedding-3-small", "x".repeat(1000)).with_tag("emb");
    client.embed(&req).await.unwrap();
    tracker.flush().await.unwrap();
    let status = tracker.budgets().await.unwrap().into_iter().find(|b| b.budget.scope == scope).unwrap();
    assert_eq!((status.spent, status.reserved), (usd("0.00002"), usd("0")));

    let refused = client.embed(&req).await.unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::BudgetExceeded);
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1, "the refused call was not sent");
    tracker.flush().await.unwrap();
    let records = tracker.store().records(None, None, 10).await.unwrap();
    let failed = records.iter().find(|r| r.status == CallStatus::Failure).unwrap();
    assert_eq!(failed.call_type, CallType::Embedding);
    assert_eq!(failed.error_kind.as_deref(), Some("budget_exceeded"));
}

#[tokio::test]
async fn a_provider_without_embeddings_fails_typed_and_is_recorded() {
    let tracker = Tracker::builder().pricer(CatalogPricer::new()).build().unwrap();
    let client = tracker.wrap(ChatOnly("anthropic".into()));
    let err = client.embed(&EmbeddingRequest::new("claude-sonnet-4-5", "x")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unsupported);
    tracker.flush().await.unwrap();
    let records = tracker.store().records(None, None, 10).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].call_type, records[0].error_kind.as_deref()), (CallType::Embedding, Some("unsupported")));
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_call_type_in_its_column() {
    let Some(store) = pg_store_in_own_schema().await else { return };
    let pool = store.pool().clone();
    let tracker = Tracker::builder().store(Arc::new(store)).pricer(CatalogPricer::new()).build().unwrap();
    tracker
        .wrap(Embedder::new())
        .embed(&EmbeddingRequest::new("openai/text-embedding-3-small", "hello"))
        .await
        .unwrap();
    tracker.flush().await.unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT call_type, spend::text FROM spend_log").fetch_all(&pool).await.unwrap();
    assert_eq!(rows, [("embedding".to_owned(), "0.0000001".to_owned())]);
    let records = tracker.store().records(None, None, 10).await.unwrap();
    assert_eq!(records[0].call_type, CallType::Embedding);
}

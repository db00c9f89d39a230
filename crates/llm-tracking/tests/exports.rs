//! Exports and alerts: the JSONL sink and export, tracing spans with `gen_ai.*` fields, the webhook alert
//! sink, and no API key anywhere (records, JSONL, stores, spans, logs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use llm_core::mock::MockProvider;
use llm_core::{ApiKey, ChatRequest, ChatResponse, ChatStream, Error, ErrorKind, Provider, ProviderId, collect_stream};
#[cfg(feature = "webhook")]
use llm_tracking::Scope;
use llm_tracking::export::{JsonlSink, export_jsonl};
use llm_tracking::{Budget, CallRecord, Hook, HookError, Period, Store, Tracker};
use serde_json::json;

const KEY: &str = "sk-live-PLANTED0123456789abcdefXYZ";

/// A tracing subscriber that writes every span field and event into a string.
#[derive(Clone, Default)]
struct CaptureTracing {
    out: Arc<Mutex<String>>,
    next: Arc<AtomicU64>,
}

struct Visit<'a>(&'a mut String);

impl tracing::field::Visit for Visit<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl tracing::Subscriber for CaptureTracing {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut out = self.out.lock().unwrap();
        let _ = write!(out, "\nspan {}:", span.metadata().name());
        span.record(&mut Visit(&mut out));
        tracing::span::Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut out = self.out.lock().unwrap();
        out.push_str("\nrecord:");
        values.record(&mut Visit(&mut out));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.out.lock().unwrap();
        let _ = write!(out, "\nevent {}:", event.metadata().level());
        event.record(&mut Visit(&mut out));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Fails calls tagged `leak` with an error that quotes the key, like a careless provider would.
struct Leaky(MockProvider);

#[async_trait]
impl Provider for Leaky {
    fn id(&self) -> &ProviderId {
        self.0.id()
    }
    async fn chat(&self, request: &ChatRequest) -> llm_core::Result<ChatResponse> {
        if request.tags.iter().any(|t| t == "leak") {
            return Err(Error::new(ErrorKind::Auth, format!("Incorrect API key provided: {KEY}"))
                .with_body(&format!("{{\"error\": \"bad key {KEY}\"}}")));
        }
        self.0.chat(request).await
    }
    async fn stream(&self, request: &ChatRequest) -> llm_core::Result<ChatStream> {
        self.0.stream(request).await
    }
}

/// A hook whose error message quotes the key.
struct LeakyHook;

#[async_trait]
impl Hook for LeakyHook {
    async fn on_success(&self, _record: &CallRecord) -> Result<(), HookError> {
        Err(format!("could not post with key {KEY}").into())
    }
}

#[tokio::test]
async fn no_api_key_anywhere() {
    let tracing_out = CaptureTracing::default();
    let _guard = tracing::subscriber::set_default(tracing_out.clone());
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("calls.jsonl");
    let db = dir.path().join("spend.db");
    let capture = Arc::new(Capture::default());

    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    #[cfg(feature = "sqlite")]
    stores.push(Arc::new(llm_tracking::store::SqliteStore::open(&db).await.unwrap()));
    #[cfg(feature = "postgres")]
    let pg = common::pg_store_in_own_schema().await;
    #[cfg(feature = "postgres")]
    if let Some(s) = &pg {
        stores.push(Arc::new(s.clone()));
    }
    stores.push(Arc::new(llm_tracking::MemoryStore::new()));

    let key = ApiKey::new(KEY);
    let mut fingerprints = Vec::new();
    for store in &stores {
        let tracker = Tracker::builder()
            .pricer(pricer())
            .store(store.clone())
            .hook(JsonlSink::new(&jsonl))
            .hook(LeakyHook)
            .hook_arc(capture.clone())
            .log_content(true)
            .build()
            .unwrap();
        tracker.set_budget(&Budget::new(tracker.key_scope(&key), Period::Daily).with_max(usd("10"))).await.unwrap();
        let fingerprint = tracker.key_fingerprint(&key);
        assert_ne!(fingerprint, key.fingerprint(), "keyed with the store's secret, not a bare hash");
        assert_eq!(fingerprint.len(), 64);
        fingerprints.push(fingerprint.clone());
        let client = tracker.wrap(Leaky(MockProvider::new())).with_api_key(&key);
        let req = request().with_user("alice").with_metadata("note", json!(format!("my key is {KEY}")));
        client.chat(&req).await.unwrap();
        collect_stream(client.stream(&req).await.unwrap()).await.unwrap();
        let err = client.chat(&req.clone().with_tag("leak")).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Auth);
        tracker.flush().await.unwrap();
        tracker.drain_hooks(Duration::from_secs(5)).await;

        // The spend is grouped under the key's fingerprint.
        let by_key = tracker.report(&llm_tracking::ReportQuery::new(llm_tracking::GroupBy::Key)).await.unwrap();
        assert_eq!(by_key.rows[0].key, fingerprint);
        let exported = {
            let mut buf = Vec::new();
            assert_eq!(export_jsonl(store.as_ref(), None, None, &mut buf).await.unwrap(), 3);
            String::from_utf8(buf).unwrap()
        };
        assert!(exported.contains(&fingerprint));
        assert!(!exported.contains(&key.fingerprint()), "a bare hash would let a copy of the store confirm a guess");
        assert!(!exported.contains(KEY), "{} export: {exported}", store.name());
        let budgets = serde_json::to_string(&tracker.budgets().await.unwrap()).unwrap();
        assert!(!budgets.contains(KEY), "{budgets}");
        tracker.shutdown().await.unwrap();
    }

    let records = capture.records.lock().unwrap().clone();
    assert_eq!(records.len(), 3 * stores.len());
    let all = serde_json::to_string(&records).unwrap();
    assert!(fingerprints.iter().all(|f| all.contains(f.as_str())), "the fingerprint is recorded");
    assert!(all.contains("<redacted>"), "the key in metadata and in the error was redacted");
    assert!(!all.contains(KEY), "{all}");
    let lines = std::fs::read_to_string(&jsonl).unwrap();
    assert_eq!(lines.lines().count(), 3 * stores.len());
    assert!(!lines.contains(KEY));
    // Every file the SQLite store wrote (database, WAL), byte for byte.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "key found in a file");
    }
    #[cfg(feature = "postgres")]
    if let Some(pg) = pg {
        let rows = pg.records(None, None, 100).await.unwrap();
        assert_eq!(rows.len(), 3);
        assert!(!serde_json::to_string(&rows).unwrap().contains(KEY));
        pg.drop_schema().await.unwrap();
    }
    let traced = tracing_out.out.lock().unwrap().clone();
    assert!(traced.contains("gen_ai.provider.name=mock"), "{traced}");
    assert!(traced.contains("tracking hook failed"), "the failing hook was logged: {traced}");
    assert!(!traced.contains(KEY), "{traced}");
}

#[tokio::test]
async fn spans_carry_gen_ai_attributes() {
    let tracing_out = CaptureTracing::default();
    let _guard = tracing::subscriber::set_default(tracing_out.clone());
    let tracker = Tracker::builder().pricer(pricer()).build().unwrap();
    let client = tracker.wrap(MockProvider::new().with_id("openai"));
    client.chat(&request()).await.unwrap();
    let traced = tracing_out.out.lock().unwrap().clone();
    for want in [
        "span gen_ai.chat:",
        "gen_ai.operation.name=chat",
        "gen_ai.provider.name=openai",
        "gen_ai.request.model=mock/gpt-4o",
        "gen_ai.request.max_tokens=50",
        "gen_ai.response.model=gpt-4o",
        "gen_ai.usage.input_tokens=10",
        "gen_ai.usage.output_tokens=7",
        "gen_ai.usage.cost_usd=0.000024",
        "gen_ai.usage.cost_status=priced",
        "llm.status=success",
    ] {
        assert!(traced.contains(want), "missing {want} in {traced}");
    }
    assert!(!traced.contains("llm.retries"), "no retries, no field: {traced}");
    client.chat(&request().with_metadata("retry_attempts", serde_json::json!(2))).await.unwrap();
    let traced = tracing_out.out.lock().unwrap().clone();
    assert!(traced.contains("llm.retries=2"), "{traced}");
}

#[tokio::test]
async fn jsonl_sink_writes_one_line_per_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.jsonl");
    let tracker = Tracker::builder().pricer(pricer()).hook(JsonlSink::new(&path)).build().unwrap();
    let client = tracker.wrap(MockProvider::new());
    for i in 0..5 {
        client.chat(&request().with_tag(format!("t{i}"))).await.unwrap();
    }
    tracker.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let records: Vec<CallRecord> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 5);
    assert_eq!(records.iter().map(|r| r.tags[0].clone()).collect::<Vec<_>>(), ["t0", "t1", "t2", "t3", "t4"]);
    assert!(records.iter().all(|r| r.spend == usd("0.000024")));
}

#[cfg(feature = "webhook")]
#[tokio::test]
async fn webhook_alerts_are_sent_once_per_threshold() {
    let (url, bodies) = webhook_server().await;
    let tracker =
        Tracker::builder().pricer(pricer()).alert_sink(llm_tracking::WebhookSink::new(&url).unwrap()).build().unwrap();
    let alice = Scope::User("alice".into());
    tracker
        .set_budget(&Budget::new(alice, Period::Daily).with_max(usd("0.0002")).with_soft(usd("0.00005")))
        .await
        .unwrap();
    let client = tracker.wrap(MockProvider::new());
    let req = request().with_user("alice");
    let mut refused = 0;
    for _ in 0..8 {
        if client.chat(&req).await.is_err() {
            refused += 1;
        }
    }
    assert_eq!(refused, 4, "4 calls fit under $0.0002 with a $0.000109 estimate");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while bodies.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "one soft and one hard alert, deduplicated: {bodies:?}");
    let texts: Vec<String> = bodies
        .iter()
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(texts.iter().any(|t| t.contains("soft limit reached: user:alice")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("hard limit reached: user:alice")), "{texts:?}");
    assert_eq!(tracker.stats().alerts_sent, 2);
}

/// A key with no recognizable shape (a self-hosted server's, a LiteLLM proxy's) is redacted because the client
/// holds it, wherever it appears: the error, the record, a span; and a fingerprint secret from the builder
/// keys the fingerprint.
#[tokio::test]
async fn keys_without_a_known_prefix_are_redacted_too() {
    let tracing_out = CaptureTracing::default();
    let _guard = tracing::subscriber::set_default(tracing_out.clone());
    let key = ApiKey::new("vllm-PLANTED-token");
    let store: Arc<dyn Store> = Arc::new(llm_tracking::MemoryStore::new());
    let tracker =
        Tracker::builder().pricer(pricer()).store(store.clone()).fingerprint_secret("s3cret").build().unwrap();
    assert_eq!(tracker.key_fingerprint(&key), key.fingerprint_keyed(b"s3cret"));
    let client = tracker.wrap(Quoting(key.clone())).with_api_key(&key);
    let err = client.chat(&request()).await.unwrap_err();
    assert_eq!(err.message(), "invalid key <redacted> for this server");
    tracker.flush().await.unwrap();
    let records = serde_json::to_string(&store.records(None, None, 10).await.unwrap()).unwrap();
    assert!(records.contains("<redacted>") && !records.contains("PLANTED"), "{records}");
    let traced = tracing_out.out.lock().unwrap().clone();
    assert!(!traced.contains("PLANTED"), "{traced}");
    tracker.shutdown().await.unwrap();
}

/// Fails every call quoting its key, as some self-hosted servers do.
struct Quoting(ApiKey);

#[async_trait]
impl Provider for Quoting {
    fn id(&self) -> &ProviderId {
        static ID: std::sync::LazyLock<ProviderId> = std::sync::LazyLock::new(|| ProviderId::new("hosted_vllm"));
        &ID
    }
    async fn chat(&self, _request: &ChatRequest) -> llm_core::Result<ChatResponse> {
        Err(Error::new(ErrorKind::Auth, format!("invalid key {} for this server", self.0.expose())))
    }
    async fn stream(&self, _request: &ChatRequest) -> llm_core::Result<ChatStream> {
        Err(Error::new(ErrorKind::Auth, format!("invalid key {}", self.0.expose())))
    }
}

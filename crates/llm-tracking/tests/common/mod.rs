//! Helpers shared by the integration tests.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use llm_core::{ChatRequest, ChatResponse, ChatStream, Message, Provider, ProviderId, Usd};
use llm_tracking::store::ExportSpan;
use llm_tracking::{
    Budget, BudgetStatus, CallRecord, CallStart, FixedPricer, Hold, Hook, HookError, Period, Reservation,
    ReserveOutcome, RollupRow, Scope, Store, StreamChunk, Timestamp,
};

/// The PostgreSQL server the tests use: `LLM_TEST_PG_URL` when it is set, else the local server at
/// `postgres://postgres@127.0.0.1:5432/test` when something answers on 127.0.0.1:5432 within half a second.
/// Without either the test is skipped with a printed reason (`None`) — except under `CI=true`, where a skipped
/// service test is a failure and this panics.
pub fn pg_url() -> Option<String> {
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    pg_url_with(std::env::var("LLM_TEST_PG_URL").ok(), local, ci)
}

/// [`pg_url`] with its inputs given: the variable's value, the local address to try, and whether this is CI.
pub fn pg_url_with(var: Option<String>, local: std::net::SocketAddr, ci: bool) -> Option<String> {
    if let Some(url) = var.filter(|u| !u.is_empty()) {
        return Some(url);
    }
    if std::net::TcpStream::connect_timeout(&local, Duration::from_millis(500)).is_ok() {
        return Some(format!("postgres://postgres@{local}/test"));
    }
    let reason = format!("LLM_TEST_PG_URL is not set and no PostgreSQL answers on {local}");
    if ci {
        panic!("{reason}: under CI=true a PostgreSQL test may not be skipped");
    }
    println!("skipped: {reason} (set it, e.g. LLM_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test)");
    None
}

pub fn usd(s: &str) -> Usd {
    s.parse().unwrap()
}

/// gpt-4o at $1 per million input tokens and $2 per million output tokens.
/// Loads gpt-4o's vocabulary first, so budget reservations count its prompts exactly from the first call
/// (a tracker estimates by characters while the vocabulary loads in the background).
pub fn pricer() -> FixedPricer {
    llm_tokens::Encoding::O200kBase.preload();
    FixedPricer::new().with_model("gpt-4o", usd("0.000001"), usd("0.000002"))
}

/// "Hello there": the mock counts 10 prompt tokens and replies "You said: Hello there" (7 tokens).
pub fn request() -> ChatRequest {
    ChatRequest::new("mock/gpt-4o", vec![Message::user("Hello there")]).with_max_tokens(50)
}

/// A provider that waits before delegating, so concurrent calls overlap.
pub struct Slow<P> {
    pub inner: P,
    pub delay: Duration,
}

#[async_trait]
impl<P: Provider> Provider for Slow<P> {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }
    async fn chat(&self, request: &ChatRequest) -> llm_core::Result<ChatResponse> {
        tokio::time::sleep(self.delay).await;
        self.inner.chat(request).await
    }
    async fn stream(&self, request: &ChatRequest) -> llm_core::Result<ChatStream> {
        tokio::time::sleep(self.delay).await;
        self.inner.stream(request).await
    }
}

/// A hook that keeps everything it sees.
#[derive(Default)]
pub struct Capture {
    pub starts: Mutex<Vec<CallStart>>,
    pub records: Mutex<Vec<CallRecord>>,
    pub chunks: AtomicU64,
    pub chunk_events: Mutex<Vec<String>>,
}

#[async_trait]
impl Hook for Capture {
    fn name(&self) -> &str {
        "capture"
    }
    async fn before_call(&self, call: &CallStart) -> Result<(), HookError> {
        self.starts.lock().unwrap().push(call.clone());
        Ok(())
    }
    async fn on_success(&self, record: &CallRecord) -> Result<(), HookError> {
        self.records.lock().unwrap().push(record.clone());
        Ok(())
    }
    async fn on_failure(&self, record: &CallRecord) -> Result<(), HookError> {
        self.records.lock().unwrap().push(record.clone());
        Ok(())
    }
    async fn on_stream_chunk(&self, chunk: &StreamChunk) -> Result<(), HookError> {
        self.chunks.fetch_add(1, Ordering::Relaxed);
        self.chunk_events.lock().unwrap().push(format!("{:?}", chunk.event));
        Ok(())
    }
    fn wants_stream_chunks(&self) -> bool {
        true
    }
}

/// What a [`Flaky`] store runs each time a span is recorded done, with its count from 1 (after the object was written,
/// before it is recorded): an error fails that call.
pub type OnFinish = Box<dyn Fn(u64) -> llm_tracking::Result<()> + Send + Sync>;

/// A store that can be switched off: every method fails while it is down. Spend-export progress goes through
/// it too, and `on_finish` runs each time a span is recorded done.
pub struct Flaky {
    pub inner: Arc<dyn Store>,
    pub down: AtomicBool,
    finishes: AtomicU64,
    on_finish: Option<OnFinish>,
}

impl Flaky {
    pub fn new(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self::with_on_finish(inner, None))
    }

    /// A store that is up and runs `on_finish` each time a span is recorded done.
    pub fn with_on_finish(inner: Arc<dyn Store>, on_finish: Option<OnFinish>) -> Self {
        Self { inner, down: AtomicBool::new(false), finishes: AtomicU64::new(0), on_finish }
    }
    fn check(&self) -> llm_tracking::Result<()> {
        if self.down.load(Ordering::SeqCst) { Err(llm_tracking::Error::store("store is down")) } else { Ok(()) }
    }
}

#[async_trait]
impl Store for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    async fn append(&self, records: &[Arc<CallRecord>]) -> llm_tracking::Result<u64> {
        self.check()?;
        self.inner.append(records).await
    }
    async fn set_budget(&self, budget: &Budget) -> llm_tracking::Result<()> {
        self.check()?;
        self.inner.set_budget(budget).await
    }
    async fn remove_budget(&self, scope: &Scope, period: Period) -> llm_tracking::Result<bool> {
        self.check()?;
        self.inner.remove_budget(scope, period).await
    }
    async fn budgets(&self, now: Timestamp) -> llm_tracking::Result<Vec<BudgetStatus>> {
        self.check()?;
        self.inner.budgets(now).await
    }
    async fn reserve(&self, scopes: &[Scope], hold: Hold) -> llm_tracking::Result<ReserveOutcome> {
        self.check()?;
        self.inner.reserve(scopes, hold).await
    }
    async fn settle(
        &self,
        reservation: &Reservation,
        actual: Usd,
        now: Timestamp,
    ) -> llm_tracking::Result<Vec<BudgetStatus>> {
        self.check()?;
        self.inner.settle(reservation, actual, now).await
    }
    async fn rollups(
        &self,
        dim: &str,
        from: Option<llm_tracking::Day>,
        to: Option<llm_tracking::Day>,
    ) -> llm_tracking::Result<Vec<RollupRow>> {
        self.check()?;
        self.inner.rollups(dim, from, to).await
    }
    async fn records(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        limit: usize,
    ) -> llm_tracking::Result<Vec<CallRecord>> {
        self.check()?;
        self.inner.records(from, to, limit).await
    }
    async fn count_records(&self) -> llm_tracking::Result<u64> {
        self.check()?;
        self.inner.count_records().await
    }
    async fn records_after(&self, page: llm_tracking::RecordPage<'_>) -> llm_tracking::Result<Vec<CallRecord>> {
        self.check()?;
        self.inner.records_after(page).await
    }
    async fn export_spans(&self, dest: &str, format: &str) -> llm_tracking::Result<Vec<ExportSpan>> {
        self.check()?;
        self.inner.export_spans(dest, format).await
    }
    async fn record_export(
        &self,
        dest: &str,
        format: &str,
        span: ExportSpan,
        now: Timestamp,
    ) -> llm_tracking::Result<()> {
        self.check()?;
        if !span.pending {
            let n = self.finishes.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(f) = &self.on_finish {
                f(n)?;
            }
        }
        self.inner.record_export(dest, format, span, now).await
    }
}

/// Redactions for record snapshots.
#[macro_export]
macro_rules! assert_record_snapshot {
    ($name:expr, $value:expr) => {
        insta::assert_json_snapshot!($name, $value, {
            ".id" => "[id]",
            ".trace_id" => "[id]",
            ".start_time" => "[time]",
            ".end_time" => "[time]",
            ".first_token_time" => "[time]",
            ".latency_ms" => "[latency]",
        })
    };
}

/// A TCP proxy in front of a server that can be switched off (closing every connection and refusing new
/// ones) and on again: a database that goes down and comes back.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                conns2.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Self { addr, up, conns, accept }
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            for c in self.conns.lock().unwrap().drain(..) {
                c.abort();
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.set_up(false);
    }
}

/// `url` with its `host:port` replaced by `addr`.
pub fn via(url: &str, addr: std::net::SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (cred, hostpath) = match rest.split_once('@') {
        Some((c, h)) => (format!("{c}@"), h),
        None => (String::new(), rest),
    };
    let path = hostpath.find('/').map_or("", |i| &hostpath[i..]);
    format!("{scheme}://{cred}{addr}{path}")
}

/// A PostgreSQL store in a schema of its own (drop it with `drop_schema`), when a server is found ([`pg_url`]).
#[cfg(feature = "postgres")]
pub async fn pg_store_in_own_schema() -> Option<llm_tracking::store::PostgresStore> {
    let url = pg_url()?;
    let schema = format!("llmtrk_{}", &llm_tracking::new_id()[..16]);
    Some(llm_tracking::store::PostgresStore::connect_with(&url, Some(&schema), 2).await.unwrap())
}

/// A webhook receiver on 127.0.0.1: keeps every request body, answers 200 `ok`.
pub async fn webhook_server() -> (String, Arc<Mutex<Vec<String>>>) {
    scripted_webhook(Vec::new()).await
}

/// A webhook receiver on 127.0.0.1 that keeps every request body and answers the n-th request with the n-th
/// scripted `(status, extra header lines)` (200 `ok` once the script is used up).
pub async fn scripted_webhook(script: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let keep = bodies.clone();
    let script = Arc::new(Mutex::new(std::collections::VecDeque::from(script)));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (keep, script) = (keep.clone(), script.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some(end) = text.find("\r\n\r\n") else { continue };
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        keep.lock().unwrap().push(text[end + 4..end + 4 + len].to_owned());
                        let (status, headers) = script.lock().unwrap().pop_front().unwrap_or((200, ""));
                        let reply =
                            format!("HTTP/1.1 {status} X\r\n{headers}content-length: 2\r\nconnection: close\r\n\r\nok");
                        let _ = sock.write_all(reply.as_bytes()).await;
                        return;
                    }
                }
            });
        }
    });
    (url, bodies)
}

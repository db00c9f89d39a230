//! Benchmarks of llm-tracking, with their own harness (percentiles matter here, not just means):
//!
//! - the hot-path cost `Tracked<P>` adds to a call (p50/p99 over many calls, against the bare provider),
//!   with the in-memory store, with a hard budget to check, and with a hook;
//! - sustained records per second into SQLite (and PostgreSQL when `LLM_TEST_PG_URL` is set), both
//!   through `Store::append` in batches and end to end through the tracker's writer.
//!
//! Run: `cargo bench -p llm-tracking --all-features` (release build). `LLM_BENCH_CALLS` and
//! `LLM_BENCH_RECORDS` change the sample sizes; `LLM_BENCH_SQLITE_DIR` where the SQLite file goes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use llm_core::{ChatRequest, ChatResponse, ChatStream, Choice, Message, Provider, ProviderId, Usage, Usd};
use llm_tracking::{Budget, CallRecord, FixedPricer, Hook, HookError, Period, Scope, Store, Timestamp, Tracker};

/// A provider that answers instantly with a fixed response, so only tracking is measured.
struct Instant0 {
    id: ProviderId,
    response: ChatResponse,
}

#[async_trait]
impl Provider for Instant0 {
    fn id(&self) -> &ProviderId {
        &self.id
    }
    async fn chat(&self, _request: &ChatRequest) -> llm_core::Result<ChatResponse> {
        Ok(self.response.clone())
    }
    async fn stream(&self, _request: &ChatRequest) -> llm_core::Result<ChatStream> {
        Err(llm_core::Error::config("not streamed"))
    }
}

fn provider() -> Instant0 {
    let choice = Choice::new(0, Message::assistant("Hello! How can I help you today?"), None);
    Instant0 {
        id: ProviderId::new("openai"),
        response: ChatResponse::new("chatcmpl-1", "gpt-4o", vec![choice], Some(Usage::new(25, 9))),
    }
}

fn usd(s: &str) -> Usd {
    s.parse().unwrap()
}

fn pricer() -> FixedPricer {
    FixedPricer::new().with_model("gpt-4o", usd("0.0000025"), usd("0.00001"))
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o", vec![Message::system("Be brief."), Message::user("Hello there, how are you?")])
        .with_max_tokens(100)
        .with_user("alice")
        .with_tag("bench")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn sample<P: Provider>(p: &P, n: usize) -> Vec<Duration> {
    let req = request();
    for _ in 0..n / 10 {
        let _ = p.chat(&req).await.unwrap();
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = p.chat(&req).await.unwrap();
        out.push(t.elapsed());
        std::hint::black_box(r);
    }
    out.sort();
    out
}

/// A hook that takes records only, as a logger or an exporter does.
struct NoopHook;

#[async_trait]
impl Hook for NoopHook {
    async fn on_success(&self, record: &CallRecord) -> Result<(), HookError> {
        std::hint::black_box(record);
        Ok(())
    }

    fn wants_before_call(&self) -> bool {
        false
    }
}

/// A hook that also takes the start of every call.
struct NoopStartHook;

#[async_trait]
impl Hook for NoopStartHook {
    async fn before_call(&self, call: &llm_tracking::CallStart) -> Result<(), HookError> {
        std::hint::black_box(call);
        Ok(())
    }

    async fn on_success(&self, record: &CallRecord) -> Result<(), HookError> {
        std::hint::black_box(record);
        Ok(())
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn hot_path() {
    // Reservations count gpt-4o's prompt with its tokenizer once its vocabulary is loaded; load it first.
    llm_tokens::Encoding::O200kBase.preload();
    let n = env_usize("LLM_BENCH_CALLS", 200_000);
    let bare = sample(&provider(), n).await;
    println!("\n## hot path: {n} calls each (microseconds per call)\n");
    println!("| configuration | p50 | p99 | p99.9 | added p50 | added p99 |");
    println!("|---|---|---|---|---|---|");
    let row = |name: &str, s: &[Duration]| {
        let (p50, p99, p999) = (percentile(s, 0.5), percentile(s, 0.99), percentile(s, 0.999));
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            us(p50),
            us(p99),
            us(p999),
            us(p50) - us(percentile(&bare, 0.5)),
            us(p99) - us(percentile(&bare, 0.99))
        );
    };
    row("bare provider", &bare);

    let t = Tracker::builder().pricer(pricer()).budgets(false).write_buffer(n * 2).build().unwrap();
    row("tracked: price + record (memory store, budgets off)", &sample(&t.wrap(provider()), n).await);
    t.shutdown().await.unwrap();

    let t = Tracker::builder().pricer(pricer()).write_buffer(n * 2).build().unwrap();
    row("tracked: + budget check, no budget set", &sample(&t.wrap(provider()), n).await);
    t.shutdown().await.unwrap();

    // The reservation's prompt counted with gpt-4o's tokenizer (the default), then by characters (the estimate
    // before llm-tokens), in the same run.
    for (name, estimate) in [
        ("tracked: + 2 hard budgets (memory store)", llm_tracking::TokenEstimate::Tokenizer),
        ("tracked: + 2 hard budgets, characters estimate", llm_tracking::TokenEstimate::Characters),
    ] {
        let t = Tracker::builder().pricer(pricer()).token_estimate(estimate).write_buffer(n * 2).build().unwrap();
        t.set_budget(&Budget::new(Scope::User("alice".into()), Period::Daily).with_max(usd("1000000"))).await.unwrap();
        t.set_budget(&Budget::new(Scope::Global, Period::Monthly).with_max(usd("1000000"))).await.unwrap();
        row(name, &sample(&t.wrap(provider()), n).await);
        t.shutdown().await.unwrap();
    }

    let t = Tracker::builder().pricer(pricer()).hook(NoopHook).write_buffer(n * 2).build().unwrap();
    row("tracked: + 1 hook (records only)", &sample(&t.wrap(provider()), n).await);
    t.shutdown().await.unwrap();

    let t = Tracker::builder().pricer(pricer()).hook(NoopStartHook).write_buffer(n * 2).build().unwrap();
    row("tracked: + 1 hook taking before_call too", &sample(&t.wrap(provider()), n).await);
    t.shutdown().await.unwrap();

    let t = Tracker::builder().pricer(llm_tracking::CatalogPricer::new()).write_buffer(n * 2).build().unwrap();
    row("tracked: llm-cost catalog pricer", &sample(&t.wrap(provider()), n).await);
    t.shutdown().await.unwrap();

    #[cfg(feature = "sqlite")]
    {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(llm_tracking::store::SqliteStore::open(dir.path().join("b.db")).await.unwrap());
        let t = Tracker::builder().pricer(pricer()).store(store).write_buffer(n * 2).build().unwrap();
        row(
            "tracked: SQLite store, budget check on, no budget set (cached)",
            &sample(&t.wrap(provider()), n / 10).await,
        );
        t.shutdown().await.unwrap();

        // What `llm::Client` sets up: the SQLite store, the llm-cost catalog, budgets checked.
        let store = Arc::new(llm_tracking::store::SqliteStore::open(dir.path().join("c.db")).await.unwrap());
        let t = Tracker::builder()
            .pricer(llm_tracking::CatalogPricer::new())
            .store(store)
            .write_buffer(n * 2)
            .build()
            .unwrap();
        row(
            "tracked: SQLite store + llm-cost catalog pricer, no budget set (the facade's setup)",
            &sample(&t.wrap(provider()), n / 10).await,
        );
        t.shutdown().await.unwrap();
    }
}

fn records(n: usize) -> Vec<Arc<CallRecord>> {
    let start = Timestamp::now();
    let models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"];
    (0..n)
        .map(|i| {
            let mut b = llm_core::CostBreakdown::default();
            b.input = usd("0.0000625");
            b.output = usd("0.00009");
            let cost = llm_core::Cost::new(llm_core::CostStatus::Priced, b).with_catalog(models[i % 4], "bench");
            let r = CallRecord::new("openai", models[i % 4], start.plus_micros(i as i64))
                .with_usage(Usage::new(25, 9))
                .with_cost(cost)
                .with_user(format!("user{}", i % 50))
                .with_tag("bench");
            Arc::new(if i % 3 == 0 { r.with_team("core") } else { r })
        })
        .collect()
}

async fn throughput(name: &str, store: Arc<dyn Store>) {
    let n = env_usize("LLM_BENCH_RECORDS", 200_000);
    let recs = records(n);
    let t = Instant::now();
    for chunk in recs.chunks(2000) {
        store.append(chunk).await.unwrap();
    }
    let direct = t.elapsed();
    let recs = records(n);
    let tracker = Tracker::builder().store(store.clone()).batch_size(2000).write_buffer(n + 1).build().unwrap();
    let t = Instant::now();
    for r in recs {
        tracker.emit(Arc::unwrap_or_clone(r));
    }
    let stats = tracker.shutdown().await.unwrap();
    let writer = t.elapsed();
    assert_eq!(stats.records_persisted as usize, n);
    assert_eq!(store.count_records().await.unwrap() as usize, 2 * n);
    println!("| {name} | {n} | {:.0} | {:.0} |", n as f64 / direct.as_secs_f64(), n as f64 / writer.as_secs_f64());
}

/// What the OpenTelemetry export costs per record, off the call's path (on the hook's worker): building the
/// span, and `OtelExporter::record` (span queued plus the three metric instruments), with the exporter sending
/// to a loopback receiver in the background.
#[cfg(feature = "otel")]
async fn otel() {
    use llm_tracking::otel::{OtelConfig, OtelExporter, span_data};
    let n = env_usize("LLM_BENCH_OTEL_RECORDS", 100_000);
    let recs = records(n);
    let scope = opentelemetry::InstrumentationScope::builder("bench").build();
    let t = Instant::now();
    for r in &recs {
        std::hint::black_box(span_data(r, &scope, false));
    }
    let build = t.elapsed();
    let server = llm_fake_upstream::FakeUpstream::start().await.unwrap();
    server.set_default(llm_fake_upstream::Reply::new(200));
    let mut config = OtelConfig::default().with_endpoint(server.url());
    config.max_queue = n + 1;
    let exporter = OtelExporter::new(config).unwrap();
    let t = Instant::now();
    for r in &recs {
        exporter.record(r);
    }
    let record = t.elapsed();
    exporter.flush().await.unwrap();
    let sent = t.elapsed();
    assert_eq!(exporter.stats().exported_spans as usize, n);
    println!("\n## OpenTelemetry export ({n} records)\n");
    println!("| step | per record |");
    println!("|---|---|");
    println!("| span_data (the span built from a record) | {:.2} µs |", us(build) / n as f64);
    println!("| OtelExporter::record (span queued, metric points recorded) | {:.2} µs |", us(record) / n as f64);
    println!("| the same, plus sending every span over OTLP/HTTP to loopback | {:.2} µs |", us(sent) / n as f64);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        hot_path().await;
        #[cfg(feature = "otel")]
        otel().await;
        println!("\n## sustained writes (records per second)\n");
        println!("| store | records | Store::append, batches of 2000 | through the tracker's writer |");
        println!("|---|---|---|---|");
        throughput("memory", Arc::new(llm_tracking::MemoryStore::new().with_max_records(1_000_000))).await;
        #[cfg(feature = "sqlite")]
        {
            // LLM_BENCH_SQLITE_DIR puts the file elsewhere (say /dev/shm, to take the disk out of the figure).
            let dir = match std::env::var("LLM_BENCH_SQLITE_DIR") {
                Ok(d) => tempfile::tempdir_in(d).unwrap(),
                Err(_) => tempfile::tempdir().unwrap(),
            };
            let s = llm_tracking::store::SqliteStore::open(dir.path().join("bench.db")).await.unwrap();
            throughput("sqlite (WAL, synchronous=NORMAL)", Arc::new(s)).await;
        }
        #[cfg(feature = "postgres")]
        match std::env::var("LLM_TEST_PG_URL") {
            Ok(url) => {
                let schema = format!("llmtrk_bench_{}", &llm_tracking::new_id()[..12]);
                let s = llm_tracking::store::PostgresStore::connect_with(&url, Some(&schema), 4).await.unwrap();
                throughput("postgres (localhost)", Arc::new(s.clone())).await;
                s.drop_schema().await.unwrap();
            }
            Err(_) => println!("| postgres | skipped: LLM_TEST_PG_URL is not set | | |"),
        }
    });
}

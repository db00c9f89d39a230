//! The soak run: N sequential chat calls through `llm::Client` with pricing, SQLite tracking and a hook on,
//! against the fake upstream on 127.0.0.1 (in this process, on a thread of its own), sampling the process's
//! resident memory (`VmRSS`, and its peak `VmHWM`, from `/proc/self/status`) every K calls. Prints one CSV line
//! per sample, then a JSON summary.
//!
//! ```text
//! cargo run --release -p llm --example soak -- [--calls 1000000] [--every 10000] [--dir DIR]
//! ```
//! `SOAK_CALLS` and `SOAK_EVERY` set the same as the flags; `--write-buffer`, `--batch-size` and `--hook-queue`
//! (or `SOAK_WRITE_BUFFER`, ...) set the tracker's. The database goes into a temporary directory
//! (removed at the end) unless `--dir` names one. Only Linux reports memory (elsewhere the columns are 0).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use llm::Client;
use llm::core::{ApiKey, ChatRequest, Message};
use llm::providers::RetryPolicy;
use llm::tracking::{CallRecord, CallStart, CatalogPricer, Hook, HookError, Tracker};
use llm_fake_upstream::{FakeUpstream, Reply};

fn arg(name: &str, env: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned()).or_else(|| std::env::var(env).ok())
}

/// A field of `/proc/self/status` in KiB (0 where there is none).
fn status_kib(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `VmRSS` and `VmHWM` in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    (status_kib(&status, "VmRSS:"), status_kib(&status, "VmHWM:"))
}

/// `VmRSS`'s parts in KiB: anonymous memory (the heap), mapped files (the program, SQLite's WAL index) and shared
/// memory, as a CSV fragment.
fn rss_parts() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let f = |n| status_kib(&status, n);
    format!("{},{},{},{}", f("RssAnon:"), f("RssFile:"), f("RssShmem:"), f("Threads:"))
}

/// A hook as an application would have one: it takes every event (the trait's defaults, `before_call`
/// included) and adds up what it sees.
#[derive(Default)]
struct Counting {
    starts: AtomicU64,
    records: AtomicU64,
    prompt_tokens: AtomicU64,
}

#[async_trait::async_trait]
impl Hook for Counting {
    fn name(&self) -> &str {
        "soak-counter"
    }

    async fn before_call(&self, _call: &CallStart) -> Result<(), HookError> {
        self.starts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn on_success(&self, record: &CallRecord) -> Result<(), HookError> {
        self.records.fetch_add(1, Ordering::Relaxed);
        self.prompt_tokens.fetch_add(record.usage.prompt_tokens, Ordering::Relaxed);
        Ok(())
    }
}

/// Starts the fake upstream on a thread of its own (as a separate server would be), answering as OpenAI does.
fn start_upstream() -> Result<Arc<FakeUpstream>, Box<dyn std::error::Error>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new().name("fake-upstream".into()).spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        rt.block_on(async move {
            let Ok(server) = FakeUpstream::start().await else {
                return;
            };
            server.set_default(Reply::json_value(
                200,
                &serde_json::json!({
                    "id": "chatcmpl-soak", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}
                }),
            ));
            let server = Arc::new(server);
            if tx.send(server.clone()).is_ok() {
                std::future::pending::<()>().await;
            }
        });
    })?;
    Ok(rx.recv()?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: u64 = arg("--calls", "SOAK_CALLS").map_or(Ok(1_000_000), |c| c.parse())?;
    let every: u64 = arg("--every", "SOAK_EVERY").map_or(Ok(10_000), |c| c.parse())?.max(1);
    let (dir, remove) = match arg("--dir", "SOAK_DIR") {
        Some(d) => (std::path::PathBuf::from(d), false),
        None => (std::env::temp_dir().join(format!("llm-soak-{}", std::process::id())), true),
    };
    std::fs::create_dir_all(&dir)?;
    let server = start_upstream()?;
    let (rss0, _) = memory_kib();

    let t0 = Instant::now();
    let store = llm::tracking::open(&format!("sqlite:{}", dir.join("spend.sqlite").display())).await?;
    let hook = Arc::new(Counting::default());
    let mut builder = Tracker::builder().store(store).pricer(CatalogPricer::new()).hook_arc(hook.clone());
    // The tracker's buffers, to measure what each holds.
    if let Some(n) = arg("--write-buffer", "SOAK_WRITE_BUFFER") {
        builder = builder.write_buffer(n.parse()?);
    }
    if let Some(n) = arg("--batch-size", "SOAK_BATCH_SIZE") {
        builder = builder.batch_size(n.parse()?);
    }
    if let Some(n) = arg("--hook-queue", "SOAK_HOOK_QUEUE") {
        builder = builder.hook_queue(n.parse()?);
    }
    let tracker = builder.build()?;
    let client = Client::builder()
        .api_key("openai", ApiKey::new("sk-soak"))
        .api_base("openai", server.url())
        .retry(RetryPolicy::none())
        .user("soak")
        .tag("soak")
        .tracker(tracker.clone())
        .build()?;
    let request = ChatRequest::new("gpt-4o-mini", vec![Message::system("Be brief."), Message::user("Hello!")])
        .with_max_tokens(64);
    let built = t0.elapsed();
    let t1 = Instant::now();
    client.chat(request.clone()).await?;
    let first = t1.elapsed();
    eprintln!(
        "store + tracker + client built in {:.3} ms; first call {:.3} ms",
        built.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3
    );

    println!("calls,seconds,rss_kib,hwm_kib,anon_kib,file_kib,shmem_kib,threads,persisted,dropped");
    let start = Instant::now();
    let mut window = Instant::now();
    let (rss, hwm) = memory_kib();
    println!("0,0.0,{rss},{hwm},{},0,0", rss_parts());
    let mut samples = Vec::new();
    for i in 1..=calls {
        client.chat(request.clone()).await?;
        if i % every == 0 {
            // The fake upstream records every request; a soak must not count its log as ours.
            server.clear_requests();
            let (rss, hwm) = memory_kib();
            let stats = tracker.stats();
            println!(
                "{i},{:.1},{rss},{hwm},{},{},{}",
                start.elapsed().as_secs_f64(),
                rss_parts(),
                stats.records_persisted,
                stats.records_dropped
            );
            samples.push((i, rss, window.elapsed().as_secs_f64()));
            window = Instant::now();
        }
    }
    let persisted = client.flush().await?;
    let elapsed = start.elapsed().as_secs_f64();
    let (rss, hwm) = memory_kib();
    // The plateau: the largest RSS over the second half of the run.
    let half = samples.iter().filter(|(i, _, _)| *i > calls / 2);
    let plateau = half.clone().map(|(_, r, _)| *r).max().unwrap_or(rss);
    let plateau_min = half.map(|(_, r, _)| *r).min().unwrap_or(rss);
    println!(
        r#"{{"calls": {calls}, "seconds": {elapsed:.1}, "calls_per_s": {:.0}, "rss_before_kib": {rss0}, "rss_end_kib": {rss}, "hwm_kib": {hwm}, "plateau_second_half_kib": [{plateau_min}, {plateau}], "persisted": {persisted}, "hook_records": {}, "hook_starts": {}, "first_call_ms": {:.3}, "build_ms": {:.3}}}"#,
        calls as f64 / elapsed,
        hook.records.load(Ordering::Relaxed),
        hook.starts.load(Ordering::Relaxed),
        first.as_secs_f64() * 1e3,
        built.as_secs_f64() * 1e3,
    );
    tracker.shutdown().await?;
    if remove {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

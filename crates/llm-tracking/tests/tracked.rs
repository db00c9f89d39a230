//! Tracked<P> over the mock provider: records, costs, streams, hooks and budgets on the in-memory store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use futures_util::StreamExt;
use llm_core::mock::{MockError, MockProvider, MockReply};
use llm_core::{CostStatus, ErrorKind, Message, Provider, Usage, collect_stream};
use llm_tracking::{
    Budget, CallRecord, CallStatus, FailMode, GroupBy, Hold, Hook, HookError, MemoryStore, Period, ReportQuery, Scope,
    Store, Tracker,
};
use serde_json::json;

fn tracker_with(capture: &Arc<Capture>) -> Tracker {
    Tracker::builder().pricer(pricer()).hook_arc(capture.clone()).build().unwrap()
}

#[tokio::test]
async fn chat_is_priced_and_recorded() {
    let capture = Arc::new(Capture::default());
    let tracker = tracker_with(&capture);
    let client = tracker.wrap(MockProvider::new());
    let req = request()
        .with_user("alice")
        .with_tag("batch")
        .with_tag("eval")
        .with_metadata("team", json!("core"))
        .with_metadata("project", json!("p1"))
        .with_metadata("trace_id", json!("trace-1"))
        .with_metadata("retry_attempts", json!(2))
        .with_metadata("experiment", json!("e7"));
    let resp = client.chat(&req).await.unwrap();
    let cost = resp.cost.clone().unwrap();
    assert_eq!(cost.status, CostStatus::Priced);
    // 10 prompt tokens at $1/M + 7 completion tokens at $2/M.
    assert_eq!(cost.total().unwrap().to_string(), "0.000024");
    tracker.flush().await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;

    let records = capture.records.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.trace_id, "trace-1");
    assert_eq!((r.user.as_deref(), r.team.as_deref(), r.project.as_deref()), (Some("alice"), Some("core"), Some("p1")));
    assert_eq!(r.end_user.as_deref(), Some("alice"));
    assert_eq!(r.retry_attempts, 2);
    assert_eq!(r.spend, cost.total().unwrap());
    assert!(r.end_time >= r.start_time);
    assert!(r.content.is_none(), "content is opt-in");
    assert_record_snapshot!("chat_record", r);
    let starts = capture.starts.lock().unwrap().clone();
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].id, r.id);
    assert!(starts[0].request.is_none());

    let stored = tracker.store().records(None, None, 10).await.unwrap();
    assert_eq!(stored, records);
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn failures_are_recorded_with_their_kind() {
    let capture = Arc::new(Capture::default());
    let tracker = tracker_with(&capture);
    let mock = MockProvider::new()
        .with_reply(MockReply::Error(MockError::RateLimited { retry_after: Duration::from_secs(1) }));
    let client = tracker.wrap(mock);
    let err = client.chat(&request()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::RateLimited);
    tracker.flush().await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    let r = capture.records.lock().unwrap()[0].clone();
    assert_eq!(r.status, CallStatus::Failure);
    assert_eq!(r.error_kind.as_deref(), Some("rate_limited"));
    assert_eq!(r.spend, llm_core::Usd::ZERO);
    assert_record_snapshot!("failure_record", r);
}

#[tokio::test]
async fn content_is_logged_only_when_opted_in() {
    let capture = Arc::new(Capture::default());
    let tracker = Tracker::builder().pricer(pricer()).hook_arc(capture.clone()).log_content(true).build().unwrap();
    let client = tracker.wrap(MockProvider::new());
    client.chat(&request()).await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    let r = capture.records.lock().unwrap()[0].clone();
    let content = r.content.unwrap();
    assert_eq!(content.messages, vec![Message::user("Hello there")]);
    assert_eq!(content.reply.as_deref(), Some("You said: Hello there"));
    assert!(capture.starts.lock().unwrap()[0].request.is_some());
}

#[tokio::test]
async fn stream_is_priced_at_its_end() {
    let capture = Arc::new(Capture::default());
    let tracker = tracker_with(&capture);
    let client = tracker.wrap(MockProvider::new());
    let stream = client.stream(&request().with_user("bob")).await.unwrap();
    let resp = collect_stream(stream).await.unwrap();
    assert_eq!(resp.text(), "You said: Hello there");
    tracker.flush().await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    let records = capture.records.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert!(r.stream);
    assert_eq!(r.status, CallStatus::Success);
    assert!(r.first_token_time.is_some());
    assert_eq!(r.usage, Usage::new(10, 7));
    assert_eq!(r.spend.to_string(), "0.000024");
    assert_record_snapshot!("stream_record", r);
    // start, 4 text chunks, finish, usage
    assert_eq!(capture.chunks.load(Ordering::Relaxed), 7);
    let events = capture.chunk_events.lock().unwrap().clone();
    assert_eq!(events.iter().filter(|e| e.as_str() == "None").count(), 5, "text is not logged: {events:?}");
}

#[tokio::test]
async fn stream_dropped_midway_is_recorded_as_cancelled() {
    let capture = Arc::new(Capture::default());
    let tracker = tracker_with(&capture);
    let client = tracker.wrap(MockProvider::new());
    let mut stream = client.stream(&request()).await.unwrap();
    let _first = stream.next().await.unwrap().unwrap();
    let _second = stream.next().await.unwrap().unwrap();
    drop(stream);
    tracker.flush().await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    let r = capture.records.lock().unwrap()[0].clone();
    assert_eq!(r.status, CallStatus::Cancelled);
    assert_eq!(r.error_kind.as_deref(), Some("cancelled"));
    assert!(r.first_token_time.is_some());
}

#[tokio::test]
async fn stream_error_midway_is_recorded_as_failure() {
    let capture = Arc::new(Capture::default());
    let tracker = tracker_with(&capture);
    let client = tracker.wrap(MockProvider::new().with_reply(MockReply::TruncatedStream("one two three four".into())));
    let err = collect_stream(client.stream(&request()).await.unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Network);
    tracker.flush().await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    let r = capture.records.lock().unwrap()[0].clone();
    assert_eq!(r.status, CallStatus::Failure);
    assert_eq!(r.error_kind.as_deref(), Some("network"));
    assert_eq!(tracker.stats().records_emitted, 1);
}

struct Misbehaving {
    mode: &'static str,
    seen: Arc<AtomicU64>,
}

#[async_trait]
impl Hook for Misbehaving {
    fn name(&self) -> &str {
        self.mode
    }
    async fn on_success(&self, _record: &CallRecord) -> Result<(), HookError> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        match self.mode {
            "slow" => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
            "failing" => Err("the sink is broken".into()),
            "panicking" => panic!("hook panicked on purpose"),
            _ => Ok(()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_hooks_never_slow_or_fail_calls() {
    let seen = Arc::new(AtomicU64::new(0));
    let capture = Arc::new(Capture::default());
    let tracker = Tracker::builder()
        .pricer(pricer())
        .hook(Misbehaving { mode: "slow", seen: seen.clone() })
        .hook(Misbehaving { mode: "failing", seen: seen.clone() })
        .hook(Misbehaving { mode: "panicking", seen: seen.clone() })
        .hook_arc(capture.clone())
        .hook_queue(8)
        .hook_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let client = tracker.wrap(MockProvider::new());
    let started = std::time::Instant::now();
    for _ in 0..20 {
        let t = std::time::Instant::now();
        client.chat(&request()).await.unwrap();
        // A call that waited for the slow hook would take at least its 200 ms timeout; the margin below that is
        // for a loaded machine.
        assert!(t.elapsed() < Duration::from_millis(150), "a call waited for hooks: {:?}", t.elapsed());
        tokio::time::sleep(Duration::from_millis(2)).await; // let the healthy hooks keep up
    }
    assert!(started.elapsed() < Duration::from_millis(2000), "calls waited for hooks: {:?}", started.elapsed());
    tracker.drain_hooks(Duration::from_secs(10)).await;
    let stats = tracker.stats();
    let by_name = |n: &str| stats.hooks.iter().find(|h| h.name == n).unwrap().clone();
    // The capture hook and the failing/panicking ones keep up; the slow one drops the newest events.
    assert_eq!(capture.records.lock().unwrap().len(), 20);
    assert_eq!(by_name("failing").failed, 20);
    // Printing a panic's backtrace can be slow enough to overflow that hook's queue: every event is either
    // caught or dropped, never lost silently.
    let panicking = by_name("panicking");
    assert!(panicking.panicked >= 1, "{panicking:?}");
    assert_eq!(panicking.delivered + panicking.dropped, 40, "a before and a record event per call: {panicking:?}");
    let slow = by_name("slow");
    // Its queue holds 8 events: once its worker is stuck, newer events are dropped and counted; what was
    // queued is handled (each record times out after 200 ms).
    assert!(slow.dropped >= 20, "{slow:?}");
    assert_eq!(slow.dropped + slow.delivered, 40, "{slow:?}");
    assert!(slow.timed_out >= 1 && slow.timed_out <= 9, "{slow:?}");
    assert_eq!(tracker.stats().records_emitted, 20);
}

#[tokio::test]
async fn budget_refuses_before_sending() {
    let tracker = Tracker::builder().pricer(pricer()).build().unwrap();
    let mock = Arc::new(MockProvider::new());
    let client = tracker.wrap(mock.clone());
    // Estimate: 9 prompt tokens (gpt-4o's tokenizer) * $1/M + 50 output tokens * $2/M = $0.000109. Actual: $0.000024.
    tracker.set_budget(&Budget::new(Scope::User("alice".into()), Period::Daily).with_max(usd("0.0002"))).await.unwrap();
    let req = request().with_user("alice");
    // Each call commits $0.000024; the 5th would bring 0.000096 + 0.000109 > 0.0002.
    for _ in 0..4 {
        client.chat(&req).await.unwrap();
    }
    let err = client.chat(&req).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::BudgetExceeded);
    assert!(err.to_string().contains("user:alice"), "{err}");
    assert_eq!(mock.calls(), 4, "the refused call was never sent");
    // Someone else is not limited.
    client.chat(&request().with_user("bob")).await.unwrap();
    let b = tracker.budgets().await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].spent.to_string(), "0.000096");
    assert_eq!(b[0].reserved, llm_core::Usd::ZERO);
    assert_eq!(tracker.stats().budget_refusals, 1);
    tracker.flush().await.unwrap();
    let report = tracker.report(&ReportQuery::new(GroupBy::User)).await.unwrap();
    insta::assert_json_snapshot!("report_by_user", report, { ".rows[].day" => "[day]", ".query.from" => "[day]" });
}

async fn concurrent_calls_respect_budget(store: Arc<dyn Store>) {
    let tracker = Tracker::builder().pricer(pricer()).store(store).build().unwrap();
    let max = usd("0.01");
    tracker.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(max)).await.unwrap();
    let client = Arc::new(tracker.wrap(Slow { inner: MockProvider::new(), delay: Duration::from_millis(5) }));
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let client = client.clone();
        tasks
            .push(tokio::spawn(async move { client.chat(&request()).await.map(|r| r.cost.unwrap().total().unwrap()) }));
    }
    let (mut ok, mut refused, mut sum) = (0u64, 0u64, llm_core::Usd::ZERO);
    for t in tasks {
        match t.await.unwrap() {
            Ok(c) => {
                ok += 1;
                sum += c;
            }
            Err(e) => {
                assert_eq!(e.kind(), &ErrorKind::BudgetExceeded);
                refused += 1;
            }
        }
    }
    tracker.flush().await.unwrap();
    let status = tracker.budgets().await.unwrap().remove(0);
    let estimate = usd("0.000109");
    assert_eq!(ok + refused, 1000);
    assert!(refused > 0 && ok > 0, "ok {ok}, refused {refused}");
    assert_eq!(status.spent, sum, "the budget saw exactly the spend of the calls that ran");
    assert!(status.spent <= max + estimate, "overspent: {} > {} + {}", status.spent, max, estimate);
    assert_eq!(status.reserved, llm_core::Usd::ZERO);
    let report = tracker.report(&ReportQuery::new(GroupBy::Day)).await.unwrap();
    assert_eq!(report.total.calls, 1000);
    assert_eq!(report.total.failures, refused);
    assert_eq!(report.total.spend, sum);
    tracker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_concurrent_calls_memory() {
    concurrent_calls_respect_budget(Arc::new(MemoryStore::new())).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_concurrent_calls_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_tracking::store::SqliteStore::open(dir.path().join("spend.db")).await.unwrap();
    concurrent_calls_respect_budget(Arc::new(store)).await;
}

#[tokio::test]
async fn store_down_fail_open_and_closed() {
    for mode in [FailMode::Open, FailMode::Closed] {
        let flaky = Flaky::new(Arc::new(MemoryStore::new()));
        let tracker = Tracker::builder()
            .pricer(pricer())
            .store(flaky.clone())
            .fail_mode(mode)
            .flush_interval(Duration::from_millis(5))
            .write_buffer(50)
            .batch_size(10)
            .build()
            .unwrap();
        tracker.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(usd("1"))).await.unwrap();
        let client = tracker.wrap(MockProvider::new());
        client.chat(&request()).await.unwrap();
        tracker.flush().await.unwrap();
        flaky.down.store(true, Ordering::SeqCst);
        let mut outcomes = Vec::new();
        for _ in 0..30 {
            outcomes.push(client.chat(&request()).await.map(|_| ()).map_err(|e| e.kind().clone()));
        }
        match mode {
            FailMode::Open => assert!(outcomes.iter().all(Result::is_ok)),
            _ => assert!(
                outcomes.iter().all(|o| o == &Err(ErrorKind::Other("budget_unavailable".into()))),
                "{outcomes:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        flaky.down.store(false, Ordering::SeqCst);
        let persisted = tracker.flush().await.unwrap();
        let stats = tracker.stats();
        assert_eq!(persisted, 31, "{stats:?}");
        assert_eq!(stats.records_dropped, 0);
        assert!(stats.write_errors > 0);
        assert_eq!(flaky.inner.count_records().await.unwrap(), 31);
        match mode {
            FailMode::Open => assert_eq!(stats.budget_fail_open, 30),
            _ => assert_eq!(stats.budget_fail_closed, 30),
        }
        tracker.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn records_beyond_the_buffer_are_dropped_and_counted() {
    let flaky = Flaky::new(Arc::new(MemoryStore::new()));
    flaky.down.store(true, Ordering::SeqCst);
    let tracker = Tracker::builder()
        .pricer(pricer())
        .store(flaky.clone())
        .budgets(false)
        .write_buffer(20)
        .batch_size(5)
        .flush_interval(Duration::from_millis(1))
        .build()
        .unwrap();
    let client = tracker.wrap(MockProvider::new());
    for _ in 0..100 {
        client.chat(&request()).await.unwrap();
        tokio::task::yield_now().await;
    }
    flaky.down.store(false, Ordering::SeqCst);
    // The flush says records were lost, and how many.
    let err = tracker.flush().await.unwrap_err();
    let stats = tracker.stats();
    let persisted = stats.records_persisted;
    assert_eq!(
        err.to_string(),
        format!(
            "store: {0} records were not persisted to the flaky store ({0} dropped from a full queue)",
            stats.records_dropped
        )
    );
    assert_eq!(tracker.flush().await.unwrap(), persisted, "nothing lost since");
    assert_eq!(persisted + stats.records_dropped, 100, "{stats:?}");
    // Documented: the queue (20) plus one batch in the writer's hands (5) survive an outage.
    assert!((20..=25).contains(&persisted), "{stats:?}");
}

#[tokio::test]
async fn shutdown_persists_everything() {
    let store = Arc::new(MemoryStore::new());
    let tracker = Tracker::builder()
        .pricer(pricer())
        .store(store.clone())
        .flush_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    let client = tracker.wrap(MockProvider::new());
    for _ in 0..250 {
        client.chat(&request()).await.unwrap();
    }
    let stats = tracker.shutdown().await.unwrap();
    assert_eq!(stats.records_persisted, 250);
    assert_eq!(store.count_records().await.unwrap(), 250);
}

/// [`Capture`] that says it does not want `before_call`: it must never get one.
#[derive(Default)]
struct RecordsOnly(Capture);

#[async_trait]
impl Hook for RecordsOnly {
    async fn before_call(&self, call: &llm_tracking::CallStart) -> Result<(), HookError> {
        self.0.before_call(call).await
    }
    async fn on_success(&self, record: &CallRecord) -> Result<(), HookError> {
        self.0.on_success(record).await
    }
    fn wants_before_call(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn before_call_goes_only_to_hooks_that_want_it() {
    let both = Arc::new(Capture::default());
    let records_only = Arc::new(RecordsOnly::default());
    let tracker =
        Tracker::builder().pricer(pricer()).hook_arc(both.clone()).hook_arc(records_only.clone()).build().unwrap();
    let client = tracker.wrap(MockProvider::new());
    for _ in 0..3 {
        client.chat(&request()).await.unwrap();
    }
    tracker.drain_hooks(Duration::from_secs(5)).await;
    assert_eq!(both.starts.lock().unwrap().len(), 3);
    assert_eq!(both.records.lock().unwrap().len(), 3);
    assert_eq!(records_only.0.starts.lock().unwrap().len(), 0);
    assert_eq!(records_only.0.records.lock().unwrap().len(), 3);

    // Only records-only hooks: no start event is made at all (the hook would have counted one).
    let alone = Arc::new(RecordsOnly::default());
    let tracker = Tracker::builder().pricer(pricer()).hook_arc(alone.clone()).build().unwrap();
    tracker.wrap(MockProvider::new()).chat(&request()).await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    assert_eq!((alone.0.starts.lock().unwrap().len(), alone.0.records.lock().unwrap().len()), (0, 1));
    let stats = tracker.stats().hooks;
    assert_eq!((stats[0].delivered, stats[0].dropped), (1, 0), "{stats:?}");
}

/// Blocks the calling thread (and so a current-thread runtime) until `persisted` reaches `n` or 5 s pass;
/// returns what it reached.
fn wait_blocking(tracker: &Tracker, n: u64, limit: Duration) -> u64 {
    let deadline = std::time::Instant::now() + limit;
    while tracker.stats().records_persisted < n && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    tracker.stats().records_persisted
}

// A current-thread runtime, as `#[tokio::test]` makes: the writer of a store that needs no runtime (memory,
// SQLite) runs on a thread of its own and persists a full batch while the application's only thread is busy;
// the writer of a store that does not say so (this wrapper) is a task on that thread and waits for it.
/// A tracker on `store` writing batches of 10 (never on its interval), after 10 calls.
async fn ten_calls_into(store: Arc<dyn Store>) -> Tracker {
    let tracker = Tracker::builder()
        .pricer(pricer())
        .store(store)
        .batch_size(10)
        .flush_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    let client = tracker.wrap(MockProvider::new());
    for _ in 0..10 {
        client.chat(&request()).await.unwrap();
    }
    tracker
}

#[tokio::test]
async fn the_writer_runs_off_the_application_runtime_when_the_store_allows() {
    let store = Arc::new(MemoryStore::new());
    assert!(store.runtime_independent());
    let tracker = ten_calls_into(store.clone()).await;
    assert_eq!(wait_blocking(&tracker, 10, Duration::from_secs(5)), 10);
    assert_eq!(store.count_records().await.unwrap(), 10);

    let wrapped = Flaky::new(Arc::new(MemoryStore::new()));
    assert!(!wrapped.runtime_independent());
    let tracker = ten_calls_into(wrapped).await;
    assert_eq!(wait_blocking(&tracker, 10, Duration::from_millis(300)), 0, "no task runs while the thread sleeps");
    assert_eq!(tracker.flush().await.unwrap(), 10);
    assert_eq!(tracker.shutdown().await.unwrap().records_persisted, 10);
}

#[tokio::test]
async fn budget_periods_reset() {
    let store = MemoryStore::new();
    let day1: llm_tracking::Timestamp = "2026-11-28T23:59:00Z".parse().unwrap();
    let day2: llm_tracking::Timestamp = "2026-11-29T00:00:01Z".parse().unwrap();
    store.set_budget(&Budget::new(Scope::Tag("t".into()), Period::Daily).with_max(usd("1"))).await.unwrap();
    let scopes = vec![Scope::Global, Scope::Tag("t".into())];
    let r = match store
        .reserve(&scopes, Hold { estimate: usd("0.6"), now: day1, expires: day1.plus_micros(3_600_000_000) })
        .await
        .unwrap()
    {
        llm_tracking::ReserveOutcome::Reserved(r) => r,
        other => panic!("{other:?}"),
    };
    store.settle(&r, usd("0.9"), day1).await.unwrap();
    assert!(matches!(
        store
            .reserve(&scopes, Hold { estimate: usd("0.2"), now: day1, expires: day1.plus_micros(3_600_000_000) })
            .await
            .unwrap(),
        llm_tracking::ReserveOutcome::Refused(_)
    ));
    assert!(matches!(
        store
            .reserve(&scopes, Hold { estimate: usd("0.2"), now: day2, expires: day2.plus_micros(3_600_000_000) })
            .await
            .unwrap(),
        llm_tracking::ReserveOutcome::Reserved(_)
    ));
    let b = store.budgets(day2).await.unwrap();
    assert_eq!(b[0].spent, llm_core::Usd::ZERO);
    assert_eq!(b[0].reserved, usd("0.2"));
    assert_eq!(b[0].period_start.to_string(), "2026-11-29T00:00:00.000000Z");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn budget_cache_skips_the_store_for_unbudgeted_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(llm_tracking::store::SqliteStore::open(dir.path().join("s.db")).await.unwrap());
    let tracker = Tracker::builder()
        .pricer(pricer())
        .store(store.clone())
        .budget_cache(Duration::from_millis(300))
        .build()
        .unwrap();
    let client = tracker.wrap(MockProvider::new());
    let req = request().with_user("carol");
    client.chat(&req).await.unwrap(); // learns: no budget for global, user:carol
    // Another process sets a budget carol's next call cannot fit...
    store.set_budget(&Budget::new(Scope::User("carol".into()), Period::Daily).with_max(usd("0.00001"))).await.unwrap();
    // ...which applies once the cached answer expires.
    client.chat(&req).await.unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(client.chat(&req).await.unwrap_err().kind(), &ErrorKind::BudgetExceeded);
    // A budget set through the tracker applies at once.
    let dave = request().with_user("dave");
    client.chat(&dave).await.unwrap();
    tracker.set_budget(&Budget::new(Scope::User("dave".into()), Period::Daily).with_max(usd("0.00001"))).await.unwrap();
    assert_eq!(client.chat(&dave).await.unwrap_err().kind(), &ErrorKind::BudgetExceeded);
}

#[tokio::test]
async fn stream_priced_hands_back_the_cost() {
    let tracker = Tracker::builder().pricer(pricer()).build().unwrap();
    let client = tracker.wrap(MockProvider::new());
    let (stream, cost) = client.stream_priced(&request()).await.unwrap();
    let resp = collect_stream(stream).await.unwrap();
    assert_eq!(resp.usage, Some(Usage::new(10, 7)));
    let cost = cost.get().await.unwrap();
    assert_eq!((cost.status.clone(), cost.total().unwrap().to_string()), (CostStatus::Priced, "0.000024".to_string()));
}

#[tokio::test]
async fn defaults_attribute_calls_without_changing_the_request() {
    let capture = Arc::new(Capture::default());
    let tracker = tracker_with(&capture);
    let mock = Arc::new(MockProvider::new());
    let client = tracker.wrap(mock.clone()).with_defaults(
        Some("ana".into()),
        Some("core".into()),
        vec!["app".into(), "batch".into()],
    );
    // A team budget by the default team applies to calls that name no team.
    tracker.set_budget(&Budget::new(Scope::Team("core".into()), Period::Daily).with_max(usd("0.00001"))).await.unwrap();
    let err = client.chat(&request().with_tag("batch")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::BudgetExceeded);
    assert!(err.to_string().contains("team:core"), "{err}");
    assert_eq!(mock.calls(), 0);
    // The request's own attribution wins; the default tags come after its own, each once.
    let own = request()
        .with_user("end-user-1")
        .with_metadata("user", json!("bob"))
        .with_metadata("team", json!("research"))
        .with_tag("batch");
    client.chat(&own).await.unwrap();
    // Without metadata, a default user comes before `request.user` (which stays the end user).
    client.chat(&request().with_user("end-user-2").with_metadata("team", json!("research"))).await.unwrap();
    tracker.flush().await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    let records = capture.records.lock().unwrap().clone();
    let got: Vec<_> = records
        .iter()
        .map(|r| (r.user.as_deref(), r.team.as_deref(), r.end_user.as_deref(), r.tags.clone(), r.error_kind.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (Some("ana"), Some("core"), None, vec!["batch".to_owned(), "app".to_owned()], Some("budget_exceeded")),
            (Some("bob"), Some("research"), Some("end-user-1"), vec!["batch".to_owned(), "app".to_owned()], None),
            (Some("ana"), Some("research"), Some("end-user-2"), vec!["app".to_owned(), "batch".to_owned()], None),
        ]
    );
    // What went to the provider is the request as given: no tags or metadata were added.
    let sent = mock.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].tags, Vec::<String>::new());
    assert!(!sent[1].metadata.contains_key("user"));
    tracker.shutdown().await.unwrap();
}

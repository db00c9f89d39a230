//! Tests that run child processes: several processes sharing one PostgreSQL budget, and a process killed
//! with SIGKILL mid-run. A child is this test binary re-run with `LLM_TRACKING_CHILD` set, so the file has its
//! own `main` (`harness = false` in Cargo.toml): the child's entry point is not a test, and a normal run lists
//! and counts only the real tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use llm_core::Provider;
use llm_core::mock::MockProvider;
#[cfg(feature = "postgres")]
use llm_core::{ErrorKind, Usd};
#[cfg(feature = "postgres")]
use llm_tracking::{Budget, Period, Scope};
use llm_tracking::{Store, Tracker};
use serde_json::json;

fn main() -> ExitCode {
    if let Ok(mode) = std::env::var("LLM_TRACKING_CHILD") {
        child_main(&mode);
        return ExitCode::SUCCESS;
    }
    let tests: &[(&str, fn())] = &[
        #[cfg(feature = "postgres")]
        ("four_processes_share_one_postgres_budget", four_processes_share_one_postgres_budget),
        #[cfg(all(feature = "sqlite", unix))]
        ("sigkill_loses_no_record_reported_persisted", sigkill_loses_no_record_reported_persisted),
        #[cfg(feature = "sqlite")]
        ("clean_shutdown_persists_every_record_in_sqlite", clean_shutdown_persists_every_record_in_sqlite),
    ];
    run_tests(tests)
}

/// A minimal test runner with libtest's output and its common arguments: name filters, `--exact`, `--skip
/// NAME`, `--list` (other flags such as `--nocapture` are accepted and ignored). Tests run one at a time.
fn run_tests(tests: &[(&str, fn())]) -> ExitCode {
    let (mut filters, mut skips, mut exact, mut list) = (Vec::new(), Vec::new(), false, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--exact" => exact = true,
            "--list" => list = true,
            "--skip" => skips.extend(args.next()),
            "--format" | "--test-threads" | "--color" | "-Z" | "--logfile" => {
                args.next();
            }
            flag if flag.starts_with('-') => {}
            filter => filters.push(filter.to_owned()),
        }
    }
    let matches = |name: &str, pat: &str| if exact { name == pat } else { name.contains(pat) };
    let selected: Vec<_> = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| matches(name, f)))
        .filter(|(name, _)| !skips.iter().any(|s| matches(name, s)))
        .collect();
    if list {
        for (name, _) in &selected {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, test) in &selected {
        let ok = std::panic::catch_unwind(test).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(*name);
        }
    }
    let filtered = tests.len() - selected.len();
    if !failed.is_empty() {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
    }
    let result = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {result}. {} passed; {} failed; 0 ignored; 0 measured; {filtered} filtered out\n",
        selected.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(101) }
}

fn child(mode: &str, envs: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("LLM_TRACKING_CHILD", mode).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// The body of a child process (not a test: `main` runs it when `LLM_TRACKING_CHILD` is set).
fn child_main(mode: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    match mode {
        #[cfg(feature = "postgres")]
        "pg_budget" => rt.block_on(pg_budget_child()),
        #[cfg(feature = "sqlite")]
        "sqlite_kill" => rt.block_on(sqlite_kill_child()),
        other => panic!("unknown child mode {other}"),
    }
}

#[cfg(feature = "postgres")]
async fn pg_budget_child() {
    let url = std::env::var("LLM_TEST_PG_URL").unwrap();
    let schema = std::env::var("LLM_TRACKING_SCHEMA").unwrap();
    let store = llm_tracking::store::PostgresStore::connect_with(&url, Some(&schema), 8).await.unwrap();
    // 1000 reservations from four processes queue on one budget row: on a loaded machine one may wait past the
    // default 2 s budget timeout, and under the default fail-open mode that call would then run unreserved and
    // overspend (as designed). The guarantee under test is the reservation's, so: fail closed, and a timeout
    // no queue here reaches.
    let tracker = Tracker::builder()
        .pricer(pricer())
        .store(Arc::new(store))
        .fail_mode(llm_tracking::FailMode::Closed)
        .budget_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let client = Arc::new(tracker.wrap(Slow { inner: MockProvider::new(), delay: Duration::from_millis(2) }));
    let mut tasks = Vec::new();
    for _ in 0..250 {
        let client = client.clone();
        tasks
            .push(tokio::spawn(async move { client.chat(&request()).await.map(|r| r.cost.unwrap().total().unwrap()) }));
    }
    let (mut ok, mut refused, mut sum) = (0u64, 0u64, Usd::ZERO);
    for t in tasks {
        match t.await.unwrap() {
            Ok(c) => {
                ok += 1;
                sum += c;
            }
            Err(e) => {
                assert_eq!(e.kind(), &ErrorKind::BudgetExceeded, "{e}");
                refused += 1;
            }
        }
    }
    let stats = tracker.shutdown().await.unwrap();
    assert_eq!(stats.records_persisted, 250);
    assert_eq!(stats.budget_fail_open, 0, "every call was checked");
    println!("CHILD ok={ok} refused={refused} sum={sum}");
}

#[cfg(feature = "postgres")]
fn four_processes_share_one_postgres_budget() {
    let Some(url) = pg_url() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = format!("llmtrk_{}", &llm_tracking::new_id()[..16]);
    let store = rt.block_on(llm_tracking::store::PostgresStore::connect_with(&url, Some(&schema), 2)).unwrap();
    let max: Usd = usd("0.01");
    rt.block_on(store.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(max))).unwrap();

    let children: Vec<_> = (0..4)
        .map(|_| {
            child("pg_budget", &[("LLM_TRACKING_SCHEMA", schema.clone()), ("LLM_TEST_PG_URL", url.clone())])
                .spawn()
                .unwrap()
        })
        .collect();
    let (mut ok, mut refused, mut sum) = (0u64, 0u64, Usd::ZERO);
    for c in children {
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed: {text}");
        let at = text.find("CHILD ").unwrap_or_else(|| panic!("no result: {text}"));
        let line = text[at + 6..].lines().next().unwrap_or_default();
        for part in line.split(' ') {
            let (k, v) = part.split_once('=').unwrap();
            match k {
                "ok" => ok += v.parse::<u64>().unwrap(),
                "refused" => refused += v.parse::<u64>().unwrap(),
                "sum" => sum += usd(v),
                _ => {}
            }
        }
    }
    let status = rt.block_on(store.budgets(llm_tracking::Timestamp::now())).unwrap().remove(0);
    let estimate = usd("0.000109");
    let count = rt.block_on(store.count_records()).unwrap();
    let report = rt.block_on(store.report(&llm_tracking::ReportQuery::new(llm_tracking::GroupBy::Day))).unwrap();
    rt.block_on(store.drop_schema()).unwrap();
    println!("4 processes: ok {ok}, refused {refused}, spent {} of {max}", status.spent);
    assert_eq!(ok + refused, 1000);
    assert!(ok > 0 && refused > 0);
    assert_eq!(status.spent, sum, "the shared budget saw exactly the spend of every process");
    assert!(status.spent <= max + estimate, "overspent: {} > {max} + {estimate}", status.spent);
    assert_eq!(status.reserved, Usd::ZERO);
    assert_eq!(count, 1000);
    assert_eq!(report.total.calls, 1000);
    assert_eq!(report.total.spend, sum);
}

#[cfg(feature = "sqlite")]
async fn sqlite_kill_child() {
    let path = std::env::var("LLM_TRACKING_DB").unwrap();
    let store = llm_tracking::store::SqliteStore::open(&path).await.unwrap();
    let tracker = Tracker::builder()
        .pricer(pricer())
        .store(Arc::new(store))
        .flush_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let client = tracker.wrap(MockProvider::new());
    for batch in 0..100_000u64 {
        for i in 0..20 {
            let n = batch * 20 + i;
            client.chat(&request().with_metadata("trace_id", json!(format!("t{n}")))).await.unwrap();
        }
        tracker.flush().await.unwrap();
        println!("CHILD persisted {} {}", batch * 20, batch * 20 + 19);
        use std::io::Write;
        std::io::stdout().flush().unwrap();
    }
}

#[cfg(all(feature = "sqlite", unix))]
fn sigkill_loses_no_record_reported_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spend.db");
    let mut proc = child("sqlite_kill", &[("LLM_TRACKING_DB", path.display().to_string())]).spawn().unwrap();
    let stdout = proc.stdout.take().unwrap();
    let mut reported = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("CHILD persisted ") {
            let (a, b) = rest.split_once(' ').unwrap();
            reported.push((a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()));
            if reported.len() == 25 {
                proc.kill().unwrap(); // SIGKILL, while the child keeps calling and writing
                break;
            }
        }
    }
    let status = proc.wait().unwrap();
    assert!(!status.success(), "the child was killed");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(llm_tracking::store::SqliteStore::open(&path)).unwrap();
    let records = rt.block_on(store.records(None, None, 1_000_000)).unwrap();
    let traces: std::collections::HashSet<String> = records.iter().map(|r| r.trace_id.clone()).collect();
    let (_, last) = *reported.last().unwrap();
    for n in 0..=last {
        assert!(traces.contains(&format!("t{n}")), "record t{n} was reported persisted but is missing");
    }
    let rollup_calls =
        rt.block_on(store.report(&llm_tracking::ReportQuery::new(llm_tracking::GroupBy::Day))).unwrap().total.calls;
    assert_eq!(rollup_calls, records.len() as u64, "the rollups match the log");
    println!("killed after {} persisted records; {} in the file", last + 1, records.len());
}

#[cfg(feature = "sqlite")]
fn clean_shutdown_persists_every_record_in_sqlite() {
    tokio::runtime::Runtime::new().unwrap().block_on(clean_shutdown_persists_every_record_in_sqlite_async());
}

#[cfg(feature = "sqlite")]
async fn clean_shutdown_persists_every_record_in_sqlite_async() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spend.db");
    let store = Arc::new(llm_tracking::store::SqliteStore::open(&path).await.unwrap());
    let tracker = Tracker::builder()
        .pricer(pricer())
        .store(store.clone())
        .flush_interval(Duration::from_secs(3600))
        .batch_size(100_000)
        .build()
        .unwrap();
    let client = tracker.wrap(MockProvider::new());
    for _ in 0..500 {
        client.chat(&request()).await.unwrap();
    }
    assert_eq!(store.count_records().await.unwrap(), 0, "nothing was written before shutdown");
    let stats = tracker.shutdown().await.unwrap();
    assert_eq!((stats.records_persisted, stats.records_dropped), (500, 0));
    store.close().await;
    let reopened = llm_tracking::store::SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.count_records().await.unwrap(), 500);
}

//! Tests that run child processes: several processes sharing one PostgreSQL budget, and a process killed
//! with SIGKILL mid-run. A child is this test binary re-run on `child_entry` with `LLM_TRACKING_CHILD` set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
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

fn child(mode: &str, envs: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env("LLM_TRACKING_CHILD", mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// The body of a child process; a no-op in a normal test run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_entry() {
    let Ok(mode) = std::env::var("LLM_TRACKING_CHILD") else { return };
    match mode.as_str() {
        #[cfg(feature = "postgres")]
        "pg_budget" => pg_budget_child().await,
        #[cfg(feature = "sqlite")]
        "sqlite_kill" => sqlite_kill_child().await,
        other => panic!("unknown child mode {other}"),
    }
}

#[cfg(feature = "postgres")]
async fn pg_budget_child() {
    let url = std::env::var("LLM_TEST_PG_URL").unwrap();
    let schema = std::env::var("LLM_TRACKING_SCHEMA").unwrap();
    let store = llm_tracking::store::PostgresStore::connect_with(&url, Some(&schema), 8).await.unwrap();
    // 1,000 reservations queue on one budget row: on a loaded machine some wait past the default 2 s budget
    // timeout, and the default fail-open mode would then let them through unchecked. This test is about the
    // store's atomicity across processes, so no call may skip the check.
    let tracker = Tracker::builder()
        .pricer(pricer())
        .store(Arc::new(store))
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
#[test]
fn four_processes_share_one_postgres_budget() {
    let Ok(url) = std::env::var("LLM_TEST_PG_URL") else {
        println!("skipped: LLM_TEST_PG_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = format!("llmtrk_{}", &llm_tracking::new_id()[..16]);
    let store = rt.block_on(llm_tracking::store::PostgresStore::connect_with(&url, Some(&schema), 2)).unwrap();
    let max: Usd = usd("0.01");
    rt.block_on(store.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(max))).unwrap();

    let children: Vec<_> =
        (0..4).map(|_| child("pg_budget", &[("LLM_TRACKING_SCHEMA", schema.clone())]).spawn().unwrap()).collect();
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
    let estimate = usd("0.00011");
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
#[test]
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
#[tokio::test]
async fn clean_shutdown_persists_every_record_in_sqlite() {
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

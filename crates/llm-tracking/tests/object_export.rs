//! Spend exports to object storage: a local folder (`file://`, no peer), and moto's S3 server on 127.0.0.1
//! (`python -m moto.server`), whose objects are listed and read back by independent readers: boto3 for the
//! gzip JSON lines, DuckDB for Parquet. Idempotency (a second run writes nothing), resumption after a stop
//! between an object's write and its record, a missing bucket, refused credentials, and the server going down
//! mid-export; the export progress in every store (memory, SQLite, PostgreSQL).
//!
//! The peers come from `bash .ci/peers` (or `LLM_TEST_PEERS_PYTHON`); without them these tests are skipped,
//! except under `CI=true`, where they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use llm_core::{Cost, CostBreakdown, CostStatus, Usage, Usd};
use llm_fake_upstream::TcpProxy;
use llm_fake_upstream::peers::{PeerProcess, free_port, require_python, run_python};
use llm_tracking::export::object::{ExportFormat, ExportSummary, SpendExport, export_to_object_store};
use llm_tracking::store::ExportSpan;
use llm_tracking::{CallRecord, ErrorKind, MemoryStore, Store, Timestamp};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A record at `at` with a varied shape: cost or none, failures, tags, users, metadata, cache tokens.
fn record(i: usize, at: &str) -> CallRecord {
    let mut b = CostBreakdown::default();
    b.input = usd(&format!("0.00{}45", i % 10));
    b.output = usd("0.000000000000000001");
    let mut usage = Usage::new(100 + i as u64, 20 + i as u64);
    if i.is_multiple_of(3) {
        usage.cache_read_tokens = Some(i as u64);
    }
    let mut r = CallRecord::new("openai", if i.is_multiple_of(2) { "gpt-4o" } else { "gpt-4o-mini" }, t(at))
        .with_usage(usage)
        .with_user(format!("user-{}", i % 3));
    if i % 5 == 4 {
        r = r.with_failure("rate_limited", "slow down");
        r.cost = Some(Cost::unknown(CostStatus::UnknownModel));
    } else {
        r = r.with_cost(Cost::new(CostStatus::Priced, b).with_catalog("gpt-4o", "test"));
    }
    if i % 2 == 1 {
        r = r.with_tag("batch").with_tag(format!("run-{i}")).with_team("core");
    }
    if i.is_multiple_of(4) {
        r.metadata.insert("ticket".into(), serde_json::json!(format!("T-{i}")));
    }
    r
}

/// 12 records over three UTC days; two pairs share a start time.
fn fixture() -> Vec<Arc<CallRecord>> {
    [
        "2026-11-01T08:00:00Z",
        "2026-11-01T09:30:00.5Z",
        "2026-11-01T09:30:00.5Z",
        "2026-11-01T23:59:59.999999Z",
        "2026-11-02T00:00:00Z",
        "2026-11-02T12:00:00Z",
        "2026-11-02T12:00:00Z",
        "2026-11-02T12:00:01Z",
        "2026-11-02T18:00:00Z",
        "2026-11-04T01:00:00Z",
        "2026-11-04T02:00:00Z",
        "2026-11-04T03:00:00Z",
    ]
    .iter()
    .enumerate()
    .map(|(i, at)| Arc::new(record(i, at)))
    .collect()
}

/// The store's JSON lines, as `llm spend export` prints them.
async fn jsonl(store: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    llm_tracking::export::export_jsonl(store, None, None, &mut out).await.unwrap();
    String::from_utf8(out).unwrap().lines().map(str::to_owned).collect()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut s).unwrap();
    s
}

/// Every `.jsonl.gz` object under `dir` (its key relative to `dir`) with its lines.
fn folder(dir: &Path) -> BTreeMap<String, Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<String>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|e| e == "gz") {
                let key = p.strip_prefix(root).unwrap().display().to_string();
                let lines = gunzip(&std::fs::read(&p).unwrap()).lines().map(str::to_owned).collect();
                out.insert(key, lines);
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// Each object's key and record count.
fn listing(objects: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    objects.iter().map(|(k, v)| format!("{k} ({} records)", v.len())).collect()
}

fn all_lines(objects: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    objects.values().flatten().cloned().collect()
}

fn file_export(dir: &Path) -> SpendExport {
    SpendExport::new(format!("file://{}/spend/", dir.display())).settle_lag(Duration::ZERO)
}

#[tokio::test]
async fn a_folder_gets_day_partitions_with_every_record_once() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MemoryStore::new();
    store.append(&fixture()).await.unwrap();
    let export = file_export(tmp.path()).max_records_per_object(2);

    let until = Some(t("2026-11-04T04:00:00Z"));
    let first = export_to_object_store(&store, &export, None, until).await.unwrap();
    assert_eq!(first.records, 12);
    assert_eq!(
        (first.from, first.to, first.open_from),
        (Some(t("2026-11-01T08:00:00Z")), t("2026-11-04T04:00:00Z"), None)
    );
    let objects = folder(&tmp.path().join("spend"));
    // the objects, in key order, hold exactly the lines of `llm spend export`, in order
    assert_eq!(all_lines(&objects), jsonl(&store).await);
    // at most 2 records per object, except records sharing a start time stay together
    insta::assert_snapshot!("folder_listing", listing(&objects).join("\n"));
    assert_eq!(first.objects.len(), objects.len());

    // again: nothing new is written
    let second = export_to_object_store(&store, &export, None, until).await.unwrap();
    assert_eq!((second.records, second.objects.len(), second.resumed), (0, 0, 0));
    assert_eq!(folder(&tmp.path().join("spend")), objects);

    // records after the exported window go to new objects only, when a later export reaches them (this one
    // runs up to now: no end given; with no settle lag nothing stays open)
    store
        .append(&[Arc::new(record(20, "2026-11-04T05:00:00Z")), Arc::new(record(21, "2026-11-05T00:00:00Z"))])
        .await
        .unwrap();
    let third = export_to_object_store(&store, &export, None, None).await.unwrap();
    assert_eq!((third.records, third.open_from), (2, None));
    let keys: Vec<&str> = third.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "dt=2026-11-04/spend-040000000000-240000000000.jsonl.gz",
            "dt=2026-11-05/spend-000000000000-240000000000.jsonl.gz"
        ]
    );
    let objects = folder(&tmp.path().join("spend"));
    assert_eq!(all_lines(&objects), jsonl(&store).await);

    // the progress is one merged span
    let dest = format!("file://{}/spend", tmp.path().display());
    let spans = store.export_spans(&dest, "jsonl").await.unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!((spans[0].from, spans[0].to, spans[0].records), (t("2026-11-01T08:00:00Z"), third.to, 14));

    // a record written late into a span already exported is not exported (the settle lag is what prevents
    // this for records written by a tracker)
    store.append(&[Arc::new(record(22, "2026-11-02T06:00:00Z"))]).await.unwrap();
    assert_eq!(export_to_object_store(&store, &export, None, None).await.unwrap().records, 0);
}

#[tokio::test]
async fn a_window_is_exported_once_whatever_windows_overlap_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MemoryStore::new();
    store.append(&fixture()).await.unwrap();
    let export = file_export(tmp.path());
    // the second day, then the first two days (the second is not written again), then everything
    let day2 = export_to_object_store(&store, &export, Some(t("2026-11-02")), Some(t("2026-11-03"))).await.unwrap();
    assert_eq!((day2.records, day2.open_from), (5, None));
    let both = export_to_object_store(&store, &export, Some(t("2026-11-01")), Some(t("2026-11-03"))).await.unwrap();
    assert_eq!(both.records, 4);
    let all = export_to_object_store(&store, &export, None, Some(t("2027-01-01"))).await.unwrap();
    assert_eq!(all.records, 3);
    let objects = folder(&tmp.path().join("spend"));
    let mut lines = all_lines(&objects);
    let mut want = jsonl(&store).await;
    lines.sort();
    want.sort();
    assert_eq!(lines, want);
    // a window reaching into the settle lag (default 10 min): its records are exported at once and its object
    // stays open; a record appended late into it is added by the next export, which writes the same object
    // again, so each record is in one object
    let recent = SpendExport::new(format!("file://{}/recent", tmp.path().display()));
    let now = Timestamp::now();
    store.append(&[Arc::new(record(30, &now.to_string()))]).await.unwrap();
    let first = export_to_object_store(&store, &recent, Some(now.plus_micros(-1)), None).await.unwrap();
    assert_eq!((first.records, first.objects.len()), (1, 1), "{first:?}");
    assert!(first.open_from.is_some_and(|o| o < now) && first.to > now, "{first:?}");
    let late = record(31, &now.plus_micros(-1).to_string());
    store.append(&[Arc::new(late.clone())]).await.unwrap();
    let again = export_to_object_store(&store, &recent, Some(now.plus_micros(-1)), None).await.unwrap();
    assert_eq!((again.records, again.resumed), (1, 1), "only the late record is new: {again:?}");
    assert_eq!(again.objects[0].key, first.objects[0].key);
    assert_eq!(again.objects[0].records, 2);
    let objects = folder(&tmp.path().join("recent"));
    assert_eq!(objects.len(), 1, "{objects:?}");
    let lines = all_lines(&objects);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], serde_json::to_string(&late).unwrap(), "oldest first");
    let spans = store.export_spans(&first.dest, "jsonl").await.unwrap();
    assert!(spans.iter().all(|s| s.pending), "still open: {spans:?}");
    assert_eq!(spans.iter().map(|s| s.records).sum::<u64>(), 2);
}

#[tokio::test]
async fn an_export_stopped_after_a_write_rewrites_that_object_under_the_same_name() {
    let tmp = tempfile::tempdir().unwrap();
    let inner = Arc::new(MemoryStore::new());
    inner.append(&fixture()).await.unwrap();
    // the third object is written, then the process "dies" before recording it
    let kill: OnFinish = Box::new(|n| if n == 3 { Err(llm_tracking::Error::store("killed")) } else { Ok(()) });
    let store = Flaky::with_on_finish(inner.clone(), Some(kill));
    let export = file_export(tmp.path()).max_records_per_object(3);
    let err = export_to_object_store(&store, &export, None, None).await.unwrap_err();
    assert_eq!(err.to_string(), "store: killed");
    let dest = format!("file://{}/spend", tmp.path().display());
    let spans = inner.export_spans(&dest, "jsonl").await.unwrap();
    assert_eq!(spans.iter().filter(|s| s.pending).count(), 1, "{spans:?}");
    let before = folder(&tmp.path().join("spend"));
    assert_eq!(before.len(), 3, "three objects written, two recorded");

    let again = export_to_object_store(inner.as_ref(), &export, None, None).await.unwrap();
    assert_eq!(again.resumed, 1);
    // the pending object was written again under its name, then the rest
    assert_eq!(again.objects[0].key, *before.keys().nth(2).unwrap());
    let after = folder(&tmp.path().join("spend"));
    assert_eq!(all_lines(&after), jsonl(inner.as_ref()).await, "every record exactly once");
    let spans = inner.export_spans(&dest, "jsonl").await.unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert!(!spans[0].pending);
}

/// The export progress behaves the same in every store.
async fn spans_conformance(store: &dyn Store, label: &str) {
    let (d, f) = ("s3://bucket/prefix", "jsonl");
    let (a, b, c, e) = (t("2026-11-01"), t("2026-11-01T06:00:00Z"), t("2026-11-01T12:00:00Z"), t("2026-11-02"));
    assert!(store.export_spans(d, f).await.unwrap().is_empty(), "{label}");
    store.record_export(d, f, ExportSpan::new(b, c, 0, true), a).await.unwrap();
    // already there and pending: it takes the new count (an open span written again), its end stays
    store.record_export(d, f, ExportSpan::new(b, e, 2, true), a).await.unwrap();
    assert_eq!(store.export_spans(d, f).await.unwrap(), [ExportSpan::new(b, c, 2, true)], "{label}");
    store.record_export(d, f, ExportSpan::new(a, b, 3, false), a).await.unwrap();
    // a pending span is not merged with its done neighbour
    assert_eq!(
        store.export_spans(d, f).await.unwrap(),
        [ExportSpan::new(a, b, 3, false), ExportSpan::new(b, c, 2, true)],
        "{label}"
    );
    store.record_export(d, f, ExportSpan::new(c, e, 4, false), a).await.unwrap();
    store.record_export(d, f, ExportSpan::new(b, c, 5, false), a).await.unwrap();
    assert_eq!(store.export_spans(d, f).await.unwrap(), [ExportSpan::new(a, e, 12, false)], "{label}");
    // a done span is not made pending again
    store.record_export(d, f, ExportSpan::new(a, b, 99, true), a).await.unwrap();
    assert_eq!(store.export_spans(d, f).await.unwrap(), [ExportSpan::new(a, e, 12, false)], "{label}");
    // per destination and format
    assert!(store.export_spans(d, "parquet").await.unwrap().is_empty(), "{label}");
    assert!(store.export_spans("s3://bucket/other", f).await.unwrap().is_empty(), "{label}");

    // a whole export over this store, to a folder, twice
    store.append(&fixture()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let export = file_export(tmp.path());
    assert_eq!(export_to_object_store(store, &export, None, None).await.unwrap().records, 12, "{label}");
    assert_eq!(export_to_object_store(store, &export, None, None).await.unwrap().records, 0, "{label}");
    assert_eq!(all_lines(&folder(&tmp.path().join("spend"))), jsonl(store).await, "{label}");
}

#[tokio::test]
async fn export_progress_in_memory_and_sqlite() {
    spans_conformance(&MemoryStore::new(), "memory").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spend.sqlite");
    let store = llm_tracking::store::SqliteStore::open(&path).await.unwrap();
    spans_conformance(&store, "sqlite").await;
    store.close().await;
    // the progress survives reopening
    let again = llm_tracking::store::SqliteStore::open(&path).await.unwrap();
    assert_eq!(again.export_spans("s3://bucket/prefix", "jsonl").await.unwrap().len(), 1);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn export_progress_in_postgres() {
    let Some(store) = pg_store_in_own_schema().await else { return };
    spans_conformance(&store, "postgres").await;
    store.drop_schema().await.unwrap();
}

#[tokio::test]
async fn a_tracker_exports_on_its_own_every_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    store.append(&fixture()).await.unwrap();
    // the second day's folder cannot be made (a file is in the way): runs fail there until it goes
    let dir = tmp.path().join("spend");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dt=2026-11-02"), b"in the way").unwrap();
    let tracker = llm_tracking::Tracker::builder()
        .store(store.clone())
        .spend_export(file_export(tmp.path()), Duration::from_millis(50))
        .build()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let dest = format!("file://{}", dir.display());
    while !store.export_spans(&dest, "jsonl").await.unwrap().iter().any(|s| s.pending) {
        assert!(std::time::Instant::now() < deadline, "no failed run: {:?}", listing(&folder(&dir)));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // a few more failed runs
    let days: Vec<String> = folder(&dir).keys().map(|k| k[..13].to_owned()).collect();
    assert_eq!(days, ["dt=2026-11-01"], "the first day only, once");
    std::fs::remove_file(dir.join("dt=2026-11-02")).unwrap();
    let want = jsonl(store.as_ref()).await;
    while all_lines(&folder(&dir)) != want {
        assert!(std::time::Instant::now() < deadline, "not exported: {:?}", listing(&folder(&dir)));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // a later record is picked up by a later run
    store.append(&[Arc::new(record(40, &Timestamp::now().to_string()))]).await.unwrap();
    let want = jsonl(store.as_ref()).await;
    while all_lines(&folder(&dir)) != want {
        assert!(std::time::Instant::now() < deadline, "not exported: {:?}", listing(&folder(&dir)));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tracker.shutdown().await.unwrap();

    // a destination that cannot be used fails the build
    let bad =
        llm_tracking::Tracker::builder().spend_export(SpendExport::new("ftp://x/y"), Duration::from_secs(1)).build();
    assert_eq!(bad.unwrap_err().kind(), &ErrorKind::Config);
}

// ----- moto's S3 server -----

/// moto's S3 server on a free loopback port; `auth` makes it check credentials (its IAM is empty, so every
/// key is refused).
fn moto(python: &Path, auth: bool) -> PeerProcess {
    let port = free_port();
    let port_s = port.to_string();
    let envs: &[(&str, &str)] = if auth { &[("INITIAL_NO_AUTH_ACTION_COUNT", "0")] } else { &[] };
    PeerProcess::start(
        python,
        &["-m", "moto.server", "-H", "127.0.0.1", "-p", &port_s],
        envs,
        port,
        Duration::from_secs(60),
    )
}

fn s3(endpoint: &str, url: &str) -> SpendExport {
    SpendExport::new(url)
        .option("aws_endpoint", endpoint)
        .option("aws_access_key_id", "test-key-id")
        .option("aws_secret_access_key", "test-secret-PLANTED-0123456789")
        .option("aws_region", "us-east-1")
        .settle_lag(Duration::ZERO)
        .retries(0, Duration::from_secs(2), Duration::from_secs(5))
}

const BOTO_ENV: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "test-key-id"),
    ("AWS_SECRET_ACCESS_KEY", "test-secret-PLANTED-0123456789"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
];

fn make_bucket(python: &Path, endpoint: &str, bucket: &str) {
    run_python(
        python,
        "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1]).create_bucket(Bucket=sys.argv[2])",
        &[endpoint, bucket],
        &BOTO_ENV,
    );
}

/// Lists `bucket/prefix` with boto3 and reads every object back: `{key: [lines]}` (gunzipped JSON lines).
const READ_JSONL: &str = r#"
import sys, json, gzip, boto3
s3 = boto3.client('s3', endpoint_url=sys.argv[1])
out = {}
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2], Prefix=sys.argv[3]):
    for o in page.get('Contents', []):
        body = s3.get_object(Bucket=sys.argv[2], Key=o['Key'])['Body'].read()
        out[o['Key']] = gzip.decompress(body).decode('utf-8').splitlines()
print(json.dumps(out))
"#;

fn read_bucket(python: &Path, endpoint: &str, bucket: &str, prefix: &str) -> BTreeMap<String, Vec<String>> {
    serde_json::from_str(run_python(python, READ_JSONL, &[endpoint, bucket, prefix], &BOTO_ENV).trim()).unwrap()
}

#[tokio::test]
async fn s3_exports_are_read_back_by_boto3_and_never_duplicated() {
    let Some(python) = require_python(&["moto", "boto3"]) else { return };
    let server = moto(&python, false);
    let endpoint = format!("http://127.0.0.1:{}", server.port());
    make_bucket(&python, &endpoint, "spend");
    let store = MemoryStore::new();
    store.append(&fixture()).await.unwrap();
    let export = s3(&endpoint, "s3://spend/llm/prod").max_records_per_object(4);

    let first = export_to_object_store(&store, &export, None, None).await.unwrap();
    assert_eq!(first.records, 12);
    assert_eq!(first.dest, "s3://spend/llm/prod");
    let objects = read_bucket(&python, &endpoint, "spend", "llm/prod/");
    assert_eq!(all_lines(&objects), jsonl(&store).await, "boto3 reads back exactly the exported lines");
    insta::assert_snapshot!("s3_listing", listing(&objects).join("\n"));

    let second = export_to_object_store(&store, &export, None, None).await.unwrap();
    assert_eq!((second.records, second.objects.len()), (0, 0));
    assert_eq!(read_bucket(&python, &endpoint, "spend", "llm/prod/"), objects, "nothing new written");

    // a missing bucket: a clear error naming the destination, nothing recorded as exported
    let missing = s3(&endpoint, "s3://no-such-bucket/x");
    let err = export_to_object_store(&store, &missing, None, None).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Export);
    let msg = err.to_string();
    assert!(msg.starts_with("export: spend export to s3://no-such-bucket/x: writing x/dt=2026-11-01/"), "{msg}");
    assert!(msg.contains("does the bucket (or container) exist?"), "{msg}");
    assert!(!msg.contains("PLANTED") && !format!("{err:?}").contains("PLANTED"), "{msg}");
    assert!(!format!("{missing:?}").contains("PLANTED"));
    let spans = store.export_spans("s3://no-such-bucket/x", "jsonl").await.unwrap();
    assert!(spans.iter().all(|s| s.pending && s.records == 0), "{spans:?}");
    // once the bucket exists, the next export writes everything, once
    make_bucket(&python, &endpoint, "no-such-bucket");
    let later = export_to_object_store(&store, &missing, None, None).await.unwrap();
    assert_eq!((later.records, later.resumed), (12, 1));
    assert_eq!(all_lines(&read_bucket(&python, &endpoint, "no-such-bucket", "x/")), jsonl(&store).await);
}

#[tokio::test]
async fn an_s3_server_going_down_mid_export_loses_and_duplicates_nothing() {
    let Some(python) = require_python(&["moto", "boto3"]) else { return };
    let server = moto(&python, false);
    let endpoint = format!("http://127.0.0.1:{}", server.port());
    make_bucket(&python, &endpoint, "spend");
    let proxy = Arc::new(TcpProxy::start(([127, 0, 0, 1], server.port()).into()).await.unwrap());
    let inner = Arc::new(MemoryStore::new());
    inner.append(&fixture()).await.unwrap();
    // the server goes away once the second object is written
    let cut = proxy.clone();
    let cut_after_two: OnFinish = Box::new(move |n| {
        if n == 2 {
            cut.cut();
        }
        Ok(())
    });
    let store = Flaky::with_on_finish(inner.clone(), Some(cut_after_two));
    let export = s3(&format!("http://{}", proxy.addr()), "s3://spend/cut").max_records_per_object(2);
    let err = export_to_object_store(&store, &export, None, None).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Export);
    assert!(err.to_string().contains("spend export to s3://spend/cut: writing cut/dt="), "{err}");
    let done: u64 = inner.export_spans("s3://spend/cut", "jsonl").await.unwrap().iter().map(|s| s.records).sum();
    assert!(done > 0 && done < 12, "{done}");

    proxy.restore().await.unwrap();
    let rest = export_to_object_store(inner.as_ref(), &export, None, None).await.unwrap();
    assert_eq!(rest.records + done, 12);
    assert_eq!(rest.resumed, 1);
    let objects = read_bucket(&python, &endpoint, "spend", "cut/");
    assert_eq!(all_lines(&objects), jsonl(inner.as_ref()).await, "every record exactly once");
}

#[tokio::test]
async fn refused_s3_credentials_are_a_clear_error() {
    let Some(python) = require_python(&["moto", "boto3"]) else { return };
    let server = moto(&python, true);
    let endpoint = format!("http://127.0.0.1:{}", server.port());
    let store = MemoryStore::new();
    store.append(&fixture()).await.unwrap();
    let err = export_to_object_store(&store, &s3(&endpoint, "s3://spend/x"), None, None).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Export);
    let msg = err.to_string();
    assert!(msg.contains("spend export to s3://spend/x"), "{msg}");
    assert!(msg.contains("access denied: the credentials were refused or lack permission"), "{msg}");
    assert!(!msg.contains("PLANTED") && !format!("{err:?}").contains("PLANTED"), "{msg}");
    let spans = store.export_spans("s3://spend/x", "jsonl").await.unwrap();
    assert!(spans.iter().all(|s| s.pending), "nothing recorded as exported: {spans:?}");
}

// ----- Parquet, read back by DuckDB -----

/// Downloads every object under `bucket/prefix` with boto3 into `dir`, then reads them all with DuckDB: the
/// schema DuckDB sees and the rows (ids, times, amounts as exact decimal text, counts, tags, metadata).
#[cfg(feature = "parquet")]
const READ_PARQUET: &str = r#"
import sys, os, json, boto3, duckdb
endpoint, bucket, prefix, dir = sys.argv[1:5]
s3 = boto3.client('s3', endpoint_url=endpoint)
keys = []
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
    for o in page.get('Contents', []):
        local = os.path.join(dir, o['Key'])
        os.makedirs(os.path.dirname(local), exist_ok=True)
        s3.download_file(bucket, o['Key'], local)
        keys.append(o['Key'])
glob = os.path.join(dir, prefix, '**', '*.parquet')
con = duckdb.connect()
schema = [f'{r[0]}: {r[1]}' for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{glob}')").fetchall()]
rows = con.execute(f"""
  SELECT id, epoch_us(start_time), CAST(spend AS VARCHAR), CAST(cost AS VARCHAR), prompt_tokens,
         cache_read_tokens, status, tags, metadata, "user", dt
  FROM read_parquet('{glob}', hive_partitioning = true) ORDER BY start_time, id""").fetchall()
total = con.execute(f"SELECT CAST(SUM(spend) AS VARCHAR), COUNT(*) FROM read_parquet('{glob}')").fetchone()
print(json.dumps({'keys': keys, 'schema': schema, 'total': list(total),
                  'rows': [[r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], str(r[10])] for r in rows]}))
"#;

#[cfg(feature = "parquet")]
fn decimal18(u: Usd) -> String {
    let mut d = u.amount();
    d.rescale(18);
    d.to_string()
}

#[cfg(feature = "parquet")]
#[tokio::test]
async fn parquet_exports_are_read_by_duckdb_with_a_typed_schema() {
    let Some(python) = require_python(&["moto", "boto3", "duckdb"]) else { return };
    let server = moto(&python, false);
    let endpoint = format!("http://127.0.0.1:{}", server.port());
    make_bucket(&python, &endpoint, "lake");
    let store = MemoryStore::new();
    let records = fixture();
    store.append(&records).await.unwrap();
    let export = s3(&endpoint, "s3://lake/spend").format(ExportFormat::Parquet).max_records_per_object(5);
    let first: ExportSummary = export_to_object_store(&store, &export, None, None).await.unwrap();
    assert_eq!(first.records, 12);
    assert!(first.objects.iter().all(|o| o.key.ends_with(".parquet")), "{first:?}");
    assert_eq!(export_to_object_store(&store, &export, None, None).await.unwrap().records, 0);

    let tmp = tempfile::tempdir().unwrap();
    let out =
        run_python(&python, READ_PARQUET, &[&endpoint, "lake", "spend/", tmp.path().to_str().unwrap()], &BOTO_ENV);
    let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    insta::assert_snapshot!(
        "parquet_duckdb_schema",
        got["schema"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>().join("\n")
    );
    let mut want: Vec<&CallRecord> = records.iter().map(|r| r.as_ref()).collect();
    want.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
    let rows = got["rows"].as_array().unwrap();
    assert_eq!(rows.len(), want.len());
    for (row, r) in rows.iter().zip(&want) {
        assert_eq!(row[0], r.id.as_str());
        assert_eq!(row[1], r.start_time.as_micros());
        assert_eq!(row[2], decimal18(r.spend), "{}", r.id);
        match r.cost.as_ref().and_then(|c| c.total()) {
            Some(c) => assert_eq!(row[3], decimal18(c)),
            None => assert!(row[3].is_null()),
        }
        assert_eq!(row[4], r.usage.prompt_tokens);
        assert_eq!(row[5], serde_json::json!(r.usage.cache_read_tokens));
        assert_eq!(row[6], r.status.as_str());
        assert_eq!(row[7], serde_json::json!(r.tags));
        match r.metadata.is_empty() {
            true => assert!(row[8].is_null()),
            false => assert_eq!(row[8], serde_json::to_string(&r.metadata).unwrap()),
        }
        assert_eq!(row[9], serde_json::json!(r.user));
        assert_eq!(row[10], r.start_time.day().to_string(), "the dt= partition is the record's UTC day");
    }
    // DuckDB's exact sum equals ours
    let sum: Usd = records.iter().map(|r| r.spend).sum();
    assert_eq!(got["total"], serde_json::json!([decimal18(sum), 12]));
}

//! Streamed exports: keyset pages over (start time, id) from every store. (A file of its own: the tracing
//! capture of `exports.rs` must not share its process with PostgreSQL's connection events.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use llm_tracking::export::{export_jsonl, export_jsonl_paged};
use llm_tracking::{CallRecord, Store};

/// A paged export visits every record once, in (start time, id) order: 50 records, 20 of them sharing one start
/// time across several page boundaries, read 7 at a time, from every store; and the default page size gives the
/// same bytes.
#[tokio::test]
async fn paged_export_has_no_duplicates_or_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let mut stores: Vec<Arc<dyn Store>> = vec![Arc::new(llm_tracking::MemoryStore::new())];
    #[cfg(feature = "sqlite")]
    stores.push(Arc::new(llm_tracking::store::SqliteStore::open(dir.path().join("paged.db")).await.unwrap()));
    #[cfg(feature = "postgres")]
    let pg = common::pg_store_in_own_schema().await;
    #[cfg(feature = "postgres")]
    if let Some(s) = &pg {
        stores.push(Arc::new(s.clone()));
    }
    let base: llm_tracking::Timestamp = "2025-03-01T00:00:00Z".parse().unwrap();
    let mut records: Vec<Arc<CallRecord>> = Vec::new();
    for i in 0..50u32 {
        // records 10..30 share one start time; ids are not in start-time order
        let micros = match i {
            0..10 => i64::from(i),
            10..30 => 100,
            _ => 200 + i64::from(i),
        };
        let at = llm_tracking::Timestamp::from_micros(base.as_micros() + micros);
        let mut r = CallRecord::new("openai", "gpt-4o", at);
        r.id = format!("rec{:02}", (i * 37) % 50);
        records.push(Arc::new(r));
    }
    let mut want: Vec<(i64, String)> = records.iter().map(|r| (r.start_time.as_micros(), r.id.clone())).collect();
    want.sort();
    for store in &stores {
        assert_eq!(store.append(&records).await.unwrap(), 50, "{}", store.name());
        for page in [1, 7, 20, 49, 50, 51, 1000] {
            let mut buf = Vec::new();
            let n = export_jsonl_paged(store.as_ref(), None, None, page, &mut buf).await.unwrap();
            let got: Vec<(i64, String)> = String::from_utf8(buf)
                .unwrap()
                .lines()
                .map(|l| {
                    let r: CallRecord = serde_json::from_str(l).unwrap();
                    (r.start_time.as_micros(), r.id)
                })
                .collect();
            assert_eq!(n, 50, "{} page {page}", store.name());
            assert_eq!(got, want, "{} page {page}", store.name());
        }
        // a range: [from, to) with the shared start time inside it
        let from = llm_tracking::Timestamp::from_micros(base.as_micros() + 5);
        let to = llm_tracking::Timestamp::from_micros(base.as_micros() + 231);
        let mut buf = Vec::new();
        let n = export_jsonl_paged(store.as_ref(), Some(from), Some(to), 3, &mut buf).await.unwrap();
        let expected: Vec<&(i64, String)> =
            want.iter().filter(|(t, _)| *t >= base.as_micros() + 5 && *t < base.as_micros() + 231).collect();
        assert_eq!(n as usize, expected.len(), "{}", store.name());
        assert_eq!(expected.len(), 5 + 20 + 1);
        let mut whole = Vec::new();
        export_jsonl(store.as_ref(), None, None, &mut whole).await.unwrap();
        let mut paged = Vec::new();
        export_jsonl_paged(store.as_ref(), None, None, 7, &mut paged).await.unwrap();
        assert_eq!(whole, paged, "{}", store.name());
    }
    #[cfg(feature = "postgres")]
    if let Some(pg) = pg {
        pg.drop_schema().await.unwrap();
    }
}

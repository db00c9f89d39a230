//! Exports: a JSONL sink (a [`Hook`](crate::Hook) that appends one record per line to a file) and a JSONL
//! dump of a store's spend log.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::error::Result;
use crate::hooks::{Hook, HookError};
use crate::record::CallRecord;
use crate::store::Store;
use crate::time::Timestamp;

/// A hook that appends every record as one JSON line to a file (created if missing).
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl JsonlSink {
    /// A sink appending to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), file: Mutex::new(None) }
    }

    /// The file it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write(&self, record: &CallRecord) -> Result<(), HookError> {
        use std::io::Write;
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let mut guard = self.file.lock().await;
        if guard.is_none() {
            *guard = Some(std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?);
        }
        if let Some(f) = guard.as_mut() {
            f.write_all(&line)?;
        }
        Ok(())
    }
}

#[async_trait]
impl Hook for JsonlSink {
    fn name(&self) -> &str {
        "jsonl"
    }

    fn wants_before_call(&self) -> bool {
        false
    }

    async fn on_success(&self, record: &CallRecord) -> Result<(), HookError> {
        self.write(record).await
    }

    async fn on_failure(&self, record: &CallRecord) -> Result<(), HookError> {
        self.write(record).await
    }
}

/// Writes a store's records with start time in `[from, to)` as JSON lines, oldest first, in pages; returns
/// how many were written.
pub async fn export_jsonl(
    store: &dyn Store,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    out: &mut (dyn std::io::Write + Send),
) -> Result<u64> {
    const PAGE: usize = 10_000;
    let mut n = 0u64;
    let mut cursor = from;
    let mut seen_at_cursor: std::collections::HashSet<String> = std::collections::HashSet::new();
    loop {
        let page = store.records(cursor, to, PAGE).await?;
        let full = page.len() == PAGE;
        let last = page.last().map(|r| r.start_time);
        let mut wrote = 0;
        for r in &page {
            if seen_at_cursor.contains(&r.id) {
                continue;
            }
            serde_json::to_writer(&mut *out, r)?;
            out.write_all(b"\n")?;
            n += 1;
            wrote += 1;
        }
        if !full || wrote == 0 {
            break;
        }
        // Next page starts at the last timestamp (records sharing it are skipped by id).
        let last = last.unwrap_or_default();
        seen_at_cursor = page.iter().filter(|r| r.start_time == last).map(|r| r.id.clone()).collect();
        cursor = Some(last);
    }
    Ok(n)
}

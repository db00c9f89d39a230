//! Exports: a JSONL sink (a [`Hook`](crate::Hook) that appends one record per line to a file), a JSONL
//! dump of a store's spend log, and (feature `object-store`) day-partitioned exports to S3, GCS, Azure Blob and
//! local folders ([`object`]).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::error::Result;
use crate::hooks::{Hook, HookError};
use crate::record::CallRecord;
use crate::store::{RecordPage, Store};
use crate::time::Timestamp;

#[cfg(feature = "object-store")]
pub mod object;
#[cfg(feature = "parquet")]
mod table;

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

/// Records an export reads per page by default.
pub const EXPORT_PAGE: usize = 2_000;

/// Writes a store's records with start time in `[from, to)` as JSON lines, oldest first (by start time, then
/// id), streaming: pages of [`EXPORT_PAGE`] records are read ([`Store::records_after`], keyset pagination on
/// `(start_time, id)`) and written as they come, so memory stays flat whatever the size of the log. Returns
/// how many were written.
pub async fn export_jsonl(
    store: &dyn Store,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    out: &mut (dyn std::io::Write + Send),
) -> Result<u64> {
    export_jsonl_paged(store, from, to, EXPORT_PAGE, out).await
}

/// [`export_jsonl`] with pages of `page` records (at least 1).
pub async fn export_jsonl_paged(
    store: &dyn Store,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    page: usize,
    out: &mut (dyn std::io::Write + Send),
) -> Result<u64> {
    let page = page.max(1);
    let mut n = 0u64;
    let mut cursor: Option<(Timestamp, String)> = None;
    let mut line: Vec<u8> = Vec::with_capacity(1024);
    loop {
        let after = cursor.as_ref().map(|(t, id)| (*t, id.as_str()));
        let records = store.records_after(RecordPage { from, to, after, limit: page }).await?;
        for r in &records {
            line.clear();
            serde_json::to_writer(&mut line, r)?;
            line.push(b'\n');
            out.write_all(&line)?;
            n += 1;
        }
        match records.last() {
            Some(last) if records.len() == page => cursor = Some((last.start_time, last.id.clone())),
            _ => break,
        }
    }
    out.flush()?;
    Ok(n)
}

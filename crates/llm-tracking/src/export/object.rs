//! Spend exports to object storage (feature `object-store`): S3, Google Cloud Storage, Azure Blob and local
//! folders through the `object_store` crate.
//!
//! Records land under `PREFIX/dt=YYYY-MM-DD/` (the UTC day of their start time) as gzip JSON lines (the lines of
//! [`export_jsonl`](crate::export::export_jsonl), byte for byte) or Parquet with a typed schema (feature
//! `parquet`). An export is idempotent and resumable: the store keeps, per destination and format, which spans of
//! start times are exported ([`Store::export_spans`]), and an export writes only the rest of its window.
//!
//! Each object holds one span `[from, to)` of one day and is named after it
//! (`spend-HHMMSSffffff-HHMMSSffffff.jsonl.gz`, times of day in UTC). The span is recorded as pending before the
//! object is written and as done after, so an export that stops in between (a crash, the network, a refused
//! write) leaves a pending span that the next export writes again under the same name: a record is never in two
//! objects. Every record already in the store is exported, up to now; the spans of the last minutes (the settle
//! lag: a record is written when its call ends, after its start time, so those may still be filling) stay
//! pending, and the next export writes them again, under the same names, with whatever arrived meanwhile,
//! until they are older than the lag and recorded done.
//!
//! ```no_run
//! use std::time::Duration;
//! use llm_tracking::export::object::{ExportFormat, SpendExport, export_to_object_store};
//!
//! # async fn run(store: &dyn llm_tracking::Store) -> llm_tracking::Result<()> {
//! // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (and AWS_ENDPOINT_URL for another S3) from the env
//! let export = SpendExport::new("s3://my-bucket/llm/spend").format(ExportFormat::Jsonl);
//! let summary = export_to_object_store(store, &export, None, None).await?;
//! println!("{} records in {} objects", summary.records, summary.objects.len());
//! # Ok(())
//! # }
//! ```

use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::export::EXPORT_PAGE;
use crate::record::CallRecord;
use crate::store::{ExportSpan, RecordPage, Store};
use crate::time::Timestamp;

/// The file format of an object export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ExportFormat {
    /// Gzip JSON lines (`.jsonl.gz`): one record per line, as `llm spend export` prints it.
    #[default]
    Jsonl,
    /// Parquet (`.parquet`) with a typed schema (feature `parquet`): see docs/tracking.md for the columns.
    Parquet,
}

impl ExportFormat {
    /// `jsonl` or `parquet`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Parquet => "parquet",
        }
    }

    /// The objects' file extension (`jsonl.gz`, `parquet`).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl.gz",
            Self::Parquet => "parquet",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "jsonl" => Ok(Self::Jsonl),
            "parquet" => Ok(Self::Parquet),
            other => Err(Error::config(format!("unknown export format {other:?}: expected jsonl or parquet"))),
        }
    }
}

/// Where and how spend is exported: a destination URL (`s3://BUCKET/PREFIX`, `gs://BUCKET/PREFIX`,
/// `az://CONTAINER/PREFIX`, `file:///PATH`), a format and a settle lag. Credentials come from the environment
/// (see [`SpendExport::new`]) or [`SpendExport::option`]. Its `Debug` shows option names, never their values.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct SpendExport {
    dest: String,
    options: Vec<(String, String)>,
    format: ExportFormat,
    settle_lag: Duration,
    max_records_per_object: usize,
    retries: usize,
    retry_timeout: Duration,
    timeout: Duration,
}

impl SpendExport {
    /// The default settle lag: spans of start times younger than this are exported but kept open.
    pub const DEFAULT_SETTLE_LAG: Duration = Duration::from_secs(600);

    /// The default largest object, in records: a day with more is split in several objects.
    pub const DEFAULT_MAX_RECORDS_PER_OBJECT: usize = 100_000;

    /// An export to `dest`, gzip JSON lines. S3 is configured with the standard AWS variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`: an
    /// `http://` endpoint is allowed as given), Google Cloud Storage with `GOOGLE_SERVICE_ACCOUNT` (a key file
    /// path) or `GOOGLE_APPLICATION_CREDENTIALS`, Azure with `AZURE_STORAGE_ACCOUNT_NAME` and
    /// `AZURE_STORAGE_ACCOUNT_KEY` (or another `AZURE_*` credential `object_store` reads).
    pub fn new(dest: impl Into<String>) -> Self {
        Self {
            dest: dest.into(),
            options: Vec::new(),
            format: ExportFormat::Jsonl,
            settle_lag: Self::DEFAULT_SETTLE_LAG,
            max_records_per_object: Self::DEFAULT_MAX_RECORDS_PER_OBJECT,
            retries: 3,
            retry_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
        }
    }

    /// Sets an `object_store` configuration key of the destination's builder, over the environment:
    /// `aws_endpoint`, `aws_access_key_id`, `aws_secret_access_key`, `aws_region`, `google_service_account`,
    /// `azure_storage_account_name`, ... (the lowercase names of the variables). An unknown key is a `Config`
    /// error when the export starts. The values of secrets (keys, tokens, passwords) never appear in messages.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        if is_secret_option(&key) {
            llm_core::register_secret(&value);
        }
        self.options.push((key, value));
        self
    }

    /// The format.
    pub fn format(mut self, format: ExportFormat) -> Self {
        self.format = format;
        self
    }

    /// How long a span of start times stays open after its end (default [`Self::DEFAULT_SETTLE_LAG`]): its
    /// records are exported at once, and its objects are written again by every export until then, with any
    /// record appended late (a call that ended later than it started, the writer's interval).
    pub fn settle_lag(mut self, lag: Duration) -> Self {
        self.settle_lag = lag;
        self
    }

    /// The most records in one object (at least 1; records with the same start time stay in one object).
    pub fn max_records_per_object(mut self, n: usize) -> Self {
        self.max_records_per_object = n.max(1);
        self
    }

    /// Retries of a failed request (default 3) within `within` (default 30 s), and the timeout of one
    /// request (default 60 s).
    pub fn retries(mut self, retries: usize, within: Duration, timeout: Duration) -> Self {
        self.retries = retries;
        self.retry_timeout = within;
        self.timeout = timeout;
        self
    }

    /// The destination URL as given.
    pub fn dest(&self) -> &str {
        &self.dest
    }

    /// The format.
    pub fn export_format(&self) -> ExportFormat {
        self.format
    }

    /// The settle lag.
    pub fn lag(&self) -> Duration {
        self.settle_lag
    }
}

/// Whether an option's value is a secret (a secret key, a token, a password, a SAS, a service-account key).
fn is_secret_option(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    !k.ends_with("access_key_id")
        && ["secret", "token", "password", "sas", "key", "credential", "service_account"].iter().any(|w| k.contains(w))
}

impl std::fmt::Debug for SpendExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpendExport")
            .field("dest", &crate::store::redact_url(&self.dest))
            .field("options", &self.options.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("format", &self.format)
            .field("settle_lag", &self.settle_lag)
            .field("max_records_per_object", &self.max_records_per_object)
            .finish_non_exhaustive()
    }
}

/// One object an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExportedObject {
    /// Its key in the bucket (with the prefix).
    pub key: String,
    /// The span of start times it holds, `[from, to)`.
    pub from: Timestamp,
    /// End of the span (exclusive).
    pub to: Timestamp,
    /// How many records.
    pub records: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExportSummary {
    /// The destination (the URL normalized: no trailing slash, no query).
    pub dest: String,
    /// The format.
    pub format: ExportFormat,
    /// The start of the window exported (`None`: no record to export).
    pub from: Option<Timestamp>,
    /// The end of the window (exclusive): the one asked for, or now when earlier.
    pub to: Timestamp,
    /// Where the open part of the window starts (now minus the settle lag), when the window reaches past it:
    /// the objects of that part are written again by the next exports, with any record appended late, until
    /// they settle. `None` when the whole window is settled.
    pub open_from: Option<Timestamp>,
    /// Records exported for the first time (a pending object written again counts only its new records).
    pub records: u64,
    /// Objects written, in order.
    pub objects: Vec<ExportedObject>,
    /// Spans an earlier export had begun and not finished, written again by this one.
    pub resumed: u64,
}

/// Exports the store's records with start time in `[from, to)` that are not exported to this destination and
/// format yet (up to now; `from: None` starts at the oldest record); the part younger than the settle lag stays
/// open, written again by the next exports until it settles.
/// Running it again writes nothing new.
///
/// # Errors
/// A destination URL that cannot be used ([`ErrorKind::Config`]), an object that cannot be written (a missing
/// bucket, refused credentials, the network: [`ErrorKind::Export`], naming the destination and never a secret),
/// or the store. What was written before the error stays recorded; the next export goes on from there.
pub async fn export_to_object_store(
    store: &dyn Store,
    export: &SpendExport,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<ExportSummary> {
    let dest = Destination::open(export)?;
    export_at(store, export, &dest, from, to, Timestamp::now()).await
}

/// An opened destination: the client, the key prefix and the normalized URL it is known by in the store.
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    client: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
}

/// Credentials the object-store builders read from the environment: their values never appear in a message.
const SECRET_VARS: [&str; 6] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_CLIENT_SECRET",
];

impl Destination {
    /// Opens the destination of `export` (no request is sent).
    pub(crate) fn open(export: &SpendExport) -> Result<Self> {
        for var in SECRET_VARS {
            if let Ok(v) = std::env::var(var) {
                llm_core::register_secret(&v);
            }
        }
        let raw = export.dest.trim();
        let bad = |why: &str| {
            Error::config(format!(
                "invalid export destination {:?}: {why} (expected s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, \
                 az://CONTAINER/PREFIX or file:///PATH)",
                crate::store::redact_url(raw)
            ))
        };
        let (scheme, rest) = raw.split_once("://").ok_or_else(|| bad("no scheme"))?;
        if rest.contains('?') || rest.contains('#') {
            return Err(bad("a query or fragment is not allowed; configure credentials in the environment"));
        }
        if scheme == "file" {
            let path = rest.trim_end_matches('/');
            let path = if path.is_empty() { "/" } else { path };
            if !path.starts_with('/') {
                return Err(bad("a file:// destination needs an absolute path (file:///PATH)"));
            }
            std::fs::create_dir_all(path)
                .map_err(|e| Error::new(ErrorKind::Export, format!("spend export to file://{path}: {e}")))?;
            let client = object_store::local::LocalFileSystem::new_with_prefix(path)
                .map_err(|e| Error::new(ErrorKind::Export, format!("spend export to file://{path}: {e}")))?;
            return Ok(Self { client: Arc::new(client), prefix: String::new(), url: format!("file://{path}") });
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || bucket.contains('@') {
            return Err(bad("no bucket or container"));
        }
        let prefix = prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() {
            ObjectPath::parse(&prefix).map_err(|e| bad(&format!("bad prefix: {e}")))?;
        }
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: export.retries,
            retry_timeout: export.retry_timeout,
        };
        // Set through the builders' config keys, so what the environment set (`AWS_ALLOW_HTTP`, a proxy) stays.
        let timeouts = [
            (object_store::ClientConfigKey::Timeout, format!("{}ms", export.timeout.as_millis())),
            (
                object_store::ClientConfigKey::ConnectTimeout,
                format!("{}ms", export.timeout.min(Duration::from_secs(10)).as_millis()),
            ),
        ];
        let unknown = |key: &str| bad(&format!("unknown {scheme} option {key:?}"));
        let built: std::result::Result<Arc<dyn ObjectStore>, object_store::Error> = match scheme {
            "s3" | "s3a" => {
                use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
                let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
                for (k, v) in &timeouts {
                    b = b.with_config(AmazonS3ConfigKey::Client(*k), v);
                }
                for (k, v) in &export.options {
                    b = b.with_config(k.parse::<AmazonS3ConfigKey>().map_err(|_| unknown(k))?, v);
                }
                // A local S3 (moto, MinIO) answers on http://: allowed when the endpoint itself says so.
                if b.get_config_value(&AmazonS3ConfigKey::Endpoint).is_some_and(|e| e.starts_with("http://")) {
                    b = b.with_allow_http(true);
                }
                b.with_retry(retry).build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            }
            "gs" => {
                use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
                let mut b = GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket);
                for (k, v) in &timeouts {
                    b = b.with_config(GoogleConfigKey::Client(*k), v);
                }
                for (k, v) in &export.options {
                    b = b.with_config(k.parse::<GoogleConfigKey>().map_err(|_| unknown(k))?, v);
                }
                b.with_retry(retry).build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            }
            "az" | "azure" => {
                use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
                let mut b = MicrosoftAzureBuilder::from_env().with_container_name(bucket);
                for (k, v) in &timeouts {
                    b = b.with_config(AzureConfigKey::Client(*k), v);
                }
                for (k, v) in &export.options {
                    b = b.with_config(k.parse::<AzureConfigKey>().map_err(|_| unknown(k))?, v);
                }
                b.with_retry(retry).build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            }
            _ => return Err(bad(&format!("unsupported scheme {scheme:?}"))),
        };
        let url =
            if prefix.is_empty() { format!("{scheme}://{bucket}") } else { format!("{scheme}://{bucket}/{prefix}") };
        let client = built.map_err(|e| {
            Error::config(format!("spend export to {url}: the {scheme} client cannot be configured: {e}"))
                .with_source(e)
        })?;
        Ok(Self { client, prefix, url })
    }

    /// The key of the object holding `[from, to)` of one day.
    fn key(&self, from: Timestamp, to: Timestamp, format: ExportFormat) -> String {
        let day = from.day();
        let start = day.start().as_micros();
        let clock = |t: Timestamp| {
            let us = t.as_micros() - start;
            let (secs, frac) = (us.div_euclid(1_000_000), us.rem_euclid(1_000_000));
            format!("{:02}{:02}{:02}{frac:06}", secs / 3600, secs / 60 % 60, secs % 60)
        };
        let name = format!("dt={day}/spend-{}-{}.{}", clock(from), clock(to), format.extension());
        if self.prefix.is_empty() { name } else { format!("{}/{name}", self.prefix) }
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<()> {
        let path = ObjectPath::parse(key)
            .map_err(|e| Error::new(ErrorKind::Export, format!("spend export to {}: bad key {key}: {e}", self.url)))?;
        self.client.put(&path, PutPayload::from(body)).await.map_err(|e| self.error(key, e))?;
        Ok(())
    }

    /// A typed, redacted error for a failed write.
    fn error(&self, key: &str, e: object_store::Error) -> Error {
        use object_store::Error as E;
        let what = match &e {
            E::NotFound { .. } => "not found: does the bucket (or container) exist?",
            E::Unauthenticated { .. } => "the credentials were refused",
            E::PermissionDenied { .. } => "access denied: the credentials were refused or lack permission",
            _ => "the write failed (is the storage service reachable?)",
        };
        Error::new(ErrorKind::Export, format!("spend export to {}: writing {key}: {what}: {e}", self.url))
            .with_source(e)
    }
}

/// The spans of `[start, end)` that no span in `spans` (sorted by start) covers.
fn gaps(start: Timestamp, end: Timestamp, spans: &[ExportSpan]) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut cur = start;
    for s in spans {
        if s.to <= cur {
            continue;
        }
        if s.from >= end {
            break;
        }
        if s.from > cur {
            out.push((cur, s.from));
        }
        cur = cur.max(s.to);
    }
    if cur < end {
        out.push((cur, end));
    }
    out
}

/// `[from, to)` cut at UTC midnights.
fn split_days(from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut a = from;
    while a < to {
        let next = a.day().plus(1).start();
        let b = if next > a { next.min(to) } else { to };
        out.push((a, b));
        a = b;
    }
    out
}

/// One object being written.
enum Part {
    Jsonl(flate2::write::GzEncoder<Vec<u8>>, Vec<u8>),
    #[cfg(feature = "parquet")]
    Parquet(Box<super::table::ParquetPart>),
}

impl Part {
    fn new(format: ExportFormat) -> Result<Self> {
        match format {
            ExportFormat::Jsonl => {
                Ok(Self::Jsonl(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()), Vec::new()))
            }
            #[cfg(feature = "parquet")]
            ExportFormat::Parquet => Ok(Self::Parquet(Box::new(super::table::ParquetPart::new()?))),
            #[cfg(not(feature = "parquet"))]
            ExportFormat::Parquet => Err(parquet_missing()),
        }
    }

    fn push(&mut self, r: &CallRecord) -> Result<()> {
        match self {
            Self::Jsonl(gz, line) => {
                line.clear();
                serde_json::to_writer(&mut *line, r)?;
                line.push(b'\n');
                gz.write_all(line)?;
                Ok(())
            }
            #[cfg(feature = "parquet")]
            Self::Parquet(p) => p.push(r),
        }
    }

    fn finish(self) -> Result<Vec<u8>> {
        match self {
            Self::Jsonl(gz, _) => Ok(gz.finish()?),
            #[cfg(feature = "parquet")]
            Self::Parquet(p) => p.finish(),
        }
    }
}

#[cfg(not(feature = "parquet"))]
fn parquet_missing() -> Error {
    Error::config("parquet export requested but llm-tracking was built without feature `parquet`")
}

/// The export, with the clock given (tests move it).
pub(crate) async fn export_at(
    store: &dyn Store,
    export: &SpendExport,
    dest: &Destination,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    now: Timestamp,
) -> Result<ExportSummary> {
    let format = export.format;
    #[cfg(not(feature = "parquet"))]
    if format == ExportFormat::Parquet {
        return Err(parquet_missing());
    }
    let lag = i64::try_from(export.settle_lag.as_micros()).unwrap_or(i64::MAX);
    let settled = now.plus_micros(-lag);
    let end = to.map_or(now, |t| t.min(now));
    let mut summary = ExportSummary {
        dest: dest.url.clone(),
        format,
        from: None,
        to: end,
        open_from: (end > settled).then_some(settled),
        records: 0,
        objects: Vec::new(),
        resumed: 0,
    };
    let mut run = Run { store, export, dest, now, settled, summary: &mut summary };
    // Spans an earlier export began and did not finish: their objects are written again, under the same names.
    for span in run.spans().await?.into_iter().filter(|s| s.pending) {
        run.export_piece(span.from, span.to, None, span.records).await?;
        run.summary.resumed += 1;
    }
    let start = match from {
        Some(f) => f,
        None => {
            match store.records_after(RecordPage { from: None, to: Some(end), after: None, limit: 1 }).await?.first() {
                Some(first) => first.start_time,
                None => return Ok(summary),
            }
        }
    };
    run.summary.from = Some(start);
    if start >= end {
        return Ok(summary);
    }
    let spans = run.spans().await?;
    for (a, b) in gaps(start, end, &spans) {
        for (a, b) in split_days(a, b) {
            run.export_piece(a, b, Some(export.max_records_per_object), 0).await?;
        }
    }
    Ok(summary)
}

/// Starts a periodic exporter (see [`crate::TrackerBuilder::spend_export`]); the destination is checked first.
pub(crate) fn spawn_exporter(
    store: Arc<dyn Store>,
    export: SpendExport,
    every: Duration,
) -> Result<tokio::task::JoinHandle<()>> {
    let dest = Destination::open(&export)?;
    let every = every.max(Duration::from_millis(10));
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match export_at(store.as_ref(), &export, &dest, None, None, Timestamp::now()).await {
                Ok(s) => {
                    tracing::debug!(dest = %s.dest, records = s.records, objects = s.objects.len(), "spend export")
                }
                // the error names the destination, never a secret (redacted when built)
                Err(e) => tracing::warn!(error = %e, "spend export failed; the next run goes on from where it stopped"),
            }
        }
    }))
}

struct Run<'a> {
    store: &'a dyn Store,
    export: &'a SpendExport,
    dest: &'a Destination,
    now: Timestamp,
    /// Spans ending at or before this are recorded done; later ones stay pending (open).
    settled: Timestamp,
    summary: &'a mut ExportSummary,
}

impl Run<'_> {
    fn format(&self) -> &'static str {
        self.export.format.as_str()
    }

    async fn spans(&self) -> Result<Vec<ExportSpan>> {
        let mut spans = self.store.export_spans(&self.dest.url, self.format()).await?;
        spans.sort_by_key(|s| s.from);
        Ok(spans)
    }

    /// Exports `[a, b)` (within one day) in objects of at most `max` records (more when records share a start
    /// time), each recorded pending before its write and done after; `max: None` writes one object whatever its
    /// size (a pending span written again, which held `previous` records). A piece without records is recorded
    /// done without an object, unless it is still open (a record may yet arrive in it).
    async fn export_piece(&mut self, a: Timestamp, b: Timestamp, max: Option<usize>, previous: u64) -> Result<()> {
        let mut cutter =
            Cutter { format: self.export.format, max: max.map_or(u64::MAX, |m| m as u64), from: a, part: None };
        let mut cursor: Option<(Timestamp, String)> = None;
        loop {
            let after = cursor.as_ref().map(|(t, id)| (*t, id.as_str()));
            let page =
                self.store.records_after(RecordPage { from: Some(a), to: Some(b), after, limit: EXPORT_PAGE }).await?;
            let next = match page.last() {
                Some(last) if page.len() == EXPORT_PAGE => Some((last.start_time, last.id.clone())),
                _ => None,
            };
            // encoding (gzip, Parquet) is CPU work: on the blocking pool, not the application's threads
            let (back, done) = blocking(move || {
                let done = cutter.feed(&page);
                (cutter, done)
            })
            .await?;
            cutter = back;
            for part in done? {
                self.write(part, previous).await?;
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        match blocking(move || cutter.close(b)).await?? {
            Some(part) => self.write(part, previous).await,
            None if b <= self.settled => {
                self.store.record_export(&self.dest.url, self.format(), ExportSpan::new(a, b, 0, false), self.now).await
            }
            None => Ok(()),
        }
    }

    /// Writes a finished object: its span recorded pending, the write, then its span recorded done, or, while
    /// it is open, pending with the records it now holds (`previous` of them were written before).
    async fn write(&mut self, part: Encoded, previous: u64) -> Result<()> {
        let Encoded { from, to, body, records } = part;
        let (url, format) = (&self.dest.url, self.export.format.as_str());
        self.store.record_export(url, format, ExportSpan::new(from, to, previous, true), self.now).await?;
        let key = self.dest.key(from, to, self.export.format);
        let bytes = body.len() as u64;
        self.dest.put(&key, body).await?;
        // done once settled; while open, pending with the records it now holds
        let open = to > self.settled;
        self.store.record_export(url, format, ExportSpan::new(from, to, records, open), self.now).await?;
        self.summary.records += records.saturating_sub(previous);
        self.summary.objects.push(ExportedObject { key, from, to, records, bytes });
        Ok(())
    }
}

/// Runs CPU work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::new(ErrorKind::Export, format!("the encoding task failed: {e}")))
}

/// One encoded object and the span of start times it holds.
struct Encoded {
    from: Timestamp,
    to: Timestamp,
    body: Vec<u8>,
    records: u64,
}

/// Cuts records (in `(start_time, id)` order) into objects of at most `max` records; records sharing a start
/// time stay in one object, so each object is exactly the records of its span `[from, to)`.
struct Cutter {
    format: ExportFormat,
    max: u64,
    /// The start of the object being filled.
    from: Timestamp,
    /// The object being filled: its encoder, how many records, the last one's start time.
    part: Option<(Part, u64, Timestamp)>,
}

impl Cutter {
    /// Adds a page; returns the objects it completed.
    fn feed(&mut self, page: &[CallRecord]) -> Result<Vec<Encoded>> {
        let mut done = Vec::new();
        for r in page {
            if let Some((_, n, last)) = &self.part
                && *n >= self.max
                && r.start_time > *last
                && let Some((p, n, _)) = self.part.take()
            {
                done.push(Encoded { from: self.from, to: r.start_time, body: p.finish()?, records: n });
                self.from = r.start_time;
            }
            let (p, n, last) = match &mut self.part {
                Some(x) => x,
                None => self.part.insert((Part::new(self.format)?, 0, r.start_time)),
            };
            p.push(r)?;
            *n += 1;
            *last = r.start_time;
        }
        Ok(done)
    }

    /// The last object, ending at `to`; `None` when no record came since the last one.
    fn close(self, to: Timestamp) -> Result<Option<Encoded>> {
        match self.part {
            Some((p, n, _)) => Ok(Some(Encoded { from: self.from, to, body: p.finish()?, records: n })),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn gaps_are_the_window_less_the_exported_spans() {
        let spans = [
            ExportSpan::new(t("2026-11-01T01:00:00Z"), t("2026-11-01T02:00:00Z"), 3, false),
            ExportSpan::new(t("2026-11-01T03:00:00Z"), t("2026-11-01T04:00:00Z"), 1, true),
        ];
        let g = gaps(t("2026-11-01"), t("2026-11-01T05:00:00Z"), &spans);
        let want = [
            (t("2026-11-01"), t("2026-11-01T01:00:00Z")),
            (t("2026-11-01T02:00:00Z"), t("2026-11-01T03:00:00Z")),
            (t("2026-11-01T04:00:00Z"), t("2026-11-01T05:00:00Z")),
        ];
        assert_eq!(g, want);
        // a window inside an exported span has no gap; one after every span is whole
        assert!(gaps(t("2026-11-01T01:10:00Z"), t("2026-11-01T01:20:00Z"), &spans).is_empty());
        let late = (t("2026-11-02"), t("2026-11-03"));
        assert_eq!(gaps(late.0, late.1, &spans), [late]);
    }

    #[test]
    fn pieces_stop_at_utc_midnight_and_keys_name_their_span() {
        let pieces = split_days(t("2026-11-01T22:00:00Z"), t("2026-11-03T01:30:00.5Z"));
        assert_eq!(
            pieces,
            [
                (t("2026-11-01T22:00:00Z"), t("2026-11-02")),
                (t("2026-11-02"), t("2026-11-03")),
                (t("2026-11-03"), t("2026-11-03T01:30:00.5Z")),
            ]
        );
        let dest = Destination {
            client: Arc::new(object_store::memory::InMemory::new()),
            prefix: "llm/spend".into(),
            url: "s3://b/llm/spend".into(),
        };
        assert_eq!(
            dest.key(t("2026-11-01T22:00:00Z"), t("2026-11-02"), ExportFormat::Jsonl),
            "llm/spend/dt=2026-11-01/spend-220000000000-240000000000.jsonl.gz"
        );
        assert_eq!(
            dest.key(t("2026-11-03"), t("2026-11-03T01:30:00.5Z"), ExportFormat::Parquet),
            "llm/spend/dt=2026-11-03/spend-000000000000-013000500000.parquet"
        );
    }

    #[test]
    fn destinations_are_checked_before_any_request() {
        for (url, why) in [
            ("bucket/prefix", "no scheme"),
            ("s3:///prefix", "no bucket"),
            ("ftp://host/x", "unsupported scheme"),
            ("file://relative/path", "absolute path"),
            ("s3://bucket/p?X-Amz-Signature=abc", "a query"),
        ] {
            let err = Destination::open(&SpendExport::new(url)).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::Config, "{url}");
            assert!(err.to_string().contains(why), "{url}: {err}");
        }
        // every scheme builds its client from the URL, the environment and the options, before any request
        let az = SpendExport::new("az://container/llm/spend/")
            .option("azure_storage_account_name", "acct")
            .option("azure_storage_account_key", "a2V5LVBMQU5URUQtMDEyMzQ1Njc4OWFiY2RlZg==");
        assert_eq!(
            Destination::open(&az).map(|d| (d.url, d.prefix)).ok(),
            Some(("az://container/llm/spend".into(), "llm/spend".into()))
        );
        assert!(!format!("{az:?}").contains("a2V5"), "{az:?}");
        let gs = SpendExport::new("gs://bucket").option("google_bucket", "bucket");
        assert_eq!(Destination::open(&gs).map(|d| (d.url, d.prefix)).ok(), Some(("gs://bucket".into(), String::new())));
        let s3 = SpendExport::new("s3://bucket/p").option("aws_region", "eu-west-1");
        assert_eq!(Destination::open(&s3).map(|d| d.url).ok().as_deref(), Some("s3://bucket/p"));
        let err = Destination::open(&SpendExport::new("s3://bucket/p").option("aws_nonsense", "1")).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Config);
        assert!(err.to_string().contains("unknown s3 option \"aws_nonsense\""), "{err}");
        assert_eq!("parquet".parse::<ExportFormat>().ok(), Some(ExportFormat::Parquet));
        assert_eq!("jsonl".parse::<ExportFormat>().ok(), Some(ExportFormat::Jsonl));
        assert!("csv".parse::<ExportFormat>().is_err());
    }
}

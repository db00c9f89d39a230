//! The SQLite store: one file, WAL journal, a single writer connection (so writers in one process queue in
//! the pool instead of spinning on the file lock) and a small reader pool.
//!
//! Money is stored as decimal TEXT and added up in Rust, so sums stay exact. Write transactions use
//! `BEGIN IMMEDIATE`, so several processes sharing the file still reserve and settle budgets atomically.
//! A committed write survives the process being killed (WAL with `synchronous=NORMAL`; an operating-system
//! crash may lose the last transactions).
//!
//! The writer connection never checkpoints the WAL itself (a checkpoint inside a commit stalled batched
//! appends for 300 ms every 64 MB): a background task checkpoints from its own connection every
//! [`CHECKPOINT_EVERY`] (`PASSIVE`, so it never blocks the writer), and once more when the store is closed.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llm_core::Usd;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::collections::{BTreeMap, HashSet};

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{BudgetRow, RecordPage, Store, parse_usd, reserve_rows};
use crate::alert::Alert;
use crate::budget::{Budget, BudgetStatus, Hold, Period, PeriodStarts, Reservation, ReserveOutcome, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::record::CallRecord;
use crate::report::{RollupRow, Totals, rollup_deltas};
use crate::time::{Day, Timestamp};

/// The schema versions, in order: a database at version N runs the migrations after N.
///
/// 1. The spend log, the daily rollups and the budgets.
/// 2. The spend log keeps `id`, `start_us` and the `record` JSON; the view `spend_log_view` has the other
///    columns of version 1 (same names), read from the record. An insert binds three values instead of 14,
///    and rows do not hold everything twice. (Generated columns would not do: SQLite computes even `VIRTUAL`
///    ones on every insert.)
/// 3. Rollups count logical calls (`logical_calls`: first attempts, not structured-output repairs) beside
///    provider calls; existing rows count every call as logical, as they were written.
/// 4. Reservations are kept one by one, with a lease (`budget_reservations`), so an expired one (its process
///    died) is reclaimed; `budgets.reserved` is no longer used (set to 0: what it held cannot be told apart
///    from the leaked reservations this version reclaims).
/// 5. `budget_alerts`: the budget alerts claimed across processes (one row per budget, period and kind).
/// 6. `spend_log_view` has a `call_type` column (`chat` or `embedding`; records without one are chat calls).
/// 7. `spend_exports`: the spans of start times exported to each object-store destination and format.
const MIGRATIONS: [&str; 7] = [
    r#"
CREATE TABLE IF NOT EXISTS spend_log (
    id TEXT PRIMARY KEY,
    trace_id TEXT NOT NULL,
    start_us INTEGER NOT NULL,
    day TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    spend TEXT NOT NULL,
    user_id TEXT,
    team TEXT,
    project TEXT,
    api_key_fp TEXT,
    tags TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spend_log_start ON spend_log (start_us);
CREATE TABLE IF NOT EXISTS spend_daily (
    dim TEXT NOT NULL,
    day TEXT NOT NULL,
    value TEXT NOT NULL,
    calls INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    unpriced_calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    spend TEXT NOT NULL,
    PRIMARY KEY (dim, day, value)
);
CREATE TABLE IF NOT EXISTS budgets (
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    max_usd TEXT,
    soft_usd TEXT,
    spent TEXT NOT NULL DEFAULT '0',
    reserved TEXT NOT NULL DEFAULT '0',
    period_start INTEGER NOT NULL DEFAULT 0,
    updated_us INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, period)
);
"#,
    r#"
CREATE TABLE spend_log_v2 (
    id TEXT PRIMARY KEY,
    start_us INTEGER NOT NULL,
    record TEXT NOT NULL
);
INSERT INTO spend_log_v2 (id, start_us, record) SELECT id, start_us, record FROM spend_log ORDER BY id;
DROP TABLE spend_log;
ALTER TABLE spend_log_v2 RENAME TO spend_log;
CREATE INDEX spend_log_start ON spend_log (start_us);
CREATE VIEW spend_log_view AS SELECT
    id,
    start_us,
    record ->> '$.trace_id' AS trace_id,
    substr(record ->> '$.start_time', 1, 10) AS day,
    record ->> '$.provider' AS provider,
    record ->> '$.model' AS model,
    record ->> '$.status' AS status,
    record ->> '$.spend' AS spend,
    record ->> '$.user' AS user_id,
    record ->> '$.team' AS team,
    record ->> '$.project' AS project,
    record ->> '$.api_key_fingerprint' AS api_key_fp,
    coalesce(record -> '$.tags', '[]') AS tags,
    record
FROM spend_log;
"#,
    r#"
ALTER TABLE spend_daily ADD COLUMN logical_calls INTEGER NOT NULL DEFAULT 0;
UPDATE spend_daily SET logical_calls = calls;
"#,
    r#"
CREATE TABLE budget_reservations (
    id TEXT NOT NULL,
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    amount TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL,
    PRIMARY KEY (id, scope, period)
);
CREATE INDEX budget_reservations_budget ON budget_reservations (scope, period);
CREATE INDEX budget_reservations_expiry ON budget_reservations (expires_us);
UPDATE budgets SET reserved = '0';
"#,
    r#"
CREATE TABLE budget_alerts (
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    kind TEXT NOT NULL,
    sent_us INTEGER NOT NULL,
    PRIMARY KEY (scope, period, period_start, kind)
);
"#,
    r#"
DROP VIEW spend_log_view;
CREATE VIEW spend_log_view AS SELECT
    id,
    start_us,
    record ->> '$.trace_id' AS trace_id,
    substr(record ->> '$.start_time', 1, 10) AS day,
    record ->> '$.provider' AS provider,
    record ->> '$.model' AS model,
    record ->> '$.status' AS status,
    record ->> '$.spend' AS spend,
    record ->> '$.user' AS user_id,
    record ->> '$.team' AS team,
    record ->> '$.project' AS project,
    record ->> '$.api_key_fingerprint' AS api_key_fp,
    coalesce(record -> '$.tags', '[]') AS tags,
    record,
    coalesce(record ->> '$.call_type', 'chat') AS call_type
FROM spend_log;
"#,
    super::exports::TABLE_SQL,
];

const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The SQLite store (feature `sqlite`).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    checkpointer: SqlitePool,
    /// The checkpoint task ends once every clone of the store is gone.
    _alive: Arc<()>,
    path: Arc<PathBuf>,
    secret: Option<Arc<[u8]>>,
    /// The file the connections opened (device and inode), to tell when it was deleted or replaced.
    file: Option<(u64, u64)>,
}

/// Each connection's page cache, in KiB (negative: SQLite's unit is then KiB, not pages).
const PAGE_CACHE: &str = "-2048";

/// How often the background task checkpoints the WAL into the database file.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

impl SqliteStore {
    /// The schema version this build creates and migrates SQLite databases to.
    pub const SCHEMA_VERSION: i64 = SCHEMA_VERSION;

    /// Opens (creating if missing) the database file at `path` and migrates its schema.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path.as_ref(), false).await
    }

    /// Opens an existing database read-only (the URL `sqlite:PATH?mode=ro`): reads work, every write fails
    /// (as on a file the process may not write). The schema must be current.
    pub async fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path.as_ref(), true).await
    }

    async fn open_with(path: &Path, read_only: bool) -> Result<Self> {
        let path = path.to_path_buf();
        let opts = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| Error::config(format!("sqlite options: {e}")))?
            .filename(&path)
            .create_if_missing(!read_only)
            .read_only(read_only)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(false)
            // SQLite's default page cache (2 MiB) per connection. Appends touch only the rightmost pages of the log
            // and its index, and the rollups a few pages: 64 MiB per connection (before) bought no throughput and
            // held about 75 MB of a long run's resident memory as the log grew (docs/performance.md, the soak).
            .pragma("cache_size", PAGE_CACHE);
        let cannot_open = |e: sqlx::Error| {
            Error::store(format!("cannot open sqlite database {}: {e}", path.display())).with_source(e)
        };
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(cannot_open)?;
        migrate(&writer).await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.clone())
            .await
            .map_err(cannot_open)?;
        let alive = Arc::new(());
        tokio::spawn(checkpoint_loop(checkpointer.clone(), Arc::downgrade(&alive)));
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.read_only(true))
            .await
            .map_err(cannot_open)?;
        // The fingerprint secret lives beside the database, not in it. A folder we cannot write to gives plain
        // SHA-256 fingerprints (with a warning) rather than no store at all.
        let secret = match crate::fingerprint::load_or_create_key_file(&path, !read_only) {
            Ok(s) => Some(Arc::from(s)),
            Err(e) => {
                tracing::warn!(error = %e, "api key fingerprints will not be keyed");
                None
            }
        };
        let file = file_id(&path);
        Ok(Self { writer, reader, checkpointer, _alive: alive, path: Arc::new(path), secret, file })
    }

    /// Fails when the database file the store opened is gone (deleted, or its folder removed) or replaced:
    /// SQLite would go on writing into the unlinked file, and every write would be lost.
    fn check_file(&self) -> Result<()> {
        let Some(opened) = self.file else {
            return Ok(());
        };
        match file_id(&self.path) {
            Some(now) if now == opened => Ok(()),
            Some(_) => Err(Error::store(format!(
                "the sqlite database {} was replaced since it was opened; writes would be lost",
                self.path.display()
            ))),
            None => Err(Error::store(format!(
                "the sqlite database {} is gone (the file or its folder was deleted); writes would be lost",
                self.path.display()
            ))),
        }
    }

    /// Whether any budget applies to these scopes: a read without the write lock, so calls with no budget
    /// never queue for the writer.
    async fn has_budgets(&self, scopes: &[Scope]) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM budgets WHERE scope IN (SELECT value FROM json_each($1)) LIMIT 1")
                .bind(scopes_json(scopes))
                .fetch_optional(&self.reader)
                .await?;
        Ok(found.is_some())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checkpoints the WAL into the database file, then closes the pools.
    pub async fn close(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.checkpointer).await {
            tracing::debug!(error = %e, "sqlite checkpoint at close failed");
        }
        self.checkpointer.close().await;
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Checkpoints every [`CHECKPOINT_EVERY`] until the store is closed or every clone of it is dropped (then it
/// checkpoints once more and closes its connection), or the runtime shuts down.
async fn checkpoint_loop(pool: SqlitePool, alive: std::sync::Weak<()>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if alive.strong_count() == 0 {
            let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await;
            pool.close().await;
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::debug!(error = %e, "sqlite checkpoint failed; the next tick tries again");
        }
    }
}

/// The device and inode of a file (on Unix; elsewhere `(0, 0)` while it exists); `None` when it is missing.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Some((0, 0))
    }
}

async fn migrate(pool: &SqlitePool) -> Result<()> {
    // A current database needs no write (so a read-only one opens).
    let current: std::result::Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT MAX(version) FROM schema_version").fetch_one(pool).await;
    if matches!(current, Ok(Some(v)) if v == SCHEMA_VERSION) {
        return Ok(());
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").execute(&mut *tx).await?;
    let current: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM schema_version").fetch_one(&mut *tx).await?;
    for (version, sql) in super::pending_migrations(&MIGRATIONS, current)? {
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO schema_version (version) VALUES ($1)").bind(version).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn opt_usd(s: Option<String>) -> Result<Option<Usd>> {
    s.map(|s| parse_usd(&s)).transpose()
}

fn parse_day(s: &str) -> Result<Day> {
    s.parse().map_err(|e| Error::new(ErrorKind::Codec, format!("bad day in store: {e}")))
}

fn scopes_json(scopes: &[Scope]) -> String {
    serde_json::Value::Array(scopes.iter().map(|s| serde_json::Value::String(s.to_string())).collect()).to_string()
}

/// The budgets of these scopes with their live reservations at `now`.
async fn load_budgets(conn: &mut SqliteConnection, scopes: &[Scope], now: Timestamp) -> Result<Vec<BudgetRow>> {
    let rows = sqlx::query(
        "SELECT scope, period, max_usd, soft_usd, spent, period_start FROM budgets \
         WHERE scope IN (SELECT value FROM json_each($1)) ORDER BY scope, period",
    )
    .bind(scopes_json(scopes))
    .fetch_all(&mut *conn)
    .await?;
    let mut rows = rows.iter().map(budget_row).collect::<Result<Vec<_>>>()?;
    let holds = sqlx::query(
        "SELECT id, scope, period, amount, period_start, expires_us FROM budget_reservations \
         WHERE scope IN (SELECT value FROM json_each($1)) AND expires_us > $2",
    )
    .bind(scopes_json(scopes))
    .bind(now.as_micros())
    .fetch_all(&mut *conn)
    .await?;
    super::attach_holds(&mut rows, &holds)?;
    Ok(rows)
}

fn budget_row(row: &sqlx::sqlite::SqliteRow) -> Result<BudgetRow> {
    let scope: String = row.try_get("scope")?;
    let period: String = row.try_get("period")?;
    let mut b = Budget::new(scope.parse()?, period.parse()?);
    b.max_usd = opt_usd(row.try_get("max_usd")?)?;
    b.soft_usd = opt_usd(row.try_get("soft_usd")?)?;
    Ok(BudgetRow {
        budget: b,
        spent: parse_usd(&row.try_get::<String, _>("spent")?)?,
        holds: Vec::new(),
        period_start: row.try_get("period_start")?,
    })
}

/// Saves a budget's spend and period (its reservations live in `budget_reservations`).
async fn save_budget(conn: &mut SqliteConnection, r: &BudgetRow, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE budgets SET spent = $1, period_start = $2, updated_us = $3 WHERE scope = $4 AND period = $5")
        .bind(r.spent.to_string())
        .bind(r.period_start)
        .bind(now.as_micros())
        .bind(r.budget.scope.to_string())
        .bind(r.budget.period.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Rows per INSERT statement. Small enough that a batch takes several statements, so encoding one overlaps
/// with SQLite inserting the one before.
const INSERT_CHUNK: usize = 250;

/// A spend-log row ready to bind: id, start, the record's JSON.
type EncodedRow = (String, i64, String);

/// Encodes records on tokio's blocking pool: a chunk is a millisecond or more of CPU, which must not hold up
/// the runtime's threads (on a current-thread runtime, the application's own calls).
async fn encode_rows(records: Vec<Arc<CallRecord>>) -> Result<Vec<EncodedRow>> {
    tokio::task::spawn_blocking(move || {
        records.iter().map(|r| Ok((r.id.clone(), r.start_time.as_micros(), serde_json::to_string(&**r)?))).collect()
    })
    .await
    .map_err(|e| Error::store(format!("the encoding task failed: {e}")))?
}

/// Inserts records into the spend log (skipping ids already there); returns how many rows were inserted.
/// `first` is the first chunk's rows, encoded already.
///
/// Pipelined: while SQLite (on sqlx's worker thread) inserts one chunk, the next is encoded on the blocking
/// pool. sqlx hands a statement to its worker on the first poll, and `join` polls the insert first.
async fn insert_log(
    conn: &mut SqliteConnection,
    records: &[Arc<CallRecord>],
    first: Option<Vec<EncodedRow>>,
) -> Result<u64> {
    let mut chunks = records.chunks(INSERT_CHUNK);
    let mut next = match first {
        Some(rows) => {
            chunks.next();
            Some(rows)
        }
        None => match chunks.next() {
            Some(c) => Some(encode_rows(c.to_vec()).await?),
            None => None,
        },
    };
    let mut inserted = 0;
    while let Some(rows) = next.take() {
        let following = chunks.next().map(|c| encode_rows(c.to_vec()));
        let rows_len = rows.len();
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT OR IGNORE INTO spend_log (id, start_us, record) ");
        qb.push_values(rows, |mut b, (id, start, record)| {
            b.push_bind(id).push_bind(start).push_bind(record);
        });
        // sqlx keeps every statement it prepared (up to 100 per connection); a chunk shorter than INSERT_CHUNK
        // (a batch's tail, any of 249 sizes) would add one each, a compiled multi-row insert (about 3 MB held over
        // a long run), so it is prepared, used once and finalized.
        let full = rows_len == INSERT_CHUNK;
        let (done, encoded) = futures_util::future::join(qb.build().persistent(full).execute(&mut *conn), async {
            match following {
                Some(f) => f.await.map(Some),
                None => Ok(None),
            }
        })
        .await;
        inserted += done?.rows_affected();
        next = encoded?;
    }
    Ok(inserted)
}

#[async_trait]
impl Store for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn fingerprint_secret(&self) -> Option<&[u8]> {
        self.secret.as_deref()
    }

    fn runtime_independent(&self) -> bool {
        true
    }

    async fn append(&self, records: &[Arc<CallRecord>]) -> Result<u64> {
        if records.is_empty() {
            return Ok(0);
        }
        self.check_file()?;
        // Duplicates within the batch count once; encode before taking the write lock.
        let mut seen: HashSet<&str> = HashSet::with_capacity(records.len());
        let unique: Vec<Arc<CallRecord>> = records.iter().filter(|r| seen.insert(r.id.as_str())).cloned().collect();
        // The first chunk is encoded before the write lock is taken.
        let first = encode_rows(unique[..unique.len().min(INSERT_CHUNK)].to_vec()).await?;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Optimistic path: nothing of the batch is stored yet (the normal case). The rollup deltas are added up
        // while SQLite inserts the first rows.
        let (inserted, deltas) = futures_util::future::join(insert_log(&mut tx, &unique, Some(first)), async {
            rollup_deltas(unique.iter().map(|r| &**r))
        })
        .await;
        let inserted = inserted?;
        let (fresh, deltas) = if inserted == unique.len() as u64 {
            (unique.len(), deltas)
        } else {
            // A retried batch: some records are already stored. Start over, skipping those, so the rollups
            // count each record once.
            tx.rollback().await?;
            tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
            let ids = serde_json::to_string(&unique.iter().map(|r| r.id.as_str()).collect::<Vec<_>>())?;
            let existing: HashSet<String> =
                sqlx::query_scalar("SELECT id FROM spend_log WHERE id IN (SELECT value FROM json_each($1))")
                    .bind(&ids)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect();
            let rest: Vec<Arc<CallRecord>> = unique.iter().filter(|r| !existing.contains(&r.id)).cloned().collect();
            insert_log(&mut tx, &rest, None).await?;
            (rest.len(), rollup_deltas(unique.iter().map(|r| &**r).filter(|r| !existing.contains(&r.id))))
        };
        if fresh == 0 {
            tx.rollback().await?;
            return Ok(0);
        }
        let keys: Vec<(&str, String, &str)> =
            deltas.keys().map(|(day, dim, value)| (*dim, day.to_string(), *value)).collect();
        let current = sqlx::query(
            "SELECT dim, day, value, calls, failures, unpriced_calls, prompt_tokens, completion_tokens, \
             cache_read_tokens, spend, logical_calls FROM spend_daily \
             WHERE (dim, day, value) IN (SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2 FROM json_each($1) AS j)",
        )
        .bind(serde_json::to_string(&keys)?)
        .fetch_all(&mut *tx)
        .await?;
        let mut merged: BTreeMap<(String, String, String), Totals> = BTreeMap::new();
        for row in &current {
            merged.insert((row.try_get("dim")?, row.try_get("day")?, row.try_get("value")?), totals_row(row)?);
        }
        let mut out = Vec::with_capacity(deltas.len());
        for ((day, dim, value), t) in deltas {
            let key = (dim.to_owned(), day.to_string(), value.to_owned());
            let mut total = merged.remove(&key).unwrap_or_default();
            total.add(&t);
            out.push(serde_json::json!([
                key.0,
                key.1,
                key.2,
                total.calls,
                total.failures,
                total.unpriced_calls,
                total.prompt_tokens,
                total.completion_tokens,
                total.cache_read_tokens,
                total.spend.to_string(),
                total.logical_calls
            ]));
        }
        sqlx::query(
            "INSERT OR REPLACE INTO spend_daily (dim, day, value, calls, failures, unpriced_calls, prompt_tokens, \
             completion_tokens, cache_read_tokens, spend, logical_calls) \
             SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, \
             j.value ->> 6, j.value ->> 7, j.value ->> 8, j.value ->> 9, j.value ->> 10 FROM json_each($1) AS j",
        )
        .bind(serde_json::Value::Array(out).to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(fresh as u64)
    }

    async fn set_budget(&self, budget: &Budget) -> Result<()> {
        self.check_file()?;
        sqlx::query(
            "INSERT INTO budgets (scope, period, max_usd, soft_usd, updated_us) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (scope, period) DO UPDATE SET max_usd = excluded.max_usd, soft_usd = excluded.soft_usd, \
             updated_us = excluded.updated_us",
        )
        .bind(budget.scope.to_string())
        .bind(budget.period.as_str())
        .bind(budget.max_usd.map(|u| u.to_string()))
        .bind(budget.soft_usd.map(|u| u.to_string()))
        .bind(Timestamp::now().as_micros())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn remove_budget(&self, scope: &Scope, period: Period) -> Result<bool> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let r = sqlx::query("DELETE FROM budgets WHERE scope = $1 AND period = $2")
            .bind(scope.to_string())
            .bind(period.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM budget_reservations WHERE scope = $1 AND period = $2")
            .bind(scope.to_string())
            .bind(period.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }

    async fn budgets(&self, now: Timestamp) -> Result<Vec<BudgetStatus>> {
        let starts = PeriodStarts::at(now);
        let rows = sqlx::query(
            "SELECT scope, period, max_usd, soft_usd, spent, period_start FROM budgets ORDER BY scope, period",
        )
        .fetch_all(&self.reader)
        .await?;
        let mut rows = rows.iter().map(budget_row).collect::<Result<Vec<_>>>()?;
        // Expired reservations do not count (the next reservation deletes them).
        let holds = sqlx::query(
            "SELECT id, scope, period, amount, period_start, expires_us FROM budget_reservations WHERE expires_us > $1",
        )
        .bind(now.as_micros())
        .fetch_all(&self.reader)
        .await?;
        super::attach_holds(&mut rows, &holds)?;
        Ok(super::statuses(&mut rows, &starts, now))
    }

    async fn reserve(&self, scopes: &[Scope], hold: Hold) -> Result<ReserveOutcome> {
        let Hold { estimate, now, expires } = hold;
        if !self.has_budgets(scopes).await? {
            return Ok(ReserveOutcome::Reserved(Reservation::new(Vec::new(), estimate, now, false)));
        }
        self.check_file()?;
        let starts = PeriodStarts::at(now);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Reclaim the reservations whose lease ended (their process died, or never settled).
        sqlx::query("DELETE FROM budget_reservations WHERE expires_us <= $1")
            .bind(now.as_micros())
            .execute(&mut *tx)
            .await?;
        let mut rows = load_budgets(&mut tx, scopes, now).await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(ReserveOutcome::Reserved(Reservation::new(Vec::new(), estimate, now, false)));
        }
        let (outcome, rows) = reserve_rows(rows.iter_mut(), estimate, &starts, scopes, now, expires);
        if let ReserveOutcome::Reserved(res) = &outcome {
            for r in rows {
                save_budget(&mut tx, r, now).await?;
                sqlx::query(
                    "INSERT INTO budget_reservations (id, scope, period, amount, period_start, created_us, expires_us) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&res.id)
                .bind(r.budget.scope.to_string())
                .bind(r.budget.period.as_str())
                .bind(estimate.to_string())
                .bind(r.period_start)
                .bind(now.as_micros())
                .bind(expires.as_micros())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }

    async fn settle(&self, reservation: &Reservation, actual: Usd, now: Timestamp) -> Result<Vec<BudgetStatus>> {
        if !self.has_budgets(&reservation.scopes).await? {
            return Ok(Vec::new());
        }
        self.check_file()?;
        let starts = PeriodStarts::at(now);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if !reservation.id.is_empty() {
            sqlx::query("DELETE FROM budget_reservations WHERE id = $1")
                .bind(&reservation.id)
                .execute(&mut *tx)
                .await?;
        }
        let mut rows = load_budgets(&mut tx, &reservation.scopes, now).await?;
        for r in rows.iter_mut() {
            r.settle(reservation, actual, &starts);
            save_budget(&mut tx, r, now).await?;
        }
        tx.commit().await?;
        Ok(rows.iter().map(BudgetRow::status).collect())
    }

    async fn rollups(&self, dim: &str, from: Option<Day>, to: Option<Day>) -> Result<Vec<RollupRow>> {
        let rows = sqlx::query(
            "SELECT day, value, calls, failures, unpriced_calls, prompt_tokens, completion_tokens, cache_read_tokens, \
             spend, logical_calls FROM spend_daily WHERE dim = $1 AND day >= $2 AND day <= $3 ORDER BY day, value",
        )
        .bind(dim)
        .bind(from.map_or_else(|| "0000-00-00".to_owned(), |d| d.to_string()))
        .bind(to.map_or_else(|| "9999-99-99".to_owned(), |d| d.to_string()))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RollupRow {
                    day: parse_day(&row.try_get::<String, _>("day")?)?,
                    dim: dim.to_owned(),
                    value: row.try_get("value")?,
                    totals: totals_row(row)?,
                })
            })
            .collect()
    }

    async fn records(&self, from: Option<Timestamp>, to: Option<Timestamp>, limit: usize) -> Result<Vec<CallRecord>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT record FROM spend_log WHERE start_us >= $1 AND start_us < $2 ORDER BY start_us, id LIMIT $3",
        )
        .bind(from.map_or(i64::MIN, Timestamp::as_micros))
        .bind(to.map_or(i64::MAX, Timestamp::as_micros))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|s| serde_json::from_str(s).map_err(Error::from)).collect()
    }

    async fn claim_alert(&self, alert: &Alert, now: Timestamp) -> Result<bool> {
        super::sql_claim_alert(alert, now, &self.writer).await
    }

    async fn release_alert(&self, alert: &Alert) -> Result<()> {
        super::sql_release_alert(alert, &self.writer).await
    }

    async fn records_after(&self, page: RecordPage<'_>) -> Result<Vec<CallRecord>> {
        super::sql_records_page("SELECT record FROM spend_log", page, &self.reader).await
    }

    async fn count_records(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM spend_log").fetch_one(&self.reader).await?;
        Ok(n.max(0) as u64)
    }

    async fn export_spans(&self, dest: &str, format: &str) -> Result<Vec<super::ExportSpan>> {
        super::exports::sqlite::sql_export_spans(&self.reader, dest, format).await
    }

    async fn record_export(&self, dest: &str, format: &str, span: super::ExportSpan, now: Timestamp) -> Result<()> {
        self.check_file()?;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        super::exports::sqlite::sql_record_export(&mut tx, dest, format, span, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn totals_row(row: &sqlx::sqlite::SqliteRow) -> Result<Totals> {
    let n = |c: &str| -> Result<u64> { Ok(row.try_get::<i64, _>(c)?.max(0) as u64) };
    Ok(Totals {
        calls: n("calls")?,
        logical_calls: n("logical_calls")?,
        failures: n("failures")?,
        unpriced_calls: n("unpriced_calls")?,
        prompt_tokens: n("prompt_tokens")?,
        completion_tokens: n("completion_tokens")?,
        cache_read_tokens: n("cache_read_tokens")?,
        spend: parse_usd(&row.try_get::<String, _>("spend")?)?,
    })
}

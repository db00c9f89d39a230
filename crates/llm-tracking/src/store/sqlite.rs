//! The SQLite store: one file, WAL journal, a single writer connection (so writers in one process queue in
//! the pool instead of spinning on the file lock) and a small reader pool.
//!
//! Money is stored as decimal TEXT and added up in Rust, so sums stay exact. Write transactions use
//! `BEGIN IMMEDIATE`, so several processes sharing the file still reserve and settle budgets atomically.
//! A committed write survives the process being killed (WAL with `synchronous=NORMAL`; an operating-system
//! crash may lose the last transactions).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llm_core::Usd;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::collections::{BTreeMap, HashSet};

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{BudgetRow, SCHEMA_VERSION, Store, reserve_rows};
use crate::budget::{Budget, BudgetStatus, Period, PeriodStarts, Reservation, ReserveOutcome, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::record::CallRecord;
use crate::report::{RollupRow, Totals, rollup_deltas};
use crate::time::{Day, Timestamp};

const MIGRATIONS: [&str; 1] = [r#"
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
"#];

/// The SQLite store (feature `sqlite`).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    path: Arc<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and migrates its schema.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let opts = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| Error::config(format!("sqlite options: {e}")))?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(false)
            // A larger page cache and fewer, larger checkpoints: batched appends touch many index pages.
            .pragma("cache_size", "-65536")
            .pragma("wal_autocheckpoint", "16384");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.clone())
            .await
            .map_err(|e| Error::store(format!("cannot open sqlite database {}: {e}", path.display())).with_source(e))?;
        migrate(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.read_only(true))
            .await
            .map_err(|e| Error::store(format!("cannot open sqlite database {}: {e}", path.display())).with_source(e))?;
        Ok(Self { writer, reader, path: Arc::new(path) })
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

    /// Closes the pools.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

async fn migrate(pool: &SqlitePool) -> Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").execute(&mut *tx).await?;
    let current: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM schema_version").fetch_one(&mut *tx).await?;
    let current = current.unwrap_or(0);
    if current > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorKind::Schema,
            format!("the database schema is version {current}, newer than this build's {SCHEMA_VERSION}"),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version > current {
            sqlx::raw_sql(*sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_version (version) VALUES ($1)").bind(version).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

fn parse_usd(s: &str) -> Result<Usd> {
    s.parse().map_err(|e| Error::new(ErrorKind::Codec, format!("bad amount in store: {e}")))
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

async fn load_budgets(conn: &mut SqliteConnection, scopes: &[Scope]) -> Result<Vec<BudgetRow>> {
    let rows = sqlx::query(
        "SELECT scope, period, max_usd, soft_usd, spent, reserved, period_start FROM budgets \
         WHERE scope IN (SELECT value FROM json_each($1)) ORDER BY scope, period",
    )
    .bind(scopes_json(scopes))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(budget_row).collect()
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
        reserved: parse_usd(&row.try_get::<String, _>("reserved")?)?,
        period_start: row.try_get("period_start")?,
    })
}

async fn save_budget(conn: &mut SqliteConnection, r: &BudgetRow, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE budgets SET spent = $1, reserved = $2, period_start = $3, updated_us = $4 \
         WHERE scope = $5 AND period = $6",
    )
    .bind(r.spent.to_string())
    .bind(r.reserved.to_string())
    .bind(r.period_start)
    .bind(now.as_micros())
    .bind(r.budget.scope.to_string())
    .bind(r.budget.period.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rows per INSERT statement (14 parameters each, under SQLite's 32,766).
const INSERT_CHUNK: usize = 2000;

/// Inserts records into the spend log (skipping ids already there); returns how many rows were inserted.
async fn insert_log(conn: &mut SqliteConnection, records: &[&CallRecord]) -> Result<u64> {
    let mut inserted = 0;
    for chunk in records.chunks(INSERT_CHUNK) {
        let mut encoded = Vec::with_capacity(chunk.len());
        for r in chunk {
            encoded.push((*r, serde_json::to_string(r)?, serde_json::to_string(&r.tags)?));
        }
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT OR IGNORE INTO spend_log (id, trace_id, start_us, day, provider, model, status, spend, \
             user_id, team, project, api_key_fp, tags, record) ",
        );
        qb.push_values(encoded, |mut b, (r, record_json, tags_json)| {
            b.push_bind(r.id.clone())
                .push_bind(r.trace_id.clone())
                .push_bind(r.start_time.as_micros())
                .push_bind(r.start_time.day().to_string())
                .push_bind(r.provider.clone())
                .push_bind(r.model.clone())
                .push_bind(r.status.as_str())
                .push_bind(r.spend.to_string())
                .push_bind(r.user.clone())
                .push_bind(r.team.clone())
                .push_bind(r.project.clone())
                .push_bind(r.api_key_fingerprint.clone())
                .push_bind(tags_json)
                .push_bind(record_json);
        });
        inserted += qb.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

#[async_trait]
impl Store for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn append(&self, records: &[Arc<CallRecord>]) -> Result<u64> {
        if records.is_empty() {
            return Ok(0);
        }
        // Duplicates within the batch count once; encode before taking the write lock.
        let mut seen: HashSet<&str> = HashSet::with_capacity(records.len());
        let unique: Vec<&CallRecord> =
            records.iter().map(|r| r.as_ref()).filter(|r| seen.insert(r.id.as_str())).collect();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Optimistic path: nothing of the batch is stored yet (the normal case).
        let inserted = insert_log(&mut tx, &unique).await?;
        let fresh: Vec<&CallRecord> = if inserted == unique.len() as u64 {
            unique
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
            let rest: Vec<&CallRecord> = unique.into_iter().filter(|r| !existing.contains(&r.id)).collect();
            insert_log(&mut tx, &rest).await?;
            rest
        };
        if fresh.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let deltas = rollup_deltas(fresh.iter().copied());
        let keys: Vec<(&str, String, &str)> =
            deltas.keys().map(|(day, dim, value)| (*dim, day.to_string(), *value)).collect();
        let current = sqlx::query(
            "SELECT dim, day, value, calls, failures, unpriced_calls, prompt_tokens, completion_tokens, \
             cache_read_tokens, spend FROM spend_daily \
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
                total.spend.to_string()
            ]));
        }
        sqlx::query(
            "INSERT OR REPLACE INTO spend_daily (dim, day, value, calls, failures, unpriced_calls, prompt_tokens, \
             completion_tokens, cache_read_tokens, spend) \
             SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, \
             j.value ->> 6, j.value ->> 7, j.value ->> 8, j.value ->> 9 FROM json_each($1) AS j",
        )
        .bind(serde_json::Value::Array(out).to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(fresh.len() as u64)
    }

    async fn set_budget(&self, budget: &Budget) -> Result<()> {
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
        let r = sqlx::query("DELETE FROM budgets WHERE scope = $1 AND period = $2")
            .bind(scope.to_string())
            .bind(period.as_str())
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn budgets(&self, now: Timestamp) -> Result<Vec<BudgetStatus>> {
        let starts = PeriodStarts::at(now);
        let rows = sqlx::query(
            "SELECT scope, period, max_usd, soft_usd, spent, reserved, period_start FROM budgets ORDER BY scope, period",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let mut b = budget_row(r)?;
                b.roll(&starts);
                Ok(b.status())
            })
            .collect()
    }

    async fn reserve(&self, scopes: &[Scope], estimate: Usd, now: Timestamp) -> Result<ReserveOutcome> {
        if !self.has_budgets(scopes).await? {
            return Ok(ReserveOutcome::Reserved(Reservation::new(Vec::new(), estimate, now, false)));
        }
        let starts = PeriodStarts::at(now);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut rows = load_budgets(&mut tx, scopes).await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(ReserveOutcome::Reserved(Reservation::new(Vec::new(), estimate, now, false)));
        }
        let (outcome, rows) = reserve_rows(rows.iter_mut(), estimate, &starts, scopes, now);
        if matches!(outcome, ReserveOutcome::Reserved(_)) {
            for r in rows {
                save_budget(&mut tx, r, now).await?;
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
        let starts = PeriodStarts::at(now);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut rows = load_budgets(&mut tx, &reservation.scopes).await?;
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
             spend FROM spend_daily WHERE dim = $1 AND day >= $2 AND day <= $3 ORDER BY day, value",
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

    async fn count_records(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM spend_log").fetch_one(&self.reader).await?;
        Ok(n.max(0) as u64)
    }
}

fn totals_row(row: &sqlx::sqlite::SqliteRow) -> Result<Totals> {
    let n = |c: &str| -> Result<u64> { Ok(row.try_get::<i64, _>(c)?.max(0) as u64) };
    Ok(Totals {
        calls: n("calls")?,
        failures: n("failures")?,
        unpriced_calls: n("unpriced_calls")?,
        prompt_tokens: n("prompt_tokens")?,
        completion_tokens: n("completion_tokens")?,
        cache_read_tokens: n("cache_read_tokens")?,
        spend: parse_usd(&row.try_get::<String, _>("spend")?)?,
    })
}

//! The PostgreSQL store: for fleets of processes sharing budgets and spend.
//!
//! Money is `NUMERIC` (exact). Budget reservations and settlements lock the call's budget rows
//! (`SELECT ... FOR UPDATE`, in a fixed order so concurrent callers never deadlock) and update them in the
//! same transaction, so processes sharing the database admit reservations atomically (see docs/tracking.md,
//! "The guarantee").
//! Rollups are upserted with `ON CONFLICT ... DO UPDATE SET x = x + excluded.x`, in key order. Batches travel
//! as one array per column (`UNNEST`), so a batch is one small statement.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llm_core::Usd;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Row};

use super::{BudgetRow, RecordPage, SCHEMA_VERSION, Store, parse_usd, redact_url, reserve_rows};
use crate::alert::Alert;
use crate::budget::{Budget, BudgetStatus, Hold, Period, PeriodStarts, Reservation, ReserveOutcome, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::record::CallRecord;
use crate::report::{RollupRow, Totals, rollup_deltas};
use crate::time::{Day, Timestamp};

/// The public [`SCHEMA_VERSION`] is the number of these.
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION);

/// 1. The spend log, the daily rollups and the budgets.
/// 2. Rollups count logical calls (`logical_calls`: first attempts, not structured-output repairs) beside
///    provider calls; existing rows count every call as logical, as they were written.
/// 3. Reservations are kept one by one, with a lease (`budget_reservations`), so an expired one (its process
///    died) is reclaimed; `budgets.reserved` is no longer used (set to 0: what it held cannot be told apart
///    from the leaked reservations this version reclaims).
/// 4. A random per-store salt for API-key fingerprints (`llm_store_secret`), used when no secret is configured.
/// 5. `budget_alerts`: the budget alerts claimed across processes (one row per budget, period and kind).
/// 6. `spend_log.call_type` (`chat` or `embedding`); existing rows are chat calls.
/// 7. `spend_exports`: the spans of start times exported to each object-store destination and format.
const MIGRATIONS: [&str; 7] = [
    r#"
CREATE TABLE IF NOT EXISTS spend_log (
    id TEXT PRIMARY KEY,
    trace_id TEXT NOT NULL,
    start_us BIGINT NOT NULL,
    day TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    spend NUMERIC NOT NULL,
    user_id TEXT,
    team TEXT,
    project TEXT,
    api_key_fp TEXT,
    tags JSONB NOT NULL,
    record JSON NOT NULL
);
CREATE INDEX IF NOT EXISTS spend_log_start ON spend_log (start_us);
CREATE TABLE IF NOT EXISTS spend_daily (
    dim TEXT NOT NULL,
    day TEXT NOT NULL,
    value TEXT NOT NULL,
    calls BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    unpriced_calls BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL,
    spend NUMERIC NOT NULL,
    PRIMARY KEY (dim, day, value)
);
CREATE TABLE IF NOT EXISTS budgets (
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    max_usd NUMERIC,
    soft_usd NUMERIC,
    spent NUMERIC NOT NULL DEFAULT 0,
    reserved NUMERIC NOT NULL DEFAULT 0,
    period_start BIGINT NOT NULL DEFAULT 0,
    updated_us BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, period)
);
"#,
    r#"
ALTER TABLE spend_daily ADD COLUMN IF NOT EXISTS logical_calls BIGINT NOT NULL DEFAULT 0;
UPDATE spend_daily SET logical_calls = calls;
"#,
    r#"
CREATE TABLE IF NOT EXISTS budget_reservations (
    id TEXT NOT NULL,
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    amount NUMERIC NOT NULL,
    period_start BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    PRIMARY KEY (id, scope, period)
);
CREATE INDEX IF NOT EXISTS budget_reservations_budget ON budget_reservations (scope, period);
CREATE INDEX IF NOT EXISTS budget_reservations_expiry ON budget_reservations (expires_us);
UPDATE budgets SET reserved = 0;
"#,
    r#"
CREATE TABLE IF NOT EXISTS llm_store_secret (id INT PRIMARY KEY CHECK (id = 1), secret TEXT NOT NULL);
INSERT INTO llm_store_secret (id, secret)
    VALUES (1, encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')), 'hex'))
    ON CONFLICT (id) DO NOTHING;
"#,
    r#"
CREATE TABLE IF NOT EXISTS budget_alerts (
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    kind TEXT NOT NULL,
    sent_us BIGINT NOT NULL,
    PRIMARY KEY (scope, period, period_start, kind)
);
"#,
    r#"
ALTER TABLE spend_log ADD COLUMN IF NOT EXISTS call_type TEXT NOT NULL DEFAULT 'chat';
"#,
    super::exports::TABLE_SQL,
];

/// A lock id for migrations, so processes starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x6c6c_6d74_726b_0001;

/// The PostgreSQL store (feature `postgres`).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: Option<Arc<str>>,
    secret: Option<Arc<[u8]>>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and migrates the schema in the default search path.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, None, 8).await
    }

    /// Connects with the tables in `schema` (created if missing; `[a-z0-9_]` only) and at most
    /// `max_connections` connections.
    pub async fn connect_with(url: &str, schema: Option<&str>, max_connections: u32) -> Result<Self> {
        if let Some(s) = schema
            && (s.is_empty() || !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        {
            return Err(Error::config(format!("invalid schema name {s:?}: use [a-z0-9_]")));
        }
        let mut opts = PgConnectOptions::from_str(url)
            .map_err(|e| Error::config(format!("invalid postgres url {}: {e}", redact_url(url))))?;
        if let Some(s) = schema {
            opts = opts.options([("search_path", s)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| Error::store(format!("cannot connect to {}: {e}", redact_url(url))).with_source(e))?;
        let mut store = Self { pool, schema: schema.map(Arc::from), secret: None };
        store.migrate().await?;
        let salt: String =
            sqlx::query_scalar("SELECT secret FROM llm_store_secret WHERE id = 1").fetch_one(&store.pool).await?;
        store.secret = crate::fingerprint::decode_hex(&salt).map(Arc::from);
        Ok(store)
    }

    /// The schema the tables live in, when one was given.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Drops this store's schema and everything in it (for tests and teardown); an error without a schema.
    pub async fn drop_schema(&self) -> Result<()> {
        let Some(s) = &self.schema else {
            return Err(Error::config("this store has no schema of its own to drop"));
        };
        // The name was checked to be [a-z0-9_].
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {s} CASCADE"))).execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
        if let Some(s) = &self.schema {
            // The name was checked to be [a-z0-9_].
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {s}"))).execute(&mut *tx).await?;
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)").execute(&mut *tx).await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM schema_version").fetch_one(&mut *tx).await?;
        for (version, sql) in super::pending_migrations(&MIGRATIONS, current)? {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_version (version) VALUES ($1)").bind(version).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn scope_strings(scopes: &[Scope]) -> Vec<String> {
    scopes.iter().map(ToString::to_string).collect()
}

const BUDGET_COLUMNS: &str = "scope, period, max_usd::text AS max_usd, soft_usd::text AS soft_usd, \
     spent::text AS spent, period_start";

/// Locks the budgets of these scopes (in a fixed order) and loads them with their live reservations at `now`.
async fn lock_budgets(conn: &mut PgConnection, scopes: &[Scope], now: Timestamp) -> Result<Vec<BudgetRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {BUDGET_COLUMNS} FROM budgets WHERE scope = ANY($1) ORDER BY scope, period FOR UPDATE"
    )))
    .bind(scope_strings(scopes))
    .fetch_all(&mut *conn)
    .await?;
    let mut rows = rows.iter().map(budget_row).collect::<Result<Vec<_>>>()?;
    if !rows.is_empty() {
        let holds = sqlx::query(
            "SELECT id, scope, period, amount::text AS amount, period_start, expires_us FROM budget_reservations \
             WHERE scope = ANY($1) AND expires_us > $2",
        )
        .bind(scope_strings(scopes))
        .bind(now.as_micros())
        .fetch_all(&mut *conn)
        .await?;
        super::attach_holds(&mut rows, &holds)?;
    }
    Ok(rows)
}

fn budget_row(row: &PgRow) -> Result<BudgetRow> {
    let scope: String = row.try_get("scope")?;
    let period: String = row.try_get("period")?;
    let mut b = Budget::new(scope.parse()?, period.parse()?);
    b.max_usd = row.try_get::<Option<String>, _>("max_usd")?.map(|s| parse_usd(&s)).transpose()?;
    b.soft_usd = row.try_get::<Option<String>, _>("soft_usd")?.map(|s| parse_usd(&s)).transpose()?;
    Ok(BudgetRow {
        budget: b,
        spent: parse_usd(&row.try_get::<String, _>("spent")?)?,
        holds: Vec::new(),
        period_start: row.try_get("period_start")?,
    })
}

/// Saves a budget's spend and period (its reservations live in `budget_reservations`).
async fn save_budget(conn: &mut PgConnection, r: &BudgetRow, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE budgets SET spent = $1::numeric, period_start = $2, updated_us = $3 WHERE scope = $4 AND period = $5",
    )
    .bind(r.spent.to_string())
    .bind(r.period_start)
    .bind(now.as_micros())
    .bind(r.budget.scope.to_string())
    .bind(r.budget.period.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A batch of spend-log rows, column by column.
#[derive(Default)]
struct LogColumns {
    id: Vec<String>,
    trace_id: Vec<String>,
    start_us: Vec<i64>,
    day: Vec<String>,
    provider: Vec<String>,
    model: Vec<String>,
    status: Vec<String>,
    spend: Vec<String>,
    user: Vec<Option<String>>,
    team: Vec<Option<String>>,
    project: Vec<Option<String>>,
    key: Vec<Option<String>>,
    tags: Vec<String>,
    record: Vec<String>,
    call_type: Vec<&'static str>,
}

impl LogColumns {
    fn with_capacity(n: usize) -> Self {
        Self {
            id: Vec::with_capacity(n),
            trace_id: Vec::with_capacity(n),
            start_us: Vec::with_capacity(n),
            day: Vec::with_capacity(n),
            provider: Vec::with_capacity(n),
            model: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            spend: Vec::with_capacity(n),
            user: Vec::with_capacity(n),
            team: Vec::with_capacity(n),
            project: Vec::with_capacity(n),
            key: Vec::with_capacity(n),
            tags: Vec::with_capacity(n),
            record: Vec::with_capacity(n),
            call_type: Vec::with_capacity(n),
        }
    }
}

/// A batch of rollup deltas, column by column.
#[derive(Default)]
struct RollupColumns {
    dim: Vec<String>,
    day: Vec<String>,
    value: Vec<String>,
    calls: Vec<i64>,
    logical: Vec<i64>,
    failures: Vec<i64>,
    unpriced: Vec<i64>,
    prompt: Vec<i64>,
    completion: Vec<i64>,
    cache_read: Vec<i64>,
    spend: Vec<String>,
}

#[async_trait]
impl Store for PostgresStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn fingerprint_secret(&self) -> Option<&[u8]> {
        self.secret.as_deref()
    }

    async fn append(&self, records: &[Arc<CallRecord>]) -> Result<u64> {
        if records.is_empty() {
            return Ok(0);
        }
        // Columns travel as arrays and UNNEST turns them into rows: one small statement whatever the batch size.
        // Duplicates within the batch count once.
        let mut seen = std::collections::HashSet::with_capacity(records.len());
        let unique: Vec<&CallRecord> =
            records.iter().map(|r| r.as_ref()).filter(|r| seen.insert(r.id.as_str())).collect();
        let mut c = LogColumns::with_capacity(unique.len());
        for r in unique.iter().copied() {
            c.id.push(r.id.clone());
            c.trace_id.push(r.trace_id.clone());
            c.start_us.push(r.start_time.as_micros());
            c.day.push(r.start_time.day().to_string());
            c.provider.push(r.provider.clone());
            c.model.push(r.model.clone());
            c.status.push(r.status.as_str().to_owned());
            c.spend.push(r.spend.to_string());
            c.user.push(r.user.clone());
            c.team.push(r.team.clone());
            c.project.push(r.project.clone());
            c.key.push(r.api_key_fingerprint.clone());
            c.tags.push(serde_json::to_string(&r.tags)?);
            c.record.push(serde_json::to_string(r)?);
            c.call_type.push(r.call_type.as_str());
        }
        let mut tx = self.pool.begin().await?;
        let fresh: Vec<String> = sqlx::query_scalar(
            "INSERT INTO spend_log (id, trace_id, start_us, day, provider, model, status, spend, user_id, team, \
             project, api_key_fp, tags, record, call_type) \
             SELECT id, trace_id, start_us, day, provider, model, status, spend::numeric, user_id, team, project, \
             api_key_fp, tags::jsonb, record::json, call_type \
             FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) \
             AS t(id, trace_id, start_us, day, provider, model, status, spend, user_id, team, project, api_key_fp, \
             tags, record, call_type) \
             ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .bind(c.id)
        .bind(c.trace_id)
        .bind(c.start_us)
        .bind(c.day)
        .bind(c.provider)
        .bind(c.model)
        .bind(c.status)
        .bind(c.spend)
        .bind(c.user)
        .bind(c.team)
        .bind(c.project)
        .bind(c.key)
        .bind(c.tags)
        .bind(c.record)
        .bind(c.call_type)
        .fetch_all(&mut *tx)
        .await?;
        let fresh: std::collections::HashSet<String> = fresh.into_iter().collect();
        let deltas = rollup_deltas(unique.iter().copied().filter(|r| fresh.contains(&r.id)));
        if !deltas.is_empty() {
            let mut d = RollupColumns::default();
            // BTreeMap order: every writer updates rows in the same order, so concurrent writers never deadlock.
            for ((day, dim, value), t) in deltas {
                d.dim.push(dim.to_owned());
                d.day.push(day.to_string());
                d.value.push(value.to_owned());
                d.calls.push(t.calls as i64);
                d.logical.push(t.logical_calls as i64);
                d.failures.push(t.failures as i64);
                d.unpriced.push(t.unpriced_calls as i64);
                d.prompt.push(t.prompt_tokens as i64);
                d.completion.push(t.completion_tokens as i64);
                d.cache_read.push(t.cache_read_tokens as i64);
                d.spend.push(t.spend.to_string());
            }
            sqlx::query(
                "INSERT INTO spend_daily (dim, day, value, calls, failures, unpriced_calls, prompt_tokens, \
                 completion_tokens, cache_read_tokens, spend, logical_calls) \
                 SELECT dim, day, value, calls, failures, unpriced, prompt, completion, cache_read, spend::numeric, \
                 logical FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], \
                 $7::int8[], $8::int8[], $9::int8[], $10::text[], $11::int8[]) \
                 WITH ORDINALITY AS t(dim, day, value, calls, failures, unpriced, prompt, completion, cache_read, spend, \
                 logical, n) \
                 ORDER BY n \
                 ON CONFLICT (dim, day, value) DO UPDATE SET calls = spend_daily.calls + EXCLUDED.calls, \
                 logical_calls = spend_daily.logical_calls + EXCLUDED.logical_calls, \
                 failures = spend_daily.failures + EXCLUDED.failures, \
                 unpriced_calls = spend_daily.unpriced_calls + EXCLUDED.unpriced_calls, \
                 prompt_tokens = spend_daily.prompt_tokens + EXCLUDED.prompt_tokens, \
                 completion_tokens = spend_daily.completion_tokens + EXCLUDED.completion_tokens, \
                 cache_read_tokens = spend_daily.cache_read_tokens + EXCLUDED.cache_read_tokens, \
                 spend = spend_daily.spend + EXCLUDED.spend",
            )
            .bind(d.dim)
            .bind(d.day)
            .bind(d.value)
            .bind(d.calls)
            .bind(d.failures)
            .bind(d.unpriced)
            .bind(d.prompt)
            .bind(d.completion)
            .bind(d.cache_read)
            .bind(d.spend)
            .bind(d.logical)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(fresh.len() as u64)
    }

    async fn set_budget(&self, budget: &Budget) -> Result<()> {
        sqlx::query(
            "INSERT INTO budgets (scope, period, max_usd, soft_usd, updated_us) \
             VALUES ($1, $2, $3::numeric, $4::numeric, $5) \
             ON CONFLICT (scope, period) DO UPDATE SET max_usd = EXCLUDED.max_usd, soft_usd = EXCLUDED.soft_usd, \
             updated_us = EXCLUDED.updated_us",
        )
        .bind(budget.scope.to_string())
        .bind(budget.period.as_str())
        .bind(budget.max_usd.map(|u| u.to_string()))
        .bind(budget.soft_usd.map(|u| u.to_string()))
        .bind(Timestamp::now().as_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn remove_budget(&self, scope: &Scope, period: Period) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
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
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {BUDGET_COLUMNS} FROM budgets ORDER BY scope, period")))
                .fetch_all(&self.pool)
                .await?;
        let mut rows = rows.iter().map(budget_row).collect::<Result<Vec<_>>>()?;
        // Expired reservations do not count (the next reservation deletes them).
        let holds = sqlx::query(
            "SELECT id, scope, period, amount::text AS amount, period_start, expires_us FROM budget_reservations \
             WHERE expires_us > $1",
        )
        .bind(now.as_micros())
        .fetch_all(&self.pool)
        .await?;
        super::attach_holds(&mut rows, &holds)?;
        Ok(super::statuses(&mut rows, &starts, now))
    }

    async fn reserve(&self, scopes: &[Scope], hold: Hold) -> Result<ReserveOutcome> {
        let Hold { estimate, now, expires } = hold;
        let starts = PeriodStarts::at(now);
        let mut tx = self.pool.begin().await?;
        let mut rows = lock_budgets(&mut tx, scopes, now).await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(ReserveOutcome::Reserved(Reservation::new(Vec::new(), estimate, now, false)));
        }
        // Reclaim these budgets' reservations whose lease ended (their process died, or never settled); the
        // budgets' row locks serialize this with every other reservation on them.
        sqlx::query("DELETE FROM budget_reservations WHERE scope = ANY($1) AND expires_us <= $2")
            .bind(scope_strings(scopes))
            .bind(now.as_micros())
            .execute(&mut *tx)
            .await?;
        let (outcome, rows) = reserve_rows(rows.iter_mut(), estimate, &starts, scopes, now, expires);
        if let ReserveOutcome::Reserved(res) = &outcome {
            for r in rows {
                save_budget(&mut tx, r, now).await?;
                sqlx::query(
                    "INSERT INTO budget_reservations (id, scope, period, amount, period_start, created_us, expires_us) \
                     VALUES ($1, $2, $3, $4::numeric, $5, $6, $7)",
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
        let starts = PeriodStarts::at(now);
        let mut tx = self.pool.begin().await?;
        let mut rows = lock_budgets(&mut tx, &reservation.scopes, now).await?;
        if !reservation.id.is_empty() {
            sqlx::query("DELETE FROM budget_reservations WHERE id = $1")
                .bind(&reservation.id)
                .execute(&mut *tx)
                .await?;
            for r in rows.iter_mut() {
                r.holds.retain(|h| h.id != reservation.id);
            }
        }
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
             spend::text AS spend, logical_calls FROM spend_daily WHERE dim = $1 AND day >= $2 AND day <= $3 ORDER BY day, value",
        )
        .bind(dim)
        .bind(from.map_or_else(|| "0000-00-00".to_owned(), |d| d.to_string()))
        .bind(to.map_or_else(|| "9999-99-99".to_owned(), |d| d.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let day: String = row.try_get("day")?;
                Ok(RollupRow {
                    day: day.parse().map_err(|e| Error::new(ErrorKind::Codec, format!("bad day in store: {e}")))?,
                    dim: dim.to_owned(),
                    value: row.try_get("value")?,
                    totals: totals_row(row)?,
                })
            })
            .collect()
    }

    async fn records(&self, from: Option<Timestamp>, to: Option<Timestamp>, limit: usize) -> Result<Vec<CallRecord>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT record::text FROM spend_log WHERE start_us >= $1 AND start_us < $2 ORDER BY start_us, id LIMIT $3",
        )
        .bind(from.map_or(i64::MIN, Timestamp::as_micros))
        .bind(to.map_or(i64::MAX, Timestamp::as_micros))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|s| serde_json::from_str(s).map_err(Error::from)).collect()
    }

    async fn claim_alert(&self, alert: &Alert, now: Timestamp) -> Result<bool> {
        super::sql_claim_alert(alert, now, &self.pool).await
    }

    async fn release_alert(&self, alert: &Alert) -> Result<()> {
        super::sql_release_alert(alert, &self.pool).await
    }

    async fn records_after(&self, page: RecordPage<'_>) -> Result<Vec<CallRecord>> {
        super::sql_records_page("SELECT record::text FROM spend_log", page, &self.pool).await
    }

    async fn count_records(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM spend_log").fetch_one(&self.pool).await?;
        Ok(n.max(0) as u64)
    }

    async fn export_spans(&self, dest: &str, format: &str) -> Result<Vec<super::ExportSpan>> {
        super::exports::postgres::sql_export_spans(&self.pool, dest, format).await
    }

    async fn record_export(&self, dest: &str, format: &str, span: super::ExportSpan, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // one writer per destination at a time, so two merges never race
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("{format} {dest}"))
            .execute(&mut *tx)
            .await?;
        super::exports::postgres::sql_record_export(&mut tx, dest, format, span, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn totals_row(row: &PgRow) -> Result<Totals> {
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

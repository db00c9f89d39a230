//! Stores: where records, daily rollups and budgets live. [`MemoryStore`] (in-process), `SqliteStore` (a
//! file; feature `sqlite`, the default) and `PostgresStore` (a shared server; feature `postgres`).
//!
//! Every store keeps an append-only spend log (idempotent by record id), daily rollups per dimension updated
//! in the same transaction as the log, and budgets whose reservations and settlements are atomic in the
//! store, so several processes sharing one database cannot overspend.

use std::sync::Arc;

use async_trait::async_trait;
use llm_core::Usd;

use crate::alert::Alert;
use crate::budget::{Budget, BudgetStatus, Hold, Period, PeriodStarts, Refusal, Reservation, ReserveOutcome, Scope};
use crate::error::{Error, Result};
use crate::record::CallRecord;
use crate::report::{GroupBy, Report, ReportQuery, RollupRow, Totals, build_report};
use crate::time::{Day, Timestamp};

pub(crate) mod exports;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use exports::ExportSpan;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// The schema version the PostgreSQL store creates and migrates to (the SQLite store's is
/// `SqliteStore::SCHEMA_VERSION`).
pub const SCHEMA_VERSION: i64 = 7;

/// One page of a keyset scan over the records ([`Store::records_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordPage<'a> {
    /// Start of the window (inclusive); `None` for the first record.
    pub from: Option<Timestamp>,
    /// End of the window (exclusive); `None` for no end.
    pub to: Option<Timestamp>,
    /// The cursor: the `(start_time, id)` of the last record of the previous page.
    pub after: Option<(Timestamp, &'a str)>,
    /// The most records to return.
    pub limit: usize,
}

/// A place for records, rollups and budgets. Every method is atomic on its own.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs (`memory`, `sqlite`, `postgres`).
    fn name(&self) -> &'static str;

    /// Whether this store's methods may run on any tokio runtime, not just the one it was opened on: true for
    /// stores that do their I/O on threads of their own (SQLite) or none (memory). The tracker then runs its
    /// batched writer on a thread of its own, so batching, rollups and statement building never take the
    /// application's threads. Stores whose connections belong to the runtime that opened them (PostgreSQL's
    /// sockets) keep the default, `false`, and the writer runs as a task on that runtime.
    fn runtime_independent(&self) -> bool {
        false
    }

    /// The store's own secret for keying API-key fingerprints (see `crate::fingerprint`), used when neither the
    /// tracker nor `LLM_FINGERPRINT_SECRET` gives one; `None` for plain SHA-256 fingerprints.
    fn fingerprint_secret(&self) -> Option<&[u8]> {
        None
    }

    /// Appends records to the spend log and adds them to the daily rollups, in one transaction. A record whose
    /// id is already stored is skipped (so a retried batch is never counted twice). Returns how many were new.
    async fn append(&self, records: &[Arc<CallRecord>]) -> Result<u64>;

    /// Creates or replaces the limits of the budget on `(scope, period)`, keeping its current spend.
    async fn set_budget(&self, budget: &Budget) -> Result<()>;

    /// Removes a budget; returns whether it existed.
    async fn remove_budget(&self, scope: &Scope, period: Period) -> Result<bool>;

    /// Claims the sending of `alert` (its budget, period start and kind) for this process, once across every
    /// process that shares the store: `false` when it was claimed before. The default claims every time (a
    /// store of one process: the tracker already sends an alert once per process).
    async fn claim_alert(&self, alert: &Alert, now: Timestamp) -> Result<bool> {
        let _ = (alert, now);
        Ok(true)
    }

    /// Gives a claim back when no sink could deliver its alert, so a later crossing (in any process) sends it.
    async fn release_alert(&self, alert: &Alert) -> Result<()> {
        let _ = alert;
        Ok(())
    }

    /// Every budget with its spend in the current period (periods that ended read as reset) and its live
    /// reservations (expired ones do not count).
    async fn budgets(&self, now: Timestamp) -> Result<Vec<BudgetStatus>>;

    /// Reserves `estimate` on every budget of `scopes`, or on none when one hard limit would be crossed
    /// (`spent + reserved + estimate > max`, or `spent + reserved >= max`). The reservation is kept on its own
    /// until it is settled or `expires` passes; reservations whose lease has ended no longer count in
    /// `reserved` and are reclaimed here, in the same transaction.
    async fn reserve(&self, scopes: &[Scope], hold: Hold) -> Result<ReserveOutcome>;

    /// Releases a reservation (by its id) and adds the actual cost to every budget of its scopes; returns the
    /// budgets after the update (for alerts).
    async fn settle(&self, reservation: &Reservation, actual: Usd, now: Timestamp) -> Result<Vec<BudgetStatus>>;

    /// The rollup rows of one dimension (`all`, `model`, ...) over an inclusive day range.
    async fn rollups(&self, dim: &str, from: Option<Day>, to: Option<Day>) -> Result<Vec<RollupRow>>;

    /// Records whose start time is in `[from, to)`, oldest first, at most `limit`.
    async fn records(&self, from: Option<Timestamp>, to: Option<Timestamp>, limit: usize) -> Result<Vec<CallRecord>>;

    /// One page of a keyset scan: the records of [`RecordPage`]'s window that come strictly after its cursor,
    /// in `(start_time, id)` order, at most its `limit`. Paging on the last record's key visits every record
    /// once, however many share a start time.
    ///
    /// The default goes through [`Store::records`] (asking for more until it gets past the cursor); the
    /// stores of this crate answer it with one indexed query.
    async fn records_after(&self, page: RecordPage<'_>) -> Result<Vec<CallRecord>> {
        let RecordPage { from, to, after, limit } = page;
        let start = match (from, after) {
            (Some(f), Some((t, _))) => Some(f.max(t)),
            (f, a) => f.or(a.map(|(t, _)| t)),
        };
        let mut want = limit.saturating_add(1);
        loop {
            let page = self.records(start, to, want).await?;
            let exhausted = page.len() < want;
            let out: Vec<CallRecord> = page
                .into_iter()
                .filter(|r| after.is_none_or(|(t, id)| (r.start_time, r.id.as_str()) > (t, id)))
                .take(limit)
                .collect();
            if out.len() == limit || exhausted {
                return Ok(out);
            }
            want = want.saturating_mul(2);
        }
    }

    /// How many records the spend log holds.
    async fn count_records(&self) -> Result<u64>;

    /// The spans of start times exported, or being exported, to `dest` in `format` (spend exports to object
    /// storage), oldest first. The default (a store that keeps no export progress) is a `Config` error.
    async fn export_spans(&self, dest: &str, format: &str) -> Result<Vec<ExportSpan>> {
        let _ = (dest, format);
        Err(exports::unsupported(self.name()))
    }

    /// Records an export span of `(dest, format)`. A pending span (`span.pending`: its object is about to be
    /// written, or was written and is still open) is added, or takes the new record count when it is there
    /// already; a done span is never made pending again. A done span replaces its pending one and is merged with
    /// the done spans it touches, atomically.
    async fn record_export(&self, dest: &str, format: &str, span: ExportSpan, now: Timestamp) -> Result<()> {
        let _ = (dest, format, span, now);
        Err(exports::unsupported(self.name()))
    }

    /// A spend report from the rollups.
    async fn report(&self, query: &ReportQuery) -> Result<Report> {
        let rows = self.rollups(query.group_by.dim(), query.from, query.to).await?;
        let total_rows = if query.group_by == GroupBy::Day {
            rows.clone()
        } else {
            self.rollups("all", query.from, query.to).await?
        };
        let mut total = Totals::default();
        for r in &total_rows {
            total.add(&r.totals);
        }
        Ok(build_report(query, rows, total))
    }
}

/// Opens a store from a URL: `memory:` (also `sqlite::memory:`), `sqlite:PATH` (or `sqlite://PATH`, `PATH.db`;
/// `sqlite:PATH?mode=ro` opens an existing database read-only), or `postgres://...` (`postgresql://...`). SQL
/// stores create or migrate their schema.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if matches!(url, "memory:" | "memory" | "sqlite::memory:" | "sqlite://:memory:") {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            return Ok(Arc::new(PostgresStore::connect(url).await?));
        }
        #[cfg(not(feature = "postgres"))]
        {
            return Err(Error::config(
                "postgres store requested but llm-tracking was built without feature `postgres`",
            ));
        }
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"));
    let path = match path {
        Some(p) => p,
        None if url.ends_with(".db") || url.ends_with(".sqlite") || url.ends_with(".sqlite3") => url,
        None => {
            return Err(Error::config(format!(
                "unsupported store url {:?}: expected memory:, sqlite:PATH or postgres://...",
                redact_url(url)
            )));
        }
    };
    #[cfg(feature = "sqlite")]
    {
        match path.strip_suffix("?mode=ro") {
            Some(file) => Ok(Arc::new(SqliteStore::open_read_only(file).await?)),
            None => Ok(Arc::new(SqliteStore::open(path).await?)),
        }
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = path;
        Err(Error::config("sqlite store requested but llm-tracking was built without feature `sqlite`"))
    }
}

/// A URL with its password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((cred, host)) = rest.split_once('@')
    {
        let user = cred.split_once(':').map_or(cred, |(u, _)| u);
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

/// One live reservation on one budget, as the stores keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveHold {
    pub id: String,
    pub amount: Usd,
    /// The start of the budget period it was made in: it counts only in that period.
    pub period_start: i64,
    pub expires_us: i64,
}

/// The in-Rust budget state shared by every store: the budget, its settled spend, and the reservations
/// that count in its current period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BudgetRow {
    pub budget: Budget,
    pub spent: Usd,
    pub holds: Vec<LiveHold>,
    pub period_start: i64,
}

impl BudgetRow {
    pub fn new(budget: Budget) -> Self {
        Self { budget, spent: Usd::ZERO, holds: Vec::new(), period_start: 0 }
    }

    /// Starts a new period when the current one ended.
    pub fn roll(&mut self, starts: &PeriodStarts) -> bool {
        let cur = starts.for_period(self.budget.period);
        if self.period_start < cur {
            self.period_start = cur;
            self.spent = Usd::ZERO;
            self.holds.clear();
            true
        } else {
            false
        }
    }

    /// Rolls the period and drops the reservations that no longer count: expired at `now`, or made in another
    /// period.
    pub fn refresh(&mut self, starts: &PeriodStarts, now: Timestamp) {
        self.roll(starts);
        let (start, now) = (self.period_start, now.as_micros());
        self.holds.retain(|h| h.expires_us > now && h.period_start == start);
    }

    /// What live reservations hold.
    pub fn reserved(&self) -> Usd {
        self.holds.iter().fold(Usd::ZERO, |a, h| a + h.amount)
    }

    pub fn committed(&self) -> Usd {
        self.spent + self.reserved()
    }

    /// Whether `estimate` fits under the hard limit.
    pub fn admits(&self, estimate: Usd) -> bool {
        match self.budget.max_usd {
            None => true,
            Some(max) => self.committed() < max && self.committed() + estimate <= max,
        }
    }

    /// The room left under the hard limit, if there is one.
    pub fn headroom(&self) -> Option<Usd> {
        self.budget.max_usd.map(|m| Usd::new(m.amount() - self.committed().amount()))
    }

    pub fn refusal(&self, estimate: Usd) -> Refusal {
        Refusal {
            scope: self.budget.scope.clone(),
            period: self.budget.period,
            max_usd: self.budget.max_usd.unwrap_or_default(),
            committed: self.committed(),
            estimate,
        }
    }

    /// Releases the reservation (if it still counts here) and adds the actual cost.
    pub fn settle(&mut self, reservation: &Reservation, actual: Usd, starts: &PeriodStarts) {
        self.roll(starts);
        self.holds.retain(|h| h.id != reservation.id);
        self.spent += actual;
    }

    pub fn status(&self) -> BudgetStatus {
        let start = Timestamp::from_secs(self.period_start);
        BudgetStatus {
            budget: self.budget.clone(),
            spent: self.spent,
            reserved: self.reserved(),
            period_start: start,
            resets_at: self.budget.period.next_start(start),
            reservations: self.holds.len() as u64,
            earliest_expiry: self.holds.iter().map(|h| h.expires_us).min().map(Timestamp::from_micros),
        }
    }
}

/// The migrations a SQL database at schema version `current` still needs, with the version each one brings.
/// A database newer than this build (`current` above the number of migrations) is refused.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code, reason = "used by the SQL stores"))]
pub(crate) fn pending_migrations<'a>(
    migrations: &'a [&'a str],
    current: Option<i64>,
) -> Result<impl Iterator<Item = (i64, &'a str)> + 'a> {
    let current = current.unwrap_or(0);
    let build = migrations.len() as i64;
    if current > build {
        return Err(Error::new(
            crate::error::ErrorKind::Schema,
            format!("the database schema is version {current}, newer than this build's {build}"),
        ));
    }
    Ok(migrations.iter().zip(1..).filter(move |(_, v)| *v > current).map(|(sql, v)| (v, *sql)))
}

/// Reads an amount a SQL store wrote as text.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code, reason = "used by the SQL stores"))]
pub(crate) fn parse_usd(s: &str) -> Result<Usd> {
    s.parse().map_err(|e| Error::new(crate::error::ErrorKind::Codec, format!("bad amount in store: {e}")))
}

/// Reserves on rows in memory, all or nothing: drops the reservations that no longer count, checks every
/// hard limit, and adds a hold of `estimate` to every row (the rows returned are the ones to save, with the new
/// hold last). The reservation's id is a fresh record-style id.
pub(crate) fn reserve_rows<'a>(
    rows: impl IntoIterator<Item = &'a mut BudgetRow>,
    estimate: Usd,
    starts: &PeriodStarts,
    scopes: &[Scope],
    now: Timestamp,
    expires: Timestamp,
) -> (ReserveOutcome, Vec<&'a mut BudgetRow>) {
    let mut rows: Vec<&mut BudgetRow> = rows.into_iter().collect();
    for r in rows.iter_mut() {
        r.refresh(starts, now);
    }
    if let Some(refusing) = rows.iter().find(|r| !r.admits(estimate)) {
        return (ReserveOutcome::Refused(refusing.refusal(estimate)), rows);
    }
    let headroom = rows.iter().filter_map(|r| r.headroom()).min();
    let budgeted = !rows.is_empty();
    let id = if budgeted { crate::record::new_id_at(now) } else { String::new() };
    for r in rows.iter_mut() {
        let period_start = r.period_start;
        r.holds.push(LiveHold { id: id.clone(), amount: estimate, period_start, expires_us: expires.as_micros() });
    }
    let reservation =
        Reservation::new(scopes.to_vec(), estimate, now, budgeted).with_lease(id, expires).with_headroom(headroom);
    (ReserveOutcome::Reserved(reservation), rows)
}

/// One page of records from either SQL store: `select` is the store's `SELECT <record as text> FROM spend_log`,
/// the keyset condition, order and limit are added here.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) async fn sql_records_page<'q, DB, E>(select: &str, page: RecordPage<'q>, pool: E) -> Result<Vec<CallRecord>>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'q, Database = DB>,
    (String,): for<'r> sqlx::FromRow<'r, DB::Row>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let RecordPage { from, to, after, limit } = page;
    let sql = format!(
        "{select} WHERE start_us >= $1 AND start_us < $2 \
         AND (start_us > $3 OR (start_us = $3 AND id > $4)) ORDER BY start_us, id LIMIT $5"
    );
    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(from.map_or(i64::MIN, Timestamp::as_micros))
        .bind(to.map_or(i64::MAX, Timestamp::as_micros))
        .bind(after.map_or(i64::MIN, |(t, _)| t.as_micros()))
        .bind(after.map_or("", |(_, id)| id))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
    rows.iter().map(|s| serde_json::from_str(s).map_err(Error::from)).collect()
}

/// Claims an alert in either SQL store's `budget_alerts` table (see [`Store::claim_alert`]).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) async fn sql_claim_alert<'q, DB, E>(alert: &'q Alert, now: Timestamp, pool: E) -> Result<bool>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'q, Database = DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let claimed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO budget_alerts (scope, period, period_start, kind, sent_us) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING RETURNING sent_us",
    )
    .bind(alert.scope.to_string())
    .bind(alert.period.as_str())
    .bind(alert.period_start.as_micros())
    .bind(alert.kind.as_str())
    .bind(now.as_micros())
    .fetch_optional(pool)
    .await?;
    Ok(claimed.is_some())
}

/// Removes an alert's claim from either SQL store (see [`Store::release_alert`]).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) async fn sql_release_alert<'q, DB, E>(alert: &'q Alert, pool: E) -> Result<()>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'q, Database = DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    sqlx::query("DELETE FROM budget_alerts WHERE scope = $1 AND period = $2 AND period_start = $3 AND kind = $4")
        .bind(alert.scope.to_string())
        .bind(alert.period.as_str())
        .bind(alert.period_start.as_micros())
        .bind(alert.kind.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

/// Gives each budget row its reservations, from `budget_reservations` rows (`id`, `scope`, `period`, `amount`
/// as text, `period_start`, `expires_us`) of either SQL store.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn attach_holds<R>(rows: &mut [BudgetRow], holds: &[R]) -> Result<()>
where
    R: sqlx::Row,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    for h in holds {
        let scope: String = h.try_get("scope")?;
        let period: String = h.try_get("period")?;
        if let Some(row) =
            rows.iter_mut().find(|r| r.budget.period.as_str() == period && r.budget.scope.to_string() == scope)
        {
            row.holds.push(LiveHold {
                id: h.try_get("id")?,
                amount: parse_usd(&h.try_get::<String, _>("amount")?)?,
                period_start: h.try_get("period_start")?,
                expires_us: h.try_get("expires_us")?,
            });
        }
    }
    Ok(())
}

/// The budgets' statuses now: each row refreshed (a period that ended reads as reset, expired reservations
/// drop out) and summarized.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code, reason = "used by the SQL stores"))]
pub(crate) fn statuses(rows: &mut [BudgetRow], starts: &PeriodStarts, now: Timestamp) -> Vec<BudgetStatus> {
    rows.iter_mut()
        .map(|b| {
            b.refresh(starts, now);
            b.status()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_migrations_run_from_the_database_version_and_refuse_a_newer_one() {
        let all = ["m1", "m2", "m3"];
        let pending = |current| pending_migrations(&all, current).map(Iterator::collect::<Vec<_>>);
        assert_eq!(pending(None).unwrap(), [(1, "m1"), (2, "m2"), (3, "m3")]);
        assert_eq!(pending(Some(1)).unwrap(), [(2, "m2"), (3, "m3")]);
        assert_eq!(pending(Some(3)).unwrap(), []);
        let err = pending(Some(4)).unwrap_err();
        assert_eq!(err.kind(), &crate::error::ErrorKind::Schema);
        assert_eq!(err.to_string(), "schema: the database schema is version 4, newer than this build's 3");
        assert_eq!(parse_usd("0.0000025").unwrap().to_string(), "0.0000025");
        assert!(parse_usd("abc").is_err());
    }
}

//! The in-memory store.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use llm_core::Usd;

use super::{BudgetRow, ExportSpan, RecordPage, Store, reserve_rows};
use crate::budget::{Budget, BudgetStatus, Hold, Period, PeriodStarts, Reservation, ReserveOutcome, Scope};
use crate::error::Result;
use crate::record::CallRecord;
use crate::report::{RollupRow, Totals, rollup_deltas};
use crate::time::{Day, Timestamp};

/// Records, rollups and budgets in process memory: fast, shared by every clone, gone when the process ends.
///
/// The spend log keeps the most recent [`MemoryStore::DEFAULT_MAX_RECORDS`] records (older ones drop out of
/// the log but stay counted in the rollups).
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    // Budgets have their own lock, so a call's budget check never waits for a batch being appended.
    budgets: Arc<Mutex<BTreeMap<(Scope, Period), BudgetRow>>>,
    max_records: usize,
    secret: Arc<[u8]>,
    /// Export progress: `(dest, format)` to spans by start.
    exports: Arc<Mutex<ExportSpans>>,
}

type ExportSpans = BTreeMap<(String, String), BTreeMap<i64, ExportSpan>>;

#[derive(Debug, Default)]
struct Inner {
    log: VecDeque<Arc<CallRecord>>,
    ids: HashSet<String>,
    total_appended: u64,
    rollups: BTreeMap<(String, Day, String), Totals>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// How many records the log keeps by default.
    pub const DEFAULT_MAX_RECORDS: usize = 100_000;

    /// An empty store.
    pub fn new() -> Self {
        // A per-process secret; without a random source, fingerprints fall back to plain SHA-256.
        let secret = crate::fingerprint::random_secret().unwrap_or_default().into();
        Self {
            inner: Arc::default(),
            budgets: Arc::default(),
            max_records: Self::DEFAULT_MAX_RECORDS,
            secret,
            exports: Arc::default(),
        }
    }

    /// Keeps at most this many records in the log.
    #[must_use]
    pub fn with_max_records(mut self, n: usize) -> Self {
        self.max_records = n.max(1);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn exports_lock(&self) -> MutexGuard<'_, ExportSpans> {
        self.exports.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn budgets_lock(&self) -> MutexGuard<'_, BTreeMap<(Scope, Period), BudgetRow>> {
        self.budgets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn fingerprint_secret(&self) -> Option<&[u8]> {
        (!self.secret.is_empty()).then_some(&*self.secret)
    }

    fn runtime_independent(&self) -> bool {
        true
    }

    async fn append(&self, records: &[Arc<CallRecord>]) -> Result<u64> {
        let mut g = self.lock();
        let mut fresh = Vec::with_capacity(records.len());
        // The store keeps its own copy, allocated here (on the writer's thread): the caller's record goes back
        // to the thread that made it and its memory is reused there, instead of every call taking fresh pages.
        for r in records {
            if g.ids.insert(r.id.clone()) {
                fresh.push(Arc::new(CallRecord::clone(r)));
            }
        }
        let deltas: Vec<_> = rollup_deltas(fresh.iter().map(|r| r.as_ref()))
            .into_iter()
            .map(|((day, dim, value), t)| ((dim.to_owned(), day, value.to_owned()), t))
            .collect();
        for (key, t) in deltas {
            g.rollups.entry(key).or_default().add(&t);
        }
        let n = fresh.len() as u64;
        g.total_appended += n;
        for r in fresh {
            g.log.push_back(r);
        }
        while g.log.len() > self.max_records {
            if let Some(old) = g.log.pop_front() {
                g.ids.remove(&old.id);
            }
        }
        Ok(n)
    }

    async fn set_budget(&self, budget: &Budget) -> Result<()> {
        self.budgets_lock()
            .entry((budget.scope.clone(), budget.period))
            .and_modify(|row| row.budget = budget.clone())
            .or_insert_with(|| BudgetRow::new(budget.clone()));
        Ok(())
    }

    async fn remove_budget(&self, scope: &Scope, period: Period) -> Result<bool> {
        Ok(self.budgets_lock().remove(&(scope.clone(), period)).is_some())
    }

    async fn budgets(&self, now: Timestamp) -> Result<Vec<BudgetStatus>> {
        let starts = PeriodStarts::at(now);
        Ok(self
            .budgets_lock()
            .values()
            .map(|r| {
                // Expired reservations do not count (the next reservation drops them).
                let mut r = r.clone();
                r.refresh(&starts, now);
                r.status()
            })
            .collect())
    }

    async fn reserve(&self, scopes: &[Scope], hold: Hold) -> Result<ReserveOutcome> {
        let Hold { estimate, now, expires } = hold;
        let mut g = self.budgets_lock();
        if g.is_empty() {
            return Ok(ReserveOutcome::Reserved(Reservation::new(Vec::new(), estimate, now, false)));
        }
        let starts = PeriodStarts::at(now);
        let rows = g.iter_mut().filter(|((s, _), _)| scopes.contains(s)).map(|(_, r)| r);
        let (outcome, _) = reserve_rows(rows, estimate, &starts, scopes, now, expires);
        Ok(outcome)
    }

    async fn settle(&self, reservation: &Reservation, actual: Usd, now: Timestamp) -> Result<Vec<BudgetStatus>> {
        let starts = PeriodStarts::at(now);
        let mut g = self.budgets_lock();
        if g.is_empty() {
            return Ok(Vec::new());
        }
        Ok(g.iter_mut()
            .filter(|((s, _), _)| reservation.scopes.contains(s))
            .map(|(_, r)| {
                r.settle(reservation, actual, &starts);
                r.status()
            })
            .collect())
    }

    async fn rollups(&self, dim: &str, from: Option<Day>, to: Option<Day>) -> Result<Vec<RollupRow>> {
        let g = self.lock();
        let lo = (dim.to_owned(), from.unwrap_or(Day::MIN), String::new());
        Ok(g.rollups
            .range(lo..)
            .take_while(|((d, day, _), _)| d == dim && to.is_none_or(|t| *day <= t))
            .map(|((d, day, value), t)| RollupRow {
                day: *day,
                dim: d.clone(),
                value: value.clone(),
                totals: t.clone(),
            })
            .collect())
    }

    async fn records(&self, from: Option<Timestamp>, to: Option<Timestamp>, limit: usize) -> Result<Vec<CallRecord>> {
        let g = self.lock();
        let mut out: Vec<CallRecord> = g
            .log
            .iter()
            .filter(|r| from.is_none_or(|f| r.start_time >= f) && to.is_none_or(|t| r.start_time < t))
            .map(|r| r.as_ref().clone())
            .collect();
        out.sort_by(|a, b| a.start_time.cmp(&b.start_time).then_with(|| a.id.cmp(&b.id)));
        out.truncate(limit);
        Ok(out)
    }

    async fn records_after(&self, page: RecordPage<'_>) -> Result<Vec<CallRecord>> {
        let RecordPage { from, to, after, limit } = page;
        let order =
            |a: &&Arc<CallRecord>, b: &&Arc<CallRecord>| a.start_time.cmp(&b.start_time).then_with(|| a.id.cmp(&b.id));
        let g = self.lock();
        // references only: the page is selected, then copied
        let mut hits: Vec<&Arc<CallRecord>> = g
            .log
            .iter()
            .filter(|r| from.is_none_or(|f| r.start_time >= f) && to.is_none_or(|t| r.start_time < t))
            .filter(|r| after.is_none_or(|(t, id)| (r.start_time, r.id.as_str()) > (t, id)))
            .collect();
        if limit == 0 {
            return Ok(Vec::new());
        }
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        }
        hits.sort_by(order);
        Ok(hits.into_iter().map(|r| r.as_ref().clone()).collect())
    }

    async fn count_records(&self) -> Result<u64> {
        Ok(self.lock().log.len() as u64)
    }

    async fn export_spans(&self, dest: &str, format: &str) -> Result<Vec<ExportSpan>> {
        let g = self.exports_lock();
        Ok(g.get(&(dest.to_owned(), format.to_owned())).map(|m| m.values().copied().collect()).unwrap_or_default())
    }

    async fn record_export(&self, dest: &str, format: &str, span: ExportSpan, now: Timestamp) -> Result<()> {
        let _ = now;
        let (from, to) = (span.from.as_micros(), span.to.as_micros());
        let mut g = self.exports_lock();
        let spans = g.entry((dest.to_owned(), format.to_owned())).or_default();
        if span.pending {
            let kept = spans.entry(from).or_insert(span);
            if kept.pending {
                kept.records = span.records;
            }
            return Ok(());
        }
        spans.remove(&from);
        let near: Vec<(i64, i64, u64)> = spans
            .values()
            .filter(|s| !s.pending && (s.to.as_micros() == from || s.from.as_micros() == to))
            .map(|s| (s.from.as_micros(), s.to.as_micros(), s.records))
            .collect();
        let (merged, gone) = super::exports::merge_done(from, to, span.records, &near);
        for f in gone {
            spans.remove(&f);
        }
        spans.insert(merged.from.as_micros(), merged);
        Ok(())
    }
}

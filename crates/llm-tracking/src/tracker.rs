//! The [`Tracker`] (shared engine: store, writer, hooks, pricer, budgets, alerts) and its builder.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use llm_core::{ChatRequest, ProviderId, Usd};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::alert::{Alert, AlertKind, AlertSink};
use crate::budget::{
    Budget, BudgetStatus, FailMode, Hold, Period, Refusal, Reservation, ReserveOutcome, Scope, UnpricedPolicy,
};
use crate::error::{Error, ErrorKind, Result};
use crate::hooks::{Hook, HookEvent, HookSet, HookStats};
use crate::pricing::{CatalogPricer, Pricer, Rates, TokenEstimate, estimate_prompt_tokens_with};
use crate::record::CallRecord;
use crate::report::{Report, ReportQuery};
use crate::store::{MemoryStore, Store};
use crate::time::Timestamp;
use crate::tracked::Tracked;
use crate::writer::{Writer, WriterConfig, WriterMsg};

/// Builds a [`Tracker`].
#[must_use]
pub struct TrackerBuilder {
    store: Option<Arc<dyn Store>>,
    pricer: Arc<dyn Pricer>,
    hooks: Vec<Arc<dyn Hook>>,
    alert_sinks: Vec<Arc<dyn AlertSink>>,
    hook_queue: usize,
    hook_timeout: Duration,
    hook_interval: Duration,
    writer: WriterConfig,
    fail_mode: FailMode,
    budgets: bool,
    budget_timeout: Duration,
    budget_cache: Duration,
    default_max_tokens: u32,
    log_content: bool,
    fingerprint_secret: Option<Vec<u8>>,
    lease: Duration,
    unpriced: UnpricedPolicy,
    cap_max_tokens: bool,
    token_estimate: TokenEstimate,
    #[cfg(feature = "object-store")]
    exports: Vec<(crate::export::object::SpendExport, Duration)>,
}

impl Default for TrackerBuilder {
    fn default() -> Self {
        Self {
            store: None,
            pricer: Arc::new(CatalogPricer::new()),
            fingerprint_secret: None,
            hooks: Vec::new(),
            alert_sinks: Vec::new(),
            hook_queue: Tracker::DEFAULT_HOOK_QUEUE,
            hook_timeout: Duration::from_secs(10),
            hook_interval: Duration::from_millis(5),
            writer: WriterConfig {
                capacity: Tracker::DEFAULT_WRITE_BUFFER,
                batch_size: 1000,
                interval: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                shutdown_retry: Duration::from_secs(5),
                retry_attempts: Tracker::DEFAULT_WRITE_ATTEMPTS,
                retry_within: Tracker::DEFAULT_WRITE_RETRY,
            },
            fail_mode: FailMode::Open,
            budgets: true,
            budget_timeout: Duration::from_secs(2),
            budget_cache: Duration::from_secs(1),
            default_max_tokens: Tracker::DEFAULT_MAX_TOKENS,
            log_content: false,
            lease: Tracker::DEFAULT_RESERVATION_LEASE,
            unpriced: UnpricedPolicy::Allow,
            cap_max_tokens: false,
            token_estimate: TokenEstimate::Tokenizer,
            #[cfg(feature = "object-store")]
            exports: Vec::new(),
        }
    }
}

impl TrackerBuilder {
    /// The store for records, rollups and budgets (default: a new [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The pricer (default: [`CatalogPricer`], llm-cost's embedded catalog).
    pub fn pricer(mut self, pricer: impl Pricer) -> Self {
        self.pricer = Arc::new(pricer);
        self
    }

    /// Adds a hook.
    pub fn hook(mut self, hook: impl Hook) -> Self {
        self.hooks.push(Arc::new(hook));
        self
    }

    /// Adds a shared hook.
    pub fn hook_arc(mut self, hook: Arc<dyn Hook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Adds an alert sink.
    pub fn alert_sink(mut self, sink: impl AlertSink) -> Self {
        self.alert_sinks.push(Arc::new(sink));
        self
    }

    /// Each hook's queue capacity (default [`Tracker::DEFAULT_HOOK_QUEUE`]); a full queue drops the newest event.
    pub fn hook_queue(mut self, capacity: usize) -> Self {
        self.hook_queue = capacity.max(1);
        self
    }

    /// How long one hook call may run before it is abandoned (default 10 s).
    pub fn hook_timeout(mut self, timeout: Duration) -> Self {
        self.hook_timeout = timeout;
        self
    }

    /// How often a hook's worker drains its queue (default 5 ms).
    pub fn hook_interval(mut self, interval: Duration) -> Self {
        self.hook_interval = interval.max(Duration::from_micros(100));
        self
    }

    /// The writer's queue capacity (default [`Tracker::DEFAULT_WRITE_BUFFER`]): how many records survive a store
    /// outage (plus one batch in hand); beyond it new records are dropped and counted.
    pub fn write_buffer(mut self, capacity: usize) -> Self {
        self.writer.capacity = capacity.max(1);
        self
    }

    /// Records per store write (default 1,000).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.writer.batch_size = n.max(1);
        self
    }

    /// How often the writer drains its queue into the store (default 100 ms); a flush or the shutdown writes
    /// at once, and a full batch is written at the next wake-up.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.writer.interval = interval;
        self
    }

    /// How long [`Tracker::shutdown`] keeps retrying an unreachable store before giving up (default 5 s).
    pub fn shutdown_retry(mut self, limit: Duration) -> Self {
        self.writer.shutdown_retry = limit;
        self
    }

    /// How hard the writer tries to store a batch before giving up on it: at most `attempts` writes (default
    /// [`Tracker::DEFAULT_WRITE_ATTEMPTS`], at least 1) and no retry after `within` (default
    /// [`Tracker::DEFAULT_WRITE_RETRY`]) from the first, with backoff (20 ms doubling to 1 s) between them. A
    /// batch given up on is counted in [`TrackerStats::records_lost`], and the next [`Tracker::flush`] fails.
    pub fn write_retries(mut self, attempts: u32, within: Duration) -> Self {
        self.writer.retry_attempts = attempts.max(1);
        self.writer.retry_within = within;
        self
    }

    /// How long a budget reservation holds when its call never settles it (default
    /// [`Tracker::DEFAULT_RESERVATION_LEASE`]): a process killed mid-call leaves its reservation behind, and
    /// it stops counting, and is reclaimed, at the end of its lease. Make it longer than the longest call
    /// (a call still running when its lease ends no longer holds its estimate).
    pub fn reservation_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// What a budgeted call to a model without a price does (default [`UnpricedPolicy::Allow`]: it bypasses
    /// budgets).
    pub fn unpriced(mut self, policy: UnpricedPolicy) -> Self {
        self.unpriced = policy;
        self
    }

    /// Caps each call's `max_tokens` to what the tightest hard budget of its scopes still affords (default
    /// off): a call that would otherwise be refused, or that sets no `max_tokens`, is sent with the output
    /// tokens the remaining budget pays for (after its prompt), reported as a `param_capped` adjustment on the
    /// response. Costs one budget read per budgeted call.
    pub fn cap_max_tokens(mut self, on: bool) -> Self {
        self.cap_max_tokens = on;
        self
    }

    /// How a reservation estimates a call's prompt tokens (default [`TokenEstimate::Tokenizer`]: OpenAI models
    /// counted with their tokenizer, others by characters).
    pub fn token_estimate(mut self, estimate: TokenEstimate) -> Self {
        self.token_estimate = estimate;
        self
    }

    /// What a call does when the store cannot be reached to check its budgets (default [`FailMode::Open`]).
    pub fn fail_mode(mut self, mode: FailMode) -> Self {
        self.fail_mode = mode;
        self
    }

    /// The longest a budget check may wait for the store (default 2 s); past it the store counts as
    /// unreachable and the fail mode applies. A reservation that completes after its call gave up is released.
    pub fn budget_timeout(mut self, timeout: Duration) -> Self {
        self.budget_timeout = timeout;
        self
    }

    /// How long a SQL store's answer "no budget applies to these scopes" is remembered (default 1 s; zero turns
    /// the cache off). Calls without budgets then cost no store round trip; a budget created by another process
    /// applies at most this much later (one set through [`Tracker::set_budget`] applies at once).
    pub fn budget_cache(mut self, ttl: Duration) -> Self {
        self.budget_cache = ttl;
        self
    }

    /// Turns budget checks on or off (default on).
    pub fn budgets(mut self, on: bool) -> Self {
        self.budgets = on;
        self
    }

    /// The output tokens a reservation assumes when a request sets no `max_tokens` and the pricer does not
    /// know the model's output limit ([`Pricer::max_output_tokens`]) (default [`Tracker::DEFAULT_MAX_TOKENS`]).
    pub fn default_max_tokens(mut self, n: u32) -> Self {
        self.default_max_tokens = n;
        self
    }

    /// Keeps prompts and replies in records and hook events (default off).
    pub fn log_content(mut self, on: bool) -> Self {
        self.log_content = on;
        self
    }

    /// The secret API-key fingerprints are keyed with (HMAC-SHA-256), kept apart from the store so a copy of
    /// the store cannot confirm a guessed key. Default: `LLM_FINGERPRINT_SECRET`, else the store's own (see
    /// [`crate::fingerprint`]). Processes that share a store must share the secret for their fingerprints (and
    /// key budgets) to agree.
    pub fn fingerprint_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.fingerprint_secret = Some(secret.into()).filter(|s| !s.is_empty());
        self
    }

    /// Exports the store's spend to object storage every `every` (feature `object-store`), on a task of its own:
    /// each run writes what is not exported yet, and the still-open objects of the last settle lag again
    /// ([`crate::export::object`]); a failed run is logged (redacted) and the next one picks up where it
    /// stopped. The destination is checked by [`Self::build`].
    #[cfg(feature = "object-store")]
    pub fn spend_export(mut self, export: crate::export::object::SpendExport, every: Duration) -> Self {
        self.exports.push((export, every));
        self
    }

    /// Starts the tracker's tasks. Must run inside a tokio runtime.
    pub fn build(self) -> Result<Tracker> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::config("the tracker needs a tokio runtime: build it inside one"));
        }
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        #[cfg(feature = "object-store")]
        let exporters = self
            .exports
            .into_iter()
            .map(|(export, every)| crate::export::object::spawn_exporter(store.clone(), export, every))
            .collect::<Result<Vec<_>>>()?;
        #[cfg(not(feature = "object-store"))]
        let exporters = Vec::new();
        let fingerprint_secret: Option<Arc<[u8]>> = self
            .fingerprint_secret
            .or_else(crate::fingerprint::from_env)
            .or_else(|| store.fingerprint_secret().map(<[u8]>::to_vec))
            .map(Arc::from);
        let store_is_local = store.name() == "memory";
        let (writer, writer_task) = Writer::start(store.clone(), self.writer);
        let hooks = HookSet::start(self.hooks, self.hook_queue, self.hook_timeout, self.hook_interval);
        Ok(Tracker {
            inner: Arc::new(Inner {
                store,
                pricer: self.pricer,
                hooks,
                writer,
                writer_task: Mutex::new(Some(writer_task)),
                alert_sinks: self.alert_sinks,
                alerted: Mutex::new(HashSet::new()),
                fail_mode: self.fail_mode,
                budgets: self.budgets,
                budget_timeout: self.budget_timeout,
                budget_cache: self.budget_cache,
                unbudgeted: Mutex::new(HashMap::new()),
                local_store: store_is_local,
                flushed_dropped: AtomicU64::new(0),
                default_max_tokens: self.default_max_tokens,
                log_content: self.log_content,
                fingerprint_secret,
                lease: self.lease,
                unpriced: self.unpriced,
                cap_max_tokens: self.cap_max_tokens,
                token_estimate: self.token_estimate,
                counters: Counters::default(),
                exporters: Mutex::new(exporters),
            }),
        })
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub emitted: AtomicU64,
    pub refused: AtomicU64,
    pub fail_open: AtomicU64,
    pub fail_closed: AtomicU64,
    pub settle_errors: AtomicU64,
    pub pending_settles: AtomicU64,
    pub alerts_sent: AtomicU64,
    pub alert_errors: AtomicU64,
    pub alerts_deduplicated: AtomicU64,
}

pub(crate) struct Inner {
    pub fingerprint_secret: Option<Arc<[u8]>>,
    pub store: Arc<dyn Store>,
    pub pricer: Arc<dyn Pricer>,
    pub hooks: HookSet,
    writer: Writer,
    writer_task: Mutex<Option<crate::writer::WriterTask>>,
    alert_sinks: Vec<Arc<dyn AlertSink>>,
    alerted: Mutex<HashSet<(Scope, Period, Timestamp, AlertKind)>>,
    pub fail_mode: FailMode,
    pub budgets: bool,
    budget_timeout: Duration,
    budget_cache: Duration,
    /// Scopes known to have no budget, until when.
    unbudgeted: Mutex<HashMap<Scope, std::time::Instant>>,
    /// The store answers in-process (no I/O): budget calls are awaited inline, without a timeout.
    local_store: bool,
    /// `records_dropped` as of the last flush.
    flushed_dropped: AtomicU64,
    pub default_max_tokens: u32,
    pub log_content: bool,
    lease: Duration,
    pub unpriced: UnpricedPolicy,
    pub cap_max_tokens: bool,
    pub token_estimate: TokenEstimate,
    pub counters: Counters,
    /// The periodic spend exporters' tasks (stopped by shutdown).
    exporters: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // the exporters hold the store, not the tracker: they stop with it
        for t in self.exporters.get_mut().unwrap_or_else(PoisonError::into_inner).drain(..) {
            t.abort();
        }
    }
}

/// Counters of a tracker, for monitoring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TrackerStats {
    /// Records emitted (one per logical call).
    pub records_emitted: u64,
    /// Records queued for the store.
    pub records_queued: u64,
    /// Records the store confirmed.
    pub records_persisted: u64,
    /// Records dropped because the writer's queue was full.
    pub records_dropped: u64,
    /// Records the store failed to persist: their batch was given up on after the writer's retries
    /// ([`TrackerBuilder::write_retries`]).
    pub records_lost: u64,
    /// Failed store writes (each retried).
    pub write_errors: u64,
    /// Calls refused by a hard limit.
    pub budget_refusals: u64,
    /// Calls let through unchecked because the store was unreachable ([`FailMode::Open`]).
    pub budget_fail_open: u64,
    /// Calls refused because the store was unreachable ([`FailMode::Closed`]).
    pub budget_fail_closed: u64,
    /// Settlements that failed (the store was unreachable after the call).
    pub settle_errors: u64,
    /// Alerts delivered.
    pub alerts_sent: u64,
    /// Alerts that failed to deliver.
    pub alert_errors: u64,
    /// Alerts not sent because another process sharing the store had sent them.
    pub alerts_deduplicated: u64,
    /// Per-hook counters.
    pub hooks: Vec<HookStats>,
}

/// The shared tracking engine: a store with a batched writer, hooks on their own workers, a pricer, budget
/// checks and alerts. Cheap to clone; wrap providers with [`Tracker::wrap`].
#[derive(Clone)]
pub struct Tracker {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker").field("store", &self.inner.store.name()).finish_non_exhaustive()
    }
}

impl Tracker {
    /// The default capacity of each hook's queue.
    pub const DEFAULT_HOOK_QUEUE: usize = 10_000;
    /// The default capacity of the writer's queue.
    pub const DEFAULT_WRITE_BUFFER: usize = 100_000;
    /// The default output tokens a reservation assumes when a request sets no `max_tokens` and the pricer
    /// does not know the model's output limit.
    pub const DEFAULT_MAX_TOKENS: u32 = 1024;
    /// The default lease of a budget reservation: 15 minutes.
    pub const DEFAULT_RESERVATION_LEASE: Duration = Duration::from_secs(15 * 60);
    /// The default number of writes of a batch before the writer gives up on it.
    pub const DEFAULT_WRITE_ATTEMPTS: u32 = 10;
    /// The default time after a batch's first write failure past which the writer no longer retries it.
    pub const DEFAULT_WRITE_RETRY: Duration = Duration::from_secs(30);

    /// A builder with the defaults.
    pub fn builder() -> TrackerBuilder {
        TrackerBuilder::default()
    }

    /// A tracker over an in-memory store with the defaults. Must run inside a tokio runtime.
    pub fn in_memory() -> Result<Self> {
        Self::builder().build()
    }

    /// The fingerprint this tracker records and budgets `key` under: HMAC-SHA-256 keyed with the tracker's
    /// fingerprint secret (see the `fingerprint` module for where it comes from), or plain SHA-256 when there
    /// is none. Never the key.
    pub fn key_fingerprint(&self, key: &llm_core::ApiKey) -> String {
        match &self.inner.fingerprint_secret {
            Some(secret) => key.fingerprint_keyed(secret),
            None => key.fingerprint(),
        }
    }

    /// The budget scope of an API key: `key:` and [`Tracker::key_fingerprint`].
    pub fn key_scope(&self, key: &llm_core::ApiKey) -> Scope {
        Scope::ApiKey(self.key_fingerprint(key))
    }

    /// Wraps a provider so that its calls are priced, budgeted and recorded here.
    pub fn wrap<P: llm_core::Provider>(&self, provider: P) -> Tracked<P> {
        Tracked::new(provider, self.clone())
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The pricer.
    pub fn pricer(&self) -> &Arc<dyn Pricer> {
        &self.inner.pricer
    }

    /// Creates or replaces a budget.
    pub async fn set_budget(&self, budget: &Budget) -> Result<()> {
        self.inner.store.set_budget(budget).await?;
        self.inner.unbudgeted.lock().unwrap_or_else(PoisonError::into_inner).clear();
        Ok(())
    }

    /// Every budget with its current spend.
    pub async fn budgets(&self) -> Result<Vec<BudgetStatus>> {
        self.inner.store.budgets(Timestamp::now()).await
    }

    /// A spend report from the store (call [`Tracker::flush`] first to include the latest records).
    pub async fn report(&self, query: &ReportQuery) -> Result<Report> {
        self.inner.store.report(query).await
    }

    /// Counters.
    pub fn stats(&self) -> TrackerStats {
        let c = &self.inner.counters;
        let w = &self.inner.writer.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TrackerStats {
            records_emitted: load(&c.emitted),
            records_queued: load(&w.queued),
            records_persisted: load(&w.persisted),
            records_dropped: load(&w.dropped),
            records_lost: load(&w.lost),
            write_errors: load(&w.write_errors),
            budget_refusals: load(&c.refused),
            budget_fail_open: load(&c.fail_open),
            budget_fail_closed: load(&c.fail_closed),
            settle_errors: load(&c.settle_errors),
            alerts_sent: load(&c.alerts_sent),
            alert_errors: load(&c.alert_errors),
            alerts_deduplicated: load(&c.alerts_deduplicated),
            hooks: self.inner.hooks.stats(),
        }
    }

    /// Emits a record: to the hooks and the store's writer. Never blocks.
    pub fn emit(&self, record: CallRecord) {
        let record = Arc::new(record);
        self.inner.counters.emitted.fetch_add(1, Ordering::Relaxed);
        if self.inner.hooks.is_empty() {
            self.inner.writer.push(record);
        } else {
            self.inner.writer.push(record.clone());
            self.inner.hooks.send(&HookEvent::Record(record));
        }
    }

    /// Waits until every record emitted before this call has been written to the store (or given up on) and
    /// every pending settlement is done. Returns the number of records persisted so far.
    ///
    /// Fails with [`ErrorKind::Store`] when records were lost since the previous flush: the store refused them
    /// through every retry ([`TrackerBuilder::write_retries`]), or they were dropped from a full queue. The
    /// wait is bounded by those retries (a store that cannot write fails within them, not forever).
    pub async fn flush(&self) -> Result<u64> {
        while self.inner.counters.pending_settles.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let (ack, done) = oneshot::channel();
        self.inner
            .writer
            .tx
            .send(WriterMsg::Flush(ack))
            .await
            .map_err(|_| Error::new(ErrorKind::Closed, "the writer stopped"))?;
        self.inner.writer.wake.notify_one();
        let report = done.await.map_err(|_| Error::new(ErrorKind::Closed, "the writer stopped"))?;
        let dropped = self.inner.writer.counters.dropped.load(Ordering::Relaxed);
        let newly_dropped = dropped - self.inner.flushed_dropped.swap(dropped, Ordering::AcqRel).min(dropped);
        if report.lost > 0 || newly_dropped > 0 {
            let mut msg = format!(
                "{} records were not persisted to the {} store",
                report.lost + newly_dropped,
                self.inner.store.name()
            );
            if newly_dropped > 0 {
                msg.push_str(&format!(" ({newly_dropped} dropped from a full queue)"));
            }
            if let Some(e) = report.last_error {
                msg.push_str(": ");
                msg.push_str(&e);
            }
            return Err(Error::store(msg));
        }
        Ok(self.stats().records_persisted)
    }

    /// Waits for the hooks to handle what is queued (at most `limit`).
    pub async fn drain_hooks(&self, limit: Duration) {
        self.inner.hooks.drain(limit).await;
    }

    /// Stops the tracker: persists every queued record (retrying an unreachable store for the configured
    /// `shutdown_retry`), lets hooks finish what is queued (at most 5 s), then stops the tasks. Records emitted
    /// afterwards are counted as dropped.
    pub async fn shutdown(&self) -> Result<TrackerStats> {
        while self.inner.counters.pending_settles.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = self.inner.writer.tx.send(WriterMsg::Close).await;
        self.inner.writer.wake.notify_one();
        let task = self.inner.writer_task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(t) = task {
            t.join().await;
        }
        self.inner.hooks.shutdown(Duration::from_secs(5)).await;
        // An export stopped mid-way leaves a pending span: the next export writes it again.
        for t in std::mem::take(&mut *self.inner.exporters.lock().unwrap_or_else(PoisonError::into_inner)) {
            t.abort();
        }
        Ok(self.stats())
    }

    // ----- internals used by Tracked -----

    /// The rates a call is estimated and (when its cost is unknown) settled at: the pricer's, else the
    /// unpriced policy's.
    pub(crate) fn rates(&self, pricer: &dyn Pricer, provider: &ProviderId, model: &str) -> Option<Rates> {
        pricer.rates(provider, model).or(match self.inner.unpriced {
            UnpricedPolicy::CountAt(r) => Some(r),
            _ => None,
        })
    }

    /// The output tokens a call may produce, per choice: its `max_tokens`, else the model's output limit
    /// from the pricer, else the configured default.
    pub(crate) fn output_tokens(&self, pricer: &dyn Pricer, provider: &ProviderId, request: &ChatRequest) -> u64 {
        let per = request
            .max_tokens
            .or_else(|| pricer.max_output_tokens(provider, request.model.as_str()))
            .unwrap_or(self.inner.default_max_tokens);
        u64::from(per)
    }

    /// The prompt tokens a reservation assumes for a request served by `provider`.
    pub(crate) fn prompt_tokens(&self, provider: &ProviderId, request: &ChatRequest) -> u64 {
        estimate_prompt_tokens_with(request, self.inner.token_estimate, Some(provider))
    }

    pub(crate) fn estimate(&self, pricer: &dyn Pricer, provider: &ProviderId, request: &ChatRequest) -> Usd {
        let Some(rates) = self.rates(pricer, provider, request.model.as_str()) else {
            return Usd::ZERO;
        };
        let out = self.output_tokens(pricer, provider, request) * u64::from(request.n.unwrap_or(1).max(1));
        rates.cost_of(self.prompt_tokens(provider, request), out)
    }

    /// What a finished call settles: its known cost; when unknown, its usage at the unpriced policy's rates
    /// ([`UnpricedPolicy::CountAt`]), else the estimate (conservative).
    pub(crate) fn settle_amount(&self, cost: &llm_core::Cost, usage: Option<&llm_core::Usage>, estimate: Usd) -> Usd {
        if let Some(t) = cost.total() {
            return t;
        }
        match (self.inner.unpriced, usage) {
            (UnpricedPolicy::CountAt(r), Some(u)) => r.cost_of(u.prompt_tokens, u.completion_tokens),
            _ => estimate,
        }
    }

    /// The room left under the tightest hard limit of these scopes' budgets (a store read), `None` when none
    /// has a hard limit or the store cannot tell.
    pub(crate) async fn headroom(&self, scopes: &[Scope]) -> Option<Usd> {
        let now = Timestamp::now();
        let read = tokio::time::timeout(self.inner.budget_timeout, self.inner.store.budgets(now)).await;
        let Ok(Ok(budgets)) = read else {
            return None;
        };
        budgets.iter().filter(|b| scopes.contains(&b.budget.scope)).filter_map(|b| b.remaining().map(Usd::new)).min()
    }

    /// Reserves for a call. `Ok(None)`: budgets are off or the store was unreachable and the mode is open.
    pub(crate) async fn reserve(
        &self,
        scopes: &[Scope],
        estimate: Usd,
        now: Timestamp,
    ) -> std::result::Result<Option<Reservation>, ReserveError> {
        if !self.inner.budgets {
            return Ok(None);
        }
        if self.known_unbudgeted(scopes) {
            return Ok(Some(Reservation::new(Vec::new(), Usd::ZERO, now, false)));
        }
        match self.reserve_bounded(scopes, Hold { estimate, now, expires: self.lease_end(now) }).await {
            Ok(ReserveOutcome::Reserved(r)) => {
                if !r.budgeted {
                    self.remember_unbudgeted(scopes);
                }
                Ok(Some(r))
            }
            Ok(ReserveOutcome::Refused(refusal)) => {
                self.inner.counters.refused.fetch_add(1, Ordering::Relaxed);
                self.alert_refusal(&refusal, now);
                Err(ReserveError::Refused(refusal))
            }
            Err(e) => match self.inner.fail_mode {
                FailMode::Open => {
                    self.inner.counters.fail_open.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(store = self.inner.store.name(), error = %e, "budget store unreachable; failing open");
                    Ok(None)
                }
                FailMode::Closed => {
                    self.inner.counters.fail_closed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(store = self.inner.store.name(), error = %e, "budget store unreachable; failing closed");
                    Err(ReserveError::Unavailable(e))
                }
            },
        }
    }

    pub(crate) fn known_unbudgeted(&self, scopes: &[Scope]) -> bool {
        if self.inner.local_store || self.inner.budget_cache.is_zero() {
            return false;
        }
        let now = std::time::Instant::now();
        let cache = self.inner.unbudgeted.lock().unwrap_or_else(PoisonError::into_inner);
        scopes.iter().all(|s| cache.get(s).is_some_and(|until| *until > now))
    }

    fn remember_unbudgeted(&self, scopes: &[Scope]) {
        if self.inner.local_store || self.inner.budget_cache.is_zero() {
            return;
        }
        let until = std::time::Instant::now() + self.inner.budget_cache;
        let mut cache = self.inner.unbudgeted.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() > 100_000 {
            cache.clear();
        }
        for s in scopes {
            cache.insert(s.clone(), until);
        }
    }

    /// When a reservation made at `now` expires.
    fn lease_end(&self, now: Timestamp) -> Timestamp {
        now.plus_micros(i64::try_from(self.inner.lease.as_micros()).unwrap_or(i64::MAX / 4))
    }

    /// Reserves in the store, waiting at most the budget timeout; a reservation that completes later (after
    /// the timeout, or after the call was cancelled while waiting) is released on a background task.
    async fn reserve_bounded(&self, scopes: &[Scope], hold: Hold) -> Result<ReserveOutcome> {
        if self.inner.local_store {
            return self.inner.store.reserve(scopes, hold).await;
        }
        let store = self.inner.store.clone();
        let owned = scopes.to_vec();
        let task = tokio::spawn(async move { store.reserve(&owned, hold).await });
        let mut pending = LateRelease { task: Some(task), tracker: self.clone() };
        let Some(task) = pending.task.as_mut() else {
            return Err(Error::store("budget check failed"));
        };
        match tokio::time::timeout(self.inner.budget_timeout, task).await {
            Ok(Ok(outcome)) => {
                pending.task = None;
                outcome
            }
            Ok(Err(join)) => {
                pending.task = None;
                Err(Error::store(format!("budget check failed: {join}")))
            }
            // Dropping `pending` releases the reservation if it lands later.
            Err(_elapsed) => {
                Err(Error::store(format!("budget check timed out after {} ms", self.inner.budget_timeout.as_millis())))
            }
        }
    }

    /// Settles after a call: inline for an in-process store, on a background task otherwise (so an
    /// unreachable store never delays the response; [`Tracker::flush`] waits for it).
    /// Whether a call with this reservation settles anything: budgets on, and a reservation that counted (a
    /// failed call without a reservation has nothing to settle).
    pub(crate) fn settles(&self, reservation: Option<&Reservation>, succeeded: bool) -> bool {
        self.inner.budgets
            && match reservation {
                Some(r) => r.budgeted,
                None => succeeded,
            }
    }

    pub(crate) async fn settle_after_call(&self, reservation: Option<Reservation>, scopes: &[Scope], actual: Usd) {
        if reservation.as_ref().is_some_and(|r| !r.budgeted) {
            return;
        }
        if self.inner.local_store {
            self.settle(reservation, scopes, actual).await;
        } else {
            self.settle_in_background(reservation, scopes.to_vec(), actual);
        }
    }

    /// Settles a reservation (or, without one, adds the spend to the scopes' budgets), then raises alerts.
    pub(crate) async fn settle(&self, reservation: Option<Reservation>, scopes: &[Scope], actual: Usd) {
        if !self.inner.budgets {
            return;
        }
        let now = Timestamp::now();
        let res = reservation.unwrap_or_else(|| Reservation::new(scopes.to_vec(), Usd::ZERO, now, true));
        match self.inner.store.settle(&res, actual, now).await {
            Ok(statuses) => self.alert_statuses(&statuses),
            Err(e) => {
                self.inner.counters.settle_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(store = self.inner.store.name(), error = %e, "budget settlement failed");
            }
        }
    }

    /// Settles from a synchronous context (a stream's end or drop) on a background task.
    pub(crate) fn settle_in_background(&self, reservation: Option<Reservation>, scopes: Vec<Scope>, actual: Usd) {
        if !self.inner.budgets || reservation.as_ref().is_some_and(|r| !r.budgeted) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.inner.counters.settle_errors.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.inner.counters.pending_settles.fetch_add(1, Ordering::AcqRel);
        let this = self.clone();
        handle.spawn(async move {
            this.settle(reservation, &scopes, actual).await;
            this.inner.counters.pending_settles.fetch_sub(1, Ordering::AcqRel);
        });
    }

    fn alert_statuses(&self, statuses: &[BudgetStatus]) {
        if self.inner.alert_sinks.is_empty() {
            return;
        }
        for s in statuses {
            if s.soft_reached()
                && let Some(a) = Alert::from_status(AlertKind::SoftLimit, s)
            {
                self.send_alert(a);
            }
            if s.hard_reached()
                && let Some(a) = Alert::from_status(AlertKind::HardLimit, s)
            {
                self.send_alert(a);
            }
        }
    }

    fn alert_refusal(&self, r: &Refusal, now: Timestamp) {
        if self.inner.alert_sinks.is_empty() {
            return;
        }
        self.send_alert(Alert {
            kind: AlertKind::HardLimit,
            scope: r.scope.clone(),
            period: r.period,
            period_start: r.period.start_of(now),
            spent: r.committed,
            limit: r.max_usd,
        });
    }

    fn send_alert(&self, alert: Alert) {
        let fresh = self.inner.alerted.lock().unwrap_or_else(PoisonError::into_inner).insert(alert.dedupe_key());
        if !fresh {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let this = self.clone();
        handle.spawn(async move {
            let store = &this.inner.store;
            // Once across the processes sharing the store; a store that cannot answer does not stop the alert.
            let claimed = match store.claim_alert(&alert, Timestamp::now()).await {
                Ok(false) => {
                    this.inner.counters.alerts_deduplicated.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(true) => true,
                Err(e) => {
                    tracing::warn!(store = store.name(), error = %e, "alert claim failed; sending anyway");
                    false
                }
            };
            let mut delivered = false;
            for sink in &this.inner.alert_sinks {
                match sink.send(&alert).await {
                    Ok(()) => {
                        delivered = true;
                        this.inner.counters.alerts_sent.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "budget alert failed");
                        this.inner.counters.alert_errors.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
            if claimed
                && !delivered
                && let Err(e) = store.release_alert(&alert).await
            {
                tracing::warn!(store = store.name(), error = %e, "alert claim could not be released");
            }
        });
    }
}

/// A reservation still on its way from the store when its call stopped waiting for it (timed out, or the
/// call's future was dropped): dropped, it releases the reservation on a background task once it lands.
struct LateRelease {
    task: Option<tokio::task::JoinHandle<Result<ReserveOutcome>>>,
    tracker: Tracker,
}

impl Drop for LateRelease {
    fn drop(&mut self) {
        let Some(task) = self.task.take() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let this = self.tracker.clone();
        this.inner.counters.pending_settles.fetch_add(1, Ordering::AcqRel);
        handle.spawn(async move {
            if let Ok(Ok(ReserveOutcome::Reserved(late))) = task.await {
                let scopes = late.scopes.clone();
                this.settle(Some(late), &scopes, Usd::ZERO).await;
            }
            this.inner.counters.pending_settles.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

pub(crate) enum ReserveError {
    Refused(Refusal),
    Unavailable(Error),
}

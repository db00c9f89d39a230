//! Hooks: a logger trait in the spirit of LiteLLM's `CustomLogger`, run off the call's path.
//!
//! Every hook gets its own bounded queue and worker task. The call only does a non-blocking `try_send` of a
//! shared (`Arc`) event; the worker drains its queue every few milliseconds
//! ([`crate::TrackerBuilder::hook_interval`], default 5 ms), so events reach a hook shortly after they happen. **Full-queue policy: drop the newest event** and count it in
//! [`HookStats::dropped`]; the call never waits for a hook. A hook that returns an error is counted in
//! [`HookStats::failed`] and logged as a warning; one that panics is caught (`catch_unwind`) and counted in
//! [`HookStats::panicked`]; one that runs past its timeout is abandoned and counted in
//! [`HookStats::timed_out`]. None of them affects the call or the other hooks.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use llm_core::{ChatRequest, StreamEvent};
use serde::Serialize;
use tokio::sync::{Notify, mpsc};

use crate::record::CallRecord;
use crate::returned::Returned;
use crate::time::Timestamp;

/// What a hook may return as an error.
pub type HookError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The start of a call, as [`Hook::before_call`] sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallStart {
    /// The call id (the record's id).
    pub id: String,
    /// The trace id.
    pub trace_id: String,
    /// The provider.
    pub provider: String,
    /// The requested model.
    pub model: String,
    /// Whether it is streamed.
    pub stream: bool,
    /// When it started.
    pub start_time: Timestamp,
    /// The request, only when the tracker logs content ([`crate::TrackerBuilder::log_content`]).
    pub request: Option<ChatRequest>,
}

/// A call's start as the call's thread sends it: the four names in one buffer, so a call makes one string
/// for them instead of four (and its thread later drops one). Each hook worker makes the [`CallStart`] its
/// hook sees, on its own thread.
#[derive(Debug)]
pub(crate) struct StartEvent {
    /// id, trace id, provider and model, back to back.
    names: String,
    /// Where the first three end in `names`.
    ends: [usize; 3],
    stream: bool,
    start_time: Timestamp,
    /// Boxed: most trackers do not log content, and an inline request would make every event 600 bytes.
    request: Option<Box<ChatRequest>>,
}

impl StartEvent {
    pub(crate) fn new(
        [id, trace_id, provider, model]: [&str; 4],
        stream: bool,
        start_time: Timestamp,
        request: Option<Box<ChatRequest>>,
    ) -> Self {
        let mut names = String::with_capacity(id.len() + trace_id.len() + provider.len() + model.len());
        let mut ends = [0; 3];
        for (end, part) in ends.iter_mut().zip([id, trace_id, provider]) {
            names.push_str(part);
            *end = names.len();
        }
        names.push_str(model);
        Self { names, ends, stream, start_time, request }
    }

    pub(crate) fn to_call_start(&self) -> CallStart {
        let [a, b, c] = self.ends;
        let part = |from: usize, to: usize| self.names.get(from..to).unwrap_or_default().to_owned();
        CallStart {
            id: part(0, a),
            trace_id: part(a, b),
            provider: part(b, c),
            model: part(c, self.names.len()),
            stream: self.stream,
            start_time: self.start_time,
            request: self.request.as_deref().cloned(),
        }
    }
}

/// One streamed chunk, as [`Hook::on_stream_chunk`] sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StreamChunk {
    /// The call id.
    pub id: String,
    /// The chunk's position, from 0.
    pub index: u64,
    /// When it arrived.
    pub at: Timestamp,
    /// The event, only when the tracker logs content; usage, finish and cost events always.
    pub event: Option<StreamEvent>,
}

/// A logger of calls. Every method has a default that does nothing; implement the ones you need.
///
/// Methods run on the hook's own worker task, never on the call's path; see the module docs for what happens
/// when a hook is slow, fails or panics.
#[async_trait]
pub trait Hook: Send + Sync + 'static {
    /// A name for logs and stats.
    fn name(&self) -> &str {
        "hook"
    }

    /// Before the provider is called.
    async fn before_call(&self, _call: &CallStart) -> Result<(), HookError> {
        Ok(())
    }

    /// After a call succeeded (for a stream: after its last chunk), with its record.
    async fn on_success(&self, _record: &CallRecord) -> Result<(), HookError> {
        Ok(())
    }

    /// After a call failed, was refused, or a stream was dropped midway, with its record.
    async fn on_failure(&self, _record: &CallRecord) -> Result<(), HookError> {
        Ok(())
    }

    /// For every streamed chunk; only called when [`Hook::wants_stream_chunks`] says so.
    async fn on_stream_chunk(&self, _chunk: &StreamChunk) -> Result<(), HookError> {
        Ok(())
    }

    /// Whether this hook wants [`Hook::before_call`] calls. Each is one more event per call, with the call's
    /// ids and names copied into it: a hook that only logs records returns `false`, and a tracker whose hooks
    /// all do sends none.
    fn wants_before_call(&self) -> bool {
        true
    }

    /// Whether this hook wants [`Hook::on_stream_chunk`] calls (they cost a queue slot per chunk).
    fn wants_stream_chunks(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone)]
pub(crate) enum HookEvent {
    Before(Arc<StartEvent>),
    Record(Arc<CallRecord>),
    Chunk(Arc<StreamChunk>),
}

/// Counters of one hook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HookStats {
    /// The hook's name.
    pub name: String,
    /// Events handed to the hook.
    pub delivered: u64,
    /// Events dropped because its queue was full.
    pub dropped: u64,
    /// Calls that returned an error.
    pub failed: u64,
    /// Calls that panicked.
    pub panicked: u64,
    /// Calls abandoned after the timeout.
    pub timed_out: u64,
}

#[derive(Debug, Default)]
struct Counters {
    pending: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    timed_out: AtomicU64,
}

pub(crate) struct HookSlot {
    name: String,
    wants_before: bool,
    wants_chunks: bool,
    tx: mpsc::Sender<HookEvent>,
    counters: Arc<Counters>,
    wake: Arc<Notify>,
    /// Handled events, dropped by the threads that send (see [`Returned`]).
    returned: Arc<Returned<HookEvent>>,
}

pub(crate) struct HookSet {
    slots: Vec<HookSlot>,
    any_before: bool,
    any_chunks: bool,
    workers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl HookSet {
    pub fn start(hooks: Vec<Arc<dyn Hook>>, capacity: usize, timeout: Duration, interval: Duration) -> Self {
        let mut slots = Vec::with_capacity(hooks.len());
        let mut workers = Vec::with_capacity(hooks.len());
        for hook in hooks {
            let (tx, rx) = mpsc::channel(capacity.max(1));
            let counters = Arc::new(Counters::default());
            let wake = Arc::new(Notify::new());
            let returned = Arc::new(Returned::new());
            slots.push(HookSlot {
                name: hook.name().to_owned(),
                wants_before: hook.wants_before_call(),
                wants_chunks: hook.wants_stream_chunks(),
                tx,
                counters: counters.clone(),
                wake: wake.clone(),
                returned: returned.clone(),
            });
            let worker = Worker { hook, counters, timeout, interval, wake, returned };
            workers.push(tokio::spawn(run_hook(worker, rx)));
        }
        let any_before = slots.iter().any(|s| s.wants_before);
        let any_chunks = slots.iter().any(|s| s.wants_chunks);
        Self { slots, any_before, any_chunks, workers: std::sync::Mutex::new(workers) }
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn wants_chunks(&self) -> bool {
        self.any_chunks
    }

    /// Whether any hook wants [`HookEvent::Before`] events.
    pub fn wants_before_call(&self) -> bool {
        self.any_before
    }

    pub fn send(&self, event: &HookEvent) {
        for slot in &self.slots {
            let wanted = match event {
                HookEvent::Before(_) => slot.wants_before,
                HookEvent::Chunk(_) => slot.wants_chunks,
                HookEvent::Record(_) => true,
            };
            if !wanted {
                continue;
            }
            slot.counters.pending.fetch_add(1, Ordering::Relaxed);
            if slot.tx.try_send(event.clone()).is_err() {
                slot.counters.pending.fetch_sub(1, Ordering::Relaxed);
                slot.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
            slot.returned.drop_some();
        }
    }

    pub fn stats(&self) -> Vec<HookStats> {
        self.slots
            .iter()
            .map(|s| HookStats {
                name: s.name.clone(),
                delivered: s.counters.delivered.load(Ordering::Relaxed),
                dropped: s.counters.dropped.load(Ordering::Relaxed),
                failed: s.counters.failed.load(Ordering::Relaxed),
                panicked: s.counters.panicked.load(Ordering::Relaxed),
                timed_out: s.counters.timed_out.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Waits until every queued event was handled (or `limit` passed).
    pub async fn drain(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        for slot in &self.slots {
            slot.wake.notify_one();
        }
        for slot in &self.slots {
            while slot.counters.pending.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }

    /// Closes the queues and waits for the workers to finish what was queued (at most `limit`).
    pub async fn shutdown(&self, limit: Duration) {
        self.drain(limit).await;
        let workers: Vec<_> = match self.workers.lock() {
            Ok(mut w) => w.drain(..).collect(),
            Err(p) => p.into_inner().drain(..).collect(),
        };
        for w in workers {
            w.abort();
        }
    }
}

struct Worker {
    hook: Arc<dyn Hook>,
    counters: Arc<Counters>,
    timeout: Duration,
    interval: Duration,
    wake: Arc<Notify>,
    returned: Arc<Returned<HookEvent>>,
}

async fn run_hook(w: Worker, mut rx: mpsc::Receiver<HookEvent>) {
    // Like the store's writer, a hook worker never waits on its queue (so a call's `try_send` never wakes a
    // task): it drains the queue every `interval`, or when drained or shut down. Handled events go back to the
    // sending threads to be dropped; when nothing came for a whole interval the worker drops them itself.
    let mut handled = Vec::new();
    loop {
        let slept = tokio::select! {
            () = tokio::time::sleep(w.interval) => true,
            () = w.wake.notified() => false,
        };
        let mut received = false;
        loop {
            match rx.try_recv() {
                Ok(event) => {
                    received = true;
                    handle(&*w.hook, &event, &w.counters, w.timeout).await;
                    handled.push(event);
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    w.returned.clear();
                    return;
                }
            }
        }
        if received {
            w.returned.take(&mut handled);
        } else if slept {
            w.returned.clear();
        }
    }
}

async fn handle(hook: &dyn Hook, event: &HookEvent, counters: &Counters, timeout: Duration) {
    let fut = async {
        match event {
            HookEvent::Before(c) => hook.before_call(&c.to_call_start()).await,
            HookEvent::Record(r) if r.status == crate::record::CallStatus::Success => hook.on_success(r).await,
            HookEvent::Record(r) => hook.on_failure(r).await,
            HookEvent::Chunk(c) => hook.on_stream_chunk(c).await,
        }
    };
    let outcome = tokio::time::timeout(timeout, AssertUnwindSafe(fut).catch_unwind()).await;
    counters.delivered.fetch_add(1, Ordering::Relaxed);
    counters.pending.fetch_sub(1, Ordering::Relaxed);
    match outcome {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => {
            counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(hook = hook.name(), error = %llm_core::redact_secrets(&e.to_string()), "tracking hook failed");
        }
        Ok(Err(_panic)) => {
            counters.panicked.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(hook = hook.name(), "tracking hook panicked");
        }
        Err(_elapsed) => {
            counters.timed_out.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(hook = hook.name(), timeout_ms = timeout.as_millis() as u64, "tracking hook timed out");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_event_gives_back_its_names() {
        let at = Timestamp::from_micros(1_700_000_000_000_000);
        let s = StartEvent::new(["0123abcd", "trace-9", "openai", "gpt-4o"], true, at, None).to_call_start();
        assert_eq!(
            (s.id.as_str(), s.trace_id.as_str(), s.provider.as_str(), s.model.as_str(), s.stream, s.start_time),
            ("0123abcd", "trace-9", "openai", "gpt-4o", true, at)
        );
        assert!(s.request.is_none());
        // Empty and non-ASCII names keep their boundaries.
        let s = StartEvent::new(["", "ü-trace", "", "modèle"], false, at, None).to_call_start();
        assert_eq!(
            (s.id.as_str(), s.trace_id.as_str(), s.provider.as_str(), s.model.as_str()),
            ("", "ü-trace", "", "modèle")
        );
    }
}

//! The batched writer: records go through a bounded queue to a task that appends them to the store in
//! batches (by size or after an interval, and on flush and shutdown), retrying while the store is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::record::CallRecord;
use crate::returned::Returned;
use crate::store::Store;

pub(crate) enum WriterMsg {
    Record(Arc<CallRecord>),
    Flush(oneshot::Sender<FlushReport>),
    Close,
}

/// What a flush tells its caller: the records given up on since the previous flush, and the last error.
#[derive(Debug, Default)]
pub(crate) struct FlushReport {
    pub lost: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    pub queued: AtomicU64,
    pub persisted: AtomicU64,
    pub dropped: AtomicU64,
    pub write_errors: AtomicU64,
    pub batches: AtomicU64,
    /// Records given up on after the retries.
    pub lost: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct WriterConfig {
    pub capacity: usize,
    pub batch_size: usize,
    pub interval: Duration,
    pub max_backoff: Duration,
    /// How long a closing writer keeps retrying before it gives up on what it holds.
    pub shutdown_retry: Duration,
    /// Writes of one batch before it is given up on (at least 1).
    pub retry_attempts: u32,
    /// No retry of a batch after this long from its first failure.
    pub retry_within: Duration,
}

pub(crate) struct Writer {
    pub tx: mpsc::Sender<WriterMsg>,
    pub counters: Arc<WriterCounters>,
    pub wake: Arc<Notify>,
    returned: Arc<Returned<Arc<CallRecord>>>,
    batch_size: u64,
}

/// Where the writer runs, to wait for it at shutdown.
pub(crate) enum WriterTask {
    /// A task on the application's runtime (stores whose connections belong to it).
    Task(tokio::task::JoinHandle<()>),
    /// A thread of its own with a small runtime; the sender is dropped when it has finished.
    Thread(oneshot::Receiver<()>),
}

impl WriterTask {
    /// Waits until the writer has finished.
    pub async fn join(self) {
        match self {
            WriterTask::Task(t) => {
                let _ = t.await;
            }
            WriterTask::Thread(done) => {
                let _ = done.await;
            }
        }
    }
}

impl Writer {
    /// Starts the writer: on a thread of its own when the store does not need the application's runtime
    /// ([`Store::runtime_independent`]), so batching, rollups and statement building never take the
    /// application's threads; otherwise (or when the thread cannot be started) as a task on the current runtime.
    pub fn start(store: Arc<dyn Store>, config: WriterConfig) -> (Self, WriterTask) {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let counters = Arc::new(WriterCounters::default());
        let wake = Arc::new(Notify::new());
        let returned = Arc::new(Returned::new());
        let job = run(store.clone(), rx, counters.clone(), config, wake.clone(), returned.clone());
        let task = if store.runtime_independent() { on_own_thread(job) } else { Err(job) };
        let task = task.unwrap_or_else(|job| WriterTask::Task(tokio::spawn(job)));
        (Self { tx, counters, wake, returned, batch_size: config.batch_size.max(1) as u64 }, task)
    }

    /// Queues a record without waiting; a full queue drops it (counted). Every `batch_size`-th record wakes
    /// the writer, so a full batch is written at once instead of at the next interval (one wake-up per batch,
    /// not per call).
    pub fn push(&self, record: Arc<CallRecord>) -> bool {
        match self.tx.try_send(WriterMsg::Record(record)) {
            Ok(()) => {
                let queued = self.counters.queued.fetch_add(1, Ordering::Relaxed) + 1;
                if queued.is_multiple_of(self.batch_size) {
                    self.wake.notify_one();
                }
                self.returned.drop_some();
                true
            }
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }
}

/// Runs `job` on a new thread with a current-thread runtime; gives `job` back when either cannot be made.
fn on_own_thread<F>(job: F) -> Result<WriterTask, F>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_time().build() else {
        return Err(job);
    };
    let (done_tx, done_rx) = oneshot::channel();
    let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<F>(1);
    let spawned = std::thread::Builder::new().name("llm-tracking-writer".into()).spawn(move || {
        if let Ok(job) = job_rx.recv() {
            rt.block_on(job);
        }
        // The runtime (and its blocking pool) is gone before the writer reports itself finished.
        drop(rt);
        drop(done_tx);
    });
    match spawned {
        Ok(_) => match job_tx.send(job) {
            Ok(()) => Ok(WriterTask::Thread(done_rx)),
            Err(std::sync::mpsc::SendError(job)) => Err(job),
        },
        // The job is sent only once the thread runs, so a failed spawn leaves it here.
        Err(_) => Err(job),
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<WriterMsg>,
    counters: Arc<WriterCounters>,
    config: WriterConfig,
    wake: Arc<Notify>,
    returned: Arc<Returned<Arc<CallRecord>>>,
) {
    // The writer never waits on the queue itself: a call's `try_send` then never has a task to wake (a
    // cross-thread wake-up costs microseconds on the call's path). It wakes on its interval, or when a flush or
    // the shutdown notifies it, and drains the queue.
    let mut buf: Vec<Arc<CallRecord>> = Vec::with_capacity(config.batch_size);
    let mut last_queued = 0;
    // What was given up on since the last flush.
    let mut report = FlushReport::default();
    loop {
        let mut slept = false;
        if rx.len() < config.batch_size {
            slept = tokio::select! {
                () = tokio::time::sleep(config.interval) => true,
                () = wake.notified() => false,
            };
        }
        // A whole interval without a record: nobody is left to drop the returned records.
        let queued = counters.queued.load(Ordering::Relaxed);
        if slept && queued == last_queued {
            returned.clear();
        }
        last_queued = queued;
        let mut closing = false;
        loop {
            match rx.try_recv() {
                Ok(WriterMsg::Record(r)) => {
                    buf.push(r);
                    if buf.len() >= config.batch_size {
                        write(&*store, &mut buf, &counters, &config, Some(&returned), &mut report).await;
                    }
                }
                Ok(WriterMsg::Flush(ack)) => {
                    write(&*store, &mut buf, &counters, &config, Some(&returned), &mut report).await;
                    let _ = ack.send(std::mem::take(&mut report));
                }
                Ok(WriterMsg::Close) | Err(mpsc::error::TryRecvError::Disconnected) => {
                    closing = true;
                    break;
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
            }
        }
        if closing {
            close(&*store, &mut rx, &mut buf, &counters, &config).await;
            returned.clear();
            return;
        }
        write(&*store, &mut buf, &counters, &config, Some(&returned), &mut report).await;
    }
}

/// Writes everything held and queued, then stops accepting records.
async fn close(
    store: &dyn Store,
    rx: &mut mpsc::Receiver<WriterMsg>,
    buf: &mut Vec<Arc<CallRecord>>,
    counters: &WriterCounters,
    config: &WriterConfig,
) {
    rx.close();
    let mut acks = Vec::new();
    while let Ok(msg) = rx.try_recv() {
        match msg {
            WriterMsg::Record(r) => buf.push(r),
            WriterMsg::Flush(ack) => acks.push(ack),
            WriterMsg::Close => {}
        }
    }
    let mut report = FlushReport::default();
    for chunk in std::mem::take(buf).chunks(config.batch_size.max(1)) {
        let mut part = chunk.to_vec();
        write(store, &mut part, counters, config, None, &mut report).await;
    }
    for ack in acks {
        let _ = ack.send(FlushReport { lost: report.lost, last_error: report.last_error.clone() });
    }
}

/// Writes the buffer, retrying with backoff until it succeeds or the retries are spent (`retry_attempts`
/// writes, none after `retry_within`; when closing, none after `shutdown_retry` either): then the batch is
/// given up on, counted in `lost` and in `report`. Written records go to `returned` (to be dropped by the
/// calling threads); `None` means closing: they are dropped here.
async fn write(
    store: &dyn Store,
    buf: &mut Vec<Arc<CallRecord>>,
    counters: &WriterCounters,
    config: &WriterConfig,
    returned: Option<&Returned<Arc<CallRecord>>>,
    report: &mut FlushReport,
) {
    let closing = returned.is_none();
    if buf.is_empty() {
        return;
    }
    let mut backoff = Duration::from_millis(20);
    let started = tokio::time::Instant::now();
    let give_up = started + if closing { config.shutdown_retry.min(config.retry_within) } else { config.retry_within };
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        match store.append(buf).await {
            Ok(_) => {
                counters.persisted.fetch_add(buf.len() as u64, Ordering::Relaxed);
                counters.batches.fetch_add(1, Ordering::Relaxed);
                match returned {
                    Some(r) => r.take(buf),
                    None => buf.clear(),
                }
                return;
            }
            Err(e) => {
                counters.write_errors.fetch_add(1, Ordering::Relaxed);
                if attempts >= config.retry_attempts.max(1) || tokio::time::Instant::now() + backoff > give_up {
                    let n = buf.len() as u64;
                    counters.lost.fetch_add(n, Ordering::Relaxed);
                    report.lost += n;
                    report.last_error = Some(e.to_string());
                    tracing::error!(
                        store = store.name(),
                        error = %e,
                        records = n,
                        attempts,
                        "spend log write failed after every retry; records lost"
                    );
                    buf.clear();
                    return;
                }
                tracing::warn!(store = store.name(), error = %e, records = buf.len(), "spend log write failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(config.max_backoff);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Weak;

    use super::*;
    use crate::store::MemoryStore;
    use crate::time::Timestamp;

    fn record(i: i64) -> Arc<CallRecord> {
        Arc::new(CallRecord::new("openai", "gpt-4o", Timestamp::from_micros(1_700_000_000_000_000 + i)))
    }

    fn config() -> WriterConfig {
        WriterConfig {
            capacity: 100,
            batch_size: 10,
            // Long enough that the writer cannot find the test idle between two of its steps.
            interval: Duration::from_millis(400),
            max_backoff: Duration::from_millis(50),
            shutdown_retry: Duration::from_millis(50),
            retry_attempts: 10,
            retry_within: Duration::from_secs(30),
        }
    }

    fn alive(w: &[Weak<CallRecord>]) -> usize {
        w.iter().filter(|w| w.strong_count() > 0).count()
    }

    #[tokio::test]
    async fn persisted_records_go_back_to_the_callers_and_an_idle_writer_drops_them() {
        let store = Arc::new(MemoryStore::new());
        // Steps of the test must not look idle to the writer even on a loaded machine, and the tenth push must
        // not wake it (a batch of 10 would be written, and one record dropped by that push, racing the check).
        let cfg = WriterConfig { interval: Duration::from_secs(2), batch_size: 100, ..config() };
        let (writer, task) = Writer::start(store.clone(), cfg);
        let records: Vec<_> = (0..10).map(record).collect();
        let weak: Vec<_> = records.iter().map(Arc::downgrade).collect();
        for r in records {
            assert!(writer.push(r));
        }
        let (ack, done) = oneshot::channel();
        writer.tx.send(WriterMsg::Flush(ack)).await.unwrap();
        writer.wake.notify_one();
        done.await.unwrap();
        assert_eq!(store.count_records().await.unwrap(), 10);
        // The memory store keeps copies; the originals wait for the callers.
        assert_eq!(alive(&weak), 10);
        let extra = record(100);
        let extra_weak = Arc::downgrade(&extra);
        assert!(writer.push(extra));
        assert_eq!(alive(&weak), 9, "one call drops one returned record");
        // No call for a whole interval: the writer drops what is left (the extra record too, once persisted).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while (alive(&weak) > 0 || extra_weak.strong_count() > 0) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!((alive(&weak), extra_weak.strong_count()), (0, 0));
        assert_eq!(store.count_records().await.unwrap(), 11);
        drop(writer);
        task.join().await;
    }
}

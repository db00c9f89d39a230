//! Handing heap data back to the threads that allocated it, to be dropped there.
//!
//! A call's record and hook events are a dozen small heap blocks allocated on the calling thread. Freed in
//! bulk on the writer's or a hook worker's thread, they go back to the calling thread's malloc arena (glibc) as
//! a pile of a thousand records that the caller's next allocations must sort through, with that arena's lock
//! contended meanwhile: measured, that tripled the p99 a call pays for tracking. Handed back here and dropped
//! by the threads that emit, one per call (two to drain a backlog), their memory is reused at once, warm in cache.
//!
//! The calling side only ever `try_lock`s: a call never waits for the writer. The pile is bounded
//! ([`RETURNED_MAX`]; beyond it the owner drops what it hands back itself) and the owner empties it when no
//! call came for a whole interval, so an idle application keeps no memory of past calls.

use std::sync::{Mutex, PoisonError};

/// The most items held for the calling threads to drop.
pub(crate) const RETURNED_MAX: usize = 20_000;

/// Above this many held items, each call drops two.
pub(crate) const RETURNED_BACKLOG: usize = 2_000;

/// Items handed back to be dropped by the calling threads.
pub(crate) struct Returned<T> {
    items: Mutex<Vec<T>>,
}

impl<T> Returned<T> {
    pub(crate) fn new() -> Self {
        Self { items: Mutex::new(Vec::new()) }
    }

    /// Drops one item, or two while the pile is above [`RETURNED_BACKLOG`], unless the owner holds the pile
    /// right now. Called once per emitted item: one keeps pace with what is emitted (and frees about what the
    /// call allocated, so malloc's per-thread cache absorbs it), two drain a backlog.
    pub(crate) fn drop_some(&self) {
        let (a, b) = match self.items.try_lock() {
            Ok(mut v) => {
                let a = v.pop();
                (a, if v.len() > RETURNED_BACKLOG { v.pop() } else { None })
            }
            Err(_) => return,
        };
        drop((a, b));
    }

    /// Takes `buf`'s items (emptying it), or drops them here when the pile is full.
    pub(crate) fn take(&self, buf: &mut Vec<T>) {
        let mut v = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        if v.len() + buf.len() <= RETURNED_MAX {
            v.append(buf);
            return;
        }
        drop(v);
        buf.clear();
    }

    /// Drops every held item (on the owner's thread).
    pub(crate) fn clear(&self) {
        let held = std::mem::take(&mut *self.items.lock().unwrap_or_else(PoisonError::into_inner));
        drop(held);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Weak};

    use super::*;

    fn alive(w: &[Weak<u64>]) -> usize {
        w.iter().filter(|w| w.strong_count() > 0).count()
    }

    #[test]
    fn items_are_dropped_one_per_call_two_with_a_backlog_and_the_pile_is_bounded() {
        let r = Returned::new();
        let mut batch: Vec<_> = (0..5).map(Arc::new).collect();
        let weak: Vec<_> = batch.iter().map(Arc::downgrade).collect();
        r.take(&mut batch);
        assert!(batch.is_empty());
        assert_eq!(alive(&weak), 5);
        r.drop_some();
        assert_eq!(alive(&weak), 4);
        for _ in 0..4 {
            r.drop_some();
        }
        assert_eq!(alive(&weak), 0);
        r.drop_some();

        let mut backlog: Vec<_> = (0..RETURNED_BACKLOG as u64 + 3).map(Arc::new).collect();
        r.take(&mut backlog);
        r.drop_some();
        assert_eq!(r.len(), RETURNED_BACKLOG + 1, "two dropped above the backlog mark");
        r.drop_some();
        assert_eq!(r.len(), RETURNED_BACKLOG, "then one");
        r.clear();

        // A full pile: what is handed back is dropped where it is.
        let mut big: Vec<_> = (0..RETURNED_MAX as u64).map(Arc::new).collect();
        r.take(&mut big);
        let mut more = vec![Arc::new(7)];
        let last = Arc::downgrade(&more[0]);
        r.take(&mut more);
        assert!(more.is_empty());
        assert_eq!(last.strong_count(), 0);
        assert_eq!(r.len(), RETURNED_MAX);
        r.clear();
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn a_held_pile_is_skipped_not_waited_for() {
        let r = Returned::new();
        let mut batch: Vec<_> = (0..3).map(Arc::new).collect();
        let weak: Vec<_> = batch.iter().map(Arc::downgrade).collect();
        r.take(&mut batch);
        let guard = r.items.lock().unwrap();
        r.drop_some();
        drop(guard);
        assert_eq!(alive(&weak), 3);
    }
}

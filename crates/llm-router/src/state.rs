//! The router's shared state behind one small trait: cooldowns, failure counts, RPM/TPM counters, requests in
//! flight and the response cache. [`MemoryState`] keeps it in this process; `RedisState` (feature `redis`)
//! keeps it in Redis so a fleet of processes shares it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

/// Which limit a deployment is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Requests per minute.
    Rpm(u64),
    /// Tokens per minute.
    Tpm(u64),
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Rpm(n) => write!(f, "rpm {n}"),
            Limit::Tpm(n) => write!(f, "tpm {n}"),
        }
    }
}

/// RPM and TPM used by a deployment in the current minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteUsage {
    /// Requests counted this minute.
    pub requests: u64,
    /// Tokens counted this minute.
    pub tokens: u64,
}

/// Where the router keeps what processes must agree on. Every method is infallible: an implementation over a
/// remote store falls back on local state when the store is down (and says so).
#[async_trait]
pub trait RouterState: Send + Sync {
    /// Leaves `deployment` out for `wait`.
    async fn cool_down(&self, deployment: &str, wait: Duration);

    /// Which of `deployments` are cooling down now (one flag each).
    async fn cooling(&self, deployments: &[&str]) -> Vec<bool>;

    /// Counts a failure of `deployment` and returns its failures within the current minute, this one included.
    async fn count_failure(&self, deployment: &str) -> u64;

    /// Counts one request of `tokens` tokens against `deployment`'s minute, unless that would pass `rpm` or
    /// `tpm`: then nothing is counted and the limit is returned. Atomic: two processes never both take the
    /// last request of a minute.
    async fn try_acquire(&self, deployment: &str, rpm: Option<u64>, tpm: Option<u64>, tokens: u64) -> Option<Limit>;

    /// Corrects the tokens counted for `deployment` this minute by `delta` (the real usage minus the estimate
    /// that [`RouterState::try_acquire`] counted).
    async fn add_tokens(&self, deployment: &str, delta: i64);

    /// What each of `deployments` used this minute.
    async fn usage(&self, deployments: &[&str]) -> Vec<MinuteUsage>;

    /// Changes the requests in flight of `deployment` by `delta`.
    async fn in_flight_add(&self, deployment: &str, delta: i64);

    /// The requests in flight of each of `deployments`.
    async fn in_flight(&self, deployments: &[&str]) -> Vec<u64>;

    /// A cached response body.
    async fn cache_get(&self, key: &str) -> Option<String>;

    /// Stores a response body for `ttl`.
    async fn cache_put(&self, key: &str, value: &str, ttl: Duration);

    /// Operations that fell back on local state because the shared store failed (0 for local state).
    fn fallbacks(&self) -> u64 {
        0
    }
}

/// The current minute (Unix minutes), the window of RPM/TPM and failure counts.
pub(crate) fn minute() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() / 60)
}

/// How long until the next minute starts.
pub(crate) fn until_next_minute() -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let into = Duration::from_millis((now.as_millis() % 60_000) as u64);
    Duration::from_secs(60).saturating_sub(into)
}

#[derive(Default)]
struct Counters {
    minute: u64,
    requests: u64,
    tokens: u64,
    failures: u64,
}

impl Counters {
    fn roll(&mut self, now: u64) -> &mut Self {
        if self.minute != now {
            *self = Counters { minute: now, ..Counters::default() };
        }
        self
    }
}

#[derive(Default)]
struct Local {
    cooldowns: HashMap<String, Instant>,
    counters: HashMap<String, Counters>,
    in_flight: HashMap<String, u64>,
    cache: HashMap<String, (String, Instant)>,
    order: VecDeque<String>,
}

/// The router's state in this process: per-minute counters, cooldown deadlines, in-flight counts, and a
/// bounded response cache (the oldest entry goes first when it is full).
pub struct MemoryState {
    local: Mutex<Local>,
    max_cache_entries: usize,
}

impl std::fmt::Debug for MemoryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryState").field("max_cache_entries", &self.max_cache_entries).finish_non_exhaustive()
    }
}

impl Default for MemoryState {
    fn default() -> Self {
        Self::new(1000)
    }
}

impl MemoryState {
    /// Local state whose cache keeps at most `max_cache_entries` responses.
    pub fn new(max_cache_entries: usize) -> Self {
        Self { local: Mutex::new(Local::default()), max_cache_entries: max_cache_entries.max(1) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Local) -> T) -> T {
        let mut guard = self.local.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    pub(crate) fn cool_down_now(&self, deployment: &str, wait: Duration) {
        let until = Instant::now() + wait;
        self.with(|l| {
            let e = l.cooldowns.entry(deployment.to_owned()).or_insert(until);
            *e = (*e).max(until);
        });
    }

    pub(crate) fn cooling_now(&self, deployments: &[&str]) -> Vec<bool> {
        let now = Instant::now();
        self.with(|l| {
            l.cooldowns.retain(|_, until| *until > now);
            deployments.iter().map(|d| l.cooldowns.contains_key(*d)).collect()
        })
    }

    pub(crate) fn count_failure_now(&self, deployment: &str) -> u64 {
        let m = minute();
        self.with(|l| {
            let c = l.counters.entry(deployment.to_owned()).or_default().roll(m);
            c.failures += 1;
            c.failures
        })
    }

    pub(crate) fn try_acquire_now(
        &self,
        deployment: &str,
        rpm: Option<u64>,
        tpm: Option<u64>,
        tokens: u64,
    ) -> Option<Limit> {
        let m = minute();
        self.with(|l| {
            let c = l.counters.entry(deployment.to_owned()).or_default().roll(m);
            if let Some(r) = rpm
                && c.requests + 1 > r
            {
                return Some(Limit::Rpm(r));
            }
            if let Some(t) = tpm
                && c.tokens + tokens > t
            {
                return Some(Limit::Tpm(t));
            }
            c.requests += 1;
            c.tokens += tokens;
            None
        })
    }

    pub(crate) fn add_tokens_now(&self, deployment: &str, delta: i64) {
        let m = minute();
        self.with(|l| {
            let c = l.counters.entry(deployment.to_owned()).or_default().roll(m);
            c.tokens = c.tokens.saturating_add_signed(delta);
        });
    }

    pub(crate) fn usage_now(&self, deployments: &[&str]) -> Vec<MinuteUsage> {
        let m = minute();
        self.with(|l| {
            deployments
                .iter()
                .map(|d| match l.counters.get(*d) {
                    Some(c) if c.minute == m => MinuteUsage { requests: c.requests, tokens: c.tokens },
                    _ => MinuteUsage::default(),
                })
                .collect()
        })
    }

    pub(crate) fn in_flight_add_now(&self, deployment: &str, delta: i64) {
        self.with(|l| {
            let n = l.in_flight.entry(deployment.to_owned()).or_default();
            *n = n.saturating_add_signed(delta);
        });
    }

    pub(crate) fn in_flight_now(&self, deployments: &[&str]) -> Vec<u64> {
        self.with(|l| deployments.iter().map(|d| l.in_flight.get(*d).copied().unwrap_or(0)).collect())
    }

    pub(crate) fn cache_get_now(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        self.with(|l| match l.cache.get(key) {
            Some((v, until)) if *until > now => Some(v.clone()),
            Some(_) => {
                l.cache.remove(key);
                None
            }
            None => None,
        })
    }

    pub(crate) fn cache_put_now(&self, key: &str, value: &str, ttl: Duration) {
        let until = Instant::now() + ttl;
        let max = self.max_cache_entries;
        self.with(|l| {
            if l.cache.insert(key.to_owned(), (value.to_owned(), until)).is_none() {
                l.order.push_back(key.to_owned());
            }
            while l.cache.len() > max {
                match l.order.pop_front() {
                    Some(old) => {
                        l.cache.remove(&old);
                    }
                    None => break,
                }
            }
            // keys overwritten or expired leave stale names in `order`; keep it from growing past twice the cap
            if l.order.len() > 2 * max {
                let cache = &l.cache;
                l.order.retain(|k| cache.contains_key(k));
            }
        });
    }
}

#[async_trait]
impl RouterState for MemoryState {
    async fn cool_down(&self, deployment: &str, wait: Duration) {
        self.cool_down_now(deployment, wait);
    }

    async fn cooling(&self, deployments: &[&str]) -> Vec<bool> {
        self.cooling_now(deployments)
    }

    async fn count_failure(&self, deployment: &str) -> u64 {
        self.count_failure_now(deployment)
    }

    async fn try_acquire(&self, deployment: &str, rpm: Option<u64>, tpm: Option<u64>, tokens: u64) -> Option<Limit> {
        self.try_acquire_now(deployment, rpm, tpm, tokens)
    }

    async fn add_tokens(&self, deployment: &str, delta: i64) {
        self.add_tokens_now(deployment, delta);
    }

    async fn usage(&self, deployments: &[&str]) -> Vec<MinuteUsage> {
        self.usage_now(deployments)
    }

    async fn in_flight_add(&self, deployment: &str, delta: i64) {
        self.in_flight_add_now(deployment, delta);
    }

    async fn in_flight(&self, deployments: &[&str]) -> Vec<u64> {
        self.in_flight_now(deployments)
    }

    async fn cache_get(&self, key: &str) -> Option<String> {
        self.cache_get_now(key)
    }

    async fn cache_put(&self, key: &str, value: &str, ttl: Duration) {
        self.cache_put_now(key, value, ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_and_tpm_are_enforced_within_the_minute() {
        let s = MemoryState::new(10);
        assert_eq!(s.try_acquire_now("d", Some(2), Some(100), 40), None);
        assert_eq!(s.try_acquire_now("d", Some(2), Some(100), 70), Some(Limit::Tpm(100)));
        assert_eq!(s.try_acquire_now("d", Some(2), Some(100), 10), None);
        assert_eq!(s.try_acquire_now("d", Some(2), Some(100), 1), Some(Limit::Rpm(2)));
        assert_eq!(s.usage_now(&["d", "e"]), vec![MinuteUsage { requests: 2, tokens: 50 }, MinuteUsage::default()]);
        s.add_tokens_now("d", -30);
        assert_eq!(s.usage_now(&["d"])[0].tokens, 20);
    }

    #[test]
    fn the_cache_is_bounded_oldest_first() {
        let s = MemoryState::new(2);
        let ttl = Duration::from_secs(60);
        s.cache_put_now("a", "1", ttl);
        s.cache_put_now("b", "2", ttl);
        s.cache_put_now("c", "3", ttl);
        assert_eq!(s.cache_get_now("a"), None);
        assert_eq!(s.cache_get_now("b").as_deref(), Some("2"));
        assert_eq!(s.cache_get_now("c").as_deref(), Some("3"));
        s.cache_put_now("z", "0", Duration::ZERO);
        assert_eq!(s.cache_get_now("z"), None);
    }

    #[test]
    fn cooldowns_expire() {
        let s = MemoryState::new(2);
        s.cool_down_now("a", Duration::from_secs(60));
        s.cool_down_now("b", Duration::ZERO);
        assert_eq!(s.cooling_now(&["a", "b", "c"]), vec![true, false, false]);
        assert_eq!(s.count_failure_now("a"), 1);
        assert_eq!(s.count_failure_now("a"), 2);
    }
}

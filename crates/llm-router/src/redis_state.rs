//! [`RedisState`]: the router's state in Redis, shared by every process that names the same server and
//! namespace. Counters change through Lua scripts (atomic on the server); the connection is the `redis` crate's
//! connection manager, which reconnects by itself. When Redis fails or is slow, every operation falls back on
//! a local [`MemoryState`], counts it ([`RouterState::fallbacks`]) and warns once per outage; operations go
//! back to Redis as soon as it answers again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use llm_core::{Error, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use crate::state::{Limit, MemoryState, MinuteUsage, RouterState, minute};

/// How long one Redis operation may take before the router uses local state instead: long enough that a busy
/// machine or a process's first connection is not taken for an outage (a refused connection fails at once).
const OP_TIMEOUT: Duration = Duration::from_secs(1);

/// After a failure, how long the router keeps to local state before it asks Redis again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Counts a request of ARGV[3] tokens in this minute's keys unless that passes the limits (ARGV[1] requests,
/// ARGV[2] tokens; 0 = none): returns 0 when counted, 1 at the RPM limit, 2 at the TPM limit.
const ACQUIRE: &str = r"
local r = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
local rl = tonumber(ARGV[1])
local tl = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
if rl > 0 and r + 1 > rl then return 1 end
if tl > 0 and t + n > tl then return 2 end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('INCRBY', KEYS[2], n)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 0
";

/// Adds ARGV[1] to KEYS[1] and sets its expiry (ARGV[2] ms); returns the new value.
const ADD: &str = r"
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return v
";

/// Counter keys outlive their minute by this much (clock skew between processes).
const WINDOW_TTL_MS: u64 = 120_000;

/// The router's state in Redis. See the module documentation.
pub struct RedisState {
    conn: ConnectionManager,
    namespace: String,
    local: MemoryState,
    fallbacks: AtomicU64,
    down: AtomicBool,
    down_since: Mutex<Option<Instant>>,
    acquire: Script,
    add: Script,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("namespace", &self.namespace)
            .field("fallbacks", &self.fallbacks.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisState {
    /// State in the Redis at `url` (`redis://[:password@]host:port/[db]`), every key under `namespace:`. Does
    /// not wait for the server: a Redis that is down now is used once it is up.
    pub fn connect(url: &str, namespace: &str) -> Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::config(format!("invalid redis url {}: {e}", llm_core::redact_secrets(url))))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| Error::config(format!("redis: {e}")))?;
        Ok(Self {
            conn,
            namespace: namespace.to_owned(),
            local: MemoryState::default(),
            fallbacks: AtomicU64::new(0),
            down: AtomicBool::new(false),
            down_since: Mutex::new(None),
            acquire: Script::new(ACQUIRE),
            add: Script::new(ADD),
        })
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.namespace)
    }

    fn minute_key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{}:{id}", self.namespace, minute())
    }

    /// Whether to try Redis now: always while it answers, once a second while it does not.
    fn try_redis(&self) -> bool {
        if !self.down.load(Ordering::Relaxed) {
            return true;
        }
        let mut since = self.down_since.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match *since {
            Some(t) if t.elapsed() < RETRY_AFTER => false,
            _ => {
                *since = Some(Instant::now());
                true
            }
        }
    }

    /// Runs `op` on Redis; on an error or a timeout, counts a fallback and returns `None`.
    async fn run<T, F>(&self, op: F) -> Option<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if !self.try_redis() {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let result = match tokio::time::timeout(OP_TIMEOUT, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", OP_TIMEOUT.as_millis())),
        };
        match result {
            Ok(v) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::warn!(namespace = %self.namespace, "llm-router: redis answers again; shared state resumed");
                }
                Some(v)
            }
            Err(e) => {
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                if !self.down.swap(true, Ordering::Relaxed) {
                    *self.down_since.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
                    tracing::warn!(
                        namespace = %self.namespace,
                        error = %llm_core::redact_secrets(&e),
                        "llm-router: redis is unavailable; routing on this process's own state until it is back"
                    );
                }
                None
            }
        }
    }

    /// The values of `keys` (MGET), or `None` when Redis failed.
    async fn mget<T: redis::FromRedisValue + Send>(&self, keys: Vec<String>) -> Option<Vec<Option<T>>> {
        let n = keys.len();
        let mut c = self.conn.clone();
        let v: Vec<Option<T>> =
            self.run(async move { redis::cmd("MGET").arg(&keys).query_async(&mut c).await }).await?;
        (v.len() == n).then_some(v)
    }

    /// Whether the last Redis operation failed (the router is on local state).
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl RouterState for RedisState {
    async fn cool_down(&self, deployment: &str, wait: Duration) {
        self.local.cool_down_now(deployment, wait);
        let key = self.key("cooldown", deployment);
        let ms = wait.as_millis().max(1) as u64;
        let mut c = self.conn.clone();
        let _: Option<()> = self.run(async move { c.pset_ex::<_, _, ()>(key, 1u8, ms).await }).await;
    }

    async fn cooling(&self, deployments: &[&str]) -> Vec<bool> {
        let local = self.local.cooling_now(deployments);
        if deployments.is_empty() {
            return local;
        }
        let keys: Vec<String> = deployments.iter().map(|d| self.key("cooldown", d)).collect();
        match self.mget::<u8>(keys).await {
            // cooled down by anyone in the fleet, or by this process while Redis was away
            Some(r) => r.iter().zip(local).map(|(r, l)| r.is_some() || l).collect(),
            None => local,
        }
    }

    async fn count_failure(&self, deployment: &str) -> u64 {
        let local = self.local.count_failure_now(deployment);
        let key = self.minute_key("fails", deployment);
        let mut c = self.conn.clone();
        let add = &self.add;
        let remote: Option<i64> =
            self.run(async move { add.key(key).arg(1).arg(WINDOW_TTL_MS).invoke_async(&mut c).await }).await;
        remote.map_or(local, |n| n.max(0) as u64)
    }

    async fn try_acquire(&self, deployment: &str, rpm: Option<u64>, tpm: Option<u64>, tokens: u64) -> Option<Limit> {
        let rk = self.minute_key("rpm", deployment);
        let tk = self.minute_key("tpm", deployment);
        let mut c = self.conn.clone();
        let script = &self.acquire;
        let remote: Option<i64> = self
            .run(async move {
                script
                    .key(rk)
                    .key(tk)
                    .arg(rpm.unwrap_or(0))
                    .arg(tpm.unwrap_or(0))
                    .arg(tokens)
                    .arg(WINDOW_TTL_MS)
                    .invoke_async(&mut c)
                    .await
            })
            .await;
        match remote {
            Some(0) => {
                // keep the local counters warm for an outage
                let _ = self.local.try_acquire_now(deployment, None, None, tokens);
                None
            }
            Some(1) => rpm.map(Limit::Rpm),
            Some(_) => tpm.map(Limit::Tpm),
            None => self.local.try_acquire_now(deployment, rpm, tpm, tokens),
        }
    }

    async fn add_tokens(&self, deployment: &str, delta: i64) {
        self.local.add_tokens_now(deployment, delta);
        let key = self.minute_key("tpm", deployment);
        let mut c = self.conn.clone();
        let add = &self.add;
        let _: Option<i64> =
            self.run(async move { add.key(key).arg(delta).arg(WINDOW_TTL_MS).invoke_async(&mut c).await }).await;
    }

    async fn usage(&self, deployments: &[&str]) -> Vec<MinuteUsage> {
        let local = self.local.usage_now(deployments);
        if deployments.is_empty() {
            return local;
        }
        let mut keys: Vec<String> = deployments.iter().map(|d| self.minute_key("rpm", d)).collect();
        keys.extend(deployments.iter().map(|d| self.minute_key("tpm", d)));
        match self.mget::<i64>(keys).await {
            Some(v) => {
                let n = deployments.len();
                (0..n)
                    .map(|i| MinuteUsage {
                        requests: v[i].unwrap_or(0).max(0) as u64,
                        tokens: v[n + i].unwrap_or(0).max(0) as u64,
                    })
                    .collect()
            }
            None => local,
        }
    }

    async fn in_flight_add(&self, deployment: &str, delta: i64) {
        self.local.in_flight_add_now(deployment, delta);
        let key = self.key("inflight", deployment);
        let mut c = self.conn.clone();
        let add = &self.add;
        // an hour's expiry: a process that dies mid-call does not leave a deployment busy for ever
        let _: Option<i64> =
            self.run(async move { add.key(key).arg(delta).arg(3_600_000u64).invoke_async(&mut c).await }).await;
    }

    async fn in_flight(&self, deployments: &[&str]) -> Vec<u64> {
        let local = self.local.in_flight_now(deployments);
        if deployments.is_empty() {
            return local;
        }
        let keys: Vec<String> = deployments.iter().map(|d| self.key("inflight", d)).collect();
        match self.mget::<i64>(keys).await {
            Some(v) => v.into_iter().map(|n| n.unwrap_or(0).max(0) as u64).collect(),
            None => local,
        }
    }

    async fn cache_get(&self, key: &str) -> Option<String> {
        let k = self.key("cache", key);
        let mut c = self.conn.clone();
        match self.run(async move { c.get::<_, Option<String>>(k).await }).await {
            Some(v) => v,
            None => self.local.cache_get_now(key),
        }
    }

    async fn cache_put(&self, key: &str, value: &str, ttl: Duration) {
        let k = self.key("cache", key);
        let ms = ttl.as_millis().max(1) as u64;
        let mut c = self.conn.clone();
        let v = value.to_owned();
        if self.run(async move { c.pset_ex::<_, _, ()>(k, v, ms).await }).await.is_none() {
            self.local.cache_put_now(key, value, ttl);
        }
    }

    fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }
}

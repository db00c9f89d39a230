//! [`Router`]: a [`Provider`] over the deployments of many model groups.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::StreamExt;
use llm_core::{
    ChatRequest, ChatResponse, ChatStream, Cost, CostBreakdown, CostStatus, Error, ErrorKind, Provider, ProviderId,
    Result, Retry, RouteAttempt, Routing, StreamAssembler, StreamEvent, Usage, Usd,
};
use llm_cost::{CostOptions, SharedCatalog};
use serde_json::Value;

use crate::cache::{CacheControl, cache_key};
use crate::config::{Deployment, RouterConfig, RouterSettings, Strategy};
use crate::state::{Limit, MemoryState, RouterState, until_next_minute};

/// Builds the provider that serves one deployment (the facade builds a provider client for its
/// `litellm_params`, wrapped in the tracker when there is one).
pub type DeploymentFactory = dyn Fn(&Deployment) -> Result<Arc<dyn Provider>> + Send + Sync;

/// Told of what the router serves without calling a provider, so a tracker can record it.
pub trait RouterObserver: Send + Sync {
    /// A call answered from the response cache (`response.routing.cache_hit` is true and its cost is a zero
    /// `cache_hit`).
    fn cache_hit(&self, request: &ChatRequest, response: &ChatResponse, stream: bool);
}

/// The most a `retry-after` or a cooldown is honoured for (a longer hint is cut to this).
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Builds a [`Router`].
#[must_use]
pub struct RouterBuilder {
    config: RouterConfig,
    factory: Option<Arc<DeploymentFactory>>,
    catalog: SharedCatalog,
    state: Option<Arc<dyn RouterState>>,
    cache_state: Option<Arc<dyn RouterState>>,
    observer: Option<Arc<dyn RouterObserver>>,
}

impl std::fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterBuilder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl RouterBuilder {
    /// The function that builds each deployment's provider.
    pub fn factory(mut self, f: impl Fn(&Deployment) -> Result<Arc<dyn Provider>> + Send + Sync + 'static) -> Self {
        self.factory = Some(Arc::new(f));
        self
    }

    /// The catalog that gives context windows and prices (cost-based routing, responses without a cost).
    pub fn catalog(mut self, catalog: SharedCatalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// Keeps cooldowns, counters and in-flight counts in this state (default: in memory, or Redis when the
    /// config names one and the `redis` feature is on).
    pub fn state(mut self, state: Arc<dyn RouterState>) -> Self {
        self.state = Some(state);
        self
    }

    /// Keeps the response cache in this state (default: the router's state, or a bounded in-memory one).
    pub fn cache_state(mut self, state: Arc<dyn RouterState>) -> Self {
        self.cache_state = Some(state);
        self
    }

    /// Tells `observer` of calls served without a provider (cache hits).
    pub fn observer(mut self, observer: Arc<dyn RouterObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The router. Where no state was given and the config names a Redis server (`redis_host`/`redis_url`,
    /// or a `type: redis` cache), the state (and the cache) live there; connections are made on first use, so
    /// a Redis that is down now does not stop the router. Fails when a deployment's provider cannot be built,
    /// or when the config names Redis and the `redis` feature is off.
    pub fn build(mut self) -> Result<Router> {
        if self.state.is_none()
            && let Some(r) = &self.config.settings.redis
        {
            self.state = Some(connect(&r.url, &r.namespace)?);
        }
        if self.cache_state.is_none()
            && let Some(c) = &self.config.cache
            && c.redis
            && let Some(url) = &c.redis_url
            && self.config.settings.redis.as_ref().is_none_or(|r| &r.url != url)
        {
            let ns = c.namespace.clone().unwrap_or_else(|| "llm-router".to_owned());
            self.cache_state = Some(connect(url, &ns)?);
        }
        let factory = self.factory.ok_or_else(|| Error::config("the router has no deployment factory"))?;
        let catalog = self.catalog.get();
        let mut deps = Vec::with_capacity(self.config.deployments.len());
        let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, d) in self.config.deployments.iter().enumerate() {
            let provider = factory(d).map_err(|e| {
                let msg = format!("deployment {} ({}): {}", d.id, d.model, e.message());
                e.with_message(msg)
            })?;
            let priced_as = d.base_model.clone().unwrap_or_else(|| d.model.clone());
            let max_input = d.max_input_tokens.or_else(|| {
                catalog.model_info(&priced_as, None).ok().and_then(|m| m.max_input_tokens().or(m.max_tokens()))
            });
            groups.entry(d.group.clone()).or_default().push(i);
            deps.push(Dep { cfg: d.clone(), provider, priced_as, max_input, latencies: Mutex::new(VecDeque::new()) });
        }
        drop(catalog);
        let max_entries = self.config.cache.as_ref().map_or(1000, |c| c.max_entries);
        let state = self.state.unwrap_or_else(|| Arc::new(MemoryState::new(max_entries)));
        let cache_state = match (&self.config.cache, self.cache_state) {
            (_, Some(s)) => s,
            (Some(c), None) if c.redis => state.clone(),
            _ => Arc::new(MemoryState::new(max_entries)),
        };
        let mut seed = [0u8; 8];
        // a fixed seed when the OS has no randomness: shuffling still spreads load
        let _ = getrandom::fill(&mut seed);
        Ok(Router {
            inner: Arc::new(Inner {
                id: ProviderId::new("router"),
                deps,
                groups,
                settings: self.config.settings,
                cache: self.config.cache,
                state,
                cache_state,
                catalog: self.catalog,
                observer: self.observer,
                rng: AtomicU64::new(u64::from_le_bytes(seed) | 1),
            }),
        })
    }
}

#[cfg(feature = "redis")]
fn connect(url: &str, namespace: &str) -> Result<Arc<dyn RouterState>> {
    Ok(Arc::new(crate::redis_state::RedisState::connect(url, namespace)?))
}

#[cfg(not(feature = "redis"))]
fn connect(_url: &str, _namespace: &str) -> Result<Arc<dyn RouterState>> {
    Err(Error::config("the router config names a Redis server, but llm-router was built without its `redis` feature"))
}

struct Dep {
    cfg: Deployment,
    provider: Arc<dyn Provider>,
    /// The catalog name that prices it (`base_model`, else `model`).
    priced_as: String,
    max_input: Option<u64>,
    latencies: Mutex<VecDeque<f64>>,
}

impl Dep {
    fn mean_latency(&self) -> f64 {
        let l = self.latencies.lock().unwrap_or_else(PoisonError::into_inner);
        if l.is_empty() { 0.0 } else { l.iter().sum::<f64>() / l.len() as f64 }
    }

    fn record_latency(&self, secs: f64, window: usize) {
        let mut l = self.latencies.lock().unwrap_or_else(PoisonError::into_inner);
        l.push_back(secs);
        while l.len() > window {
            l.pop_front();
        }
    }
}

struct Inner {
    id: ProviderId,
    deps: Vec<Dep>,
    groups: HashMap<String, Vec<usize>>,
    settings: RouterSettings,
    cache: Option<crate::config::CacheSettings>,
    state: Arc<dyn RouterState>,
    cache_state: Arc<dyn RouterState>,
    catalog: SharedCatalog,
    observer: Option<Arc<dyn RouterObserver>>,
    rng: AtomicU64,
}

/// A [`Provider`] over model groups: a request's `model` names a group (or an alias of one), and the router
/// picks one of the group's deployments by the configured strategy, within its RPM/TPM limits and context
/// window, retries and falls back across deployments and groups, cools failing deployments down, and answers
/// from the response cache when it is on.
///
/// Every response says how it was served in `response.routing`: the deployment, every attempt with its error
/// and cost, the fallbacks taken, and whether it was a cache hit.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llm_core::Result<()> {
/// use std::sync::Arc;
/// use llm_core::{ChatRequest, Message, Provider, mock::{MockProvider, MockReply}};
/// use llm_router::{Router, RouterConfig};
///
/// let config = RouterConfig::from_yaml(r#"
/// model_list:
///   - model_name: chat
///     litellm_params: {model: gpt-4o-mini, rpm: 100}
/// "#)?;
/// let router = Router::builder(config)
///     .factory(|_| Ok(Arc::new(MockProvider::new().with_reply(MockReply::text("hi"))) as Arc<dyn Provider>))
///     .build()?;
/// let r = router.chat(&ChatRequest::new("chat", vec![Message::user("hello")])).await?;
/// let routing = r.routing.expect("routed");
/// assert_eq!(routing.deployment, "chat/0");
/// assert_eq!(routing.attempts.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("groups", &self.inner.groups.keys().collect::<Vec<_>>())
            .field("strategy", &self.inner.settings.strategy)
            .finish_non_exhaustive()
    }
}

/// Why no deployment of a group could take a call.
enum Unavailable {
    /// Every deployment is cooling down (or at its parallel-request limit).
    Cooling,
    /// None has a context window that fits the request.
    ContextWindow { needed: u64, largest: Option<u64> },
    /// All are at an RPM/TPM limit.
    Limited(String, Limit),
}

enum Outcome {
    Chat(Box<ChatResponse>),
    Stream(ChatStream),
}

impl Router {
    /// A builder over this config.
    pub fn builder(config: RouterConfig) -> RouterBuilder {
        RouterBuilder {
            config,
            factory: None,
            catalog: SharedCatalog::embedded(),
            state: None,
            cache_state: None,
            observer: None,
        }
    }

    /// Whether `model` names a group of this router (or an alias of one).
    pub fn has_group(&self, model: &str) -> bool {
        self.group_of(model).is_some()
    }

    /// The shared-state operations that fell back on local state because Redis failed.
    pub fn state_fallbacks(&self) -> u64 {
        self.inner.state.fallbacks() + self.inner.cache_state.fallbacks()
    }

    fn group_of<'a>(&'a self, model: &'a str) -> Option<&'a str> {
        let name = self.inner.settings.aliases.get(model).map_or(model, String::as_str);
        self.inner.groups.contains_key(name).then_some(name)
    }

    fn random(&self) -> u64 {
        // splitmix64 over a shared counter
        let mut z = self.inner.rng.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&self) -> f64 {
        (self.random() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The candidates of one order tier, best first.
    async fn rank(&self, tier: Vec<usize>, request: &ChatRequest, prompt_tokens: u64) -> Vec<usize> {
        let deps = &self.inner.deps;
        let mut scored: Vec<(f64, usize)> = match self.inner.settings.strategy {
            Strategy::SimpleShuffle => {
                // weighted sampling without replacement: key = u^(1/w), highest first (Efraimidis-Spirakis)
                tier.iter()
                    .map(|&i| {
                        let c = &deps[i].cfg;
                        let w = c.weight.or(c.rpm.map(|r| r as f64)).or(c.tpm.map(|t| t as f64)).unwrap_or(1.0);
                        let key = if w > 0.0 { self.unit().powf(1.0 / w) } else { -1.0 };
                        (-key, i)
                    })
                    .collect()
            }
            Strategy::LeastBusy => {
                let ids: Vec<&str> = tier.iter().map(|&i| deps[i].cfg.id.as_str()).collect();
                let busy = self.inner.state.in_flight(&ids).await;
                tier.iter().zip(busy).map(|(&i, b)| (b as f64 + self.unit() * 0.5, i)).collect()
            }
            Strategy::LatencyBased => {
                let lat: Vec<(f64, usize)> = tier.iter().map(|&i| (deps[i].mean_latency(), i)).collect();
                let best = lat.iter().map(|(l, _)| *l).fold(f64::INFINITY, f64::min);
                let buffer = self.inner.settings.latency_buffer;
                lat.into_iter()
                    .map(|(l, i)| {
                        // within the buffer of the fastest: equals, picked at random
                        if l <= best * (1.0 + buffer) { (best - 1.0 + self.unit() * 0.5, i) } else { (l, i) }
                    })
                    .collect()
            }
            Strategy::CostBased => {
                // exact decimals, cheapest first, an unpriced deployment last; ties at random
                let mut priced: Vec<(Option<Usd>, u64, usize)> = tier
                    .iter()
                    .map(|&i| (self.price_for(&deps[i], request, prompt_tokens), self.random(), i))
                    .collect();
                priced.sort_by(|a, b| match (a.0, b.0) {
                    (Some(x), Some(y)) => x.cmp(&y).then(a.1.cmp(&b.1)),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => a.1.cmp(&b.1),
                });
                return priced.into_iter().map(|(_, _, i)| i).collect();
            }
            Strategy::UsageBased | Strategy::UsageBasedV2 => {
                let ids: Vec<&str> = tier.iter().map(|&i| deps[i].cfg.id.as_str()).collect();
                let usage = self.inner.state.usage(&ids).await;
                tier.iter().zip(usage).map(|(&i, u)| (u.tokens as f64 + self.unit() * 0.5, i)).collect()
            }
        };
        scored.sort_by(|a, b| a.0.total_cmp(&b.0));
        scored.into_iter().map(|(_, i)| i).collect()
    }

    /// What a deployment would charge for this request: the estimated prompt and `max_tokens` (else 256)
    /// completion tokens at its custom prices, else its catalog prices. Only an ordering key: it never
    /// reaches a bill.
    fn price_for(&self, dep: &Dep, request: &ChatRequest, prompt_tokens: u64) -> Option<Usd> {
        let completion = u64::from(request.max_tokens.unwrap_or(256));
        if let (Some(i), Some(o)) = (dep.cfg.input_cost_per_token, dep.cfg.output_cost_per_token) {
            let (p, c) = (rust_decimal::Decimal::from(prompt_tokens), rust_decimal::Decimal::from(completion));
            return Some(Usd::from(i.amount() * p + o.amount() * c));
        }
        let usage = Usage::new(prompt_tokens, completion);
        let cost =
            self.inner.catalog.get().cost_per_token(&dep.priced_as, None, &usage, &CostOptions::default()).ok()?;
        cost.total()
    }

    /// Picks a deployment of `group` and counts the request against its limits.
    async fn pick(
        &self,
        group: &str,
        tried: &[usize],
        request: &ChatRequest,
        prompt_tokens: u64,
    ) -> Result<usize, Unavailable> {
        let all = self.inner.groups.get(group).cloned().unwrap_or_default();
        let deps = &self.inner.deps;
        let ids: Vec<&str> = all.iter().map(|&i| deps[i].cfg.id.as_str()).collect();
        let cooling = self.inner.state.cooling(&ids).await;
        let mut live: Vec<usize> = all.iter().zip(cooling).filter(|(_, c)| !c).map(|(&i, _)| i).collect();
        if self.inner.settings.pre_call_checks {
            let fits: Vec<usize> =
                live.iter().copied().filter(|&i| deps[i].max_input.is_none_or(|m| prompt_tokens <= m)).collect();
            if fits.is_empty() && !live.is_empty() {
                let largest = live.iter().filter_map(|&i| deps[i].max_input).max();
                return Err(Unavailable::ContextWindow { needed: prompt_tokens, largest });
            }
            live = fits;
        }
        if live.iter().any(|&i| deps[i].cfg.max_parallel_requests.is_some()) {
            let ids: Vec<&str> = live.iter().map(|&i| deps[i].cfg.id.as_str()).collect();
            let busy = self.inner.state.in_flight(&ids).await;
            live = live
                .into_iter()
                .zip(busy)
                .filter(|(i, b)| deps[*i].cfg.max_parallel_requests.is_none_or(|m| *b < u64::from(m)))
                .map(|(i, _)| i)
                .collect();
        }
        // another deployment before one that already failed this call
        if live.iter().any(|i| !tried.contains(i)) {
            live.retain(|i| !tried.contains(i));
        }
        if live.is_empty() {
            return Err(Unavailable::Cooling);
        }
        let mut orders: Vec<u32> = live.iter().map(|&i| deps[i].cfg.order.unwrap_or(u32::MAX)).collect();
        orders.sort_unstable();
        orders.dedup();
        let mut first_limit = None;
        for order in orders {
            let tier: Vec<usize> =
                live.iter().copied().filter(|&i| deps[i].cfg.order.unwrap_or(u32::MAX) == order).collect();
            for i in self.rank(tier, request, prompt_tokens).await {
                let c = &deps[i].cfg;
                if c.rpm.is_none() && c.tpm.is_none() {
                    // nothing to enforce: count it for usage-based routing only
                    if matches!(self.inner.settings.strategy, Strategy::UsageBased | Strategy::UsageBasedV2) {
                        self.inner.state.try_acquire(&c.id, None, None, prompt_tokens).await;
                    }
                    return Ok(i);
                }
                match self.inner.state.try_acquire(&c.id, c.rpm, c.tpm, prompt_tokens).await {
                    None => return Ok(i),
                    Some(limit) => {
                        first_limit.get_or_insert((c.id.clone(), limit));
                    }
                }
            }
        }
        match first_limit {
            Some((id, limit)) => Err(Unavailable::Limited(id, limit)),
            None => Err(Unavailable::Cooling),
        }
    }

    /// Counts the request against the `scope_limits` of its caller (its user, team and tags, as the tracker
    /// scopes them), in the router's state (shared in Redis with a fleet), waiting up to `rate_limit_wait` for
    /// a new minute; a scope at its limit fails the call `rate_limited`, naming the scope and the limit.
    async fn admit_scopes(&self, request: &ChatRequest, prompt_tokens: u64) -> Result<()> {
        let limits = &self.inner.settings.scope_limits;
        if limits.is_empty() {
            return Ok(());
        }
        let meta = |k: &str| request.metadata.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut scopes: Vec<String> = Vec::new();
        if let Some(u) = request.user.clone().or_else(|| meta("user")) {
            scopes.push(format!("user:{u}"));
        }
        if let Some(t) = meta("team") {
            scopes.push(format!("team:{t}"));
        }
        scopes.extend(request.tags.iter().map(|t| format!("tag:{t}")));
        let deadline = Instant::now() + self.inner.settings.rate_limit_wait;
        for scope in scopes {
            let Some(limit) = limits.get(&scope) else { continue };
            let id = format!("scope:{scope}");
            while let Some(hit) = self.inner.state.try_acquire(&id, limit.rpm, limit.tpm, prompt_tokens).await {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Error::new(
                        ErrorKind::RateLimited,
                        format!("{scope} is at its rate limit ({hit} reached)"),
                    ));
                }
                tokio::time::sleep((until_next_minute() + Duration::from_millis(5)).min(deadline - now)).await;
            }
        }
        Ok(())
    }

    /// [`Router::pick`], waiting up to `rate_limit_wait` for a new minute when every deployment is at its limit.
    async fn pick_waiting(
        &self,
        group: &str,
        tried: &[usize],
        request: &ChatRequest,
        prompt_tokens: u64,
    ) -> Result<usize> {
        let deadline = Instant::now() + self.inner.settings.rate_limit_wait;
        loop {
            match self.pick(group, tried, request, prompt_tokens).await {
                Ok(i) => return Ok(i),
                Err(Unavailable::Limited(id, limit)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Error::new(
                            ErrorKind::RateLimited,
                            format!("every deployment of {group} is at its rate limit ({id}: {limit} reached)"),
                        ));
                    }
                    let wait = (until_next_minute() + Duration::from_millis(5)).min(deadline - now);
                    tokio::time::sleep(wait).await;
                }
                Err(Unavailable::Cooling) => {
                    return Err(Error::new(
                        ErrorKind::RateLimited,
                        format!("no deployment of {group} is available: all are cooling down after failures"),
                    ));
                }
                Err(Unavailable::ContextWindow { needed, largest }) => {
                    let largest = largest.map_or_else(|| "unknown".to_owned(), |l| l.to_string());
                    return Err(Error::new(
                        ErrorKind::ContextLength,
                        format!(
                            "the request (about {needed} tokens) fits no deployment of {group} (largest window {largest})"
                        ),
                    ));
                }
            }
        }
    }

    /// Counts a failure of `dep`, and cools it down when its failures this minute pass `allowed_fails`, or at
    /// once on 401, 404 and 429 (LiteLLM's rule), for `cooldown_time` or the server's `retry-after`, whichever
    /// is longer.
    async fn on_failure(&self, dep: &Dep, e: &Error) {
        if matches!(
            e.kind(),
            ErrorKind::InvalidRequest
                | ErrorKind::ContextLength
                | ErrorKind::ContentFilter
                | ErrorKind::BudgetExceeded
                | ErrorKind::Config
        ) {
            // the request's fault, not the deployment's
            return;
        }
        let s = &self.inner.settings;
        let fails = self.inner.state.count_failure(&dep.cfg.id).await;
        let allowed = s.allowed_fails_policy.get(e.kind()).copied().unwrap_or(s.allowed_fails);
        let at_once = matches!(e.status(), Some(401 | 404 | 429))
            || matches!(e.kind(), ErrorKind::Auth | ErrorKind::NotFound | ErrorKind::RateLimited);
        if at_once || fails > u64::from(allowed) {
            let wait = s.cooldown_time.max(e.retry_after().unwrap_or_default()).min(MAX_WAIT);
            tracing::warn!(deployment = %dep.cfg.id, kind = %e.kind(), cooldown_ms = wait.as_millis() as u64, "llm-router: deployment cooled down");
            self.inner.state.cool_down(&dep.cfg.id, wait).await;
        }
    }

    fn retries_for(&self, kind: &ErrorKind) -> u32 {
        let s = &self.inner.settings;
        if let Some(n) = s.retry_policy.get(kind) {
            return *n;
        }
        match kind {
            ErrorKind::InvalidRequest
            | ErrorKind::ContextLength
            | ErrorKind::ContentFilter
            | ErrorKind::BudgetExceeded
            | ErrorKind::Config
            | ErrorKind::QuotaExceeded => 0,
            _ => s.num_retries,
        }
    }

    /// The fallback groups for a group's failure of this kind.
    fn fallbacks_for(&self, group: &str, kind: &ErrorKind) -> Vec<String> {
        let s = &self.inner.settings;
        let of = |m: &std::collections::BTreeMap<String, Vec<String>>| m.get(group).or_else(|| m.get("*")).cloned();
        let specific = match kind {
            ErrorKind::ContextLength => of(&s.context_window_fallbacks),
            ErrorKind::ContentFilter => of(&s.content_policy_fallbacks),
            ErrorKind::InvalidRequest | ErrorKind::Config | ErrorKind::BudgetExceeded => return Vec::new(),
            _ => None,
        };
        specific.or_else(|| of(&s.fallbacks)).unwrap_or_else(|| s.default_fallbacks.clone())
    }

    async fn call(&self, dep: &Dep, request: &ChatRequest, stream: bool) -> Result<Outcome> {
        let timeout = dep.cfg.timeout.or(self.inner.settings.timeout);
        let fut = async {
            if stream {
                dep.provider.stream(request).await.map(Outcome::Stream)
            } else {
                dep.provider.chat(request).await.map(|r| Outcome::Chat(Box::new(r)))
            }
        };
        match timeout {
            Some(t) => tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
                Err(Error::new(ErrorKind::Timeout, format!("no answer within {} ms", t.as_millis())))
            }),
            None => fut.await,
        }
    }

    /// Prices a response the deployment's provider left unpriced.
    fn price(&self, dep: &Dep, response: &ChatResponse) -> Cost {
        let u = response.usage.unwrap_or_default();
        if let (Some(i), Some(o)) = (dep.cfg.input_cost_per_token, dep.cfg.output_cost_per_token) {
            let mut b = CostBreakdown::default();
            b.input = Usd::from(i.amount() * rust_decimal::Decimal::from(u.prompt_tokens));
            b.output = Usd::from(o.amount() * rust_decimal::Decimal::from(u.completion_tokens));
            return Cost::new(CostStatus::Priced, b);
        }
        let provider = response.provider.as_ref().map(ProviderId::as_str).filter(|p| *p != "mock");
        self.inner.catalog.get().price_response(&dep.priced_as, response, provider, &CostOptions::default())
    }

    async fn route(&self, request: &ChatRequest, stream: bool) -> Result<(Outcome, Routing, Option<String>)> {
        let requested = request.model.as_str();
        let Some(group) = self.group_of(requested) else {
            return Err(Error::new(ErrorKind::NotFound, format!("no model group {requested:?} in the router config")));
        };
        let control = CacheControl::of(request);
        let key = match &self.inner.cache {
            Some(c) if !control.off() => {
                Some(cache_key(group, request, c.namespace.as_deref(), control.namespace.as_deref()))
            }
            _ => None,
        };
        if let Some(k) = &key
            && !control.no_cache
            && let Some(hit) = self.cache_hit(k, requested).await
        {
            return Ok((Outcome::Chat(Box::new(hit.0)), hit.1, None));
        }
        let prompt_tokens = estimate_tokens(request);
        self.admit_scopes(request, prompt_tokens).await?;
        let trace_id = match request.metadata.get("trace_id") {
            Some(Value::String(s)) => s.clone(),
            _ => format!("router-{:016x}", self.random()),
        };
        let mut routing = Routing::new(requested);
        let mut queue: VecDeque<String> = VecDeque::from([group.to_owned()]);
        let mut seen: Vec<String> = Vec::new();
        let mut last: Option<Error> = None;
        while let Some(g) = queue.pop_front() {
            if seen.contains(&g) {
                continue;
            }
            seen.push(g.clone());
            if g != group {
                routing.fallbacks.push(g.clone());
            }
            match self.try_group(&g, request, stream, prompt_tokens, &trace_id, &mut routing).await {
                Ok(out) => {
                    routing.served_group = g;
                    return Ok((out, routing, key.filter(|_| !control.no_store)));
                }
                Err(e) => {
                    if g == group {
                        for f in self.fallbacks_for(group, e.kind()).into_iter().take(self.inner.settings.max_fallbacks)
                        {
                            queue.push_back(f);
                        }
                    }
                    last = Some(e);
                }
            }
        }
        let e =
            last.unwrap_or_else(|| Error::new(ErrorKind::RateLimited, format!("no deployment of {group} answered")));
        let failed: Vec<Retry> = routing
            .attempts
            .iter()
            .enumerate()
            .map(|(n, a)| {
                let kind = ErrorKind::parse(&a.outcome);
                Retry::new(n as u32 + 1, kind, a.status, 0, format!("{} ({}): {}", a.deployment, a.model, a.message))
            })
            .collect();
        let summary = if routing.fallbacks.is_empty() {
            String::new()
        } else {
            format!(" (fallbacks tried: {})", routing.fallbacks.join(", "))
        };
        let msg = format!("{}{summary}", e.message());
        Err(e.with_message(msg).with_retries(failed))
    }

    async fn try_group(
        &self,
        group: &str,
        request: &ChatRequest,
        stream: bool,
        prompt_tokens: u64,
        trace_id: &str,
        routing: &mut Routing,
    ) -> Result<Outcome> {
        let mut tried: Vec<usize> = Vec::new();
        let mut retries = 0u32;
        loop {
            let i = self.pick_waiting(group, &tried, request, prompt_tokens).await?;
            let dep = &self.inner.deps[i];
            let mut sent = request.clone();
            sent.model = dep.cfg.model.as_str().into();
            sent.metadata.insert("model_group".into(), Value::String(group.to_owned()));
            sent.metadata.insert("deployment".into(), Value::String(dep.cfg.id.clone()));
            sent.metadata.insert("trace_id".into(), Value::String(trace_id.to_owned()));
            let started = Instant::now();
            self.inner.state.in_flight_add(&dep.cfg.id, 1).await;
            let result = self.call(dep, &sent, stream).await;
            let elapsed = started.elapsed();
            match result {
                Ok(Outcome::Chat(mut response)) => {
                    self.inner.state.in_flight_add(&dep.cfg.id, -1).await;
                    self.settle(dep, response.usage.as_ref(), prompt_tokens, elapsed).await;
                    if response.cost.is_none() {
                        response.cost = Some(self.price(dep, &response));
                    }
                    routing.deployment = dep.cfg.id.clone();
                    routing.attempts.push(
                        RouteAttempt::succeeded(group, &dep.cfg.id, &dep.cfg.model, response.cost.clone())
                            .with_latency_ms(elapsed.as_millis() as u64),
                    );
                    return Ok(Outcome::Chat(response));
                }
                Ok(Outcome::Stream(s)) => {
                    routing.deployment = dep.cfg.id.clone();
                    routing.attempts.push(
                        RouteAttempt::succeeded(group, &dep.cfg.id, &dep.cfg.model, None)
                            .with_latency_ms(elapsed.as_millis() as u64),
                    );
                    return Ok(Outcome::Stream(self.watch(i, s, prompt_tokens, started)));
                }
                Err(e) => {
                    self.inner.state.in_flight_add(&dep.cfg.id, -1).await;
                    if self.counts_tokens(dep) {
                        // a failed call used no tokens (its request still counts against the RPM limit)
                        self.inner.state.add_tokens(&dep.cfg.id, -(prompt_tokens as i64)).await;
                    }
                    self.on_failure(dep, &e).await;
                    routing.attempts.push(
                        RouteAttempt::failed(
                            group,
                            &dep.cfg.id,
                            &dep.cfg.model,
                            e.kind().clone(),
                            e.status(),
                            e.message(),
                        )
                        .with_latency_ms(elapsed.as_millis() as u64),
                    );
                    tried.push(i);
                    if retries >= self.retries_for(e.kind()) {
                        return Err(e);
                    }
                    retries += 1;
                    let others = self.inner.groups.get(group).is_some_and(|all| all.iter().any(|d| !tried.contains(d)));
                    let wait = if others {
                        self.inner.settings.retry_after
                    } else {
                        self.inner.settings.retry_after.max(e.retry_after().unwrap_or_default()).min(MAX_WAIT)
                    };
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
    }

    /// Whether [`Router::pick`] counted the request's tokens against this deployment.
    fn counts_tokens(&self, dep: &Dep) -> bool {
        dep.cfg.rpm.is_some()
            || dep.cfg.tpm.is_some()
            || matches!(self.inner.settings.strategy, Strategy::UsageBased | Strategy::UsageBasedV2)
    }

    /// After a success: the latency window and the real token count.
    async fn settle(&self, dep: &Dep, usage: Option<&Usage>, estimated: u64, elapsed: Duration) {
        dep.record_latency(elapsed.as_secs_f64(), self.inner.settings.latency_window);
        if let Some(u) = usage {
            let real = u.prompt_tokens.saturating_add(u.completion_tokens);
            let delta = real as i64 - estimated as i64;
            if delta != 0 && self.counts_tokens(dep) {
                self.inner.state.add_tokens(&dep.cfg.id, delta).await;
            }
        }
    }

    /// Wraps a deployment's stream: settles usage and latency at its end, releases the in-flight count when it
    /// is dropped, and caches the assembled response when the cache is on.
    fn watch(&self, i: usize, inner: ChatStream, estimated: u64, started: Instant) -> ChatStream {
        let router = self.clone();
        let guard = InFlight { router: self.clone(), dep: i };
        Box::pin(async_stream(
            inner,
            move |usage| {
                let router = router.clone();
                async move {
                    let dep = &router.inner.deps[i];
                    router.settle(dep, usage.as_ref(), estimated, started.elapsed()).await;
                }
            },
            guard,
        ))
    }

    async fn cache_hit(&self, key: &str, requested: &str) -> Option<(ChatResponse, Routing)> {
        let text = self.inner.cache_state.cache_get(key).await?;
        let mut response: ChatResponse = serde_json::from_str(&text).ok()?;
        let stored = response.routing.take().unwrap_or_default();
        let mut routing = Routing::new(requested);
        routing.served_group = stored.served_group.clone();
        routing.deployment = stored.deployment.clone();
        routing.cache_hit = true;
        let mut attempt =
            RouteAttempt::succeeded(&stored.served_group, &stored.deployment, &response.model, Some(cache_cost()));
        attempt.outcome = "cache_hit".to_owned();
        routing.attempts.push(attempt);
        response.cost = Some(cache_cost());
        response.retries.clear();
        Some((response, routing))
    }

    async fn store(&self, key: &str, response: &ChatResponse, routing: &Routing) {
        let Some(c) = &self.inner.cache else { return };
        let mut stored = response.clone();
        let mut kept = Routing::new(routing.served_group.clone());
        kept.served_group = routing.served_group.clone();
        kept.deployment = routing.deployment.clone();
        stored.routing = Some(kept);
        stored.cost = None;
        stored.retries.clear();
        if let Ok(text) = serde_json::to_string(&stored) {
            self.inner.cache_state.cache_put(key, &text, c.ttl).await;
        }
    }
}

/// The cost of a cache hit: a known zero.
fn cache_cost() -> Cost {
    Cost::new(CostStatus::CacheHit, CostBreakdown::default())
}

/// A rough prompt size for the pre-call checks and TPM counting: a token per 4 bytes of text, plus 4 per
/// message and the tools' JSON.
pub fn estimate_tokens(request: &ChatRequest) -> u64 {
    let mut bytes = 0usize;
    for m in &request.messages {
        bytes += m.text().len() + 16;
    }
    for t in &request.tools {
        bytes += serde_json::to_string(t).map_or(0, |s| s.len());
    }
    (bytes as u64).div_ceil(4)
}

struct InFlight {
    router: Router,
    dep: usize,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let router = self.router.clone();
        let dep = self.dep;
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let id = router.inner.deps[dep].cfg.id.clone();
                router.inner.state.in_flight_add(&id, -1).await;
            });
        }
    }
}

/// The events of `inner`; when it ends, `done` runs with the final usage. `guard` lives as long as the stream.
fn async_stream<F, Fut>(
    inner: ChatStream,
    done: F,
    guard: InFlight,
) -> impl futures_core::Stream<Item = Result<StreamEvent>> + Send
where
    F: FnOnce(Option<Usage>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let state = (inner, Some(done), None::<Usage>, guard);
    futures_util::stream::unfold(state, |(mut inner, mut done, mut usage, guard)| async move {
        match inner.next().await {
            Some(item) => {
                if let Ok(StreamEvent::Usage(u)) = &item {
                    usage = Some(*u);
                }
                Some((item, (inner, done, usage, guard)))
            }
            None => {
                if let Some(f) = done.take() {
                    f(usage).await;
                }
                None
            }
        }
    })
}

#[async_trait]
impl Provider for Router {
    fn id(&self) -> &ProviderId {
        &self.inner.id
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let (outcome, routing, key) = self.route(request, false).await?;
        let Outcome::Chat(response) = outcome else {
            return Err(Error::new(ErrorKind::Other("router".into()), "a stream came back for a chat call"));
        };
        let mut response = *response;
        if routing.cache_hit {
            response.routing = Some(routing);
            if let Some(o) = &self.inner.observer {
                o.cache_hit(request, &response, false);
            }
            return Ok(response);
        }
        if let Some(k) = key {
            self.store(&k, &response, &routing).await;
        }
        response.routing = Some(routing);
        Ok(response)
    }

    async fn stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        let (outcome, routing, key) = self.route(request, true).await?;
        match outcome {
            Outcome::Chat(response) => {
                // a cache hit, served as a stream
                let mut response = *response;
                response.routing = Some(routing.clone());
                if let Some(o) = &self.inner.observer {
                    o.cache_hit(request, &response, true);
                }
                let mut events = vec![Ok(StreamEvent::Routed(routing))];
                events.extend(llm_core::response_events(&response).into_iter().map(Ok));
                Ok(Box::pin(futures_util::stream::iter(events)))
            }
            Outcome::Stream(inner) => {
                let head = futures_util::stream::iter([Ok(StreamEvent::Routed(routing.clone()))]);
                let Some(key) = key else { return Ok(Box::pin(head.chain(inner))) };
                // assemble a copy for the cache as the events pass
                let router = self.clone();
                let model = routing.deployment.clone();
                let assembled = futures_util::stream::unfold(
                    (inner, Some(StreamAssembler::new()), router, key, routing, model),
                    |(mut inner, mut asm, router, key, routing, model)| async move {
                        match inner.next().await {
                            Some(item) => {
                                match (&item, asm.as_mut()) {
                                    (Ok(e), Some(a)) => a.push(e.clone()),
                                    (Err(_), _) => asm = None,
                                    _ => {}
                                }
                                Some((item, (inner, asm, router, key, routing, model)))
                            }
                            None => {
                                if let Some(a) = asm.take() {
                                    let mut r = a.finish();
                                    // only a stream that finished is worth serving again
                                    r.finish_reason()?;
                                    if r.model.is_empty() {
                                        r.model = model.clone();
                                    }
                                    router.store(&key, &r, &routing).await;
                                }
                                None
                            }
                        }
                    },
                );
                Ok(Box::pin(head.chain(assembled)))
            }
        }
    }
}

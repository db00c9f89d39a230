//! LiteLLM's proxy config (`config.yaml`): `model_list`, `router_settings`, `litellm_settings`, read as
//! LiteLLM reads them, `os.environ/NAME` references included. Keys this router does not know are reported in
//! [`RouterConfig::warnings`], never silently dropped; keys LiteLLM knows that the router does not act on yet are
//! reported the same way.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use llm_core::{ApiKey, Error, ErrorKind, Result, Usd};
use serde_json::{Map, Value};

/// How a group's deployment is picked, under LiteLLM's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// `simple-shuffle`: random, weighted by `weight` (else `rpm`, else `tpm`); the default.
    #[default]
    SimpleShuffle,
    /// `least-busy`: the fewest requests in flight.
    LeastBusy,
    /// `latency-based-routing`: the lowest mean latency over a moving window of recent calls.
    LatencyBased,
    /// `cost-based-routing`: the cheapest for this request, priced from the catalog.
    CostBased,
    /// `usage-based-routing`: the lowest TPM used this minute, within its limits.
    UsageBased,
    /// `usage-based-routing-v2`: the same, the limits checked and counted atomically (in Redis for a fleet).
    UsageBasedV2,
}

impl Strategy {
    /// LiteLLM's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SimpleShuffle => "simple-shuffle",
            Self::LeastBusy => "least-busy",
            Self::LatencyBased => "latency-based-routing",
            Self::CostBased => "cost-based-routing",
            Self::UsageBased => "usage-based-routing",
            Self::UsageBasedV2 => "usage-based-routing-v2",
        }
    }

    /// Reads LiteLLM's name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "simple-shuffle" => Self::SimpleShuffle,
            "least-busy" => Self::LeastBusy,
            "latency-based-routing" => Self::LatencyBased,
            "cost-based-routing" => Self::CostBased,
            "usage-based-routing" => Self::UsageBased,
            "usage-based-routing-v2" => Self::UsageBasedV2,
            _ => return None,
        })
    }
}

/// One deployment of a model group: an entry of `model_list`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Deployment {
    /// Its id: `model_info.id`, else `GROUP/INDEX` (its position among the group's deployments).
    pub id: String,
    /// The group (`model_name`).
    pub group: String,
    /// The provider-side model (`litellm_params.model`, e.g. `openai/gpt-4o`).
    pub model: String,
    /// `litellm_params.api_base`.
    pub api_base: Option<String>,
    /// `litellm_params.api_key` (redacted in `Debug`).
    pub api_key: Option<ApiKey>,
    /// `litellm_params.api_version` (Azure).
    pub api_version: Option<String>,
    /// Requests per minute it may take (`rpm`).
    pub rpm: Option<u64>,
    /// Tokens per minute it may take (`tpm`).
    pub tpm: Option<u64>,
    /// Its share under `simple-shuffle`.
    pub weight: Option<f64>,
    /// Its priority: deployments of the lowest `order` are used first, higher ones only when none of those is
    /// available.
    pub order: Option<u32>,
    /// The most requests it may have in flight.
    pub max_parallel_requests: Option<u32>,
    /// `litellm_params.timeout`, in seconds.
    pub timeout: Option<Duration>,
    /// `litellm_params.max_retries`: the provider client's own retries (default 0 under the router, which does
    /// the retrying across deployments).
    pub max_retries: Option<u32>,
    /// The context window for the pre-call check (`model_info.max_input_tokens`, else the catalog's).
    pub max_input_tokens: Option<u64>,
    /// `model_info.base_model`: the catalog model that prices it, when `model` is an alias.
    pub base_model: Option<String>,
    /// Custom prices (`input_cost_per_token`, `output_cost_per_token`), for cost-based routing.
    pub input_cost_per_token: Option<Usd>,
    /// See [`Deployment::input_cost_per_token`].
    pub output_cost_per_token: Option<Usd>,
}

/// `litellm_settings.cache_params` (and `cache: true`). Its `Debug` hides a Redis password.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct CacheSettings {
    /// `type`: `local` (in memory, the default) or `redis`.
    pub redis: bool,
    /// `ttl` in seconds (default 600, LiteLLM's in-memory default).
    pub ttl: Duration,
    /// `namespace`: a prefix of every key.
    pub namespace: Option<String>,
    /// The most entries kept in memory (`max_size`, ours; default 1000).
    pub max_entries: usize,
    /// Redis for the cache when `type: redis` (`host`/`port`/`password`/`url`), else the router's.
    pub redis_url: Option<String>,
}

impl std::fmt::Debug for CacheSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheSettings")
            .field("redis", &self.redis)
            .field("ttl", &self.ttl)
            .field("namespace", &self.namespace)
            .field("max_entries", &self.max_entries)
            .field("redis_url", &self.redis_url.as_deref().map(llm_core::redact_secrets))
            .finish()
    }
}

/// Where shared state lives for a fleet. Its `Debug` hides the password.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct RedisSettings {
    /// `redis://[:password@]host:port/` built from `redis_host`/`redis_port`/`redis_password`, or `redis_url`
    /// (the password is registered as a secret).
    pub url: String,
    /// Keys are prefixed by this (`redis_namespace`, ours; default `llm-router`).
    pub namespace: String,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &llm_core::redact_secrets(&self.url))
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// The requests and tokens per minute one caller (a user, team or tag) may send through the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeLimit {
    /// Requests per minute.
    pub rpm: Option<u64>,
    /// Tokens per minute (the request's estimated prompt tokens).
    pub tpm: Option<u64>,
}

/// `router_settings` (with the `litellm_settings` that LiteLLM passes to the router).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RouterSettings {
    /// `routing_strategy`.
    pub strategy: Strategy,
    /// `num_retries`: attempts after the first within a group (default 0, as LiteLLM's router).
    pub num_retries: u32,
    /// `retry_policy`: retries per error kind (LiteLLM's `BadRequestErrorRetries`, ... names).
    pub retry_policy: HashMap<ErrorKind, u32>,
    /// `allowed_fails`: failures within a minute a deployment may have before it is cooled down (default 3).
    pub allowed_fails: u32,
    /// `allowed_fails_policy`: the same per error kind.
    pub allowed_fails_policy: HashMap<ErrorKind, u32>,
    /// `cooldown_time`: how long a deployment is left out (default 5 s).
    pub cooldown_time: Duration,
    /// `fallbacks`: group → groups tried when it fails.
    pub fallbacks: BTreeMap<String, Vec<String>>,
    /// `default_fallbacks`: tried for any group without its own.
    pub default_fallbacks: Vec<String>,
    /// `context_window_fallbacks`: group → groups with a larger window.
    pub context_window_fallbacks: BTreeMap<String, Vec<String>>,
    /// `content_policy_fallbacks`: group → groups tried after a content-policy refusal.
    pub content_policy_fallbacks: BTreeMap<String, Vec<String>>,
    /// `max_fallbacks`: the most fallback groups one call tries (default 5).
    pub max_fallbacks: usize,
    /// `enable_pre_call_checks`: drop deployments whose context window cannot fit the request (default on
    /// here; LiteLLM's default is off).
    pub pre_call_checks: bool,
    /// `model_group_alias`: another name → group.
    pub aliases: BTreeMap<String, String>,
    /// `routing_strategy_args.ttl`-like window of `latency-based-routing`: how many recent calls are averaged
    /// (default 10).
    pub latency_window: usize,
    /// `routing_strategy_args.lowest_latency_buffer`: deployments within this fraction of the fastest are
    /// picked from at random (default 0).
    pub latency_buffer: f64,
    /// `timeout`: per-call timeout, in seconds.
    pub timeout: Option<Duration>,
    /// `retry_after`: the least wait before a retry of the same group, in seconds (default 0).
    pub retry_after: Duration,
    /// How long a call waits for a deployment under its RPM/TPM limit before failing `rate_limited`
    /// (`rate_limit_wait`, ours; default 0: fail at once).
    pub rate_limit_wait: Duration,
    /// RPM/TPM limits per caller (`scope_limits`, ours): `user:NAME`, `team:NAME` or `tag:NAME` → limits,
    /// enforced across every group before a deployment is picked (the tracker's scopes of the request).
    pub scope_limits: BTreeMap<String, ScopeLimit>,
    /// Shared state in Redis (`redis_host`/`redis_port`/`redis_password`/`redis_url`).
    pub redis: Option<RedisSettings>,
}

impl Default for RouterSettings {
    fn default() -> Self {
        Self {
            strategy: Strategy::SimpleShuffle,
            num_retries: 0,
            retry_policy: HashMap::new(),
            allowed_fails: 3,
            allowed_fails_policy: HashMap::new(),
            cooldown_time: Duration::from_secs(5),
            fallbacks: BTreeMap::new(),
            default_fallbacks: Vec::new(),
            context_window_fallbacks: BTreeMap::new(),
            content_policy_fallbacks: BTreeMap::new(),
            max_fallbacks: 5,
            pre_call_checks: true,
            aliases: BTreeMap::new(),
            latency_window: 10,
            latency_buffer: 0.0,
            timeout: None,
            retry_after: Duration::ZERO,
            rate_limit_wait: Duration::ZERO,
            scope_limits: BTreeMap::new(),
            redis: None,
        }
    }
}

/// A router config: the groups with their deployments, the settings, the cache, and what was not understood.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RouterConfig {
    /// The deployments, in the order of `model_list`.
    pub deployments: Vec<Deployment>,
    /// The router's settings.
    pub settings: RouterSettings,
    /// The response cache, when `litellm_settings.cache` is on.
    pub cache: Option<CacheSettings>,
    /// Keys not understood or not acted on, and unset environment references, each as `path: what`.
    pub warnings: Vec<String>,
}

impl RouterConfig {
    /// A config with these deployments and default settings (for code that builds one without YAML).
    pub fn new(deployments: Vec<Deployment>) -> Self {
        Self { deployments, settings: RouterSettings::default(), cache: None, warnings: Vec::new() }
    }

    /// Reads a LiteLLM proxy config from YAML text, `os.environ/NAME` resolved from the process environment.
    pub fn from_yaml(text: &str) -> Result<Self> {
        Self::from_yaml_with_env(text, &|name| std::env::var(name).ok())
    }

    /// Reads a config file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read {}: {e}", path.display())).with_source(e))?;
        Self::from_yaml(&text)
    }

    /// [`RouterConfig::from_yaml`] with `os.environ/NAME` resolved by `env` (after the config's own
    /// `environment_variables`).
    pub fn from_yaml_with_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let root: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| Error::config(format!("the router config is not valid YAML: {e}")))?;
        Parser::new(env).parse(root)
    }

    /// The model groups, in the order they first appear in `model_list`, each with its deployments.
    pub fn groups(&self) -> Vec<(&str, Vec<&Deployment>)> {
        let mut out: Vec<(&str, Vec<&Deployment>)> = Vec::new();
        for d in &self.deployments {
            match out.iter_mut().find(|(g, _)| *g == d.group) {
                Some((_, ds)) => ds.push(d),
                None => out.push((d.group.as_str(), vec![d])),
            }
        }
        out
    }

    /// Whether `name` is a group (or an alias of one).
    pub fn has_group(&self, name: &str) -> bool {
        let name = self.settings.aliases.get(name).map_or(name, String::as_str);
        self.deployments.iter().any(|d| d.group == name)
    }
}

/// The keys of a `litellm_params` entry the router uses.
const DEPLOYMENT_KEYS: &[&str] = &[
    "model",
    "api_base",
    "base_url",
    "api_key",
    "api_version",
    "rpm",
    "tpm",
    "weight",
    "order",
    "max_parallel_requests",
    "timeout",
    "stream_timeout",
    "max_retries",
    "input_cost_per_token",
    "output_cost_per_token",
];

/// `litellm_params` keys LiteLLM knows that this router passes over (reported as not supported yet).
const DEPLOYMENT_KEYS_NOT_YET: &[&str] = &[
    "organization",
    "region_name",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_region_name",
    "vertex_project",
    "vertex_location",
    "vertex_credentials",
    "custom_llm_provider",
    "tenant_id",
    "client_id",
    "client_secret",
    "azure_ad_token",
    "mock_response",
    "tags",
    "extra_headers",
    "headers",
    "use_in_pass_through",
    "merge_reasoning_content_in_choices",
    "drop_params",
    "additional_drop_params",
];

const ROUTER_NOT_YET: &[&str] = &[
    "provider_budget_config",
    "optional_pre_call_checks",
    "cache_responses",
    "cache_kwargs",
    "client_ttl",
    "polling_interval",
    "default_priority",
    "stream_timeout",
    "set_verbose",
    "debug_level",
    "alerting_config",
    "router_general_settings",
    "deployment_affinity_ttl_seconds",
    "default_litellm_params",
    "default_max_parallel_requests",
    "retry_policy_by_model_group",
    "tag_filtering",
    "enable_tag_filtering",
];

const LITELLM_NOT_YET: &[&str] = &[
    "drop_params",
    "set_verbose",
    "json_logs",
    "success_callback",
    "failure_callback",
    "callbacks",
    "service_callback",
    "turn_off_message_logging",
    "redact_user_api_key_info",
    "request_timeout",
    "modify_params",
    "max_budget",
    "budget_duration",
    "default_internal_user_params",
    "telemetry",
    "enable_preview_features",
    "force_ipv4",
    "default_fallbacks",
];

struct Parser<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    environment: Map<String, Value>,
    warnings: Vec<String>,
}

fn warn_unknown(warnings: &mut Vec<String>, path: &str, key: &str, not_yet: &[&str]) {
    if not_yet.contains(&key) {
        warnings.push(format!("{path}.{key}: a LiteLLM setting this router does not act on yet (ignored)"));
    } else {
        warnings.push(format!("{path}.{key}: unknown key (ignored)"));
    }
}

fn bad(path: &str, what: &str) -> Error {
    Error::config(format!("router config {path}: {what}"))
}

impl<'a> Parser<'a> {
    fn new(env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { env, environment: Map::new(), warnings: Vec::new() }
    }

    /// Resolves `os.environ/NAME` (the config's `environment_variables` first, then the environment).
    fn resolve(&mut self, path: &str, v: &Value) -> Option<Value> {
        if let Value::String(s) = v
            && let Some(name) = s.strip_prefix("os.environ/")
        {
            let found = match self.environment.get(name) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) if !other.is_null() => Some(other.to_string()),
                _ => (self.env)(name),
            };
            return match found {
                Some(value) => Some(Value::String(value)),
                None => {
                    self.warnings.push(format!("{path}: os.environ/{name} is not set"));
                    None
                }
            };
        }
        (!v.is_null()).then(|| v.clone())
    }

    fn string(&mut self, path: &str, v: &Value) -> Result<Option<String>> {
        match self.resolve(path, v) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(bad(path, "expected a string")),
        }
    }

    fn number(&mut self, path: &str, v: &Value) -> Result<Option<f64>> {
        match self.resolve(path, v) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| bad(path, "expected a number")),
            Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| bad(path, "expected a number")),
            Some(_) => Err(bad(path, "expected a number")),
        }
    }

    fn count(&mut self, path: &str, v: &Value) -> Result<Option<u64>> {
        match self.number(path, v)? {
            None => Ok(None),
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n < 9.0e15 => Ok(Some(n as u64)),
            Some(_) => Err(bad(path, "expected a whole number >= 0")),
        }
    }

    fn small(&mut self, path: &str, v: &Value) -> Result<Option<u32>> {
        match self.count(path, v)? {
            None => Ok(None),
            Some(n) => u32::try_from(n).map(Some).map_err(|_| bad(path, "too large")),
        }
    }

    fn seconds(&mut self, path: &str, v: &Value) -> Result<Option<Duration>> {
        match self.number(path, v)? {
            None => Ok(None),
            Some(s) if s >= 0.0 && s.is_finite() && s < 1.0e9 => Ok(Some(Duration::from_secs_f64(s))),
            Some(_) => Err(bad(path, "expected seconds >= 0")),
        }
    }

    fn boolean(&mut self, path: &str, v: &Value) -> Result<Option<bool>> {
        match self.resolve(path, v) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(bad(path, "expected true or false")),
        }
    }

    fn usd(&mut self, path: &str, v: &Value) -> Result<Option<Usd>> {
        match self.resolve(path, v) {
            None => Ok(None),
            // the YAML number's shortest text, never arithmetic on the f64
            Some(Value::Number(n)) => n.to_string().parse::<Usd>().map(Some).map_err(|_| bad(path, "expected a price")),
            Some(Value::String(s)) => s.trim().parse::<Usd>().map(Some).map_err(|_| bad(path, "expected a price")),
            Some(_) => Err(bad(path, "expected a price")),
        }
    }

    fn parse(mut self, root: Value) -> Result<RouterConfig> {
        let Value::Object(root) = root else {
            return Err(Error::config("the router config must be a mapping with a model_list"));
        };
        if let Some(Value::Object(env)) = root.get("environment_variables") {
            self.environment = env.clone();
        }
        let mut settings = RouterSettings::default();
        let mut cache = None;
        // litellm_settings first: router_settings win where both set a key
        if let Some(ls) = root.get("litellm_settings") {
            cache = self.litellm_settings(ls, &mut settings)?;
        }
        if let Some(rs) = root.get("router_settings") {
            self.router_settings(rs, &mut settings)?;
        }
        let deployments = match root.get("model_list") {
            Some(Value::Array(list)) => self.model_list(list)?,
            Some(_) => return Err(bad("model_list", "expected a list")),
            None => return Err(Error::config("the router config has no model_list")),
        };
        for key in root.keys() {
            match key.as_str() {
                "model_list" | "router_settings" | "litellm_settings" | "environment_variables" => {}
                "general_settings" => self
                    .warnings
                    .push("general_settings: proxy server settings, not used by the router (ignored)".to_owned()),
                other => self.warnings.push(format!("{other}: unknown top-level key (ignored)")),
            }
        }
        if let Some(c) = &mut cache
            && c.redis
            && c.redis_url.is_none()
        {
            c.redis_url = settings.redis.as_ref().map(|r| r.url.clone());
            if c.redis_url.is_none() {
                return Err(bad("litellm_settings.cache_params", "type: redis without a host, url or router redis"));
            }
        }
        let config = RouterConfig { deployments, settings, cache, warnings: self.warnings };
        validate(&config)?;
        Ok(config)
    }

    fn model_list(&mut self, list: &[Value]) -> Result<Vec<Deployment>> {
        let mut out: Vec<Deployment> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, entry) in list.iter().enumerate() {
            let path = format!("model_list[{i}]");
            let Value::Object(entry) = entry else { return Err(bad(&path, "expected a mapping")) };
            let group = match entry.get("model_name") {
                Some(v) => self.string(&format!("{path}.model_name"), v)?,
                None => None,
            }
            .ok_or_else(|| bad(&path, "model_name is missing"))?;
            let Some(Value::Object(params)) = entry.get("litellm_params") else {
                return Err(bad(&path, "litellm_params is missing"));
            };
            let n = index.entry(group.clone()).or_insert(0);
            let mut d = Deployment {
                id: format!("{group}/{n}"),
                group: group.clone(),
                model: String::new(),
                api_base: None,
                api_key: None,
                api_version: None,
                rpm: None,
                tpm: None,
                weight: None,
                order: None,
                max_parallel_requests: None,
                timeout: None,
                max_retries: None,
                max_input_tokens: None,
                base_model: None,
                input_cost_per_token: None,
                output_cost_per_token: None,
            };
            *n += 1;
            let pp = format!("{path}.litellm_params");
            for (k, v) in params {
                let p = format!("{pp}.{k}");
                match k.as_str() {
                    "model" => d.model = self.string(&p, v)?.unwrap_or_default(),
                    "api_base" | "base_url" => d.api_base = self.string(&p, v)?,
                    "api_key" => d.api_key = self.string(&p, v)?.map(ApiKey::new),
                    "api_version" => d.api_version = self.string(&p, v)?,
                    "rpm" => d.rpm = self.count(&p, v)?,
                    "tpm" => d.tpm = self.count(&p, v)?,
                    "weight" => {
                        d.weight = self.number(&p, v)?;
                        if d.weight.is_some_and(|w| !(w >= 0.0 && w.is_finite())) {
                            return Err(bad(&p, "expected a weight >= 0"));
                        }
                    }
                    "order" => d.order = self.small(&p, v)?,
                    "max_parallel_requests" => d.max_parallel_requests = self.small(&p, v)?,
                    "timeout" => d.timeout = self.seconds(&p, v)?,
                    "stream_timeout" => {
                        self.seconds(&p, v)?;
                    }
                    "max_retries" => d.max_retries = self.small(&p, v)?,
                    "input_cost_per_token" => d.input_cost_per_token = self.usd(&p, v)?,
                    "output_cost_per_token" => d.output_cost_per_token = self.usd(&p, v)?,
                    other => {
                        debug_assert!(!DEPLOYMENT_KEYS.contains(&other));
                        warn_unknown(&mut self.warnings, &pp, other, DEPLOYMENT_KEYS_NOT_YET);
                    }
                }
            }
            if d.model.is_empty() {
                return Err(bad(&pp, "model is missing"));
            }
            if let Some(Value::Object(info)) = entry.get("model_info") {
                let ip = format!("{path}.model_info");
                for (k, v) in info {
                    let p = format!("{ip}.{k}");
                    match k.as_str() {
                        "id" => {
                            if let Some(id) = self.string(&p, v)? {
                                d.id = id;
                            }
                        }
                        "base_model" => d.base_model = self.string(&p, v)?,
                        "max_input_tokens" => d.max_input_tokens = self.count(&p, v)?,
                        "max_tokens" if d.max_input_tokens.is_none() => d.max_input_tokens = self.count(&p, v)?,
                        "input_cost_per_token" => d.input_cost_per_token = self.usd(&p, v)?,
                        "output_cost_per_token" => d.output_cost_per_token = self.usd(&p, v)?,
                        "max_tokens" | "max_output_tokens" | "mode" | "description" | "team_id" | "db_model" => {}
                        other => warn_unknown(&mut self.warnings, &ip, other, &[]),
                    }
                }
            }
            for key in entry.keys() {
                if !matches!(key.as_str(), "model_name" | "litellm_params" | "model_info") {
                    warn_unknown(&mut self.warnings, &path, key, &[]);
                }
            }
            if out.iter().any(|o| o.id == d.id) {
                return Err(bad(&path, &format!("the deployment id {:?} is used twice", d.id)));
            }
            out.push(d);
        }
        Ok(out)
    }

    fn group_map(&mut self, path: &str, v: &Value) -> Result<BTreeMap<String, Vec<String>>> {
        // LiteLLM's shape: a list of one-key mappings, `[{"gpt-4o": ["gpt-4o-mini"]}]` (a mapping is taken too)
        let mut out = BTreeMap::new();
        let items: Vec<(String, Value)> = match v {
            Value::Array(list) => list
                .iter()
                .flat_map(|item| match item {
                    Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>(),
                    _ => vec![(String::new(), Value::Null)],
                })
                .collect(),
            Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Value::Null => Vec::new(),
            _ => return Err(bad(path, "expected a list of {group: [fallback groups]}")),
        };
        for (group, targets) in items {
            if group.is_empty() {
                return Err(bad(path, "expected a list of {group: [fallback groups]}"));
            }
            let list = self.string_list(&format!("{path}.{group}"), &targets)?;
            out.entry(group).or_insert_with(Vec::new).extend(list);
        }
        Ok(out)
    }

    fn string_list(&mut self, path: &str, v: &Value) -> Result<Vec<String>> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let Some(s) = self.string(&format!("{path}[{i}]"), item)? {
                        out.push(s);
                    }
                }
                Ok(out)
            }
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Null => Ok(Vec::new()),
            _ => Err(bad(path, "expected a list of group names")),
        }
    }

    fn kind_policy(&mut self, path: &str, v: &Value) -> Result<HashMap<ErrorKind, u32>> {
        let Value::Object(m) = v else { return Err(bad(path, "expected a mapping")) };
        let mut out = HashMap::new();
        for (k, v) in m {
            let p = format!("{path}.{k}");
            let kinds: &[ErrorKind] = match k.trim_end_matches("Retries").trim_end_matches("AllowedFails") {
                "BadRequestError" => &[ErrorKind::InvalidRequest],
                "AuthenticationError" => &[ErrorKind::Auth, ErrorKind::Permission],
                "TimeoutError" => &[ErrorKind::Timeout],
                "RateLimitError" => &[ErrorKind::RateLimited],
                "ContentPolicyViolationError" => &[ErrorKind::ContentFilter],
                "InternalServerError" => &[ErrorKind::Server, ErrorKind::Overloaded, ErrorKind::Network],
                _ => {
                    warn_unknown(&mut self.warnings, path, k, &[]);
                    continue;
                }
            };
            let n = self.small(&p, v)?.unwrap_or(0);
            for kind in kinds {
                out.insert(kind.clone(), n);
            }
        }
        Ok(out)
    }

    fn redis_from(&mut self, path: &str, m: &Map<String, Value>, host_key: &str) -> Result<Option<String>> {
        let get = |k: &str| m.get(k).cloned().unwrap_or(Value::Null);
        if let Some(url) = self.string(&format!("{path}.redis_url"), &get("redis_url"))? {
            return Ok(Some(url));
        }
        if host_key != "redis_host"
            && let Some(url) = self.string(&format!("{path}.url"), &get("url"))?
        {
            return Ok(Some(url));
        }
        let port_key = if host_key == "redis_host" { "redis_port" } else { "port" };
        let password_key = if host_key == "redis_host" { "redis_password" } else { "password" };
        let Some(host) = self.string(&format!("{path}.{host_key}"), &get(host_key))? else { return Ok(None) };
        let port = self.count(&format!("{path}.{port_key}"), &get(port_key))?.unwrap_or(6379);
        let password = self.string(&format!("{path}.{password_key}"), &get(password_key))?;
        Ok(Some(match password {
            Some(p) if !p.is_empty() => {
                llm_core::register_secret(&p);
                format!("redis://:{p}@{host}:{port}/")
            }
            _ => format!("redis://{host}:{port}/"),
        }))
    }

    fn router_settings(&mut self, v: &Value, s: &mut RouterSettings) -> Result<()> {
        let Value::Object(m) = v else { return Err(bad("router_settings", "expected a mapping")) };
        let m = m.clone();
        let path = "router_settings";
        for (k, v) in &m {
            let p = format!("{path}.{k}");
            match k.as_str() {
                "routing_strategy" => {
                    if let Some(name) = self.string(&p, v)? {
                        s.strategy = Strategy::parse(&name).ok_or_else(|| {
                            bad(&p, &format!("unknown routing strategy {name:?} (simple-shuffle, least-busy, latency-based-routing, cost-based-routing, usage-based-routing, usage-based-routing-v2)"))
                        })?;
                    }
                }
                "num_retries" => s.num_retries = self.small(&p, v)?.unwrap_or(s.num_retries),
                "retry_policy" => s.retry_policy = self.kind_policy(&p, v)?,
                "allowed_fails" => s.allowed_fails = self.small(&p, v)?.unwrap_or(s.allowed_fails),
                "allowed_fails_policy" => s.allowed_fails_policy = self.kind_policy(&p, v)?,
                "cooldown_time" => s.cooldown_time = self.seconds(&p, v)?.unwrap_or(s.cooldown_time),
                "fallbacks" => s.fallbacks = self.group_map(&p, v)?,
                "default_fallbacks" => s.default_fallbacks = self.string_list(&p, v)?,
                "context_window_fallbacks" => s.context_window_fallbacks = self.group_map(&p, v)?,
                "content_policy_fallbacks" => s.content_policy_fallbacks = self.group_map(&p, v)?,
                "max_fallbacks" => s.max_fallbacks = self.count(&p, v)?.map_or(s.max_fallbacks, |n| n.min(64) as usize),
                "enable_pre_call_checks" => s.pre_call_checks = self.boolean(&p, v)?.unwrap_or(s.pre_call_checks),
                "model_group_alias" => {
                    let Value::Object(a) = v else { return Err(bad(&p, "expected a mapping")) };
                    for (alias, target) in a {
                        // LiteLLM takes a name or {model: NAME, hidden: bool}
                        let target = match target {
                            Value::Object(t) => t.get("model").cloned().unwrap_or(Value::Null),
                            other => other.clone(),
                        };
                        if let Some(t) = self.string(&format!("{p}.{alias}"), &target)? {
                            s.aliases.insert(alias.clone(), t);
                        }
                    }
                }
                "routing_strategy_args" => {
                    let Value::Object(a) = v else { return Err(bad(&p, "expected a mapping")) };
                    for (ak, av) in a {
                        let ap = format!("{p}.{ak}");
                        match ak.as_str() {
                            "lowest_latency_buffer" => {
                                s.latency_buffer = self.number(&ap, av)?.unwrap_or(0.0).clamp(0.0, 10.0)
                            }
                            "window_size" => {
                                s.latency_window = self.count(&ap, av)?.map_or(10, |n| n.clamp(1, 1000) as usize)
                            }
                            other => warn_unknown(&mut self.warnings, &p, other, &["ttl", "max_latency_list_size"]),
                        }
                    }
                }
                "timeout" => s.timeout = self.seconds(&p, v)?,
                "retry_after" => s.retry_after = self.seconds(&p, v)?.unwrap_or(Duration::ZERO),
                "rate_limit_wait" => s.rate_limit_wait = self.seconds(&p, v)?.unwrap_or(Duration::ZERO),
                "scope_limits" => {
                    let Value::Object(scopes) = v else { return Err(bad(&p, "expected a mapping")) };
                    for (scope, limits) in scopes {
                        let sp = format!("{p}.{scope}");
                        let kind = scope.split_once(':').map(|(k, n)| (k, n.is_empty()));
                        if !matches!(kind, Some(("user" | "team" | "tag", false))) {
                            return Err(bad(&sp, "a scope is user:NAME, team:NAME or tag:NAME"));
                        }
                        let Value::Object(l) = limits else { return Err(bad(&sp, "expected rpm and/or tpm")) };
                        let mut limit = ScopeLimit::default();
                        for (lk, lv) in l {
                            match lk.as_str() {
                                "rpm" => limit.rpm = self.count(&format!("{sp}.rpm"), lv)?,
                                "tpm" => limit.tpm = self.count(&format!("{sp}.tpm"), lv)?,
                                other => warn_unknown(&mut self.warnings, &sp, other, &[]),
                            }
                        }
                        s.scope_limits.insert(scope.clone(), limit);
                    }
                }
                "redis_host" | "redis_port" | "redis_password" | "redis_url" | "redis_namespace" => {}
                other => warn_unknown(&mut self.warnings, path, other, ROUTER_NOT_YET),
            }
        }
        if let Some(url) = self.redis_from(path, &m, "redis_host")? {
            let namespace = match m.get("redis_namespace") {
                Some(v) => self.string(&format!("{path}.redis_namespace"), v)?,
                None => None,
            }
            .unwrap_or_else(|| "llm-router".to_owned());
            s.redis = Some(RedisSettings { url, namespace });
        }
        Ok(())
    }

    fn litellm_settings(&mut self, v: &Value, s: &mut RouterSettings) -> Result<Option<CacheSettings>> {
        let Value::Object(m) = v else { return Err(bad("litellm_settings", "expected a mapping")) };
        let path = "litellm_settings";
        let mut cache_on = false;
        let mut cache = CacheSettings {
            redis: false,
            ttl: Duration::from_secs(600),
            namespace: None,
            max_entries: 1000,
            redis_url: None,
        };
        for (k, v) in m {
            let p = format!("{path}.{k}");
            match k.as_str() {
                "cache" => cache_on = self.boolean(&p, v)?.unwrap_or(false),
                "cache_params" => {
                    let Value::Object(c) = v else { return Err(bad(&p, "expected a mapping")) };
                    for (ck, cv) in c {
                        let cp = format!("{p}.{ck}");
                        match ck.as_str() {
                            "type" => match self.string(&cp, cv)?.as_deref() {
                                None | Some("local") | Some("in-memory") => cache.redis = false,
                                Some("redis") => cache.redis = true,
                                Some(other) => {
                                    return Err(bad(
                                        &cp,
                                        &format!("cache type {other:?} is not supported (local or redis)"),
                                    ));
                                }
                            },
                            "ttl" | "default_in_memory_ttl" | "default_in_redis_ttl" => {
                                cache.ttl = self.seconds(&cp, cv)?.unwrap_or(cache.ttl)
                            }
                            "namespace" => cache.namespace = self.string(&cp, cv)?,
                            "max_size" | "max_size_in_memory" => {
                                cache.max_entries =
                                    self.count(&cp, cv)?.map_or(cache.max_entries, |n| n.clamp(1, 10_000_000) as usize)
                            }
                            "host" | "port" | "password" | "url" | "redis_url" => {}
                            "supported_call_types" | "mode" => {}
                            other => warn_unknown(
                                &mut self.warnings,
                                &p,
                                other,
                                &["similarity_threshold", "s3_bucket_name", "qdrant_api_base", "redis_startup_nodes"],
                            ),
                        }
                    }
                    cache.redis_url = self.redis_from(&p, c, "host")?;
                }
                "num_retries" => s.num_retries = self.small(&p, v)?.unwrap_or(s.num_retries),
                "fallbacks" => s.fallbacks = self.group_map(&p, v)?,
                "context_window_fallbacks" => s.context_window_fallbacks = self.group_map(&p, v)?,
                "content_policy_fallbacks" => s.content_policy_fallbacks = self.group_map(&p, v)?,
                "allowed_fails" => s.allowed_fails = self.small(&p, v)?.unwrap_or(s.allowed_fails),
                "cooldown_time" => s.cooldown_time = self.seconds(&p, v)?.unwrap_or(s.cooldown_time),
                other => warn_unknown(&mut self.warnings, path, other, LITELLM_NOT_YET),
            }
        }
        Ok(cache_on.then_some(cache))
    }
}

fn validate(c: &RouterConfig) -> Result<()> {
    if c.deployments.is_empty() {
        return Err(Error::config("the router config's model_list is empty"));
    }
    let s = &c.settings;
    let known = |g: &str| c.deployments.iter().any(|d| d.group == g);
    for (name, map) in [
        ("fallbacks", &s.fallbacks),
        ("context_window_fallbacks", &s.context_window_fallbacks),
        ("content_policy_fallbacks", &s.content_policy_fallbacks),
    ] {
        for (group, targets) in map {
            // LiteLLM allows `*` as the group of a fallback for every group
            if group != "*" && !known(group) {
                return Err(bad(&format!("router_settings.{name}"), &format!("{group:?} is not a model_name")));
            }
            if let Some(t) = targets.iter().find(|t| !known(t)) {
                return Err(bad(&format!("router_settings.{name}.{group}"), &format!("{t:?} is not a model_name")));
            }
        }
    }
    if let Some(t) = s.default_fallbacks.iter().find(|t| !known(t)) {
        return Err(bad("router_settings.default_fallbacks", &format!("{t:?} is not a model_name")));
    }
    for (alias, target) in &s.aliases {
        if !known(target) {
            return Err(bad(
                &format!("router_settings.model_group_alias.{alias}"),
                &format!("{target:?} is not a model_name"),
            ));
        }
    }
    Ok(())
}

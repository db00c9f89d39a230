//! [`Client`]: one entry point that resolves a model once and wires providers, pricing, tracking and
//! structured output.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use llm_core::{
    ApiKey, ChatRequest, ChatResponse, ChatStream, Cost, CostStatus, EmbeddingRequest, EmbeddingResponse, Error,
    Provider, ProviderId, Result,
};
use llm_cost::{Catalog, CatalogRef, CostOptions, SharedCatalog};
use serde_json::Value;

#[cfg(feature = "router")]
mod routed;

#[cfg(feature = "providers")]
use llm_providers::{Limits, ParamPolicy, ProviderClient, RetryPolicy, Timeouts};

#[cfg(feature = "providers")]
mod responses;
mod tokens;

/// Where a model name goes: the provider and the provider-side model, resolved once for every layer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// The provider, in LiteLLM's spelling (`mock` in mock mode).
    pub provider: ProviderId,
    /// The provider-side model name.
    pub model: String,
}

/// The `provider/model` name a request is sent under when the route renamed its model (`None`: as given).
fn renamed(model: &str, route: &Route) -> Option<String> {
    let given = model.strip_prefix(route.provider.as_str()).and_then(|m| m.strip_prefix('/')).unwrap_or(model);
    (given != route.model).then(|| format!("{}/{}", route.provider, route.model))
}

/// Builds a [`Client`].
///
/// Keys come from each provider's usual environment variable unless [`ClientBuilder::api_key`] sets one.
#[must_use]
pub struct ClientBuilder {
    catalog: SharedCatalog,
    keys: HashMap<String, ApiKey>,
    api_bases: HashMap<String, String>,
    tags: Vec<String>,
    user: Option<String>,
    team: Option<String>,
    preflight: bool,
    #[cfg(feature = "providers")]
    retry: RetryPolicy,
    #[cfg(feature = "providers")]
    timeouts: Timeouts,
    #[cfg(feature = "providers")]
    limits: Limits,
    #[cfg(feature = "providers")]
    params: ParamPolicy,
    #[cfg(feature = "tracking")]
    tracker: Option<llm_tracking::Tracker>,
    #[cfg(feature = "schema")]
    max_attempts: u32,
    #[cfg(feature = "mock")]
    mock: Option<Arc<llm_core::mock::MockProvider>>,
    #[cfg(feature = "router")]
    router: Option<llm_router::RouterConfig>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("api_bases", &self.api_bases)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    fn new() -> Self {
        Self {
            catalog: SharedCatalog::embedded(),
            keys: HashMap::new(),
            api_bases: HashMap::new(),
            tags: Vec::new(),
            user: None,
            team: None,
            preflight: false,
            #[cfg(feature = "providers")]
            retry: RetryPolicy::default(),
            #[cfg(feature = "providers")]
            timeouts: Timeouts::default(),
            #[cfg(feature = "providers")]
            limits: Limits::default(),
            #[cfg(feature = "providers")]
            params: ParamPolicy::Fail,
            #[cfg(feature = "tracking")]
            tracker: None,
            #[cfg(feature = "schema")]
            max_attempts: 3,
            #[cfg(feature = "mock")]
            mock: None,
            #[cfg(feature = "router")]
            router: None,
        }
    }

    /// Prices with this catalog instead of the embedded one (a newer price file, registered models, overrides):
    /// responses, tracked records and budget estimates alike. [`Client::set_catalog`] replaces it later.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = SharedCatalog::new(catalog);
        self
    }

    /// Prices with the catalog this handle holds, shared with whatever else holds it: replacing it there
    /// ([`SharedCatalog::replace`]) re-prices this client's next calls.
    pub fn shared_catalog(mut self, catalog: SharedCatalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// Uses this key for a provider (by its LiteLLM name: `openai`, `anthropic`, ...).
    pub fn api_key(mut self, provider: &str, key: ApiKey) -> Self {
        self.keys.insert(provider.to_owned(), key);
        self
    }

    /// Sends a provider's calls to this base URL (a proxy, a local server, a fake upstream).
    pub fn api_base(mut self, provider: &str, base: impl Into<String>) -> Self {
        self.api_bases.insert(provider.to_owned(), base.into());
        self
    }

    /// Adds a tag to every call (for spend reports and tag budgets).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Attributes every call to this user, unless the request names one in `metadata["user"]`.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Attributes every call to this team, unless the request names one in `metadata["team"]`.
    pub fn team(mut self, team: impl Into<String>) -> Self {
        self.team = Some(team.into());
        self
    }

    /// Counts each request's prompt tokens before sending it (default off) and refuses, with an
    /// `ErrorKind::ContextLength` error carrying both numbers (its source is a
    /// [`llm_tokens::ContextWindowExceeded`]), one that does not fit the model's input window from the catalog
    /// (`max_input_tokens`). Exact for OpenAI models, approximate for others (`cl100k_base`); a model whose
    /// window the catalog does not know is sent unchecked.
    pub fn preflight(mut self, on: bool) -> Self {
        self.preflight = on;
        self
    }

    /// The retry policy of provider calls.
    #[cfg(feature = "providers")]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The timeouts of provider calls.
    #[cfg(feature = "providers")]
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The size limits of provider answers (one stream event, a whole body).
    #[cfg(feature = "providers")]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// What to do with parameters a provider does not take: refuse the call naming them (the default, as
    /// LiteLLM's `UnsupportedParamsError`), drop them and report each as an adjustment on the response, or
    /// send them anyway.
    #[cfg(feature = "providers")]
    pub fn param_policy(mut self, policy: ParamPolicy) -> Self {
        self.params = policy;
        self
    }

    /// LiteLLM's `drop_params`: `true` drops the parameters a provider does not take (each reported in
    /// `ChatResponse::adjustments`), `false` refuses the call (the default).
    #[cfg(feature = "providers")]
    pub fn drop_params(self, drop: bool) -> Self {
        self.param_policy(if drop { ParamPolicy::Drop } else { ParamPolicy::Fail })
    }

    /// Tracks every call: records to hooks and a store, and budgets.
    #[cfg(feature = "tracking")]
    pub fn tracker(mut self, tracker: llm_tracking::Tracker) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// The most calls a structured request makes (first attempt included). Default 3.
    #[cfg(feature = "schema")]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Serves every call from this offline mock provider, whatever the model (models are still priced from the
    /// catalog by name).
    #[cfg(feature = "mock")]
    pub fn mock(mut self, mock: llm_core::mock::MockProvider) -> Self {
        self.mock = Some(Arc::new(mock));
        self
    }

    /// Routes the config's model groups through an [`llm_router::Router`]: a request whose model names a
    /// group (or an alias) goes to one of its deployments, with the config's strategy, retries, fallbacks,
    /// cooldowns, limits and cache; other model names are resolved as usual. Each deployment's provider is
    /// built like any other (its `api_key`, else the builder's key or the provider's environment variable; its
    /// `api_base`; its `max_retries`, default 0 since the router retries across deployments) and wrapped in
    /// the tracker, so every attempt is priced and recorded, `model_group` the group's name; cache hits are
    /// recorded too, with a zero `cache_hit` cost.
    #[cfg(feature = "router")]
    pub fn router(mut self, config: llm_router::RouterConfig) -> Self {
        self.router = Some(config);
        self
    }

    /// The client. Fails on an empty key, or when a router deployment's provider cannot be built.
    pub fn build(self) -> Result<Client> {
        if let Some((p, _)) = self.keys.iter().find(|(_, k)| k.is_blank()) {
            return Err(Error::config(format!("the api key for {p} is empty")));
        }
        #[cfg(feature = "router")]
        let mut this = self;
        #[cfg(feature = "router")]
        let router_config = this.router.take();
        #[cfg(not(feature = "router"))]
        let this = self;
        let client = Client {
            inner: Arc::new(Inner {
                config: this,
                providers: RwLock::new(HashMap::new()),
                routes: RwLock::new(HashMap::new()),
                #[cfg(feature = "router")]
                router: std::sync::OnceLock::new(),
            }),
        };
        #[cfg(feature = "router")]
        if let Some(config) = router_config {
            let router = routed::build_router(&client, config)?;
            let as_provider: Arc<dyn Provider> = Arc::new(router.clone());
            let _ = client.inner.router.set((router, as_provider));
        }
        Ok(client)
    }
}

/// Built providers, by provider name and base URL.
type ProviderCache = RwLock<HashMap<(String, Option<String>), Arc<dyn Provider>>>;

/// Resolved routes with their provider, by model name: a model is resolved once per client.
type RouteCache = RwLock<HashMap<String, (Route, Arc<dyn Provider>)>>;

/// The most model names the route cache keeps (a client fed unbounded distinct names still resolves them all,
/// it just stops remembering new ones).
const MAX_CACHED_ROUTES: usize = 4096;

struct Inner {
    config: ClientBuilder,
    providers: ProviderCache,
    routes: RouteCache,
    #[cfg(feature = "router")]
    router: std::sync::OnceLock<(llm_router::Router, Arc<dyn Provider>)>,
}

/// One client over every provider, with the exact cost of every call.
///
/// It resolves a model name once (provider prefix, api_base, catalog), builds and caches one provider client per
/// provider (sharing one HTTP connection pool), prices every response from the catalog (`response.cost`), and,
/// with a tracker, records every call and enforces budgets. Cheap to clone.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llm::core::Result<()> {
/// use llm::core::{ChatRequest, Message, mock::{MockProvider, MockReply}};
///
/// let client = llm::Client::builder()
///     .mock(MockProvider::new().with_reply(MockReply::text("Paris.")))
///     .build()?;
/// let response = client.chat(ChatRequest::new("gpt-4o-mini", vec![Message::user("Capital of France?")])).await?;
/// assert_eq!(response.text(), "Paris.");
/// let cost = response.cost.expect("every response is priced");
/// assert_eq!(cost.catalog_key.as_deref(), Some("gpt-4o-mini"));
/// assert!(cost.total().is_some());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Client {
    /// A builder with the embedded catalog, keys from the environment and the SDKs' retry defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The catalog the client prices with now.
    pub fn catalog(&self) -> CatalogRef {
        self.inner.config.catalog.get()
    }

    /// Replaces the catalog for every call that starts from now on (a fresh price file), without rebuilding the
    /// client: responses, tracked records and budget estimates. Costs name the version that priced them
    /// (`Cost::catalog_version`). Returns the version replaced.
    pub fn set_catalog(&self, catalog: Catalog) -> String {
        self.inner.config.catalog.replace(catalog)
    }

    /// The client's catalog handle (shared with its tracked providers).
    pub fn shared_catalog(&self) -> &SharedCatalog {
        &self.inner.config.catalog
    }

    /// The tracker, when the client has one.
    #[cfg(feature = "tracking")]
    pub fn tracker(&self) -> Option<&llm_tracking::Tracker> {
        self.inner.config.tracker.as_ref()
    }

    fn is_mock(&self) -> bool {
        #[cfg(feature = "mock")]
        {
            self.inner.config.mock.is_some()
        }
        #[cfg(not(feature = "mock"))]
        {
            false
        }
    }

    /// Where `model` goes. In mock mode every model goes to the mock (a `mock/` prefix is allowed).
    pub fn route(&self, model: &str) -> Result<Route> {
        if self.is_mock() {
            let m = model.strip_prefix("mock/").unwrap_or(model);
            return Ok(Route { provider: ProviderId::new("mock"), model: m.to_owned() });
        }
        #[cfg(feature = "providers")]
        {
            let base = self.api_base_for(model);
            let r = llm_providers::resolve(model, base.as_deref(), &*self.catalog())?;
            Ok(Route { provider: r.provider, model: r.model })
        }
        #[cfg(not(feature = "providers"))]
        {
            Err(Error::config(format!("no provider for {model:?}: the `providers` feature is off")))
        }
    }

    #[cfg(feature = "providers")]
    fn api_base_for(&self, model: &str) -> Option<String> {
        let bases = &self.inner.config.api_bases;
        if bases.is_empty() {
            return None;
        }
        let prefix = model.split_once('/').map(|(p, _)| p);
        if let Some(b) = prefix.and_then(|p| bases.get(p)) {
            return Some(b.clone());
        }
        let provider = llm_providers::resolve(model, None, &*self.catalog()).ok()?.provider;
        bases.get(provider.as_str()).cloned()
    }

    /// The provider that serves `route`, built once and cached (wrapped in the tracker when there is one).
    fn provider(&self, route: &Route) -> Result<Arc<dyn Provider>> {
        #[cfg(feature = "providers")]
        let base = self.inner.config.api_bases.get(route.provider.as_str()).cloned();
        #[cfg(not(feature = "providers"))]
        let base: Option<String> = None;
        // Models served only by the Responses API get a client that bridges chat to it, cached apart.
        let name = if self.is_responses_only(route) {
            format!("{}+responses", route.provider.as_str())
        } else {
            route.provider.as_str().to_owned()
        };
        let key = (name, base.clone());
        if let Some(p) = self.inner.providers.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Ok(p.clone());
        }
        let built = self.build_provider(route, base)?;
        let mut cache = self.inner.providers.write().unwrap_or_else(PoisonError::into_inner);
        Ok(cache.entry(key).or_insert(built).clone())
    }

    #[cfg_attr(not(feature = "providers"), allow(unused_variables))]
    fn build_provider(&self, route: &Route, base: Option<String>) -> Result<Arc<dyn Provider>> {
        #[cfg(feature = "mock")]
        if let Some(m) = &self.inner.config.mock {
            return Ok(self.wrap(m.clone(), None));
        }
        #[cfg(feature = "providers")]
        {
            let (client, key) = self.provider_client(route, base, self.is_responses_only(route))?;
            Ok(self.wrap(Arc::new(client), key.as_ref()))
        }
        #[cfg(not(feature = "providers"))]
        {
            Err(Error::config(format!("no provider for {}: the `providers` feature is off", route.provider)))
        }
    }

    /// A provider client for `route` with the client's settings, and the API key it uses (for tracking);
    /// `responses_api` bridges chat to the Responses API.
    #[cfg(feature = "providers")]
    fn provider_client(
        &self,
        route: &Route,
        base: Option<String>,
        responses_api: bool,
    ) -> Result<(ProviderClient, Option<ApiKey>)> {
        let cfg = &self.inner.config;
        let mut b = ProviderClient::builder(route.provider.as_str())
            .retry(cfg.retry)
            .timeouts(cfg.timeouts)
            .limits(cfg.limits)
            .param_policy(cfg.params)
            .responses_api(responses_api);
        let key = cfg.keys.get(route.provider.as_str()).cloned();
        if let Some(k) = &key {
            b = b.api_key(k.clone());
        }
        if let Some(base) = base {
            b = b.api_base(base);
        }
        let key = key.or_else(|| env_key(route.provider.as_str()));
        Ok((b.build()?, key))
    }

    /// Whether `route` is an OpenAI or Azure model whose catalog row has `mode: responses` (o1-pro, the codex
    /// and `-pro` models): chat reaches it through the Responses API.
    fn is_responses_only(&self, route: &Route) -> bool {
        let provider = route.provider.as_str();
        if !matches!(provider, "openai" | "azure") || self.is_mock() {
            return false;
        }
        self.catalog().model_info(&route.model, Some(provider)).is_ok_and(|m| m.mode() == Some("responses"))
    }

    #[cfg_attr(not(feature = "tracking"), allow(unused_variables))]
    fn wrap(&self, provider: Arc<dyn Provider>, key: Option<&ApiKey>) -> Arc<dyn Provider> {
        #[cfg(feature = "tracking")]
        if let Some(t) = &self.inner.config.tracker {
            let cfg = &self.inner.config;
            let pricer = Arc::new(llm_tracking::CatalogPricer::shared(cfg.catalog.clone()));
            let mut tracked = t.wrap(provider).with_pricer(pricer).with_defaults(
                cfg.user.clone(),
                cfg.team.clone(),
                cfg.tags.clone(),
            );
            if let Some(k) = key {
                tracked = tracked.with_api_key(k);
            }
            return Arc::new(tracked);
        }
        provider
    }

    /// Adds the client's default tags, user and team to a request, when it has no tracker: a tracker applies
    /// them to its records and budgets itself (`Tracked::with_defaults`), without touching the request.
    fn decorate(&self, mut request: ChatRequest) -> ChatRequest {
        let cfg = &self.inner.config;
        // The tracker takes the defaults itself; a router group still gets them, for its per-caller limits.
        #[cfg(feature = "tracking")]
        if cfg.tracker.is_some() && !self.is_router_group(request.model.as_str()) {
            return request;
        }
        for t in &cfg.tags {
            if !request.tags.contains(t) {
                request.tags.push(t.clone());
            }
        }
        if let Some(u) = &cfg.user {
            request.metadata.entry("user".into()).or_insert_with(|| Value::String(u.clone()));
        }
        if let Some(t) = &cfg.team {
            request.metadata.entry("team".into()).or_insert_with(|| Value::String(t.clone()));
        }
        request
    }

    /// Prices a response from the catalog: the provider-reported cost where LiteLLM uses it, `unknown_model`
    /// or `unpriced` (never a silent zero) when the catalog cannot price it.
    pub fn price(&self, request: &ChatRequest, response: &ChatResponse) -> Cost {
        let mut opts = CostOptions::default();
        if let Some(tier) = &request.service_tier {
            opts = opts.with_service_tier(tier.as_str());
        }
        // The mock stands in for real models: its responses are priced by model name alone.
        let provider = response.provider.as_ref().map(ProviderId::as_str).filter(|p| *p != "mock");
        let requested = request.model.as_str();
        let requested = requested.strip_prefix("mock/").unwrap_or(requested);
        self.catalog().price_response(requested, response, provider, &opts)
    }

    /// The provider of a request's model, resolved once and then taken from the cache, and the request as that
    /// provider is to receive it: when the catalog renamed the model (a `*-latest` alias is sent as its target,
    /// as LiteLLM's `get_llm_provider` renames it), the route's name replaces the requested one.
    fn routed(&self, mut request: ChatRequest) -> Result<(Arc<dyn Provider>, ChatRequest)> {
        let (provider, rename) = self.provider_for(request.model.as_str())?;
        if let Some(m) = rename {
            request.model = llm_core::ModelId::new(m);
        }
        Ok((provider, request))
    }

    /// Whether `model` names a model group of the client's router config.
    #[cfg(feature = "tracking")]
    fn is_router_group(&self, model: &str) -> bool {
        #[cfg(feature = "router")]
        if let Some((r, _)) = self.inner.router.get() {
            return r.has_group(model);
        }
        let _ = model;
        false
    }

    /// The router, when the client was built with a router config.
    #[cfg(feature = "router")]
    pub fn router(&self) -> Option<&llm_router::Router> {
        self.inner.router.get().map(|(r, _)| r)
    }

    /// The provider for a model name, and the name to send when the catalog renames it (an alias's target).
    fn provider_for(&self, model: &str) -> Result<(Arc<dyn Provider>, Option<String>)> {
        #[cfg(feature = "router")]
        if let Some((r, p)) = self.inner.router.get()
            && r.has_group(model)
        {
            return Ok((p.clone(), None));
        }
        let hit = self
            .inner
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
            .map(|(route, p)| (p.clone(), renamed(model, route)));
        let (provider, rename) = match hit {
            Some(hit) => hit,
            None => {
                let route = self.route(model)?;
                let provider = self.provider(&route)?;
                let rename = renamed(model, &route);
                let mut cache = self.inner.routes.write().unwrap_or_else(PoisonError::into_inner);
                if cache.len() < MAX_CACHED_ROUTES {
                    cache.insert(model.to_owned(), (route, provider.clone()));
                }
                (provider, rename)
            }
        };
        Ok((provider, rename))
    }

    /// One completion, priced (`response.cost`) and, with a tracker, recorded and budgeted.
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let (provider, request) = self.routed(request)?;
        self.preflight(&request)?;
        let request = self.decorate(request);
        let mut response = provider.chat(&request).await?;
        if response.cost.is_none() {
            response.cost = Some(self.price(&request, &response));
        }
        Ok(response)
    }

    /// Embeddings of one or many texts, priced from the catalog's embedding rows (`response.cost`: the prompt
    /// tokens at the model's input price, as LiteLLM's `completion_cost` prices embeddings) and, with a tracker,
    /// recorded (call type `embedding`) and budgeted like chat.
    pub async fn embed(&self, mut request: EmbeddingRequest) -> Result<EmbeddingResponse> {
        let (provider, rename) = self.provider_for(request.model.as_str())?;
        if let Some(m) = rename {
            request.model = llm_core::ModelId::new(m);
        }
        let mut response = provider.embed(&request).await?;
        if response.cost.is_none() {
            response.cost = Some(self.price_embedding(&request, &response));
        }
        Ok(response)
    }

    /// Prices an embedding response from the catalog: its usage on the served model, else on the requested
    /// one; `unknown_model` or `unpriced` (never a silent zero) when the catalog cannot price it.
    pub fn price_embedding(&self, request: &EmbeddingRequest, response: &EmbeddingResponse) -> Cost {
        let provider = response.provider.as_ref().map(ProviderId::as_str).filter(|p| *p != "mock");
        let usage = response.usage.unwrap_or_default();
        let opts = CostOptions::default();
        let catalog = self.catalog();
        let requested = request.model.as_str();
        let requested = requested.strip_prefix("mock/").unwrap_or(requested);
        let price = |model: &str| catalog.cost_per_token(model, provider, &usage, &opts).ok();
        match price(&response.model) {
            Some(c) if c.status != CostStatus::UnknownModel => c,
            served => price(requested)
                .filter(|c| c.status != CostStatus::UnknownModel)
                .or(served)
                .unwrap_or_else(|| Cost::unknown(CostStatus::UnknownModel)),
        }
    }

    /// One streamed completion. With a tracker the call is priced and recorded when the stream ends; either
    /// way [`Client::collect`] assembles it into the priced response `chat` would have returned.
    pub async fn stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let (provider, request) = self.routed(request)?;
        self.preflight(&request)?;
        let request = self.decorate(request);
        provider.stream(&request).await
    }

    /// Drains a stream from [`Client::stream`] into the priced response.
    pub async fn collect(&self, request: &ChatRequest, stream: ChatStream) -> Result<ChatResponse> {
        let response = llm_core::collect_stream(stream).await?;
        self.finish_streamed(request, response)
    }

    /// Names and prices a response assembled from a stream of [`Client::stream`] (what [`Client::collect`]
    /// does after draining it): by the model asked for, or, for a routed call, by the deployment that served
    /// it; a cache hit costs a known zero (`cache_hit`).
    pub fn finish_streamed(&self, request: &ChatRequest, mut response: ChatResponse) -> Result<ChatResponse> {
        let served = response.routing.as_ref().and_then(|r| r.attempts.last());
        if served.is_some_and(|a| a.outcome == "cache_hit") {
            response.cost = Some(Cost::new(llm_core::CostStatus::CacheHit, Default::default()));
            return Ok(response);
        }
        let model = served.map_or_else(|| request.model.as_str().to_owned(), |a| a.model.clone());
        let route = self.route(&model)?;
        if response.model.is_empty() {
            response.model = route.model.clone();
        }
        if response.provider.is_none() {
            response.provider = Some(route.provider.clone());
        }
        let mut priced = request.clone();
        priced.model = model.as_str().into();
        response.cost = Some(self.price(&priced, &response));
        Ok(response)
    }

    /// What structured output can rely on for a model, from the catalog's capability flags.
    #[cfg(feature = "schema")]
    pub fn capabilities(&self, model: &str) -> llm_schema::Capabilities {
        let route = self.route(model).ok();
        let provider = route.as_ref().map(|r| r.provider.as_str()).filter(|p| *p != "mock");
        let name = route.as_ref().map_or(model, |r| r.model.as_str());
        let c = self.catalog();
        let schema = c.supports_response_schema(name, provider);
        let tools = c.supports_function_calling(name, provider);
        // JSON mode: every OpenAI-family and Gemini model has it; Anthropic and Bedrock do not.
        let json_mode = !matches!(provider, Some("anthropic" | "bedrock"));
        llm_schema::Capabilities::new(schema, tools, json_mode)
    }

    /// Asks for a `T` and returns it validated: the strategy chosen from the model's capabilities, repairs
    /// included, usage and cost added up over the attempts.
    #[cfg(feature = "schema")]
    pub async fn structured<T>(&self, request: ChatRequest) -> Result<llm_schema::Structured<T>, llm_schema::Error>
    where
        T: schemars::JsonSchema + serde::de::DeserializeOwned + 'static,
    {
        let options = llm_schema::Options::new(llm_schema::Strategy::Auto)
            .with_capabilities(self.capabilities(request.model.as_str()))
            .with_max_attempts(self.inner.config.max_attempts);
        llm_schema::generate::<T, _>(&Priced { client: self.clone() }, request, &options).await
    }

    /// Like [`Client::structured`], for a schema given as JSON, with an explicit strategy.
    #[cfg(feature = "schema")]
    pub async fn structured_value(
        &self,
        request: ChatRequest,
        spec: &llm_schema::SchemaSpec,
        strategy: llm_schema::Strategy,
    ) -> Result<llm_schema::Structured<Value>, llm_schema::Error> {
        let options = llm_schema::Options::new(strategy)
            .with_capabilities(self.capabilities(request.model.as_str()))
            .with_max_attempts(self.inner.config.max_attempts);
        llm_schema::generate_value(&Priced { client: self.clone() }, request, spec, &options).await
    }

    /// Waits until every tracked record is written (call before exiting); returns how many were written.
    #[cfg(feature = "tracking")]
    pub async fn flush(&self) -> llm_tracking::Result<u64> {
        match &self.inner.config.tracker {
            Some(t) => t.flush().await,
            None => Ok(0),
        }
    }
}

/// The client seen as a [`Provider`], so llm-schema's loop goes through routing, pricing and tracking.
struct Priced {
    client: Client,
}

static PRICED_ID: std::sync::LazyLock<ProviderId> = std::sync::LazyLock::new(|| ProviderId::new("llm"));

#[async_trait::async_trait]
impl Provider for Priced {
    fn id(&self) -> &ProviderId {
        &PRICED_ID
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        self.client.chat(request.clone()).await
    }

    async fn stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        self.client.stream(request.clone()).await
    }
}

#[cfg(feature = "providers")]
fn env_key(provider: &str) -> Option<ApiKey> {
    let spec = llm_providers::provider_spec(provider)?;
    spec.key_env.iter().find_map(|v| std::env::var(v).ok()).filter(|k| !k.trim().is_empty()).map(ApiKey::new)
}

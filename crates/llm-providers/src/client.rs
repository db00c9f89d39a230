//! [`ProviderClient`]: one provider behind the [`llm_core::Provider`] trait, with the shared HTTP machinery
//! (timeouts, retries with backoff and server hints, streaming with an idle timeout, parameter checks).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use llm_core::{
    Adjustment, ApiKey, ChatRequest, ChatResponse, ChatStream, EmbeddingRequest, EmbeddingResponse, Error, ErrorKind,
    ModelDirectory, Provider, ProviderId, Result, Retry, StreamEvent,
};
use tracing::Instrument;

use crate::adapter::{Adapter, HttpCall, StreamDecoder};
use crate::config::{Limits, ParamPolicy, RetryPolicy, Timeouts};
use crate::framing::{Frame, Framer, Framing};
use crate::params;
use crate::registry::{Dialect, ProviderSpec, provider_spec};
use crate::resolve::{Resolved, resolve};

mod responses;

/// A provider client: cheap to clone (an `Arc` inside), shares one `reqwest::Client`.
///
/// Build one with [`ProviderClient::builder`] (a provider name) or [`ProviderClient::for_model`] (a model
/// name resolved the way LiteLLM does).
#[derive(Clone)]
pub struct ProviderClient {
    inner: Arc<Inner>,
}

struct Inner {
    id: ProviderId,
    adapter: Box<dyn Adapter>,
    http: reqwest::Client,
    timeouts: Timeouts,
    limits: Limits,
    retry: RetryPolicy,
    params: ParamPolicy,
    wire_cache: std::sync::Mutex<WireCache>,
    /// Vertex AI with a service account: the access tokens added to every call.
    tokens: Option<Arc<crate::vertex::auth::TokenSource>>,
}

impl std::fmt::Debug for ProviderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderClient")
            .field("provider", &self.inner.id)
            .field("timeouts", &self.inner.timeouts)
            .field("limits", &self.inner.limits)
            .field("retry", &self.inner.retry)
            .field("params", &self.inner.params)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ProviderClient`]. `build()` returns the first configuration error.
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    provider: String,
    api_key: Option<ApiKey>,
    api_base: Option<String>,
    timeouts: Timeouts,
    limits: Limits,
    retry: RetryPolicy,
    params: ParamPolicy,
    http: Option<reqwest::Client>,
    headers: Vec<(String, String)>,
    anthropic_version: Option<String>,
    azure_api_version: Option<String>,
    aws_region: Option<String>,
    aws_credentials: Option<crate::bedrock::AwsCredentials>,
    responses_api: bool,
    vertex: VertexSettings,
}

/// Vertex AI settings of a [`ClientBuilder`] (unset ones come from the environment).
#[derive(Debug, Clone, Default)]
struct VertexSettings {
    project: Option<String>,
    location: Option<String>,
    credentials: Option<crate::vertex::auth::ServiceAccountKey>,
}

impl ProviderClient {
    /// A builder for the provider with this canonical name (see [`crate::registry::PROVIDERS`]).
    pub fn builder(provider: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            provider: provider.into(),
            api_key: None,
            api_base: None,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            retry: RetryPolicy::default(),
            params: ParamPolicy::default(),
            http: None,
            headers: Vec::new(),
            anthropic_version: None,
            azure_api_version: None,
            aws_region: None,
            aws_credentials: None,
            responses_api: false,
            vertex: VertexSettings::default(),
        }
    }

    /// Resolves `model` ([`resolve`]) and builds a client for its provider with the key from the provider's
    /// usual environment variable and default settings. Returns the client and the resolution.
    pub fn for_model(
        model: &str,
        api_base: Option<&str>,
        directory: &dyn ModelDirectory,
    ) -> Result<(ProviderClient, Resolved)> {
        let resolved = resolve(model, api_base, directory)?;
        let mut b = ProviderClient::builder(resolved.provider.as_str());
        if let Some(base) = api_base {
            b = b.api_base(base);
        }
        Ok((b.build()?, resolved))
    }

    /// The provider-side model name for a request model: the provider's own `name/` prefix is removed.
    pub fn provider_model<'a>(&self, model: &'a str) -> &'a str {
        strip_prefix(self.inner.id.as_str(), model)
    }

    /// The HTTP call this client would make for `request` (after the parameter policy), without sending it.
    pub fn prepare(&self, request: &ChatRequest, stream: bool) -> Result<HttpCall> {
        let model = self.provider_model(request.model.as_str());
        let prepared = params::prepare(self.inner.id.as_str(), model, request, self.inner.params)?;
        self.inner.adapter.build(&prepared.request, model, stream)
    }

    /// The adapter (for pure encode/decode use).
    pub fn adapter(&self) -> &dyn Adapter {
        self.inner.adapter.as_ref()
    }
}

fn strip_prefix<'a>(provider: &str, model: &'a str) -> &'a str {
    model.strip_prefix(provider).and_then(|rest| rest.strip_prefix('/')).unwrap_or(model)
}

impl ClientBuilder {
    /// Sets the API key (otherwise it is read from the provider's environment variable).
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.api_key = Some(key);
        self
    }

    /// Points the client elsewhere: the URL replaces the provider's scheme, host and port, and, when it has a
    /// path, the path prefix before the provider's own API path (DESIGN.md, `--api-base`).
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = Some(base.into());
        self
    }

    /// Sets the timeouts.
    pub fn timeouts(mut self, t: Timeouts) -> Self {
        self.timeouts = t;
        self
    }

    /// Sets the size limits of answers (stream events, whole bodies).
    pub fn limits(mut self, l: Limits) -> Self {
        self.limits = l;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, r: RetryPolicy) -> Self {
        self.retry = r;
        self
    }

    /// Sets what happens to parameters the provider does not accept.
    pub fn param_policy(mut self, p: ParamPolicy) -> Self {
        self.params = p;
        self
    }

    /// Uses this `reqwest::Client` (its own connect timeout then applies).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Adds a header to every call.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Anthropic only: the `anthropic-version` (default [`crate::anthropic::DEFAULT_VERSION`]).
    pub fn anthropic_version(mut self, v: impl Into<String>) -> Self {
        self.anthropic_version = Some(v.into());
        self
    }

    /// Azure only: the `api-version` (default `AZURE_API_VERSION`, else [`crate::azure::DEFAULT_API_VERSION`];
    /// `v1` selects the v1 URL style).
    pub fn azure_api_version(mut self, v: impl Into<String>) -> Self {
        self.azure_api_version = Some(v.into());
        self
    }

    /// Bedrock only: the AWS region (default `AWS_REGION`, then `AWS_DEFAULT_REGION`).
    pub fn aws_region(mut self, region: impl Into<String>) -> Self {
        self.aws_region = Some(region.into());
        self
    }

    /// Bedrock only: SigV4 credentials (default `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`).
    pub fn aws_credentials(mut self, c: crate::bedrock::AwsCredentials) -> Self {
        self.aws_credentials = Some(c);
        self
    }

    /// OpenAI and Azure only: serve `chat` and `stream` through the Responses API
    /// ([`crate::responses::ResponsesBridge`]), for models that exist only there (the catalog's
    /// `mode: responses` rows). `build()` fails for a provider without that API.
    pub fn responses_api(mut self, on: bool) -> Self {
        self.responses_api = on;
        self
    }

    /// Vertex AI only: the Google Cloud project (default `VERTEXAI_PROJECT`, then `VERTEX_PROJECT`, then the
    /// service-account key's `project_id`).
    pub fn vertex_project(mut self, project: impl Into<String>) -> Self {
        self.vertex.project = Some(project.into());
        self
    }

    /// Vertex AI only: the location (default `VERTEXAI_LOCATION`, then `VERTEX_LOCATION`, then
    /// [`crate::vertex::DEFAULT_LOCATION`]); `global` calls the global endpoint.
    pub fn vertex_location(mut self, location: impl Into<String>) -> Self {
        self.vertex.location = Some(location.into());
        self
    }

    /// Vertex AI only: the service-account key (default: the file or JSON in `VERTEXAI_CREDENTIALS`, then the
    /// file in `GOOGLE_APPLICATION_CREDENTIALS`). An api key, when given, is used as an access token instead.
    pub fn vertex_credentials(mut self, key: crate::vertex::auth::ServiceAccountKey) -> Self {
        self.vertex.credentials = Some(key);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<ProviderClient> {
        let spec = provider_spec(&self.provider).ok_or_else(|| {
            Error::config(format!("unknown provider {:?} (llm-providers knows: {})", self.provider, known_names()))
        })?;
        let key = self.api_key.clone().or_else(|| env_key(spec));
        if spec.key_required && key.as_ref().is_none_or(ApiKey::is_blank) {
            return Err(Error::config(format!(
                "no api key for {}: set {} or pass one explicitly",
                spec.name,
                spec.key_env.join(" or ")
            ))
            .with_provider(spec.name));
        }
        let (mut adapter, vertex_key) = match spec.dialect {
            Dialect::Vertex => self.vertex_adapter(key)?,
            _ => (self.adapter(spec, key)?, None),
        };
        if self.responses_api {
            adapter = Box::new(crate::responses::ResponsesBridge::new(adapter)?);
        }
        let plain_http = self.plain_http(spec);
        let http = match self.http {
            Some(c) => c,
            None => {
                let mut b = reqwest::Client::builder().connect_timeout(self.timeouts.connect).tcp_nodelay(true);
                if plain_http {
                    // Loading the system's root certificates is 1.5-2 ms, most of a new client's first call to a
                    // local server; a plain-http base never needs them (a redirect to https then fails to verify).
                    b = b.tls_certs_only(std::iter::empty());
                }
                b.build().map_err(|e| Error::config(format!("cannot build the http client: {e}")).with_source(e))?
            }
        };
        let tokens = match vertex_key {
            Some(k) => {
                let timeout = self.timeouts.request.min(Duration::from_secs(60));
                Some(Arc::new(crate::vertex::auth::TokenSource::new(k, http.clone(), timeout)?))
            }
            None => None,
        };
        Ok(ProviderClient {
            inner: Arc::new(Inner {
                id: ProviderId::new(spec.name),
                adapter,
                http,
                timeouts: self.timeouts,
                limits: self.limits,
                retry: self.retry,
                params: self.params,
                wire_cache: std::sync::Mutex::default(),
                tokens,
            }),
        })
    }

    /// Whether the base URL this client calls is plain `http://` (a local server). Azure and Bedrock count only
    /// with an explicit api base.
    fn plain_http(&self, spec: &'static ProviderSpec) -> bool {
        let base = match spec.dialect {
            Dialect::Azure | Dialect::Bedrock | Dialect::Vertex => self.api_base.clone(),
            _ => crate::registry::base_for(spec, self.api_base.as_deref(), env_any).ok(),
        };
        base.is_some_and(|b| b.trim_start().get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://")))
    }

    /// The Vertex AI adapter, and the service-account key whose tokens authenticate it (none when an api key
    /// is given: it is the access token).
    fn vertex_adapter(
        &self,
        key: Option<ApiKey>,
    ) -> Result<(Box<dyn Adapter>, Option<crate::vertex::auth::ServiceAccountKey>)> {
        use crate::vertex::{self, VertexAuth, auth::ServiceAccountKey};
        let (auth, account) = match key.filter(|k| !k.is_blank()) {
            Some(token) => (VertexAuth::AccessToken(token), None),
            None => {
                let account = match &self.vertex.credentials {
                    Some(k) => k.clone(),
                    None => match env_any(vertex::CREDENTIALS_ENV) {
                        Some(v) => ServiceAccountKey::from_path_or_json(&v)?,
                        None => {
                            return Err(Error::config(format!(
                                "no credentials for vertex_ai: set {} to a service-account key file, or pass an access token as the api key",
                                vertex::CREDENTIALS_ENV.join(" or ")
                            ))
                            .with_provider("vertex_ai"));
                        }
                    },
                };
                (VertexAuth::ServiceAccount, Some(account))
            }
        };
        let project = self
            .vertex
            .project
            .clone()
            .or_else(|| env_any(vertex::PROJECT_ENV))
            .or_else(|| account.as_ref().and_then(|a| a.project_id.clone()))
            .ok_or_else(|| {
                Error::config(format!("vertex_ai needs a project: set {}", vertex::PROJECT_ENV.join(" or ")))
                    .with_provider("vertex_ai")
            })?;
        let location = self
            .vertex
            .location
            .clone()
            .or_else(|| env_any(vertex::LOCATION_ENV))
            .unwrap_or_else(|| vertex::DEFAULT_LOCATION.to_owned());
        let adapter =
            vertex::VertexAdapter::new(&project, &location, self.api_base.as_deref(), auth, self.headers.clone())?;
        Ok((Box::new(adapter), account))
    }

    fn adapter(&self, spec: &'static ProviderSpec, key: Option<ApiKey>) -> Result<Box<dyn Adapter>> {
        let base = || crate::registry::base_for(spec, self.api_base.as_deref(), env_any);
        Ok(match spec.dialect {
            Dialect::OpenAiCompatible(q) => {
                let mut a = crate::openai::OpenAiAdapter::new(spec.name, &base()?, key, q);
                for (k, v) in &self.headers {
                    a = a.with_header(k, v);
                }
                Box::new(a)
            }
            Dialect::Azure => {
                let base = self
                    .api_base
                    .clone()
                    .or_else(|| env_any(&["AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT"]))
                    .ok_or_else(|| {
                        Error::config("azure needs an api base: set AZURE_API_BASE or pass one").with_provider("azure")
                    })?;
                let version = self
                    .azure_api_version
                    .clone()
                    .or_else(|| env_any(&["AZURE_API_VERSION", "OPENAI_API_VERSION"]))
                    .unwrap_or_else(|| crate::azure::DEFAULT_API_VERSION.to_owned());
                Box::new(crate::azure::AzureAdapter::new(&base, key, &version, self.headers.clone()))
            }
            Dialect::Anthropic => {
                let version =
                    self.anthropic_version.clone().unwrap_or_else(|| crate::anthropic::DEFAULT_VERSION.to_owned());
                Box::new(crate::anthropic::AnthropicAdapter::new(&base()?, key, &version, self.headers.clone()))
            }
            Dialect::Gemini => Box::new(crate::gemini::GeminiAdapter::new(&base()?, key, self.headers.clone())),
            Dialect::Ollama => {
                Box::new(crate::ollama::OllamaAdapter::new(spec.name, &base()?, key, self.headers.clone()))
            }
            Dialect::Bedrock => {
                let region = self
                    .aws_region
                    .clone()
                    .or_else(|| env_any(&["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_REGION_NAME"]))
                    .ok_or_else(|| {
                        Error::config("bedrock needs a region: set AWS_REGION or pass one").with_provider("bedrock")
                    })?;
                let default = format!("https://bedrock-runtime.{region}.amazonaws.com");
                let base = base_url(&default, self.api_base.as_deref())?;
                let auth = match (key, self.aws_credentials.clone().or_else(crate::bedrock::AwsCredentials::from_env)) {
                    (Some(k), _) if !k.is_blank() => crate::bedrock::BedrockAuth::Bearer(k),
                    (_, Some(c)) => crate::bedrock::BedrockAuth::SigV4(c),
                    _ => {
                        return Err(Error::config(
                            "no credentials for bedrock: set AWS_BEARER_TOKEN_BEDROCK or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                        )
                        .with_provider("bedrock"));
                    }
                };
                Box::new(crate::bedrock::BedrockAdapter::new(&base, &region, auth, self.headers.clone()))
            }
            Dialect::Vertex => self.vertex_adapter(key)?.0,
        })
    }
}

fn known_names() -> String {
    crate::registry::provider_names().collect::<Vec<_>>().join(", ")
}

fn env_any(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}

fn env_key(spec: &ProviderSpec) -> Option<ApiKey> {
    env_any(spec.key_env).map(ApiKey::new)
}

/// Applies an api_base override to a provider's default base URL (see [`ClientBuilder::api_base`]).
pub fn base_url(default: &str, api_base: Option<&str>) -> Result<String> {
    let Some(base) = api_base.map(str::trim).filter(|b| !b.is_empty()) else {
        if default.is_empty() {
            return Err(Error::config("this provider needs an api base"));
        }
        return Ok(default.trim_end_matches('/').to_owned());
    };
    let url = reqwest::Url::parse(base).map_err(|e| Error::config(format!("invalid api base {base:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::config(format!("invalid api base {base:?}: expected an http(s) url with a host")));
    }
    let path = url.path().trim_end_matches('/');
    let origin = url.origin().ascii_serialization();
    if path.is_empty() {
        let default_path =
            reqwest::Url::parse(default).map(|d| d.path().trim_end_matches('/').to_owned()).unwrap_or_default();
        Ok(format!("{origin}{default_path}"))
    } else {
        Ok(format!("{origin}{path}"))
    }
}

// ---------------------------------------------------------------------------------------------------------
// Calls

fn network_error(e: &reqwest::Error) -> Error {
    let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Network };
    let what = if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    Error::new(kind, format!("{what}: {detail}"))
}

fn unit_random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    #[expect(clippy::cast_precision_loss, reason = "53 random bits are plenty for jitter")]
    let v = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
    v
}

/// An [`HttpCall`] in reqwest's types, built once per call and reused by every attempt.
struct Wire {
    url: reqwest::Url,
    headers: reqwest::header::HeaderMap,
    body: Bytes,
}

/// The URL and headers of the last call, in reqwest's types. Most calls through one client repeat both, and
/// parsing a URL and validating header values again costs about a microsecond a call. Calls whose URL or
/// headers change (Gemini's per-model URLs, Bedrock's signed headers) miss and replace the entry.
#[derive(Default)]
struct WireCache {
    url: Option<(String, reqwest::Url)>,
    headers: Option<(Vec<(String, String)>, reqwest::header::HeaderMap)>,
}

impl Wire {
    fn new(call: HttpCall, cache: &std::sync::Mutex<WireCache>) -> Result<Self> {
        let (url, headers) = {
            let cached = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let url = cached.url.as_ref().filter(|(s, _)| *s == call.url).map(|(_, u)| u.clone());
            let headers = cached.headers.as_ref().filter(|(h, _)| *h == call.headers).map(|(_, m)| m.clone());
            (url, headers)
        };
        let url = match url {
            Some(u) => u,
            None => {
                let u = reqwest::Url::parse(&call.url)
                    .map_err(|e| Error::config(format!("invalid url {:?}: {e}", call.url)))?;
                cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).url = Some((call.url, u.clone()));
                u
            }
        };
        let headers = match headers {
            Some(h) => h,
            None => {
                let h = header_map(&call.headers)?;
                cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).headers =
                    Some((call.headers, h.clone()));
                h
            }
        };
        Ok(Self { url, headers, body: Bytes::from(call.body) })
    }
}

/// Headers in reqwest's types; credentials are marked sensitive (never printed by reqwest or hyper).
fn header_map(pairs: &[(String, String)]) -> Result<reqwest::header::HeaderMap> {
    use reqwest::header::{HeaderName, HeaderValue};
    let mut headers = reqwest::header::HeaderMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|e| Error::config(format!("invalid header name {k:?}: {e}")))?;
        let mut value =
            HeaderValue::from_str(v).map_err(|_| Error::config(format!("invalid value for header {k:?}")))?;
        if matches!(name.as_str(), "authorization" | "x-api-key" | "api-key" | "x-goog-api-key") {
            value.set_sensitive(true);
        }
        headers.append(name, value);
    }
    Ok(headers)
}

impl Inner {
    fn request(&self, w: &Wire) -> reqwest::RequestBuilder {
        self.http.post(w.url.clone()).headers(w.headers.clone()).body(w.body.clone())
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries run out. Returns the value with the
    /// attempts that were retried before it; a final error carries them too ([`Error::retries`]).
    async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<(T, Vec<Retry>)>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut retries: Vec<Retry> = Vec::new();
        loop {
            match attempt().await {
                Ok(v) => return Ok((v, retries)),
                Err(e) => {
                    let retry = u32::try_from(retries.len()).unwrap_or(u32::MAX);
                    if retry >= self.retry.max_retries || !e.is_retryable() || e.kind() == &ErrorKind::QuotaExceeded {
                        return Err(e.with_retries(retries));
                    }
                    let wait = match e.retry_after() {
                        Some(d) if d > self.retry.max_retry_after || d >= crate::errors::MAX_RETRY_HINT => {
                            return Err(e.with_retries(retries));
                        }
                        Some(d) if !d.is_zero() => d,
                        _ => self.retry.backoff(retry, unit_random()),
                    };
                    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    tracing::debug!(provider = %self.id, retry = retry + 1, wait_ms, error = %e, "retrying");
                    retries.push(Retry::new(retry + 1, e.kind().clone(), e.status(), wait_ms, e.message()));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// The parameter policy applied to `request`, and every change made to it on the way: the parameters
    /// dropped, then what the adapter renames or rewrites.
    fn prepare<'a>(&self, request: &'a ChatRequest, model: &str) -> Result<(params::Prepared<'a>, Vec<Adjustment>)> {
        let prepared = params::prepare(self.id.as_str(), model, request, self.params)?;
        let mut adjustments: Vec<Adjustment> = prepared
            .dropped
            .iter()
            .map(|p| Adjustment::param_dropped(*p, format!("{} does not take it for {model}", self.id)))
            .collect();
        adjustments.extend(self.adapter.adjustments(&prepared.request, model));
        Ok((prepared, adjustments))
    }

    /// Adds the access token to a call when the provider's credentials mint them (Vertex AI with a service
    /// account): the cached token, or a new one fetched with the client's retry policy. Returns the token
    /// requests that were retried.
    async fn authorize(&self, call: &mut HttpCall, model: &str) -> Result<Vec<Retry>> {
        let Some(tokens) = &self.tokens else { return Ok(Vec::new()) };
        let (token, retries) = self.with_retries(|| tokens.token()).await.map_err(|e| context(e, &self.id, model))?;
        call.headers.push(("authorization".to_owned(), format!("Bearer {}", token.expose())));
        Ok(retries)
    }

    /// Forgets a minted access token the API answered 401 to (revoked, or expired early), so the next call
    /// fetches a new one. Returns the error.
    fn refused(&self, e: Error) -> Error {
        if let Some(tokens) = &self.tokens
            && e.status() == Some(401)
        {
            tokens.invalidate();
        }
        e
    }

    /// Sends one attempt and returns a 2xx response, or the mapped error (its body read). No timeout here.
    async fn send_once(&self, w: &Wire, model: &str) -> Result<reqwest::Response> {
        let resp = self.request(w).send().await.map_err(|e| network_error(&e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        let body = read_prefix(resp, MAX_ERROR_BODY).await;
        let e = self.adapter.error(model, status, &headers, &body);
        if status == 404 {
            return Err(crate::errors::with_request_line(e, "POST", &w.url));
        }
        Err(e)
    }

    /// One streaming attempt: the response head (or the error) within the request timeout.
    async fn send(&self, w: &Wire, model: &str) -> Result<reqwest::Response> {
        match tokio::time::timeout(self.timeouts.request, self.send_once(w, model)).await {
            Err(_) => Err(timeout_error(self.timeouts.request, "waiting for the response")),
            Ok(r) => r,
        }
    }

    /// One non-streamed attempt: sending, the whole body and decoding, the first two within the request
    /// timeout.
    async fn chat_once(&self, w: &Wire, model: &str) -> Result<ChatResponse> {
        let body = self.answer_once(w, model).await?.body;
        let mut r = self.adapter.decode(&body, model)?;
        r.provider = Some(self.id.clone());
        if r.model.is_empty() {
            r.model = model.to_owned();
        }
        Ok(r)
    }
}

impl Inner {
    /// One non-streamed attempt's answer, headers and whole body, within the request timeout.
    async fn answer_once(&self, w: &Wire, model: &str) -> Result<crate::embed::EmbedAnswer> {
        let deadline = self.timeouts.request;
        let run = async {
            let resp = self.send_once(w, model).await?;
            let headers = resp.headers().clone();
            Ok(crate::embed::EmbedAnswer::new(headers, read_capped(resp, self.limits.max_body_bytes).await?))
        };
        match tokio::time::timeout(deadline, run).await {
            Err(_) => Err(timeout_error(deadline, "the whole request")),
            Ok(r) => r,
        }
    }

    /// One non-streamed attempt's whole 2xx body, sending and reading within the request timeout.
    async fn body_once(&self, w: &Wire, model: &str) -> Result<Vec<u8>> {
        Ok(self.answer_once(w, model).await?.body)
    }

    /// An embedding request: its calls one after the other (each with its retries), then one decode.
    async fn embed(&self, request: &EmbeddingRequest, model: &str) -> Result<EmbeddingResponse> {
        if request.input.is_empty() {
            return Err(Error::new(ErrorKind::InvalidRequest, "an embedding request needs at least one input text"));
        }
        let adjustments = self.adapter.embed_adjustments(request, model);
        let calls = self.adapter.build_embed(request, model)?;
        let mut answers = Vec::with_capacity(calls.len());
        let mut retries = Vec::new();
        for call in calls {
            let wire = Wire::new(call, &self.wire_cache)?;
            let (answer, mut r) = self.with_retries(|| self.answer_once(&wire, model)).await?;
            answers.push(answer);
            retries.append(&mut r);
        }
        let mut r = self.adapter.decode_embed(&answers, request, model)?;
        r.provider = Some(self.id.clone());
        if r.model.is_empty() {
            r.model = model.to_owned();
        }
        r.retries = retries;
        r.adjustments = adjustments;
        Ok(r)
    }
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// An id for a response whose provider gave none (Gemini's often): `chatcmpl-` and 24 hex digits from the
/// call's start time and a per-process counter, unique within a process and unlikely to repeat across them.
fn generated_id(started: SystemTime) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    #[expect(clippy::cast_possible_truncation, reason = "the low 64 bits of the clock are what varies")]
    let low = nanos as u64;
    format!("chatcmpl-{low:016x}{:08x}", (n ^ u64::from(std::process::id()).rotate_left(16)) as u32)
}

/// The most of an error answer's body that is read (the rest is left unread): enough for any error JSON.
const MAX_ERROR_BODY: usize = 1 << 20;

impl Inner {
    /// A streamed request answered with one JSON body instead of a stream (LiteLLM's proxy does this for
    /// mocked models): the whole body, within the request timeout and [`Limits::max_body_bytes`], is decoded like
    /// a non-streamed answer and given as the events a stream would have carried. A body that turns out to be
    /// server-sent events under the wrong content type goes through the stream decoder instead.
    async fn whole_body_events(&self, resp: reqwest::Response, model: &str) -> Result<Vec<StreamEvent>> {
        let deadline = self.timeouts.request;
        let body = match tokio::time::timeout(deadline, read_capped(resp, self.limits.max_body_bytes)).await {
            Err(_) => return Err(timeout_error(deadline, "reading a whole json answer to a stream request")),
            Ok(r) => r?,
        };
        let start = body.trim_ascii_start();
        if start.starts_with(b"data:") || start.starts_with(b"event:") {
            return crate::adapter::decode_stream_with_limits(self.adapter.as_ref(), model, &[&body], &self.limits);
        }
        let mut r = self.adapter.decode(&body, model)?;
        if r.model.is_empty() {
            r.model = model.to_owned();
        }
        Ok(llm_core::response_events(&r))
    }
}

/// Whether a response's `content-type` is JSON (`application/json`, `application/*+json`): not a stream.
fn is_json_body(headers: &reqwest::header::HeaderMap) -> bool {
    let Some(value) = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The whole body, or a [`ErrorKind::Decode`] error as soon as it is known to exceed `cap` bytes
/// ([`Limits::max_body_bytes`]).
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>> {
    let too_large =
        || Error::decode(format!("the response body is larger than the limit of {cap} bytes (max_body_bytes)"));
    if resp.content_length().is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| network_error(&e))? {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// At most the first `cap` bytes of a body (an error answer's: what was read before a failure is kept).
async fn read_prefix(mut resp: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = cap - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= cap {
            break;
        }
    }
    body
}

fn timeout_error(limit: Duration, what: &str) -> Error {
    Error::new(ErrorKind::Timeout, format!("timed out after {} ms {what}", limit.as_millis()))
}

#[async_trait]
impl Provider for ProviderClient {
    fn id(&self) -> &ProviderId {
        &self.inner.id
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let inner = &self.inner;
        let model = self.provider_model(request.model.as_str());
        let span = tracing::info_span!(
            "gen_ai.chat",
            gen_ai.provider.name = %inner.id,
            gen_ai.request.model = model,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            llm.retries = tracing::field::Empty,
            stream = false,
        );
        async {
            let started = SystemTime::now();
            let (prepared, adjustments) = inner.prepare(request, model)?;
            let mut built = inner.adapter.build(&prepared.request, model, false)?;
            let mut retries = inner.authorize(&mut built, model).await?;
            let call = Wire::new(built, &inner.wire_cache)?;
            let (mut r, call_retries) = inner
                .with_retries(|| inner.chat_once(&call, model))
                .await
                .map_err(|e| inner.refused(context(e, &inner.id, model)))?;
            retries.extend(call_retries);
            let span = tracing::Span::current();
            if let Some(u) = &r.usage {
                span.record("gen_ai.usage.input_tokens", u.prompt_tokens);
                span.record("gen_ai.usage.output_tokens", u.completion_tokens);
            }
            if !retries.is_empty() {
                span.record("llm.retries", retries.len());
            }
            if r.created.is_none() {
                r.created = Some(unix_seconds(started));
            }
            if r.id.is_empty() {
                r.id = generated_id(started);
            }
            r.retries = retries;
            r.adjustments = adjustments;
            if r.location.is_none() {
                r.location = inner.adapter.location().map(str::to_owned);
            }
            Ok(r)
        }
        .instrument(span)
        .await
    }

    async fn embed(&self, request: &EmbeddingRequest) -> Result<EmbeddingResponse> {
        let inner = &self.inner;
        let model = self.provider_model(request.model.as_str());
        let span = tracing::info_span!(
            "gen_ai.embeddings",
            gen_ai.provider.name = %inner.id,
            gen_ai.request.model = model,
            gen_ai.usage.input_tokens = tracing::field::Empty,
        );
        async {
            let r = inner.embed(request, model).await.map_err(|e| context(e, &inner.id, model))?;
            if let Some(u) = &r.usage {
                tracing::Span::current().record("gen_ai.usage.input_tokens", u.prompt_tokens);
            }
            Ok(r)
        }
        .instrument(span)
        .await
    }

    async fn stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        let inner = Arc::clone(&self.inner);
        let model = self.provider_model(request.model.as_str()).to_owned();
        let span = tracing::info_span!(
            "gen_ai.chat",
            gen_ai.provider.name = %inner.id,
            gen_ai.request.model = %model,
            llm.retries = tracing::field::Empty,
            stream = true
        );
        let started = SystemTime::now();
        let (prepared, adjustments) = inner.prepare(request, &model)?;
        let call = inner.adapter.build(&prepared.request, &model, true)?;
        let decoder = inner.adapter.stream_decoder(&model);
        open_stream(inner, call, model, decoder, adjustments, started, span, JsonAnswer::Chat).await
    }
}

/// What a stream answered with one JSON body instead of events is turned into.
enum JsonAnswer {
    /// The adapter's chat decoder ([`Inner::whole_body_events`]).
    Chat,
    /// A Responses API object, passed on as one `response.completed` event.
    Responses,
}

/// Sends a streaming call (with retries before the first byte) and returns its events: a
/// [`StreamEvent::Call`] first, then what `decoder` makes of the body (or of a JSON body, as `json` says).
#[expect(clippy::too_many_arguments, reason = "one private call site per kind of stream")]
async fn open_stream(
    inner: Arc<Inner>,
    mut call: HttpCall,
    model: String,
    decoder: Box<dyn StreamDecoder>,
    adjustments: Vec<Adjustment>,
    started: SystemTime,
    span: tracing::Span,
    json: JsonAnswer,
) -> Result<ChatStream> {
    // `None` when the deadline is too far to represent: no deadline then.
    let deadline = Instant::now().checked_add(inner.timeouts.total);
    let mut retries = inner.authorize(&mut call, &model).instrument(span.clone()).await?;
    let call = Wire::new(call, &inner.wire_cache)?;
    let (resp, call_retries) = inner
        .with_retries(|| inner.send(&call, &model))
        .instrument(span.clone())
        .await
        .map_err(|e| inner.refused(context(e, &inner.id, &model)))?;
    retries.extend(call_retries);
    if !retries.is_empty() {
        span.record("llm.retries", retries.len());
    }
    let call_event = StreamEvent::Call {
        retries,
        adjustments,
        created: Some(unix_seconds(started)),
        id: Some(generated_id(started)),
        location: inner.adapter.location().map(str::to_owned),
    };
    if inner.adapter.framing() == Framing::Sse && is_json_body(resp.headers()) {
        let events = match json {
            JsonAnswer::Chat => inner.whole_body_events(resp, &model).await,
            JsonAnswer::Responses => inner.whole_responses_body(resp).await,
        }
        .map_err(|e| context(e, &inner.id, &model))?;
        let events = std::iter::once(call_event).chain(events);
        return Ok(Box::pin(futures_util::stream::iter(events.map(Ok))));
    }
    let mut pending = VecDeque::new();
    pending.push_back(call_event);
    let state = StreamState {
        body: Box::pin(resp.bytes_stream()),
        framer: Framer::new(inner.adapter.framing(), inner.limits.max_event_bytes),
        decoder,
        pending,
        frames: Vec::new(),
        idle: inner.timeouts.idle,
        total: inner.timeouts.total,
        deadline,
        phase: Phase::Reading,
        deferred: None,
        provider: inner.id.clone(),
        model,
    };
    Ok(Box::pin(futures_util::stream::unfold(state, next_event)))
}

fn context(e: Error, provider: &ProviderId, model: &str) -> Error {
    let e = if e.provider().is_none() { e.with_provider(provider.clone()) } else { e };
    if e.model().is_none() { e.with_model(model) } else { e }
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reading,
    /// The decoder saw the end marker: the rest of the body is read (so the connection can be reused) and
    /// ignored.
    Draining,
    Done,
}

struct StreamState {
    body: Body,
    framer: Framer,
    decoder: Box<dyn StreamDecoder>,
    pending: VecDeque<StreamEvent>,
    frames: Vec<Frame>,
    idle: Duration,
    /// The whole call's limit ([`Timeouts::total`]), and when it runs out.
    total: Duration,
    deadline: Option<Instant>,
    phase: Phase,
    deferred: Option<Error>,
    provider: ProviderId,
    model: String,
}

impl StreamState {
    /// Ends the stream with an error, delivered after the events already decoded.
    fn fail(&mut self, e: Error) {
        self.phase = Phase::Done;
        self.deferred = Some(context(e, &self.provider, &self.model));
    }

    /// How long to wait for the next chunk: the idle limit, or what is left of the total deadline when that is
    /// sooner (so a stream kept alive by comments still ends at its deadline).
    fn chunk_wait(&self) -> Duration {
        match self.deadline {
            Some(d) => self.idle.min(d.saturating_duration_since(Instant::now())),
            None => self.idle,
        }
    }

    /// Decodes the frames collected so far; returns whether the stream is done.
    fn decode_frames(&mut self) -> Result<bool> {
        let mut events = Vec::new();
        let mut done = false;
        let mut result = Ok(());
        for frame in self.frames.drain(..) {
            if done {
                break;
            }
            match self.decoder.decode(frame, &mut events) {
                Ok(d) => done = d,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.frames.clear();
        self.pending.extend(events);
        result.map(|()| done)
    }
}

async fn next_event(mut st: StreamState) -> Option<(Result<StreamEvent>, StreamState)> {
    loop {
        if let Some(ev) = st.pending.pop_front() {
            return Some((Ok(ev), st));
        }
        match st.phase {
            Phase::Done => return st.deferred.take().map(|e| (Err(e), st)),
            Phase::Draining => {
                // Bounded: a server that keeps the connection open after its end marker is not waited for long.
                let wait = st.idle.min(Duration::from_millis(200));
                match tokio::time::timeout(wait, st.body.next()).await {
                    Ok(Some(Ok(_))) => {}
                    _ => st.phase = Phase::Done,
                }
            }
            Phase::Reading if st.deadline.is_some_and(|d| Instant::now() >= d) => {
                let total = st.total;
                st.fail(total_deadline_error(total));
            }
            Phase::Reading => match tokio::time::timeout(st.chunk_wait(), st.body.next()).await {
                Err(_) if st.deadline.is_some_and(|d| Instant::now() >= d) => {
                    let total = st.total;
                    st.fail(total_deadline_error(total));
                }
                Err(_) => {
                    let limit = st.idle;
                    st.fail(timeout_error(limit, "waiting for the next stream chunk"));
                }
                Ok(Some(Err(e))) => st.fail(network_error(&e)),
                Ok(Some(Ok(bytes))) => {
                    if let Err(e) = st.framer.feed(Some(&bytes), &mut st.frames) {
                        st.fail(e);
                        continue;
                    }
                    match st.decode_frames() {
                        Ok(true) => st.phase = Phase::Draining,
                        Ok(false) => {}
                        Err(e) => st.fail(e),
                    }
                }
                Ok(None) => {
                    st.phase = Phase::Done;
                    if let Err(e) = st.framer.feed(None, &mut st.frames) {
                        st.fail(e);
                        continue;
                    }
                    match st.decode_frames() {
                        Ok(true) => {}
                        Ok(false) => {
                            let mut events = Vec::new();
                            let r = st.decoder.finish(&mut events);
                            st.pending.extend(events);
                            if let Err(e) = r {
                                st.fail(e);
                            }
                        }
                        Err(e) => st.fail(e),
                    }
                }
            },
        }
    }
}

fn total_deadline_error(total: Duration) -> Error {
    Error::new(ErrorKind::Timeout, format!("stream exceeded its total deadline of {} ms", total.as_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_http_base_skips_the_tls_roots() {
        let plain = |provider: &str, base: Option<&str>| {
            let mut b = ProviderClient::builder(provider);
            if let Some(base) = base {
                b = b.api_base(base);
            }
            b.plain_http(provider_spec(provider).unwrap())
        };
        assert!(plain("openai", Some("http://127.0.0.1:8000")));
        assert!(plain("openai", Some(" HTTP://localhost:8000/v1")));
        assert!(!plain("openai", Some("https://api.openai.com")));
        assert!(!plain("openai", None), "the default base is https");
        assert!(!plain("anthropic", None));
        assert!(!plain("bedrock", None), "bedrock's default endpoint is https");
        assert!(plain("bedrock", Some("http://127.0.0.1:9000")));
    }
}

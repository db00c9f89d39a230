//! The client's router: a provider per deployment, built as the client builds any provider and wrapped in its
//! tracker, and cache hits recorded.

use std::sync::Arc;

use llm_core::{Provider, Result};
use llm_router::{Deployment, Router, RouterConfig};

use super::Client;

/// Builds the router over `config`, each deployment's provider made by `client`.
pub(super) fn build_router(client: &Client, config: RouterConfig) -> Result<Router> {
    let builder = Router::builder(config).catalog(client.inner.config.catalog.clone());
    #[cfg(feature = "tracking")]
    let builder = match &client.inner.config.tracker {
        Some(t) => builder.observer(Arc::new(CacheHits {
            tracker: t.clone(),
            user: client.inner.config.user.clone(),
            team: client.inner.config.team.clone(),
            tags: client.inner.config.tags.clone(),
        })),
        None => builder,
    };
    // The factory holds the client only while the router is built (the router keeps the providers, not it).
    let c = client.clone();
    builder.factory(move |d| deployment_provider(&c, d)).build()
}

#[cfg_attr(not(feature = "providers"), allow(unused_variables))]
fn deployment_provider(client: &Client, d: &Deployment) -> Result<Arc<dyn Provider>> {
    let cfg = &client.inner.config;
    #[cfg(feature = "mock")]
    if let Some(m) = &cfg.mock {
        return Ok(client.wrap(m.clone(), d.api_key.as_ref()));
    }
    #[cfg(feature = "providers")]
    {
        let r = llm_providers::resolve(&d.model, d.api_base.as_deref(), &*client.catalog())?;
        let provider = r.provider.as_str();
        let mut retry = cfg.retry;
        // the router retries across deployments; a deployment's own client retries only when told to
        retry.max_retries = d.max_retries.unwrap_or(0);
        let mut b = llm_providers::ProviderClient::builder(provider)
            .retry(retry)
            .timeouts(cfg.timeouts)
            .limits(cfg.limits)
            .param_policy(cfg.params);
        let key = d.api_key.clone().or_else(|| cfg.keys.get(provider).cloned());
        if let Some(k) = &key {
            b = b.api_key(k.clone());
        }
        if let Some(base) = d.api_base.clone().or_else(|| cfg.api_bases.get(provider).cloned()) {
            b = b.api_base(base);
        }
        let key = key.or_else(|| super::env_key(provider));
        Ok(client.wrap(Arc::new(b.build()?), key.as_ref()))
    }
    #[cfg(not(feature = "providers"))]
    {
        Err(llm_core::Error::config(format!("no provider for {}: the `providers` feature is off", d.model)))
    }
}

/// Records a cache hit in the tracker: the work served (usage) at a zero `cache_hit` cost.
#[cfg(feature = "tracking")]
struct CacheHits {
    tracker: llm_tracking::Tracker,
    user: Option<String>,
    team: Option<String>,
    tags: Vec<String>,
}

#[cfg(feature = "tracking")]
impl llm_router::RouterObserver for CacheHits {
    fn cache_hit(&self, request: &llm_core::ChatRequest, response: &llm_core::ChatResponse, stream: bool) {
        use serde_json::Value;
        let routing = response.routing.clone().unwrap_or_default();
        let provider = response.provider.as_ref().map_or("router", |p| p.as_str());
        let mut r = llm_tracking::CallRecord::new(provider, request.model.as_str(), llm_tracking::Timestamp::now());
        r.model = response.model.clone();
        r.model_group = routing.served_group.clone();
        r.response_id = Some(response.id.clone());
        r.stream = stream;
        r.usage = response.usage.unwrap_or_default();
        if let Some(c) = &response.cost {
            r = r.with_cost(c.clone());
        }
        let text = |k: &str| match request.metadata.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        r.user = text("user").or_else(|| self.user.clone()).or_else(|| request.user.clone());
        r.team = text("team").or_else(|| self.team.clone());
        r.project = text("project");
        if let Some(t) = text("trace_id") {
            r.trace_id = t;
        }
        r.tags = request.tags.clone();
        for t in &self.tags {
            if !r.tags.contains(t) {
                r.tags.push(t.clone());
            }
        }
        r.metadata.insert("cache_hit".into(), Value::Bool(true));
        r.metadata.insert("deployment".into(), Value::String(routing.deployment));
        self.tracker.emit(r);
    }
}

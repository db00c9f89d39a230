//! A router over many deployments of a model, as LiteLLM's `Router`: several deployments (keys, regions,
//! providers) behind one model group, picked by a routing strategy, with retries, fallbacks across groups,
//! cooldowns of failing deployments, RPM/TPM limits enforced before sending, and an exact-match response
//! cache. Its state lives in memory, or in Redis (feature `redis`) so a fleet of processes shares cooldowns,
//! counters and the cache.
//!
//! The config is LiteLLM's proxy `config.yaml` ([`RouterConfig::from_yaml`]): `model_list`,
//! `router_settings`, `litellm_settings`, `os.environ/NAME` references; what it does not understand is
//! reported in [`RouterConfig::warnings`].
//!
//! [`Router`] is a [`llm_core::Provider`]: it wraps the providers a factory builds for each deployment, the way
//! llm-tracking's `Tracked<P>` wraps one provider. It never depends on llm-providers nor on llm-tracking; the
//! `llm` facade hands it a factory and records cache hits through a [`RouterObserver`].
//!
//! ```
//! let config = llm_router::RouterConfig::from_yaml(r#"
//! model_list:
//!   - model_name: gpt-4o
//!     litellm_params: {model: openai/gpt-4o, api_key: os.environ/NO_SUCH_VARIABLE, rpm: 60}
//!   - model_name: gpt-4o
//!     litellm_params: {model: azure/gpt-4o, api_base: "https://example.invalid", weight: 2}
//! router_settings:
//!   routing_strategy: least-busy
//!   fallbacks: [{gpt-4o: [gpt-4o]}]
//!   temperature: 1
//! "#).unwrap();
//! assert_eq!(config.groups()[0].1.len(), 2);
//! assert_eq!(config.settings.strategy, llm_router::Strategy::LeastBusy);
//! assert!(config.warnings.iter().any(|w| w.contains("os.environ/NO_SUCH_VARIABLE is not set")));
//! assert!(config.warnings.iter().any(|w| w == "router_settings.temperature: unknown key (ignored)"));
//! ```

mod cache;
pub mod config;
#[cfg(feature = "redis")]
mod redis_state;
mod router;
pub mod state;

pub use config::{CacheSettings, Deployment, RedisSettings, RouterConfig, RouterSettings, ScopeLimit, Strategy};
#[cfg(feature = "redis")]
pub use redis_state::RedisState;
pub use router::{DeploymentFactory, Router, RouterBuilder, RouterObserver, estimate_tokens};
pub use state::{Limit, MemoryState, MinuteUsage, RouterState};

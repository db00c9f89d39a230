//! The router through the facade, over real HTTP against fake OpenAI-compatible upstreams: fallbacks and
//! cooldowns with exact request counts, `retry-after`, every attempt priced and recorded under its model group,
//! and cache hits that send nothing and are recorded at a zero cost.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
#![cfg(all(feature = "router", feature = "providers", feature = "tracking"))]

use std::sync::Arc;

use llm::Client;
use llm::core::{ApiKey, ChatRequest, CostStatus, Message};
use llm::router::RouterConfig;
use llm::tracking::{CallStatus, CatalogPricer, MemoryStore, Store, Tracker};
use llm_fake_upstream::{FakeUpstream, wire};

fn ask(model: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::user("Say hi")])
}

async fn tracked(yaml: &str) -> (Client, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let tracker = Tracker::builder().store(store.clone()).pricer(CatalogPricer::new()).build().unwrap();
    let client = Client::builder()
        .api_key("openai", ApiKey::new("sk-router-test-000000000000"))
        .tracker(tracker)
        .router(RouterConfig::from_yaml(yaml).unwrap())
        .build()
        .unwrap();
    (client, store)
}

async fn records(client: &Client, store: &MemoryStore) -> Vec<llm::tracking::CallRecord> {
    client.flush().await.unwrap();
    let mut r = store.records(None, None, 1000).await.unwrap();
    r.sort_by_key(|r| r.start_time);
    r
}

#[tokio::test]
async fn a_500_falls_back_and_the_cooled_deployment_gets_no_more_requests() {
    let broken = FakeUpstream::start().await.unwrap();
    broken.set_default(wire::openai::error(500, "server_error", None, "upstream exploded"));
    let healthy = FakeUpstream::start().await.unwrap();
    healthy.set_default(wire::openai::chat("Hi!", 10, 2));
    let yaml = format!(
        r#"
model_list:
  - model_name: main
    litellm_params: {{model: openai/gpt-4o, api_base: "{}/v1"}}
    model_info: {{id: main-eu}}
  - model_name: backup
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{}/v1"}}
    model_info: {{id: backup-us}}
router_settings:
  allowed_fails: 0
  cooldown_time: 60
  fallbacks: [{{main: [backup]}}]
"#,
        broken.url(),
        healthy.url()
    );
    let (client, store) = tracked(&yaml).await;
    for _ in 0..3 {
        let r = client.chat(ask("main")).await.unwrap();
        assert_eq!(r.text(), "Hi!");
        let routing = r.routing.as_ref().unwrap();
        assert_eq!((routing.served_group.as_str(), routing.deployment.as_str()), ("backup", "backup-us"));
        assert_eq!(routing.fallbacks, vec!["backup".to_owned()]);
        // gpt-4o-mini: 10 × $0.15/M + 2 × $0.60/M
        assert_eq!(r.cost.as_ref().unwrap().total().unwrap().to_string(), "0.0000027");
    }
    // the first call tried `main` once (no client retries under the router) and cooled it down
    assert_eq!(broken.request_count(), 1);
    assert_eq!(healthy.request_count(), 3);
    let recs = records(&client, &store).await;
    assert_eq!(recs.len(), 4);
    let failed = &recs[0];
    assert_eq!((failed.status, failed.model_group.as_str()), (CallStatus::Failure, "main"));
    assert_eq!(failed.error_kind.as_deref(), Some("server"));
    assert_eq!(failed.metadata["deployment"], "main-eu");
    // the attempts of one call share its trace
    assert_eq!(failed.trace_id, recs[1].trace_id);
    for r in &recs[1..] {
        assert_eq!((r.status, r.model_group.as_str()), (CallStatus::Success, "backup"));
        assert_eq!(r.spend.to_string(), "0.0000027");
    }
}

#[tokio::test]
async fn a_429_with_retry_after_cools_its_deployment_and_the_other_one_serves() {
    let limited = FakeUpstream::start().await.unwrap();
    limited
        .set_default(wire::openai::error(429, "rate_limit_exceeded", None, "slow down").header("retry-after", "120"));
    let healthy = FakeUpstream::start().await.unwrap();
    healthy.set_default(wire::openai::chat("Hello.", 8, 2));
    let yaml = format!(
        r#"
model_list:
  - model_name: g
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{}/v1", order: 1}}
    model_info: {{id: limited}}
  - model_name: g
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{}/v1", order: 2}}
    model_info: {{id: healthy}}
router_settings: {{num_retries: 2, cooldown_time: 1}}
"#,
        limited.url(),
        healthy.url()
    );
    let (client, _store) = tracked(&yaml).await;
    let r = client.chat(ask("g")).await.unwrap();
    let routing = r.routing.unwrap();
    let seen: Vec<(&str, &str, Option<u16>)> =
        routing.attempts.iter().map(|a| (a.deployment.as_str(), a.outcome.as_str(), a.status)).collect();
    assert_eq!(seen, vec![("limited", "rate_limited", Some(429)), ("healthy", "success", None)]);
    // retry-after (120 s) outlasts cooldown_time (1 s): after 1.5 s `limited` is still left out
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for _ in 0..3 {
        assert_eq!(client.chat(ask("g")).await.unwrap().routing.unwrap().deployment, "healthy");
    }
    assert_eq!((limited.request_count(), healthy.request_count()), (1, 4));
}

#[tokio::test]
async fn a_cache_hit_sends_nothing_costs_zero_and_is_recorded_as_such() {
    let upstream = FakeUpstream::start().await.unwrap();
    upstream.set_default(wire::openai::chat("Cached words.", 12, 3));
    let yaml = format!(
        r#"
model_list:
  - model_name: g
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{}/v1"}}
litellm_settings: {{cache: true}}
"#,
        upstream.url()
    );
    let (client, store) = tracked(&yaml).await;
    let first = client.chat(ask("g").with_temperature(0.0)).await.unwrap();
    let hit = client.chat(ask("g").with_temperature(0.0)).await.unwrap();
    assert_eq!(upstream.request_count(), 1);
    assert_eq!(hit.text(), "Cached words.");
    assert!(hit.routing.as_ref().unwrap().cache_hit);
    assert_eq!(hit.cost.as_ref().unwrap().status, CostStatus::CacheHit);
    assert_eq!(hit.cost.as_ref().unwrap().total().unwrap().to_string(), "0");
    assert_ne!(first.cost.as_ref().unwrap().total().unwrap().to_string(), "0");
    // another temperature is another answer
    client.chat(ask("g").with_temperature(0.7)).await.unwrap();
    assert_eq!(upstream.request_count(), 2);
    let recs = records(&client, &store).await;
    assert_eq!(recs.len(), 3);
    let cached = &recs[1];
    assert_eq!(cached.cost_status(), CostStatus::CacheHit);
    assert_eq!(cached.spend.to_string(), "0");
    assert_eq!(cached.usage.prompt_tokens, 12);
    assert_eq!(cached.model_group, "g");
    assert_eq!(cached.metadata["cache_hit"], true);
    assert_eq!(recs[0].usage, cached.usage);
}

#[tokio::test]
async fn model_names_outside_the_config_resolve_as_usual() {
    let upstream = FakeUpstream::start().await.unwrap();
    upstream.set_default(wire::openai::chat("Direct.", 5, 1));
    let yaml = "model_list: [{model_name: g, litellm_params: {model: openai/gpt-4o-mini}}]";
    let client = Client::builder()
        .api_key("openai", ApiKey::new("sk-router-test-000000000000"))
        .api_base("openai", format!("{}/v1", upstream.url()))
        .router(RouterConfig::from_yaml(yaml).unwrap())
        .build()
        .unwrap();
    let r = client.chat(ask("gpt-4o-mini")).await.unwrap();
    assert_eq!(r.text(), "Direct.");
    assert!(r.routing.is_none());
    assert!(client.router().unwrap().has_group("g"));
    // without its own api_base, the deployment uses the client's base for its provider
    assert_eq!(client.chat(ask("g")).await.unwrap().routing.unwrap().deployment, "g/0");
    assert_eq!(upstream.request_count(), 2);
}

//! The router on scripted mock deployments: strategies, order, pre-call checks, retries, fallbacks, cooldowns,
//! rate limits and the response cache, with exact call counts.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use llm_core::mock::{MockError, MockProvider, MockReply};
use llm_core::{ChatRequest, CostStatus, ErrorKind, Message, Provider, StreamAssembler, StreamEvent};
use llm_router::{Router, RouterConfig, Strategy};
use serde_json::json;

/// A router over `yaml` whose deployment `ID` is served by `mocks[ID]` (a fresh echoing mock when absent).
fn router(yaml: &str, mocks: &HashMap<&str, Arc<MockProvider>>) -> Router {
    let config = RouterConfig::from_yaml(yaml).unwrap();
    let mocks: HashMap<String, Arc<MockProvider>> = mocks.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    Router::builder(config)
        .factory(move |d| {
            let m = mocks
                .get(&d.id)
                .cloned()
                .unwrap_or_else(|| Arc::new(MockProvider::new().with_default_reply(MockReply::Echo)));
            Ok(m as Arc<dyn Provider>)
        })
        .build()
        .unwrap()
}

fn mock(replies: &[MockReply]) -> Arc<MockProvider> {
    let m = MockProvider::new().with_default_reply(MockReply::text("ok"));
    for r in replies {
        m.push_reply(r.clone());
    }
    Arc::new(m)
}

/// A router over two deployments (by id) whose mocks answer every call.
/// A router whose group `g` has two gpt-4o-mini deployments, each `(id, its other litellm_params)`, served by
/// idle mocks.
fn two_idle(a: (&str, &str), b: (&str, &str)) -> (Router, Arc<MockProvider>, Arc<MockProvider>) {
    let deployment = |(id, params): (&str, &str)| {
        format!("  - {{model_name: g, litellm_params: {{model: gpt-4o-mini, {params}}}, model_info: {{id: {id}}}}}\n")
    };
    let yaml = format!("model_list:\n{}{}", deployment(a), deployment(b));
    let (ma, mb) = (mock(&[]), mock(&[]));
    (router(&yaml, &HashMap::from([(a.0, ma.clone()), (b.0, mb.clone())])), ma, mb)
}

/// `n` calls to the group `g`, each of which must succeed.
async fn ask_g(r: &Router, n: usize) {
    for _ in 0..n {
        r.chat(&ask("g", "hi")).await.unwrap();
    }
}

fn ask(model: &str, text: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::user(text)])
}

const TWO_GROUPS: &str = r#"
model_list:
  - model_name: main
    litellm_params: {model: gpt-4o}
    model_info: {id: main-a}
  - model_name: backup
    litellm_params: {model: gpt-4o-mini}
    model_info: {id: backup-a}
router_settings:
  allowed_fails: 0
  cooldown_time: 60
  fallbacks: [{main: [backup]}]
"#;

#[test]
fn a_litellm_config_is_read_with_env_references_and_unknown_keys_reported() {
    let yaml = r#"
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-eu
      api_base: os.environ/AZURE_API_BASE
      api_key: os.environ/AZURE_API_KEY
      api_version: "2024-06-01"
      rpm: 900
      tpm: 90000
      order: 1
      region_name: eu
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_KEY_THAT_IS_NOT_SET, weight: 3}
    model_info: {id: oai, max_input_tokens: 1000, colour: blue}
router_settings:
  routing_strategy: usage-based-routing-v2
  num_retries: 2
  allowed_fails: 1
  cooldown_time: 30
  fallbacks: [{gpt-4o: [gpt-4o]}]
  retry_policy: {RateLimitErrorRetries: 5, BadRequestErrorRetries: 0}
  redis_host: 127.0.0.1
  redis_port: 6390
  redis_password: os.environ/REDIS_PW
  mystery: 1
litellm_settings:
  cache: true
  cache_params: {type: redis, ttl: 60, namespace: team}
  set_verbose: true
general_settings: {master_key: sk-1234}
environment_variables:
  AZURE_API_BASE: https://eu.example.invalid
"#;
    let env = |name: &str| match name {
        "AZURE_API_KEY" => Some("az-key-PLANTED-123".to_owned()),
        "REDIS_PW" => Some("redis-PLANTED-pw".to_owned()),
        _ => None,
    };
    let c = RouterConfig::from_yaml_with_env(yaml, &env).unwrap();
    assert_eq!(c.deployments.len(), 2);
    let a = &c.deployments[0];
    assert_eq!((a.id.as_str(), a.model.as_str()), ("gpt-4o/0", "azure/gpt-4o-eu"));
    assert_eq!(a.api_base.as_deref(), Some("https://eu.example.invalid"));
    assert_eq!(a.api_key.as_ref().map(|k| k.expose().to_owned()).as_deref(), Some("az-key-PLANTED-123"));
    assert_eq!((a.rpm, a.tpm, a.order), (Some(900), Some(90000), Some(1)));
    let b = &c.deployments[1];
    assert_eq!((b.id.as_str(), b.weight, b.max_input_tokens), ("oai", Some(3.0), Some(1000)));
    assert!(b.api_key.is_none());
    let s = &c.settings;
    assert_eq!(s.strategy, Strategy::UsageBasedV2);
    assert_eq!((s.num_retries, s.allowed_fails, s.cooldown_time.as_secs()), (2, 1, 30));
    assert_eq!(s.retry_policy.get(&ErrorKind::RateLimited), Some(&5));
    assert_eq!(s.fallbacks["gpt-4o"], vec!["gpt-4o".to_owned()]);
    let redis = s.redis.as_ref().unwrap();
    assert_eq!(redis.url, "redis://:redis-PLANTED-pw@127.0.0.1:6390/");
    assert!(!format!("{redis:?}").contains("PLANTED"), "{redis:?}");
    let cache = c.cache.as_ref().unwrap();
    assert!(cache.redis);
    assert_eq!((cache.ttl.as_secs(), cache.namespace.as_deref()), (60, Some("team")));
    assert_eq!(cache.redis_url.as_deref(), Some("redis://:redis-PLANTED-pw@127.0.0.1:6390/"));
    assert_eq!(
        c.warnings,
        vec![
            "litellm_settings.set_verbose: a LiteLLM setting this router does not act on yet (ignored)",
            "router_settings.mystery: unknown key (ignored)",
            "model_list[0].litellm_params.region_name: a LiteLLM setting this router does not act on yet (ignored)",
            "model_list[1].litellm_params.api_key: os.environ/OPENAI_KEY_THAT_IS_NOT_SET is not set",
            "model_list[1].model_info.colour: unknown key (ignored)",
            "general_settings: proxy server settings, not used by the router (ignored)",
        ]
    );
    assert!(!format!("{c:?}").contains("PLANTED"));
}

#[test]
fn bad_configs_are_refused_with_the_path() {
    let cases = [
        ("model_list: []", "model_list is empty"),
        ("router_settings: {}", "has no model_list"),
        ("model_list: [{model_name: a}]", "model_list[0]: litellm_params is missing"),
        ("model_list: [{model_name: a, litellm_params: {model: x, rpm: -1}}]", "litellm_params.rpm: expected a whole"),
        (
            "model_list: [{model_name: a, litellm_params: {model: x}}]\nrouter_settings: {routing_strategy: fastest}",
            "unknown routing strategy \"fastest\"",
        ),
        (
            "model_list: [{model_name: a, litellm_params: {model: x}}]\nrouter_settings: {fallbacks: [{a: [b]}]}",
            "router_settings.fallbacks.a: \"b\" is not a model_name",
        ),
        ("model_list: [a: b", "not valid YAML"),
    ];
    for (yaml, expected) in cases {
        let e = RouterConfig::from_yaml(yaml).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Config, "{yaml}");
        assert!(e.message().contains(expected), "{yaml}: {}", e.message());
    }
}

#[tokio::test]
async fn simple_shuffle_follows_the_weights() {
    let (r, light, heavy) = two_idle(("light", "weight: 1"), ("heavy", "weight: 3"));
    ask_g(&r, 400).await;
    assert_eq!(light.calls() + heavy.calls(), 400);
    // expected 300 of 400; 5 standard deviations is about ±43
    assert!((250..=350).contains(&heavy.calls()), "heavy served {}", heavy.calls());
}

#[tokio::test]
async fn order_is_honoured_and_a_cooled_down_deployment_gives_way() {
    let yaml = r#"
model_list:
  - {model_name: g, litellm_params: {model: gpt-4o-mini, order: 2}, model_info: {id: second}}
  - {model_name: g, litellm_params: {model: gpt-4o-mini, order: 1}, model_info: {id: first}}
router_settings: {allowed_fails: 0, cooldown_time: 60, num_retries: 1}
"#;
    let first = mock(&[MockReply::text("a"), MockReply::text("b"), MockReply::Error(MockError::Server)]);
    let second = mock(&[]);
    let r = router(yaml, &HashMap::from([("first", first.clone()), ("second", second.clone())]));
    for _ in 0..2 {
        let resp = r.chat(&ask("g", "hi")).await.unwrap();
        assert_eq!(resp.routing.unwrap().deployment, "first");
    }
    // the third call: `first` fails (500), is cooled down, and the retry goes to `second`
    let resp = r.chat(&ask("g", "hi")).await.unwrap();
    let routing = resp.routing.unwrap();
    assert_eq!(routing.deployment, "second");
    let outcomes: Vec<(&str, &str)> =
        routing.attempts.iter().map(|a| (a.deployment.as_str(), a.outcome.as_str())).collect();
    assert_eq!(outcomes, vec![("first", "server"), ("second", "success")]);
    assert_eq!(routing.attempts[0].status, Some(500));
    assert!(routing.attempts[0].cost.is_none());
    assert!(routing.attempts[1].cost.as_ref().unwrap().is_known());
    // `first` is cooling down: the next calls go to `second` without trying it
    r.chat(&ask("g", "hi")).await.unwrap();
    assert_eq!((first.calls(), second.calls()), (3, 2));
}

#[tokio::test]
async fn a_failing_group_falls_back_and_its_cooled_deployment_is_skipped() {
    let main = mock(&[MockReply::Error(MockError::Server)]);
    let backup = mock(&[]);
    let r = router(TWO_GROUPS, &HashMap::from([("main-a", main.clone()), ("backup-a", backup.clone())]));
    let resp = r.chat(&ask("main", "hi")).await.unwrap();
    let routing = resp.routing.unwrap();
    assert_eq!(
        (routing.model_group.as_str(), routing.served_group.as_str(), routing.deployment.as_str()),
        ("main", "backup", "backup-a")
    );
    assert_eq!(routing.fallbacks, vec!["backup".to_owned()]);
    assert_eq!(routing.attempts.len(), 2);
    // the only deployment of `main` is cooling down: its fallback takes over at once
    let resp = r.chat(&ask("main", "hi")).await.unwrap();
    let routing = resp.routing.unwrap();
    assert_eq!(routing.attempts.len(), 1);
    assert_eq!(routing.deployment, "backup-a");
    assert_eq!((main.calls(), backup.calls()), (1, 2));
    // the backup's request carried the router's bookkeeping for the tracker
    let sent = backup.requests().pop().unwrap();
    assert_eq!(sent.model, "gpt-4o-mini");
    assert_eq!(sent.metadata["model_group"], json!("backup"));
    assert_eq!(sent.metadata["deployment"], json!("backup-a"));
}

#[tokio::test]
async fn allowed_fails_counts_failures_within_the_minute_and_401_cools_down_at_once() {
    let yaml = r#"
model_list:
  - {model_name: g, litellm_params: {model: gpt-4o-mini}, model_info: {id: only}}
router_settings: {allowed_fails: 2, cooldown_time: 60}
"#;
    let only = mock(&[
        MockReply::Error(MockError::Server),
        MockReply::Error(MockError::Server),
        MockReply::Error(MockError::Server),
    ]);
    let r = router(yaml, &HashMap::from([("only", only.clone())]));
    for _ in 0..3 {
        assert_eq!(r.chat(&ask("g", "hi")).await.unwrap_err().kind(), &ErrorKind::Server);
    }
    // the third failure passed allowed_fails: 2, so the only deployment is cooling down
    let e = r.chat(&ask("g", "hi")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::RateLimited);
    assert!(e.message().contains("cooling down"), "{}", e.message());
    assert_eq!(only.calls(), 3);

    let auth = mock(&[MockReply::Error(MockError::Auth)]);
    let r = router(yaml, &HashMap::from([("only", auth.clone())]));
    assert_eq!(r.chat(&ask("g", "hi")).await.unwrap_err().kind(), &ErrorKind::Auth);
    assert_eq!(r.chat(&ask("g", "hi")).await.unwrap_err().kind(), &ErrorKind::RateLimited);
    assert_eq!(auth.calls(), 1);
}

/// What a response says of its route after a fallback: the snapshot a reviewer reads (latencies redacted).
#[tokio::test]
async fn routing_of_a_fallback_as_the_response_carries_it() {
    let yaml = r#"
model_list:
  - {model_name: main, litellm_params: {model: gpt-4o}, model_info: {id: m}}
  - {model_name: backup, litellm_params: {model: gpt-4o-mini}, model_info: {id: b}}
router_settings: {fallbacks: [{main: [backup]}]}
"#;
    let m = mock(&[MockReply::Error(MockError::Overloaded)]);
    let b = mock(&[]);
    let r = router(yaml, &HashMap::from([("m", m), ("b", b)]));
    let response = r.chat(&ask("main", "hi")).await.unwrap();
    insta::assert_json_snapshot!(response.routing, { ".attempts[].latency_ms" => "[latency]", ".trace_id" => "[trace]" });
}

#[tokio::test]
async fn a_final_error_lists_every_attempt() {
    let yaml = r#"
model_list:
  - {model_name: main, litellm_params: {model: gpt-4o}, model_info: {id: m}}
  - {model_name: backup, litellm_params: {model: gpt-4o-mini}, model_info: {id: b}}
router_settings: {fallbacks: [{main: [backup]}]}
"#;
    let m = mock(&[MockReply::Error(MockError::Overloaded)]);
    let b = mock(&[MockReply::Error(MockError::Timeout)]);
    let r = router(yaml, &HashMap::from([("m", m), ("b", b)]));
    let e = r.chat(&ask("main", "hi")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Timeout);
    assert!(e.message().ends_with("(fallbacks tried: backup)"), "{}", e.message());
    let kinds: Vec<(&str, Option<u16>)> = e.retries().iter().map(|r| (r.kind.as_str(), r.status)).collect();
    assert_eq!(kinds, vec![("overloaded", Some(503)), ("timeout", None)]);
    assert!(e.retries()[0].message.starts_with("m (gpt-4o): "), "{}", e.retries()[0].message);
}

#[tokio::test]
async fn rpm_limits_are_enforced_before_sending_and_name_the_limit() {
    let (r, a, b) = two_idle(("a", "rpm: 2"), ("b", "rpm: 1"));
    ask_g(&r, 3).await;
    let e = r.chat(&ask("g", "hi")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::RateLimited);
    assert!(e.message().contains("at its rate limit"), "{}", e.message());
    assert!(e.message().contains(": rpm 2 reached") || e.message().contains(": rpm 1 reached"), "{}", e.message());
    assert_eq!((a.calls(), b.calls()), (2, 1));
}

#[tokio::test]
async fn scope_limits_hold_each_caller_to_its_own_rpm() {
    let yaml = r#"
model_list:
  - {model_name: g, litellm_params: {model: gpt-4o-mini}, model_info: {id: a}}
router_settings:
  scope_limits:
    "user:alice": {rpm: 2}
    "team:core": {rpm: 3}
    "tag:batch": {tpm: 1000000}
"#;
    let a = mock(&[]);
    let r = router(yaml, &HashMap::from([("a", a.clone())]));
    let alice = || ask("g", "hi").with_user("alice");
    for _ in 0..2 {
        r.chat(&alice()).await.unwrap();
    }
    let e = r.chat(&alice()).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::RateLimited);
    assert_eq!(e.message(), "user:alice is at its rate limit (rpm 2 reached)");
    // bob is not alice: his own user has no limit, his team three calls a minute
    let bob = || ask("g", "hi").with_user("bob").with_metadata("team", serde_json::json!("core"));
    for _ in 0..3 {
        r.chat(&bob()).await.unwrap();
    }
    let e = r.chat(&bob()).await.unwrap_err();
    assert_eq!(e.message(), "team:core is at its rate limit (rpm 3 reached)");
    r.chat(&ask("g", "hi").with_tag("batch")).await.unwrap();
    assert_eq!(a.calls(), 6, "refused calls never reach a deployment");
}

#[test]
fn scope_limits_must_name_a_scope() {
    let yaml =
        "model_list: [{model_name: g, litellm_params: {model: x}}]\nrouter_settings: {scope_limits: {alice: {rpm: 1}}}";
    let e = llm_router::RouterConfig::from_yaml(yaml).unwrap_err();
    assert!(e.to_string().contains("a scope is user:NAME, team:NAME or tag:NAME"), "{e}");
}

#[tokio::test]
async fn tpm_limits_count_the_prompt() {
    let yaml = r#"
model_list:
  - {model_name: g, litellm_params: {model: gpt-4o-mini, tpm: 100}, model_info: {id: a}}
"#;
    let a = mock(&[]);
    let r = router(yaml, &HashMap::from([("a", a.clone())]));
    let long = "word ".repeat(200);
    let e = r.chat(&ask("g", &long)).await.unwrap_err();
    assert!(e.message().contains("a: tpm 100 reached"), "{}", e.message());
    assert_eq!(a.calls(), 0);
    r.chat(&ask("g", "short")).await.unwrap();
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn the_pre_call_check_drops_small_windows_and_context_window_fallbacks_take_over() {
    let yaml = r#"
model_list:
  - {model_name: small, litellm_params: {model: gpt-4o-mini}, model_info: {id: s, max_input_tokens: 50}}
  - {model_name: big, litellm_params: {model: gpt-4o-mini}, model_info: {id: b, max_input_tokens: 100000}}
  - {model_name: mixed, litellm_params: {model: gpt-4o-mini}, model_info: {id: m1, max_input_tokens: 50}}
  - {model_name: mixed, litellm_params: {model: gpt-4o-mini}, model_info: {id: m2, max_input_tokens: 100000}}
router_settings:
  context_window_fallbacks: [{small: [big]}]
"#;
    let (s, b, m1, m2) = (mock(&[]), mock(&[]), mock(&[]), mock(&[]));
    let r = router(yaml, &HashMap::from([("s", s.clone()), ("b", b.clone()), ("m1", m1.clone()), ("m2", m2.clone())]));
    let long = "x".repeat(2000);
    for _ in 0..5 {
        assert_eq!(r.chat(&ask("mixed", &long)).await.unwrap().routing.unwrap().deployment, "m2");
    }
    let resp = r.chat(&ask("small", &long)).await.unwrap();
    let routing = resp.routing.unwrap();
    assert_eq!((routing.deployment.as_str(), routing.fallbacks.as_slice()), ("b", &["big".to_owned()][..]));
    // nothing was sent to the deployments that could not fit it
    assert_eq!((s.calls(), m1.calls(), m2.calls(), b.calls()), (0, 0, 5, 1));
    let r2 = router(
        "model_list: [{model_name: small, litellm_params: {model: gpt-4o-mini}, model_info: {max_input_tokens: 50}}]",
        &HashMap::new(),
    );
    let e = r2.chat(&ask("small", &long)).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::ContextLength);
    assert!(e.message().contains("largest window 50"), "{}", e.message());
}

#[tokio::test]
async fn content_policy_fallbacks_follow_a_refusal() {
    let yaml = r#"
model_list:
  - {model_name: strict, litellm_params: {model: gpt-4o-mini}, model_info: {id: s}}
  - {model_name: lenient, litellm_params: {model: gpt-4o-mini}, model_info: {id: l}}
router_settings:
  content_policy_fallbacks: [{strict: [lenient]}]
"#;
    struct Refuses;
    #[async_trait::async_trait]
    impl Provider for Refuses {
        fn id(&self) -> &llm_core::ProviderId {
            static ID: std::sync::LazyLock<llm_core::ProviderId> = std::sync::LazyLock::new(|| "refuses".into());
            &ID
        }
        async fn chat(&self, _: &ChatRequest) -> llm_core::Result<llm_core::ChatResponse> {
            Err(llm_core::Error::new(ErrorKind::ContentFilter, "refused").with_status(400))
        }
        async fn stream(&self, r: &ChatRequest) -> llm_core::Result<llm_core::ChatStream> {
            self.chat(r).await.map(|_| unreachable!())
        }
    }
    let config = RouterConfig::from_yaml(yaml).unwrap();
    let lenient = mock(&[]);
    let l = lenient.clone();
    let r = Router::builder(config)
        .factory(move |d| Ok(if d.id == "s" { Arc::new(Refuses) as Arc<dyn Provider> } else { l.clone() }))
        .build()
        .unwrap();
    let routing = r.chat(&ask("strict", "hi")).await.unwrap().routing.unwrap();
    assert_eq!(routing.attempts[0].outcome, "content_filter");
    assert_eq!(routing.deployment, "l");
    assert_eq!(lenient.calls(), 1);
}

#[tokio::test]
async fn cost_based_routing_picks_the_cheapest_deployment_for_the_request() {
    let yaml = r#"
model_list:
  - {model_name: g, litellm_params: {model: gpt-4o}, model_info: {id: dear}}
  - {model_name: g, litellm_params: {model: gpt-4o-mini}, model_info: {id: cheap}}
  - {model_name: g, litellm_params: {model: no-such-model-anywhere}, model_info: {id: unknown}}
router_settings: {routing_strategy: cost-based-routing}
"#;
    let r = router(yaml, &HashMap::new());
    for _ in 0..20 {
        assert_eq!(r.chat(&ask("g", "hi")).await.unwrap().routing.unwrap().deployment, "cheap");
    }
}

#[tokio::test]
async fn least_busy_prefers_the_idle_deployment() {
    let yaml = r#"
model_list:
  - {model_name: g, litellm_params: {model: gpt-4o-mini}, model_info: {id: a}}
  - {model_name: g, litellm_params: {model: gpt-4o-mini}, model_info: {id: b}}
router_settings: {routing_strategy: least-busy}
"#;
    let r = router(yaml, &HashMap::new());
    // an open stream keeps its deployment busy: the next calls go to the other one
    let mut stream = r.stream(&ask("g", "hi")).await.unwrap();
    let Some(Ok(StreamEvent::Routed(first))) = stream.next().await else { panic!("the router announces the route") };
    for _ in 0..10 {
        let d = r.chat(&ask("g", "hi")).await.unwrap().routing.unwrap().deployment;
        assert_ne!(d, first.deployment);
    }
    while stream.next().await.is_some() {}
}

#[tokio::test]
async fn latency_based_routing_prefers_the_faster_deployment() {
    struct Slow(Arc<MockProvider>, std::time::Duration);
    #[async_trait::async_trait]
    impl Provider for Slow {
        fn id(&self) -> &llm_core::ProviderId {
            self.0.id()
        }
        async fn chat(&self, r: &ChatRequest) -> llm_core::Result<llm_core::ChatResponse> {
            tokio::time::sleep(self.1).await;
            self.0.chat(r).await
        }
        async fn stream(&self, r: &ChatRequest) -> llm_core::Result<llm_core::ChatStream> {
            self.0.stream(r).await
        }
    }
    let yaml = r#"
model_list:
  - {model_name: g, litellm_params: {model: gpt-4o-mini}, model_info: {id: slow}}
  - {model_name: g, litellm_params: {model: gpt-4o-mini}, model_info: {id: fast}}
router_settings: {routing_strategy: latency-based-routing}
"#;
    let config = RouterConfig::from_yaml(yaml).unwrap();
    let (slow, fast) = (mock(&[]), mock(&[]));
    let (s, f) = (slow.clone(), fast.clone());
    let r = Router::builder(config)
        .factory(move |d| {
            let p: Arc<dyn Provider> = if d.id == "slow" {
                Arc::new(Slow(s.clone(), std::time::Duration::from_millis(200)))
            } else {
                Arc::new(Slow(f.clone(), std::time::Duration::from_millis(1)))
            };
            Ok(p)
        })
        .build()
        .unwrap();
    ask_g(&r, 12).await;
    // each is tried once (no latency known yet counts as fastest), then the fast one wins every call
    assert_eq!((slow.calls(), fast.calls()), (1, 11));
}

const CACHED: &str = r#"
model_list:
  - {model_name: g, litellm_params: {model: gpt-4o-mini}, model_info: {id: a}}
litellm_settings:
  cache: true
  cache_params: {type: local, ttl: 60}
"#;

#[tokio::test]
async fn a_cache_hit_sends_nothing_and_costs_zero_and_a_different_parameter_misses() {
    let a = mock(&[MockReply::text("first answer"), MockReply::text("second answer")]);
    let r = router(CACHED, &HashMap::from([("a", a.clone())]));
    let miss = r.chat(&ask("g", "hi")).await.unwrap();
    assert!(!miss.routing.as_ref().unwrap().cache_hit);
    assert_eq!(miss.cost.as_ref().unwrap().status, CostStatus::Priced);
    let hit = r.chat(&ask("g", "hi").with_tag("tags do not change the answer")).await.unwrap();
    assert_eq!(a.calls(), 1);
    assert_eq!(hit.text(), "first answer");
    assert_eq!(hit.usage, miss.usage);
    let cost = hit.cost.as_ref().unwrap();
    assert_eq!(cost.status, CostStatus::CacheHit);
    assert_eq!(cost.total().unwrap().to_string(), "0");
    let routing = hit.routing.unwrap();
    assert!(routing.cache_hit);
    assert_eq!((routing.deployment.as_str(), routing.attempts[0].outcome.as_str()), ("a", "cache_hit"));

    let other = r.chat(&ask("g", "hi").with_temperature(0.3)).await.unwrap();
    assert_eq!(other.text(), "second answer");
    assert_eq!(a.calls(), 2);

    // per request: no-cache skips the read, a namespace is a key space of its own
    let mut skip = ask("g", "hi");
    skip.metadata.insert("cache".into(), json!({"no-cache": true, "no-store": true}));
    r.chat(&skip).await.unwrap();
    let mut ns = ask("g", "hi");
    ns.metadata.insert("cache".into(), json!({"namespace": "team-b"}));
    r.chat(&ns).await.unwrap();
    assert_eq!(a.calls(), 4);
    assert!(r.chat(&ns).await.unwrap().routing.unwrap().cache_hit);
    assert_eq!(a.calls(), 4);
}

#[tokio::test]
async fn streams_are_cached_and_served_from_the_cache_as_streams() {
    let a = mock(&[MockReply::text("streamed answer here")]);
    let r = router(CACHED, &HashMap::from([("a", a.clone())]));
    let collect = |mut s: llm_core::ChatStream| async move {
        let mut asm = StreamAssembler::new();
        let mut n = 0;
        while let Some(e) = s.next().await {
            asm.push(e.unwrap());
            n += 1;
        }
        (asm.finish(), n)
    };
    let (first, _) = collect(r.stream(&ask("g", "hi")).await.unwrap()).await;
    assert_eq!(first.text(), "streamed answer here");
    assert!(!first.routing.unwrap().cache_hit);
    let (again, events) = collect(r.stream(&ask("g", "hi")).await.unwrap()).await;
    assert!(events > 2);
    assert_eq!(again.text(), "streamed answer here");
    assert_eq!(again.usage, first.usage);
    assert!(again.routing.unwrap().cache_hit);
    // and a chat call is served from what the stream stored
    assert_eq!(r.chat(&ask("g", "hi")).await.unwrap().text(), "streamed answer here");
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn an_unknown_group_is_not_found() {
    let r = router(TWO_GROUPS, &HashMap::new());
    let e = r.chat(&ask("nope", "hi")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NotFound);
    assert!(!r.has_group("nope"));
    assert!(r.has_group("main"));
}

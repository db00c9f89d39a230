//! The router's state in a real Redis (127.0.0.1:6379 or `LLM_TEST_REDIS_URL`; skipped without one, except
//! under `CI=true`): limits, cooldowns and the cache shared between independent states, and routing that keeps
//! working on local state while Redis is away and goes back to it when it returns. Every test uses a key
//! namespace of its own.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use llm_core::mock::{MockProvider, MockReply};
use llm_core::{ChatRequest, CostStatus, Message, Provider};
use llm_fake_upstream::{TcpProxy, test_redis_url};
use llm_router::{Limit, RedisState, Router, RouterConfig, RouterState};

fn namespace(test: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("llm-router-test:{test}:{}:{nanos}", std::process::id())
}

fn router_on(yaml: &str, state: Arc<dyn RouterState>, mock: Arc<MockProvider>) -> Router {
    Router::builder(RouterConfig::from_yaml(yaml).unwrap())
        .state(state)
        .factory(move |_| Ok(mock.clone() as Arc<dyn Provider>))
        .build()
        .unwrap()
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new("g", vec![Message::user(text)])
}

#[tokio::test]
async fn two_states_share_one_rpm_limit_and_cooldowns() {
    let Some(url) = test_redis_url() else { return };
    let ns = namespace("rpm");
    let a = RedisState::connect(&url, &ns).unwrap();
    let b = RedisState::connect(&url, &ns).unwrap();
    let mut granted = 0;
    for i in 0..20 {
        let s = if i % 2 == 0 { &a } else { &b };
        if s.try_acquire("dep", Some(7), None, 10).await.is_none() {
            granted += 1;
        }
    }
    assert_eq!(granted, 7);
    assert_eq!(a.try_acquire("dep", Some(7), None, 10).await, Some(Limit::Rpm(7)));
    assert_eq!(b.usage(&["dep", "other"]).await[0].requests, 7);
    assert_eq!(b.usage(&["dep"]).await[0].tokens, 70);
    a.cool_down("dep", Duration::from_secs(30)).await;
    assert_eq!(b.cooling(&["dep", "other"]).await, vec![true, false]);
    assert_eq!(a.count_failure("dep").await, 1);
    assert_eq!(b.count_failure("dep").await, 2);
    a.in_flight_add("dep", 2).await;
    b.in_flight_add("dep", -1).await;
    assert_eq!(b.in_flight(&["dep"]).await, vec![1]);
    assert_eq!((a.fallbacks(), b.fallbacks()), (0, 0));
}

#[tokio::test]
async fn routers_in_a_fleet_share_the_response_cache() {
    let Some(url) = test_redis_url() else { return };
    let ns = namespace("cache");
    let yaml = format!(
        "model_list: [{{model_name: g, litellm_params: {{model: gpt-4o-mini}}}}]\n\
         litellm_settings: {{cache: true, cache_params: {{type: redis, url: \"{url}\", namespace: \"{ns}\"}}}}"
    );
    let first = Arc::new(MockProvider::new().with_default_reply(MockReply::text("from the first")));
    let second = Arc::new(MockProvider::new().with_default_reply(MockReply::text("from the second")));
    let build = |m: Arc<MockProvider>| {
        Router::builder(RouterConfig::from_yaml(&yaml).unwrap())
            .factory(move |_| Ok(m.clone() as Arc<dyn Provider>))
            .build()
            .unwrap()
    };
    let (r1, r2) = (build(first.clone()), build(second.clone()));
    assert_eq!(r1.chat(&ask("hi")).await.unwrap().text(), "from the first");
    let hit = r2.chat(&ask("hi")).await.unwrap();
    assert_eq!(hit.text(), "from the first");
    assert_eq!(hit.cost.unwrap().status, CostStatus::CacheHit);
    assert_eq!((first.calls(), second.calls()), (1, 0));
    assert_eq!(r2.state_fallbacks(), 0);
}

#[tokio::test]
async fn without_redis_the_router_routes_on_local_state_and_counts_it() {
    // nothing listens on port 1
    let state = Arc::new(RedisState::connect("redis://127.0.0.1:1/", &namespace("down")).unwrap());
    let mock = Arc::new(MockProvider::new().with_default_reply(MockReply::text("ok")));
    let yaml = "model_list: [{model_name: g, litellm_params: {model: gpt-4o-mini, rpm: 3}}]";
    let r = router_on(yaml, state.clone(), mock.clone());
    for _ in 0..3 {
        assert_eq!(r.chat(&ask("hi")).await.unwrap().text(), "ok");
    }
    // the RPM limit still holds, on this process's counters
    let e = r.chat(&ask("hi")).await.unwrap_err();
    assert!(e.message().contains("rpm 3 reached"), "{}", e.message());
    assert_eq!(mock.calls(), 3);
    assert!(state.is_down());
    assert!(r.state_fallbacks() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_then_back() {
    let Some(url) = test_redis_url() else { return };
    let target: SocketAddr =
        url.trim_start_matches("redis://").trim_end_matches('/').rsplit('@').next().unwrap().parse().unwrap();
    let proxy = TcpProxy::start(target).await.unwrap();
    let ns = namespace("killed");
    let state = Arc::new(RedisState::connect(&format!("redis://{}/", proxy.addr()), &ns).unwrap());
    let mock = Arc::new(MockProvider::new().with_default_reply(MockReply::text("ok")));
    let yaml = "model_list: [{model_name: g, litellm_params: {model: gpt-4o-mini, rpm: 1000}}]";
    let r = router_on(yaml, state.clone(), mock.clone());
    let direct = RedisState::connect(&url, &ns).unwrap();
    for _ in 0..5 {
        r.chat(&ask("hi")).await.unwrap();
    }
    assert_eq!(r.state_fallbacks(), 0);
    assert_eq!(direct.usage(&["g/0"]).await[0].requests, 5);

    proxy.cut();
    for _ in 0..5 {
        assert_eq!(r.chat(&ask("hi")).await.unwrap().text(), "ok");
    }
    assert!(state.is_down());
    let during = r.state_fallbacks();
    assert!(during > 0);
    // Redis did not see those calls
    assert_eq!(direct.usage(&["g/0"]).await[0].requests, 5);

    proxy.restore().await.unwrap();
    // the router asks Redis again within a second of its last failure, and stays on it
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut recovering = 0;
    loop {
        r.chat(&ask("hi")).await.unwrap();
        recovering += 1;
        if !state.is_down() || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!state.is_down(), "redis is back but the router did not return to it");
    let before = direct.usage(&["g/0"]).await[0].requests;
    for _ in 0..3 {
        r.chat(&ask("hi")).await.unwrap();
    }
    assert_eq!(direct.usage(&["g/0"]).await[0].requests, before + 3);
    // every call was answered, whichever state counted it
    assert_eq!(mock.calls(), 5 + 5 + recovering + 3);
}

//! Budget alerts: Slack's incoming-webhook format, retries on 429 and 5xx as the webhook asks, and one alert
//! across the processes that share a store.
#![cfg(feature = "webhook")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use llm_core::Provider;
use llm_core::mock::MockProvider;
use llm_tracking::{Alert, AlertKind, AlertSink, Budget, Period, Scope, Store, Tracker, WebhookSink, slack_body};
use serde_json::Value;

fn alert(spent: &str) -> Alert {
    let start = "2026-12-01T00:00:00Z".parse().unwrap();
    Alert::new(AlertKind::SoftLimit, Scope::Team("research".into()), Period::Monthly, start, usd(spent), usd("80"))
}

#[test]
fn slack_body_has_text_and_blocks() {
    insta::assert_json_snapshot!(slack_body(&alert("80.5")));
}

async fn wait_for(bodies: &Arc<Mutex<Vec<String>>>, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while bodies.lock().unwrap().len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bodies.lock().unwrap().iter().map(|b| serde_json::from_str(b).unwrap()).collect()
}

#[tokio::test]
async fn a_429_is_retried_after_the_webhooks_retry_after() {
    let (url, bodies) = scripted_webhook(vec![(429, "retry-after: 1\r\n")]).await;
    let started = Instant::now();
    WebhookSink::slack(&url).unwrap().send(&alert("81")).await.unwrap();
    let waited = started.elapsed();
    let sent = wait_for(&bodies, 2).await;
    assert_eq!(sent.len(), 2, "one 429, then the retry");
    assert_eq!(sent[0], sent[1]);
    assert!(sent[0]["blocks"].is_array());
    assert!(waited >= Duration::from_secs(1), "waited the retry-after second: {waited:?}");
}

#[tokio::test]
async fn server_errors_are_retried_and_client_errors_are_not() {
    let (url, bodies) = scripted_webhook(vec![(500, ""), (503, "")]).await;
    WebhookSink::new(&url).unwrap().send(&alert("81")).await.unwrap();
    assert_eq!(wait_for(&bodies, 3).await.len(), 3, "500, 503, then 200");

    let (url, bodies) = scripted_webhook(vec![(404, "")]).await;
    let err = WebhookSink::slack(&url).unwrap().send(&alert("81")).await.unwrap_err();
    assert_eq!(err.to_string(), "webhook: answered http 404");
    assert_eq!(bodies.lock().unwrap().len(), 1, "a 404 is final");

    let (url, bodies) = scripted_webhook(vec![(502, ""), (502, ""), (502, "")]).await;
    let err = WebhookSink::slack(&url).unwrap().attempts(3).send(&alert("81")).await.unwrap_err();
    assert_eq!(err.to_string(), "webhook: answered http 502");
    assert_eq!(bodies.lock().unwrap().len(), 3, "three attempts in all");
}

#[test]
fn the_webhook_url_is_not_in_debug_output() {
    let sink = WebhookSink::slack("https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX").unwrap();
    let shown = format!("{sink:?}");
    assert!(!shown.contains("XXXXsecretXXXX"), "{shown}");
    assert!(shown.contains("hooks.slack.com"), "{shown}");
}

/// Two trackers over two connections to one store stand for two processes: the soft limit is crossed in
/// both, the alert goes out once.
async fn alert_once_across(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let (url, bodies) = webhook_server().await;
    let tracker = |store: Arc<dyn Store>| {
        Tracker::builder().pricer(pricer()).store(store).alert_sink(WebhookSink::slack(&url).unwrap()).build().unwrap()
    };
    let (ta, tb) = (tracker(a), tracker(b));
    let alice = Scope::User("alice".into());
    ta.set_budget(&Budget::new(alice, Period::Daily).with_soft(usd("0.00005"))).await.unwrap();
    let req = request().with_user("alice");
    // $0.000024 a call: the third crosses the soft limit in the first process, the fourth is seen by the second.
    for _ in 0..3 {
        ta.wrap(MockProvider::new()).chat(&req).await.unwrap();
    }
    ta.flush().await.unwrap();
    let sent = wait_for(&bodies, 1).await;
    tb.wrap(MockProvider::new()).chat(&req).await.unwrap();
    tb.flush().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while tb.stats().alerts_deduplicated == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["blocks"][1]["fields"][0]["text"], "*Who*\n`user:alice`");
    assert_eq!((ta.stats().alerts_sent, tb.stats().alerts_sent, tb.stats().alerts_deduplicated), (1, 0, 1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(bodies.lock().unwrap().len(), 1, "the second process sent nothing");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_shared_file_sends_an_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = llm_tracking::store::SqliteStore::open(&path).await.unwrap();
    let b = llm_tracking::store::SqliteStore::open(&path).await.unwrap();
    alert_once_across(Arc::new(a), Arc::new(b)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_shared_store_sends_an_alert_once() {
    let Some(a) = pg_store_in_own_schema().await else { return };
    let b = llm_tracking::store::PostgresStore::connect_with(&pg_url().unwrap(), a.schema(), 2).await.unwrap();
    alert_once_across(Arc::new(a.clone()), Arc::new(b)).await;
    a.drop_schema().await.unwrap();
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn an_undelivered_alert_is_released_for_the_next_crossing() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(llm_tracking::store::SqliteStore::open(dir.path().join("a.db")).await.unwrap());
    let a = alert("81");
    let now = llm_tracking::Timestamp::now();
    assert!(store.claim_alert(&a, now).await.unwrap());
    assert!(!store.claim_alert(&a, now).await.unwrap(), "claimed once");
    store.release_alert(&a).await.unwrap();
    assert!(store.claim_alert(&a, now).await.unwrap(), "released, claimable again");
}

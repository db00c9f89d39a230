//! The dashboard: its JSON API, and the page rendered by a real headless browser (Debian's `chromium`).
#![cfg(feature = "dashboard")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use llm_core::mock::MockProvider;
use llm_core::{ApiKey, Provider};
use llm_tracking::dashboard::{DashboardOptions, spawn_dashboard, spawn_dashboard_with};
use llm_tracking::{Budget, MemoryStore, Period, Scope, Store, Tracker};
use serde_json::json;

async fn populated() -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let tracker = Tracker::builder().pricer(pricer()).store(store.clone()).build().unwrap();
    tracker.set_budget(&Budget::new(Scope::User("alice".into()), Period::Daily).with_max(usd("1"))).await.unwrap();
    tracker
        .set_budget(&Budget::new(Scope::Team("core".into()), Period::Monthly).with_soft(usd("0.00002")))
        .await
        .unwrap();
    let key = ApiKey::new("sk-dashboard-test-key-0123456789");
    let openai = tracker.wrap(MockProvider::new().with_id("openai")).with_api_key(&key);
    for i in 0..3 {
        let req = request().with_user("alice").with_tag("batch").with_metadata("team", json!("core"));
        openai.chat(&req.with_tag(format!("run{i}"))).await.unwrap();
    }
    openai.chat(&request().with_user("bob").with_model("mock/gpt-4o-mini")).await.unwrap();
    tracker.shutdown().await.unwrap();
    store
}

async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

fn dechunk(body: &str) -> String {
    // axum answers JSON with a content-length; HTML too. Keep the body as is when it is not chunked.
    body.to_owned()
}

#[tokio::test]
async fn json_api_answers() {
    let store = populated().await;
    let (addr, task) = spawn_dashboard(store, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (status, body) = http_get(addr, "/api/summary?days=7").await;
    assert_eq!(status, 200, "{body}");
    let s: serde_json::Value = serde_json::from_str(&dechunk(&body)).unwrap();
    assert_eq!(s["total"]["calls"], 4);
    assert_eq!(s["total"]["spend"], "0.000072", "gpt-4o-mini is not in the test pricer: unpriced");
    assert_eq!(s["total"]["unpriced_calls"], 1);
    assert_eq!(s["users"][0]["key"], "alice");
    assert_eq!(s["users"][0]["spend"], "0.000072");
    assert_eq!(s["budgets"].as_array().unwrap().len(), 2);
    // a date range: yesterday alone has no calls; a range that ends before it starts is refused
    let today = llm_tracking::Day::today();
    let yesterday = today.plus(-1);
    let (status, body) = http_get(addr, &format!("/api/summary?from={yesterday}&to={yesterday}")).await;
    assert_eq!(status, 200, "{body}");
    let s: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((s["from"].as_str(), s["to"].as_str()), (Some(&*yesterday.to_string()), Some(&*yesterday.to_string())));
    assert_eq!((s["total"]["calls"].as_u64(), s["by_day"].as_array().map(Vec::len)), (Some(0), Some(0)));
    let (status, body) = http_get(addr, &format!("/api/summary?from={yesterday}&to={today}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["total"]["calls"], 4);
    let (status, body) = http_get(addr, &format!("/api/summary?from={today}&to={yesterday}")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("starts"), "{body}");
    let (status, body) = http_get(addr, "/api/report?group_by=tag").await;
    assert_eq!(status, 200);
    let r: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["rows"][0]["key"], "batch");
    let (status, body) = http_get(addr, "/api/report?group_by=colour").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid group"));
    let (status, body) = http_get(addr, "/").await;
    assert_eq!(status, 200);
    assert!(body.contains("<title>llm spend</title>"));
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_renders_in_headless_chromium() {
    let Some(browser) = llm_fake_upstream::browser::require() else { return };
    let store = populated().await;
    // with a token: the page opened with ?token= passes it on to the API it reads
    let options = DashboardOptions::new().token("page-token-123");
    let (addr, task) = spawn_dashboard_with(store, "127.0.0.1:0".parse().unwrap(), &options).await.unwrap();
    let url = format!("http://{addr}/?days=7&token=page-token-123");
    let shot = tempfile::tempdir().unwrap();
    let png = shot.path().join("dashboard.png");
    let (html, size) = tokio::task::spawn_blocking({
        let png = png.clone();
        move || {
            let html = llm_fake_upstream::browser::dump_dom(browser, &url);
            (html, llm_fake_upstream::browser::screenshot(browser, &url, &png, (1280, 1000)))
        }
    })
    .await
    .unwrap();
    task.abort();
    assert_eq!(size, (1280, 1000));
    assert!(std::fs::metadata(&png).unwrap().len() > 20_000, "a rendered page, not a blank one");
    assert!(html.contains("data-state=\"ready\""), "the page's script did not finish: {html}");
    for want in [
        "id=\"total-spend\">$0.000072<",
        "id=\"total-calls\">4<",
        "id=\"total-unpriced\">1<",
        "id=\"total-failures\">0<",
        "<tr data-key=\"alice\"><td>alice</td><td class=\"n\">3</td>",
        "$0.000072",
        "<tr data-key=\"bob\">",
        "<tr data-key=\"batch\">",
        "<tr data-key=\"gpt-4o-mini\">",
        "<tr data-scope=\"user:alice\"><td>user:alice</td><td>daily</td><td class=\"n spent\">$0.000072</td>",
        "<tr data-scope=\"team:core\">",
        "data-model=\"gpt-4o\"",
        "<svg",
    ] {
        assert!(html.contains(want), "missing {want:?} in the rendered page:\n{html}");
    }
    assert!(!html.contains("sk-dashboard-test-key"), "the key must never reach the page");
}

/// Sends one raw HTTP/1.1 request (the `Host` header as given, or none) and returns the status.
async fn raw_status(addr: SocketAddr, path: &str, host: Option<&str>, extra: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
    sock.write_all(format!("GET {path} HTTP/1.1\r\n{host}{extra}Connection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn only_the_bound_host_names_are_answered() {
    let store = populated().await;
    let options = DashboardOptions::new().allow_host("dash.internal");
    let (addr, task) = spawn_dashboard_with(store, "127.0.0.1:0".parse().unwrap(), &options).await.unwrap();
    let p = addr.port();
    assert_ne!(p, 0);
    let cases: Vec<(Option<String>, u16)> = vec![
        (Some(format!("127.0.0.1:{p}")), 200),
        (Some(format!("localhost:{p}")), 200),
        (Some(format!("LocalHost:{p}")), 200),
        (Some(format!("[::1]:{p}")), 200),
        (Some(format!("dash.internal:{p}")), 200),
        // DNS rebinding: the attacker's name resolving to 127.0.0.1
        (Some(format!("evil.example:{p}")), 403),
        (Some("evil.example".to_owned()), 403),
        (Some("localhost".to_owned()), 403),
        (Some(format!("127.0.0.1:{}", p.wrapping_add(1))), 403),
        (Some(format!("localhost.evil.example:{p}")), 403),
        (None, 403),
    ];
    for path in ["/", "/api/summary?days=7", "/api/budgets"] {
        for (host, want) in &cases {
            let got = raw_status(addr, path, host.as_deref(), "").await;
            // hyper itself may refuse an HTTP/1.1 request without Host (400); either way it is not served
            let ok = got == *want || (host.is_none() && got == 400);
            assert!(ok, "{path} with Host {host:?}: {got}, want {want}");
        }
    }
    task.abort();
}

#[tokio::test]
async fn a_token_guards_the_page_and_the_api() {
    let store = populated().await;
    let options = DashboardOptions::new().token("s3cret-token");
    let (addr, task) = spawn_dashboard_with(store, "127.0.0.1:0".parse().unwrap(), &options).await.unwrap();
    let host = addr.to_string();
    let h = Some(host.as_str());
    assert_eq!(raw_status(addr, "/api/summary", h, "").await, 401);
    assert_eq!(raw_status(addr, "/", h, "").await, 401);
    assert_eq!(raw_status(addr, "/api/summary", h, "Authorization: Bearer wrong-token!\r\n").await, 401);
    assert_eq!(raw_status(addr, "/api/summary?token=s3cret-toke", h, "").await, 401);
    assert_eq!(raw_status(addr, "/api/summary", h, "Authorization: Bearer s3cret-token\r\n").await, 200);
    assert_eq!(raw_status(addr, "/api/summary?days=7&token=s3cret-token", h, "").await, 200);
    assert_eq!(raw_status(addr, "/?token=s3cret-token", h, "").await, 200);
    // the host check comes first: the right token from a rebinding page is still refused
    assert_eq!(raw_status(addr, "/?token=s3cret-token", Some("evil.example"), "").await, 403);
    task.abort();
}

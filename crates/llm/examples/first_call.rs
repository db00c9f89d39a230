//! Where the first call through a new `llm::Client` spends its time: each piece that call builds or touches
//! for the first time, timed on its own in a fresh process, in the order the first call meets them, then the
//! first call itself through a new `Client` (once nothing else is cold: the catalog, TLS and SQLite are warm),
//! beside a raw reqwest client's first call (its build included) to the same server.
//!
//! ```text
//! cargo run --release -p llm --example first_call [-- --rounds 20]
//! ```
//! Prints one JSON line per round: milliseconds per piece.

use std::time::Instant;

use llm::Client;
use llm::core::{ApiKey, ChatRequest, Message};
use llm::providers::RetryPolicy;
use llm::tracking::{CatalogPricer, Tracker};
use llm_fake_upstream::{FakeUpstream, Reply};

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = arg("--rounds").map_or(Ok(10), |c| c.parse())?;
    let server = FakeUpstream::start().await?;
    server.set_default(Reply::json_value(
        200,
        &serde_json::json!({
            "id": "chatcmpl-cold", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}
        }),
    ));
    let dir = std::env::temp_dir().join(format!("llm-first-call-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let request = || ChatRequest::new("gpt-4o-mini", vec![Message::user("Hello!")]).with_max_tokens(64);
    let url = format!("{}/v1/chat/completions", server.url());
    let raw_call = |http: reqwest::Client| {
        let url = url.clone();
        async move {
            let body = br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}"#.to_vec();
            let resp = http.post(&url).header("content-type", "application/json").body(body).send().await?;
            let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await?)?;
            Ok::<_, Box<dyn std::error::Error>>(v)
        }
    };

    // Once per process: what a process's first call meets for the first time.
    let t = Instant::now();
    let _ = llm::cost::Catalog::embedded().version();
    let catalog = ms(t);
    let t = Instant::now();
    let _ = llm::cost::Catalog::embedded().model_info("gpt-4o-mini", None);
    let catalog_lookup = ms(t);
    let t = Instant::now();
    let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let reqwest_first = ms(t);
    let t = Instant::now();
    let store = llm::tracking::open(&format!("sqlite:{}", dir.join("spend.sqlite").display())).await?;
    let tracker = Tracker::builder().store(store).pricer(CatalogPricer::new()).build()?;
    let sqlite_tracker = ms(t);
    let t = Instant::now();
    raw_call(http).await?;
    let raw_first_connect = ms(t);
    println!(
        r#"{{"process_once": true, "catalog_parse_ms": {catalog:.3}, "catalog_first_lookup_ms": {catalog_lookup:.3}, "reqwest_build_first_ms": {reqwest_first:.3}, "sqlite_open_and_tracker_ms": {sqlite_tracker:.3}, "raw_first_call_ms": {raw_first_connect:.3}}}"#
    );

    let build = |tracker: Option<Tracker>| {
        let mut b = Client::builder()
            .api_key("openai", ApiKey::new("sk-cold"))
            .api_base("openai", server.url())
            .retry(RetryPolicy::none());
        if let Some(t) = tracker {
            b = b.tracker(t);
        }
        b.build()
    };
    // Warm the tracker's budget cache and the SQLite reader, as a client's predecessor would have.
    build(Some(tracker.clone()))?.chat(request()).await?;

    for _ in 0..rounds {
        let t = Instant::now();
        let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
        let reqwest_build = ms(t);
        let t = Instant::now();
        raw_call(http).await?;
        let raw_call_ms = ms(t);
        let t = Instant::now();
        let provider = llm::providers::ProviderClient::builder("openai")
            .api_key(ApiKey::new("sk-cold"))
            .api_base(server.url())
            .build()?;
        let provider_build = ms(t);
        drop(provider);
        let t = Instant::now();
        let client = build(Some(tracker.clone()))?;
        let client_build = ms(t);
        let t = Instant::now();
        client.route("gpt-4o-mini")?;
        let route = ms(t);
        let t = Instant::now();
        client.chat(request()).await?;
        let first = ms(t);
        let t = Instant::now();
        client.chat(request()).await?;
        let second = ms(t);
        let t = Instant::now();
        let plain = build(None)?;
        plain.chat(request()).await?;
        let untracked_first = ms(t);
        println!(
            r#"{{"reqwest_build_ms": {reqwest_build:.3}, "raw_first_call_ms": {raw_call_ms:.3}, "provider_client_build_ms": {provider_build:.3}, "client_build_ms": {client_build:.3}, "route_ms": {route:.3}, "client_first_call_ms": {first:.3}, "client_second_call_ms": {second:.3}, "untracked_client_build_and_first_call_ms": {untracked_first:.3}}}"#
        );
    }
    tracker.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

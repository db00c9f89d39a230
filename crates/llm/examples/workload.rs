//! The whole-stack workload for comparisons with other libraries: N sequential chat (or streamed) calls through
//! `llm::Client` with pricing and SQLite tracking on, against any OpenAI-compatible server, printing the
//! median, mean and p95 latency in milliseconds as one JSON line.
//!
//! ```text
//! cargo run --release -p llm --example workload -- --api-base http://127.0.0.1:PORT --calls 500 [--stream]
//! ```
//! `scripts/bench/compare_litellm.py` runs it beside LiteLLM against the same local server.

use std::time::Instant;

use futures_util::StreamExt;
use llm::Client;
use llm::core::{ApiKey, ChatRequest, Message};
use llm::providers::RetryPolicy;
use llm::tracking::{CatalogPricer, Tracker};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = arg("--api-base").ok_or("--api-base URL is required")?;
    let calls: usize = arg("--calls").map_or(Ok(500), |c| c.parse())?;
    let stream = std::env::args().any(|a| a == "--stream");
    let dir = std::env::temp_dir().join(format!("llm-workload-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = llm::tracking::open(&format!("sqlite:{}", dir.join("spend.sqlite").display())).await?;
    let tracker = Tracker::builder().store(store).pricer(CatalogPricer::new()).build()?;
    let client = Client::builder()
        .api_key("openai", ApiKey::new("sk-workload"))
        .api_base("openai", base)
        .retry(RetryPolicy::none())
        .tracker(tracker)
        .build()?;
    let request = ChatRequest::new("gpt-4o-mini", vec![Message::user("Hello!")]).with_max_tokens(64);
    let mut times = Vec::with_capacity(calls);
    for i in 0..calls + 20 {
        let t = Instant::now();
        if stream {
            let mut s = client.stream(request.clone()).await?;
            while let Some(ev) = s.next().await {
                ev?;
            }
        } else {
            client.chat(request.clone()).await?;
        }
        if i >= 20 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    client.flush().await?;
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p95 = times[times.len() * 95 / 100];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        r#"{{"calls": {calls}, "stream": {stream}, "median_ms": {median:.4}, "mean_ms": {mean:.4}, "p95_ms": {p95:.4}}}"#
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

//! What the router adds to a call, in one run: the same offline mock provider called bare, through a router with
//! in-memory state, and through a router with its state in Redis (when `LLM_TEST_REDIS_URL` is set or a Redis
//! answers on 127.0.0.1:6379), plus cache hits in memory and in Redis. p50/p99/mean over `LLM_BENCH_CALLS`
//! calls each (default 20000; 2000 for Redis), variants interleaved in rounds so machine noise hits them alike.
//! The router variants include what the router does to every response without a tracker: pricing it (at the
//! deployments' custom per-token prices here) and writing `routing`.
//!
//! Run: `cargo bench -p llm-router --features redis --bench overhead`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_core::mock::{MockProvider, MockReply};
use llm_core::{ChatRequest, Message, Provider, Usage};
use llm_router::{Router, RouterConfig};

/// The offline mock with a fixed reply and usage: the same provider bare and behind the router.
fn provider() -> Arc<MockProvider> {
    let reply = MockReply::TextWithUsage("Hello! How can I help you today?".into(), Usage::new(25, 9));
    Arc::new(MockProvider::new().with_default_reply(reply))
}

fn request(model: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::system("Be brief."), Message::user("Hello there, how are you?")])
        .with_max_tokens(100)
}

fn router(yaml: &str) -> Router {
    let p = provider();
    Router::builder(RouterConfig::from_yaml(yaml).unwrap())
        .factory(move |_| Ok(p.clone() as Arc<dyn Provider>))
        .build()
        .unwrap()
}

fn config(redis: Option<&str>, cache: bool) -> String {
    let mut y = String::from(
        "model_list:\n  - {model_name: g, litellm_params: {model: gpt-4o-mini, rpm: 100000000, tpm: 100000000000, input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}}\n  - {model_name: g, litellm_params: {model: gpt-4o-mini, rpm: 100000000, tpm: 100000000000, input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}}\n",
    );
    if let Some(url) = redis {
        let ns = format!("llm-router-bench:{}", std::process::id());
        y.push_str(&format!("router_settings: {{redis_url: \"{url}\", redis_namespace: \"{ns}\"}}\n"));
    }
    if cache {
        let kind = if redis.is_some() { "redis" } else { "local" };
        y.push_str(&format!("litellm_settings: {{cache: true, cache_params: {{type: {kind}}}}}\n"));
    }
    y
}

fn redis_url() -> Option<String> {
    if let Ok(u) = std::env::var("LLM_TEST_REDIS_URL") {
        return Some(u);
    }
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 6379));
    std::net::TcpStream::connect_timeout(&local, Duration::from_millis(300)).ok().map(|_| format!("redis://{local}/"))
}

struct Variant {
    name: &'static str,
    provider: Arc<dyn Provider>,
    model: &'static str,
    calls: usize,
    samples: Vec<Duration>,
}

fn main() {
    let calls: usize = std::env::var("LLM_BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _guard = rt.enter();
    let mut variants = vec![
        Variant { name: "bare provider", provider: provider(), model: "gpt-4o-mini", calls, samples: Vec::new() },
        Variant {
            name: "router, memory state",
            provider: Arc::new(router(&config(None, false))),
            model: "g",
            calls,
            samples: Vec::new(),
        },
        Variant {
            name: "router, memory cache hit",
            provider: Arc::new(router(&config(None, true))),
            model: "g",
            calls,
            samples: Vec::new(),
        },
    ];
    match redis_url() {
        Some(url) => {
            let n = (calls / 10).max(100);
            variants.push(Variant {
                name: "router, redis state",
                provider: Arc::new(router(&config(Some(&url), false))),
                model: "g",
                calls: n,
                samples: Vec::new(),
            });
            variants.push(Variant {
                name: "router, redis cache hit",
                provider: Arc::new(router(&config(Some(&url), true))),
                model: "g",
                calls: n,
                samples: Vec::new(),
            });
        }
        None => println!("no Redis (LLM_TEST_REDIS_URL or 127.0.0.1:6379): the Redis variants are left out"),
    }
    let rounds = 10;
    for v in &variants {
        // warm up: connections, the cache entry, the allocator
        for _ in 0..100 {
            rt.block_on(v.provider.chat(&request(v.model))).unwrap();
        }
    }
    for _ in 0..rounds {
        for v in &mut variants {
            let req = request(v.model);
            for _ in 0..v.calls / rounds {
                let t = Instant::now();
                let r = rt.block_on(v.provider.chat(&req)).unwrap();
                v.samples.push(t.elapsed());
                std::hint::black_box(r);
            }
        }
    }
    println!("{:<28} {:>8} {:>10} {:>10} {:>10}", "variant", "calls", "p50", "p99", "mean");
    for v in &mut variants {
        v.samples.sort();
        let n = v.samples.len();
        let mean = v.samples.iter().sum::<Duration>() / n as u32;
        println!(
            "{:<28} {:>8} {:>10.2?} {:>10.2?} {:>10.2?}",
            v.name,
            n,
            v.samples[n / 2],
            v.samples[n * 99 / 100],
            mean
        );
    }
}

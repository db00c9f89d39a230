//! Per-call overhead of a `ProviderClient` against the fake upstream, beside a raw reqwest + serde_json call
//! to the same server in the same run, and the per-chunk cost of streaming.
//!
//! `cargo bench -p llm-providers --bench overhead`. The raw baseline builds and serializes its JSON body,
//! sends it with reqwest, and parses the answer (or each SSE event) into a `serde_json::Value`: what a
//! hand-written client does on every call. Compare `chat::llm_providers` with `chat::raw_reqwest`,
//! and `stream_*::llm_providers` with `stream_*::raw_reqwest`; the per-chunk cost is the difference between
//! the 200-chunk and the 10-chunk streams divided by 190.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a broken benchmark setup should stop loudly"
)]

use std::sync::LazyLock;

use futures_util::StreamExt;
use llm_core::{ApiKey, ChatRequest, Message, Provider, collect_stream};
use llm_fake_upstream::{FakeUpstream, wire};
use llm_providers::{ProviderClient, RetryPolicy};

struct Setup {
    rt: tokio::runtime::Runtime,
    chat: FakeUpstream,
    stream10: FakeUpstream,
    stream200: FakeUpstream,
    raw: reqwest::Client,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (chat, stream10, stream200) = rt.block_on(async {
        let chat = FakeUpstream::start().await.unwrap();
        chat.set_default(wire::openai::chat("Hello! How can I help you today?", 21, 9));
        let pieces10: Vec<String> = (0..10).map(|i| format!("tok{i} ")).collect();
        let pieces200: Vec<String> = (0..200).map(|i| format!("tok{i} ")).collect();
        let s10 = FakeUpstream::start().await.unwrap();
        s10.set_default(wire::openai::stream(&pieces10.iter().map(String::as_str).collect::<Vec<_>>(), 21, 10));
        let s200 = FakeUpstream::start().await.unwrap();
        s200.set_default(wire::openai::stream(&pieces200.iter().map(String::as_str).collect::<Vec<_>>(), 21, 200));
        (chat, s10, s200)
    });
    let raw = reqwest::Client::builder().tcp_nodelay(true).build().unwrap();
    Setup { rt, chat, stream10, stream200, raw }
});

fn client(server: &FakeUpstream) -> ProviderClient {
    ProviderClient::builder("openai")
        .api_key(ApiKey::new("sk-bench"))
        .api_base(server.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini", vec![Message::system("Be brief."), Message::user("Hello!")]).with_max_tokens(64)
}

/// The body a hand-written client serializes on every call.
fn raw_body(stream: bool) -> Vec<u8> {
    let mut v = serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}],
        "max_completion_tokens": 64
    });
    if stream {
        v["stream"] = true.into();
        v["stream_options"] = serde_json::json!({"include_usage": true});
    }
    serde_json::to_vec(&v).unwrap()
}

async fn raw_chat(s: &Setup, url: &str) -> serde_json::Value {
    let resp = s
        .raw
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-bench")
        .body(raw_body(false))
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
}

async fn raw_stream(s: &Setup, url: &str) -> usize {
    let resp = s
        .raw
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-bench")
        .body(raw_body(true))
        .send()
        .await
        .unwrap();
    let mut bytes = resp.bytes_stream();
    let mut buf = Vec::new();
    let mut chunks = 0;
    while let Some(b) = bytes.next().await {
        buf.extend_from_slice(&b.unwrap());
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..end + 2).collect();
            let data = event.strip_prefix(b"data: ").unwrap_or(&event);
            let data = &data[..data.len() - 2];
            if data != b"[DONE]" {
                let v: serde_json::Value = serde_json::from_slice(data).unwrap();
                chunks += usize::from(v.is_object());
            }
        }
    }
    chunks
}

mod chat {
    use super::*;

    #[divan::bench]
    fn llm_providers(b: divan::Bencher) {
        let s = &*SETUP;
        let c = client(&s.chat);
        let req = request();
        b.bench_local(|| {
            s.chat.clear_requests();
            s.rt.block_on(c.chat(&req)).unwrap()
        });
    }

    #[divan::bench]
    fn raw_reqwest(b: divan::Bencher) {
        let s = &*SETUP;
        let url = format!("{}/v1/chat/completions", s.chat.url());
        b.bench_local(|| {
            s.chat.clear_requests();
            s.rt.block_on(raw_chat(s, &url))
        });
    }
}

mod stream_10_chunks {
    use super::*;

    #[divan::bench]
    fn llm_providers(b: divan::Bencher) {
        let s = &*SETUP;
        let c = client(&s.stream10);
        let req = request();
        b.bench_local(|| {
            s.stream10.clear_requests();
            s.rt.block_on(async { collect_stream(c.stream(&req).await.unwrap()).await.unwrap() })
        });
    }

    #[divan::bench]
    fn raw_reqwest(b: divan::Bencher) {
        let s = &*SETUP;
        let url = format!("{}/v1/chat/completions", s.stream10.url());
        b.bench_local(|| {
            s.stream10.clear_requests();
            s.rt.block_on(raw_stream(s, &url))
        });
    }
}

mod stream_200_chunks {
    use super::*;

    #[divan::bench]
    fn llm_providers(b: divan::Bencher) {
        let s = &*SETUP;
        let c = client(&s.stream200);
        let req = request();
        b.bench_local(|| {
            s.stream200.clear_requests();
            s.rt.block_on(async { collect_stream(c.stream(&req).await.unwrap()).await.unwrap() })
        });
    }

    #[divan::bench]
    fn raw_reqwest(b: divan::Bencher) {
        let s = &*SETUP;
        let url = format!("{}/v1/chat/completions", s.stream200.url());
        b.bench_local(|| {
            s.stream200.clear_requests();
            s.rt.block_on(raw_stream(s, &url))
        });
    }
}

fn main() {
    divan::main();
}

/// The pure parts of a call, without I/O: what the adapter adds over serde_json alone.
mod pure {
    use super::*;

    const BODY: &[u8] = br#"{"id":"chatcmpl-fake","object":"chat.completion","created":1794312345,"model":"fake-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":21,"completion_tokens":9,"total_tokens":30}}"#;

    #[divan::bench]
    fn encode_llm_providers(b: divan::Bencher) {
        let c = client(&SETUP.chat);
        let req = request();
        b.bench_local(|| c.prepare(&req, false).unwrap());
    }

    #[divan::bench]
    fn encode_raw(b: divan::Bencher) {
        b.bench_local(|| raw_body(false));
    }

    #[divan::bench]
    fn decode_llm_providers(b: divan::Bencher) {
        let c = client(&SETUP.chat);
        b.bench_local(|| c.adapter().decode(BODY, "m").unwrap());
    }

    #[divan::bench]
    fn decode_raw(b: divan::Bencher) {
        b.bench_local(|| serde_json::from_slice::<serde_json::Value>(BODY).unwrap());
    }
}

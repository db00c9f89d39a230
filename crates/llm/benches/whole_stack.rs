//! The whole stack per call: `llm::Client` with pricing and SQLite tracking on, against the fake upstream on
//! 127.0.0.1, beside a raw reqwest + serde_json call to the same server in the same run. Also streaming:
//! time to first token and total.
//!
//! `cargo bench -p llm --bench whole_stack`. Compare `chat::client_tracked_sqlite` with `chat::raw_reqwest`,
//! `stream_first_token::*`, `stream_total::*` and `cold::*` (a new client's first call) likewise. The tracked client writes every record into a SQLite
//! file in a temporary directory (batched by the tracker's writer, as in production).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a broken benchmark setup should stop loudly"
)]

use std::sync::LazyLock;

use futures_util::StreamExt;
use llm::Client;
use llm::core::{ApiKey, ChatRequest, Message, StreamEvent};
use llm::providers::RetryPolicy;
use llm::tracking::{CatalogPricer, Tracker};
use llm_fake_upstream::FakeUpstream;

struct Setup {
    rt: tokio::runtime::Runtime,
    chat: FakeUpstream,
    stream: FakeUpstream,
    raw: reqwest::Client,
    plain: Client,
    tracked: Client,
    tracked_stream: Client,
    tracked_memory: Client,
    tracked_nobudget: Client,
    _dir: std::path::PathBuf,
}

const PIECES: [&str; 10] = ["Hello", "! ", "How ", "can ", "I ", "help ", "you ", "to", "day", "?"];

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("llm-whole-stack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (chat, stream, plain, tracked, tracked_stream, tracked_memory, tracked_nobudget) = rt.block_on(async {
        let chat = FakeUpstream::start().await.unwrap();
        // A real served model name, as OpenAI answers: pricing takes the catalog's fast path.
        chat.set_default(llm_fake_upstream::Reply::json_value(
            200,
            &serde_json::json!({
                "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}
            }),
        ));
        let stream = FakeUpstream::start().await.unwrap();
        stream.set_default(llm_fake_upstream::Reply::sse_transcript(&sse_transcript()));
        let build = |server: &FakeUpstream, tracker: Option<Tracker>| {
            let mut b = Client::builder()
                .api_key("openai", ApiKey::new("sk-bench"))
                .api_base("openai", server.url())
                .retry(RetryPolicy::none())
                .user("bench")
                .tag("bench");
            if let Some(t) = tracker {
                b = b.tracker(t);
            }
            b.build().unwrap()
        };
        let tracker = |name: &str| {
            let dir = dir.clone();
            let name = name.to_owned();
            async move {
                let store = llm::tracking::open(&format!("sqlite:{}", dir.join(name).display())).await.unwrap();
                Tracker::builder().store(store).pricer(CatalogPricer::new()).build().unwrap()
            }
        };
        let plain = build(&chat, None);
        let tracked = build(&chat, Some(tracker("chat.sqlite").await));
        let tracked_stream = build(&stream, Some(tracker("stream.sqlite").await));
        let tracked_memory =
            build(&chat, Some(Tracker::builder().pricer(CatalogPricer::new()).build().unwrap()));
        let nb = {
            let store = llm::tracking::open(&format!("sqlite:{}", dir.join("nb.sqlite").display())).await.unwrap();
            Tracker::builder().store(store).pricer(CatalogPricer::new()).budgets(false).build().unwrap()
        };
        let tracked_nobudget = build(&chat, Some(nb));
        (chat, stream, plain, tracked, tracked_stream, tracked_memory, tracked_nobudget)
    });
    let raw = reqwest::Client::builder().tcp_nodelay(true).build().unwrap();
    Setup { rt, chat, stream, raw, plain, tracked, tracked_stream, tracked_memory, tracked_nobudget, _dir: dir }
});

/// The stream OpenAI sends for PIECES, served by gpt-4o-mini-2024-07-18, usage last.
fn sse_transcript() -> String {
    let base = serde_json::json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1,
                                  "model": "gpt-4o-mini-2024-07-18"});
    let mut out = String::new();
    let mut push = |extra: serde_json::Value| {
        let mut c = base.clone();
        for (k, v) in extra.as_object().into_iter().flatten() {
            c[k] = v.clone();
        }
        out.push_str(&format!("data: {c}\n\n"));
    };
    push(
        serde_json::json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]}),
    );
    for p in PIECES {
        push(serde_json::json!({"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]}));
    }
    push(serde_json::json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    push(
        serde_json::json!({"choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": 10, "total_tokens": 31}}),
    );
    out.push_str("data: [DONE]\n\n");
    out
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini", vec![Message::system("Be brief."), Message::user("Hello!")]).with_max_tokens(64)
}

/// One chat call with a raw reqwest client and serde_json: the baseline every row is compared with.
async fn raw_call(client: &reqwest::Client, url: &str) -> serde_json::Value {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .bearer_auth("sk-bench")
        .body(raw_body(false))
        .send()
        .await
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&resp.bytes().await.unwrap()).unwrap()
}

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

fn main() {
    LazyLock::force(&SETUP);
    divan::main();
}

mod chat {
    use super::*;

    #[divan::bench]
    fn raw_reqwest() -> serde_json::Value {
        let s = &*SETUP;
        let url = format!("{}/v1/chat/completions", s.chat.url());
        s.rt.block_on(raw_call(&s.raw, &url))
    }

    #[divan::bench]
    fn provider_client_only() -> String {
        use llm::core::Provider;
        static CLIENT: LazyLock<llm::providers::ProviderClient> = LazyLock::new(|| {
            llm::providers::ProviderClient::builder("openai")
                .api_key(ApiKey::new("sk-bench"))
                .api_base(SETUP.chat.url())
                .retry(RetryPolicy::none())
                .build()
                .unwrap()
        });
        let s = &*SETUP;
        s.rt.block_on(async { CLIENT.chat(&request()).await.unwrap().id })
    }

    /// One chat call through the setup's client that `pick` names; its cost.
    fn priced_call(pick: impl Fn(&Setup) -> &Client) -> Option<llm::core::Cost> {
        let s = &*SETUP;
        s.rt.block_on(async { pick(s).chat(request()).await.unwrap().cost })
    }

    #[divan::bench]
    fn client_priced() -> Option<llm::core::Cost> {
        priced_call(|s| &s.plain)
    }

    #[divan::bench]
    fn client_tracked_sqlite() -> Option<llm::core::Cost> {
        priced_call(|s| &s.tracked)
    }

    #[divan::bench]
    fn client_tracked_memory() -> Option<llm::core::Cost> {
        priced_call(|s| &s.tracked_memory)
    }

    #[divan::bench]
    fn client_tracked_sqlite_no_budgets() -> Option<llm::core::Cost> {
        priced_call(|s| &s.tracked_nobudget)
    }
}

async fn raw_stream(first_only: bool) -> usize {
    let s = &*SETUP;
    let url = format!("{}/v1/chat/completions", s.stream.url());
    let resp = s
        .raw
        .post(&url)
        .header("content-type", "application/json")
        .bearer_auth("sk-bench")
        .body(raw_body(true))
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    let mut buf = Vec::new();
    let mut events = 0;
    while let Some(chunk) = body.next().await {
        buf.extend_from_slice(&chunk.unwrap());
        while let Some(pos) = buf.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..pos + 2).collect();
            if let Some(data) = event.strip_prefix(b"data: ") {
                let data = &data[..data.len() - 2];
                if data != b"[DONE]" {
                    let v: serde_json::Value = serde_json::from_slice(data).unwrap();
                    if v["choices"][0]["delta"]["content"].as_str().is_some_and(|c| !c.is_empty()) {
                        events += 1;
                        if first_only {
                            return events;
                        }
                    }
                }
            }
        }
    }
    events
}

async fn client_stream(first_only: bool) -> usize {
    let s = &*SETUP;
    let mut stream = s.tracked_stream.stream(request()).await.unwrap();
    let mut texts = 0;
    while let Some(ev) = stream.next().await {
        if let StreamEvent::TextDelta { .. } = ev.unwrap() {
            texts += 1;
            if first_only {
                return texts;
            }
        }
    }
    texts
}

mod stream_first_token {
    use super::*;

    #[divan::bench]
    fn raw_reqwest() -> usize {
        SETUP.rt.block_on(raw_stream(true))
    }

    #[divan::bench]
    fn client_tracked_sqlite() -> usize {
        SETUP.rt.block_on(client_stream(true))
    }
}

mod stream_total {
    use super::*;

    #[divan::bench]
    fn raw_reqwest() -> usize {
        SETUP.rt.block_on(raw_stream(false))
    }

    #[divan::bench]
    fn client_tracked_sqlite() -> usize {
        SETUP.rt.block_on(client_stream(false))
    }
}

/// The first call through a new client (built inside the timed part, so a new connection too), beside a new
/// raw reqwest client's first call. The tracked client shares the setup's SQLite tracker, as clients built
/// during a process's life do; the catalog is parsed already (`first_call` example: what a process pays once).
mod cold {
    use super::*;

    #[divan::bench(sample_count = 200, sample_size = 1)]
    fn raw_reqwest_first_call() -> serde_json::Value {
        let s = &*SETUP;
        let url = format!("{}/v1/chat/completions", s.chat.url());
        s.rt.block_on(async {
            let raw = reqwest::Client::builder().tcp_nodelay(true).build().unwrap();
            raw_call(&raw, &url).await
        })
    }

    #[divan::bench(sample_count = 200, sample_size = 1)]
    fn client_tracked_first_call() -> Option<llm::core::Cost> {
        let s = &*SETUP;
        s.rt.block_on(async {
            let client = Client::builder()
                .api_key("openai", ApiKey::new("sk-bench"))
                .api_base("openai", s.chat.url())
                .retry(RetryPolicy::none())
                .tracker(s.tracked.tracker().unwrap().clone())
                .build()
                .unwrap();
            client.chat(request()).await.unwrap().cost
        })
    }
}

/// The facade's own per-call work, apart from HTTP: routing a model name and pricing a response.
mod facade_parts {
    use super::*;

    #[divan::bench]
    fn route() -> llm::Route {
        SETUP.plain.route(divan::black_box("gpt-4o-mini")).unwrap()
    }

    #[divan::bench]
    fn price(bencher: divan::Bencher) {
        let s = &*SETUP;
        let resp = llm::core::openai::response_from_json(
            br#"{"id":"x","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":21,"completion_tokens":9,"total_tokens":30}}"#,
        )
        .unwrap()
        .with_provider("openai");
        let req = request();
        bencher.bench(|| s.plain.price(&req, &resp));
    }
}

//! Hostile answers over real HTTP against the fake upstream: retry hints too large, negative or unreadable
//! (never a panic, never a long wait; the error keeps a valid-but-too-long hint), streams kept alive past their
//! total deadline, events and bodies over the size limits. Property tests feed arbitrary statuses, headers and
//! bodies through the error mapping of every provider.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::{Duration, Instant};

use llm_core::{ApiKey, ChatRequest, ErrorKind, Message, Provider, collect_stream};
use llm_fake_upstream::{FakeUpstream, Reply, wire};
use llm_providers::errors::{MAX_RETRY_HINT, http_error};
use llm_providers::{Limits, PROVIDERS, ProviderClient, RetryPolicy, Timeouts};
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

const KEY: &str = "test-key-0123456789";

fn builder(provider: &str, base: &str) -> llm_providers::ClientBuilder {
    let b = ProviderClient::builder(provider)
        .api_key(ApiKey::new(KEY))
        .api_base(base)
        .retry(
            RetryPolicy::default()
                .with_max_retries(2)
                .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
        .timeouts(Timeouts::default().with_request(Duration::from_secs(5)).with_idle(Duration::from_secs(5)));
    match provider {
        "bedrock" => b.aws_region("us-east-1"),
        "vertex_ai" => b.vertex_project("p"),
        _ => b,
    }
}

fn request(model: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::user("Hi!")])
}

// ---------------------------------------------------------------------------------------------------------
// 1. Retry hints

/// What a hostile hint must come to: the hint the error carries, and how many requests were made (1: the
/// retries ended at once; 3: the hint was ignored and the backoff used).
struct HintCase {
    name: &'static str,
    provider: &'static str,
    reply: Reply,
    retry_after: Option<Duration>,
    requests: usize,
}

fn hint(
    name: &'static str,
    provider: &'static str,
    reply: Reply,
    retry_after: Option<Duration>,
    requests: usize,
) -> HintCase {
    HintCase { name, provider, reply, retry_after, requests }
}

fn rate_limited() -> Reply {
    wire::openai::error(429, "tokens", Some("rate_limit_exceeded"), "Rate limit reached")
}

fn hint_cases() -> Vec<HintCase> {
    let long = Some(MAX_RETRY_HINT);
    vec![
        hint("retry-after-ms 1e30", "openai", rate_limited().header("retry-after-ms", "1e30"), long, 1),
        hint("retry-after-ms NaN", "openai", rate_limited().header("retry-after-ms", "NaN"), None, 3),
        hint("retry-after-ms -5", "openai", rate_limited().header("retry-after-ms", "-5"), None, 3),
        hint("retry-after-ms inf", "openai", rate_limited().header("retry-after-ms", "inf"), None, 3),
        hint(
            "retry-after 99999999999999999999",
            "openai",
            rate_limited().header("retry-after", "99999999999999999999"),
            long,
            1,
        ),
        hint(
            "retry-after in year 9999",
            "anthropic",
            wire::anthropic::error(429, "rate_limit_error", "slow down")
                .header("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
            long,
            1,
        ),
        hint(
            "retry-after in the past",
            "anthropic",
            wire::anthropic::error(429, "rate_limit_error", "slow down")
                .header("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO),
            3,
        ),
        hint(
            "retry-after in year 99999999999999 (seconds beyond i64)",
            "anthropic",
            wire::anthropic::error(429, "rate_limit_error", "slow down")
                .header("retry-after", "Fri, 31 Dec 99999999999999 23:59:59 GMT"),
            None,
            3,
        ),
        hint(
            "gemini retryDelay 99999999999999999999s",
            "gemini",
            Reply::json(
                429,
                r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"quota","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"99999999999999999999s"}]}}"#,
            ),
            long,
            1,
        ),
        hint(
            "gemini retryDelay in ms",
            "gemini",
            Reply::json(
                429,
                r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"quota","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1e300ms"}]}}"#,
            ),
            long,
            1,
        ),
        hint(
            "try again in 99999999999999999999999ms",
            "groq",
            wire::openai::error(
                429,
                "tokens",
                Some("rate_limit_exceeded"),
                "Rate limit reached. Please try again in 99999999999999999999999ms. Visit the docs.",
            ),
            long,
            1,
        ),
        hint(
            "bedrock throttling with retry-after-ms 1e30",
            "bedrock",
            wire::bedrock::error(429, "ThrottlingException", "Too many requests").header("retry-after-ms", "1e30"),
            long,
            1,
        ),
    ]
}

#[tokio::test]
async fn hostile_retry_hints_give_typed_errors_without_waiting() {
    for case in hint_cases() {
        let name = case.name;
        let server = FakeUpstream::start().await.unwrap();
        server.set_default(case.reply);
        let c = builder(case.provider, &server.url()).build().unwrap();
        let started = Instant::now();
        let e = c.chat(&request("m")).await.expect_err(name);
        assert!(started.elapsed() < Duration::from_secs(1), "{name}: waited {:?}", started.elapsed());
        assert_eq!(e.kind(), &ErrorKind::RateLimited, "{name}: {e}");
        assert_eq!(e.status(), Some(429), "{name}");
        assert_eq!(e.retry_after(), case.retry_after, "{name}");
        assert_eq!(server.request_count(), case.requests, "{name}");
        assert_eq!(e.retries().len(), case.requests - 1, "{name}");
        // No retry ever waited longer than the backoff (5 to 20 ms).
        assert!(e.retries().iter().all(|r| r.wait_ms <= 20), "{name}: {:?}", e.retries());
    }
}

#[tokio::test]
async fn hostile_retry_hints_on_a_stream_request() {
    let server = FakeUpstream::start().await.unwrap();
    server.set_default(rate_limited().header("retry-after-ms", "1e30"));
    let c = builder("openai", &server.url()).build().unwrap();
    let started = Instant::now();
    let e = c.stream(&request("gpt-4o")).await.map(|_| ()).expect_err("429");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!((e.kind(), e.retry_after()), (&ErrorKind::RateLimited, Some(MAX_RETRY_HINT)));
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_hint_over_the_configured_maximum_ends_the_retries_and_stays_on_the_error() {
    let server = FakeUpstream::start().await.unwrap();
    server.set_default(rate_limited().header("retry-after", "5"));
    let policy = RetryPolicy::default().with_max_retries(2).with_max_retry_after(Duration::from_secs(1));
    let c = builder("openai", &server.url()).retry(policy).build().unwrap();
    let started = Instant::now();
    let e = c.chat(&request("gpt-4o")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
    assert_eq!(server.request_count(), 1);

    // A policy that would wait longer than a day still never waits for a saturated hint.
    let server = FakeUpstream::start().await.unwrap();
    server.set_default(rate_limited().header("retry-after-ms", "1e30"));
    let policy = RetryPolicy::default().with_max_retry_after(Duration::from_secs(10 * 86_400));
    let c = builder("openai", &server.url()).retry(policy).build().unwrap();
    let e = c.chat(&request("gpt-4o")).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(MAX_RETRY_HINT));
    assert_eq!(server.request_count(), 1);
}

// ---------------------------------------------------------------------------------------------------------
// 2. The total deadline of a stream

#[tokio::test]
async fn keep_alive_comments_do_not_extend_a_stream_past_its_total_deadline() {
    let server = FakeUpstream::start().await.unwrap();
    // A role chunk, then a comment every 50 ms for 2 s: each gap is far under the idle limit.
    let first = "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n";
    let chunks = std::iter::once(first.to_owned()).chain((0..40).map(|_| ": keep-alive\n\n".to_owned()));
    server.push(Reply::stream("text/event-stream", chunks).chunk_gap(Duration::from_millis(50)));
    let timeouts = Timeouts::default().with_idle(Duration::from_secs(5)).with_total(Duration::from_millis(300));
    let c = builder("openai", &server.url()).timeouts(timeouts).build().unwrap();
    let started = Instant::now();
    let mut s = c.stream(&request("gpt-4o")).await.unwrap();
    let mut text = String::new();
    let e = loop {
        match futures_util::StreamExt::next(&mut s).await {
            Some(Ok(llm_core::StreamEvent::TextDelta { text: t, .. })) => text.push_str(&t),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the stream ended without the deadline error"),
        }
    };
    let took = started.elapsed();
    assert_eq!(text, "Hel", "events before the deadline are delivered");
    assert_eq!(e.kind(), &ErrorKind::Timeout, "{e}");
    assert_eq!(e.message(), "stream exceeded its total deadline of 300 ms");
    assert_eq!(e.provider().map(|p| p.as_str()), Some("openai"));
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(900), "{took:?}");
}

/// Bedrock streams only with the `bedrock` feature (its event-stream decoder).
fn streams(provider: &str) -> bool {
    cfg!(feature = "bedrock") || provider != "bedrock"
}

#[tokio::test]
async fn a_stream_of_real_events_ends_at_its_total_deadline_too() {
    for provider in ["openai", "anthropic", "gemini", "ollama", "bedrock"].into_iter().filter(|p| streams(p)) {
        let server = FakeUpstream::start().await.unwrap();
        let pieces = ["a"; 40];
        let reply = match provider {
            "openai" => wire::openai::stream(&pieces, 1, 40),
            "anthropic" => wire::anthropic::stream(&pieces, 1, 40),
            "gemini" => wire::gemini::stream(&pieces, 1, 40),
            "ollama" => wire::ollama::stream(&pieces, 1, 40),
            _ => wire::bedrock::stream(&pieces, 1, 40),
        };
        server.push(reply.chunk_gap(Duration::from_millis(50)));
        let timeouts = Timeouts::default().with_idle(Duration::from_secs(5)).with_total(Duration::from_millis(300));
        let c = builder(provider, &server.url()).timeouts(timeouts).build().unwrap();
        let started = Instant::now();
        let e = collect_stream(c.stream(&request("m")).await.unwrap()).await.expect_err(provider);
        assert_eq!(e.kind(), &ErrorKind::Timeout, "{provider}: {e}");
        assert_eq!(e.message(), "stream exceeded its total deadline of 300 ms", "{provider}");
        assert!(started.elapsed() < Duration::from_millis(900), "{provider}: {:?}", started.elapsed());
    }
}

#[test]
fn the_total_deadline_defaults_to_600_seconds() {
    let t = Timeouts::default();
    assert_eq!(
        (t.request, t.idle, t.total),
        (Duration::from_secs(600), Duration::from_secs(120), Duration::from_secs(600))
    );
    let l = Limits::default();
    assert_eq!((l.max_event_bytes, l.max_body_bytes), (16 << 20, 256 << 20));
}

// ---------------------------------------------------------------------------------------------------------
// 3. Size limits

#[tokio::test]
async fn an_event_over_the_limit_is_a_decode_error_naming_it() {
    let big = "x".repeat(4096);
    for provider in ["openai", "ollama", "bedrock"].into_iter().filter(|p| streams(p)) {
        let server = FakeUpstream::start().await.unwrap();
        let reply = match provider {
            "openai" => {
                let line = format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{big}\"}}}}]}}\n\n");
                let chunks: Vec<Vec<u8>> = line.as_bytes().chunks(256).map(<[u8]>::to_vec).collect();
                Reply::stream("text/event-stream", chunks)
            }
            "ollama" => {
                let line = format!(
                    "{{\"model\":\"m\",\"message\":{{\"role\":\"assistant\",\"content\":\"{big}\"}},\"done\":false}}\n"
                );
                let chunks: Vec<Vec<u8>> = line.as_bytes().chunks(256).map(<[u8]>::to_vec).collect();
                Reply::stream("application/x-ndjson", chunks)
            }
            _ => wire::bedrock::stream(&[big.as_str()], 1, 1),
        };
        server.push(reply);
        let c = builder(provider, &server.url()).limits(Limits::default().with_max_event_bytes(1024)).build().unwrap();
        let e = collect_stream(c.stream(&request("m")).await.unwrap()).await.expect_err(provider);
        assert_eq!(e.kind(), &ErrorKind::Decode, "{provider}: {e}");
        assert!(e.message().contains("larger than the limit of 1024 bytes (max_event_bytes)"), "{provider}: {e}");
        assert_eq!(e.provider().map(|p| p.as_str()), Some(provider));
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_decode_error_naming_it() {
    let limits = Limits::default().with_max_body_bytes(1024);
    let text = "y".repeat(4096);
    let want = "the response body is larger than the limit of 1024 bytes (max_body_bytes)";

    // With a content-length.
    let server = FakeUpstream::start().await.unwrap();
    server.push(wire::openai::chat(&text, 1, 1));
    let c = builder("openai", &server.url()).limits(limits).build().unwrap();
    let e = c.chat(&request("gpt-4o")).await.unwrap_err();
    assert_eq!((e.kind(), e.message()), (&ErrorKind::Decode, want));

    // Chunked, without a length.
    let json = format!(
        "{{\"id\":\"c\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":\"{text}\"}},\"finish_reason\":\"stop\"}}]}}"
    );
    let chunks: Vec<Vec<u8>> = json.as_bytes().chunks(512).map(<[u8]>::to_vec).collect();
    server.push(Reply::stream("application/json", chunks));
    let e = c.chat(&request("gpt-4o")).await.unwrap_err();
    assert_eq!((e.kind(), e.message()), (&ErrorKind::Decode, want));

    // A whole JSON body answering a stream request.
    server.push(wire::openai::chat(&text, 1, 1));
    let e = c.stream(&request("gpt-4o")).await.map(|_| ()).unwrap_err();
    assert_eq!((e.kind(), e.message()), (&ErrorKind::Decode, want));

    // Under the limit, all is well.
    server.push(wire::openai::chat("short", 1, 1));
    assert_eq!(c.chat(&request("gpt-4o")).await.unwrap().text(), "short");
}

#[tokio::test]
async fn a_huge_error_body_is_read_only_in_part() {
    let server = FakeUpstream::start().await.unwrap();
    let body = format!(
        "{{\"error\":{{\"message\":\"overloaded\",\"type\":\"overloaded_error\"}},\"pad\":\"{}\"}}",
        "z".repeat(4 << 20)
    );
    server.push(Reply::json(503, body));
    let c = builder("openai", &server.url()).retry(RetryPolicy::none()).build().unwrap();
    let e = c.chat(&request("gpt-4o")).await.unwrap_err();
    // The first MiB is not valid JSON on its own: the status decides.
    assert_eq!((e.kind(), e.status()), (&ErrorKind::Overloaded, Some(503)));
    assert!(e.body().is_some_and(|b| b.starts_with("{\"error\"")));
}

// ---------------------------------------------------------------------------------------------------------
// 4. Property tests: the error path of every provider

fn adapters() -> Vec<ProviderClient> {
    PROVIDERS
        .iter()
        .map(|spec| builder(spec.name, "http://127.0.0.1:9").build().unwrap_or_else(|e| panic!("{}: {e}", spec.name)))
        .collect()
}

/// Header values a hint parser meets: numbers of every size and sign, dates, and noise.
fn hint_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|f| f.to_string()),
        any::<i128>().prop_map(|i| i.to_string()),
        "[0-9]{1,40}(\\.[0-9]{0,5})?",
        "-?[0-9.]{0,10}[eE][+-]?[0-9]{1,4}",
        (0u32..7, 0i64..99, 0usize..12, -5i64..100_000, 0i64..99, 0i64..99, 0i64..99).prop_map(
            |(d, day, m, y, h, mi, s)| {
                let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
                let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
                format!("{}, {day:02} {} {y} {h:02}:{mi:02}:{s:02} GMT", days[d as usize], months[m])
            }
        ),
        "[ -~]{0,40}",
    ]
}

/// Error bodies: provider shapes with hostile hints, and arbitrary text.
fn error_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        hint_value().prop_map(|v| format!(
            r#"{{"error":{{"code":429,"status":"RESOURCE_EXHAUSTED","message":"quota","details":[{{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"{v}s"}}]}}}}"#
        )
        .into_bytes()),
        (hint_value(), prop_oneof![Just("s"), Just("ms"), Just("")]).prop_map(|(v, unit)| format!(
            r#"{{"error":{{"message":"Rate limit reached. Please try again in {v}{unit}. Visit","type":"tokens","code":"rate_limit_exceeded"}}}}"#
        )
        .into_bytes()),
        "[ -~]{0,200}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        if let Ok(value) = HeaderValue::from_str(v) {
            h.append(HeaderName::from_static(k), value);
        }
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_error_path_never_panics_and_bounds_every_hint(
        status in any::<u16>(),
        ms in proptest::option::of(hint_value()),
        secs in proptest::option::of(hint_value()),
        should in proptest::option::of("[a-z]{0,6}"),
        aws in proptest::option::of("[A-Za-z:/.]{0,40}"),
        body in error_body(),
    ) {
        let mut pairs = Vec::new();
        if let Some(v) = ms { pairs.push(("retry-after-ms", v)); }
        if let Some(v) = secs { pairs.push(("retry-after", v)); }
        if let Some(v) = should { pairs.push(("x-should-retry", v)); }
        if let Some(v) = aws { pairs.push(("x-amzn-errortype", v)); }
        let h = headers(&pairs);
        let e = http_error("openai", "m", status, &h, &body);
        prop_assert!(e.retry_after().is_none_or(|d| d <= MAX_RETRY_HINT), "{:?}", e.retry_after());
        prop_assert_eq!(e.status(), Some(status));
        for c in ADAPTERS.with(Clone::clone) {
            let e = c.adapter().error("m", status, &h, &body);
            prop_assert!(e.retry_after().is_none_or(|d| d <= MAX_RETRY_HINT), "{:?}", e.retry_after());
        }
    }

    #[test]
    fn hint_headers_alone_are_bounded(value in hint_value(), name in prop_oneof![Just("retry-after-ms"), Just("retry-after")]) {
        let h = headers(&[(name, value.clone())]);
        let wait = http_error("anthropic", "m", 429, &h, b"").retry_after();
        prop_assert!(wait.is_none_or(|d| d <= MAX_RETRY_HINT), "{value}: {wait:?}");
        // A plain non-negative number is always read (saturated at the ceiling).
        if let Ok(n) = value.trim().parse::<f64>() && n.is_finite() && n >= 0.0 {
            let want = if name == "retry-after-ms" { n / 1000.0 } else { n };
            let got = wait.map(|d| d.as_secs_f64());
            let expected = want.min(MAX_RETRY_HINT.as_secs_f64());
            prop_assert!(got.is_some_and(|g| (g - expected).abs() <= 1e-6 * expected.max(1.0)), "{value}: {got:?}");
        }
    }
}

thread_local! {
    static ADAPTERS: Vec<ProviderClient> = adapters();
}

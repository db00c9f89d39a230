//! The conformance suite: every native adapter and a representative set of the OpenAI-compatible family,
//! against the fake upstream on 127.0.0.1: plain chat, streaming equal to non-streaming (usage included),
//! tool calls, errors mapped to kinds, retry counts and waits, timeouts, truncated and malformed bodies.
//!
//! Every test loops over [`targets`]; a failure names the provider.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm_core::{ApiKey, ChatRequest, ErrorKind, FinishReason, Message, Provider, Tool, ToolChoice, collect_stream};
use llm_fake_upstream::{FakeUpstream, Reply, wire};
use llm_providers::{ProviderClient, RetryPolicy, Timeouts};
use serde_json::json;

const KEY: &str = "test-key-0123456789";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    OpenAi,
    Anthropic,
    Gemini,
    Ollama,
    Bedrock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Target {
    provider: &'static str,
    model: &'static str,
    dialect: Dialect,
    /// The path the adapter must call for a non-streamed request.
    path: &'static str,
    /// The header carrying the key, and its expected value.
    auth: (&'static str, &'static str),
}

fn targets() -> Vec<Target> {
    use Dialect::*;
    let bearer = ("authorization", "Bearer test-key-0123456789");
    vec![
        Target {
            provider: "openai",
            model: "gpt-4o-mini",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "azure",
            model: "my-deployment",
            dialect: OpenAi,
            path: "/openai/deployments/my-deployment/chat/completions",
            auth: ("api-key", KEY),
        },
        Target {
            provider: "anthropic",
            model: "claude-sonnet-4-5",
            dialect: Anthropic,
            path: "/v1/messages",
            auth: ("x-api-key", KEY),
        },
        Target {
            provider: "gemini",
            model: "gemini-2.5-flash",
            dialect: Gemini,
            path: "/v1beta/models/gemini-2.5-flash:generateContent",
            auth: ("x-goog-api-key", KEY),
        },
        Target { provider: "ollama", model: "qwen3:8b", dialect: Ollama, path: "/api/chat", auth: bearer },
        Target {
            provider: "bedrock",
            model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            dialect: Bedrock,
            path: "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse",
            auth: bearer,
        },
        Target {
            provider: "groq",
            model: "llama-3.3-70b-versatile",
            dialect: OpenAi,
            path: "/openai/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "deepseek",
            model: "deepseek-v4-flash",
            dialect: OpenAi,
            path: "/chat/completions",
            auth: bearer,
        },
        Target { provider: "xai", model: "grok-4.3", dialect: OpenAi, path: "/v1/chat/completions", auth: bearer },
        Target {
            provider: "mistral",
            model: "mistral-medium-2508",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "openrouter",
            model: "openai/gpt-4.1",
            dialect: OpenAi,
            path: "/api/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "together_ai",
            model: "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "hosted_vllm",
            model: "my-model",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "ollama_openai",
            model: "qwen3:8b",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        // A LiteLLM proxy has no default base: with a bare api_base it is called at `{base}/chat/completions`.
        Target { provider: "litellm_proxy", model: "gpt-4o", dialect: OpenAi, path: "/chat/completions", auth: bearer },
        Target { provider: "ollama_chat", model: "qwen3:8b", dialect: Ollama, path: "/api/chat", auth: bearer },
        Target {
            provider: "fireworks_ai",
            model: "accounts/fireworks/models/deepseek-v3p1",
            dialect: OpenAi,
            path: "/inference/v1/chat/completions",
            auth: bearer,
        },
        Target { provider: "perplexity", model: "sonar", dialect: OpenAi, path: "/chat/completions", auth: bearer },
        Target {
            provider: "deepinfra",
            model: "meta-llama/Llama-3.3-70B-Instruct",
            dialect: OpenAi,
            path: "/v1/openai/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "cerebras",
            model: "llama3.1-8b",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "nebius",
            model: "meta-llama/Meta-Llama-3.1-70B-Instruct",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "sambanova",
            model: "Meta-Llama-3.3-70B-Instruct",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "novita",
            model: "meta-llama/llama-3.3-70b-instruct",
            dialect: OpenAi,
            path: "/v3/openai/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "hyperbolic",
            model: "meta-llama/Llama-3.3-70B-Instruct",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "moonshot",
            model: "kimi-k2-0905-preview",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "nvidia_nim",
            model: "meta/llama-3.3-70b-instruct",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "dashscope",
            model: "qwen-plus",
            dialect: OpenAi,
            path: "/compatible-mode/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "lm_studio",
            model: "my-model",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target {
            provider: "llamafile",
            model: "my-model",
            dialect: OpenAi,
            path: "/v1/chat/completions",
            auth: bearer,
        },
        Target { provider: "llamacpp", model: "my-model", dialect: OpenAi, path: "/v1/chat/completions", auth: bearer },
        // Vertex AI with an access token as the key (service accounts: tests/vertex.rs); Gemini's wire format.
        Target {
            provider: "vertex_ai",
            model: "gemini-2.5-flash",
            dialect: Gemini,
            path: "/v1/projects/conformance/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
            auth: bearer,
        },
    ]
}

/// The suite covers the whole registry: every provider `llm-providers` knows is a target of every test here,
/// and every target is a registered provider (no row can be added without passing the suite).
#[test]
fn every_registered_provider_is_a_target() {
    let targets: Vec<&str> = targets().iter().map(|t| t.provider).collect();
    let registered: Vec<&str> = llm_providers::registry::provider_names().collect();
    let missing: Vec<&&str> = registered.iter().filter(|p| !targets.contains(p)).collect();
    assert!(missing.is_empty(), "registered providers the conformance suite does not test: {missing:?}");
    let unknown: Vec<&&str> = targets.iter().filter(|p| !registered.contains(p)).collect();
    assert!(unknown.is_empty(), "targets that are not registered providers: {unknown:?}");
    let mut unique = targets.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), targets.len(), "each provider is one target");
}

/// The targets that stream: without the `bedrock` feature (its event-stream decoder) Bedrock does not, which
/// `bedrock_streaming_needs_the_feature` checks.
fn stream_targets() -> Vec<Target> {
    targets().into_iter().filter(|t| cfg!(feature = "bedrock") || t.provider != "bedrock").collect()
}

fn client(t: &Target, server: &FakeUpstream, retry: RetryPolicy, timeouts: Timeouts) -> ProviderClient {
    let mut b = ProviderClient::builder(t.provider)
        .api_key(ApiKey::new(KEY))
        .api_base(server.url())
        .retry(retry)
        .timeouts(timeouts);
    if t.provider == "bedrock" {
        b = b.aws_region("us-east-1");
    }
    if t.provider == "vertex_ai" {
        b = b.vertex_project("conformance").vertex_location("us-central1");
    }
    b.build().unwrap_or_else(|e| panic!("{}: {e}", t.provider))
}

fn fast_retry(n: u32) -> RetryPolicy {
    RetryPolicy::default().with_max_retries(n).with_backoff(Duration::from_millis(5), Duration::from_millis(20))
}

fn short_timeouts() -> Timeouts {
    Timeouts::default().with_request(Duration::from_secs(5)).with_idle(Duration::from_secs(5))
}

fn chat_reply(t: &Target, text: &str, p: u64, c: u64) -> Reply {
    match t.dialect {
        Dialect::OpenAi => wire::openai::chat(text, p, c),
        Dialect::Anthropic => wire::anthropic::message(text, p, c),
        Dialect::Gemini => wire::gemini::generate(text, p, c),
        Dialect::Ollama => wire::ollama::chat(text, p, c),
        Dialect::Bedrock => wire::bedrock::converse(text, p, c),
    }
}

fn stream_reply(t: &Target, pieces: &[&str], p: u64, c: u64) -> Reply {
    match t.dialect {
        Dialect::OpenAi => wire::openai::stream(pieces, p, c),
        Dialect::Anthropic => wire::anthropic::stream(pieces, p, c),
        Dialect::Gemini => wire::gemini::stream(pieces, p, c),
        Dialect::Ollama => wire::ollama::stream(pieces, p, c),
        Dialect::Bedrock => wire::bedrock::stream(pieces, p, c),
    }
}

/// A provider-shaped error body for a status, without hints that would change the kind.
fn error_reply(t: &Target, status: u16) -> Reply {
    let msg = format!("scripted failure {status}");
    match t.dialect {
        Dialect::OpenAi => wire::openai::error(status, "scripted_error", None, &msg),
        Dialect::Anthropic => {
            let kind = match status {
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                s if s >= 500 => "api_error",
                _ => "invalid_request_error",
            };
            wire::anthropic::error(status, kind, &msg)
        }
        Dialect::Gemini => {
            let rpc = match status {
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                429 => "RESOURCE_EXHAUSTED",
                500 => "INTERNAL",
                503 => "UNAVAILABLE",
                _ => "INVALID_ARGUMENT",
            };
            wire::gemini::error(status, rpc, &msg)
        }
        Dialect::Ollama => Reply::json_value(status, &json!({ "error": msg })),
        Dialect::Bedrock => {
            let kind = match status {
                403 => "AccessDeniedException",
                404 => "ResourceNotFoundException",
                429 => "ThrottlingException",
                500 => "InternalServerException",
                503 => "ServiceUnavailableException",
                _ => "ValidationException",
            };
            wire::bedrock::error(status, kind, &msg)
        }
    }
}

fn request(t: &Target) -> ChatRequest {
    ChatRequest::new(format!("{}/{}", t.provider, t.model), vec![Message::system("Be brief."), Message::user("Hi!")])
        .with_max_tokens(64)
}

#[tokio::test]
async fn plain_chat_for_every_provider() {
    for t in targets() {
        let server = FakeUpstream::start().await.unwrap();
        server.push(chat_reply(&t, "Hello there!", 21, 4));
        let c = client(&t, &server, fast_retry(0), short_timeouts());
        let r = c.chat(&request(&t)).await.unwrap_or_else(|e| panic!("{}: {e}", t.provider));
        let p = t.provider;
        assert_eq!(r.text(), "Hello there!", "{p}");
        assert_eq!(r.finish_reason(), Some(&FinishReason::Stop), "{p}");
        assert_eq!(r.provider.as_ref().map(|id| id.as_str()), Some(p), "{p}");
        // Every response has an id and a creation time: the provider's, else a generated id and the call's start.
        assert!(!r.id.is_empty(), "{p}");
        assert!(r.created.is_some_and(|c| c > 1_700_000_000), "{p}: {:?}", r.created);
        assert!(r.retries.is_empty(), "{p}: {:?}", r.retries);
        // The only change to this request: `max_tokens` under the provider's own name, where it has one.
        let renamed: Vec<(&str, &str)> =
            r.adjustments.iter().map(|a| (a.kind.as_str(), a.param.as_deref().unwrap_or_default())).collect();
        let body_max = server.last_request().unwrap().json().get("max_completion_tokens").is_some();
        let expected = if body_max { vec![("param_renamed", "max_tokens")] } else { vec![] };
        assert_eq!(renamed, expected, "{p}");
        let u = r.usage.unwrap_or_else(|| panic!("{p}: no usage"));
        assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (21, 4, 25), "{p}");
        assert!(u.check().is_ok(), "{p}: {u:?}");
        let sent = server.last_request().unwrap();
        assert_eq!(sent.method, "POST", "{p}");
        assert_eq!(sent.path, t.path, "{p}");
        assert_eq!(sent.header(t.auth.0), Some(t.auth.1), "{p}");
        assert_eq!(sent.header("content-type"), Some("application/json"), "{p}");
        let body = sent.json();
        assert!(body.is_object(), "{p}: {}", sent.body_text());
        if !matches!(t.dialect, Dialect::Gemini | Dialect::Bedrock) {
            assert_eq!(body["model"], t.model, "{p}: the provider prefix is removed");
        }
        if t.provider == "azure" {
            assert_eq!(sent.query, "api-version=2024-10-21");
        }
        if t.provider == "anthropic" {
            assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
        }
    }
}

#[tokio::test]
async fn streaming_gives_the_same_response_as_chat() {
    for t in stream_targets() {
        let p = t.provider;
        let server = FakeUpstream::start().await.unwrap();
        server.push(chat_reply(&t, "Lisbon is 21 °C and sunny.", 37, 9));
        server.push(stream_reply(&t, &["Lisbon is", " 21 °C", " and sunny."], 37, 9));
        let c = client(&t, &server, fast_retry(0), short_timeouts());
        let plain = c.chat(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        let stream = c.stream(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        let streamed = collect_stream(stream).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(streamed.text(), plain.text(), "{p}");
        assert_eq!(streamed.finish_reason(), plain.finish_reason(), "{p}");
        assert!(!streamed.id.is_empty(), "{p}: the provider's id, else a generated one");
        assert!(streamed.created.is_some_and(|c| c > 1_700_000_000), "{p}: {:?}", streamed.created);
        let (a, b) = (streamed.usage.unwrap(), plain.usage.unwrap());
        assert_eq!(
            (a.prompt_tokens, a.completion_tokens, a.total_tokens),
            (b.prompt_tokens, b.completion_tokens, b.total_tokens),
            "{p}"
        );
        let sent = server.last_request().unwrap();
        match t.dialect {
            Dialect::Gemini => {
                assert_eq!(sent.path, t.path.replace(":generateContent", ":streamGenerateContent"), "{p}")
            }
            Dialect::Bedrock => assert!(sent.path.ends_with("/converse-stream"), "{p}"),
            Dialect::Ollama => assert_eq!(sent.json()["stream"], true, "{p}"),
            _ => assert_eq!(sent.json()["stream"], true, "{p}"),
        }
        if matches!(p, "openai" | "azure" | "groq" | "deepseek" | "xai") {
            assert_eq!(sent.json()["stream_options"]["include_usage"], true, "{p}");
        }
    }
}

#[tokio::test]
async fn dropping_a_stream_midway_is_safe() {
    for t in stream_targets() {
        let p = t.provider;
        let server = FakeUpstream::start().await.unwrap();
        server.push(stream_reply(&t, &["a", "b", "c"], 1, 3).chunk_gap(Duration::from_millis(30)));
        server.push(chat_reply(&t, "next", 1, 1));
        let c = client(&t, &server, fast_retry(0), short_timeouts());
        let mut s = c.stream(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        let first = s.next().await.unwrap_or_else(|| panic!("{p}: empty stream"));
        assert!(first.is_ok(), "{p}: {first:?}");
        drop(s);
        let r = c.chat(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(r.text(), "next", "{p}");
    }
}

#[tokio::test]
async fn tool_calls_round_trip() {
    let weather = Tool::function(
        "get_weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    );
    for t in targets() {
        let p = t.provider;
        let server = FakeUpstream::start().await.unwrap();
        let reply = match t.dialect {
            Dialect::OpenAi => Reply::json_value(
                200,
                &json!({"id": "c1", "model": t.model, "choices": [{"index": 0,
                "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Porto\"}"}}]}, "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
            ),
            Dialect::Anthropic => Reply::json_value(
                200,
                &json!({"id": "msg_1", "type": "message", "role": "assistant",
                "model": t.model, "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Porto"}}],
                "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}}),
            ),
            Dialect::Gemini => Reply::json_value(
                200,
                &json!({"candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Porto"}}}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}}),
            ),
            Dialect::Ollama => Reply::json_value(
                200,
                &json!({"model": t.model, "message": {"role": "assistant", "content": "",
                "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Porto"}}}]}, "done": true,
                "done_reason": "stop", "prompt_eval_count": 10, "eval_count": 5}),
            ),
            Dialect::Bedrock => Reply::json_value(
                200,
                &json!({"output": {"message": {"role": "assistant", "content": [
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Porto"}}}]}},
                "stopReason": "tool_use", "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}}),
            ),
        };
        server.push(reply);
        server.push(chat_reply(&t, "It is sunny.", 20, 4));
        let c = client(&t, &server, fast_retry(0), short_timeouts());
        let mut req = request(&t).with_tool(weather.clone());
        // No `tool_choice` on Ollama's endpoints nor on Fireworks (`supported_params`).
        if !["ollama_openai", "ollama", "fireworks_ai"].contains(&t.provider) {
            req = req.with_tool_choice(ToolChoice::Auto);
        }
        // Perplexity and SambaNova take no tools (`supported_params`): the request is refused before it is sent.
        if ["perplexity", "sambanova"].contains(&t.provider) {
            let e = c.chat(&req).await.unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::InvalidRequest, "{p}: {e}");
            assert!(e.message().contains("does not support tools"), "{p}: {e}");
            assert!(server.requests().is_empty(), "{p}");
            continue;
        }
        let r = c.chat(&req).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls), "{p}");
        let calls = r.tool_calls().to_vec();
        assert_eq!(calls.len(), 1, "{p}");
        assert_eq!(calls[0].name, "get_weather", "{p}");
        let args: serde_json::Value = serde_json::from_str(&calls[0].arguments).unwrap();
        assert_eq!(args, json!({"city": "Porto"}), "{p}");
        let sent = server.last_request().unwrap().json();
        let declared = sent.to_string();
        assert!(declared.contains("get_weather") && declared.contains("\"city\""), "{p}: {declared}");

        // The follow-up turn replays the call and sends the result.
        let follow = req
            .with_message(Message::assistant_tool_calls(calls.clone()))
            .with_message(Message::tool_result(calls[0].id.clone(), "{\"temp_c\":21}"));
        let r2 = c.chat(&follow).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(r2.text(), "It is sunny.", "{p}");
        let body = server.last_request().unwrap().body_text();
        assert!(body.contains("temp_c"), "{p}: {body}");
        assert!(body.contains("get_weather"), "{p}: {body}");
    }
}

#[tokio::test]
async fn http_errors_map_to_kinds() {
    let cases = [
        (400, ErrorKind::InvalidRequest),
        (401, ErrorKind::Auth),
        (403, ErrorKind::Permission),
        (404, ErrorKind::NotFound),
        (429, ErrorKind::RateLimited),
        (500, ErrorKind::Server),
        (503, ErrorKind::Overloaded),
        (529, ErrorKind::Overloaded),
    ];
    for t in targets() {
        let p = t.provider;
        let server = FakeUpstream::start().await.unwrap();
        let c = client(&t, &server, fast_retry(0), short_timeouts());
        for (status, kind) in &cases {
            server.push(error_reply(&t, *status));
            let e = c.chat(&request(&t)).await.expect_err(p);
            assert_eq!(e.kind(), kind, "{p} {status}: {e}");
            assert_eq!(e.status(), Some(*status), "{p}");
            assert_eq!(e.provider().map(|id| id.as_str()), Some(p), "{p}");
            assert!(e.message().contains("scripted failure"), "{p} {status}: {}", e.message());
            assert!(e.body().is_some_and(|b| b.contains("scripted failure")), "{p}");
            assert!(!format!("{e} {e:?}").contains(KEY), "{p}: key leaked");
        }
        assert_eq!(server.request_count(), cases.len(), "{p}: nothing is retried with max_retries 0");
    }
}

#[tokio::test]
async fn retries_count_and_wait() {
    for t in stream_targets() {
        let p = t.provider;
        // Two retryable failures, then success: three requests.
        let server = FakeUpstream::start().await.unwrap();
        server.push_all([error_reply(&t, 503), error_reply(&t, 500), chat_reply(&t, "ok", 1, 1)]);
        let c = client(&t, &server, fast_retry(2), short_timeouts());
        let r = c.chat(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(r.text(), "ok", "{p}");
        assert_eq!(server.request_count(), 3, "{p}");
        // The response says what was retried and why.
        let why: Vec<(u32, &str, Option<u16>)> =
            r.retries.iter().map(|x| (x.attempt, x.kind.as_str(), x.status)).collect();
        assert_eq!(why, vec![(1, "overloaded", Some(503)), (2, "server", Some(500))], "{p}");
        assert!(r.retries.iter().all(|x| x.wait_ms <= 20 && !x.message.is_empty()), "{p}: {:?}", r.retries);

        // Persistent failure: 1 + max_retries requests, then the last error.
        let server = FakeUpstream::start().await.unwrap();
        server.set_default(error_reply(&t, 500));
        let c = client(&t, &server, fast_retry(2), short_timeouts());
        let e = c.chat(&request(&t)).await.expect_err(p);
        assert_eq!(e.kind(), &ErrorKind::Server, "{p}");
        assert_eq!(server.request_count(), 3, "{p}");
        assert_eq!(e.retries().len(), 2, "{p}: the final error carries the attempts retried before it");

        // Not retryable: one request.
        let server = FakeUpstream::start().await.unwrap();
        server.set_default(error_reply(&t, 400));
        let c = client(&t, &server, fast_retry(2), short_timeouts());
        let e = c.chat(&request(&t)).await.expect_err(p);
        assert_eq!(server.request_count(), 1, "{p}");
        assert!(e.retries().is_empty(), "{p}");

        // The server's retry-after-ms is waited for.
        let server = FakeUpstream::start().await.unwrap();
        server.push_all([error_reply(&t, 429).header("retry-after-ms", "150"), chat_reply(&t, "ok", 1, 1)]);
        let c = client(&t, &server, fast_retry(2), short_timeouts());
        let started = Instant::now();
        let r = c.chat(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(started.elapsed() >= Duration::from_millis(150), "{p}: {:?}", started.elapsed());
        assert_eq!(r.retries.len(), 1, "{p}");
        assert_eq!((r.retries[0].kind.as_str(), r.retries[0].wait_ms), ("rate_limited", 150), "{p}");
        assert_eq!(server.request_count(), 2, "{p}");

        // Streams are retried before the first byte too.
        let server = FakeUpstream::start().await.unwrap();
        server.push_all([error_reply(&t, 503), stream_reply(&t, &["ok"], 1, 1)]);
        let c = client(&t, &server, fast_retry(2), short_timeouts());
        let r = collect_stream(c.stream(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"))).await.unwrap();
        assert_eq!(r.text(), "ok", "{p}");
        assert_eq!(server.request_count(), 2, "{p}");
        assert_eq!(r.retries.len(), 1, "{p}: the stream's first event carries the retries");
        assert_eq!(r.retries[0].status, Some(503), "{p}");
    }
}

#[tokio::test]
async fn retry_hints_and_quota_errors() {
    let t = targets()[0];
    // retry-after (seconds) honoured; x-should-retry overrides the status.
    let server = FakeUpstream::start().await.unwrap();
    server.push_all([
        wire::openai::error(400, "x", None, "try again").header("x-should-retry", "true"),
        wire::openai::error(500, "x", None, "do not").header("x-should-retry", "false"),
    ]);
    let c = client(&t, &server, fast_retry(2), short_timeouts());
    let e = c.chat(&request(&t)).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Server);
    assert_eq!(server.request_count(), 2, "400 retried because of x-should-retry: true, 500 not because of false");

    // insufficient_quota and 402 are never retried, whatever the headers say.
    let server = FakeUpstream::start().await.unwrap();
    server.set_default(
        wire::openai::error(429, "insufficient_quota", Some("insufficient_quota"), "You exceeded your current quota")
            .header("x-should-retry", "true"),
    );
    let c = client(&t, &server, fast_retry(2), short_timeouts());
    let e = c.chat(&request(&t)).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::QuotaExceeded);
    assert!(!e.is_retryable());
    assert_eq!(server.request_count(), 1);

    let server = FakeUpstream::start().await.unwrap();
    server.set_default(Reply::json(402, include_str!("../test_data/deepseek/error_402_insufficient_balance.json")));
    let c = client(&targets()[7], &server, fast_retry(2), short_timeouts());
    assert_eq!(c.chat(&request(&targets()[7])).await.unwrap_err().kind(), &ErrorKind::QuotaExceeded);
    assert_eq!(server.request_count(), 1);

    // A hint longer than the policy's maximum ends the retries at once.
    let server = FakeUpstream::start().await.unwrap();
    server.set_default(
        wire::openai::error(429, "tokens", Some("rate_limit_exceeded"), "slow").header("retry-after", "3600"),
    );
    let c = client(&t, &server, fast_retry(2), short_timeouts());
    let started = Instant::now();
    let e = c.chat(&request(&t)).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.request_count(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));

    // Default policy: 2 retries with the SDKs' backoff (0.5 s then 1 s, jittered down to 75 %).
    let server = FakeUpstream::start().await.unwrap();
    server.set_default(wire::openai::error(503, "x", None, "busy"));
    let c = client(&t, &server, RetryPolicy::default(), short_timeouts());
    let started = Instant::now();
    c.chat(&request(&t)).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(server.request_count(), 3);
    assert!(waited >= Duration::from_millis(1125) && waited < Duration::from_millis(2500), "{waited:?}");
}

#[tokio::test]
async fn timeouts_are_typed() {
    for t in stream_targets() {
        let p = t.provider;
        // A reply slower than the request timeout.
        let server = FakeUpstream::start().await.unwrap();
        server.push(chat_reply(&t, "late", 1, 1).delay(Duration::from_millis(800)));
        let c = client(&t, &server, fast_retry(0), Timeouts::default().with_request(Duration::from_millis(150)));
        let started = Instant::now();
        let e = c.chat(&request(&t)).await.expect_err(p);
        assert_eq!(e.kind(), &ErrorKind::Timeout, "{p}: {e}");
        assert!(e.is_retryable(), "{p}");
        assert!(started.elapsed() < Duration::from_millis(700), "{p}");

        // A stream that goes silent longer than the idle timeout.
        let server = FakeUpstream::start().await.unwrap();
        server.push(stream_reply(&t, &["a", "b", "c"], 1, 3).chunk_gap(Duration::from_millis(600)));
        let c = client(&t, &server, fast_retry(0), Timeouts::default().with_idle(Duration::from_millis(150)));
        let s = c.stream(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        let e = collect_stream(s).await.expect_err(p);
        assert_eq!(e.kind(), &ErrorKind::Timeout, "{p}: {e}");
        assert_eq!(e.provider().map(|id| id.as_str()), Some(p), "{p}");
    }
}

#[tokio::test]
async fn broken_connections_and_bodies_are_typed_errors() {
    for t in stream_targets() {
        let p = t.provider;
        let server = FakeUpstream::start().await.unwrap();
        let c = client(&t, &server, fast_retry(0), short_timeouts());

        server.push(chat_reply(&t, "x", 1, 1).drop_connection());
        let e = c.chat(&request(&t)).await.expect_err(p);
        assert_eq!(e.kind(), &ErrorKind::Network, "{p}: {e}");

        server.push(chat_reply(&t, "a reply long enough to cut", 1, 1).truncate_after(25));
        let e = c.chat(&request(&t)).await.expect_err(p);
        assert!(matches!(e.kind(), ErrorKind::Network | ErrorKind::Decode), "{p}: {e}");

        server.push(Reply::json(200, "{\"this is\": not json"));
        let e = c.chat(&request(&t)).await.expect_err(p);
        assert_eq!(e.kind(), &ErrorKind::Decode, "{p}: {e}");
        assert!(e.body().is_some(), "{p}");

        server.push(Reply::json(200, "[1, 2, 3]"));
        let e = c.chat(&request(&t)).await.expect_err(p);
        assert_eq!(e.kind(), &ErrorKind::Decode, "{p}: {e}");

        // A stream cut after its first chunk.
        server.push(stream_reply(&t, &["a", "b", "c"], 1, 3).truncate_after(2));
        let s = c.stream(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        let e = collect_stream(s).await.expect_err(p);
        assert_eq!(e.kind(), &ErrorKind::Network, "{p}: {e}");

        // A stream with a malformed event.
        let garbage: Vec<u8> = match t.dialect {
            Dialect::Ollama => b"{\"model\": oops}\n".to_vec(),
            Dialect::Bedrock => vec![0, 0, 0, 20, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0],
            _ => b"data: {\"broken\": \n\n".to_vec(),
        };
        server.push(Reply::stream("text/event-stream", [garbage]));
        let s = c.stream(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        let e = collect_stream(s).await.expect_err(p);
        assert_eq!(e.kind(), &ErrorKind::Decode, "{p}: {e}");
    }
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let c = ProviderClient::builder("openai")
        .api_key(ApiKey::new(KEY))
        .api_base(format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let e = c.chat(&ChatRequest::new("gpt-4o", vec![Message::user("hi")])).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Network, "{e}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn errors_inside_streams() {
    let t = targets();
    let cases: Vec<(Target, Reply, ErrorKind)> = vec![
        (
            t[0],
            Reply::sse_transcript(
                "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n",
            ),
            ErrorKind::Server,
        ),
        (
            t[10],
            Reply::sse_transcript(&format!(
                "data: {}\n\n",
                include_str!("../test_data/openrouter/chat_stream_midstream_error.json").trim()
            )),
            ErrorKind::Server,
        ),
        (
            t[2],
            Reply::sse_transcript(
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
            ),
            ErrorKind::Overloaded,
        ),
        (
            t[3],
            Reply::sse_transcript(
                "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\n\n{\n  \"error\": {\"code\": 503, \"message\": \"The model is overloaded\", \"status\": \"UNAVAILABLE\"}\n}\n",
            ),
            ErrorKind::Overloaded,
        ),
        (
            t[4],
            Reply::ndjson_transcript(
                "{\"model\":\"q\",\"message\":{\"role\":\"assistant\",\"content\":\"a\"},\"done\":false}\n{\"error\":\"an error was encountered while running the model\"}\n",
            ),
            ErrorKind::Server,
        ),
        (
            t[5],
            wire::bedrock::event_stream(vec![
                wire::bedrock::event("messageStart", &json!({"role": "assistant"})),
                wire::bedrock::exception("throttlingException", "Too many tokens"),
            ]),
            ErrorKind::RateLimited,
        ),
    ];
    for (t, reply, kind) in cases.into_iter().filter(|(t, _, _)| stream_targets().contains(t)) {
        let p = t.provider;
        let server = FakeUpstream::start().await.unwrap();
        server.push(reply);
        let c = client(&t, &server, fast_retry(0), short_timeouts());
        let mut s = c.stream(&request(&t)).await.unwrap_or_else(|e| panic!("{p}: {e}"));
        let mut last = None;
        while let Some(item) = s.next().await {
            if let Err(e) = item {
                last = Some(e);
                break;
            }
        }
        let e = last.unwrap_or_else(|| panic!("{p}: no error"));
        assert_eq!(e.kind(), &kind, "{p}: {e}");
        assert_eq!(e.provider().map(|id| id.as_str()), Some(p), "{p}");
    }
}

/// Without the `bedrock` feature there is no event-stream decoder: a streamed Bedrock call is a config error,
/// before any request is sent.
#[cfg(not(feature = "bedrock"))]
#[tokio::test]
async fn bedrock_streaming_needs_the_feature() {
    let t = targets().into_iter().find(|t| t.provider == "bedrock").unwrap();
    let server = FakeUpstream::start().await.unwrap();
    let c = client(&t, &server, fast_retry(0), short_timeouts());
    let e = c.stream(&request(&t)).await.err().unwrap();
    assert_eq!(e.kind(), &ErrorKind::Config, "{e}");
    assert!(e.message().contains("needs the `bedrock` feature"), "{e}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn unsupported_params_are_dropped_or_rejected() {
    let t = targets()[2];
    let server = FakeUpstream::start().await.unwrap();
    server.set_default(chat_reply(&t, "ok", 1, 1));
    let req = request(&t).with_seed(7).with_n(2).with_temperature(0.3);

    // The default refuses, naming every parameter, and sends nothing (LiteLLM's UnsupportedParamsError).
    let strict = client(&t, &server, fast_retry(0), short_timeouts());
    let e = strict.chat(&req).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidRequest);
    assert!(e.message().contains("seed, n for claude-sonnet-4-5"), "{}", e.message());
    assert!(strict.stream(&req).await.is_err(), "a stream is refused too");
    // An OpenAI-style parameter given through `extra` is checked like a typed one.
    let mut logprobs = request(&t);
    logprobs.extra.insert("logprobs".into(), serde_json::Value::Bool(true));
    let e = strict.chat(&logprobs).await.unwrap_err();
    assert!(e.message().contains("logprobs"), "{}", e.message());
    assert_eq!(server.request_count(), 0, "nothing sent");

    // Dropping leaves them out and says so on the response.
    let dropping = ProviderClient::builder("anthropic")
        .api_key(ApiKey::new(KEY))
        .api_base(server.url())
        .param_policy(llm_providers::ParamPolicy::Drop)
        .build()
        .unwrap();
    let r = dropping.chat(&req).await.unwrap();
    let body = server.last_request().unwrap().json();
    assert!(body.get("seed").is_none() && body.get("n").is_none(), "{body}");
    assert_eq!(body["temperature"], 0.3);
    let dropped: Vec<(&str, Option<&str>)> =
        r.adjustments.iter().map(|a| (a.kind.as_str(), a.param.as_deref())).collect();
    assert_eq!(dropped, vec![("param_dropped", Some("seed")), ("param_dropped", Some("n"))]);
    let r = dropping.chat(&logprobs).await.unwrap();
    assert!(server.last_request().unwrap().json().get("logprobs").is_none());
    assert_eq!(r.adjustments[0].param.as_deref(), Some("logprobs"));
    let req = req.with_temperature(0.3);

    // API version 2026-10-21 rejects sampling parameters: they are not sent, and the key goes as a bearer.
    let new = ProviderClient::builder("anthropic")
        .api_key(ApiKey::new(KEY))
        .api_base(server.url())
        .param_policy(llm_providers::ParamPolicy::Drop)
        .anthropic_version("2026-10-21")
        .build()
        .unwrap();
    new.chat(&req.clone().with_top_p(0.9)).await.unwrap();
    let sent = server.last_request().unwrap();
    assert_eq!(sent.header("anthropic-version"), Some("2026-10-21"));
    assert_eq!(sent.header("authorization"), Some("Bearer test-key-0123456789"));
    assert!(sent.header("x-api-key").is_none());
    let body = sent.json();
    assert!(body.get("temperature").is_none() && body.get("top_p").is_none(), "{body}");
}

#[test]
fn missing_keys_and_unknown_providers_are_config_errors() {
    let e = ProviderClient::builder("no-such-provider").build().unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Config);
    assert!(e.message().contains("no-such-provider"));
    // SAFETY of the test: the variable name is unique to this test.
    let e = ProviderClient::builder("cerebras").api_key(ApiKey::new("  ")).build().unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Config);
    assert!(e.message().contains("CEREBRAS_API_KEY"), "{}", e.message());
    // Local servers need no key.
    assert!(ProviderClient::builder("hosted_vllm").build().is_ok());
    assert!(ProviderClient::builder("ollama").build().is_ok());
}

#[test]
fn api_base_replaces_origin_and_path_prefix() {
    use llm_providers::base_url;
    assert_eq!(
        base_url("https://api.groq.com/openai/v1", Some("http://127.0.0.1:9")).unwrap(),
        "http://127.0.0.1:9/openai/v1"
    );
    assert_eq!(
        base_url("https://api.groq.com/openai/v1", Some("http://127.0.0.1:9/v1/")).unwrap(),
        "http://127.0.0.1:9/v1"
    );
    assert_eq!(base_url("https://api.openai.com/v1", None).unwrap(), "https://api.openai.com/v1");
    assert_eq!(
        base_url("https://api.anthropic.com", Some("https://proxy.example/anthropic")).unwrap(),
        "https://proxy.example/anthropic"
    );
    assert_eq!(base_url("x", Some("not a url")).unwrap_err().kind(), &ErrorKind::Config);
    assert_eq!(base_url("x", Some("ftp://h/")).unwrap_err().kind(), &ErrorKind::Config);
}

/// One client converts a call's URL and headers once and reuses them while they repeat: calls that change
/// them (Gemini and Bedrock name the model and the stream in the path, Bedrock signs each call) must still go
/// where they belong, with their own headers.
#[tokio::test]
async fn one_client_sends_each_call_to_its_own_url() {
    for t in stream_targets() {
        let server = FakeUpstream::start().await.unwrap();
        let c = client(&t, &server, fast_retry(0), short_timeouts());
        let p = t.provider;
        // Vertex serves Gemini models by name (`gemini-*`).
        let other_model = if p == "vertex_ai" { "gemini-second-model" } else { "second-model" };
        let mut paths = Vec::new();
        for (i, model) in [t.model, other_model, t.model, t.model].into_iter().enumerate() {
            let stream = i == 3;
            let req = ChatRequest::new(format!("{p}/{model}"), vec![Message::user("Hi!")]);
            let text = if stream {
                server.push(stream_reply(&t, &["He", "llo"], 3, 2));
                let s = c.stream(&req).await.unwrap_or_else(|e| panic!("{p}: {e}"));
                collect_stream(s).await.unwrap_or_else(|e| panic!("{p}: {e}")).text()
            } else {
                server.push(chat_reply(&t, "Hello", 3, 2));
                c.chat(&req).await.unwrap_or_else(|e| panic!("{p}: {e}")).text()
            };
            assert_eq!(text, "Hello", "{p} call {i}");
            let sent = server.last_request().unwrap();
            if t.dialect == Dialect::Bedrock {
                assert!(sent.header("authorization").is_some(), "{p} call {i}");
            } else {
                assert_eq!(sent.header(t.auth.0), Some(t.auth.1), "{p} call {i}");
            }
            paths.push(sent.path);
        }
        match t.dialect {
            Dialect::Gemini => assert_eq!(
                paths,
                [
                    t.path.to_owned(),
                    t.path.replace(t.model, other_model),
                    t.path.to_owned(),
                    t.path.replace(":generateContent", ":streamGenerateContent"),
                ],
                "{p}"
            ),
            Dialect::Bedrock => assert_eq!(
                paths,
                [
                    t.path.to_owned(),
                    format!("/model/{other_model}/converse"),
                    t.path.to_owned(),
                    format!("{}-stream", t.path)
                ],
                "{p}"
            ),
            // Azure names the deployment in the path; the rest of the family calls one path for every model.
            _ => {
                let second = t.path.replace(t.model, other_model);
                assert_eq!(paths, [t.path, second.as_str(), t.path, t.path], "{p}");
            }
        }
    }
}

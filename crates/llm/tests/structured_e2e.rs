//! Structured output end to end: llm-schema's strategies through each native provider adapter, over real HTTP
//! to the fake upstream speaking that provider's wire format. For each provider: the exact request body, a
//! valid reply parsed into the type, an invalid reply repaired on the second attempt, and a reply that never
//! validates giving the typed error with every attempt.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use llm::core::{ApiKey, ChatRequest, Message, Provider};
use llm::providers::{ParamPolicy, ProviderClient, RetryPolicy};
use llm::schema::{Capabilities, ErrorKind, Options, ReplyProblem, Strategy, generate};
use llm_fake_upstream::{FakeUpstream, Reply, wire};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// A city and what it is known for.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct City {
    /// The city's name.
    name: String,
    /// Inhabitants, at least 1.
    #[schemars(range(min = 1))]
    population: u64,
    /// Landmarks, one or more.
    #[schemars(length(min = 1))]
    landmarks: Vec<String>,
    /// The country's ISO code, when known.
    country: Option<String>,
}

const VALID: &str = r#"{"name":"Lisbon","population":545923,"landmarks":["Belém Tower"],"country":"PT"}"#;
const INVALID: &str = r#"{"name":"Lisbon","population":0,"landmarks":[]}"#;

#[derive(Clone, Copy, Debug)]
enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
    Ollama,
    Bedrock,
}

struct Case {
    label: &'static str,
    provider: &'static str,
    model: &'static str,
    wire: Wire,
    strategy: Strategy,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            label: "openai_native",
            provider: "openai",
            model: "gpt-4.1-mini",
            wire: Wire::OpenAi,
            strategy: Strategy::Native,
        },
        Case {
            label: "anthropic_native",
            provider: "anthropic",
            model: "claude-sonnet-4-5",
            wire: Wire::Anthropic,
            strategy: Strategy::Native,
        },
        Case {
            label: "anthropic_tool",
            provider: "anthropic",
            model: "claude-3-haiku-20240307",
            wire: Wire::Anthropic,
            strategy: Strategy::ToolCall,
        },
        Case {
            label: "gemini_json_schema",
            provider: "gemini",
            model: "gemini-2.5-flash",
            wire: Wire::Gemini,
            strategy: Strategy::Native,
        },
        Case {
            label: "gemini_openapi_schema",
            provider: "gemini",
            model: "gemini-1.5-pro",
            wire: Wire::Gemini,
            strategy: Strategy::Native,
        },
        Case {
            label: "ollama_native",
            provider: "ollama",
            model: "qwen3:8b",
            wire: Wire::Ollama,
            strategy: Strategy::Native,
        },
        Case {
            label: "bedrock_native",
            provider: "bedrock",
            model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            wire: Wire::Bedrock,
            strategy: Strategy::Native,
        },
        Case {
            label: "bedrock_tool",
            provider: "bedrock",
            model: "meta.llama3-1-70b-instruct-v1:0",
            wire: Wire::Bedrock,
            strategy: Strategy::ToolCall,
        },
    ]
}

fn client(case: &Case, server: &FakeUpstream) -> ProviderClient {
    let mut b = ProviderClient::builder(case.provider)
        .api_key(ApiKey::new("sk-e2e-test-key-000"))
        .api_base(server.url())
        .retry(
            RetryPolicy::default().with_max_retries(0).with_backoff(Duration::from_millis(1), Duration::from_millis(1)),
        )
        // What a model does not take (Bedrock Llama's tool_choice) is dropped and reported, not refused.
        .param_policy(ParamPolicy::Drop);
    if case.provider == "bedrock" {
        b = b.aws_region("us-east-1");
    }
    b.build().unwrap_or_else(|e| panic!("{}: {e}", case.label))
}

/// The provider's reply carrying `json` the way the strategy expects it: as the text, or as the arguments of
/// a call of the tool named `City`.
fn reply(case: &Case, json: &str) -> Reply {
    let args: Value = serde_json::from_str(json).unwrap();
    match (case.wire, case.strategy) {
        (Wire::OpenAi, Strategy::ToolCall) => Reply::json_value(
            200,
            &json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": case.model,
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                    "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "City", "arguments": json}}]}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}}),
        ),
        (Wire::Anthropic, Strategy::ToolCall) => Reply::json_value(
            200,
            &json!({"id": "msg_1", "type": "message", "role": "assistant", "model": case.model,
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "City", "input": args}],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 50, "output_tokens": 20}}),
        ),
        (Wire::Bedrock, Strategy::ToolCall) => Reply::json_value(
            200,
            &json!({"output": {"message": {"role": "assistant", "content": [
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "City", "input": args}}]}},
                "stopReason": "tool_use",
                "usage": {"inputTokens": 50, "outputTokens": 20, "totalTokens": 70},
                "metrics": {"latencyMs": 10}}),
        ),
        (Wire::OpenAi, _) => wire::openai::chat(json, 50, 20),
        (Wire::Anthropic, _) => wire::anthropic::message(json, 50, 20),
        (Wire::Gemini, _) => wire::gemini::generate(json, 50, 20),
        (Wire::Ollama, _) => wire::ollama::chat(json, 50, 20),
        (Wire::Bedrock, _) => wire::bedrock::converse(json, 50, 20),
    }
}

fn request(case: &Case) -> ChatRequest {
    ChatRequest::new(case.model, vec![Message::user("Tell me about Lisbon.")]).with_max_tokens(400)
}

/// The tool path is for models without native schema enforcement, so those cases say so.
fn options(case: &Case) -> Options {
    let native = case.strategy == Strategy::Native;
    Options::new(case.strategy).with_capabilities(Capabilities::new(native, true, true)).with_max_attempts(3)
}

#[tokio::test]
async fn valid_reply_parses_into_the_type_and_the_body_is_exact() {
    for case in cases() {
        let server = FakeUpstream::start().await.unwrap();
        server.push(reply(&case, VALID));
        let provider = client(&case, &server);
        let out = generate::<City, _>(&provider, request(&case), &options(&case))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.label));
        assert_eq!(
            out.value,
            City {
                name: "Lisbon".into(),
                population: 545_923,
                landmarks: vec!["Belém Tower".into()],
                country: Some("PT".into())
            },
            "{}",
            case.label
        );
        assert_eq!(out.attempts.len(), 1, "{}", case.label);
        assert_eq!(out.strategy, case.strategy);
        assert_eq!(out.usage.prompt_tokens, 50, "{}", case.label);
        let sent = server.last_request().unwrap();
        insta::assert_json_snapshot!(format!("request_{}", case.label), sent.json());
        // What the provider's dialect changed in the schema (and any parameter dropped), as the response says.
        insta::assert_json_snapshot!(format!("adjustments_{}", case.label), out.adjustments);
        let _ = provider.id();
    }
}

#[tokio::test]
async fn invalid_reply_is_repaired_on_the_second_attempt() {
    for case in cases() {
        let server = FakeUpstream::start().await.unwrap();
        server.push(reply(&case, INVALID));
        server.push(reply(&case, VALID));
        let provider = client(&case, &server);
        let out = generate::<City, _>(&provider, request(&case), &options(&case))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.label));
        assert_eq!(out.value.population, 545_923, "{}", case.label);
        assert_eq!(out.attempts.len(), 2, "{}", case.label);
        let Some(ReplyProblem::Invalid { violations }) = &out.attempts[0].problem else {
            panic!("{}: {:?}", case.label, out.attempts)
        };
        let pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
        assert!(pointers.contains(&"/population") && pointers.contains(&"/landmarks"), "{}: {pointers:?}", case.label);
        assert_eq!(out.usage.prompt_tokens, 100, "{}: usage adds up over the attempts", case.label);
        assert_eq!(out.usage.completion_tokens, 40, "{}", case.label);
        // The second request carried the violations back to the model.
        let second = server.requests()[1].body_text();
        assert!(second.contains("/population"), "{}: {second}", case.label);
    }
}

#[tokio::test]
async fn a_reply_that_never_validates_gives_every_attempt() {
    for case in cases() {
        let server = FakeUpstream::start().await.unwrap();
        for _ in 0..3 {
            server.push(reply(&case, INVALID));
        }
        let provider = client(&case, &server);
        let e = generate::<City, _>(&provider, request(&case), &options(&case)).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Exhausted, "{}", case.label);
        assert_eq!(e.attempts().len(), 3, "{}", case.label);
        assert_eq!(e.violations().count(), 6, "{}: two violations per attempt", case.label);
        assert_eq!(e.usage().map(|u| u.prompt_tokens), Some(150), "{}", case.label);
        assert_eq!(server.request_count(), 3, "{}", case.label);
    }
}

//! The PROVIDERS.md fixtures (`test_data/`) through each adapter's pure encode / decode / stream functions:
//! every usage field of §1.1 checked by value, and insta snapshots of request bodies, decoded responses and
//! stream events per provider.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::{
    ApiKey, ChatRequest, ChatResponse, ContentPart, FinishReason, JsonSchemaFormat, Message, ReasoningEffort,
    ResponseFormat, StreamAssembler, StreamEvent, Tool, ToolCall, ToolChoice, Usage, Usd,
};
use llm_providers::ProviderClient;
use llm_providers::adapter::decode_stream;
use serde_json::{Value, json};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/test_data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A client that drops what a provider does not take (the request builders below set every parameter, for
/// every provider), so the bodies show what each provider is sent.
fn client(provider: &str) -> ProviderClient {
    let mut b = ProviderClient::builder(provider)
        .api_key(ApiKey::new("test-key"))
        .api_base("http://127.0.0.1:9")
        .param_policy(llm_providers::ParamPolicy::Drop);
    if provider == "bedrock" {
        b = b.aws_region("us-east-1");
    }
    b.build().unwrap()
}

fn decode(provider: &str, path: &str) -> ChatResponse {
    client(provider).adapter().decode(&fixture(path), "m").unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Bedrock streams only with the `bedrock` feature (its event-stream decoder).
const STREAMS_BEDROCK: bool = cfg!(feature = "bedrock");

/// Decodes a streamed fixture whole and in 7-byte pieces (both must agree), and assembles it.
fn stream(provider: &str, path: &str) -> (Vec<StreamEvent>, ChatResponse) {
    let bytes = if path.ends_with(".jsonl") { bedrock_binary(&fixture(path)) } else { fixture(path) };
    let c = client(provider);
    let whole = decode_stream(c.adapter(), "m", &[&bytes]).unwrap_or_else(|e| panic!("{path}: {e}"));
    let pieces: Vec<&[u8]> = bytes.chunks(7).collect();
    let split = decode_stream(c.adapter(), "m", &pieces).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(whole, split, "{path}: chunk boundaries change nothing");
    let mut a = StreamAssembler::for_provider(provider);
    for e in whole.iter().cloned() {
        a.push(e);
    }
    (whole, a.finish())
}

fn bedrock_binary(jsonl: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in String::from_utf8_lossy(jsonl).lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        out.extend(llm_fake_upstream::wire::bedrock::event(v[":event-type"].as_str().unwrap(), &v["payload"]));
    }
    out
}

fn usd(s: &str) -> Usd {
    s.parse().unwrap()
}

fn checked(u: Option<Usage>) -> Usage {
    let u = u.expect("usage");
    u.check().unwrap_or_else(|e| panic!("{e}: {u:?}"));
    u
}

// ---------------------------------------------------------------------------------------------------------
// Usage fields of PROVIDERS.md §1.1, by value

#[test]
fn openai_usage_with_cache_and_reasoning() {
    let body = json!({"id": "c", "model": "o3", "choices": [], "usage": serde_json::from_slice::<Value>(&fixture("openai/usage_reasoning_cached.json")).unwrap()});
    let r = client("openai").adapter().decode(body.to_string().as_bytes(), "o3").unwrap();
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (5120, 1450, 6570));
    assert_eq!((u.cache_read_tokens, u.cache_write_tokens, u.reasoning_tokens), (Some(4864), Some(0), Some(1216)));
    assert_eq!(u.audio_input_tokens, Some(0));
}

#[test]
fn anthropic_cache_is_added_to_the_prompt() {
    let u = checked(decode("anthropic", "anthropic/messages_response_tool_use.json").usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (2460, 286, 2746));
    assert_eq!((u.cache_read_tokens, u.cache_write_tokens, u.reasoning_tokens), (Some(2048), Some(0), Some(201)));
    assert_eq!((u.cache_write_5m_tokens, u.cache_write_1h_tokens), (Some(0), Some(0)));

    let (_, r) = stream("anthropic", "anthropic/messages_stream_text_cache.sse");
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens), (1955, 14), "message_delta usage is cumulative");
    assert_eq!((u.cache_write_tokens, u.cache_read_tokens, u.cache_write_5m_tokens), (Some(1934), Some(0), Some(1934)));
    assert_eq!(r.text(), "Lisbon is 21 °C and sunny.");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
}

#[test]
fn gemini_thoughts_are_added_to_the_completion() {
    let r = decode("gemini", "gemini/generate_response_function_call.json");
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (389, 185, 574));
    assert_eq!((u.reasoning_tokens, u.image_input_tokens, u.cache_read_tokens), (Some(161), Some(258), None));
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls), "STOP with a function call");
    assert!(r.tool_calls()[0].id.starts_with("call_0#ts=CpQB"), "the thought signature rides on the id");

    let (_, r) = stream("gemini", "gemini/stream_text_usage.sse");
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (402, 87, 489), "the last usageMetadata wins");
    assert_eq!(r.text(), "Lisbon is 21 °C and sunny.");

    let r = decode("gemini", "gemini/generate_response_prompt_blocked.json");
    assert_eq!(r.finish_reason(), Some(&FinishReason::ContentFilter));
    assert_eq!(checked(r.usage).prompt_tokens, 57);
}

#[test]
fn xai_reasoning_outside_completion_and_ticks() {
    let r = decode("xai", "xai/chat_response_reasoning_usage.json");
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (712, 189, 901));
    assert_eq!((u.cache_read_tokens, u.reasoning_tokens), (Some(640), Some(151)));
    assert_eq!(r.provider_cost, Some(usd("0.0001842")));
}

#[test]
fn deepseek_cache_and_reasoning() {
    let r = decode("deepseek", "deepseek/chat_response_reasoning_tool_call.json");
    let u = checked(r.usage);
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.cache_read_tokens, u.reasoning_tokens),
        (1346, 71, Some(1280), Some(43))
    );
    assert_eq!(
        r.choices[0].message.reasoning.as_deref(),
        Some("The user wants current weather in Lisbon in Celsius, so I should call get_weather.")
    );
    let (_, r) = stream("deepseek", "deepseek/chat_stream_reasoning_usage.sse");
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.reasoning_tokens), (18, 64, Some(57)));
    assert_eq!(r.text(), "9.8 is larger.");
}

#[test]
fn groq_x_groq_usage_in_streams() {
    let (_, r) = stream("groq", "groq/chat_stream_x_groq_usage.sse");
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens), (44, 10));
    let r = decode("groq", "groq/chat_response_reasoning.json");
    let u = checked(r.usage);
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.reasoning_tokens),
        (88, 41, Some(24)),
        "reasoning inside completion"
    );
    assert_eq!(r.choices[0].message.reasoning.as_deref(), Some("Compare 9.11 and 9.80: tenths digit 8 > 1."));
}

#[test]
fn openrouter_reported_cost() {
    let r = decode("openrouter", "openrouter/chat_response_cost.json");
    assert_eq!(r.provider_cost, Some(usd("0.0015")));
    let u = checked(r.usage);
    assert_eq!(
        (u.prompt_tokens, u.cache_read_tokens, u.cache_write_tokens, u.reasoning_tokens),
        (1731, Some(1690), Some(0), Some(16))
    );
    let (events, r) = stream("openrouter", "openrouter/chat_stream_cost.sse");
    assert_eq!(r.provider_cost, Some(usd("0.0000267")));
    assert!(events.iter().any(|e| matches!(e, StreamEvent::ProviderCost { .. })));
    assert_eq!(checked(r.usage).total_tokens, 23);
}

#[test]
fn bedrock_cache_is_added_to_the_prompt() {
    let r = decode("bedrock", "bedrock/converse_response_tool_use.json");
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (2446, 71, 2517));
    assert_eq!((u.cache_read_tokens, u.cache_write_tokens), (Some(2048), Some(0)));
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    if !STREAMS_BEDROCK {
        return;
    }
    let (_, r) = stream("bedrock", "bedrock/converse_stream_decoded.jsonl");
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (2357, 48, 2405));
    assert_eq!(
        r.tool_calls(),
        &[ToolCall::new("tooluse_Q2sWm8rT0vYx1Zb4Nc7Kd", "get_forecast", "{\"city\":\"Lisbon\",\"days\":3}")]
    );
}

#[test]
fn ollama_counts() {
    let r = decode("ollama", "ollama/chat_response_native_tool_call.json");
    assert_eq!(checked(r.usage).total_tokens, 459);
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    let (_, r) = stream("ollama", "ollama/chat_stream_native.ndjson");
    let u = checked(r.usage);
    assert_eq!((u.prompt_tokens, u.completion_tokens), (431, 19));
    assert_eq!(r.choices[0].message.reasoning.as_deref(), Some("User wants the weather summary."));
    let r = decode("ollama_openai", "ollama/v1_chat_response.json");
    assert_eq!(checked(r.usage).total_tokens, 450);
    assert_eq!(r.choices[0].message.reasoning.as_deref(), Some("User wants a short weather summary."));
}

#[test]
fn mistral_and_azure_streams() {
    let (_, r) = stream("mistral", "mistral/chat_stream_usage.sse");
    assert_eq!(checked(r.usage).total_tokens, 46);
    assert_eq!(r.text(), "Lisbon is 21 °C and sunny.");
    let r = decode("mistral", "mistral/chat_response_tool_call.json");
    assert_eq!(r.tool_calls()[0].name, "get_weather");

    // Azure's first chunk has empty id/model and no choices; the real id comes later.
    let first = String::from_utf8(fixture("azure/chat_stream_first_chunk.json")).unwrap();
    let rest = String::from_utf8(fixture("openai/chat_stream_usage.sse")).unwrap();
    let body = format!("data: {}\n\n{rest}", first.trim());
    let events = decode_stream(client("azure").adapter(), "m", &[body.as_bytes()]).unwrap();
    let mut a = StreamAssembler::new();
    events.into_iter().for_each(|e| a.push(e));
    let r = a.finish();
    assert_eq!(r.id, "chatcmpl-abqzB8an3Hy7bynb9hbqxGk66PuSw");
    assert_eq!(r.text(), "Lisbon is 21 °C and sunny.");
    assert_eq!(checked(r.usage).total_tokens, 240);
}

#[test]
fn error_fixtures_map_to_kinds() {
    use llm_core::ErrorKind::*;
    let h = reqwest::header::HeaderMap::new();
    let cases = [
        ("openai", 400, "openai/error_400_context_length.json", ContextLength),
        ("openai", 429, "openai/error_429_rate_limit.json", RateLimited),
        ("azure", 400, "azure/error_400_content_filter.json", ContentFilter),
        ("anthropic", 529, "anthropic/error_529_overloaded.json", Overloaded),
        ("anthropic", 400, "anthropic/error_400_prompt_too_long.json", ContextLength),
        ("gemini", 429, "gemini/error_429_resource_exhausted.json", RateLimited),
        ("gemini", 400, "gemini/error_400_api_key_invalid.json", Auth),
        ("ollama", 404, "ollama/error_404_model_not_found.json", NotFound),
        ("deepseek", 402, "deepseek/error_402_insufficient_balance.json", QuotaExceeded),
        ("mistral", 400, "mistral/error_400_message_order.json", InvalidRequest),
        ("groq", 429, "groq/error_429_rate_limit.json", RateLimited),
        ("xai", 400, "xai/error_400_invalid_key.json", Auth),
        ("openrouter", 402, "openrouter/error_402_credits.json", QuotaExceeded),
    ];
    let mut snap = Vec::new();
    for (p, status, path, kind) in cases {
        let e = client(p).adapter().error("m", status, &h, &fixture(path));
        assert_eq!(e.kind(), &kind, "{path}: {e}");
        snap.push(json!({"fixture": path, "kind": e.kind().as_str(), "retryable": e.is_retryable(),
                         "retry_after_ms": e.retry_after().map(|d| d.as_millis() as u64), "display": e.to_string()}));
    }
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("x-amzn-errortype", reqwest::header::HeaderValue::from_static("ThrottlingException"));
    let e = client("bedrock").adapter().error("m", 429, &h, &fixture("bedrock/error_429_throttling.json"));
    assert_eq!(e.kind(), &RateLimited);
    insta::assert_json_snapshot!("error_fixtures", snap);
}

// ---------------------------------------------------------------------------------------------------------
// Snapshots: decoded responses and stream events

#[test]
fn decoded_response_snapshots() {
    let cases = [
        ("openai", "openai/chat_response_tool_call.json"),
        ("openai", "openai/chat_response_json_schema.json"),
        ("anthropic", "anthropic/messages_response_tool_use.json"),
        ("gemini", "gemini/generate_response_function_call.json"),
        ("gemini", "gemini/generate_response_prompt_blocked.json"),
        ("ollama", "ollama/chat_response_native_tool_call.json"),
        ("ollama_openai", "ollama/v1_chat_response.json"),
        ("deepseek", "deepseek/chat_response_reasoning_tool_call.json"),
        ("mistral", "mistral/chat_response_tool_call.json"),
        ("mistral", "mistral/chat_response_thinking_chunks.json"),
        ("groq", "groq/chat_response_reasoning.json"),
        ("xai", "xai/chat_response_reasoning_usage.json"),
        ("openrouter", "openrouter/chat_response_cost.json"),
        ("bedrock", "bedrock/converse_response_tool_use.json"),
    ];
    for (p, path) in cases {
        let r = client(p).adapter().decode(&fixture(path), "m");
        let value = match r {
            Ok(r) => serde_json::to_value(&r).unwrap(),
            Err(e) => json!({"error": {"kind": e.kind().as_str(), "message": e.message()}}),
        };
        let name = format!("response__{}", path.replace(['/', '.'], "_"));
        insta::assert_json_snapshot!(name, value);
    }
}

#[test]
fn stream_event_snapshots() {
    let cases = [
        ("openai", "openai/chat_stream_usage.sse"),
        ("openai", "openai/chat_stream_tool_call.sse"),
        ("anthropic", "anthropic/messages_stream_text_cache.sse"),
        ("anthropic", "anthropic/messages_stream_tool_use.sse"),
        ("gemini", "gemini/stream_text_usage.sse"),
        ("ollama", "ollama/chat_stream_native.ndjson"),
        ("deepseek", "deepseek/chat_stream_reasoning_usage.sse"),
        ("mistral", "mistral/chat_stream_usage.sse"),
        ("groq", "groq/chat_stream_x_groq_usage.sse"),
        ("openrouter", "openrouter/chat_stream_cost.sse"),
        ("bedrock", "bedrock/converse_stream_decoded.jsonl"),
    ];
    for (p, path) in cases.into_iter().filter(|(p, _)| STREAMS_BEDROCK || *p != "bedrock") {
        let (events, assembled) = stream(p, path);
        let name = format!("stream__{}", path.replace(['/', '.'], "_"));
        insta::assert_json_snapshot!(name, json!({"events": events, "assembled": assembled}));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Snapshots: request bodies

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"]}),
    )
}

const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR42mOQm/AfiBggFAArdga1SJjwDwAAAABJRU5ErkJggg==";

fn tools_image_request(model: &str) -> ChatRequest {
    ChatRequest::new(
        model,
        vec![
            Message::system("You are a concise travel assistant. Use tools for live data."),
            Message::user_parts(vec![
                ContentPart::image_base64("image/png", PNG),
                ContentPart::text("What's the weather in the city on this postcard? Use Celsius."),
            ]),
        ],
    )
    .with_tool(weather_tool())
    .with_tool_choice(ToolChoice::Auto)
    .with_temperature(0.2)
    .with_max_tokens(512)
    .with_stop(vec!["\n\nUser:".into()])
    .with_seed(42)
}

fn tool_result_request(model: &str) -> ChatRequest {
    ChatRequest::new(
        model,
        vec![
            Message::user("What's the weather in Lisbon? Use Celsius."),
            Message::assistant_tool_calls(vec![ToolCall::new(
                "call_GXNHtfeNvYlmK7OPhPZLl167",
                "get_weather",
                "{\"city\":\"Lisbon\",\"unit\":\"celsius\"}",
            )]),
            Message::tool_result("call_GXNHtfeNvYlmK7OPhPZLl167", "{\"temp_c\":21,\"sky\":\"sunny\"}"),
        ],
    )
    .with_tool(weather_tool())
    .with_max_tokens(512)
}

fn schema_request(model: &str) -> ChatRequest {
    let schema = json!({"type": "object", "properties": {"title": {"type": "string"}, "date": {"type": "string", "format": "date"}},
                        "required": ["title", "date"], "additionalProperties": false});
    ChatRequest::new(model, vec![Message::user("Team offsite in Porto on 2026-12-03. Extract the event.")])
        .with_response_format(ResponseFormat::JsonSchema(
            JsonSchemaFormat::new("calendar_event", schema).with_strict(true),
        ))
        .with_reasoning_effort(ReasoningEffort::Medium)
}

#[test]
fn request_body_snapshots() {
    let providers = [
        ("openai", "gpt-4.1-mini"),
        ("azure", "my-deployment"),
        ("anthropic", "claude-sonnet-4-5-20250929"),
        ("gemini", "gemini-2.5-flash"),
        ("ollama", "qwen3-vl:8b"),
        ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("groq", "openai/gpt-oss-120b"),
        ("deepseek", "deepseek-v4-pro"),
        ("mistral", "mistral-medium-2508"),
        ("xai", "grok-4.3"),
        ("openrouter", "anthropic/claude-sonnet-4.5"),
    ];
    // Each provider's bodies include a streamed call: Bedrock's needs the feature.
    for (p, model) in providers.into_iter().filter(|(p, _)| STREAMS_BEDROCK || *p != "bedrock") {
        let c = client(p);
        let mut out = serde_json::Map::new();
        for (kind, req, stream) in [
            ("tools_image", tools_image_request(model), false),
            ("tool_result_stream", tool_result_request(model), true),
            ("schema", schema_request(model), false),
        ] {
            let call = c.prepare(&req, stream).unwrap_or_else(|e| panic!("{p} {kind}: {e}"));
            let body: Value = serde_json::from_slice(&call.body).unwrap();
            out.insert(kind.into(), json!({"url": call.url, "body": body}));
        }
        insta::assert_json_snapshot!(format!("request__{p}"), Value::Object(out));
    }
}

fn sort_required(mut v: Value) -> Value {
    match &mut v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                if k == "required" {
                    if let Value::Array(a) = child {
                        a.sort_by_key(ToString::to_string);
                    }
                } else {
                    *child = sort_required(child.take());
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| *c = sort_required(c.take())),
        _ => {}
    }
    v
}

#[test]
fn openai_request_fixture_round_trips() {
    for path in [
        "openai/chat_request_tools_image.json",
        "openai/chat_request_tool_result.json",
        "openai/chat_request_json_schema.json",
    ] {
        let fixture_body: Value = serde_json::from_slice(&fixture(path)).unwrap();
        let req = llm_core::openai::request_from_json(&fixture(path)).unwrap();
        let stream = fixture_body["stream"] == true;
        let call = client("openai").prepare(&req, stream).unwrap();
        let ours: Value = serde_json::from_slice(&call.body).unwrap();
        // The strict dialect lists `required` in its own (sorted) order; the set is what matters.
        assert_eq!(sort_required(ours), sort_required(fixture_body), "{path}");
    }
}

#[test]
fn anthropic_and_gemini_requests_match_fixture_fields() {
    let a: Value = serde_json::from_slice(
        &client("anthropic").prepare(&tools_image_request("claude-sonnet-4-5-20250929"), false).unwrap().body,
    )
    .unwrap();
    let f: Value = serde_json::from_slice(&fixture("anthropic/messages_request_tools_image_thinking.json")).unwrap();
    assert_eq!(a["messages"], f["messages"]);
    assert_eq!(a["tools"], f["tools"]);
    assert_eq!(a["tool_choice"], f["tool_choice"]);
    assert_eq!(a["stop_sequences"], f["stop_sequences"]);
    assert!(a.get("seed").is_none(), "seed is not an anthropic parameter and is dropped");

    let g: Value = serde_json::from_slice(
        &client("gemini").prepare(&tools_image_request("gemini-2.5-flash"), false).unwrap().body,
    )
    .unwrap();
    let f: Value = serde_json::from_slice(&fixture("gemini/generate_request_tools_image.json")).unwrap();
    assert_eq!(g["systemInstruction"], f["systemInstruction"]);
    assert_eq!(g["contents"], f["contents"]);
    assert_eq!(g["tools"], f["tools"]);
    assert_eq!(g["toolConfig"], f["toolConfig"]);
    assert_eq!(g["generationConfig"]["stopSequences"], f["generationConfig"]["stopSequences"]);
    assert_eq!(g["generationConfig"]["seed"], f["generationConfig"]["seed"]);

    let b: Value =
        serde_json::from_slice(&client("bedrock").prepare(&tool_result_request("m"), false).unwrap().body).unwrap();
    let f: Value = serde_json::from_slice(&fixture("bedrock/converse_request_tool_result.json")).unwrap();
    assert_eq!(b["messages"][1]["content"][0]["toolUse"]["input"], f["messages"][1]["content"][0]["toolUse"]["input"]);
    assert_eq!(b["messages"][1]["content"][0]["toolUse"]["name"], f["messages"][1]["content"][0]["toolUse"]["name"]);
    assert_eq!(
        b["messages"][2]["content"][0]["toolResult"]["content"],
        f["messages"][2]["content"][0]["toolResult"]["content"]
    );

    let o: Value =
        serde_json::from_slice(&client("ollama").prepare(&tool_result_request("qwen3-vl:8b"), true).unwrap().body)
            .unwrap();
    let f: Value = serde_json::from_slice(&fixture("ollama/chat_request_native_tool_result.json")).unwrap();
    assert_eq!(o["messages"], f["messages"]);
}

// ---------------------------------------------------------------------------------------------------------
// The direct body writer against the JSON-tree encoder

/// Requests that exercise every field and message shape the OpenAI-family encoder writes.
fn encoder_corpus() -> Vec<(&'static str, ChatRequest)> {
    let mut thinking = Message::assistant("It is sunny.");
    thinking.reasoning = Some("The tool said sunny.".into());
    thinking.reasoning_signature = Some("sig-1".into());
    thinking.refusal = Some("I cannot do that.".into());
    let mut unsigned = Message::assistant("Fine.");
    unsigned.reasoning = Some("Short thought.".into());
    let mut empty = Message::assistant_tool_calls(vec![ToolCall::new("c1", "f", "{}"), ToolCall::new("c2", "g", "")]);
    empty.content = None;
    let everything = ChatRequest::new(
        "m",
        vec![
            Message::new(llm_core::Role::Developer, "Be terse. \u{1F600} \"quoted\" \\ back\nslash"),
            Message::user("Hi").with_name("ana"),
            thinking,
            unsigned,
            empty,
            Message::tool_result("c1", "{\"ok\":true}"),
        ],
    )
    .with_temperature(0.7)
    .with_top_p(0.95)
    .with_max_tokens(100)
    .with_stop(vec!["END".into(), "\u{0}".into()])
    .with_seed(-7)
    .with_n(2)
    .with_tool(weather_tool())
    .with_tool(
        Tool::function(
            "strict_tool",
            "A strict one",
            json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
        )
        .with_strict(true),
    )
    .with_tool_choice(ToolChoice::Function("get_weather".into()))
    .with_parallel_tool_calls(false)
    .with_reasoning_effort(ReasoningEffort::High)
    .with_service_tier(llm_core::ServiceTier::Flex)
    .with_user("user-1")
    .with_tag("not-in-the-body")
    .with_metadata("team", json!("not-in-the-body"))
    .with_extra("logprobs", json!(true))
    .with_extra("top_k", json!(40));
    let mut penalties = ChatRequest::new("m", vec![Message::user("x")]);
    penalties.presence_penalty = Some(0.5);
    penalties.frequency_penalty = Some(f64::NAN);
    let json_mode = ChatRequest::new("m", vec![Message::user("x")]).with_response_format(ResponseFormat::JsonObject);
    let loose_schema =
        ChatRequest::new("m", vec![Message::user("x")]).with_response_format(ResponseFormat::JsonSchema(
            JsonSchemaFormat::new("s", json!({"type": "object", "properties": {"a": {"type": "string"}}}))
                .with_description("loose"),
        ));
    vec![
        (
            "bench",
            ChatRequest::new("m", vec![Message::system("Be brief."), Message::user("Hello!")]).with_max_tokens(64),
        ),
        ("tools_image", tools_image_request("m")),
        ("tool_result", tool_result_request("m")),
        ("schema", schema_request("m")),
        ("everything", everything),
        ("penalties", penalties),
        ("json_mode", json_mode),
        ("loose_schema", loose_schema),
        ("parts", ChatRequest::new("m", vec![Message::user_parts(vec![ContentPart::image_url("https://x/y.png")])])),
        // `extra` repeating a body field: the tree's merge decides (the writer hands over to it).
        (
            "extra_overrides",
            tool_result_request("m").with_extra("temperature", json!(1)).with_extra("stream", json!(false)),
        ),
        ("extra_wire_name", tool_result_request("m").with_extra("max_completion_tokens", json!(5))),
    ]
}

#[test]
fn the_direct_writer_matches_the_tree_byte_for_byte() {
    use llm_providers::openai::encode::{encode_request, write_request};
    let mut checked = 0;
    for spec in llm_providers::PROVIDERS {
        let llm_providers::Dialect::OpenAiCompatible(q) = spec.dialect else { continue };
        for (name, req) in encoder_corpus() {
            for stream in [false, true] {
                let tree = serde_json::to_vec(&encode_request(&req, "served-model", stream, q)).unwrap();
                let direct = write_request(&req, "served-model", stream, q).unwrap();
                assert_eq!(
                    String::from_utf8(direct).unwrap(),
                    String::from_utf8(tree).unwrap(),
                    "{} {name} stream={stream}",
                    spec.name
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10 * 11 * 2, "only {checked} bodies compared");
}

#[test]
fn renamed_fields_keep_their_place_and_extra_wins() {
    use llm_providers::openai::encode::encode_request;
    let q = &llm_providers::Quirks::OPENAI;
    let body = encode_request(&tools_image_request("m"), "m", false, q);
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["model", "messages", "temperature", "max_completion_tokens", "stop", "seed", "tools", "tool_choice"]
    );
    let body = encode_request(&tool_result_request("m").with_extra("max_completion_tokens", json!(5)), "m", false, q);
    assert_eq!(body["max_completion_tokens"], json!(5));
    assert!(body.get("max_tokens").is_none());
    let mistral = llm_providers::provider_spec("mistral").unwrap();
    let llm_providers::Dialect::OpenAiCompatible(mq) = mistral.dialect else { panic!("mistral is OpenAI-compatible") };
    let body = encode_request(&tools_image_request("m"), "m", false, mq);
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["model", "messages", "temperature", "max_tokens", "stop", "random_seed", "tools", "tool_choice"]);
}

//! OpenAI-format wire shapes: fixtures from the provider spec decoded, re-encoded and round-tripped, with insta
//! snapshots of what comes out.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::openai::{self, ChunkDecoder, ChunkEncoder};
use llm_core::{
    ChatRequest, ChatResponse, ContentPart, FinishReason, JsonSchemaFormat, Message, ReasoningEffort, ResponseFormat,
    ServiceTier, StreamAssembler, StreamEvent, Tool, ToolCall, ToolChoice, Usage,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    let path = format!("{}/test_data/openai/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sse_data(text: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.strip_prefix("data: ")).filter(|d| *d != "[DONE]").map(str::to_owned).collect()
}

fn full_request() -> ChatRequest {
    ChatRequest::new(
        "gpt-4.1-mini",
        vec![
            Message::system("You are terse."),
            Message::user_parts(vec![
                ContentPart::text("What is in this image, and what's the weather there?"),
                ContentPart::image_url("https://example.test/lisbon.jpg"),
                ContentPart::image_base64("image/png", "iVBORw0KGgo="),
            ]),
            Message::assistant_tool_calls(vec![ToolCall::new("call_1", "get_weather", r#"{"city":"Lisbon"}"#)]),
            Message::tool_result("call_1", r#"{"temp_c":21}"#),
        ],
    )
    .with_temperature(0.2)
    .with_top_p(0.9)
    .with_max_tokens(256)
    .with_stop(vec!["END".into()])
    .with_seed(7)
    .with_n(1)
    .with_tool(
        Tool::function(
            "get_weather",
            "Current weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        )
        .with_strict(true),
    )
    .with_tool_choice(ToolChoice::Function("get_weather".into()))
    .with_parallel_tool_calls(false)
    .with_response_format(ResponseFormat::JsonSchema(
        JsonSchemaFormat::new("weather", json!({"type": "object"}))
            .with_description("a weather report")
            .with_strict(true),
    ))
    .with_reasoning_effort(ReasoningEffort::Low)
    .with_service_tier(ServiceTier::Flex)
    .with_user("user-42")
    .with_tag("never-sent")
    .with_metadata("team", json!("never-sent"))
    .with_extra("logprobs", json!(true))
}

#[test]
fn request_to_json_snapshot() {
    let body = openai::request_to_json(&full_request());
    assert!(body.get("tags").is_none() && body.get("metadata").is_none(), "tracking fields stay out of the body");
    insta::assert_json_snapshot!("request_full", body);
}

#[test]
fn request_fields_lists_what_the_encoder_writes_in_order() {
    let mut req = full_request();
    req.presence_penalty = Some(0.1);
    req.frequency_penalty = Some(0.2);
    let body = openai::request_to_json(&req);
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = openai::REQUEST_FIELDS.to_vec();
    expected.push("logprobs");
    assert_eq!(keys, expected, "`extra` comes last");
}

#[test]
fn request_round_trips_through_json() {
    let req = full_request();
    let body = serde_json::to_vec(&openai::request_to_json(&req)).unwrap();
    let back = openai::request_from_json(&body).unwrap();
    // Tags and metadata are tracking-only and never go on the wire; everything else survives.
    let mut expected = req.clone();
    expected.tags.clear();
    expected.metadata.clear();
    assert_eq!(back, expected);
}

#[test]
fn fixture_requests_decode() {
    for name in ["chat_request_tools_image.json", "chat_request_tool_result.json", "chat_request_json_schema.json"] {
        let text = fixture(name);
        let req = openai::request_from_json(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Re-encoding gives back every field the fixture had (modulo max_tokens naming and key order).
        let original: Value = serde_json::from_str(&text).unwrap();
        let again = openai::request_to_json(&req);
        for (k, v) in original.as_object().unwrap() {
            let k2 = if k == "max_completion_tokens" { "max_tokens" } else { k.as_str() };
            if k == "stream" || k == "stream_options" {
                continue;
            }
            assert_eq!(&again[k2], v, "{name}: field {k}");
        }
        insta::assert_json_snapshot!(format!("request_decoded_{}", name.trim_end_matches(".json")), req);
    }
}

#[test]
fn response_fixtures_decode_and_reencode() {
    for name in ["chat_response_tool_call.json", "chat_response_json_schema.json"] {
        let text = fixture(name);
        let resp = openai::response_from_json(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let stem = name.trim_end_matches(".json");
        insta::assert_json_snapshot!(format!("response_decoded_{stem}"), resp);
        let encoded = openai::response_to_json(&resp);
        insta::assert_json_snapshot!(format!("response_reencoded_{stem}"), encoded);
        let back = openai::response_from_json(&serde_json::to_vec(&encoded).unwrap()).unwrap();
        assert_eq!(back, resp, "{name}: decode(encode(x)) == x");
    }
}

#[test]
fn tool_call_response_values() {
    let resp = openai::response_from_json(fixture("chat_response_tool_call.json").as_bytes()).unwrap();
    assert_eq!(resp.finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(resp.tool_calls()[0].name, "get_weather");
    assert_eq!(resp.tool_calls()[0].arguments, r#"{"city":"Lisbon","unit":"celsius"}"#);
    assert_eq!(resp.usage, Some(Usage::new(187, 19).with_cache_read(0).with_reasoning(0).with_audio(Some(0), Some(0))));
    assert_eq!(resp.service_tier.as_deref(), Some("default"));
}

#[test]
fn usage_with_every_detail_field() {
    let u = openai::usage_from_json(&serde_json::from_str(&fixture("usage_reasoning_cached.json")).unwrap()).unwrap();
    assert_eq!(u.prompt_tokens, 5120);
    assert_eq!(u.completion_tokens, 1450);
    assert_eq!(u.total_tokens, 6570);
    assert_eq!(u.cache_read_tokens, Some(4864));
    assert_eq!(u.cache_write_tokens, Some(0));
    assert_eq!(u.reasoning_tokens, Some(1216));
    assert!(u.check().is_ok());

    let every = Usage::new(10_000, 2_000)
        .with_cache_read(6_000)
        .with_cache_write_ttl(1_000, 500)
        .with_reasoning(1_200)
        .with_audio(Some(100), Some(50))
        .with_image(Some(300), Some(0))
        .with_web_search_requests(2);
    let json = openai::usage_to_json(&every);
    insta::assert_json_snapshot!("usage_every_field", json);
    assert_eq!(openai::usage_from_json(&json).unwrap(), every);
    assert!(every.check().is_ok());

    let none = Usage::new(1, 2);
    assert_eq!(openai::usage_to_json(&none), json!({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}));
    assert_eq!(openai::usage_from_json(&openai::usage_to_json(&none)).unwrap(), none);
}

#[test]
fn cache_creation_tokens_is_litellms_name_for_cache_writes() {
    // LiteLLM writes `cache_creation_tokens` (and keeps `cache_write_tokens` in step); either name is a write
    let read = |details: Value| {
        openai::usage_from_json(&json!({
            "prompt_tokens": 10_000, "completion_tokens": 100, "total_tokens": 10_100,
            "prompt_tokens_details": details
        }))
        .unwrap()
    };
    let u = read(json!({"cached_tokens": 2000, "cache_creation_tokens": 3000}));
    assert_eq!((u.cache_read_tokens, u.cache_write_tokens), (Some(2000), Some(3000)));
    assert_eq!((u.cache_write_5m_tokens, u.cache_write_1h_tokens), (None, None));
    let u = read(json!({
        "cache_creation_tokens": 3000,
        "cache_creation_token_details": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000}
    }));
    assert_eq!(
        (u.cache_write_tokens, u.cache_write_5m_tokens, u.cache_write_1h_tokens),
        (Some(3000), Some(1000), Some(2000))
    );
    // as in LiteLLM's `PromptTokensDetailsWrapper`, `cache_write_tokens` wins when present, even at 0
    assert_eq!(read(json!({"cache_write_tokens": 7, "cache_creation_tokens": 9})).cache_write_tokens, Some(7));
    assert_eq!(read(json!({"cache_write_tokens": 0, "cache_creation_tokens": 9})).cache_write_tokens, Some(0));
    assert_eq!(read(json!({"cache_write_tokens": null, "cache_creation_tokens": 9})).cache_write_tokens, Some(9));
    assert_eq!(read(json!({"cache_write_tokens": 0})).cache_write_tokens, Some(0));
    assert_eq!(read(json!({"cache_creation_tokens": 0})).cache_write_tokens, Some(0));
    assert_eq!(read(json!({"cached_tokens": 5})).cache_write_tokens, None);
    // OpenAI's 30-minute and 12-hour TTLs; without a count, the split's sum is the count
    let u = read(json!({"cache_creation_token_details": {
        "ephemeral_5m_input_tokens": 1, "ephemeral_30m_input_tokens": 20, "ephemeral_1h_input_tokens": 300,
        "ephemeral_12h_input_tokens": 4000
    }}));
    assert_eq!(u.cache_write_ttl_split(), [Some(1), Some(20), Some(300), Some(4000)]);
    assert_eq!(u.cache_write_tokens, Some(4321));
    assert!(u.check().is_ok());
    assert_eq!(openai::usage_from_json(&openai::usage_to_json(&u)).unwrap(), u);
    let mut too_many = u;
    too_many.cache_write_tokens = Some(4000);
    assert!(too_many.check().is_err());
}

#[test]
fn tolerant_usage_numbers() {
    let u = openai::usage_from_json(&json!({
        "prompt_tokens": 12.0, "completion_tokens": "3", "total_tokens": null,
        "prompt_tokens_details": null, "prompt_cache_hit_tokens": 8, "cost": 0.00012
    }))
    .unwrap();
    assert_eq!(u, Usage::new(12, 3).with_cache_read(8));
    for bad in [
        json!({"prompt_tokens": -1}),
        json!({"prompt_tokens": 1.5}),
        json!({"prompt_tokens": "x"}),
        json!({"prompt_tokens": []}),
    ] {
        let e = openai::usage_from_json(&bad).unwrap_err();
        assert_eq!(e.kind(), &llm_core::ErrorKind::Decode, "{bad}");
    }
}

fn decode_stream(name: &str) -> (Vec<StreamEvent>, ChatResponse) {
    let mut dec = ChunkDecoder::new();
    let mut events = Vec::new();
    for data in sse_data(&fixture(name)) {
        events.extend(dec.decode(data.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}")));
    }
    let mut a = StreamAssembler::new();
    for e in &events {
        a.push(e.clone());
    }
    (events, a.finish())
}

#[test]
fn stream_fixtures_decode_to_events() {
    for name in ["chat_stream_usage.sse", "chat_stream_tool_call.sse"] {
        let (events, assembled) = decode_stream(name);
        let stem = name.trim_end_matches(".sse");
        insta::assert_json_snapshot!(format!("stream_events_{stem}"), events);
        insta::assert_json_snapshot!(format!("stream_assembled_{stem}"), assembled);
    }
    let (_, text) = decode_stream("chat_stream_usage.sse");
    assert_eq!(text.text(), "Lisbon is 21 °C and sunny.");
    assert_eq!(text.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(text.usage.map(|u| (u.prompt_tokens, u.completion_tokens)), Some((231, 9)));
    let (_, tools) = decode_stream("chat_stream_tool_call.sse");
    assert_eq!(tools.finish_reason(), Some(&FinishReason::ToolCalls));
    assert!(!tools.tool_calls().is_empty());
    for call in tools.tool_calls() {
        serde_json::from_str::<Value>(&call.arguments).expect("joined arguments are valid JSON");
    }
}

#[test]
fn stream_round_trips_through_chunks() {
    let events = vec![
        StreamEvent::Start { id: Some("chatcmpl-9".into()), model: Some("gpt-4o".into()) },
        StreamEvent::ReasoningDelta { index: 0, text: "hmm".into() },
        StreamEvent::TextDelta { index: 0, text: "Hi".into() },
        StreamEvent::ToolCallDelta {
            index: 0,
            tool_index: 0,
            id: Some("call_a".into()),
            name: Some("f".into()),
            arguments: "{\"a\":".into(),
        },
        StreamEvent::ToolCallDelta { index: 0, tool_index: 0, id: None, name: None, arguments: "1}".into() },
        StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls },
        StreamEvent::Usage(Usage::new(10, 5).with_cache_read(4).with_reasoning(2)),
    ];
    let enc = ChunkEncoder::new("chatcmpl-9", "gpt-4o", 1_794_312_400);
    let chunks: Vec<Value> = events.iter().filter_map(|e| enc.encode(e)).collect();
    insta::assert_json_snapshot!("stream_encoded_chunks", chunks);
    let mut dec = ChunkDecoder::new();
    let mut back = Vec::new();
    for c in &chunks {
        back.extend(dec.decode(&serde_json::to_vec(c).unwrap()).unwrap());
    }
    assert_eq!(back, events);
}

#[test]
fn errors_inside_streams_and_bodies_are_typed() {
    let mut dec = ChunkDecoder::new();
    let e = dec
        .decode(
            br#"{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}"#,
        )
        .unwrap_err();
    assert_eq!(e.kind(), &llm_core::ErrorKind::Server);
    assert!(e.message().contains("server had an error"));
    let e = openai::response_from_json(fixture("error_429_rate_limit.json").as_bytes()).unwrap_err();
    assert!(e.message().starts_with("error in response body"), "{e}");
}

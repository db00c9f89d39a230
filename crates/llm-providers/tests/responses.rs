//! OpenAI's Responses API over real HTTP against the fake upstream: direct calls and streams (OpenAI, Azure),
//! the chat bridge, reasoning items sent back in the next turn, usage by value, errors and cut streams.
//! Request bodies are insta snapshots.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use futures_util::StreamExt;
use llm_core::responses::{Input, Item, ResponsesEvent, ResponsesRequest};
use llm_core::{
    ApiKey, ChatRequest, ErrorKind, FinishReason, JsonSchemaFormat, Message, Provider, ResponseFormat, Role, Tool,
    collect_stream,
};
use llm_fake_upstream::wire::openai_responses as wire;
use llm_fake_upstream::{FakeUpstream, Reply};
use llm_providers::{ProviderClient, RetryPolicy};
use serde_json::{Value, json};

const KEY: &str = "sk-test-0123456789abcdef";
const ENCRYPTED: &str = "gAAAAABoT9x1-encrypted-reasoning-blob==";

fn openai(base: &str, bridge: bool) -> ProviderClient {
    ProviderClient::builder("openai")
        .api_key(ApiKey::new(KEY))
        .api_base(base)
        .retry(RetryPolicy::none())
        .responses_api(bridge)
        .build()
        .unwrap()
}

fn azure(base: &str, version: &str, bridge: bool) -> ProviderClient {
    ProviderClient::builder("azure")
        .api_key(ApiKey::new(KEY))
        .api_base(base)
        .azure_api_version(version)
        .retry(RetryPolicy::none())
        .responses_api(bridge)
        .build()
        .unwrap()
}

fn weather_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

/// A reasoning item, a function call, then the usage of a reasoning model with a cache hit.
fn tool_call_reply() -> Reply {
    wire::response_with(
        vec![
            wire::reasoning_item("rs_6820f383d7c08191846711c5df8233bc", &["Need the weather."], Some(ENCRYPTED)),
            wire::function_call_item(
                "fc_6820f3855a9c8191b5b0b1d4e1a4b1b9",
                "call_Kx2tY8",
                "get_weather",
                r#"{"city":"Paris"}"#,
            ),
        ],
        wire::usage(1200, 800, 300, 256),
    )
}

#[tokio::test]
async fn direct_call_sends_the_request_and_reads_items_and_usage() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(tool_call_reply());
    let c = openai(&server.url(), false);
    let req = ResponsesRequest::new(
        "openai/o1-pro",
        vec![Item::message(Role::User, "Weather in Paris?"), Item::message(Role::Assistant, "Checking.")],
    )
    .with_instructions("Use tools for live data.")
    .with_reasoning(Some("high"), Some("auto"))
    .with_max_output_tokens(2048)
    .with_json_schema("weather", weather_schema(), true)
    .with_function_tool("get_weather", Some("Current weather"), weather_schema())
    .with_store(false)
    .with_include("reasoning.encrypted_content");
    let r = c.responses(&req).await.unwrap();

    let sent = server.last_request().unwrap();
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    insta::assert_json_snapshot!("direct_request_body", sent.json());

    assert_eq!(r.provider.as_ref().map(|p| p.as_str()), Some("openai"));
    assert_eq!(r.status.as_deref(), Some("completed"));
    assert_eq!(r.function_calls()[0].call_id, "call_Kx2tY8");
    assert_eq!(r.function_calls()[0].arguments, r#"{"city":"Paris"}"#);
    let reasoning = r.reasoning_items();
    assert_eq!(reasoning[0].id, "rs_6820f383d7c08191846711c5df8233bc");
    assert_eq!(reasoning[0].encrypted_content.as_deref(), Some(ENCRYPTED));
    assert_eq!(reasoning[0].summary_text(), "Need the weather.");
    let u = r.normalized_usage().unwrap();
    assert_eq!((u.prompt_tokens, u.cache_read_tokens, u.cache_write_tokens), (1200, Some(800), None));
    assert_eq!((u.completion_tokens, u.reasoning_tokens, u.total_tokens), (300, Some(256), 1500));
    assert_eq!(r.extra["truncation"], "disabled", "unmodelled fields are kept");
}

#[tokio::test]
async fn reasoning_items_round_trip_in_the_next_request() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(tool_call_reply());
    server.push(wire::response("It is 18°C in Paris.", 1400, 40));
    let c = openai(&server.url(), false);
    let first = c
        .responses(
            &ResponsesRequest::new("o1-pro", "Weather in Paris?")
                .with_store(false)
                .with_include("reasoning.encrypted_content"),
        )
        .await
        .unwrap();
    // The next turn: the user's message, every output item as it came, and the tool's result.
    let mut items = vec![Item::message(Role::User, "Weather in Paris?")];
    items.extend(first.output.iter().cloned());
    items.push(Item::function_call_output("call_Kx2tY8", r#"{"celsius":18}"#));
    let second = c.responses(&ResponsesRequest::new("o1-pro", items).with_store(false)).await.unwrap();
    assert_eq!(second.output_text(), "It is 18°C in Paris.");

    let sent = server.requests()[1].json();
    assert_eq!(
        sent["input"][1],
        json!({"type": "reasoning", "id": "rs_6820f383d7c08191846711c5df8233bc",
               "summary": [{"type": "summary_text", "text": "Need the weather."}], "encrypted_content": ENCRYPTED})
    );
    assert_eq!(sent["input"][2]["type"], "function_call");
    assert_eq!(sent["input"][2]["call_id"], "call_Kx2tY8");
    assert_eq!(
        sent["input"][3],
        json!({"type": "function_call_output", "call_id": "call_Kx2tY8", "output": "{\"celsius\":18}"})
    );
}

#[tokio::test]
async fn bridged_chat_translates_both_ways_and_carries_reasoning() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(tool_call_reply());
    server.push(wire::response("It is 18°C in Paris.", 1400, 40));
    let c = openai(&server.url(), true);
    let tool = Tool::function("get_weather", "Current weather", weather_schema());
    let req = ChatRequest::new("openai/o1-pro", vec![Message::system("Be brief."), Message::user("Weather in Paris?")])
        .with_tool(tool)
        .with_max_tokens(2048)
        .with_seed(7)
        .with_response_format(ResponseFormat::JsonSchema(
            JsonSchemaFormat::new("weather", weather_schema()).with_strict(true),
        ));
    let r = c.chat(&req).await.unwrap();

    let sent = server.requests()[0].clone();
    assert_eq!(sent.path, "/v1/responses");
    insta::assert_json_snapshot!("bridged_chat_request_body", sent.json());
    let kinds: Vec<&str> = r.adjustments.iter().map(|a| a.kind.as_str()).collect();
    assert!(kinds.contains(&"responses_api_bridge"), "{kinds:?}");
    assert!(r.adjustments.iter().any(|a| a.kind.as_str() == "param_dropped" && a.param.as_deref() == Some("seed")));

    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(r.tool_calls()[0].id, "call_Kx2tY8");
    let msg = r.choices[0].message.clone();
    assert_eq!(msg.reasoning.as_deref(), Some("Need the weather."));
    let u = r.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.cache_read_tokens, u.completion_tokens, u.reasoning_tokens),
        (1200, Some(800), 300, Some(256))
    );

    // The next chat turn sends the assistant message back: its reasoning item goes first, encrypted.
    let next = req.clone().with_message(msg).with_message(Message::tool_result("call_Kx2tY8", r#"{"celsius":18}"#));
    let r2 = c.chat(&next).await.unwrap();
    assert_eq!(r2.text(), "It is 18°C in Paris.");
    assert_eq!(r2.finish_reason(), Some(&FinishReason::Stop));
    insta::assert_json_snapshot!("bridged_second_turn_body", server.requests()[1].json());
    let input = server.requests()[1].json()["input"].clone();
    assert_eq!(input[2]["type"], "reasoning");
    assert_eq!(input[2]["id"], "rs_6820f383d7c08191846711c5df8233bc");
    assert_eq!(input[2]["encrypted_content"], ENCRYPTED);
    assert_eq!(input[3]["type"], "function_call");
    assert_eq!(
        input[4],
        json!({"type": "function_call_output", "call_id": "call_Kx2tY8", "output": "{\"celsius\":18}"})
    );
}

#[tokio::test]
async fn direct_stream_gives_typed_semantic_events() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(wire::stream(&["Hel", "lo"], 10, 5));
    let c = openai(&server.url(), false);
    let mut s = c.responses_stream(&ResponsesRequest::new("o1-pro", "Hi")).await.unwrap();
    let mut kinds = Vec::new();
    let mut text = String::new();
    let mut usage = None;
    while let Some(ev) = s.next().await {
        let ev = ev.unwrap();
        let v = serde_json::to_value(&ev).unwrap();
        kinds.push(v["type"].as_str().unwrap_or_default().to_owned());
        match ev {
            ResponsesEvent::OutputTextDelta { delta, .. } => text.push_str(&delta),
            ResponsesEvent::Completed { response } => usage = response.normalized_usage(),
            _ => {}
        }
    }
    assert_eq!(server.last_request().unwrap().json()["stream"], true);
    assert_eq!(text, "Hello");
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let u = usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (10, 5, 15));
}

/// A streamed answer with a reasoning summary in two lines, a function call and usage.
fn reasoning_tool_stream(end: Option<Value>) -> Reply {
    let rs = "rs_6820f383d7c08191846711c5df8233bc";
    let fc = "fc_6820f3855a9c8191b5b0b1d4e1a4b1b9";
    let reasoning = wire::reasoning_item(rs, &["Need the weather.", "Call the tool."], Some(ENCRYPTED));
    let call = wire::function_call_item(fc, "call_Kx2tY8", "get_weather", r#"{"city":"Paris"}"#);
    let mut evs = wire::start_events("o1-pro-2025-03-19");
    evs.extend([
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": rs, "type": "reasoning", "summary": []}}),
        json!({"type": "response.reasoning_summary_text.delta", "item_id": rs, "output_index": 0, "summary_index": 0, "delta": "Need the weather."}),
        json!({"type": "response.reasoning_summary_text.delta", "item_id": rs, "output_index": 0, "summary_index": 1, "delta": "Call the tool."}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": reasoning}),
        json!({"type": "response.output_item.added", "output_index": 1,
               "item": {"id": fc, "type": "function_call", "status": "in_progress", "arguments": "", "call_id": "call_Kx2tY8", "name": "get_weather"}}),
        json!({"type": "response.function_call_arguments.delta", "item_id": fc, "output_index": 1, "delta": "{\"city\":"}),
        json!({"type": "response.function_call_arguments.delta", "item_id": fc, "output_index": 1, "delta": "\"Paris\"}"}),
        json!({"type": "response.function_call_arguments.done", "item_id": fc, "output_index": 1, "arguments": "{\"city\":\"Paris\"}"}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": call}),
    ]);
    evs.extend(end.map(|e| {
        if e == Value::Null {
            json!({"type": "response.completed",
                   "response": wire::response_object("completed", "o1-pro-2025-03-19", vec![reasoning.clone(), call.clone()], wire::usage(1200, 800, 300, 256))})
        } else {
            e
        }
    }));
    wire::events(evs)
}

#[tokio::test]
async fn bridged_stream_assembles_text_tools_reasoning_and_usage() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(reasoning_tool_stream(Some(Value::Null)));
    let c = openai(&server.url(), true);
    let s = c.stream(&ChatRequest::new("o1-pro", vec![Message::user("Weather in Paris?")])).await.unwrap();
    let r = collect_stream(s).await.unwrap();
    assert_eq!(server.last_request().unwrap().json()["stream"], true);
    assert_eq!(r.id, "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b");
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    let calls = r.tool_calls();
    assert_eq!((calls[0].id.as_str(), calls[0].name.as_str()), ("call_Kx2tY8", "get_weather"));
    assert_eq!(calls[0].arguments, r#"{"city":"Paris"}"#);
    let m = &r.choices[0].message;
    assert_eq!(m.reasoning.as_deref(), Some("Need the weather.\n\nCall the tool."));
    let items = llm_core::responses::reasoning_from_signature(m.reasoning_signature.as_deref().unwrap());
    assert_eq!(items[0].encrypted_content.as_deref(), Some(ENCRYPTED));
    let u = r.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.cache_read_tokens, u.completion_tokens, u.reasoning_tokens),
        (1200, Some(800), 300, Some(256))
    );
    assert!(r.adjustments.iter().any(|a| a.kind.as_str() == "responses_api_bridge"));
}

#[tokio::test]
async fn failed_and_error_events_are_typed_errors_and_a_cut_stream_fails() {
    let failed = json!({"type": "response.failed", "response": {
        "id": "resp_1", "object": "response", "status": "failed", "model": "o1-pro", "output": [],
        "error": {"code": "rate_limit_exceeded", "message": "Rate limit reached for o1-pro"}}});
    let error = json!({"type": "error", "code": "context_length_exceeded", "message": "Your input exceeds the context window", "param": "input"});
    for (end, kind) in
        [(Some(failed), ErrorKind::RateLimited), (Some(error), ErrorKind::ContextLength), (None, ErrorKind::Network)]
    {
        for bridge in [false, true] {
            let server = FakeUpstream::start().await.unwrap();
            server.push(reasoning_tool_stream(end.clone()));
            let c = openai(&server.url(), bridge);
            let e = if bridge {
                let s = c.stream(&ChatRequest::new("o1-pro", vec![Message::user("Hi")])).await.unwrap();
                collect_stream(s).await.unwrap_err()
            } else {
                let mut s = c.responses_stream(&ResponsesRequest::new("o1-pro", "Hi")).await.unwrap();
                let mut last = None;
                while let Some(ev) = s.next().await {
                    if let Err(e) = ev {
                        last = Some(e);
                    }
                }
                last.expect("the stream ends with an error")
            };
            assert_eq!(e.kind(), &kind, "bridge {bridge}: {e}");
            assert_eq!(e.provider().map(|p| p.as_str()), Some("openai"));
            if kind == ErrorKind::Network {
                assert!(e.message().contains("response.completed"), "{e}");
            }
        }
    }
}

#[tokio::test]
async fn http_errors_map_like_chat() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(llm_fake_upstream::wire::openai::error(
        429,
        "tokens",
        Some("rate_limit_exceeded"),
        "Rate limit reached",
    ));
    server.push(llm_fake_upstream::wire::openai::error(
        400,
        "invalid_request_error",
        Some("context_length_exceeded"),
        "Your input exceeds the context window of this model.",
    ));
    server.push(Reply::json(200, r#"{"id": 5}"#));
    let c = openai(&server.url(), false);
    let req = ResponsesRequest::new("o1-pro", "Hi");
    let e = c.responses(&req).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (&ErrorKind::RateLimited, Some(429)));
    let bridged = openai(&server.url(), true);
    let e = bridged.chat(&ChatRequest::new("o1-pro", vec![Message::user("Hi")])).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (&ErrorKind::ContextLength, Some(400)));
    let e = c.responses(&req).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Decode, "a body that is not a response object: {e}");
}

#[tokio::test]
async fn azure_uses_the_v1_route_or_the_dated_preview_route() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(wire::response("Hi from Azure", 9, 3));
    server.push(wire::response("Hi again", 9, 3));
    server.push(wire::stream(&["Hi"], 9, 1));
    let v1 = azure(&server.url(), "2024-10-21", false);
    let r = v1.responses(&ResponsesRequest::new("azure/my-o1-pro-deployment", "Hi")).await.unwrap();
    assert_eq!(r.output_text(), "Hi from Azure");
    let sent = server.requests()[0].clone();
    assert_eq!((sent.path.as_str(), sent.query.as_str()), ("/openai/v1/responses", ""));
    assert_eq!(sent.header("api-key"), Some(KEY));
    assert_eq!(sent.json()["model"], "my-o1-pro-deployment");

    let preview = azure(&server.url(), "2025-04-01-preview", true);
    let r = preview.chat(&ChatRequest::new("azure/my-o1-pro-deployment", vec![Message::user("Hi")])).await.unwrap();
    assert_eq!(r.text(), "Hi again");
    let sent = server.requests()[1].clone();
    assert_eq!((sent.path.as_str(), sent.query.as_str()), ("/openai/responses", "api-version=2025-04-01-preview"));
    let s = preview.stream(&ChatRequest::new("azure/my-o1-pro-deployment", vec![Message::user("Hi")])).await.unwrap();
    let r = collect_stream(s).await.unwrap();
    assert_eq!((r.text().as_str(), r.usage.unwrap().total_tokens), ("Hi", 10));
}

#[tokio::test]
async fn providers_without_the_api_say_so() {
    let e = ProviderClient::builder("anthropic").api_key(ApiKey::new(KEY)).responses_api(true).build().unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Config);
    assert!(e.message().contains("Responses API"), "{e}");
    let groq =
        ProviderClient::builder("groq").api_key(ApiKey::new(KEY)).api_base("http://127.0.0.1:9").build().unwrap();
    let e = groq.responses(&ResponsesRequest::new("groq/x", Input::Text("Hi".into()))).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Config);
}

#[test]
fn an_incomplete_stream_ends_with_length_and_its_usage() {
    let adapter = llm_providers::responses::ResponsesBridge::new(Box::new(llm_providers::openai::OpenAiAdapter::new(
        "openai",
        "http://127.0.0.1:9/v1",
        None,
        &llm_providers::Quirks::OPENAI,
    )))
    .unwrap();
    let mut incomplete = wire::response_object("incomplete", "o1-pro", vec![], wire::usage(50, 0, 16, 16));
    incomplete["incomplete_details"] = json!({"reason": "max_output_tokens"});
    let body = format!(
        "event: response.created\ndata: {}\n\nevent: response.incomplete\ndata: {}\n\n",
        json!({"type": "response.created", "sequence_number": 0, "response": wire::response_object("in_progress", "o1-pro", vec![], Value::Null)}),
        json!({"type": "response.incomplete", "sequence_number": 1, "response": incomplete})
    );
    // Cut in the middle of the second event: the framing joins the pieces.
    let (a, b) = body.as_bytes().split_at(body.len() / 2 + 7);
    let events = llm_providers::adapter::decode_stream(&adapter, "o1-pro", &[a, b]).unwrap();
    let usage = events.iter().find_map(|e| match e {
        llm_core::StreamEvent::Usage(u) => Some(*u),
        _ => None,
    });
    assert_eq!(usage.map(|u| (u.prompt_tokens, u.completion_tokens, u.reasoning_tokens)), Some((50, 16, Some(16))));
    assert_eq!(
        events.last(),
        Some(&llm_core::StreamEvent::Finish { index: 0, reason: FinishReason::Length }),
        "{events:?}"
    );
}

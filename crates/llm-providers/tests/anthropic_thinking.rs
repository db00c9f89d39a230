//! Anthropic extended thinking with tools across turns: the thinking block's signature is kept (decoded and
//! streamed) and sent back first in the next assistant turn, as Anthropic requires.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::{ApiKey, ChatRequest, Message, Provider, StreamAssembler, StreamEvent, ToolCall, collect_stream};
use llm_fake_upstream::{FakeUpstream, Reply};
use llm_providers::ProviderClient;
use llm_providers::adapter::decode_stream;
use serde_json::json;

fn client(server: &FakeUpstream) -> ProviderClient {
    ProviderClient::builder("anthropic")
        .api_key(ApiKey::new("sk-ant-test-0000"))
        .api_base(server.url())
        .build()
        .unwrap()
}

const SIG: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds";

fn tool_turn() -> serde_json::Value {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "The user wants the weather; call the tool.", "signature": SIG},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Lisbon"}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 50, "output_tokens": 30}})
}

#[tokio::test]
async fn the_signature_is_decoded_and_sent_back_first() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json_value(200, &tool_turn()));
    server.push(llm_fake_upstream::wire::anthropic::message("It is 21 °C in Lisbon.", 80, 10));
    let c = client(&server);
    let first_req = ChatRequest::new("claude-sonnet-4-5", vec![Message::user("Weather in Lisbon?")])
        .with_reasoning_effort(llm_core::ReasoningEffort::Low);
    let first = c.chat(&first_req).await.unwrap();
    let turn = first.choices[0].message.clone();
    assert_eq!(turn.reasoning.as_deref(), Some("The user wants the weather; call the tool."));
    assert_eq!(turn.reasoning_signature.as_deref(), Some(SIG));
    assert_eq!(turn.tool_calls, vec![ToolCall::new("toolu_1", "get_weather", r#"{"city":"Lisbon"}"#)]);

    let second_req = first_req.with_message(turn).with_message(Message::tool_result("toolu_1", r#"{"temp_c":21}"#));
    c.chat(&second_req).await.unwrap();
    let body = server.requests()[1].json();
    let assistant = &body["messages"][1];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(
        assistant["content"][0],
        json!({"type": "thinking", "thinking": "The user wants the weather; call the tool.", "signature": SIG})
    );
    assert_eq!(assistant["content"][1]["type"], "tool_use");
    assert_eq!(body["messages"][2]["content"][0]["type"], "tool_result");
}

#[test]
fn the_signature_arrives_in_a_stream() {
    let sse = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me think.\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig-abc\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Done.\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let server_less = ProviderClient::builder("anthropic")
        .api_key(ApiKey::new("sk-ant-test-0000"))
        .api_base("http://127.0.0.1:9")
        .build()
        .unwrap();
    let events = decode_stream(server_less.adapter(), "claude-sonnet-4-5", &[sse.as_bytes()]).unwrap();
    assert!(events.contains(&StreamEvent::ReasoningSignature { index: 0, signature: "sig-abc".into() }), "{events:?}");
    let mut a = StreamAssembler::new();
    for e in events {
        a.push(e);
    }
    let r = a.finish();
    assert_eq!(r.text(), "Done.");
    assert_eq!(r.choices[0].message.reasoning.as_deref(), Some("Let me think."));
    assert_eq!(r.choices[0].message.reasoning_signature.as_deref(), Some("sig-abc"));
    let _ = collect_stream;
}

#[test]
fn the_signature_survives_openai_json() {
    let mut m = Message::assistant("ok");
    m.reasoning = Some("because".into());
    m.reasoning_signature = Some("sig-1".into());
    let v = llm_core::openai::message_to_json(&m);
    assert_eq!(v["thinking_blocks"], json!([{"type": "thinking", "thinking": "because", "signature": "sig-1"}]));
    assert_eq!(llm_core::openai::message_from_value(&v).unwrap(), m);
}

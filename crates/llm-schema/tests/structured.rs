//! Structured output end to end on the mock provider: strategies, validation, repair and the errors.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::mock::{MockError, MockProvider, MockReply};
use llm_core::{ChatRequest, Cost, CostBreakdown, CostStatus, Message, ResponseFormat, Role, ToolChoice, Usage};
use llm_schema::{
    Capabilities, ErrorKind, Options, ReplyProblem, SchemaSpec, Strategy, generate, generate_value, prepare,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// A meeting to put in the calendar.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
struct Meeting {
    /// What it is about.
    title: String,
    /// Minutes, 5 to 480.
    #[schemars(range(min = 5, max = 480))]
    minutes: u32,
    /// Who comes.
    attendees: Vec<Person>,
    /// Where, when known.
    room: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Person {
    name: String,
    #[schemars(email)]
    email: Option<String>,
}

fn request() -> ChatRequest {
    ChatRequest::new("mock/gpt-4o", vec![Message::system("You plan meetings."), Message::user("Plan a standup.")])
}

const VALID: &str = r#"{"title":"Standup","minutes":15,"attendees":[{"name":"Ana","email":null}],"room":null}"#;

#[test]
fn schema_from_type_snapshot() {
    let spec = SchemaSpec::of::<Meeting>().unwrap();
    assert_eq!(spec.name(), "Meeting");
    assert_eq!(spec.description(), Some("A meeting to put in the calendar."));
    assert!(spec.root_is_object());
    insta::assert_json_snapshot!("meeting_schema", spec.schema());
}

/// Properties keep the type's field order (serde_json's `preserve_order`), so the model sees, and writes, them
/// in the order the type declares them.
#[test]
fn schema_properties_keep_the_field_order() {
    let spec = SchemaSpec::of::<Meeting>().unwrap();
    let keys: Vec<&str> = spec.schema()["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["title", "minutes", "attendees", "room"]);
}

#[test]
fn violations_carry_pointers() {
    let spec = SchemaSpec::of::<Meeting>().unwrap();
    let bad = json!({"title": 3, "minutes": 1000, "attendees": [{"email": "x"}], "extra": true});
    let violations = spec.validate(&bad).unwrap_err();
    insta::assert_json_snapshot!("meeting_violations", violations);
    let pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
    assert!(pointers.contains(&"/title"), "{pointers:?}");
    assert!(pointers.contains(&"/minutes"), "{pointers:?}");
    assert!(pointers.contains(&"/attendees/0"), "{pointers:?}");
    assert!(spec.validate(&serde_json::from_str(VALID).unwrap()).is_ok());
}

#[test]
fn invalid_schema_is_a_typed_error() {
    let e = SchemaSpec::new("bad", json!({"type": 12})).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidSchema);
    assert!(e.to_string().starts_with("invalid json schema \"bad\""), "{e}");
}

#[test]
fn prepared_requests_per_strategy() {
    let spec = SchemaSpec::of::<Meeting>().unwrap();
    let caps = Capabilities::new(true, true, true);
    let native = prepare(request(), &spec, Strategy::Native, &caps);
    match &native.response_format {
        Some(ResponseFormat::JsonSchema(f)) => {
            assert_eq!(f.name, "Meeting");
            assert_eq!(f.strict, Some(true));
            assert_eq!(&f.schema, spec.schema());
        }
        other => panic!("{other:?}"),
    }
    let tool = prepare(request(), &spec, Strategy::ToolCall, &caps);
    assert_eq!(tool.tools.len(), 1);
    assert_eq!(tool.tool_choice, Some(ToolChoice::Function("Meeting".into())));
    assert_eq!(tool.response_format, None);
    let prompted = prepare(request(), &spec, Strategy::Prompted, &caps);
    assert_eq!(prompted.messages.len(), 3);
    assert_eq!(prompted.messages[1].role, Role::System, "schema prompt after the caller's system messages");
    assert!(prompted.messages[1].text().contains("\"title\""));
    assert_eq!(prompted.response_format, Some(ResponseFormat::JsonObject));
    let no_json_mode = prepare(request(), &spec, Strategy::Prompted, &Capabilities::new(false, false, false));
    assert_eq!(no_json_mode.response_format, None);
    insta::assert_json_snapshot!("prepared_prompted_system_message", prompted.messages[1].text());
}

#[tokio::test]
async fn valid_first_time() {
    let mock = MockProvider::new().with_reply(MockReply::text(VALID));
    let out = generate::<Meeting, _>(&mock, request(), &Options::new(Strategy::Native)).await.unwrap();
    assert_eq!(out.value.title, "Standup");
    assert_eq!(out.value.attendees, vec![Person { name: "Ana".into(), email: None }]);
    assert_eq!(out.strategy, Strategy::Native);
    assert_eq!(out.attempts.len(), 1);
    assert_eq!(out.attempts[0].problem, None);
    assert_eq!(mock.calls(), 1);
}

#[tokio::test]
async fn repaired_on_the_second_attempt_with_usage_added_up() {
    let mock = MockProvider::new()
        .with_reply(MockReply::text(r#"{"title":"Standup","minutes":2,"attendees":[]}"#))
        .with_reply(MockReply::text(VALID));
    let out = generate::<Meeting, _>(&mock, request(), &Options::new(Strategy::Native)).await.unwrap();
    assert_eq!(out.value.minutes, 15);
    assert_eq!(out.attempts.len(), 2);
    let Some(ReplyProblem::Invalid { violations }) = &out.attempts[0].problem else { panic!("{:?}", out.attempts) };
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].pointer, "/minutes");
    // The second request carried the bad reply and the violations back to the model.
    let second = &mock.requests()[1];
    assert_eq!(second.messages.len(), 4);
    assert_eq!(second.messages[2].role, Role::Assistant);
    assert!(second.messages[3].text().contains("at /minutes"), "{}", second.messages[3].text());
    let (a, b) = (out.attempts[0].usage.unwrap(), out.attempts[1].usage.unwrap());
    assert_eq!(out.usage.prompt_tokens, a.prompt_tokens + b.prompt_tokens);
    assert_eq!(out.usage.completion_tokens, a.completion_tokens + b.completion_tokens);
    assert!(b.prompt_tokens > a.prompt_tokens, "the repair turn is longer");
}

#[tokio::test]
async fn never_valid_gives_every_attempt() {
    let mock = MockProvider::new()
        .with_reply(MockReply::text("Sure! Here is your meeting."))
        .with_reply(MockReply::text(format!("```json\n{VALID}\n```")))
        .with_reply(MockReply::text(r#"{"title":"Standup"}"#));
    let e = generate::<Meeting, _>(&mock, request(), &Options::new(Strategy::Prompted)).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Exhausted);
    assert_eq!(e.attempts().len(), 3);
    assert!(matches!(e.attempts()[0], ReplyProblem::NotJson { .. }));
    assert_eq!(e.attempts()[1], ReplyProblem::CodeFenced);
    assert!(matches!(e.attempts()[2], ReplyProblem::Invalid { .. }));
    assert_eq!(e.violations().count(), 2, "minutes and attendees are missing");
    assert_eq!(e.usage().map(|u| u.total_tokens > 0), Some(true));
    insta::assert_json_snapshot!("exhausted_attempts", e.attempts());
    assert_eq!(mock.calls(), 3);
}

#[tokio::test]
async fn code_fences_can_be_accepted() {
    let mock = MockProvider::new().with_reply(MockReply::text(format!("```json\n{VALID}\n```")));
    let opts = Options::new(Strategy::Prompted).with_accept_code_fences(true);
    let out = generate::<Meeting, _>(&mock, request(), &opts).await.unwrap();
    assert_eq!(out.value.minutes, 15);
}

#[tokio::test]
async fn truncated_reply_is_distinct() {
    let cut = &VALID[..30];
    let mut usage = Usage::new(50, 30);
    usage.total_tokens = 80;
    let mock = MockProvider::new().with_reply(MockReply::TextWithUsage(cut.into(), usage));
    // The mock reports `stop`; build a length-limited response by hand through read_reply instead.
    let spec = SchemaSpec::of::<Meeting>().unwrap();
    let mut resp = llm_core::openai::response_from_json(
        format!(
            r#"{{"id":"x","model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":{}}},"finish_reason":"length"}}]}}"#,
            serde_json::to_string(cut).unwrap()
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(llm_schema::read_reply(&resp, &spec, Strategy::Native, false), Err(ReplyProblem::Truncated));
    resp.choices[0].finish_reason = Some(llm_core::FinishReason::Stop);
    assert!(matches!(llm_schema::read_reply(&resp, &spec, Strategy::Native, false), Err(ReplyProblem::NotJson { .. })));
    drop(mock);
}

#[tokio::test]
async fn tool_strategy_reads_arguments_and_repairs_with_a_tool_result() {
    let mock = MockProvider::new()
        .with_reply(MockReply::ToolCall { name: "Meeting".into(), arguments: r#"{"title":"Standup"}"#.into() })
        .with_reply(MockReply::ToolCall { name: "Meeting".into(), arguments: VALID.into() });
    let out = generate::<Meeting, _>(&mock, request(), &Options::new(Strategy::ToolCall)).await.unwrap();
    assert_eq!(out.value.title, "Standup");
    assert_eq!(out.strategy, Strategy::ToolCall);
    let second = &mock.requests()[1];
    let last = second.messages.last().unwrap();
    assert_eq!(last.role, Role::Tool);
    assert_eq!(last.tool_call_id.as_deref(), Some("call_mock_1"));
}

#[tokio::test]
async fn auto_resolves_from_capabilities() {
    let mock = MockProvider::new().with_reply(MockReply::text(VALID));
    let opts = Options::new(Strategy::Auto).with_capabilities(Capabilities::new(false, false, true));
    let out = generate::<Meeting, _>(&mock, request(), &opts).await.unwrap();
    assert_eq!(out.strategy, Strategy::Prompted);
    assert_eq!(mock.requests()[0].response_format, Some(ResponseFormat::JsonObject));
}

#[tokio::test]
async fn provider_errors_pass_through_with_spend_so_far() {
    let mock =
        MockProvider::new().with_reply(MockReply::text("not json")).with_reply(MockReply::Error(MockError::Overloaded));
    let e = generate::<Meeting, _>(&mock, request(), &Options::new(Strategy::Native)).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Provider);
    assert_eq!(e.provider_error().map(|p| p.kind().clone()), Some(llm_core::ErrorKind::Overloaded));
    assert_eq!(e.attempts().len(), 1);
    assert!(e.usage().is_some());
}

#[tokio::test]
async fn non_object_roots_are_wrapped_and_unwrapped() {
    let spec = SchemaSpec::new("tags", json!({"type": "array", "items": {"type": "string"}, "minItems": 1})).unwrap();
    assert!(!spec.root_is_object());
    assert_eq!(spec.wire_schema()["properties"]["value"]["type"], "array");
    let mock = MockProvider::new()
        .with_reply(MockReply::text(r#"{"value": []}"#))
        .with_reply(MockReply::text(r#"{"value": ["a", "b"]}"#));
    let out = generate_value(&mock, request(), &spec, &Options::new(Strategy::Native)).await.unwrap();
    assert_eq!(out.json, json!(["a", "b"]));
    assert_eq!(out.attempts.len(), 2);
}

#[test]
fn costs_add_up_with_the_weakest_status() {
    let priced = |input: &str| {
        let mut b = CostBreakdown::default();
        b.input = input.parse().unwrap();
        Cost::new(CostStatus::Priced, b).with_catalog("gpt-4o", "litellm-1.110.2")
    };
    let a = priced("0.001");
    let b = priced("0.002");
    let total = llm_schema::sum_costs([Some(&a), Some(&b)]).unwrap();
    assert_eq!(total.status, CostStatus::Priced);
    assert_eq!(total.prompt_cost().to_string(), "0.003");
    let unknown = Cost::unknown(CostStatus::UnknownModel);
    assert_eq!(llm_schema::sum_costs([Some(&a), Some(&unknown)]).unwrap().status, CostStatus::UnknownModel);
    assert_eq!(llm_schema::sum_costs([Some(&a), None]).unwrap().status, CostStatus::Unpriced);
    assert_eq!(llm_schema::sum_costs([]), None);
}

//! Known token counts. Every number here was computed outside this project and pinned: texts with Python
//! tiktoken 0.14 (`len(enc.encode(text, disallowed_special=()))`, over the vocabulary files LiteLLM bundles and
//! tiktoken checks by SHA-256), chat requests with LiteLLM 1.110.2's `token_counter` (LITELLM_LOCAL_MODEL_COST_MAP=True).
#![allow(clippy::unwrap_used)]

use llm_core::{ChatRequest, ContentPart, Message, Role, Tool, ToolCall, ToolChoice};
use llm_tokens::{Encoding, TokenCount, Tokenizer, count_request, count_text, token_counter};
use serde_json::json;

/// (text, o200k_base, cl100k_base), from Python tiktoken.
const TEXTS: &[(&str, u64, u64)] = &[
    ("Hello world", 2, 2),
    ("The quick brown fox jumps over the lazy dog.", 10, 10),
    ("Grüße aus München! 東京は晴れです。", 12, 15),
    (r#"{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}"#, 17, 17),
    ("  leading and trailing spaces  \n\n\tTabs and\r\nCRLF   ", 13, 13),
    ("👋🏽 hello 🌍!", 8, 11),
    ("fn main() {\n    println!(\"{}\", 1 + 2);\n}\n", 14, 14),
    ("a <|endoftext|> b", 9, 8),
    ("", 0, 0),
];

#[test]
fn texts_match_tiktoken() {
    for (text, o200k, cl100k) in TEXTS {
        assert_eq!(Encoding::O200kBase.count(text), *o200k, "o200k_base {text:?}");
        assert_eq!(Encoding::Cl100kBase.count(text), *cl100k, "cl100k_base {text:?}");
    }
}

/// 37,889 characters: tiktoken counts 8,400 with either encoding. LiteLLM 1.110.2's `token_counter` says 8,437
/// (gpt-4o) and 8,439 (gpt-4): it encodes in 1,024-character chunks, each cut adding up to a token; this crate
/// encodes the whole text.
#[test]
fn long_texts_are_counted_whole() {
    let long: String = (0..400)
        .map(|i| {
            format!(
                "Sentence number {i} talks about token counting, budgets and the context window of model gpt-{}.",
                i % 7
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(long.chars().count(), 37_889);
    assert_eq!(count_text("gpt-4o", &long), TokenCount::new(8400, true));
    assert_eq!(count_text("gpt-4", &long), TokenCount::new(8400, true));
    let mixed = "Les élèves ont écrit: «Привет, мир!» — 日本語のテキストも少し。 ".repeat(50);
    assert_eq!(mixed.chars().count(), 2600);
    assert_eq!(Encoding::O200kBase.count(&mixed), 1101);
    assert_eq!(Encoding::Cl100kBase.count(&mixed), 1451);
}

#[test]
fn non_openai_models_are_approximated() {
    assert_eq!(count_text("claude-sonnet-4-5", "Grüße aus München! 東京は晴れです。"), TokenCount::new(15, false));
    assert_eq!(count_text("gemini/gemini-2.5-flash", "Hello world"), TokenCount::new(2, false));
}

fn basic() -> Vec<Message> {
    vec![Message::system("You are a helpful assistant."), Message::user("What is the capital of France?")]
}

fn weather() -> Tool {
    Tool::function(
        "get_weather",
        "Get the current weather in a city",
        json!({"type": "object", "properties": {
            "city": {"type": "string", "description": "The city"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
        }, "required": ["city"]}),
    )
}

#[test]
fn messages_match_litellm() {
    // Every model of the list gets the same framing (3 per message, 1 per name, 3 for the reply).
    for model in
        ["gpt-4o", "gpt-4", "gpt-5", "o3-mini", "gpt-4.1", "azure/gpt-4o", "openai/gpt-4o", "text-embedding-3-small"]
    {
        assert_eq!(token_counter(model, &basic()), TokenCount::new(24, true), "{model}");
        assert_eq!(token_counter(model, &[Message::user("Hi").with_name("alice")]).tokens, 10, "{model}");
    }
    assert_eq!(token_counter("gemini/gemini-2.5-flash", &basic()), TokenCount::new(24, false));
    assert_eq!(token_counter("gpt-4o", &[]), TokenCount::new(3, true));

    let turn = vec![
        Message::user("Weather in Paris?"),
        Message::assistant_tool_calls(vec![ToolCall::new("call_1", "get_weather", r#"{"city":"Paris"}"#)]),
        Message::tool_result("call_1", "18 degrees, sunny"),
    ];
    assert_eq!(token_counter("gpt-4o", &turn), TokenCount::new(31, true));

    let multilingual = vec![
        Message::new(Role::Developer, "Réponds en français, brièvement."),
        Message::user("東京の天気はどうですか？ 👋🏽").with_name("bob"),
        Message::assistant("Il fait beau à Tokyo."),
    ];
    assert_eq!(token_counter("gpt-4o", &multilingual).tokens, 45);
    assert_eq!(token_counter("gpt-4", &multilingual).tokens, 50);
    assert_eq!(token_counter("gemini/gemini-2.5-flash", &multilingual), TokenCount::new(50, false));
}

#[test]
fn tools_and_tool_choice_match_litellm() {
    for (model, with_tools, with_choice) in [("gpt-4o", 73, 76), ("gpt-4", 75, 78), ("gemini/gemini-2.5-flash", 75, 78)]
    {
        let req = ChatRequest::new(model, basic()).with_tool(weather());
        assert_eq!(count_request(&req), TokenCount::new(with_tools, false), "{model}: tool definitions are estimated");
        let req = ChatRequest::new(model, basic()[1..].to_vec())
            .with_tool(weather())
            .with_tool_choice(ToolChoice::Function("get_weather".into()));
        assert_eq!(count_request(&req).tokens, with_choice, "{model}");
    }
    let search = Tool::function(
        "search",
        "Search the catalog",
        json!({"type": "object", "properties": {
            "query": {"type": "string"},
            "filters": {"type": "object", "description": "Narrow it", "properties": {
                "tags": {"type": "array", "items": {"type": "string"}},
                "max_price": {"type": "number"},
                "in_stock": {"type": "boolean"}
            }, "required": ["tags"]},
            "limit": {"type": "integer", "enum": [10, 20]},
            "mode": {}
        }, "required": ["query"]}),
    );
    let ping = Tool::function("ping", "", json!({"type": "object", "properties": {}}));
    assert_eq!(
        llm_tokens::format_function_definitions(&[search.clone(), ping.clone()]),
        "namespace functions {\n\n// Search the catalog\ntype search = (_: {\nquery: string,\n// Narrow it\nfilters?: {\n  \
         tags: string[],\n  max_price?: number,\n  in_stock?: boolean,\n},\nlimit?: \"10\" | \"20\",\nmode?: any,\n}) => \
         any;\n\ntype ping = () => any;\n\n} // namespace functions"
    );
    let user = Message::user("東京の天気はどうですか？ 👋🏽").with_name("bob");
    for (model, nested, none) in [("gpt-4o", 100, 101), ("gpt-4", 106, 107)] {
        let req = ChatRequest::new(model, vec![user.clone()]).with_tool(search.clone()).with_tool(ping.clone());
        assert_eq!(count_request(&req).tokens, nested, "{model}");
        assert_eq!(count_request(&req.with_tool_choice(ToolChoice::None)).tokens, none, "{model}");
    }
}

fn png(w: u32, h: u32) -> String {
    use base64::Engine as _;
    let mut raw = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    raw.extend(w.to_be_bytes());
    raw.extend(h.to_be_bytes());
    raw.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(raw))
}

#[test]
fn images_match_litellm() {
    let mut low = ContentPart::image_url("https://example.com/dog.png");
    if let ContentPart::Image { detail, .. } = &mut low {
        *detail = Some("low".into());
    }
    let mut high = ContentPart::image_url(&png(4000, 1000));
    if let ContentPart::Image { detail, .. } = &mut high {
        *detail = Some("high".into());
    }
    let parts = vec![
        ContentPart::text("What is in these images?"),
        ContentPart::image_url("https://example.com/cat.png"),
        low,
        ContentPart::image_url(&png(1024, 1024)),
        high,
    ];
    // Each part alone in a user message, then all of them.
    for (part, tokens) in parts.iter().zip([13, 92, 92, 772, 772]) {
        assert_eq!(token_counter("gpt-4o", &[Message::user_parts(vec![part.clone()])]).tokens, tokens, "{part:?}");
    }
    assert_eq!(token_counter("gpt-4o", &[Message::user_parts(parts)]), TokenCount::new(1713, false));
    let text_only =
        token_counter("gpt-4o", &[Message::user_parts(vec![ContentPart::text("What is in these images?")])]);
    assert!(text_only.exact, "text parts are exact");
}

#[test]
fn tokenizers_load_once_and_say_so() {
    Encoding::Cl100kBase.preload();
    assert!(Encoding::Cl100kBase.is_loaded());
    assert_eq!(Encoding::from_name("o200k_base"), Some(Encoding::O200kBase));
    assert_eq!(Encoding::from_name("p50k_base"), None);
    assert_eq!(Tokenizer::for_model("gpt-4o").encoding.name(), "o200k_base");
}

/// Which tokenizer counts which model name, and whether the count is exact: the table a reviewer reads.
#[test]
fn tokenizer_of_model_names() {
    let names = [
        "gpt-4o",
        "openai/gpt-4o-mini",
        "azure/gpt-4.1",
        "gpt-5",
        "o3-mini",
        "gpt-oss-120b",
        "gpt-4",
        "gpt-3.5-turbo",
        "azure/gpt-35-turbo",
        "text-embedding-3-small",
        "claude-sonnet-4-5",
        "gemini/gemini-2.5-flash",
        "bedrock/anthropic.claude-3-haiku",
        "groq/llama-3.1-8b-instant",
        "openrouter/openai/gpt-4o",
    ];
    let table: Vec<String> = names
        .iter()
        .map(|m| {
            let t = Tokenizer::for_model(m);
            format!("{m:34} {:?} exact={}", t.encoding, t.exact)
        })
        .collect();
    insta::assert_snapshot!(table.join("\n"));
}

//! LiteLLM's `token_counter` for chat: messages with their framing, tool definitions, tool choice, images.

use llm_core::{ChatRequest, Content, ContentPart, ImageSource, Message, Tool, ToolChoice};
use serde_json::Value;

use crate::{Tokenizer, image};

/// Tokens every message costs beyond its text (`<|start|>{role}\n ... <|end|>\n`), OpenAI's published count.
pub const TOKENS_PER_MESSAGE: u64 = 3;
/// Tokens a message's `name` costs beyond its text.
pub const TOKENS_PER_NAME: u64 = 1;
/// Tokens that prime the reply (`<|start|>assistant<|message|>`).
pub const REPLY_PRIMING_TOKENS: u64 = 3;

/// A number of tokens, and whether it is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TokenCount {
    /// The tokens.
    pub tokens: u64,
    /// True when the model's own tokenizer counted plain text only; false when the tokenizer is an
    /// approximation (not an OpenAI model) or something was estimated (an image, a file, audio, tool
    /// definitions).
    pub exact: bool,
}

impl TokenCount {
    /// A count.
    pub fn new(tokens: u64, exact: bool) -> Self {
        Self { tokens, exact }
    }
}

/// Counts the tokens of a text for a model.
///
/// ```
/// let n = llm_tokens::count_text("gpt-4o", "Hello world");
/// assert_eq!((n.tokens, n.exact), (2, true));
/// ```
pub fn count_text(model: &str, text: &str) -> TokenCount {
    let t = Tokenizer::for_model(model);
    TokenCount::new(t.count(text), t.exact)
}

/// LiteLLM's `token_counter(model, messages)`: the prompt tokens of a conversation, framing included (3 per
/// message, 1 per `name`, 3 to prime the reply).
///
/// ```
/// use llm_core::Message;
///
/// let messages = [Message::system("You are a helpful assistant."), Message::user("What is the capital of France?")];
/// let n = llm_tokens::token_counter("gpt-4o", &messages);
/// assert_eq!((n.tokens, n.exact), (24, true));
/// ```
pub fn token_counter(model: &str, messages: &[Message]) -> TokenCount {
    Counter::new(Tokenizer::for_model(model)).messages(messages).reply().finish()
}

/// The prompt tokens of a request for its model: its messages, its tool definitions and its tool choice, as
/// LiteLLM's `token_counter(model, messages, tools=..., tool_choice=...)` counts them. A response schema is not
/// counted (LiteLLM does not count it either).
pub fn count_request(request: &ChatRequest) -> TokenCount {
    count_request_with(Tokenizer::for_model(request.model.as_str()), request)
}

/// [`count_request`] with a given tokenizer (a resolved route's: [`Tokenizer::for_route`]).
pub fn count_request_with(tokenizer: Tokenizer, request: &ChatRequest) -> TokenCount {
    let has_system = request.messages.iter().any(|m| m.role.as_str() == "system");
    Counter::new(tokenizer)
        .messages(&request.messages)
        .reply()
        .tools(&request.tools, has_system)
        .tool_choice(request.tool_choice.as_ref())
        .finish()
}

/// Adds up tokens; any estimated piece makes the total inexact.
struct Counter {
    tokenizer: Tokenizer,
    tokens: u64,
    exact: bool,
}

impl Counter {
    fn new(tokenizer: Tokenizer) -> Self {
        Self { tokenizer, tokens: 0, exact: tokenizer.exact }
    }

    fn text(&mut self, text: &str) {
        self.tokens += self.tokenizer.count(text);
    }

    fn estimated(&mut self, tokens: u64) {
        self.tokens += tokens;
        self.exact = false;
    }

    /// Every string of a message as LiteLLM sees the OpenAI message dict: role, content, name (plus one),
    /// tool_call_id, and the arguments of each tool call (names are counted with the tool definitions).
    fn messages(mut self, messages: &[Message]) -> Self {
        for m in messages {
            self.tokens += TOKENS_PER_MESSAGE;
            self.text(m.role.as_str());
            match &m.content {
                Some(Content::Text(t)) => self.text(t),
                Some(Content::Parts(parts)) => parts.iter().for_each(|p| self.part(p)),
                None => {}
            }
            if let Some(name) = &m.name {
                self.text(name);
                self.tokens += TOKENS_PER_NAME;
            }
            if let Some(id) = &m.tool_call_id {
                self.text(id);
            }
            for call in &m.tool_calls {
                self.text(&call.arguments);
            }
        }
        self
    }

    fn part(&mut self, part: &ContentPart) {
        match part {
            ContentPart::Text { text } => self.text(text),
            ContentPart::Image { source, detail } => {
                let inline = match source {
                    ImageSource::Base64 { data, .. } => Some(data.as_str()),
                    ImageSource::Url { url } => url.split_once(";base64,").map(|(_, d)| d),
                    _ => None,
                };
                self.estimated(image::tokens(inline, detail.as_deref()));
            }
            ContentPart::File { filename, .. } => {
                // LiteLLM reads a PDF's pages; without a PDF reader the file counts as its name and one image.
                if let Some(name) = filename {
                    self.text(name);
                }
                self.estimated(image::BASE_TOKENS);
            }
            // Audio (which LiteLLM refuses to count) and parts added later: nothing counted, and said so.
            _ => self.exact = false,
        }
    }

    fn reply(mut self) -> Self {
        self.tokens += REPLY_PRIMING_TOKENS;
        self
    }

    /// Tool definitions rendered the way OpenAI appears to render them for the model (LiteLLM's
    /// `_format_function_definitions`, after jtokkit), plus 9, less 4 when a system message is present.
    fn tools(mut self, tools: &[Tool], has_system: bool) -> Self {
        if tools.is_empty() {
            return self;
        }
        let rendered = self.tokenizer.count(&format_function_definitions(tools));
        self.estimated((rendered + 9).saturating_sub(if has_system { 4 } else { 0 }));
        self
    }

    fn tool_choice(mut self, choice: Option<&ToolChoice>) -> Self {
        match choice {
            Some(ToolChoice::None) => self.estimated(1),
            Some(ToolChoice::Function(name)) => {
                let n = self.tokenizer.count(name);
                self.estimated(7 + n);
            }
            _ => {}
        }
        self
    }

    fn finish(self) -> TokenCount {
        TokenCount::new(self.tokens, self.exact)
    }
}

/// The TypeScript-like namespace OpenAI renders function tools into, as LiteLLM writes it.
pub fn format_function_definitions(tools: &[Tool]) -> String {
    let mut lines = vec!["namespace functions {".to_owned(), String::new()];
    for tool in tools.iter().filter(|t| !t.name.is_empty()) {
        let description = tool.description.as_deref().filter(|d| !d.is_empty());
        if let Some(d) = description {
            lines.push(format!("// {d}"));
        }
        let has_properties =
            tool.parameters.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty());
        if has_properties {
            lines.push(format!("type {} = (_: {{", tool.name));
            lines.push(format_object_parameters(&tool.parameters, 0));
            lines.push("}) => any;".to_owned());
        } else {
            lines.push(format!("type {} = () => any;", tool.name));
        }
        lines.push(String::new());
    }
    lines.push("} // namespace functions".to_owned());
    lines.join("\n")
}

/// How deep nested object schemas are rendered (deeper ones render as `any`); bounds the work on hostile input.
const MAX_SCHEMA_DEPTH: usize = 32;

fn format_object_parameters(parameters: &Value, indent: usize) -> String {
    let Some(properties) = parameters.get("properties").and_then(Value::as_object).filter(|p| !p.is_empty()) else {
        return String::new();
    };
    let required: Vec<&str> = parameters
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut lines = Vec::new();
    for (key, props) in properties {
        if let Some(d) = props.get("description").and_then(Value::as_str).filter(|d| !d.is_empty()) {
            lines.push(format!("// {d}"));
        }
        let question = if required.contains(&key.as_str()) { "" } else { "?" };
        lines.push(format!("{key}{question}: {},", format_type(props, indent)));
    }
    let pad = " ".repeat(indent);
    lines.iter().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}

fn format_type(props: &Value, indent: usize) -> String {
    if indent / 2 > MAX_SCHEMA_DEPTH {
        return "any".to_owned();
    }
    let enum_values = || {
        props.get("enum").and_then(Value::as_array).map(|items| {
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => format!("\"{s}\""),
                    other => format!("\"{other}\""),
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
    };
    match props.get("type").and_then(Value::as_str) {
        Some("string") => enum_values().unwrap_or_else(|| "string".to_owned()),
        Some("array") => {
            format!("{}[]", props.get("items").map_or_else(|| "any".to_owned(), |i| format_type(i, indent)))
        }
        Some("object") => format!("{{\n{}\n}}", format_object_parameters(props, indent + 2)),
        Some("integer" | "number") => enum_values().unwrap_or_else(|| "number".to_owned()),
        Some("boolean") => "boolean".to_owned(),
        Some("null") => "null".to_owned(),
        _ => "any".to_owned(),
    }
}

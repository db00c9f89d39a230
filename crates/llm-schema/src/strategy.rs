//! How a call asks for structured output, and how the reply is read back.

use llm_core::{ChatRequest, ChatResponse, FinishReason, Message, ResponseFormat, Role, Tool, ToolChoice};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ReplyProblem;
use crate::spec::SchemaSpec;

/// How to get structured output from a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Strategy {
    /// Choose from the model's capabilities: native, else a forced tool call, else prompted JSON.
    Auto,
    /// The provider's own schema enforcement (OpenAI `json_schema` strict, Gemini `responseJsonSchema`,
    /// Anthropic `output_format`, Ollama `format`, Bedrock output config): sent as
    /// [`ResponseFormat::JsonSchema`], which each provider's encoder rewrites into its dialect.
    Native,
    /// A tool whose parameters are the schema, with the call forced; the arguments are the value.
    ToolCall,
    /// The schema in a system message, with JSON mode where the model has it.
    Prompted,
}

impl Strategy {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Native => "native",
            Self::ToolCall => "tool_call",
            Self::Prompted => "prompted",
        }
    }
}

/// What the model can do, as far as structured output cares (from the catalog's capability flags and the
/// provider's support).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// The provider enforces a JSON schema natively for this model.
    pub response_schema: bool,
    /// The model calls tools and accepts a forced `tool_choice`.
    pub tool_calls: bool,
    /// The model has a JSON mode (`response_format: json_object`).
    pub json_mode: bool,
}

impl Capabilities {
    /// Capabilities with these flags.
    pub fn new(response_schema: bool, tool_calls: bool, json_mode: bool) -> Self {
        Self { response_schema, tool_calls, json_mode }
    }

    /// Resolves [`Strategy::Auto`]: native when the schema is enforced, else a forced tool call, else prompted.
    /// An explicit strategy is kept as it is.
    pub fn choose(&self, wanted: Strategy) -> Strategy {
        match wanted {
            Strategy::Auto if self.response_schema => Strategy::Native,
            Strategy::Auto if self.tool_calls => Strategy::ToolCall,
            Strategy::Auto => Strategy::Prompted,
            explicit => explicit,
        }
    }
}

/// The system text of the prompted strategy.
pub fn prompt_text(spec: &SchemaSpec) -> String {
    let mut text = String::from("Reply with one JSON value and nothing else: no prose, no Markdown code fences.");
    if let Some(d) = spec.description() {
        text.push_str(&format!(" The value is {d}."));
    }
    text.push_str(" It must follow this JSON schema:\n");
    text.push_str(&spec.schema().to_string());
    text
}

/// Rewrites a request to ask for `spec` with a resolved strategy (not `Auto`).
pub fn prepare(mut request: ChatRequest, spec: &SchemaSpec, strategy: Strategy, caps: &Capabilities) -> ChatRequest {
    match strategy {
        Strategy::Native | Strategy::Auto => {
            request.response_format = Some(spec.response_format());
        }
        Strategy::ToolCall => {
            let mut tool = Tool::function(
                spec.name(),
                spec.description().unwrap_or("Return the structured result by calling this function."),
                spec.wire_schema(),
            );
            // Strict tool schemas come with the same generation of models as native schema enforcement; an
            // older model that needs the tool path would reject `strict`, so it is only asked for where the
            // provider also enforces schemas natively.
            tool.strict = caps.response_schema.then_some(true);
            request.tools.retain(|t| t.name != spec.name());
            request.tools.push(tool);
            request.tool_choice = Some(ToolChoice::Function(spec.name().to_owned()));
            request.response_format = None;
        }
        Strategy::Prompted => {
            let at = request.messages.iter().take_while(|m| m.role == Role::System).count();
            request.messages.insert(at, Message::system(prompt_text(spec)));
            request.response_format = caps.json_mode.then_some(ResponseFormat::JsonObject);
        }
    }
    request
}

/// Strips one Markdown code fence around the whole text, if there is one.
pub fn strip_code_fence(text: &str) -> Option<&str> {
    let t = text.trim();
    let rest = t.strip_prefix("```")?;
    let body_start = rest.find('\n')?;
    let body = rest[body_start + 1..].trim_end();
    body.strip_suffix("```").map(str::trim)
}

/// Reads the value a reply carries under a strategy, before validation.
///
/// `accept_fences` decides whether JSON inside a Markdown code fence is taken (else it is
/// [`ReplyProblem::CodeFenced`]).
pub fn read_reply(
    response: &ChatResponse,
    spec: &SchemaSpec,
    strategy: Strategy,
    accept_fences: bool,
) -> Result<Value, ReplyProblem> {
    let choice = response.choices.first();
    let truncated = response.finish_reason() == Some(&FinishReason::Length);
    let text = match strategy {
        Strategy::ToolCall => {
            let call = response.tool_calls().iter().find(|c| c.name == spec.name()).or(response.tool_calls().first());
            match call {
                Some(c) => c.arguments.clone(),
                None if truncated => return Err(ReplyProblem::Truncated),
                None => return Err(ReplyProblem::NoToolCall),
            }
        }
        _ => {
            if let Some(refusal) = choice.and_then(|c| c.message.refusal.clone()).filter(|r| !r.is_empty()) {
                return Err(ReplyProblem::Refusal { text: refusal });
            }
            response.text()
        }
    };
    let parsed = match serde_json::from_str::<Value>(text.trim()) {
        Ok(v) => v,
        Err(e) => {
            if let Some(inner) = strip_code_fence(&text) {
                if let Ok(v) = serde_json::from_str::<Value>(inner) {
                    if accept_fences {
                        v
                    } else {
                        return Err(ReplyProblem::CodeFenced);
                    }
                } else if truncated {
                    return Err(ReplyProblem::Truncated);
                } else {
                    return Err(ReplyProblem::NotJson { detail: e.to_string() });
                }
            } else if truncated || e.is_eof() {
                if truncated {
                    return Err(ReplyProblem::Truncated);
                }
                return Err(ReplyProblem::NotJson { detail: e.to_string() });
            } else {
                return Err(ReplyProblem::NotJson { detail: e.to_string() });
            }
        }
    };
    Ok(spec.unwrap_value(parsed))
}

/// The messages that tell the model what was wrong with its reply, appended to the conversation for the next
/// attempt: the assistant's turn as it was, then the feedback (a tool result under the tool strategy, else a
/// user message).
pub fn repair_messages(response: &ChatResponse, strategy: Strategy, problem: &ReplyProblem) -> Vec<Message> {
    let feedback = match problem {
        ReplyProblem::Invalid { violations } => {
            let mut s = String::from("That JSON does not follow the schema. Fix these errors and reply again:\n");
            for v in violations {
                s.push_str(&format!("- {v}\n"));
            }
            s
        }
        ReplyProblem::CodeFenced => {
            "Reply again with the JSON value alone, without Markdown code fences or any other text.".to_owned()
        }
        ReplyProblem::Truncated => {
            "Your reply was cut off before the JSON ended. Reply again with a shorter, complete JSON value.".to_owned()
        }
        other => format!("{other}. Reply again with only a JSON value that follows the schema."),
    };
    let assistant = response.choices.first().map(|c| c.message.clone());
    match (strategy, assistant) {
        (Strategy::ToolCall, Some(a)) if !a.tool_calls.is_empty() => {
            let id = a.tool_calls[0].id.clone();
            vec![a, Message::tool_result(id, feedback)]
        }
        (_, Some(a)) if a.tool_calls.is_empty() => vec![a, Message::user(feedback)],
        _ => vec![Message::user(feedback)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences() {
        assert_eq!(strip_code_fence("```json\n{\"a\":1}\n```"), Some("{\"a\":1}"));
        assert_eq!(strip_code_fence("  ```\n[1]\n```  "), Some("[1]"));
        assert_eq!(strip_code_fence("{\"a\":1}"), None);
        assert_eq!(strip_code_fence("```json {\"a\":1}```"), None);
    }

    #[test]
    fn auto_prefers_native_then_tools_then_prompt() {
        assert_eq!(Capabilities::new(true, true, true).choose(Strategy::Auto), Strategy::Native);
        assert_eq!(Capabilities::new(false, true, true).choose(Strategy::Auto), Strategy::ToolCall);
        assert_eq!(Capabilities::new(false, false, true).choose(Strategy::Auto), Strategy::Prompted);
        assert_eq!(Capabilities::new(true, true, true).choose(Strategy::Prompted), Strategy::Prompted);
    }
}

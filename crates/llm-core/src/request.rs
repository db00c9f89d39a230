//! The chat request and its OpenAI-style parameters.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::ids::ModelId;
use crate::message::Message;
use crate::vocab::string_enum;

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tool {
    /// The function's name.
    pub name: String,
    /// What it does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its parameters as a JSON schema.
    pub parameters: Value,
    /// OpenAI's strict mode for the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl Tool {
    /// A function tool.
    pub fn function(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self { name: name.into(), description: Some(description.into()), parameters, strict: None }
    }

    /// Sets strict mode.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = Some(strict);
        self
    }
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool call.
    None,
    /// At least one tool call.
    Required,
    /// This function must be called.
    Function(String),
}

/// A JSON schema the reply must follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonSchemaFormat {
    /// The schema's name (`[a-zA-Z0-9_-]`, at most 64 characters on OpenAI).
    pub name: String,
    /// What the output is, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON schema itself.
    pub schema: Value,
    /// Ask for strict enforcement where the provider offers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl JsonSchemaFormat {
    /// A schema format with this name and schema.
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        Self { name: name.into(), description: None, schema, strict: None }
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets strict mode.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = Some(strict);
        self
    }
}

/// The shape the reply must take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseFormat {
    /// Free text.
    Text,
    /// Any JSON object (JSON mode).
    JsonObject,
    /// JSON that follows a schema.
    JsonSchema(JsonSchemaFormat),
}

/// The builders of the fields every request type shares (`user`, `tags`, `metadata`, `extra`): who a call is
/// charged to, how it is tracked, and provider-specific body fields.
macro_rules! attribution_builders {
    () => {
        /// Sets the end user.
        #[must_use]
        pub fn with_user(mut self, user: impl Into<String>) -> Self {
            self.user = Some(user.into());
            self
        }

        /// Adds a tracking tag.
        #[must_use]
        pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
            self.tags.push(tag.into());
            self
        }

        /// Sets a tracking metadata entry.
        #[must_use]
        pub fn with_metadata(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
            self.metadata.insert(key.into(), value);
            self
        }

        /// Sets a provider-specific body field, passed through as it is.
        #[must_use]
        pub fn with_extra(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
            self.extra.insert(key.into(), value);
            self
        }
    };
}
pub(crate) use attribution_builders;

string_enum! {
    /// How hard a reasoning model thinks.
    pub enum ReasoningEffort {
        /// No reasoning, where the model allows it.
        None = "none",
        /// Minimal.
        Minimal = "minimal",
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Extra high.
        XHigh = "xhigh",
    }
}

string_enum! {
    /// The processing tier a call asks for; it changes the price on some providers.
    pub enum ServiceTier {
        /// The provider decides.
        Auto = "auto",
        /// The standard tier.
        Default = "default" | "standard",
        /// Slower and cheaper.
        Flex = "flex",
        /// Faster and dearer.
        Priority = "priority",
        /// OpenAI's scale tier.
        Scale = "scale",
    }
}

/// One chat completion request, in OpenAI's vocabulary, plus what tracking needs.
///
/// ```
/// use llm_core::{ChatRequest, Message};
/// let req = ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")])
///     .with_temperature(0.2)
///     .with_max_tokens(64)
///     .with_tag("demo");
/// assert_eq!(req.model, "gpt-4o-mini");
/// assert_eq!(req.max_tokens, Some(64));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The model, as the caller names it (possibly with a provider prefix).
    pub model: ModelId,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// The most output tokens (OpenAI's `max_completion_tokens`, or `max_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Seed for reproducible sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// How many choices to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Whether and which tool must be called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether several tool calls may come in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// The shape of the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Reasoning effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Service tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<ServiceTier>,
    /// The end user, passed to the provider for abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Tags for spend tracking; never sent to the provider.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Metadata for tracking (team, project, ...); never sent to the provider.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
    /// Provider-specific fields merged into the request body as they are.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// A request for `model` with these messages and no parameters.
    pub fn new(model: impl Into<ModelId>, messages: Vec<Message>) -> Self {
        Self {
            model: model.into(),
            messages,
            temperature: None,
            top_p: None,
            max_tokens: None,
            stop: Vec::new(),
            seed: None,
            n: None,
            presence_penalty: None,
            frequency_penalty: None,
            tools: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
            response_format: None,
            reasoning_effort: None,
            service_tier: None,
            user: None,
            tags: Vec::new(),
            metadata: BTreeMap::new(),
            extra: Map::new(),
        }
    }

    /// Replaces the model.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<ModelId>) -> Self {
        self.model = model.into();
        self
    }

    /// Appends a message.
    #[must_use]
    pub fn with_message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Sets the temperature.
    #[must_use]
    pub fn with_temperature(mut self, t: f64) -> Self {
        self.temperature = Some(t);
        self
    }

    /// Sets top_p.
    #[must_use]
    pub fn with_top_p(mut self, p: f64) -> Self {
        self.top_p = Some(p);
        self
    }

    /// Sets the most output tokens.
    #[must_use]
    pub fn with_max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }

    /// Sets the stop sequences.
    #[must_use]
    pub fn with_stop(mut self, stop: Vec<String>) -> Self {
        self.stop = stop;
        self
    }

    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, seed: i64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the number of choices.
    #[must_use]
    pub fn with_n(mut self, n: u32) -> Self {
        self.n = Some(n);
        self
    }

    /// Adds a tool.
    #[must_use]
    pub fn with_tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Sets the tool choice.
    #[must_use]
    pub fn with_tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// Allows or forbids parallel tool calls.
    #[must_use]
    pub fn with_parallel_tool_calls(mut self, on: bool) -> Self {
        self.parallel_tool_calls = Some(on);
        self
    }

    /// Sets the response format.
    #[must_use]
    pub fn with_response_format(mut self, format: ResponseFormat) -> Self {
        self.response_format = Some(format);
        self
    }

    /// Sets the reasoning effort.
    #[must_use]
    pub fn with_reasoning_effort(mut self, effort: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(effort);
        self
    }

    /// Sets the service tier.
    #[must_use]
    pub fn with_service_tier(mut self, tier: ServiceTier) -> Self {
        self.service_tier = Some(tier);
        self
    }

    crate::request::attribution_builders!();

    /// The names of the OpenAI-style parameters this request sets, in a fixed order (for checking them against
    /// what a provider supports).
    pub fn set_params(&self) -> Vec<&'static str> {
        let flags = [
            ("temperature", self.temperature.is_some()),
            ("top_p", self.top_p.is_some()),
            ("max_tokens", self.max_tokens.is_some()),
            ("stop", !self.stop.is_empty()),
            ("seed", self.seed.is_some()),
            ("n", self.n.is_some()),
            ("presence_penalty", self.presence_penalty.is_some()),
            ("frequency_penalty", self.frequency_penalty.is_some()),
            ("tools", !self.tools.is_empty()),
            ("tool_choice", self.tool_choice.is_some()),
            ("parallel_tool_calls", self.parallel_tool_calls.is_some()),
            ("response_format", self.response_format.is_some()),
            ("reasoning_effort", self.reasoning_effort.is_some()),
            ("service_tier", self.service_tier.is_some()),
            ("user", self.user.is_some()),
        ];
        flags.iter().filter(|(_, on)| *on).map(|(name, _)| *name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_params_lists_what_is_set() {
        let r = ChatRequest::new("m", vec![])
            .with_temperature(0.0)
            .with_stop(vec!["x".into()])
            .with_reasoning_effort(ReasoningEffort::High);
        assert_eq!(r.set_params(), vec!["temperature", "stop", "reasoning_effort"]);
        assert!(ChatRequest::new("m", vec![]).set_params().is_empty());
    }

    #[test]
    fn service_tier_aliases() {
        assert_eq!(ServiceTier::from("standard"), ServiceTier::Default);
        assert_eq!(ServiceTier::from("flex").as_str(), "flex");
    }
}

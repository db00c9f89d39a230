//! The chat response.

use serde::{Deserialize, Serialize};

use crate::cost::{Cost, Usd};
use crate::ids::ProviderId;
use crate::message::{Message, ToolCall};
use crate::report::{Adjustment, Retry, Routing};
use crate::usage::Usage;
use crate::vocab::string_enum;

string_enum! {
    /// Why the model stopped, normalized across providers (see PROVIDERS.md §1.2 in the design notes).
    pub enum FinishReason {
        /// A natural stop or a stop sequence.
        Stop = "stop",
        /// The output limit was reached.
        Length = "length",
        /// The model called tools.
        ToolCalls = "tool_calls" | "function_call",
        /// A safety filter stopped it.
        ContentFilter = "content_filter",
        /// The context window was exceeded while generating.
        ContextOverflow = "context_overflow",
        /// The provider reported an error in generation.
        Error = "error",
    }
}

/// One generated alternative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Choice {
    /// Its position.
    pub index: u32,
    /// The assistant message.
    pub message: Message,
    /// Why it stopped; `None` when the provider did not say (a cut-off stream).
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
}

impl Choice {
    /// A choice.
    pub fn new(index: u32, message: Message, finish_reason: Option<FinishReason>) -> Self {
        Self { index, message, finish_reason }
    }
}

/// The answer to a [`crate::ChatRequest`], the same whether it was streamed or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The provider's response id.
    pub id: String,
    /// The model that served the call, as the provider names it.
    pub model: String,
    /// The provider that served it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderId>,
    /// Unix seconds of creation, when the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The generated alternatives.
    pub choices: Vec<Choice>,
    /// Normalized usage; `None` only when the provider reported none at all.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// A cost the provider itself reported (OpenRouter's `usage.cost`, xAI's ticks), in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_cost: Option<Usd>,
    /// The priced cost, attached by llm-cost (or the tracking layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// The service tier that served the call, when the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// OpenAI's system fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The attempts that failed and were retried before this answer (empty when the first one answered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<Retry>,
    /// What was changed in the request before it was sent (parameters dropped or renamed, schema keywords
    /// rewritten for the provider's dialect); empty when it went out as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjustments: Vec<Adjustment>,
    /// Where the provider served the call, when it is chosen per call and changes the price (a Vertex AI
    /// location: a regional one applies the catalog row's uplift).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Top-level fields of the provider's own that the normalized shape has no place for, kept as sent:
    /// Perplexity's `citations`, `search_results`, `images` and `related_questions`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub provider_fields: serde_json::Map<String, serde_json::Value>,
    /// How a router served the call (deployment, every attempt, fallbacks, cache hit); `None` without a
    /// router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
}

impl ChatResponse {
    /// A response with these choices and usage.
    pub fn new(id: impl Into<String>, model: impl Into<String>, choices: Vec<Choice>, usage: Option<Usage>) -> Self {
        Self {
            id: id.into(),
            model: model.into(),
            provider: None,
            created: None,
            choices,
            usage,
            provider_cost: None,
            cost: None,
            service_tier: None,
            system_fingerprint: None,
            retries: Vec::new(),
            adjustments: Vec::new(),
            location: None,
            provider_fields: serde_json::Map::new(),
            routing: None,
        }
    }

    /// Sets the serving provider.
    #[must_use]
    pub fn with_provider(mut self, provider: impl Into<ProviderId>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Sets the provider-reported cost.
    #[must_use]
    pub fn with_provider_cost(mut self, cost: Usd) -> Self {
        self.provider_cost = Some(cost);
        self
    }

    /// Sets the priced cost.
    #[must_use]
    pub fn with_cost(mut self, cost: Cost) -> Self {
        self.cost = Some(cost);
        self
    }

    /// The text of the first choice, empty when there is none.
    pub fn text(&self) -> String {
        self.choices.first().map(|c| c.message.text()).unwrap_or_default()
    }

    /// The tool calls of the first choice.
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.choices.first().map(|c| c.message.tool_calls.as_slice()).unwrap_or(&[])
    }

    /// The finish reason of the first choice.
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.choices.first().and_then(|c| c.finish_reason.as_ref())
    }
}

//! Embedding requests and responses, in OpenAI's vocabulary (`/v1/embeddings`), plus what tracking needs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cost::{Cost, Usd};
use crate::ids::{ModelId, ProviderId};
use crate::report::{Adjustment, Retry};
use crate::usage::Usage;
use crate::vocab::string_enum;

string_enum! {
    /// How the provider sends the vectors over the wire. Only the wire changes: [`Embedding::vector`] is always
    /// `f32`s, decoded from base64 when the provider sent base64.
    pub enum EncodingFormat {
        /// JSON arrays of numbers.
        Float = "float",
        /// Base64 of the little-endian `f32` bytes (a quarter of the JSON's size).
        Base64 = "base64",
    }
}

/// One embedding request: one or many texts, in OpenAI's vocabulary, plus tags and metadata for tracking (the
/// same attribution keys as [`crate::ChatRequest::metadata`]).
///
/// ```
/// use llm_core::EmbeddingRequest;
/// let req = EmbeddingRequest::new("text-embedding-3-small", "hello").with_dimensions(256).with_tag("search");
/// assert_eq!(req.input, ["hello"]);
/// let many = EmbeddingRequest::many("text-embedding-3-small", ["a", "b"]);
/// assert_eq!(many.input.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingRequest {
    /// The model, with or without a provider prefix.
    pub model: ModelId,
    /// The texts to embed, in order; the response has one embedding per text with the same index.
    pub input: Vec<String>,
    /// The number of dimensions of each vector, where the model can shorten them (OpenAI's `dimensions`,
    /// Gemini's `outputDimensionality`, Titan v2's `dimensions`, Cohere v4's `output_dimension`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// The wire encoding of the vectors (OpenAI and the compatible family); other providers always send floats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<EncodingFormat>,
    /// An end-user id, sent to providers that take one (OpenAI's `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Tracking tags (never sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Tracking metadata (never sent): `user`, `team`, `project`, `end_user`, `trace_id`, anything else.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
    /// Provider-specific fields merged into the body as given (Gemini's `taskType`, Cohere's `input_type`,
    /// Ollama's `truncate`, ...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

impl EmbeddingRequest {
    /// A request for one text.
    pub fn new(model: impl Into<ModelId>, input: impl Into<String>) -> Self {
        Self::many(model, [input.into()])
    }

    /// A request for many texts.
    pub fn many<S: Into<String>>(model: impl Into<ModelId>, input: impl IntoIterator<Item = S>) -> Self {
        Self {
            model: model.into(),
            input: input.into_iter().map(Into::into).collect(),
            dimensions: None,
            encoding_format: None,
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

    /// Sets the output dimensions.
    #[must_use]
    pub fn with_dimensions(mut self, dimensions: u32) -> Self {
        self.dimensions = Some(dimensions);
        self
    }

    /// Sets the wire encoding.
    #[must_use]
    pub fn with_encoding_format(mut self, format: EncodingFormat) -> Self {
        self.encoding_format = Some(format);
        self
    }

    crate::request::attribution_builders!();

    /// An estimate of the input tokens when the provider reports none: one token per four characters of each
    /// text, rounded up (what budget reservations assume for chat too). Not a tokenizer.
    ///
    /// ```
    /// use llm_core::EmbeddingRequest;
    /// assert_eq!(EmbeddingRequest::many("m", ["abcde", "ab"]).estimated_tokens(), 3);
    /// ```
    pub fn estimated_tokens(&self) -> u64 {
        self.input.iter().map(|t| (t.chars().count() as u64).div_ceil(4)).sum()
    }
}

/// One vector of an [`EmbeddingResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Embedding {
    /// The index of its text in [`EmbeddingRequest::input`].
    pub index: u32,
    /// The vector.
    pub vector: Vec<f32>,
}

impl Embedding {
    /// An embedding of the text at `index`.
    pub fn new(index: u32, vector: Vec<f32>) -> Self {
        Self { index, vector }
    }
}

/// The answer to an [`EmbeddingRequest`]: one vector per input text, in input order, with normalized usage
/// (`prompt_tokens` = `total_tokens`, no completion tokens) and, once priced, the cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingResponse {
    /// The model the provider says served it (the requested one when it did not say).
    pub model: String,
    /// The provider that served it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderId>,
    /// One embedding per input text, sorted by index.
    pub data: Vec<Embedding>,
    /// Input tokens as the provider reported them (`None` when it reported nothing and no estimate was made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// `usage` is an estimate ([`EmbeddingRequest::estimated_tokens`]) because the provider reports no token
    /// count (Gemini's `embedContent`, Cohere on Bedrock without the token-count header).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub usage_estimated: bool,
    /// A cost the provider reported itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_cost: Option<Usd>,
    /// The priced cost, attached by the pricing layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// The HTTP attempts retried before the answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<Retry>,
    /// What was changed in the request before it was sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjustments: Vec<Adjustment>,
}

impl EmbeddingResponse {
    /// A response with these vectors and usage.
    pub fn new(model: impl Into<String>, data: Vec<Embedding>, usage: Option<Usage>) -> Self {
        Self {
            model: model.into(),
            provider: None,
            data,
            usage,
            usage_estimated: false,
            provider_cost: None,
            cost: None,
            retries: Vec::new(),
            adjustments: Vec::new(),
        }
    }

    /// Sets the provider.
    #[must_use]
    pub fn with_provider(mut self, provider: impl Into<ProviderId>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Sets the priced cost.
    #[must_use]
    pub fn with_cost(mut self, cost: Cost) -> Self {
        self.cost = Some(cost);
        self
    }

    /// The vectors, in input order.
    pub fn vectors(&self) -> impl Iterator<Item = &[f32]> {
        self.data.iter().map(|e| e.vector.as_slice())
    }

    /// Fills in an estimated usage when the provider reported none (see [`EmbeddingResponse::usage_estimated`]).
    pub fn estimate_usage_from(&mut self, request: &EmbeddingRequest) {
        if self.usage.is_none() {
            self.usage = Some(Usage::new(request.estimated_tokens(), 0));
            self.usage_estimated = true;
        }
    }
}

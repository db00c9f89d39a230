//! OpenAI's `POST /v1/embeddings`, shared by Azure, Mistral and the OpenAI-compatible family.
//!
//! Request: `{"model", "input": "text" | ["text", ...], "dimensions"?, "encoding_format"?: "float" | "base64",
//! "user"?}`. Answer: `{"object": "list", "data": [{"object": "embedding", "index", "embedding": [f32...] |
//! "base64"}], "model", "usage": {"prompt_tokens", "total_tokens"}}`.
//!
//! Mistral's dialect: `dimensions` is sent as `output_dimension` (codestral-embed) and `user` is not sent
//! (Mistral rejects unknown fields).

use llm_core::{Adjustment, EmbeddingRequest, EmbeddingResponse, Error, Result};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::embed::{EmbedAnswer, merge_extra, parse};

/// Which variant of the body a provider takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmbedDialect {
    /// OpenAI's own fields (OpenAI, Azure, the compatible family).
    OpenAi,
    /// Mistral's: `output_dimension`, no `user`.
    Mistral,
}

impl EmbedDialect {
    /// The dialect of a provider of the OpenAI family.
    pub fn of(provider: &str) -> Self {
        if provider == "mistral" { Self::Mistral } else { Self::OpenAi }
    }
}

/// The request body.
pub fn encode_request(request: &EmbeddingRequest, model: &str, dialect: EmbedDialect) -> Result<Vec<u8>> {
    let mut body = crate::embed::model_and_input(request, model);
    if let Some(d) = request.dimensions {
        let field = if dialect == EmbedDialect::Mistral { "output_dimension" } else { "dimensions" };
        body.insert(field.into(), json!(d));
    }
    if let Some(f) = &request.encoding_format {
        body.insert("encoding_format".into(), json!(f.as_str()));
    }
    if let Some(u) = &request.user
        && dialect == EmbedDialect::OpenAi
    {
        body.insert("user".into(), json!(u));
    }
    merge_extra(&mut body, request);
    Ok(serde_json::to_vec(&Value::Object(body))?)
}

/// What the dialect changes in the request.
pub fn adjustments(request: &EmbeddingRequest, dialect: EmbedDialect) -> Vec<Adjustment> {
    let mut out = Vec::new();
    if dialect == EmbedDialect::Mistral {
        if request.dimensions.is_some() {
            out.push(Adjustment::param_renamed("dimensions", "output_dimension"));
        }
        if request.user.is_some() {
            out.push(Adjustment::param_dropped("user", "mistral rejects fields it does not know"));
        }
    }
    out
}

#[derive(Deserialize)]
struct Wire {
    data: Vec<Item>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    index: Option<u32>,
    embedding: Vector,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Vector {
    Floats(Vec<f32>),
    Base64(String),
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

/// Reads the answer. Vectors are put in input order by their `index`; base64 vectors are decoded. Usage is
/// `prompt_tokens` (else `total_tokens`); with neither, the request's estimate, flagged.
pub fn decode_response(answers: &[EmbedAnswer], request: &EmbeddingRequest, model: &str) -> Result<EmbeddingResponse> {
    let [answer] = answers else {
        return Err(Error::decode(format!("expected one answer, got {}", answers.len())));
    };
    let wire: Wire = parse(&answer.body, "embeddings answer")?;
    let mut items = wire.data;
    items.sort_by_key(|i| i.index);
    let vectors = items
        .into_iter()
        .map(|i| match i.embedding {
            Vector::Floats(v) => Ok(v),
            Vector::Base64(s) => crate::embed::decode_base64_f32(&s),
        })
        .collect::<Result<Vec<_>>>()?;
    let tokens = wire.usage.and_then(|u| u.prompt_tokens.or(u.total_tokens));
    let served = wire.model.filter(|m| !m.is_empty());
    crate::embed::response(served.as_deref().unwrap_or(model), vectors, tokens, request)
}

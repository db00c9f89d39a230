//! Gemini embeddings: `POST /v1beta/models/{model}:embedContent` for one text,
//! `:batchEmbedContents` for many.
//!
//! One: `{"model": "models/{model}", "content": {"parts": [{"text"}]}, "outputDimensionality"?}` →
//! `{"embedding": {"values": [...]}}`. Many: `{"requests": [<one request per text>]}` →
//! `{"embeddings": [{"values": [...]}, ...]}`. The request's `extra` fields (`taskType`, `title`) go into each
//! per-text request. Neither answer counts tokens; a `usageMetadata.promptTokenCount`, should one come, is
//! read, and otherwise the usage is the request's estimate, flagged as such.

use llm_core::{EmbeddingRequest, EmbeddingResponse, Result};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::embed::{EmbedAnswer, merge_extra, parse};

/// The method for this request: `embedContent` (one text) or `batchEmbedContents`.
pub fn method(request: &EmbeddingRequest) -> &'static str {
    if request.input.len() == 1 { "embedContent" } else { "batchEmbedContents" }
}

fn one(text: &str, model_name: &str, request: &EmbeddingRequest) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model_name));
    body.insert("content".into(), json!({"parts": [{"text": text}]}));
    if let Some(d) = request.dimensions {
        body.insert("outputDimensionality".into(), json!(d));
    }
    merge_extra(&mut body, request);
    Value::Object(body)
}

/// The request body, with `model` the bare model name (no `models/`).
pub fn encode_request(request: &EmbeddingRequest, model: &str) -> Result<Vec<u8>> {
    let model_name = format!("models/{model}");
    let body = match request.input.as_slice() {
        [text] => one(text, &model_name, request),
        texts => json!({"requests": texts.iter().map(|t| one(t, &model_name, request)).collect::<Vec<_>>()}),
    };
    Ok(serde_json::to_vec(&body)?)
}

#[derive(Deserialize)]
struct Values {
    values: Vec<f32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    embedding: Option<Values>,
    #[serde(default)]
    embeddings: Option<Vec<Values>>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: Option<u64>,
}

/// Reads either answer.
pub fn decode_response(answers: &[EmbedAnswer], request: &EmbeddingRequest, model: &str) -> Result<EmbeddingResponse> {
    let [answer] = answers else {
        return Err(llm_core::Error::decode(format!("expected one answer, got {}", answers.len())));
    };
    let wire: Wire = parse(&answer.body, "gemini embeddings answer")?;
    let vectors = match (wire.embedding, wire.embeddings) {
        (Some(one), None) => vec![one.values],
        (None, Some(many)) => many.into_iter().map(|v| v.values).collect(),
        _ => return Err(llm_core::Error::decode("gemini answer has neither `embedding` nor `embeddings`")),
    };
    let tokens = wire.usage_metadata.and_then(|u| u.prompt_token_count);
    crate::embed::response(model, vectors, tokens, request)
}

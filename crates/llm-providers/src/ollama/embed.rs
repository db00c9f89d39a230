//! Ollama's `POST /api/embed`: `{"model", "input": "text" | ["text", ...], "dimensions"?}` (plus `truncate`,
//! `options`, `keep_alive` through `extra`) → `{"model", "embeddings": [[...], ...], "total_duration",
//! "load_duration", "prompt_eval_count"}`. Usage is `prompt_eval_count` (the input tokens of every text).

use llm_core::{EmbeddingRequest, EmbeddingResponse, Result};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::embed::{EmbedAnswer, merge_extra, parse};

/// The request body.
pub fn encode_request(request: &EmbeddingRequest, model: &str) -> Result<Vec<u8>> {
    let mut body = crate::embed::model_and_input(request, model);
    if let Some(d) = request.dimensions {
        body.insert("dimensions".into(), json!(d));
    }
    merge_extra(&mut body, request);
    Ok(serde_json::to_vec(&Value::Object(body))?)
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    model: Option<String>,
    embeddings: Vec<Vec<f32>>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
}

/// Reads the answer.
pub fn decode_response(answers: &[EmbedAnswer], request: &EmbeddingRequest, model: &str) -> Result<EmbeddingResponse> {
    let [answer] = answers else {
        return Err(llm_core::Error::decode(format!("expected one answer, got {}", answers.len())));
    };
    let wire: Wire = parse(&answer.body, "ollama embed answer")?;
    let served = wire.model.filter(|m| !m.is_empty());
    crate::embed::response(served.as_deref().unwrap_or(model), wire.embeddings, wire.prompt_eval_count, request)
}

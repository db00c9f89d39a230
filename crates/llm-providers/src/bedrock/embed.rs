//! Bedrock embeddings through InvokeModel (`POST /model/{modelId}/invoke`), for the two families LiteLLM
//! serves:
//!
//! - **Titan text** (`amazon.titan-embed-text-v1`, `-v2:0`, `amazon.titan-embed-g1-text-02`): one text per call,
//!   `{"inputText", "dimensions"?, ...extra}` (v2 takes `dimensions` and `normalize`; v1 takes neither) →
//!   `{"embedding": [...], "inputTextTokenCount"}`. Many texts are one call each, in order; the usage is the
//!   sum of `inputTextTokenCount`.
//! - **Cohere** (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`, `cohere.embed-v4:0`): up to 96
//!   texts per call, `{"texts", "input_type": "search_document" (LiteLLM's default; `extra` overrides),
//!   "output_dimension"? (v4 only)}` → `{"embeddings": [[...]] | {"float": [[...]]}, "id", "response_type",
//!   "texts"}`. The body has no token count: the `x-amzn-bedrock-input-token-count` header Bedrock adds to every
//!   InvokeModel answer is used, and when it is missing, the request's estimate, flagged.

use llm_core::{EmbeddingRequest, EmbeddingResponse, Error, ProviderId, Result};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::embed::{EmbedAnswer, invalid, merge_extra, parse};

/// The header in which Bedrock reports an InvokeModel call's input tokens.
pub const INPUT_TOKENS_HEADER: &str = "x-amzn-bedrock-input-token-count";

/// The most texts Cohere's embed models take in one call.
pub const COHERE_BATCH: usize = 96;

/// The embedding families Bedrock serves through InvokeModel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Family {
    /// Titan text v1 (and `g1-text-02`): no dimensions.
    TitanV1,
    /// Titan text v2: `dimensions` 256, 512 or 1024.
    TitanV2,
    /// Cohere embed v3: no dimensions.
    CohereV3,
    /// Cohere embed v4: `output_dimension`.
    CohereV4,
}

impl Family {
    /// The family of a model id (region prefixes such as `us.` allowed); `None` for models without embeddings.
    pub fn of(model: &str) -> Option<Self> {
        if model.contains("amazon.titan-embed-text-v2") {
            Some(Self::TitanV2)
        } else if model.contains("amazon.titan-embed-text-v1") || model.contains("amazon.titan-embed-g1-text") {
            Some(Self::TitanV1)
        } else if model.contains("cohere.embed-v4") {
            Some(Self::CohereV4)
        } else if model.contains("cohere.embed-") {
            Some(Self::CohereV3)
        } else {
            None
        }
    }
}

/// The bodies of the calls for `request`, in order.
pub fn encode_requests(request: &EmbeddingRequest, model: &str, family: Family) -> Result<Vec<Vec<u8>>> {
    let provider = ProviderId::new("bedrock");
    if request.dimensions.is_some() && matches!(family, Family::TitanV1 | Family::CohereV3) {
        return Err(invalid(&provider, model, format!("{model} does not take dimensions")));
    }
    let bodies: Vec<Value> = match family {
        Family::TitanV1 | Family::TitanV2 => request
            .input
            .iter()
            .map(|text| {
                let mut body = Map::new();
                body.insert("inputText".into(), json!(text));
                if let Some(d) = request.dimensions {
                    body.insert("dimensions".into(), json!(d));
                }
                merge_extra(&mut body, request);
                Value::Object(body)
            })
            .collect(),
        Family::CohereV3 | Family::CohereV4 => request
            .input
            .chunks(COHERE_BATCH)
            .map(|texts| {
                let mut body = Map::new();
                body.insert("texts".into(), json!(texts));
                body.insert("input_type".into(), json!("search_document"));
                if let Some(d) = request.dimensions {
                    body.insert("output_dimension".into(), json!(d));
                }
                merge_extra(&mut body, request);
                Value::Object(body)
            })
            .collect(),
    };
    bodies.iter().map(|b| Ok(serde_json::to_vec(b)?)).collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Titan {
    embedding: Vec<f32>,
    #[serde(default)]
    input_text_token_count: Option<u64>,
}

#[derive(Deserialize)]
struct Cohere {
    embeddings: CohereEmbeddings,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CohereEmbeddings {
    Floats(Vec<Vec<f32>>),
    ByType { float: Vec<Vec<f32>> },
}

/// Reads the answers of [`encode_requests`]' calls, in order.
pub fn decode_responses(
    answers: &[EmbedAnswer],
    request: &EmbeddingRequest,
    model: &str,
    family: Family,
) -> Result<EmbeddingResponse> {
    let mut vectors = Vec::with_capacity(request.input.len());
    // the sum of the counts, `None` as soon as one answer lacks its count
    let mut tokens = Some(0u64);
    for answer in answers {
        let count = match family {
            Family::TitanV1 | Family::TitanV2 => {
                let t: Titan = parse(&answer.body, "titan embedding answer")?;
                vectors.push(t.embedding);
                t.input_text_token_count.or_else(|| answer.count_header(INPUT_TOKENS_HEADER))
            }
            Family::CohereV3 | Family::CohereV4 => {
                let c: Cohere = parse(&answer.body, "cohere embedding answer")?;
                vectors.extend(match c.embeddings {
                    CohereEmbeddings::Floats(v) | CohereEmbeddings::ByType { float: v } => v,
                });
                answer.count_header(INPUT_TOKENS_HEADER)
            }
        };
        tokens = tokens.zip(count).map(|(a, b)| a.saturating_add(b));
    }
    if answers.is_empty() {
        return Err(Error::decode("no answers to decode"));
    }
    crate::embed::response(model, vectors, tokens, request)
}

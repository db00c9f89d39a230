//! What every provider's embeddings share: the answers an adapter decodes, the body helpers, and the usage
//! rules (see docs/providers.md, "Embeddings").
//!
//! Each provider folder has its own `embed.rs` with the pure encoder and decoder of its wire format:
//! [`crate::openai::embed`] (OpenAI, Azure, Mistral and the compatible family), [`crate::gemini::embed`],
//! [`crate::ollama::embed`] and [`crate::bedrock::embed`] (Titan and Cohere through InvokeModel).

use llm_core::{
    Adjustment, Embedding, EmbeddingRequest, EmbeddingResponse, EncodingFormat, Error, ErrorKind, ProviderId, Result,
    Usage,
};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

/// One successful HTTP answer to an embedding call: its headers (Bedrock reports token counts there) and body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EmbedAnswer {
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl EmbedAnswer {
    /// An answer with these headers and body.
    pub fn new(headers: HeaderMap, body: Vec<u8>) -> Self {
        Self { headers, body }
    }

    /// An answer with this body and no headers (decoding fixtures offline).
    pub fn body(body: impl Into<Vec<u8>>) -> Self {
        Self { headers: HeaderMap::new(), body: body.into() }
    }

    /// A header parsed as a count.
    pub(crate) fn count_header(&self, name: &str) -> Option<u64> {
        self.headers.get(name)?.to_str().ok()?.trim().parse().ok()
    }
}

/// The error of a provider (or model) without embeddings.
pub(crate) fn unsupported(provider: &ProviderId, model: &str) -> Error {
    Error::new(ErrorKind::Unsupported, format!("{provider} does not serve embeddings for {model}"))
        .with_provider(provider.clone())
        .with_model(model)
}

/// A request the provider cannot take as asked, refused before sending.
pub(crate) fn invalid(provider: &ProviderId, model: &str, message: String) -> Error {
    Error::new(ErrorKind::InvalidRequest, message).with_provider(provider.clone()).with_model(model)
}

/// A body with `model` and `input` (a string for one text, else a list), OpenAI's and Ollama's first fields.
pub(crate) fn model_and_input(request: &EmbeddingRequest, model: &str) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("model".into(), Value::String(model.to_owned()));
    let input = match request.input.as_slice() {
        [one] => Value::String(one.clone()),
        many => many.iter().cloned().map(Value::String).collect(),
    };
    body.insert("input".into(), input);
    body
}

/// Merges the request's `extra` fields into a body (they win over what the encoder wrote).
pub(crate) fn merge_extra(body: &mut Map<String, Value>, request: &EmbeddingRequest) {
    for (k, v) in &request.extra {
        body.insert(k.clone(), v.clone());
    }
}

/// The adjustments of a provider that takes neither `user` nor `encoding_format: base64` (its vectors come as
/// floats, which is what [`Embedding::vector`] holds anyway).
pub(crate) fn dropped_user_and_base64(request: &EmbeddingRequest, provider: &ProviderId) -> Vec<Adjustment> {
    let mut out = Vec::new();
    if request.user.is_some() {
        out.push(Adjustment::param_dropped("user", format!("{provider} embeddings take no end-user id")));
    }
    if request.encoding_format == Some(EncodingFormat::Base64) {
        out.push(Adjustment::param_dropped(
            "encoding_format",
            format!("{provider} sends embeddings as floats only; the vectors are the same"),
        ));
    }
    out
}

/// Builds a response from vectors in input order, with the reported input tokens or, when the provider
/// reported none, the request's estimate (flagged [`EmbeddingResponse::usage_estimated`]).
pub(crate) fn response(
    model: &str,
    vectors: Vec<Vec<f32>>,
    prompt_tokens: Option<u64>,
    request: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    check_count(vectors.len(), request)?;
    let data = vectors.into_iter().zip(0u32..).map(|(v, i)| Embedding::new(i, v)).collect();
    let mut r = EmbeddingResponse::new(model, data, prompt_tokens.map(|n| Usage::new(n, 0)));
    r.estimate_usage_from(request);
    Ok(r)
}

/// A decode error unless there is one vector per input text.
pub(crate) fn check_count(vectors: usize, request: &EmbeddingRequest) -> Result<()> {
    if vectors == request.input.len() {
        Ok(())
    } else {
        Err(Error::decode(format!("{vectors} embeddings for {} input texts", request.input.len())))
    }
}

/// Reads a body as `T`, a decode error otherwise.
pub(crate) fn parse<'a, T: serde::Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::decode(format!("malformed {what}: {e}")).with_source(e))
}

/// A base64 string of little-endian `f32`s (OpenAI's `encoding_format: base64`) as a vector.
pub(crate) fn decode_base64_f32(text: &str) -> Result<Vec<f32>> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| Error::decode(format!("malformed base64 embedding: {e}")))?;
    if bytes.len() % 4 != 0 {
        return Err(Error::decode(format!("a base64 embedding of {} bytes is not a list of f32s", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors_are_little_endian_f32s() {
        // 1.0 = 00 00 80 3f, -2.5 = 00 00 20 c0
        assert_eq!(decode_base64_f32("AACAPwAAIMA=").unwrap(), vec![1.0, -2.5]);
        assert_eq!(decode_base64_f32("AACA").unwrap_err().kind(), &ErrorKind::Decode);
        assert_eq!(decode_base64_f32("not base64!").unwrap_err().kind(), &ErrorKind::Decode);
    }

    #[test]
    fn a_missing_count_is_estimated_and_flagged() {
        let req = EmbeddingRequest::many("m", ["abcdefgh", "abc"]);
        let r = response("m", vec![vec![0.5], vec![0.25]], None, &req).unwrap();
        assert_eq!(r.usage, Some(Usage::new(3, 0)));
        assert!(r.usage_estimated);
        let reported = response("m", vec![vec![0.5], vec![0.25]], Some(7), &req).unwrap();
        assert_eq!(reported.usage, Some(Usage::new(7, 0)));
        assert!(!reported.usage_estimated);
        assert_eq!(response("m", vec![vec![0.5]], Some(7), &req).unwrap_err().kind(), &ErrorKind::Decode);
    }
}

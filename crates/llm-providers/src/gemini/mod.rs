//! Gemini `generateContent` and `streamGenerateContent?alt=sse` with an AI Studio key (PROVIDERS.md §6).
//!
//! Thought signatures: Gemini 3 requires a function-call part's `thoughtSignature` to come back unchanged in
//! the next turn. llm-core's `ToolCall` has no field for it, so the decoder appends it to the tool call's id
//! after [`decode::SIGNATURE_MARK`] (`call_0#ts=<signature>`) and the encoder splits it off again; the id
//! round-trips through tool results untouched.

pub mod decode;
pub mod embed;
pub mod encode;
pub mod stream;
pub mod wire;

use llm_core::{ApiKey, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ProviderId, Result};

use crate::adapter::{Adapter, HttpCall, StreamDecoder};
use crate::embed::EmbedAnswer;
use crate::framing::Framing;

/// The Gemini adapter.
#[derive(Debug, Clone)]
pub struct GeminiAdapter {
    id: ProviderId,
    base: String,
    key: Option<ApiKey>,
    headers: Vec<(String, String)>,
}

impl GeminiAdapter {
    /// An adapter at `base` (the URL before `/v1beta/models/...`).
    pub fn new(base: &str, key: Option<ApiKey>, headers: Vec<(String, String)>) -> Self {
        Self { id: ProviderId::new("gemini"), base: base.trim_end_matches('/').to_owned(), key, headers }
    }
}

impl Adapter for GeminiAdapter {
    fn provider(&self) -> &ProviderId {
        &self.id
    }

    fn adjustments(&self, request: &ChatRequest, model: &str) -> Vec<llm_core::Adjustment> {
        let rewrite: crate::dialect::NodeRewrite = if encode::uses_json_schema(model) {
            crate::dialect::gemini_json_schema
        } else {
            crate::dialect::gemini_openapi
        };
        crate::dialect::request_adjustments(request, Some(rewrite), |_| Some(rewrite))
    }

    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall> {
        let body = encode::encode_request(request, model).map_err(|e| e.with_model(model))?;
        let model_path = model.strip_prefix("models/").unwrap_or(model);
        let url = if stream {
            format!("{}/v1beta/models/{model_path}:streamGenerateContent?alt=sse", self.base)
        } else {
            format!("{}/v1beta/models/{model_path}:generateContent", self.base)
        };
        let mut call = HttpCall::new(url, serde_json::to_vec(&body)?).with_header("content-type", "application/json");
        if let Some(k) = &self.key {
            call = call.with_header("x-goog-api-key", k.expose());
        }
        call.headers.extend(self.headers.iter().cloned());
        Ok(call)
    }

    fn build_embed(&self, request: &EmbeddingRequest, model: &str) -> Result<Vec<HttpCall>> {
        let model_path = model.strip_prefix("models/").unwrap_or(model);
        let url = format!("{}/v1beta/models/{model_path}:{}", self.base, embed::method(request));
        let mut call = HttpCall::new(url, embed::encode_request(request, model_path)?)
            .with_header("content-type", "application/json");
        if let Some(k) = &self.key {
            call = call.with_header("x-goog-api-key", k.expose());
        }
        call.headers.extend(self.headers.iter().cloned());
        Ok(vec![call])
    }

    fn decode_embed(&self, answers: &[EmbedAnswer], req: &EmbeddingRequest, model: &str) -> Result<EmbeddingResponse> {
        embed::decode_response(answers, req, model)
    }

    fn embed_adjustments(&self, request: &EmbeddingRequest, _model: &str) -> Vec<llm_core::Adjustment> {
        crate::embed::dropped_user_and_base64(request, &self.id)
    }

    fn decode(&self, body: &[u8], model: &str) -> Result<ChatResponse> {
        decode::decode_response(body).map_err(|e| e.with_provider("gemini").with_model(model))
    }

    fn framing(&self) -> Framing {
        Framing::Sse
    }

    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder> {
        Box::new(stream::GeminiStreamDecoder::new(model))
    }
}

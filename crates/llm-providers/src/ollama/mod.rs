//! Ollama's native chat API (`POST /api/chat`, NDJSON streams; PROVIDERS.md §7). The OpenAI-compatible
//! `/v1` endpoint is the `ollama_openai` member of the compatible family.

pub mod decode;
pub mod embed;
pub mod encode;
pub mod stream;
pub mod wire;

use llm_core::{ApiKey, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ProviderId, Result};

use crate::adapter::{Adapter, HttpCall, StreamDecoder};
use crate::embed::EmbedAnswer;
use crate::framing::Framing;

/// The Ollama adapter.
#[derive(Debug, Clone)]
pub struct OllamaAdapter {
    id: ProviderId,
    base: String,
    key: Option<ApiKey>,
    headers: Vec<(String, String)>,
}

impl OllamaAdapter {
    /// An adapter named `provider` (`ollama` or `ollama_chat`) at `base` (the URL before `/api/chat`).
    pub fn new(provider: &str, base: &str, key: Option<ApiKey>, headers: Vec<(String, String)>) -> Self {
        Self { id: ProviderId::new(provider), base: base.trim_end_matches('/').to_owned(), key, headers }
    }
}

impl Adapter for OllamaAdapter {
    fn provider(&self) -> &ProviderId {
        &self.id
    }

    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall> {
        let body = encode::encode_request(request, model, stream).map_err(|e| e.with_model(model))?;
        let mut call = HttpCall::new(format!("{}/api/chat", self.base), serde_json::to_vec(&body)?)
            .with_header("content-type", "application/json");
        if let Some(k) = self.key.as_ref().filter(|k| !k.is_blank()) {
            call = call.with_header("authorization", format!("Bearer {}", k.expose()));
        }
        call.headers.extend(self.headers.iter().cloned());
        Ok(call)
    }

    fn build_embed(&self, request: &EmbeddingRequest, model: &str) -> Result<Vec<HttpCall>> {
        let mut call = HttpCall::new(format!("{}/api/embed", self.base), embed::encode_request(request, model)?)
            .with_header("content-type", "application/json");
        if let Some(k) = self.key.as_ref().filter(|k| !k.is_blank()) {
            call = call.with_header("authorization", format!("Bearer {}", k.expose()));
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
        decode::decode_response(body).map_err(|e| e.with_provider(self.id.as_str()).with_model(model))
    }

    fn framing(&self) -> Framing {
        Framing::Ndjson
    }

    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder> {
        Box::new(stream::OllamaStreamDecoder::new(self.id.as_str(), model))
    }
}

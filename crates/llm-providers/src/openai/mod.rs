//! OpenAI chat completions, and every OpenAI-compatible provider of [`crate::registry::PROVIDERS`]: one
//! adapter, parameterized by the provider's [`Quirks`].

pub mod decode;
pub mod embed;
pub mod encode;
pub mod stream;
pub mod wire;

use llm_core::{ApiKey, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ProviderId, Result};

use crate::adapter::{Adapter, HttpCall, StreamDecoder};
use crate::embed::EmbedAnswer;
use crate::framing::Framing;
use crate::registry::Quirks;

/// The adapter for OpenAI and the compatible family.
#[derive(Debug, Clone)]
pub struct OpenAiAdapter {
    id: ProviderId,
    /// `{base}/chat/completions`, built once.
    url: String,
    /// The `authorization` header's value (`Bearer {key}`), built once; an `ApiKey` so that it never prints.
    auth: Option<ApiKey>,
    quirks: &'static Quirks,
    headers: Vec<(String, String)>,
}

impl OpenAiAdapter {
    /// An adapter for `provider` at `base` (the URL before `/chat/completions`).
    pub fn new(provider: &str, base: &str, key: Option<ApiKey>, quirks: &'static Quirks) -> Self {
        Self {
            id: ProviderId::new(provider),
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            auth: key.filter(|k| !k.is_blank()).map(|k| ApiKey::new(format!("Bearer {}", k.expose()))),
            quirks,
            headers: Vec::new(),
        }
    }

    /// Adds a header to every call (OpenAI-Organization, OpenRouter's HTTP-Referer, ...).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl Adapter for OpenAiAdapter {
    fn provider(&self) -> &ProviderId {
        &self.id
    }

    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall> {
        let body = encode::write_request(request, model, stream, self.quirks)?;
        let mut call = HttpCall::new(self.url.as_str(), body).with_header("content-type", "application/json");
        if let Some(auth) = &self.auth {
            call = call.with_header("authorization", auth.expose());
        }
        call.headers.extend(self.headers.iter().cloned());
        Ok(call)
    }

    fn adjustments(&self, request: &ChatRequest, _model: &str) -> Vec<llm_core::Adjustment> {
        adjustments(request, self.quirks)
    }

    fn build_embed(&self, request: &EmbeddingRequest, model: &str) -> Result<Vec<HttpCall>> {
        let body = embed::encode_request(request, model, embed::EmbedDialect::of(self.id.as_str()))?;
        let base = self.url.strip_suffix("/chat/completions").unwrap_or(&self.url);
        let mut call =
            HttpCall::new(format!("{base}/embeddings"), body).with_header("content-type", "application/json");
        if let Some(auth) = &self.auth {
            call = call.with_header("authorization", auth.expose());
        }
        call.headers.extend(self.headers.iter().cloned());
        Ok(vec![call])
    }

    fn embed_adjustments(&self, request: &EmbeddingRequest, _model: &str) -> Vec<llm_core::Adjustment> {
        embed::adjustments(request, embed::EmbedDialect::of(self.id.as_str()))
    }

    fn decode_embed(&self, answers: &[EmbedAnswer], req: &EmbeddingRequest, model: &str) -> Result<EmbeddingResponse> {
        embed::decode_response(answers, req, model)
    }

    fn decode(&self, body: &[u8], model: &str) -> Result<ChatResponse> {
        decode::decode_response(body, self.quirks).map_err(|e| e.with_provider(self.id.as_str()).with_model(model))
    }

    fn framing(&self) -> Framing {
        Framing::Sse
    }

    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder> {
        Box::new(stream::OpenAiStreamDecoder::new(self.quirks, self.id.as_str(), model))
    }

    /// OpenAI only: `{base}/responses`, with the same headers as chat.
    fn responses_call(&self, body: Vec<u8>, _model: &str) -> Option<HttpCall> {
        if self.id.as_str() != "openai" {
            return None;
        }
        let base = self.url.strip_suffix("/chat/completions").unwrap_or(&self.url);
        let mut call = HttpCall::new(format!("{base}/responses"), body).with_header("content-type", "application/json");
        if let Some(auth) = &self.auth {
            call = call.with_header("authorization", auth.expose());
        }
        call.headers.extend(self.headers.iter().cloned());
        Some(call)
    }
}

/// What an OpenAI-family body changes: renamed fields (the quirks' `max_tokens` and `seed` names), and strict
/// schemas (response format and tools) rewritten into OpenAI's strict dialect.
pub(crate) fn adjustments(request: &ChatRequest, quirks: &Quirks) -> Vec<llm_core::Adjustment> {
    let mut out = Vec::new();
    if request.max_tokens.is_some() && quirks.max_tokens_field != "max_tokens" {
        out.push(llm_core::Adjustment::param_renamed("max_tokens", quirks.max_tokens_field));
    }
    if request.seed.is_some() && quirks.seed_field != "seed" {
        out.push(llm_core::Adjustment::param_renamed("seed", quirks.seed_field));
    }
    if request.response_format.is_none() && request.tools.is_empty() {
        return out;
    }
    let strict_format =
        matches!(&request.response_format, Some(llm_core::ResponseFormat::JsonSchema(s)) if s.strict == Some(true));
    out.extend(crate::dialect::request_adjustments(
        request,
        strict_format.then_some(crate::dialect::openai_strict as crate::dialect::NodeRewrite),
        |t| (t.strict == Some(true)).then_some(crate::dialect::openai_strict as crate::dialect::NodeRewrite),
    ));
    out
}

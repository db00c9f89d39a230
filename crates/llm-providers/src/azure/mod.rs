//! Azure OpenAI: OpenAI's chat-completions body and decoder, with deployment URLs
//! (`/openai/deployments/{deployment}/chat/completions?api-version=…`) or the v1 style
//! (`/openai/v1/chat/completions`, `api-version` `v1`), and the `api-key` header (PROVIDERS.md §4).
//!
//! The model name is the deployment name. The first stream chunk (`choices: []`, empty id and model) and the
//! content-filter chunks without `delta` are handled by the OpenAI decoder.

use llm_core::{ApiKey, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ProviderId, Result};

use crate::adapter::{Adapter, HttpCall, StreamDecoder};
use crate::embed::EmbedAnswer;
use crate::framing::Framing;
use crate::openai::{decode, embed, encode, stream};
use crate::registry::Quirks;

/// The `api-version` used when none is configured: the latest dated GA version.
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// The Azure OpenAI adapter.
#[derive(Debug, Clone)]
pub struct AzureAdapter {
    id: ProviderId,
    base: String,
    key: Option<ApiKey>,
    api_version: String,
    headers: Vec<(String, String)>,
}

impl AzureAdapter {
    /// An adapter for the resource at `base` (`https://{resource}.openai.azure.com`).
    pub fn new(base: &str, key: Option<ApiKey>, api_version: &str, headers: Vec<(String, String)>) -> Self {
        let base = base.trim_end_matches('/');
        let base = base.strip_suffix("/openai").unwrap_or(base);
        Self { id: ProviderId::new("azure"), base: base.to_owned(), key, api_version: api_version.to_owned(), headers }
    }

    /// The Responses API URL: `/openai/responses?api-version=...` when the configured version is a dated
    /// preview (`2025-03-01-preview` and later previews), else the v1 route `/openai/v1/responses` (the
    /// deployment goes in the body's `model`). A dated GA version such as the default `2024-10-21` predates the
    /// Responses API, so it also gets the v1 route.
    pub fn responses_url(&self) -> String {
        if self.api_version.ends_with("-preview") {
            format!("{}/openai/responses?api-version={}", self.base, self.api_version)
        } else {
            format!("{}/openai/v1/responses", self.base)
        }
    }

    /// The URL for a deployment.
    pub fn url(&self, deployment: &str) -> String {
        self.operation_url(deployment, "chat/completions")
    }

    /// The URL of an operation (`chat/completions`, `embeddings`) of a deployment.
    pub fn operation_url(&self, deployment: &str, operation: &str) -> String {
        if self.api_version == "v1" || self.api_version == "latest" {
            format!("{}/openai/v1/{operation}", self.base)
        } else {
            format!(
                "{}/openai/deployments/{}/{operation}?api-version={}",
                self.base,
                crate::adapter::encode_path_segment(deployment),
                self.api_version
            )
        }
    }
}

impl Adapter for AzureAdapter {
    fn provider(&self) -> &ProviderId {
        &self.id
    }

    fn adjustments(&self, request: &ChatRequest, _model: &str) -> Vec<llm_core::Adjustment> {
        crate::openai::adjustments(request, &Quirks::OPENAI)
    }

    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall> {
        let body = encode::write_request(request, model, stream, &Quirks::OPENAI)?;
        let mut call = HttpCall::new(self.url(model), body).with_header("content-type", "application/json");
        if let Some(k) = &self.key {
            call = call.with_header("api-key", k.expose());
        }
        call.headers.extend(self.headers.iter().cloned());
        Ok(call)
    }

    fn build_embed(&self, request: &EmbeddingRequest, model: &str) -> Result<Vec<HttpCall>> {
        let body = embed::encode_request(request, model, embed::EmbedDialect::OpenAi)?;
        let mut call = HttpCall::new(self.operation_url(model, "embeddings"), body)
            .with_header("content-type", "application/json");
        if let Some(k) = &self.key {
            call = call.with_header("api-key", k.expose());
        }
        call.headers.extend(self.headers.iter().cloned());
        Ok(vec![call])
    }

    fn decode_embed(&self, answers: &[EmbedAnswer], req: &EmbeddingRequest, model: &str) -> Result<EmbeddingResponse> {
        embed::decode_response(answers, req, model)
    }

    fn decode(&self, body: &[u8], model: &str) -> Result<ChatResponse> {
        decode::decode_response(body, &Quirks::OPENAI).map_err(|e| e.with_provider("azure").with_model(model))
    }

    fn framing(&self) -> Framing {
        Framing::Sse
    }

    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder> {
        Box::new(stream::OpenAiStreamDecoder::new(&Quirks::OPENAI, "azure", model))
    }

    fn responses_call(&self, body: Vec<u8>, _model: &str) -> Option<HttpCall> {
        let mut call = HttpCall::new(self.responses_url(), body).with_header("content-type", "application/json");
        if let Some(k) = &self.key {
            call = call.with_header("api-key", k.expose());
        }
        call.headers.extend(self.headers.iter().cloned());
        Some(call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_and_v1_urls() {
        let a = AzureAdapter::new("https://res.openai.azure.com/", None, "2024-10-21", vec![]);
        assert_eq!(
            a.url("gpt 4o"),
            "https://res.openai.azure.com/openai/deployments/gpt%204o/chat/completions?api-version=2024-10-21"
        );
        let v1 = AzureAdapter::new("https://res.openai.azure.com/openai", None, "v1", vec![]);
        assert_eq!(v1.url("x"), "https://res.openai.azure.com/openai/v1/chat/completions");
        assert_eq!(v1.responses_url(), "https://res.openai.azure.com/openai/v1/responses");
        assert_eq!(a.responses_url(), "https://res.openai.azure.com/openai/v1/responses");
        let preview = AzureAdapter::new("https://res.openai.azure.com", None, "2025-04-01-preview", vec![]);
        assert_eq!(
            preview.responses_url(),
            "https://res.openai.azure.com/openai/responses?api-version=2025-04-01-preview"
        );
    }
}

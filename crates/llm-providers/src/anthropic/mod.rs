//! Anthropic Messages (`POST /v1/messages`, PROVIDERS.md §5).
//!
//! **API version.** The default is [`DEFAULT_VERSION`], `2023-06-01`: every model accepts it, it keeps the
//! sampling parameters, and it authenticates with `x-api-key`. `2026-10-21` (SDK 2.x) can be chosen with
//! [`crate::ClientBuilder::anthropic_version`]; it authenticates with `Authorization: Bearer` and rejects
//! `temperature`, `top_p` and `top_k` with a 400, so this adapter leaves them out and logs a warning.

pub mod decode;
pub mod encode;
pub mod stream;
pub mod wire;

use llm_core::{ApiKey, ChatRequest, ChatResponse, ProviderId, Result};

use crate::adapter::{Adapter, HttpCall, StreamDecoder};
use crate::framing::Framing;

/// The `anthropic-version` sent by default.
pub const DEFAULT_VERSION: &str = "2023-06-01";

/// The Anthropic adapter.
#[derive(Debug, Clone)]
pub struct AnthropicAdapter {
    id: ProviderId,
    base: String,
    key: Option<ApiKey>,
    version: String,
    headers: Vec<(String, String)>,
}

impl AnthropicAdapter {
    /// An adapter at `base` (the URL before `/v1/messages`) with this API version. A base that already ends
    /// in `/v1` (as an `--api-base` copied from an SDK setting often does) is taken without it, so both
    /// `http://host` and `http://host/v1` call `http://host/v1/messages`.
    pub fn new(base: &str, key: Option<ApiKey>, version: &str, headers: Vec<(String, String)>) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            id: ProviderId::new("anthropic"),
            base: base.strip_suffix("/v1").unwrap_or(base).to_owned(),
            key,
            version: version.to_owned(),
            headers,
        }
    }
}

impl Adapter for AnthropicAdapter {
    fn provider(&self) -> &ProviderId {
        &self.id
    }

    fn adjustments(&self, request: &ChatRequest, _model: &str) -> Vec<llm_core::Adjustment> {
        crate::dialect::request_adjustments(request, Some(crate::dialect::anthropic), |t| {
            (t.strict == Some(true)).then_some(crate::dialect::anthropic as crate::dialect::NodeRewrite)
        })
    }

    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall> {
        if encode::rejects_sampling(&self.version) && (request.temperature.is_some() || request.top_p.is_some()) {
            tracing::warn!(version = %self.version, "anthropic api version rejects temperature and top_p; not sent");
        }
        let body = encode::encode_request(request, model, stream, &self.version).map_err(|e| e.with_model(model))?;
        let mut call = HttpCall::new(format!("{}/v1/messages", self.base), serde_json::to_vec(&body)?)
            .with_header("content-type", "application/json")
            .with_header("anthropic-version", self.version.as_str());
        if let Some(k) = &self.key {
            call = if encode::rejects_sampling(&self.version) {
                call.with_header("authorization", format!("Bearer {}", k.expose()))
            } else {
                call.with_header("x-api-key", k.expose())
            };
        }
        call.headers.extend(self.headers.iter().cloned());
        Ok(call)
    }

    fn decode(&self, body: &[u8], model: &str) -> Result<ChatResponse> {
        decode::decode_response(body).map_err(|e| e.with_provider("anthropic").with_model(model))
    }

    fn framing(&self) -> Framing {
        Framing::Sse
    }

    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder> {
        Box::new(stream::AnthropicStreamDecoder::new(model))
    }
}

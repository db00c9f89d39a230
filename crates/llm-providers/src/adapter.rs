//! The seam between the shared HTTP machinery and one provider's wire format.

use llm_core::{
    Adjustment, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, Error, ProviderId, Result, StreamEvent,
};
use reqwest::header::HeaderMap;

use crate::embed::EmbedAnswer;
use crate::framing::{Frame, Framing};

/// One HTTP call as an adapter builds it: the URL, the headers (authentication included) and the body.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpCall {
    /// The full URL.
    pub url: String,
    /// The headers, authentication included.
    pub headers: Vec<(String, String)>,
    /// The body bytes (JSON).
    pub body: Vec<u8>,
}

impl HttpCall {
    /// A call with this URL and body and no headers.
    pub fn new(url: impl Into<String>, body: Vec<u8>) -> Self {
        Self { url: url.into(), headers: Vec::new(), body }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for HttpCall {
    /// Header values that carry credentials are not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let secret = matches!(
                    k.to_ascii_lowercase().as_str(),
                    "authorization" | "x-api-key" | "api-key" | "x-goog-api-key" | "x-amz-security-token"
                );
                (k.as_str(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("HttpCall")
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Turns a provider's stream frames into [`StreamEvent`]s.
pub trait StreamDecoder: Send {
    /// Decodes one frame, appending events to `out`. Returns `true` when the frame ends the stream (OpenAI's
    /// `[DONE]`, Anthropic's `message_stop`, Ollama's `done: true`, Bedrock's `metadata`).
    fn decode(&mut self, frame: Frame, out: &mut Vec<StreamEvent>) -> Result<bool>;

    /// Called when the body ended before the decoder said the stream was done: emits what is left, or fails
    /// with a [`llm_core::ErrorKind::Network`] error when the stream was cut short.
    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<()>;
}

/// One provider's wire format: building requests and reading answers, apart from HTTP.
pub trait Adapter: Send + Sync + 'static {
    /// The provider's canonical name.
    fn provider(&self) -> &ProviderId;

    /// Builds the call for `request`, with `model` the provider-side model name (prefix removed).
    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall>;

    /// What [`Adapter::build`] changes in `request` for this provider beyond its wire format: parameters sent
    /// under the provider's own names and schema keywords rewritten by its dialect. Reported on the response;
    /// `build` does the changing.
    fn adjustments(&self, request: &ChatRequest, model: &str) -> Vec<Adjustment> {
        let _ = (request, model);
        Vec::new()
    }

    /// Where this adapter's calls are served, when that changes their price (a Vertex AI location); set on
    /// every response as [`ChatResponse::location`].
    fn location(&self) -> Option<&str> {
        None
    }

    /// Reads a successful non-streamed answer.
    fn decode(&self, body: &[u8], model: &str) -> Result<ChatResponse>;

    /// The framing of streamed answers.
    fn framing(&self) -> Framing;

    /// A decoder for one streamed answer.
    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder>;

    /// The call for an OpenAI Responses API body (`POST .../responses`) on this provider, or `None` when the
    /// provider does not serve that API here (only OpenAI and Azure do; see [`crate::responses`]).
    fn responses_call(&self, body: Vec<u8>, model: &str) -> Option<HttpCall> {
        let _ = (body, model);
        None
    }

    /// Builds the calls of an embedding request, with `model` the provider-side model name: usually one, more
    /// where the provider takes fewer texts per call than asked for (Titan takes one, Cohere on Bedrock 96).
    /// The default refuses: the provider serves no embeddings.
    fn build_embed(&self, request: &EmbeddingRequest, model: &str) -> Result<Vec<HttpCall>> {
        let _ = request;
        Err(crate::embed::unsupported(self.provider(), model))
    }

    /// What [`Adapter::build_embed`] changes in `request` for this provider (parameters dropped or renamed).
    fn embed_adjustments(&self, request: &EmbeddingRequest, model: &str) -> Vec<Adjustment> {
        let _ = (request, model);
        Vec::new()
    }

    /// Reads the successful answers to the calls of [`Adapter::build_embed`], in the same order.
    fn decode_embed(&self, answers: &[EmbedAnswer], req: &EmbeddingRequest, model: &str) -> Result<EmbeddingResponse> {
        let _ = (answers, req);
        Err(crate::embed::unsupported(self.provider(), model))
    }

    /// The error for a non-success HTTP answer.
    fn error(&self, model: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        crate::errors::http_error(self.provider().as_str(), model, status, headers, body)
    }
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`) is percent-encoded.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A model or deployment name as one URL path segment (Bedrock's `us.anthropic...:0`, Azure deployments).
///
/// ```
/// assert_eq!(llm_providers::adapter::encode_path_segment("us.anthropic.claude-v2:1/x y"), "us.anthropic.claude-v2%3A1%2Fx%20y");
/// ```
pub fn encode_path_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// The error for a stream that ended before its end marker.
pub(crate) fn truncated(what: &str) -> Error {
    Error::new(llm_core::ErrorKind::Network, format!("stream ended before {what}"))
}

/// Decodes a recorded streamed body offline: the bytes go through the adapter's framing and stream decoder
/// exactly as a live stream would (chunk boundaries are where the slices end), with the default
/// [`crate::config::Limits`]. Useful to replay fixtures.
pub fn decode_stream(adapter: &dyn Adapter, model: &str, chunks: &[&[u8]]) -> Result<Vec<StreamEvent>> {
    decode_stream_with_limits(adapter, model, chunks, &crate::config::Limits::default())
}

/// [`decode_stream`] with these limits (an event over `max_event_bytes` is a decode error).
pub fn decode_stream_with_limits(
    adapter: &dyn Adapter,
    model: &str,
    chunks: &[&[u8]],
    limits: &crate::config::Limits,
) -> Result<Vec<StreamEvent>> {
    let mut framer = crate::framing::Framer::new(adapter.framing(), limits.max_event_bytes);
    let mut decoder = adapter.stream_decoder(model);
    let mut frames = Vec::new();
    let mut events = Vec::new();
    for c in chunks.iter().map(|c| Some(*c)).chain(std::iter::once(None)) {
        framer.feed(c, &mut frames)?;
        for f in frames.drain(..) {
            if decoder.decode(f, &mut events)? {
                return Ok(events);
            }
        }
    }
    decoder.finish(&mut events)?;
    Ok(events)
}

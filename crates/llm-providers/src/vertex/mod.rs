//! Vertex AI (LiteLLM's `vertex_ai/`): Gemini models through `generateContent` /
//! `streamGenerateContent?alt=sse` and Anthropic's Claude models through `rawPredict` / `streamRawPredict`,
//! under `https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/publishers/
//! {google|anthropic}/models/{model}` (`https://aiplatform.googleapis.com` for the `global` location).
//!
//! The bodies, answers and streams are the Gemini adapter's and the Anthropic adapter's own code
//! ([`crate::gemini`], [`crate::anthropic`]); what differs is the URL, the authentication (an OAuth access
//! token, [`auth`]), and for Claude the body: no `model` (it is in the URL) and `anthropic_version:
//! "vertex-2023-10-16"` instead of the `anthropic-version` header. Model names keep their `@` versions
//! (`claude-3-5-sonnet@20240620`) in the path. Other publishers on Vertex (Llama, Mistral, AI21, ...) are not
//! supported: building their call is a [`llm_core::ErrorKind::Config`] error.

pub mod auth;

use llm_core::{ApiKey, ChatRequest, ChatResponse, Error, ProviderId, Result, StreamEvent};

use crate::adapter::{Adapter, HttpCall, StreamDecoder};
use crate::framing::{Frame, Framing};

/// The location when none is configured (LiteLLM's default).
pub const DEFAULT_LOCATION: &str = "us-central1";

/// The `anthropic_version` Claude on Vertex takes in the body.
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// The environment variables of the project, in order (LiteLLM's names).
pub const PROJECT_ENV: &[&str] = &["VERTEXAI_PROJECT", "VERTEX_PROJECT"];

/// The environment variables of the location, in order (LiteLLM's names).
pub const LOCATION_ENV: &[&str] = &["VERTEXAI_LOCATION", "VERTEX_LOCATION"];

/// The environment variables of the service-account key, in order: LiteLLM's `VERTEXAI_CREDENTIALS` (a path or
/// the JSON itself), then Google's `GOOGLE_APPLICATION_CREDENTIALS` (a path).
pub const CREDENTIALS_ENV: &[&str] = &["VERTEXAI_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS"];

/// Who publishes a model on Vertex, which decides its API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Publisher {
    /// Google's Gemini models: `generateContent`.
    Google,
    /// Anthropic's Claude models: `rawPredict` with Anthropic's Messages body.
    Anthropic,
}

/// The publisher of a Vertex model name: `claude-*` is Anthropic's, `gemini-*` Google's, anything else `None`
/// (not supported here).
///
/// ```
/// use llm_providers::vertex::{Publisher, publisher};
/// assert_eq!(publisher("claude-3-5-sonnet@20240620"), Some(Publisher::Anthropic));
/// assert_eq!(publisher("gemini-2.5-pro"), Some(Publisher::Google));
/// assert_eq!(publisher("mistral-large@2407"), None);
/// ```
pub fn publisher(model: &str) -> Option<Publisher> {
    let m = model.to_ascii_lowercase();
    if m.starts_with("claude") {
        Some(Publisher::Anthropic)
    } else if m.starts_with("gemini") {
        Some(Publisher::Google)
    } else {
        None
    }
}

/// How Vertex calls are authenticated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum VertexAuth {
    /// A ready OAuth access token (`gcloud auth print-access-token`), sent as it is.
    AccessToken(ApiKey),
    /// A service account: tokens come from [`auth::TokenSource`], added by the client before each call.
    ServiceAccount,
}

/// The Vertex AI adapter.
#[derive(Debug, Clone)]
pub struct VertexAdapter {
    id: ProviderId,
    host: String,
    project: String,
    location: String,
    auth: VertexAuth,
    headers: Vec<(String, String)>,
    gemini: crate::gemini::GeminiAdapter,
    anthropic: crate::anthropic::AnthropicAdapter,
}

impl VertexAdapter {
    /// An adapter for `project` and `location`. `api_base` replaces the scheme, host and port (and, with a path,
    /// prefixes it to `/v1/projects/...`); without one the host is the location's regional endpoint, or
    /// `aiplatform.googleapis.com` for `global`.
    pub fn new(
        project: &str,
        location: &str,
        api_base: Option<&str>,
        auth: VertexAuth,
        headers: Vec<(String, String)>,
    ) -> Result<Self> {
        let default = if location.eq_ignore_ascii_case("global") {
            "https://aiplatform.googleapis.com".to_owned()
        } else {
            format!("https://{location}-aiplatform.googleapis.com")
        };
        Ok(Self {
            id: ProviderId::new("vertex_ai"),
            host: crate::client::base_url(&default, api_base)?,
            project: project.to_owned(),
            location: location.to_owned(),
            auth,
            headers,
            gemini: crate::gemini::GeminiAdapter::new("", None, Vec::new()),
            anthropic: crate::anthropic::AnthropicAdapter::new("", None, crate::anthropic::DEFAULT_VERSION, Vec::new()),
        })
    }

    /// The location calls go to.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The project calls go to.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The URL of a call.
    pub fn url(&self, model: &str, stream: bool) -> Result<String> {
        let (publisher, op) = match (self.publisher(model)?, stream) {
            (Publisher::Google, false) => ("google", "generateContent"),
            (Publisher::Google, true) => ("google", "streamGenerateContent?alt=sse"),
            (Publisher::Anthropic, false) => ("anthropic", "rawPredict"),
            (Publisher::Anthropic, true) => ("anthropic", "streamRawPredict"),
        };
        let seg = |s: &str| crate::adapter::encode_path_segment(s).replace("%40", "@");
        Ok(format!(
            "{}/v1/projects/{}/locations/{}/publishers/{publisher}/models/{}:{op}",
            self.host,
            seg(&self.project),
            seg(&self.location),
            seg(model)
        ))
    }

    fn publisher(&self, model: &str) -> Result<Publisher> {
        publisher(model).ok_or_else(|| {
            Error::config(format!(
                "vertex_ai/{model}: only Gemini (gemini-*) and Anthropic (claude-*) models on Vertex AI are supported"
            ))
            .with_provider("vertex_ai")
            .with_model(model)
        })
    }

    fn inner(&self, model: &str) -> &dyn Adapter {
        match publisher(model) {
            Some(Publisher::Anthropic) => &self.anthropic,
            _ => &self.gemini,
        }
    }
}

fn relabel(e: Error, model: &str) -> Error {
    e.with_provider("vertex_ai").with_model(model)
}

impl Adapter for VertexAdapter {
    fn provider(&self) -> &ProviderId {
        &self.id
    }

    fn adjustments(&self, request: &ChatRequest, model: &str) -> Vec<llm_core::Adjustment> {
        self.inner(model).adjustments(request, model)
    }

    fn location(&self) -> Option<&str> {
        Some(&self.location)
    }

    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall> {
        let url = self.url(model, stream)?;
        let body = match self.publisher(model)? {
            Publisher::Google => crate::gemini::encode::encode_request(request, model),
            Publisher::Anthropic => {
                crate::anthropic::encode::encode_request(request, model, stream, crate::anthropic::DEFAULT_VERSION).map(
                    |mut b| {
                        if let Some(o) = b.as_object_mut() {
                            o.shift_remove("model");
                            o.insert("anthropic_version".into(), ANTHROPIC_VERSION.into());
                        }
                        b
                    },
                )
            }
        }
        .map_err(|e| relabel(e, model))?;
        let mut call = HttpCall::new(url, serde_json::to_vec(&body)?).with_header("content-type", "application/json");
        if let VertexAuth::AccessToken(t) = &self.auth {
            call = call.with_header("authorization", format!("Bearer {}", t.expose()));
        }
        call.headers.extend(self.headers.iter().cloned());
        Ok(call)
    }

    fn decode(&self, body: &[u8], model: &str) -> Result<ChatResponse> {
        self.inner(model).decode(body, model).map_err(|e| relabel(e, model))
    }

    fn framing(&self) -> Framing {
        Framing::Sse
    }

    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder> {
        Box::new(Relabeled { inner: self.inner(model).stream_decoder(model), model: model.to_owned() })
    }
}

/// A Gemini or Anthropic stream decoder whose errors name `vertex_ai`.
struct Relabeled {
    inner: Box<dyn StreamDecoder>,
    model: String,
}

impl StreamDecoder for Relabeled {
    fn decode(&mut self, frame: Frame, out: &mut Vec<StreamEvent>) -> Result<bool> {
        self.inner.decode(frame, out).map_err(|e| relabel(e, &self.model))
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<()> {
        self.inner.finish(out).map_err(|e| relabel(e, &self.model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(location: &str, base: Option<&str>) -> VertexAdapter {
        VertexAdapter::new("my-proj", location, base, VertexAuth::ServiceAccount, vec![]).unwrap()
    }

    #[test]
    fn urls_per_publisher_location_and_base() {
        let a = adapter("us-east5", None);
        assert_eq!(
            a.url("claude-3-5-sonnet@20240620", true).unwrap(),
            "https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet@20240620:streamRawPredict"
        );
        assert_eq!(
            adapter("global", None).url("gemini-2.5-pro", false).unwrap(),
            "https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/publishers/google/models/gemini-2.5-pro:generateContent"
        );
        assert_eq!(
            adapter("europe-west4", Some("http://127.0.0.1:9/proxy")).url("gemini-2.5-flash", true).unwrap(),
            "http://127.0.0.1:9/proxy/v1/projects/my-proj/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        let e = a.url("mistral-large@2407", false).unwrap_err();
        assert_eq!(e.kind(), &llm_core::ErrorKind::Config);
        assert_eq!(e.provider().map(ProviderId::as_str), Some("vertex_ai"));
    }

    #[test]
    fn an_access_token_is_sent_as_a_bearer_and_never_printed() {
        let a = VertexAdapter::new(
            "p",
            "us-central1",
            None,
            VertexAuth::AccessToken(ApiKey::new("ya29.a-planted-access-token")),
            vec![],
        )
        .unwrap();
        let req = ChatRequest::new("vertex_ai/gemini-2.5-flash", vec![llm_core::Message::user("hi")]);
        let call = a.build(&req, "gemini-2.5-flash", false).unwrap();
        assert_eq!(call.header("authorization"), Some("Bearer ya29.a-planted-access-token"));
        assert!(!format!("{call:?}{a:?}").contains("planted"));
    }
}

//! AWS Bedrock Converse and ConverseStream (PROVIDERS.md §13): `POST /model/{modelId}/converse` and
//! `/converse-stream` (binary event stream), authenticated with SigV4 (signing name `bedrock`, feature
//! `bedrock`, through `aws-sigv4`) or a Bedrock API key (`Authorization: Bearer`, `AWS_BEARER_TOKEN_BEDROCK`).
//!
//! A `converse/` prefix on the model (LiteLLM's `bedrock/converse/<id>`) is removed; the model id is
//! percent-encoded in the path (`:` → `%3A`), and the signer encodes it a second time for the canonical
//! request, as SigV4 requires for non-S3 services.

pub mod decode;
pub mod encode;
pub mod stream;
pub mod wire;

use llm_core::{ApiKey, ChatRequest, ChatResponse, Error, ProviderId, Result};

use crate::adapter::{Adapter, HttpCall, StreamDecoder};
use crate::framing::Framing;

/// AWS credentials for SigV4. `Debug` never prints the secret or the session token.
#[derive(Clone)]
pub struct AwsCredentials {
    /// The access key id (`AKIA…`/`ASIA…`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: ApiKey,
    /// The session token of temporary credentials.
    pub session_token: Option<ApiKey>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials").field("access_key_id", &"<redacted>").finish_non_exhaustive()
    }
}

impl AwsCredentials {
    /// Credentials from values.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: ApiKey, session_token: Option<ApiKey>) -> Self {
        Self { access_key_id: access_key_id.into(), secret_access_key, session_token }
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Option<Self> {
        let id = std::env::var("AWS_ACCESS_KEY_ID").ok().filter(|v| !v.is_empty())?;
        let secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok().filter(|v| !v.is_empty())?;
        let token = std::env::var("AWS_SESSION_TOKEN").ok().filter(|v| !v.is_empty()).map(ApiKey::new);
        Some(Self::new(id, ApiKey::new(secret), token))
    }
}

/// How Bedrock calls are authenticated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BedrockAuth {
    /// A Bedrock API key.
    Bearer(ApiKey),
    /// SigV4 with these credentials.
    SigV4(AwsCredentials),
}

/// The Bedrock adapter.
#[derive(Debug, Clone)]
pub struct BedrockAdapter {
    id: ProviderId,
    base: String,
    region: String,
    auth: BedrockAuth,
    headers: Vec<(String, String)>,
}

impl BedrockAdapter {
    /// An adapter at `base` (`https://bedrock-runtime.{region}.amazonaws.com`) for `region`.
    pub fn new(base: &str, region: &str, auth: BedrockAuth, headers: Vec<(String, String)>) -> Self {
        Self {
            id: ProviderId::new("bedrock"),
            base: base.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            auth,
            headers,
        }
    }

    /// The URL for a model id.
    pub fn url(&self, model: &str, stream: bool) -> String {
        let id = model.strip_prefix("converse/").unwrap_or(model);
        let op = if stream { "converse-stream" } else { "converse" };
        format!("{}/model/{}/{op}", self.base, encode_segment(id))
    }
}

fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(feature = "bedrock")]
fn sign(call: &mut HttpCall, region: &str, c: &AwsCredentials) -> Result<()> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(
        c.access_key_id.clone(),
        c.secret_access_key.expose().to_owned(),
        c.session_token.as_ref().map(|t| t.expose().to_owned()),
        None,
        "llm-providers",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Error::config(format!("cannot sign the bedrock request: {e}")))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        call.url.as_str(),
        call.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&call.body),
    )
    .map_err(|e| Error::config(format!("cannot sign the bedrock request: {e}")))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| Error::config(format!("cannot sign the bedrock request: {e}")))?
        .into_parts();
    let (headers, _) = instructions.into_parts();
    for h in headers {
        call.headers.push((h.name().to_owned(), h.value().to_owned()));
    }
    Ok(())
}

#[cfg(not(feature = "bedrock"))]
fn sign(_: &mut HttpCall, _: &str, _: &AwsCredentials) -> Result<()> {
    Err(Error::config("sigv4 signing needs the `bedrock` feature of llm-providers; or use a bedrock api key"))
}

impl Adapter for BedrockAdapter {
    fn provider(&self) -> &ProviderId {
        &self.id
    }

    fn adjustments(&self, request: &ChatRequest, _model: &str) -> Vec<llm_core::Adjustment> {
        crate::dialect::request_adjustments(request, Some(crate::dialect::anthropic), |t| {
            (t.strict == Some(true)).then_some(crate::dialect::anthropic as crate::dialect::NodeRewrite)
        })
    }

    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall> {
        #[cfg(not(feature = "bedrock"))]
        if stream {
            return Err(crate::framing::no_event_stream().with_provider("bedrock").with_model(model));
        }
        let body = encode::encode_request(request, model).map_err(|e| e.with_model(model))?;
        let mut call = HttpCall::new(self.url(model, stream), serde_json::to_vec(&body)?)
            .with_header("content-type", "application/json");
        if stream {
            call = call.with_header("accept", "application/vnd.amazon.eventstream");
        }
        call.headers.extend(self.headers.iter().cloned());
        match &self.auth {
            BedrockAuth::Bearer(k) => call = call.with_header("authorization", format!("Bearer {}", k.expose())),
            BedrockAuth::SigV4(c) => sign(&mut call, &self.region, c).map_err(|e| e.with_provider("bedrock"))?,
        }
        Ok(call)
    }

    fn decode(&self, body: &[u8], model: &str) -> Result<ChatResponse> {
        decode::decode_response(body).map_err(|e| e.with_provider("bedrock").with_model(model))
    }

    fn framing(&self) -> Framing {
        Framing::AwsEventStream
    }

    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder> {
        Box::new(stream::BedrockStreamDecoder::new(model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_encoded_in_the_path() {
        let a = BedrockAdapter::new(
            "https://bedrock-runtime.us-east-1.amazonaws.com",
            "us-east-1",
            BedrockAuth::Bearer(ApiKey::new("k")),
            vec![],
        );
        assert_eq!(
            a.url("converse/us.anthropic.claude-sonnet-4-5-20250929-v1:0", true),
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
        );
    }

    #[cfg(feature = "bedrock")]
    #[test]
    fn sigv4_headers_are_added() {
        let creds = AwsCredentials::new("AKIDEXAMPLE", ApiKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), None);
        let a = BedrockAdapter::new(
            "https://bedrock-runtime.us-east-1.amazonaws.com",
            "us-east-1",
            BedrockAuth::SigV4(creds),
            vec![],
        );
        let req = ChatRequest::new("anthropic.claude-3-haiku-20240307-v1:0", vec![llm_core::Message::user("hi")]);
        let call = a.build(&req, "anthropic.claude-3-haiku-20240307-v1:0", false).unwrap();
        let auth = call.header("authorization").unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{auth}");
        assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
        assert!(call.header("x-amz-date").is_some());
        assert!(!format!("{call:?}").contains("AWS4-HMAC"));
    }
}

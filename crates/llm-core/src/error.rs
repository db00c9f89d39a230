//! The error that crosses the [`crate::Provider`] boundary.

use std::fmt;
use std::time::Duration;

use crate::ids::{ModelId, ProviderId};

/// What went wrong, in one taxonomy for every provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The key is missing, invalid or revoked (401, and a few providers' 400).
    Auth,
    /// The key may not do this (403).
    Permission,
    /// The model or endpoint does not exist (404).
    NotFound,
    /// Too many requests; retry later (429).
    RateLimited,
    /// Out of credit or over a hard quota (402, 429 `insufficient_quota`); retrying does not help.
    QuotaExceeded,
    /// The prompt does not fit the model's context window.
    ContextLength,
    /// A safety filter refused the request or the output.
    ContentFilter,
    /// The request is malformed or has a parameter the provider or model rejects (400, 422).
    InvalidRequest,
    /// The provider failed (500, 502, 504).
    Server,
    /// The provider is overloaded (503, Anthropic's 529).
    Overloaded,
    /// The call or a gap between stream chunks took too long.
    Timeout,
    /// The connection failed or dropped.
    Network,
    /// The provider's answer could not be read (malformed JSON, a truncated stream, a missing field).
    Decode,
    /// A spend budget would be exceeded; nothing was sent.
    BudgetExceeded,
    /// The client is misconfigured (no key, an unknown provider, a bad URL).
    Config,
    /// The provider or model does not offer this operation (embeddings from a chat-only provider, say).
    Unsupported,
    /// Anything else, with the provider's own name for it.
    Other(String),
}

impl ErrorKind {
    /// A short, stable, snake_case name, used in JSON output and records.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::QuotaExceeded => "quota_exceeded",
            Self::ContextLength => "context_length",
            Self::ContentFilter => "content_filter",
            Self::InvalidRequest => "invalid_request",
            Self::Server => "server",
            Self::Overloaded => "overloaded",
            Self::Timeout => "timeout",
            Self::Network => "network",
            Self::Decode => "decode",
            Self::BudgetExceeded => "budget_exceeded",
            Self::Config => "config",
            Self::Unsupported => "unsupported",
            Self::Other(s) => s,
        }
    }

    /// Reads a name written by [`ErrorKind::as_str`].
    pub fn parse(s: &str) -> Self {
        match s {
            "auth" => Self::Auth,
            "permission" => Self::Permission,
            "not_found" => Self::NotFound,
            "rate_limited" => Self::RateLimited,
            "quota_exceeded" => Self::QuotaExceeded,
            "context_length" => Self::ContextLength,
            "content_filter" => Self::ContentFilter,
            "invalid_request" => Self::InvalidRequest,
            "server" => Self::Server,
            "overloaded" => Self::Overloaded,
            "timeout" => Self::Timeout,
            "network" => Self::Network,
            "decode" => Self::Decode,
            "budget_exceeded" => Self::BudgetExceeded,
            "config" => Self::Config,
            "unsupported" => Self::Unsupported,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Whether an error of this kind is worth retrying by default.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited | Self::Server | Self::Overloaded | Self::Timeout | Self::Network)
    }

    /// The kind an HTTP status maps to when nothing more specific is known (see PROVIDERS.md §1.3).
    pub fn from_status(status: u16) -> Self {
        match status {
            400 | 409 | 413 | 415 | 422 => Self::InvalidRequest,
            401 => Self::Auth,
            402 => Self::QuotaExceeded,
            403 => Self::Permission,
            404 => Self::NotFound,
            408 => Self::Timeout,
            429 | 498 => Self::RateLimited,
            503 | 529 => Self::Overloaded,
            504 => Self::Timeout,
            500..=599 => Self::Server,
            other => Self::Other(format!("http_{other}")),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most bytes of a provider's error body an [`Error`] keeps.
pub const MAX_BODY_BYTES: usize = 2048;

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    provider: Option<ProviderId>,
    model: Option<ModelId>,
    status: Option<u16>,
    retry_after: Option<Duration>,
    should_retry: Option<bool>,
    body: Option<String>,
    retries: Vec<crate::report::Retry>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// An error from a provider call or from the layers around it: opaque, with a [`ErrorKind`], the HTTP status,
/// the server's retry hint, the provider and model it concerns, a truncated copy of the provider's error body
/// and the `source()` chain.
///
/// Messages are lowercase and never contain an API key: constructors that take provider text run it through
/// [`redact_secrets`].
///
/// ```
/// use llm_core::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::RateLimited, "slow down")
///     .with_provider("openai")
///     .with_model("gpt-4o")
///     .with_status(429)
///     .with_retry_after(std::time::Duration::from_secs(2));
/// assert!(e.is_retryable());
/// assert_eq!(e.to_string(), "rate_limited from openai (gpt-4o), http 429: slow down");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of this kind with this message (secrets in it are redacted).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: redact_secrets(&message.into()),
                provider: None,
                model: None,
                status: None,
                retry_after: None,
                should_retry: None,
                body: None,
                retries: Vec::new(),
                source: None,
            }),
        }
    }

    /// A [`ErrorKind::Decode`] error for a provider answer that could not be read.
    pub fn decode(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Decode, message)
    }

    /// A [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Sets the provider.
    #[must_use]
    pub fn with_provider(mut self, provider: impl Into<ProviderId>) -> Self {
        self.inner.provider = Some(provider.into());
        self
    }

    /// Sets the model.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<ModelId>) -> Self {
        self.inner.model = Some(model.into());
        self
    }

    /// Sets the HTTP status.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Sets the server's retry hint.
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.inner.retry_after = Some(wait);
        self
    }

    /// Records the server's `x-should-retry` verdict, which overrides the kind's default.
    #[must_use]
    pub fn with_should_retry(mut self, retry: bool) -> Self {
        self.inner.should_retry = Some(retry);
        self
    }

    /// Keeps the provider's error body for debugging: truncated to [`MAX_BODY_BYTES`] and redacted.
    #[must_use]
    pub fn with_body(mut self, body: &str) -> Self {
        // Redacted before it is cut, so a secret that straddles the cut is still found whole.
        let redacted = redact_secrets(prefix(body, MAX_BODY_BYTES + 1024));
        self.inner.body = Some(prefix(&redacted, MAX_BODY_BYTES).to_owned());
        self
    }

    /// Records the attempts that failed and were retried before this error ended the call.
    #[must_use]
    pub fn with_retries(mut self, retries: Vec<crate::report::Retry>) -> Self {
        self.inner.retries = retries;
        self
    }

    /// Sets the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Replaces the message (secrets in it are redacted), keeping everything else: a layer that adds context,
    /// say the URL a 404 came from.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = redact_secrets(&message.into());
        self
    }

    /// Changes the kind (a layer that knows better, say a message that names the context window).
    #[must_use]
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.inner.kind = kind;
        self
    }

    /// The kind.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The message, without context.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The provider, when known.
    pub fn provider(&self) -> Option<&ProviderId> {
        self.inner.provider.as_ref()
    }

    /// The model, when known.
    pub fn model(&self) -> Option<&ModelId> {
        self.inner.model.as_ref()
    }

    /// The HTTP status, when the error came from an HTTP answer.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// How long the server asked to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The provider's error body, truncated and redacted.
    pub fn body(&self) -> Option<&str> {
        self.inner.body.as_deref()
    }

    /// The attempts that failed and were retried before the one that ended in this error (empty when the
    /// first attempt failed for good).
    pub fn retries(&self) -> &[crate::report::Retry] {
        &self.inner.retries
    }

    /// Whether retrying may succeed: the server's `x-should-retry` when it sent one, else the kind's default.
    pub fn is_retryable(&self) -> bool {
        self.inner.should_retry.unwrap_or_else(|| self.inner.kind.is_retryable())
    }

    /// True for [`ErrorKind::Timeout`].
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind).field("message", &self.inner.message);
        if let Some(p) = &self.inner.provider {
            d.field("provider", p);
        }
        if let Some(m) = &self.inner.model {
            d.field("model", m);
        }
        if let Some(s) = self.inner.status {
            d.field("status", &s);
        }
        if let Some(r) = self.inner.retry_after {
            d.field("retry_after", &r);
        }
        if !self.inner.retries.is_empty() {
            d.field("retries", &self.inner.retries.len());
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner.kind)?;
        if let Some(p) = &self.inner.provider {
            write!(f, " from {p}")?;
        }
        if let Some(m) = &self.inner.model {
            write!(f, " ({m})")?;
        }
        if let Some(s) = self.inner.status {
            write!(f, ", http {s}")?;
        }
        write!(f, ": {}", self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_ref().map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::decode(format!("invalid json: {e}")).with_source(e)
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The shortest secret [`register_secret`] keeps: shorter values would redact ordinary words.
pub const MIN_SECRET_LEN: usize = 8;

/// The most secrets kept for redaction; later ones are still caught by the patterns of [`redact_secrets`].
pub const MAX_SECRETS: usize = 1024;

static SECRETS: std::sync::RwLock<Vec<Box<str>>> = std::sync::RwLock::new(Vec::new());

/// Registers a secret's exact value for redaction: from then on [`redact_secrets`] replaces it wherever it
/// appears, whatever it looks like (a key without a known prefix, a proxy's key, a password). Every
/// [`crate::ApiKey`] registers itself. Values shorter than [`MIN_SECRET_LEN`] bytes (after trimming) are not
/// kept, nor more than [`MAX_SECRETS`] values per process.
///
/// ```
/// llm_core::register_secret("vllm-PLANTED-token");
/// assert_eq!(llm_core::redact_secrets("bad key vllm-PLANTED-token!"), "bad key <redacted>!");
/// ```
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    if SECRETS.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter().any(|s| &**s == secret) {
        return;
    }
    let mut all = SECRETS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if all.len() < MAX_SECRETS && !all.iter().any(|s| &**s == secret) {
        all.push(secret.into());
    }
}

/// Replaces secrets in text with `<redacted>`: every value given to [`register_secret`] (every
/// [`crate::ApiKey`]'s), the password of a URL (`postgres://user:<redacted>@host`), tokens that start with a
/// known key prefix (`sk-`, `sk_`, `gsk_`, `xai-`, `AIza`, `pk-`, `or-`, `AKIA`, `pplx-`, `Bearer `) and long
/// runs of key-like characters (32 or more letters, digits, `-` and `_` with at least one digit).
///
/// ```
/// assert_eq!(
///     llm_core::redact_secrets("Incorrect API key provided: sk-proj-abc123xyz."),
///     "Incorrect API key provided: <redacted>."
/// );
/// assert_eq!(
///     llm_core::redact_secrets("cannot connect to postgres://app:hunter2@db:5432/spend"),
///     "cannot connect to postgres://app:<redacted>@db:5432/spend"
/// );
/// ```
pub fn redact_secrets(text: &str) -> String {
    let mut owned: Option<String> = None;
    {
        let secrets = SECRETS.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        for s in secrets.iter() {
            let current = owned.as_deref().unwrap_or(text);
            if current.contains(&**s) {
                owned = Some(current.replace(&**s, "<redacted>"));
            }
        }
    }
    let text = owned.as_deref().unwrap_or(text);
    let text = redact_url_passwords(text);
    redact_patterns(&text)
}

/// Masks the password of every `scheme://user:password@host` in `text`.
fn redact_url_passwords(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        // The authority ends at the first '/', '?', '#' or white space.
        let end = after.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace()).unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..=colon]);
                        out.push_str("<redacted>");
                        out.push_str(&authority[at..]);
                    }
                    None => out.push_str(authority),
                }
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn redact_patterns(text: &str) -> String {
    const PREFIXES: [&str; 9] = ["sk-", "sk_", "gsk_", "xai-", "AIza", "pk-", "AKIA", "or-v1-", "pplx-"];
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| is_key_char(c)) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let end = from.find(|c: char| !is_key_char(c)).unwrap_or(from.len());
        let (token, after) = from.split_at(end);
        let prefixed = PREFIXES.iter().any(|p| token.starts_with(p) && token.len() > p.len() + 3);
        let long_mixed = token.len() >= 32 && token.chars().any(|c| c.is_ascii_digit());
        let at_word_start = before.chars().last().is_none_or(|c| !is_key_char(c));
        if at_word_start && (prefixed || long_mixed) {
            out.push_str("<redacted>");
        } else {
            out.push_str(token);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_names() {
        for kind in [
            ErrorKind::Auth,
            ErrorKind::Permission,
            ErrorKind::NotFound,
            ErrorKind::RateLimited,
            ErrorKind::QuotaExceeded,
            ErrorKind::ContextLength,
            ErrorKind::ContentFilter,
            ErrorKind::InvalidRequest,
            ErrorKind::Server,
            ErrorKind::Overloaded,
            ErrorKind::Timeout,
            ErrorKind::Network,
            ErrorKind::Decode,
            ErrorKind::BudgetExceeded,
            ErrorKind::Config,
            ErrorKind::Other("weird".into()),
        ] {
            assert_eq!(ErrorKind::parse(kind.as_str()), kind);
        }
    }

    #[test]
    fn status_mapping() {
        let cases = [
            (400, ErrorKind::InvalidRequest),
            (401, ErrorKind::Auth),
            (402, ErrorKind::QuotaExceeded),
            (403, ErrorKind::Permission),
            (404, ErrorKind::NotFound),
            (408, ErrorKind::Timeout),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Server),
            (502, ErrorKind::Server),
            (503, ErrorKind::Overloaded),
            (504, ErrorKind::Timeout),
            (529, ErrorKind::Overloaded),
            (302, ErrorKind::Other("http_302".into())),
        ];
        for (status, kind) in cases {
            assert_eq!(ErrorKind::from_status(status), kind, "status {status}");
        }
    }

    #[test]
    fn should_retry_header_overrides_kind() {
        let e = Error::new(ErrorKind::InvalidRequest, "x");
        assert!(!e.is_retryable());
        assert!(e.with_should_retry(true).is_retryable());
        let e = Error::new(ErrorKind::Server, "x").with_should_retry(false);
        assert!(!e.is_retryable());
        assert!(!Error::new(ErrorKind::QuotaExceeded, "x").is_retryable());
    }

    #[test]
    fn secrets_never_print() {
        let key = "sk-proj-AbCdEf0123456789AbCdEf0123456789";
        let e = Error::new(ErrorKind::Auth, format!("Incorrect API key provided: {key}"))
            .with_body(&format!("{{\"error\":{{\"message\":\"bad key {key}\"}}}}"));
        let all = format!("{e} {e:?} {}", e.body().unwrap_or(""));
        assert!(!all.contains("AbCdEf0123"), "{all}");
        assert!(all.contains("<redacted>"));
        assert_eq!(redact_secrets("AIzaSyA-1234567890 and gsk_abcdef"), "<redacted> and <redacted>");
        assert_eq!(redact_secrets("max_tokens is too large"), "max_tokens is too large");
        assert_eq!(redact_secrets("model gpt-4o-2024-08-06"), "model gpt-4o-2024-08-06");
    }

    #[test]
    fn with_message_keeps_the_rest_and_redacts() {
        let e = Error::new(ErrorKind::NotFound, "no such model")
            .with_provider("openai")
            .with_status(404)
            .with_message("no such model (POST https://h/v1/x sk-proj-AbCdEf0123456789AbCdEf0123456789)");
        assert_eq!(e.message(), "no such model (POST https://h/v1/x <redacted>)");
        assert_eq!((e.kind(), e.status()), (&ErrorKind::NotFound, Some(404)));
        assert_eq!(e.provider().map(ProviderId::as_str), Some("openai"));
    }

    #[test]
    fn registered_secrets_and_url_passwords_never_print() {
        let key = crate::ApiKey::new("vllm-PLANTED-token");
        let e = Error::new(ErrorKind::Auth, format!("bad key {} for hosted_vllm", key.expose()))
            .with_body(&format!("{{\"detail\": \"key {} rejected\"}}", key.expose()));
        let all = format!("{e} {e:?} {}", e.body().unwrap_or(""));
        assert!(!all.contains("PLANTED"), "{all}");
        assert_eq!(e.message(), "bad key <redacted> for hosted_vllm");
        // Too short to register: ordinary words stay.
        register_secret("abc");
        assert_eq!(redact_secrets("abc def"), "abc def");
        assert_eq!(
            redact_secrets("postgres://u:p%40ss@h/db and mysql://root@h and https://x.io/a?b=c://d"),
            "postgres://u:<redacted>@h/db and mysql://root@h and https://x.io/a?b=c://d"
        );
        assert_eq!(redact_secrets("pplx-0123456789abcdef"), "<redacted>");
    }

    #[test]
    fn body_is_truncated_on_a_char_boundary() {
        let body = "é".repeat(MAX_BODY_BYTES);
        let e = Error::new(ErrorKind::Server, "x").with_body(&body);
        let kept = e.body().unwrap();
        assert!(kept.len() <= MAX_BODY_BYTES);
        assert_eq!(kept.len() % 2, 0);
    }

    #[test]
    fn display_names_context() {
        let e = Error::decode("missing field `choices`").with_provider("anthropic").with_model("claude-x");
        assert_eq!(e.to_string(), "decode from anthropic (claude-x): missing field `choices`");
        assert_eq!(Error::config("no key").to_string(), "config: no key");
    }
}

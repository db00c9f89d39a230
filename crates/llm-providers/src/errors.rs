//! Mapping a provider's HTTP error answer to an [`llm_core::Error`] (PROVIDERS.md §1.3, LITELLM.md §3h):
//! the status gives the default kind, the body and headers refine it (context-length phrases, quota codes,
//! invalid-key messages sent with a 400, AWS error types), and the retry hints are read from the headers
//! (`retry-after-ms`, `retry-after`, `x-should-retry`) or from Gemini's `RetryInfo.retryDelay`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llm_core::{Error, ErrorKind};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// What was learnt from an error body.
#[derive(Debug, Default)]
struct Parsed {
    message: Option<String>,
    codes: Vec<String>,
    retry_delay: Option<Duration>,
}

fn collect_codes(v: &Value, out: &mut Vec<String>) {
    for key in ["type", "code", "status", "reason", "error_type", "error_code"] {
        match v.get(key) {
            Some(Value::String(s)) => out.push(s.clone()),
            Some(Value::Number(n)) => out.push(n.to_string()),
            _ => {}
        }
    }
}

fn parse_body(body: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body).trim().to_owned();
        if !text.is_empty() {
            p.message = Some(text.chars().take(300).collect());
        }
        return p;
    };
    // Some providers wrap the error in a one-element array (older Gemini stream errors).
    let v = match v {
        Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
        other => other,
    };
    collect_codes(&v, &mut p.codes);
    match v.get("error") {
        Some(Value::String(s)) => p.message = Some(s.clone()),
        Some(err @ Value::Object(_)) => {
            p.message = err.get("message").and_then(Value::as_str).map(str::to_owned);
            collect_codes(err, &mut p.codes);
            for nested in ["details", "metadata", "innererror"] {
                match err.get(nested) {
                    Some(Value::Array(items)) => {
                        for d in items {
                            collect_codes(d, &mut p.codes);
                            if let Some(delay) = d.get("retryDelay").and_then(Value::as_str) {
                                p.retry_delay = parse_duration_text(delay);
                            }
                            if let Some(violations) = d.get("violations").and_then(Value::as_array) {
                                for q in violations {
                                    if let Some(id) = q.get("quotaId").and_then(Value::as_str) {
                                        p.codes.push(id.to_owned());
                                    }
                                }
                            }
                        }
                    }
                    Some(obj @ Value::Object(_)) => collect_codes(obj, &mut p.codes),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    if p.message.is_none() {
        p.message = v.get("message").and_then(Value::as_str).map(str::to_owned);
    }
    if p.message.is_none()
        && let Some(detail) = v.get("detail")
    {
        p.message = Some(match detail {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    p
}

/// The longest wait a server hint is read as (one day). A hint beyond it (`retry-after-ms: 1e30`, a date in
/// year 9999) is kept as exactly this long: far more than any [`crate::RetryPolicy::max_retry_after`] obeys, so
/// the retries end and the error still says the server asked for a long wait ([`Error::retry_after`]). Every
/// hint the error path returns is at most this.
pub const MAX_RETRY_HINT: Duration = Duration::from_secs(86_400);

/// A hint in seconds as a [`Duration`]: `None` when it is not a finite, non-negative number; at most
/// [`MAX_RETRY_HINT`] (a longer one is saturated to it).
fn hint_from_secs(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    if secs >= MAX_RETRY_HINT.as_secs_f64() {
        return Some(MAX_RETRY_HINT);
    }
    Duration::try_from_secs_f64(secs).ok().map(|d| d.min(MAX_RETRY_HINT))
}

/// `"38s"`, `"1.5s"`, `"926ms"` (Google and OpenAI style durations; only seconds and milliseconds), bounded as
/// [`hint_from_secs`] says.
fn parse_duration_text(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse::<f64>().ok().and_then(|v| hint_from_secs(v / 1000.0));
    }
    let secs = s.strip_suffix('s').unwrap_or(s);
    secs.parse::<f64>().ok().and_then(hint_from_secs)
}

const CONTEXT_PHRASES: [&str; 14] = [
    "context_length_exceeded",
    "context length",
    "maximum context",
    "context window",
    "prompt is too long",
    "input is too long",
    "too many input tokens",
    "exceeds the maximum number of tokens",
    "input token count",
    "token_limit_exceeded",
    "string_too_long",
    "reduce the length of the messages",
    // llama.cpp's server: `"type": "exceed_context_size_error"`, "the request exceeds the available context size"
    "exceed_context_size_error",
    "available context size",
];

const AUTH_PHRASES: [&str; 6] = [
    "api_key_invalid",
    "api key not valid",
    "incorrect api key",
    "invalid api key",
    "invalid x-api-key",
    "invalid_api_key",
];

fn has(codes: &[String], wanted: &[&str]) -> bool {
    codes.iter().any(|c| wanted.iter().any(|w| c.eq_ignore_ascii_case(w)))
}

/// Refines the status-derived kind with what the body and the AWS error-type header say.
fn classify(status: u16, parsed: &Parsed, aws_type: Option<&str>) -> ErrorKind {
    let mut codes = parsed.codes.clone();
    if let Some(t) = aws_type {
        codes.push(t.split(':').next().unwrap_or(t).to_owned());
    }
    let msg = parsed.message.as_deref().unwrap_or("").to_ascii_lowercase();
    let all = format!("{} {}", msg, codes.join(" ").to_ascii_lowercase());

    if status == 402
        || has(
            &codes,
            &[
                "insufficient_quota",
                "billing_error",
                "enforced_spend_limit_reached",
                "ServiceQuotaExceededException",
                "payment_required",
                "insufficient_balance",
            ],
        )
        || codes.iter().any(|c| c.contains("PerDay"))
        || msg.contains("insufficient balance")
        || msg.contains("insufficient credits")
    {
        return ErrorKind::QuotaExceeded;
    }
    if has(&codes, &["UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"])
        || AUTH_PHRASES.iter().any(|p| all.contains(p))
    {
        return ErrorKind::Auth;
    }
    if has(&codes, &["AccessDeniedException", "permission_denied"]) && status != 401 {
        return ErrorKind::Permission;
    }
    if matches!(status, 400 | 413 | 422) && CONTEXT_PHRASES.iter().any(|p| all.contains(p)) {
        return ErrorKind::ContextLength;
    }
    if has(&codes, &["content_filter", "content_policy_violation", "ResponsibleAIPolicyViolation", "refusal"])
        || msg.contains("content management policy")
    {
        return ErrorKind::ContentFilter;
    }
    if has(&codes, &["ThrottlingException", "ModelNotReadyException", "rate_limit_exceeded", "rate_limit_error"]) {
        return ErrorKind::RateLimited;
    }
    if has(&codes, &["ServiceUnavailableException", "overloaded_error", "provider_overloaded", "UNAVAILABLE"]) {
        return ErrorKind::Overloaded;
    }
    if has(&codes, &["ModelTimeoutException", "DEADLINE_EXCEEDED", "timeout_error"]) {
        return ErrorKind::Timeout;
    }
    if has(&codes, &["ResourceNotFoundException", "model_not_found", "not_found_error"])
        || msg.contains("model_not_found")
    {
        return ErrorKind::NotFound;
    }
    if has(&codes, &["InternalServerException", "ModelErrorException"]) || status == 424 {
        return ErrorKind::Server;
    }
    ErrorKind::from_status(status)
}

/// The server's retry hint: `retry-after-ms`, then `retry-after` (seconds or an HTTP date), at most
/// [`MAX_RETRY_HINT`]. A value that is not a finite, non-negative number or a valid date is ignored; a date in
/// the past means no wait.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(wait) =
        get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()).and_then(|ms| hint_from_secs(ms / 1000.0))
    {
        return Some(wait);
    }
    let v = get("retry-after")?;
    if let Ok(secs) = v.parse::<f64>() {
        return hint_from_secs(secs);
    }
    let at = parse_http_date(v)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)).min(MAX_RETRY_HINT))
}

/// "Please try again in 926ms" / "try again in 3.805s" (OpenAI and Groq rate-limit messages), used when no
/// header says how long to wait.
fn try_again_in(message: &str) -> Option<Duration> {
    let at = message.find("try again in ")? + "try again in ".len();
    let rest = &message[at..];
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(rest.len());
    parse_duration_text(rest[..end].trim_end_matches('.'))
}

/// `x-should-retry: true|false`.
pub(crate) fn should_retry(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry").and_then(|v| v.to_str().ok()).map(str::trim) {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's HTTP date) into Unix seconds with jiff's
/// `strftime`-style parser. A field out of range (a year outside 1970–9999, day 32, hour 24, ...) or trailing
/// text makes it `None`; the weekday is read but not checked against the date (servers get it wrong).
fn parse_http_date(s: &str) -> Option<u64> {
    const EPOCH: jiff::civil::DateTime = jiff::civil::DateTime::constant(1970, 1, 1, 0, 0, 0, 0);
    let mut parsed = jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S GMT", s.trim()).ok()?;
    parsed.set_weekday(None);
    // civil arithmetic, not a `Timestamp`: jiff's instants end on 9999-12-30, its civil dates on 9999-12-31
    let at = parsed.to_datetime().ok()?;
    u64::try_from(at.duration_since(EPOCH).as_secs()).ok()
}

/// Builds the error for a non-success HTTP answer.
pub fn http_error(provider: &str, model: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed = parse_body(body);
    let aws_type = headers.get("x-amzn-errortype").and_then(|v| v.to_str().ok());
    let kind = classify(status, &parsed, aws_type);
    let message = match &parsed.message {
        Some(m) => m.clone(),
        None => format!("http status {status} with an empty body"),
    };
    let mut e = Error::new(kind.clone(), message)
        .with_provider(provider)
        .with_model(model)
        .with_status(status)
        .with_body(&String::from_utf8_lossy(body));
    let hinted = parsed.message.as_deref().and_then(try_again_in);
    if let Some(wait) = retry_after(headers).or(parsed.retry_delay).or(hinted) {
        e = e.with_retry_after(wait);
    }
    match should_retry(headers) {
        Some(verdict) => e = e.with_should_retry(verdict && kind != ErrorKind::QuotaExceeded),
        None if status == 409 => e = e.with_should_retry(true),
        None => {}
    }
    e
}

/// A URL as an error message may show it: without its query string (Gemini's key can travel as `?key=`),
/// fragment or user info.
pub(crate) fn display_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    // Both fail only for URLs that cannot have credentials, which then have none to remove.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// Ends the message of a 404 with the request that got it, `(POST http://host/path)`, so a wrong api_base or
/// path prefix shows where the call went. The query string is never shown.
pub(crate) fn with_request_line(e: Error, method: &str, url: &reqwest::Url) -> Error {
    let message = format!("{} ({method} {})", e.message(), display_url(url));
    e.with_message(message)
}

/// The error for an `error` object received inside a stream (after HTTP 200).
pub(crate) fn stream_error(provider: &str, model: &str, body: &[u8]) -> Error {
    let parsed = parse_body(body);
    let status =
        parsed.codes.iter().find_map(|c| c.parse::<u16>().ok().filter(|s| (400..600).contains(s))).unwrap_or(500);
    let kind = classify(status, &parsed, None);
    let message = parsed.message.unwrap_or_else(|| "error inside the stream".to_owned());
    Error::new(kind, format!("error in stream: {message}"))
        .with_provider(provider)
        .with_model(model)
        .with_body(&String::from_utf8_lossy(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn kind(status: u16, body: &str) -> ErrorKind {
        http_error("p", "m", status, &HeaderMap::new(), body.as_bytes()).kind().clone()
    }

    #[test]
    fn status_and_body_sniffing() {
        assert_eq!(
            kind(
                400,
                r#"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#
            ),
            ErrorKind::ContextLength
        );
        assert_eq!(
            kind(
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208417 tokens > 200000 maximum"}}"#
            ),
            ErrorKind::ContextLength
        );
        assert_eq!(
            kind(
                429,
                r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#
            ),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(
            kind(429, r#"{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}"#),
            ErrorKind::RateLimited
        );
        assert_eq!(
            kind(
                400,
                r#"{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***2f."}"#
            ),
            ErrorKind::Auth
        );
        assert_eq!(
            kind(
                400,
                r#"{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}"#
            ),
            ErrorKind::Auth
        );
        assert_eq!(kind(402, r#"{"error":{"message":"Insufficient Balance"}}"#), ErrorKind::QuotaExceeded);
        assert_eq!(
            kind(529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            ErrorKind::Overloaded
        );
        assert_eq!(kind(400, r#"{"error":{"code":"content_filter","message":"filtered"}}"#), ErrorKind::ContentFilter);
        assert_eq!(kind(500, "<html>oops</html>"), ErrorKind::Server);
        assert_eq!(kind(404, r#"{"error": "model 'qwen3-vl:80b' not found"}"#), ErrorKind::NotFound);
        assert_eq!(kind(422, r#"{"detail":[{"loc":["body"],"msg":"bad"}]}"#), ErrorKind::InvalidRequest);
        assert_eq!(kind(498, "{}"), ErrorKind::RateLimited);
    }

    #[test]
    fn aws_error_types() {
        let mut h = HeaderMap::new();
        h.insert("x-amzn-errortype", HeaderValue::from_static("ThrottlingException:http://internal.amazon.com/coral/"));
        let e =
            http_error("bedrock", "m", 429, &h, br#"{"message":"Too many tokens, please wait before trying again."}"#);
        assert_eq!(e.kind(), &ErrorKind::RateLimited);
        assert_eq!(e.message(), "Too many tokens, please wait before trying again.");
        h.insert("x-amzn-errortype", HeaderValue::from_static("ServiceQuotaExceededException"));
        assert_eq!(http_error("bedrock", "m", 400, &h, b"{}").kind(), &ErrorKind::QuotaExceeded);
        h.insert("x-amzn-errortype", HeaderValue::from_static("UnrecognizedClientException"));
        assert_eq!(http_error("bedrock", "m", 403, &h, b"{}").kind(), &ErrorKind::Auth);
    }

    #[test]
    fn retry_hints() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        h.insert("x-should-retry", HeaderValue::from_static("false"));
        let e = http_error("p", "m", 503, &h, b"");
        assert!(!e.is_retryable());
        let gemini = br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"quota","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"38s"}]}}"#;
        let e = http_error("gemini", "m", 429, &HeaderMap::new(), gemini);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(38)));
        assert_eq!(e.kind(), &ErrorKind::RateLimited);
        assert_eq!(parse_duration_text("926ms"), Some(Duration::from_millis(926)));
        assert_eq!(try_again_in("Please try again in 3.805s. Visit"), Some(Duration::from_millis(3805)));
        assert_eq!(try_again_in("Please try again in 926ms."), Some(Duration::from_millis(926)));
        assert_eq!(try_again_in("no hint"), None);
    }

    #[test]
    fn hostile_hints_are_bounded() {
        let header = |name: &'static str, value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            retry_after(&h)
        };
        assert_eq!(header("retry-after-ms", "1e30"), Some(MAX_RETRY_HINT));
        assert_eq!(header("retry-after-ms", "NaN"), None);
        assert_eq!(header("retry-after-ms", "inf"), None);
        assert_eq!(header("retry-after-ms", "-5"), None);
        assert_eq!(header("retry-after-ms", "86400000"), Some(MAX_RETRY_HINT));
        assert_eq!(header("retry-after-ms", "1.5"), Some(Duration::from_micros(1500)));
        assert_eq!(header("retry-after", "99999999999999999999"), Some(MAX_RETRY_HINT));
        assert_eq!(header("retry-after", "-1"), None);
        assert_eq!(header("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"), Some(MAX_RETRY_HINT));
        assert_eq!(header("retry-after", "Fri, 31 Dec 99999999999999 23:59:59 GMT"), None);
        assert_eq!(header("retry-after", "Fri, 32 Dec 2030 23:59:59 GMT"), None);
        assert_eq!(header("retry-after", "Fri, 31 Dec 2030 24:00:00 GMT"), None);
        assert_eq!(header("retry-after", "Fri, 31 Dec 2030 23:59:59:00 GMT"), None);
        assert_eq!(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"), Some(253_402_300_799));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), None);
        assert_eq!(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777), "weekday not checked");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 09:49:37 +0100"), None, "IMF-fixdate is in GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT x"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 29 Feb 1995 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date(""), None);
        // A date a minute ahead of "now" is a minute.
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("Sun, 06 Nov 1994 08:50:37 GMT"));
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(retry_after_at(&h, now), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration_text("99999999999999999999s"), Some(MAX_RETRY_HINT));
        assert_eq!(parse_duration_text("1e300ms"), Some(MAX_RETRY_HINT));
        assert_eq!(parse_duration_text("-1s"), None);
        assert_eq!(try_again_in("Please try again in 99999999999999999999999ms."), Some(MAX_RETRY_HINT));
        let e = http_error(
            "openai",
            "m",
            429,
            &HeaderMap::new(),
            br#"{"error":{"message":"Please try again in 99999999999999999999999ms.","code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!((e.kind(), e.retry_after()), (&ErrorKind::RateLimited, Some(MAX_RETRY_HINT)));
    }

    #[test]
    fn request_lines_never_show_a_query_string() {
        let url = reqwest::Url::parse(
            "https://user:pw@generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=AIzaSyA-secret123&alt=sse#f",
        )
        .unwrap();
        assert_eq!(display_url(&url), "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent");
        let e = http_error("gemini", "g", 404, &HeaderMap::new(), br#"{"error":{"code":404,"message":"not found"}}"#);
        let e = with_request_line(e, "POST", &url);
        assert_eq!(
            e.message(),
            "not found (POST https://generativelanguage.googleapis.com/v1beta/models/g:generateContent)"
        );
        assert_eq!((e.kind(), e.status()), (&ErrorKind::NotFound, Some(404)));
        let all = format!("{e} {e:?}");
        assert!(!all.contains("key=") && !all.contains("secret123") && !all.contains("pw@"), "{all}");
    }

    #[test]
    fn stream_errors_take_their_status_from_the_code() {
        let e = stream_error("openrouter", "m", br#"{"error":{"code":502,"message":"Provider disconnected unexpectedly","metadata":{"error_type":"provider_unavailable"}}}"#);
        assert_eq!(e.kind(), &ErrorKind::Server);
        let e = stream_error(
            "anthropic",
            "m",
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Overloaded);
        assert!(e.message().contains("Overloaded"));
    }
}

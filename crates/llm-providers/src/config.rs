//! Client settings: timeouts, size limits, the retry policy and what to do with unsupported parameters.

use std::time::Duration;

/// Time limits of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing the TCP (and TLS) connection.
    pub connect: Duration,
    /// A whole non-streamed call, per attempt; for a stream, the wait for the response head.
    pub request: Duration,
    /// The longest silence between two chunks of a streamed body.
    pub idle: Duration,
    /// A whole streamed call, from its start (retries included) to its last event: a stream still going then
    /// (even one kept alive by comments) ends with an [`llm_core::ErrorKind::Timeout`] error.
    pub total: Duration,
}

impl Default for Timeouts {
    /// 10 s to connect, 600 s per request (the OpenAI and Anthropic SDK default), 120 s of stream silence, 600 s
    /// for a whole stream.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(600),
            idle: Duration::from_secs(120),
            total: Duration::from_secs(600),
        }
    }
}

impl Timeouts {
    /// Sets the connect timeout.
    #[must_use]
    pub fn with_connect(mut self, d: Duration) -> Self {
        self.connect = d;
        self
    }

    /// Sets the per-request timeout.
    #[must_use]
    pub fn with_request(mut self, d: Duration) -> Self {
        self.request = d;
        self
    }

    /// Sets the stream idle timeout.
    #[must_use]
    pub fn with_idle(mut self, d: Duration) -> Self {
        self.idle = d;
        self
    }

    /// Sets the total deadline of a streamed call.
    #[must_use]
    pub fn with_total(mut self, d: Duration) -> Self {
        self.total = d;
        self
    }
}

/// Size limits on what a provider sends back. Going over one is an [`llm_core::ErrorKind::Decode`] error that
/// names the limit; nothing larger is ever buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest single event of a stream: one server-sent event (its `data:` lines together), one NDJSON
    /// line, one AWS event-stream message. 16 MiB by default (the AWS event-stream limit).
    pub max_event_bytes: usize,
    /// The largest non-streamed body (and whole JSON body answering a stream request). 256 MiB by default.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_event_bytes: 16 << 20, max_body_bytes: 256 << 20 }
    }
}

impl Limits {
    /// Sets the largest stream event.
    #[must_use]
    pub fn with_max_event_bytes(mut self, n: usize) -> Self {
        self.max_event_bytes = n;
        self
    }

    /// Sets the largest non-streamed body.
    #[must_use]
    pub fn with_max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }
}

/// When and how long to wait before retrying a failed attempt (PROVIDERS.md §1.4; the OpenAI and Anthropic
/// SDK defaults).
///
/// An attempt is retried when its error is retryable: 408, 409, 429 (not a quota error), 5xx and 529, a
/// connection failure or a timeout, unless the server said `x-should-retry: false` (and `x-should-retry: true`
/// makes any status retryable, quota errors excepted). The wait is the server's `retry-after-ms` or
/// `retry-after` (seconds or an HTTP date), or the body's hint (Gemini's `RetryInfo.retryDelay`, "try again in
/// 20ms"), when it is positive and at most [`RetryPolicy::max_retry_after`]; a longer hint ends the retries and
/// the returned error carries it ([`llm_core::Error::retry_after`]). Hints are read up to
/// [`crate::errors::MAX_RETRY_HINT`] (one day): anything longer, or unreadable as a number of that size, is one
/// day or ignored, never waited for. Otherwise the wait is `min(initial · 2ⁿ, max) · (1 − jitter · U(0,1))`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (2 by default: 3 attempts).
    pub max_retries: u32,
    /// The first backoff (0.5 s).
    pub initial_backoff: Duration,
    /// The backoff cap (8 s).
    pub max_backoff: Duration,
    /// The fraction of the backoff removed at random (0.25: waits are 75–100 % of the backoff).
    pub jitter: f64,
    /// The longest server hint obeyed (120 s); a longer one is not waited for and the error is returned (with
    /// the hint). Hints of [`crate::errors::MAX_RETRY_HINT`] or more are never obeyed, whatever this says.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            jitter: 0.25,
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self { max_retries: 0, ..Self::default() }
    }

    /// Sets the number of retries.
    #[must_use]
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the initial and maximum backoff.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Sets the jitter fraction (clamped to 0..=1).
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// Sets the longest server hint obeyed.
    #[must_use]
    pub fn with_max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// The backoff before retry number `retry` (0-based) without a server hint; `unit` is a uniform random
    /// number in `[0, 1)`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let base = self.initial_backoff.as_secs_f64() * 2f64.powi(i32::try_from(retry.min(30)).unwrap_or(30));
        let capped = base.min(self.max_backoff.as_secs_f64());
        let fraction = |x: f64| if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
        let factor = 1.0 - fraction(self.jitter) * fraction(unit);
        Duration::try_from_secs_f64((capped * factor).max(0.0)).unwrap_or(self.max_backoff)
    }
}

/// What a client does with request parameters the provider or model does not accept (the typed fields of
/// [`llm_core::ChatRequest`], and OpenAI-style names in its `extra` map).
///
/// The default refuses, as LiteLLM does without `drop_params`: nothing is ever left out silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamPolicy {
    /// Leave them out of the request, each reported as an [`llm_core::Adjustment`] of kind `param_dropped` on
    /// the response (LiteLLM's `drop_params=True`).
    Drop,
    /// Fail with an [`llm_core::ErrorKind::InvalidRequest`] error naming them, before anything is sent (the
    /// default; LiteLLM's `UnsupportedParamsError`).
    #[default]
    Fail,
    /// Send everything as it is and let the provider decide.
    Pass,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_down() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0, 0.0), Duration::from_millis(500));
        assert_eq!(p.backoff(1, 0.0), Duration::from_secs(1));
        assert_eq!(p.backoff(5, 0.0), Duration::from_secs(8));
        assert_eq!(p.backoff(0, 1.0), Duration::from_millis(375));
        assert_eq!(p.backoff(99, 0.5), Duration::from_secs(7));
        // Extreme settings never panic.
        let huge = RetryPolicy::default().with_backoff(Duration::MAX, Duration::MAX);
        assert_eq!(huge.backoff(30, 0.0), Duration::MAX);
        assert_eq!(huge.backoff(30, f64::NAN), Duration::MAX);
    }
}

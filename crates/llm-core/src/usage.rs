//! Normalized token usage, in OpenAI's convention.

use serde::{Deserialize, Serialize};

/// Token usage of one call, normalized to OpenAI's convention whatever the provider reported.
///
/// - `prompt_tokens` counts **every** input token: cache reads and cache writes are inside it.
/// - `completion_tokens` counts **every** output token: reasoning, audio and image output are inside it.
/// - The sub-counts are `Option`: `None` means "the provider did not report it", `Some(0)` means "reported
///   zero". They never add to the totals, they break them down.
///
/// Adapters convert their provider's fields into this shape (Anthropic and Bedrock report cache tokens outside
/// their input count, Gemini reports thoughts outside its candidates count, xAI reports reasoning outside its
/// completion count); see [`Usage::check`] for the invariants every adapter must keep.
///
/// ```
/// use llm_core::Usage;
/// let u = Usage::new(1200, 300).with_cache_read(1000).with_reasoning(100);
/// assert_eq!(u.total_tokens, 1500);
/// assert_eq!(u.uncached_prompt_tokens(), 200);
/// assert_eq!(u.text_completion_tokens(), 200);
/// assert!(u.check().is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Every input token, cached or not.
    pub prompt_tokens: u64,
    /// Every output token, reasoning included.
    pub completion_tokens: u64,
    /// `prompt_tokens + completion_tokens` (as normalized).
    pub total_tokens: u64,
    /// Input tokens read from the provider's prompt cache (inside `prompt_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_tokens: Option<u64>,
    /// Input tokens written to the prompt cache (inside `prompt_tokens`), all TTLs together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
    /// The part of `cache_write_tokens` written with a 5-minute TTL, where the provider splits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_5m_tokens: Option<u64>,
    /// The part of `cache_write_tokens` written with a 1-hour TTL, where the provider splits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h_tokens: Option<u64>,
    /// The part of `cache_write_tokens` written with a 30-minute TTL, where the provider splits it (OpenAI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_30m_tokens: Option<u64>,
    /// The part of `cache_write_tokens` written with a 12-hour TTL, where the provider splits it (OpenAI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_12h_tokens: Option<u64>,
    /// Reasoning ("thinking") tokens (inside `completion_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Audio input tokens (inside `prompt_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_input_tokens: Option<u64>,
    /// Audio output tokens (inside `completion_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_output_tokens: Option<u64>,
    /// Image input tokens (inside `prompt_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_input_tokens: Option<u64>,
    /// Image output tokens (inside `completion_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_output_tokens: Option<u64>,
    /// Server-side web search requests the call made, billed per request by some providers (Anthropic's
    /// `server_tool_use.web_search_requests`, Perplexity's `num_search_queries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_requests: Option<u64>,
    /// Perplexity's `citation_tokens`: tokens of the cited sources, billed apart from (and not inside)
    /// `prompt_tokens` by the models that price them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation_tokens: Option<u64>,
    /// How much web search context the call retrieved (Perplexity's `search_context_size`), which sets its
    /// per-request search fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_context_size: Option<SearchContextSize>,
}

/// The amount of web search context a call retrieved (Perplexity's `usage.search_context_size` and
/// `web_search_options.search_context_size`); the catalog prices a request by it
/// (`search_context_cost_per_query.search_context_size_{low,medium,high}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SearchContextSize {
    /// `low` (Perplexity's default).
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
}

impl SearchContextSize {
    /// The wire name: `low`, `medium` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// Reads a wire name (any case, surrounding spaces ignored); `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            _ => None,
        }
    }
}

/// A broken [`Usage`] invariant, as [`Usage::check`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// `total_tokens` is not `prompt_tokens + completion_tokens`.
    #[error("total_tokens {total} is not prompt_tokens {prompt} + completion_tokens {completion}")]
    Total {
        /// The reported total.
        total: u64,
        /// The prompt count.
        prompt: u64,
        /// The completion count.
        completion: u64,
    },
    /// A sub-count is larger than the total it is part of.
    #[error("{field} ({value}) exceeds {of} ({limit})")]
    SubCount {
        /// The sub-count's name.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The total it must fit in.
        of: &'static str,
        /// That total.
        limit: u64,
    },
}

impl Usage {
    /// Usage with these totals and no sub-counts; `total_tokens` is their sum.
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
            ..Self::default()
        }
    }

    /// Sets the cache-read count (inside the prompt count).
    #[must_use]
    pub fn with_cache_read(mut self, tokens: u64) -> Self {
        self.cache_read_tokens = Some(tokens);
        self
    }

    /// Sets the cache-write count (inside the prompt count).
    #[must_use]
    pub fn with_cache_write(mut self, tokens: u64) -> Self {
        self.cache_write_tokens = Some(tokens);
        self
    }

    /// Sets the cache-write split by TTL; the cache-write count becomes their sum.
    #[must_use]
    pub fn with_cache_write_ttl(mut self, five_minutes: u64, one_hour: u64) -> Self {
        self.cache_write_5m_tokens = Some(five_minutes);
        self.cache_write_1h_tokens = Some(one_hour);
        self.cache_write_tokens = Some(five_minutes.saturating_add(one_hour));
        self
    }

    /// Sets the reasoning count (inside the completion count).
    #[must_use]
    pub fn with_reasoning(mut self, tokens: u64) -> Self {
        self.reasoning_tokens = Some(tokens);
        self
    }

    /// Sets the audio input and output counts.
    #[must_use]
    pub fn with_audio(mut self, input: Option<u64>, output: Option<u64>) -> Self {
        self.audio_input_tokens = input;
        self.audio_output_tokens = output;
        self
    }

    /// Sets the image input and output counts.
    #[must_use]
    pub fn with_image(mut self, input: Option<u64>, output: Option<u64>) -> Self {
        self.image_input_tokens = input;
        self.image_output_tokens = output;
        self
    }

    /// Sets the number of web search requests.
    #[must_use]
    pub fn with_web_search_requests(mut self, requests: u64) -> Self {
        self.web_search_requests = Some(requests);
        self
    }

    /// Prompt tokens that were neither read from nor written to the cache.
    pub fn uncached_prompt_tokens(&self) -> u64 {
        self.prompt_tokens
            .saturating_sub(self.cache_read_tokens.unwrap_or(0))
            .saturating_sub(self.cache_write_tokens.unwrap_or(0))
    }

    /// The cache-write TTL split: 5 minutes, 30 minutes, 1 hour, 12 hours.
    pub fn cache_write_ttl_split(&self) -> [Option<u64>; 4] {
        [
            self.cache_write_5m_tokens,
            self.cache_write_30m_tokens,
            self.cache_write_1h_tokens,
            self.cache_write_12h_tokens,
        ]
    }

    /// Completion tokens that are not reasoning.
    pub fn text_completion_tokens(&self) -> u64 {
        self.completion_tokens.saturating_sub(self.reasoning_tokens.unwrap_or(0))
    }

    /// Adds another call's usage to this one (for repair attempts and rollups). A sub-count is `Some` when
    /// either side reported it.
    pub fn accumulate(&mut self, other: &Usage) {
        fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
            }
        }
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(other.completion_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        self.cache_read_tokens = add(self.cache_read_tokens, other.cache_read_tokens);
        self.cache_write_tokens = add(self.cache_write_tokens, other.cache_write_tokens);
        self.cache_write_5m_tokens = add(self.cache_write_5m_tokens, other.cache_write_5m_tokens);
        self.cache_write_1h_tokens = add(self.cache_write_1h_tokens, other.cache_write_1h_tokens);
        self.cache_write_30m_tokens = add(self.cache_write_30m_tokens, other.cache_write_30m_tokens);
        self.cache_write_12h_tokens = add(self.cache_write_12h_tokens, other.cache_write_12h_tokens);
        self.reasoning_tokens = add(self.reasoning_tokens, other.reasoning_tokens);
        self.audio_input_tokens = add(self.audio_input_tokens, other.audio_input_tokens);
        self.audio_output_tokens = add(self.audio_output_tokens, other.audio_output_tokens);
        self.image_input_tokens = add(self.image_input_tokens, other.image_input_tokens);
        self.image_output_tokens = add(self.image_output_tokens, other.image_output_tokens);
        self.web_search_requests = add(self.web_search_requests, other.web_search_requests);
        self.citation_tokens = add(self.citation_tokens, other.citation_tokens);
        self.search_context_size = self.search_context_size.or(other.search_context_size);
    }

    /// Checks the convention's invariants: the total is the sum, and every sub-count fits inside its total
    /// (cache reads plus writes inside the prompt, the TTL split inside the writes, reasoning plus audio plus
    /// image output inside the completion).
    pub fn check(&self) -> Result<(), UsageError> {
        let total = self.prompt_tokens.saturating_add(self.completion_tokens);
        if self.total_tokens != total {
            return Err(UsageError::Total {
                total: self.total_tokens,
                prompt: self.prompt_tokens,
                completion: self.completion_tokens,
            });
        }
        let sum = |xs: &[Option<u64>]| xs.iter().map(|x| x.unwrap_or(0)).fold(0u64, u64::saturating_add);
        let checks: [(&'static str, u64, &'static str, u64); 5] = [
            (
                "cache_read_tokens + cache_write_tokens",
                sum(&[self.cache_read_tokens, self.cache_write_tokens]),
                "prompt_tokens",
                self.prompt_tokens,
            ),
            (
                "cache_write_5m_tokens + cache_write_30m_tokens + cache_write_1h_tokens + cache_write_12h_tokens",
                sum(&self.cache_write_ttl_split()),
                "cache_write_tokens",
                if self.cache_write_ttl_split().iter().any(Option::is_some) {
                    self.cache_write_tokens.unwrap_or(0)
                } else {
                    u64::MAX
                },
            ),
            ("reasoning_tokens", self.reasoning_tokens.unwrap_or(0), "completion_tokens", self.completion_tokens),
            (
                "audio_input_tokens + image_input_tokens",
                sum(&[self.audio_input_tokens, self.image_input_tokens]),
                "prompt_tokens",
                self.prompt_tokens,
            ),
            (
                "audio_output_tokens + image_output_tokens",
                sum(&[self.audio_output_tokens, self.image_output_tokens]),
                "completion_tokens",
                self.completion_tokens,
            ),
        ];
        for (field, value, of, limit) in checks {
            if value > limit {
                return Err(UsageError::SubCount { field, value, of, limit });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_zero_are_distinct() {
        let a = Usage::new(10, 5);
        let b = Usage::new(10, 5).with_cache_read(0);
        assert_ne!(a, b);
        assert_eq!(a.cache_read_tokens, None);
        assert_eq!(b.cache_read_tokens, Some(0));
        let json = serde_json::to_value(b).unwrap();
        assert_eq!(json["cache_read_tokens"], 0);
        assert!(serde_json::to_value(a).unwrap().get("cache_read_tokens").is_none());
    }

    #[test]
    fn check_rejects_broken_invariants() {
        assert!(Usage::new(100, 50).with_cache_read(60).with_cache_write(40).check().is_ok());
        assert_eq!(
            Usage::new(100, 50).with_cache_read(60).with_cache_write(41).check(),
            Err(UsageError::SubCount {
                field: "cache_read_tokens + cache_write_tokens",
                value: 101,
                of: "prompt_tokens",
                limit: 100
            })
        );
        assert!(Usage::new(1, 10).with_reasoning(11).check().is_err());
        let mut bad_total = Usage::new(1, 1);
        bad_total.total_tokens = 3;
        assert!(matches!(bad_total.check(), Err(UsageError::Total { total: 3, .. })));
        let ttl = Usage::new(100, 0).with_cache_write_ttl(30, 20);
        assert_eq!(ttl.cache_write_tokens, Some(50));
        assert!(ttl.check().is_ok());
        let mut ttl_bad = ttl;
        ttl_bad.cache_write_tokens = Some(10);
        assert!(ttl_bad.check().is_err());
    }

    #[test]
    fn accumulate_adds_and_keeps_reported_zeroes() {
        let mut a = Usage::new(10, 20).with_cache_read(0);
        a.accumulate(&Usage::new(5, 5).with_reasoning(3));
        assert_eq!(a.prompt_tokens, 15);
        assert_eq!(a.completion_tokens, 25);
        assert_eq!(a.total_tokens, 40);
        assert_eq!(a.cache_read_tokens, Some(0));
        assert_eq!(a.reasoning_tokens, Some(3));
        assert_eq!(a.cache_write_tokens, None);
        assert!(a.check().is_ok());
    }

    #[test]
    fn derived_counts_saturate() {
        let u = Usage::new(10, 5).with_cache_read(8).with_cache_write(8).with_reasoning(9);
        assert_eq!(u.uncached_prompt_tokens(), 0);
        assert_eq!(u.text_completion_tokens(), 0);
    }
}

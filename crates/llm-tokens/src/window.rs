//! The pre-flight check: does a request's prompt fit the model's context window?

use crate::TokenCount;

/// A request whose counted prompt does not fit the model's input window: both numbers, so a caller can trim
/// the conversation or pick a larger model. `llm::Client` returns it as the source of an
/// `ErrorKind::ContextLength` error, before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContextWindowExceeded {
    /// The model, as the request named it.
    pub model: String,
    /// The prompt tokens counted.
    pub tokens: u64,
    /// The model's input window (the catalog's `max_input_tokens`).
    pub window: u64,
    /// Whether the count is exact (the model's own tokenizer, text only) or an approximation.
    pub exact: bool,
}

impl ContextWindowExceeded {
    /// Checks a count against a window: `Err` when the count is larger.
    ///
    /// ```
    /// use llm_tokens::{ContextWindowExceeded, TokenCount};
    ///
    /// assert!(ContextWindowExceeded::check("gpt-4o", TokenCount::new(128_000, true), 128_000).is_ok());
    /// let e = ContextWindowExceeded::check("gpt-4o", TokenCount::new(128_001, true), 128_000).unwrap_err();
    /// assert_eq!((e.tokens, e.window), (128_001, 128_000));
    /// ```
    pub fn check(model: &str, count: TokenCount, window: u64) -> Result<(), Self> {
        if count.tokens <= window {
            return Ok(());
        }
        Err(Self { model: model.to_owned(), tokens: count.tokens, window, exact: count.exact })
    }
}

impl std::fmt::Display for ContextWindowExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the prompt is {} tokens{}, more than the {} tokens of {}'s input window; nothing was sent",
            self.tokens,
            if self.exact { "" } else { " (approximately)" },
            self.window,
            self.model
        )
    }
}

impl std::error::Error for ContextWindowExceeded {}

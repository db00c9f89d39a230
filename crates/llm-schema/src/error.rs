//! Errors of structured output.

use std::fmt;

use serde::Serialize;

/// One way a value broke the schema: where (a JSON pointer into the value), which schema rule, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Violation {
    /// JSON pointer to the offending part of the value (`""` for the root).
    pub pointer: String,
    /// JSON pointer to the schema keyword that failed.
    pub schema_path: String,
    /// What is wrong, lowercase.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() { "/" } else { self.pointer.as_str() };
        write!(f, "at {at}: {}", self.message)
    }
}

/// Why one attempt's reply was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReplyProblem {
    /// The reply is not JSON at all.
    NotJson {
        /// The parser's complaint.
        detail: String,
    },
    /// The reply holds JSON wrapped in a Markdown code fence, which was not accepted.
    CodeFenced,
    /// The reply was cut off by the output limit (finish reason `length`) before the JSON was complete.
    Truncated,
    /// The model refused.
    Refusal {
        /// The refusal text.
        text: String,
    },
    /// The forced tool was not called.
    NoToolCall,
    /// The JSON does not follow the schema.
    Invalid {
        /// Every violation.
        violations: Vec<Violation>,
    },
}

impl fmt::Display for ReplyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson { detail } => write!(f, "the reply is not json: {detail}"),
            Self::CodeFenced => f.write_str("the reply wraps its json in a markdown code fence"),
            Self::Truncated => f.write_str("the reply was cut off by the output token limit before the json ended"),
            Self::Refusal { text } => write!(f, "the model refused: {text}"),
            Self::NoToolCall => f.write_str("the model did not call the output tool"),
            Self::Invalid { violations } => {
                write!(f, "the json breaks the schema in {} place(s)", violations.len())?;
                for v in violations.iter().take(5) {
                    write!(f, "; {v}")?;
                }
                Ok(())
            }
        }
    }
}

/// What went wrong with a structured call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The schema itself is not a valid JSON schema.
    InvalidSchema,
    /// The provider call failed; see [`Error::provider_error`].
    Provider,
    /// No attempt produced a valid value; see [`Error::attempts`].
    Exhausted,
}

/// An error of a structured call: an invalid schema, a provider failure, or every attempt rejected, with what
/// each attempt did wrong.
#[derive(Debug)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    attempts: Vec<ReplyProblem>,
    provider: Option<llm_core::Error>,
    usage: Option<llm_core::Usage>,
    cost: Option<llm_core::Cost>,
}

impl Error {
    fn from_inner(inner: Inner) -> Self {
        Self { inner: Box::new(inner) }
    }

    pub(crate) fn invalid_schema(message: impl Into<String>) -> Self {
        Self::from_inner(Inner {
            kind: ErrorKind::InvalidSchema,
            message: message.into(),
            attempts: Vec::new(),
            provider: None,
            usage: None,
            cost: None,
        })
    }

    pub(crate) fn provider(error: llm_core::Error, attempts: Vec<ReplyProblem>) -> Self {
        Self::from_inner(Inner {
            kind: ErrorKind::Provider,
            message: error.to_string(),
            attempts,
            provider: Some(error),
            usage: None,
            cost: None,
        })
    }

    pub(crate) fn exhausted(attempts: Vec<ReplyProblem>) -> Self {
        let message = match attempts.last() {
            Some(last) => format!("no valid reply after {} attempt(s); last: {last}", attempts.len()),
            None => "no attempt was made".to_owned(),
        };
        Self::from_inner(Inner {
            kind: ErrorKind::Exhausted,
            message,
            attempts,
            provider: None,
            usage: None,
            cost: None,
        })
    }

    pub(crate) fn with_spend(mut self, usage: Option<llm_core::Usage>, cost: Option<llm_core::Cost>) -> Self {
        self.inner.usage = usage;
        self.inner.cost = cost;
        self
    }

    /// The usage of every attempt that got an answer, added up: what the failed call still consumed.
    pub fn usage(&self) -> Option<&llm_core::Usage> {
        self.inner.usage.as_ref()
    }

    /// The cost of every attempt, added up, when the responses carried one.
    pub fn cost(&self) -> Option<&llm_core::Cost> {
        self.inner.cost.as_ref()
    }

    /// The kind.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// What each attempt did wrong, in order.
    pub fn attempts(&self) -> &[ReplyProblem] {
        &self.inner.attempts
    }

    /// Every schema violation of every attempt, in order.
    pub fn violations(&self) -> impl Iterator<Item = &Violation> {
        self.inner.attempts.iter().flat_map(|p| match p {
            ReplyProblem::Invalid { violations } => violations.as_slice(),
            _ => &[],
        })
    }

    /// The provider's error, for [`ErrorKind::Provider`].
    pub fn provider_error(&self) -> Option<&llm_core::Error> {
        self.inner.provider.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.provider.as_ref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

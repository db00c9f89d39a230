//! The crate's error: an opaque [`Error`] with a [`kind`](Error::kind).

use std::fmt;

/// What went wrong, broadly. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A catalog or price file is not valid JSON or not in the expected shape.
    InvalidCatalog,
    /// A price is negative, not a number, absurdly large, or of the wrong type.
    InvalidPrice,
    /// The price file has a field this version does not understand (a new `*_cost_*` key, an unknown mode, ...):
    /// pricing it as zero would be silently wrong, so it is reported.
    SchemaDrift,
    /// The model is not in the catalog (and no rule maps it).
    UnknownModel,
    /// No provider could be determined for the model name.
    UnknownProvider,
    /// The request to price is malformed (a bad `llm cost --jsonl` line, an invalid usage, a bad time).
    InvalidInput,
    /// A cost does not fit in a decimal.
    Overflow,
    /// Reading or writing a file failed.
    Io,
}

impl ErrorKind {
    /// The kind's stable snake_case name, as the `llm cost --jsonl` error answers spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidCatalog => "invalid_catalog",
            ErrorKind::InvalidPrice => "invalid_price",
            ErrorKind::SchemaDrift => "schema_drift",
            ErrorKind::UnknownModel => "unknown_model",
            ErrorKind::UnknownProvider => "unknown_provider",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Overflow => "overflow",
            ErrorKind::Io => "io",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from llm-cost. Messages are lowercase, without a trailing period, and name the model and key
/// involved.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), source: None }
    }

    pub(crate) fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_names() {
        let e = Error::new(ErrorKind::UnknownModel, "model \"x\" is not in the catalog");
        assert_eq!(e.kind(), ErrorKind::UnknownModel);
        assert_eq!(e.kind().to_string(), "unknown_model");
        assert_eq!(e.to_string(), "model \"x\" is not in the catalog");
        let io = Error::new(ErrorKind::Io, "reading x").with_source(std::io::Error::other("boom"));
        assert_eq!(std::error::Error::source(&io).map(ToString::to_string), Some("boom".to_owned()));
    }
}

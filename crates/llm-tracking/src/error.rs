//! The error of this crate: opaque, with a [`ErrorKind`].

use std::fmt;

/// What went wrong in tracking.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The store could not be reached or failed a query.
    Store,
    /// The store's schema is newer than this crate knows.
    Schema,
    /// A configuration or argument is invalid (a bad store URL, a bad budget scope).
    Config,
    /// The tracker was shut down.
    Closed,
    /// An I/O error (a JSONL file, the dashboard's socket).
    Io,
    /// A value could not be encoded or decoded.
    Codec,
    /// A webhook could not be delivered.
    Webhook,
    /// A spend export could not be written to its destination (a missing bucket, refused credentials, the
    /// network); what was written before stays recorded.
    Export,
}

impl ErrorKind {
    /// A short, stable, snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Store => "store",
            Self::Schema => "schema",
            Self::Config => "config",
            Self::Closed => "closed",
            Self::Io => "io",
            Self::Codec => "codec",
            Self::Webhook => "webhook",
            Self::Export => "export",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from a store, the tracker, an export or the dashboard. Messages are lowercase and never contain a
/// secret (connection URLs are shown without their password).
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of this kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: llm_core::redact_secrets(&message.into()), source: None }
    }

    /// A [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// A [`ErrorKind::Store`] error.
    pub fn store(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Store, message)
    }

    /// Sets the cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("i/o error: {e}")).with_source(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::new(ErrorKind::Codec, format!("json error: {e}")).with_source(e)
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::store(format!("database error: {e}")).with_source(e)
    }
}

//! Newtypes for model and provider names and for API keys.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! name_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a name.
            pub fn new(name: impl Into<String>) -> Self {
                Self(name.into())
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

name_newtype! {
    /// A model name as a caller or a provider spells it, such as `gpt-4o` or `anthropic/claude-sonnet-4-5`.
    ModelId
}

name_newtype! {
    /// A provider's canonical name, in LiteLLM's spelling: `openai`, `anthropic`, `gemini`, `groq`, ...
    ProviderId
}

/// An API key.
///
/// It has no `Display` and no `Serialize`, and its `Debug` prints `ApiKey(<redacted>)`, so it cannot end up
/// in a log line, an error or a store by accident. Read it with [`ApiKey::expose`] where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the key is empty or only white space.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// A stable, non-reversible fingerprint of the key: the SHA-256 of its bytes as 64 hex digits (the
    /// hash LiteLLM stores for virtual keys), for grouping spend by key without ever storing it.
    ///
    /// ```
    /// let key = llm_core::ApiKey::new("sk-test-123");
    /// assert_eq!(key.fingerprint().len(), 64);
    /// assert!(!key.fingerprint().contains("sk-"));
    /// ```
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.0.as_bytes());
        let mut out = String::with_capacity(64);
        for b in digest {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_debug_is_redacted() {
        let key = ApiKey::new("sk-live-secret-value");
        let printed = format!("{key:?} {:?}", Some(&key));
        assert!(!printed.contains("secret"), "{printed}");
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert_eq!(key.expose(), "sk-live-secret-value");
    }

    #[test]
    fn fingerprint_is_stable_and_distinct() {
        let a = ApiKey::new("a").fingerprint();
        assert_eq!(a, ApiKey::new("a").fingerprint());
        assert_ne!(a, ApiKey::new("b").fingerprint());
        assert_eq!(ApiKey::new("").fingerprint(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn ids_compare_with_strings() {
        assert_eq!(ModelId::from("gpt-4o"), "gpt-4o");
        assert_eq!(ProviderId::new("openai").as_str(), "openai");
    }
}

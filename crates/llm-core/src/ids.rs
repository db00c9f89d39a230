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

/// LiteLLM 1.110.2's `provider_list`, in its order: every name LiteLLM accepts as a `provider/` model prefix
/// (most have no adapter in llm-providers). Shared by the catalog's key resolution (llm-cost) and provider
/// resolution (llm-providers), which must agree on it.
pub const LITELLM_PROVIDERS: &[&str] = &[
    "a2a",
    "a2a_agent",
    "abliteration",
    "ai21",
    "ai21_chat",
    "aiand",
    "aiml",
    "aiohttp_openai",
    "amazon_nova",
    "anthropic",
    "anthropic_text",
    "apertis",
    "assemblyai",
    "auto_router",
    "aws_polly",
    "aws_textract",
    "azure",
    "azure_ai",
    "azure_speech",
    "azure_text",
    "baseten",
    "bedrock",
    "bedrock_mantle",
    "bespoke",
    "bigmodel",
    "black_forest_labs",
    "bytez",
    "cerebras",
    "charity_engine",
    "chatgpt",
    "chutes",
    "clarifai",
    "clf_ai_gateway",
    "cloudflare",
    "codestral",
    "cognition",
    "cohere",
    "cohere_chat",
    "cometapi",
    "compactifai",
    "coralbricks",
    "cortecs",
    "cursor",
    "custom",
    "custom_openai",
    "darkbloom",
    "dashscope",
    "databricks",
    "databricks_agent",
    "datarobot",
    "deepgram",
    "deepinfra",
    "deepseek",
    "docker_model_runner",
    "dotprompt",
    "edenai",
    "elevenlabs",
    "empiriolabs",
    "empower",
    "eu_jev",
    "fal_ai",
    "featherless_ai",
    "fireworks_ai",
    "friendliai",
    "galadriel",
    "gdc",
    "gemini",
    "gigachat",
    "github",
    "github_copilot",
    "gradient_ai",
    "groq",
    "helicone",
    "heroku",
    "hosted_vllm",
    "hostinger_router",
    "huggingface",
    "humanloop",
    "hyperbolic",
    "inception",
    "inferenceapis",
    "infinity",
    "jina_ai",
    "kyma",
    "lambda_ai",
    "langflow",
    "langfuse",
    "langgraph",
    "laya",
    "lemonade",
    "libertai",
    "litellm_agent",
    "litellm_proxy",
    "llamafile",
    "lm_studio",
    "manus",
    "maritalk",
    "meta",
    "meta_llama",
    "microsoft_365_copilot",
    "milvus",
    "minimax",
    "mistral",
    "modelscope",
    "mongodb",
    "moonshot",
    "morph",
    "nace",
    "nadir",
    "nano-gpt",
    "nebius",
    "neosantara",
    "nlp_cloud",
    "novita",
    "nscale",
    "nvidia_nim",
    "nvidia_riva",
    "oci",
    "ollama",
    "ollama_chat",
    "oobabooga",
    "openai",
    "openai_like",
    "opencode_go",
    "openinfer",
    "openrouter",
    "opensearch",
    "ovhcloud",
    "parallel_ai",
    "parasail",
    "perplexity",
    "petals",
    "pg_vector",
    "pinstripes",
    "poe",
    "predibase",
    "prism",
    "publicai",
    "qwen_ai_platform",
    "qwencloud",
    "ragflow",
    "recraft",
    "reducto",
    "refuseless",
    "reka",
    "replicate",
    "runwayml",
    "s3_vectors",
    "sagemaker",
    "sagemaker_chat",
    "sagemaker_nova",
    "sail",
    "sambanova",
    "sap",
    "scaledown",
    "scaleway",
    "scx-ai",
    "snowflake",
    "soniox",
    "stability",
    "strands_decider",
    "streamlake",
    "synthetic",
    "tencent",
    "tensormesh",
    "text-completion-codestral",
    "text-completion-inception",
    "text-completion-openai",
    "together_ai",
    "topaz",
    "transcribe",
    "triton",
    "typesafe",
    "v0",
    "valkey",
    "vercel_ai_gateway",
    "vertex_ai",
    "vertex_ai_beta",
    "vllm",
    "volcengine",
    "voyage",
    "wally",
    "wandb",
    "watsonx",
    "watsonx_text",
    "xai",
    "xiaomi_mimo",
    "xinference",
    "zai",
    "zerogpu",
];

/// An API key.
///
/// It has no `Display` and no `Serialize`, and its `Debug` prints `ApiKey(<redacted>)`, so it cannot end up
/// in a log line, an error or a store by accident. Read it with [`ApiKey::expose`] where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a secret, and registers its value for redaction ([`crate::register_secret`]): from then on
    /// [`crate::redact_secrets`], and so every [`crate::Error`] message and body, replaces it wherever it
    /// appears, whatever it looks like.
    pub fn new(secret: impl Into<String>) -> Self {
        let secret = secret.into();
        crate::error::register_secret(&secret);
        Self(secret)
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
        hex(&sha2::Sha256::digest(self.0.as_bytes()))
    }

    /// A keyed fingerprint: HMAC-SHA-256 of the key under `secret`, as 64 hex digits. Unlike
    /// [`ApiKey::fingerprint`], someone who holds the fingerprints (a copy of a spend store) but not the secret
    /// cannot confirm a guessed key. llm-tracking fingerprints keys this way with a secret kept apart from the
    /// store.
    ///
    /// ```
    /// let key = llm_core::ApiKey::new("sk-test-123");
    /// let a = key.fingerprint_keyed(b"secret one");
    /// assert_eq!(a.len(), 64);
    /// assert_ne!(a, key.fingerprint_keyed(b"secret two"));
    /// assert_ne!(a, key.fingerprint());
    /// ```
    pub fn fingerprint_keyed(&self, secret: &[u8]) -> String {
        use hmac::{KeyInit, Mac};
        // HMAC takes keys of any length, so this cannot fail; an empty MAC is never returned.
        match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) {
            Ok(mut mac) => {
                mac.update(self.0.as_bytes());
                hex(&mac.finalize().into_bytes())
            }
            Err(_) => self.fingerprint(),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

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
    fn keyed_fingerprints_are_hmac_sha256() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            ApiKey::new("what do ya want for nothing?").fingerprint_keyed(b"Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn ids_compare_with_strings() {
        assert_eq!(ModelId::from("gpt-4o"), "gpt-4o");
        assert_eq!(ProviderId::new("openai").as_str(), "openai");
    }
}

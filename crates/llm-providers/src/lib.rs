//! Provider adapters for llm-rs: one folder per provider, with pure request encoding and response decoding
//! apart from HTTP, the OpenAI-compatible family described as data, LiteLLM-style provider resolution, the
//! supported-parameter tables, and the shared HTTP machinery (timeouts, retries, SSE / NDJSON / AWS
//! event-stream framing).
//!
//! This crate implements [`llm_core::Provider`]; it never depends on llm-cost, llm-schema or llm-tracking.
//! Resolution of bare model names takes a [`llm_core::ModelDirectory`] from the caller.
//!
//! - [`resolve()`] finds the provider of a model name, in LiteLLM's order;
//! - [`ProviderClient::builder`] (or [`ProviderClient::for_model`]) builds a client; it implements
//!   [`llm_core::Provider`] (`chat`, `stream`, and `embed` for the providers with embeddings: see [`embed`]);
//! - [`supported_params`] and [`prepare`] answer which OpenAI-style parameters a provider and model accept and
//!   drop (or reject) the others;
//! - [`dialect`] rewrites a JSON schema into what each provider's structured-output mode accepts (the encoders
//!   apply it to `response_format` schemas);
//! - each provider folder (`openai`, `azure`, `anthropic`, `gemini`, `ollama`, `bedrock`, `vertex`) exposes its pure
//!   `encode`, `decode` and `stream` functions.
//!
//! Defaults and semantics:
//!
//! - **Keys** come from the provider's usual environment variable ([`ProviderSpec::key_env`], e.g.
//!   `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY`) unless [`ClientBuilder::api_key`] sets one; local
//!   servers (Ollama, vLLM, LM Studio, llamafile) need none.
//! - **`api_base`** replaces the provider's scheme, host and port; when it has a path, that path replaces the
//!   provider's path prefix too (`http://127.0.0.1:8080` → `http://127.0.0.1:8080/openai/v1/chat/completions`
//!   for Groq; `http://127.0.0.1:8080/v1` → `http://127.0.0.1:8080/v1/chat/completions`). See [`base_url`].
//! - **Retries** ([`RetryPolicy`]): 2 retries with the official SDKs' backoff (0.5 s doubling to 8 s, minus up
//!   to 25 % jitter) for 408/409/429/5xx/529, connection failures and timeouts; `retry-after-ms` /
//!   `retry-after` / Gemini's `RetryInfo` are obeyed up to 120 s (a longer hint ends the retries; hints are read
//!   up to one day, [`errors::MAX_RETRY_HINT`]);
//!   `x-should-retry` overrides; quota errors (`insufficient_quota`, 402, ...) are never retried. Streams are
//!   retried only before their first byte.
//! - **Timeouts** ([`Timeouts`]): 10 s to connect, 600 s per attempt, 120 s of silence inside a stream, 600 s
//!   for a whole stream.
//! - **Limits** ([`Limits`]): 16 MiB for one stream event, 256 MiB for a whole body; more is a decode error.
//! - **Parameters** ([`ParamPolicy`]): unsupported OpenAI-style parameters are dropped by default (logged, and
//!   listed by [`prepare`]); `Fail` rejects the request before sending, naming them.
//! - **Errors** are [`llm_core::Error`]s with the kind from the status and the body (context-length phrases,
//!   quota codes, invalid-key 400s, AWS error types), the status, the retry hint and the body kept truncated and
//!   redacted.
//!
//! ```
//! use llm_core::{ApiKey, ChatRequest, Message, Provider};
//! use llm_fake_upstream::{FakeUpstream, wire};
//! use llm_providers::ProviderClient;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llm_core::Result<()> {
//! let server = FakeUpstream::start().await.expect("bind");
//! server.push(wire::openai::chat("Hello!", 12, 3));
//!
//! let client = ProviderClient::builder("groq")
//!     .api_key(ApiKey::new("gsk-test"))
//!     .api_base(server.url())
//!     .build()?;
//! let req = ChatRequest::new("groq/llama-3.3-70b-versatile", vec![Message::user("Hi")]);
//! let resp = client.chat(&req).await?;
//! assert_eq!(resp.text(), "Hello!");
//! assert_eq!(resp.usage.map(|u| u.total_tokens), Some(15));
//! let sent = server.last_request().expect("one request");
//! assert_eq!(sent.path, "/openai/v1/chat/completions");
//! assert_eq!(sent.json()["model"], "llama-3.3-70b-versatile");
//! # Ok(())
//! # }
//! ```

pub mod adapter;
pub mod anthropic;
pub mod azure;
pub mod bedrock;
mod client;
pub mod config;
pub mod dialect;
pub mod embed;
pub mod errors;
pub mod framing;
pub mod gemini;
pub mod ollama;
pub mod openai;
pub mod params;
pub mod registry;
pub mod resolve;
pub mod responses;
pub mod vertex;

pub use adapter::{Adapter, HttpCall, StreamDecoder};
pub use client::{ClientBuilder, ProviderClient, base_url};
pub use config::{Limits, ParamPolicy, RetryPolicy, Timeouts};
pub use params::{Prepared, prepare, supported_params, unsupported_params};
pub use registry::{Dialect, PROVIDERS, ProviderSpec, Quirks, provider_spec};
pub use resolve::{Resolved, resolve};

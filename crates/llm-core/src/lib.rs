//! The vocabulary every llm-rs crate speaks: messages, requests, responses, normalized [`Usage`], [`Cost`],
//! stream events, the [`Error`] taxonomy and the [`Provider`] trait.
//!
//! llm-core does no I/O. Provider adapters (llm-providers), the cost calculator (llm-cost), structured output
//! (llm-schema) and tracking (llm-tracking) all build on these types, and [`openai`] converts them to and from
//! OpenAI's chat-completions JSON, the lingua franca.
//!
//! ```
//! use llm_core::{ChatRequest, Message, Usage, openai};
//!
//! let req = ChatRequest::new("gpt-4o-mini", vec![Message::system("Be brief."), Message::user("Hi!")])
//!     .with_max_tokens(50);
//! let body = openai::request_to_json(&req);
//! assert_eq!(body["messages"][1]["content"], "Hi!");
//!
//! let resp = openai::response_from_json(br#"{
//!     "id": "chatcmpl-1", "model": "gpt-4o-mini-2024-07-18",
//!     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
//!     "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22,
//!               "prompt_tokens_details": {"cached_tokens": 0}}
//! }"#).unwrap();
//! assert_eq!(resp.text(), "Hello!");
//! assert_eq!(resp.usage, Some(Usage::new(20, 2).with_cache_read(0)));
//! ```

mod cost;
mod embedding;
mod error;
mod ids;
mod message;
#[cfg(feature = "mock")]
pub mod mock;
pub mod openai;
mod provider;
mod report;
mod request;
mod response;
pub mod responses;
mod stream;
mod usage;
mod vocab;

pub use cost::{Cost, CostBreakdown, CostStatus, ParseUsdError, Usd};
pub use embedding::{Embedding, EmbeddingRequest, EmbeddingResponse, EncodingFormat};
pub use error::{
    Error, ErrorKind, MAX_BODY_BYTES, MAX_SECRETS, MIN_SECRET_LEN, Result, redact_secrets, register_secret,
};
pub use ids::{ApiKey, LITELLM_PROVIDERS, ModelId, ProviderId};
pub use message::{Content, ContentPart, ImageSource, Message, Role, ToolCall};
pub use provider::{ChatFuture, EmbedFuture, ModelDirectory, Provider, StreamFuture};
pub use report::{Adjustment, AdjustmentKind, Retry, RouteAttempt, Routing};
pub use request::{ChatRequest, JsonSchemaFormat, ReasoningEffort, ResponseFormat, ServiceTier, Tool, ToolChoice};
pub use response::{ChatResponse, Choice, FinishReason};
pub use rust_decimal::Decimal;
pub use stream::{ChatStream, StreamAssembler, StreamEvent, collect_stream, collect_stream_for, response_events};
pub use usage::{SearchContextSize, Usage, UsageError};

//! Token counting for llm-rs, as LiteLLM's `token_counter` does it.
//!
//! - **Exact for OpenAI models**: `o200k_base` (gpt-4o, gpt-4.1, gpt-4.5, gpt-5, the o-series) and `cl100k_base`
//!   (gpt-4, gpt-3.5-turbo, text-embedding-3) through tiktoken-rs, whose vocabularies are compiled into the
//!   binary: nothing is fetched or read at run time. A vocabulary is parsed once, on its first use in the
//!   process ([`Encoding::preload`] moves that to start-up), so a process that never counts never pays for it.
//! - **Approximate elsewhere**: every other model (Anthropic, Gemini, Mistral, Llama, ...) is counted with
//!   `cl100k_base`, as LiteLLM does when it has no tokenizer for a model, and [`TokenCount::exact`] is false.
//! - **Chat framing** as LiteLLM counts it: 3 tokens per message, 1 per `name`, 3 to prime the reply; tool
//!   definitions rendered as OpenAI's TypeScript-like namespace; images by OpenAI's tile arithmetic (85, plus
//!   170 per 512-pixel tile of an inline image's size). Estimated pieces make a count inexact.
//!
//! ```
//! use llm_core::Message;
//!
//! let n = llm_tokens::count_text("gpt-4o", "Hello world");
//! assert_eq!((n.tokens, n.exact), (2, true));
//!
//! let n = llm_tokens::token_counter("claude-sonnet-4-5", &[Message::user("Hi")]);
//! assert!(!n.exact, "cl100k_base stands in for Anthropic's tokenizer");
//! ```

mod chat;
mod encoding;
pub mod image;
mod model;
mod window;

pub use chat::{
    REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, TokenCount, count_request, count_request_with,
    count_text, format_function_definitions, token_counter,
};
pub use encoding::Encoding;
pub use model::Tokenizer;
pub use window::ContextWindowExceeded;

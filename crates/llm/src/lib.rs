//! llm-rs: one API over many LLM providers, with the exact cost of every call.
//!
//! [`Client`] is the entry point: it resolves a model name once, calls the provider, prices the response from
//! the model catalog, and (with a tracker) records the call and enforces budgets; [`Client::structured`]
//! returns a Rust type, validated and repaired. The layers are re-exported for applications that want them
//! alone: [`core`] (types and the `Provider` trait), [`cost`] (catalog and prices), [`tokens`] (token counting),
//! and [`providers`], [`schema`] and [`tracking`], each behind a cargo feature of the same name (all on by default).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llm::core::Result<()> {
//! use llm::core::{ChatRequest, Message, mock::{MockProvider, MockReply}};
//!
//! let client = llm::Client::builder()
//!     .mock(MockProvider::new().with_reply(MockReply::text("Hello!")))
//!     .tag("docs")
//!     .build()?;
//! let response = client.chat(ChatRequest::new("claude-sonnet-4-5", vec![Message::user("Hi")])).await?;
//! let cost = response.cost.as_ref().expect("priced");
//! println!("{} cost ${}", response.text(), cost.total().expect("known"));
//! # Ok(())
//! # }
//! ```

mod client;

pub use client::{Client, ClientBuilder, Route};

pub use llm_core as core;
pub use llm_cost as cost;
#[cfg(feature = "providers")]
pub use llm_providers as providers;
#[cfg(feature = "router")]
pub use llm_router as router;
#[cfg(feature = "schema")]
pub use llm_schema as schema;
pub use llm_tokens as tokens;
#[cfg(feature = "tracking")]
pub use llm_tracking as tracking;

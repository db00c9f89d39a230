//! llm-rs: one API over many LLM providers, with the exact cost of every call.
//!
//! This facade re-exports the layers; an application can depend on it alone or on just the crates it needs.
//!
//! ```
//! use llm::core::{ChatRequest, Message};
//! let req = ChatRequest::new("gpt-4o-mini", vec![Message::user("Hello")]);
//! assert_eq!(req.messages.len(), 1);
//! ```

pub use llm_core as core;
pub use llm_cost as cost;
pub use llm_providers as providers;
pub use llm_schema as schema;
pub use llm_tracking as tracking;

//! Tracking for llm-rs: hooks, the [`Tracked<P>`] decorator that prices every call, spend records, budgets,
//! stores (in-memory, SQLite, PostgreSQL), reports, exports and alerts.
//!
//! A [`Tracker`] is the shared engine: a [`Store`] written through a batched writer, [`Hook`]s run on their own
//! workers off the call's path, a [`Pricer`] (llm-cost's catalog by default), budget checks and alerts.
//! [`Tracker::wrap`] decorates any [`llm_core::Provider`]; the decorated provider attaches the cost to every
//! response, refuses calls that would cross a hard budget before anything is sent, and emits one
//! [`CallRecord`] per call.
//!
//! ```
//! use llm_core::{ChatRequest, ErrorKind, Message, Provider, mock::MockProvider};
//! use llm_tracking::{Budget, FixedPricer, GroupBy, Period, ReportQuery, Scope, Tracker};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Prices per token; the default pricer is llm-cost's catalog.
//! let pricer = FixedPricer::new().with_model("gpt-4o", "0.0000025".parse()?, "0.00001".parse()?);
//! let tracker = Tracker::builder().pricer(pricer).build()?; // in-memory store
//! let client = tracker.wrap(MockProvider::new());
//!
//! let req = ChatRequest::new("mock/gpt-4o", vec![Message::user("Hello!")]).with_user("alice").with_max_tokens(50);
//! let resp = client.chat(&req).await?;
//! let cost = resp.cost.as_ref().and_then(|c| c.total()).expect("priced");
//! assert!(!cost.is_zero());
//!
//! // A hard budget of $0.0001 per day for alice: her next call would cross it and is refused.
//! tracker.set_budget(&Budget::new(Scope::User("alice".into()), Period::Daily).with_max("0.0001".parse()?)).await?;
//! let err = client.chat(&req.clone().with_max_tokens(100)).await.unwrap_err();
//! assert_eq!(err.kind(), &ErrorKind::BudgetExceeded);
//!
//! tracker.flush().await?;
//! let report = tracker.report(&ReportQuery::new(GroupBy::User)).await?;
//! assert_eq!(report.rows[0].key, "alice");
//! assert_eq!(report.total.calls, 2); // one success, one refusal
//! assert_eq!(report.total.spend, cost);
//! tracker.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Features: `sqlite` (default) the SQLite store; `postgres` the PostgreSQL store; `dashboard` the local
//! web dashboard; `webhook` the webhook alert sink; `otel` the OpenTelemetry export ([`otel`]); `object-store`
//! spend exports to S3, GCS, Azure and folders (`export::object`); `parquet` those exports as Parquet. See
//! `docs/tracking.md` for the design and its invariants.

mod alert;
mod budget;
#[cfg(feature = "dashboard")]
pub mod dashboard;
mod error;
pub mod export;
pub mod fingerprint;
mod hooks;
#[cfg(feature = "otel")]
pub mod otel;
mod pricing;
mod record;
mod report;
mod returned;
pub mod store;
mod time;
mod tracked;
mod tracker;
mod writer;

#[cfg(feature = "webhook")]
pub use alert::WebhookSink;
pub use alert::{Alert, AlertKind, AlertSink, MAX_ALERT_WAIT, slack_body};
pub use budget::{
    Budget, BudgetStatus, FailMode, Hold, Period, Refusal, Reservation, ReserveOutcome, Scope, UnpricedPolicy,
};
pub use error::{Error, ErrorKind, Result};
pub use hooks::{CallStart, Hook, HookError, HookStats, StreamChunk};
pub use pricing::{
    CatalogPricer, FixedPricer, Pricer, Rates, TokenEstimate, count_tokens, estimate_prompt_tokens,
    estimate_prompt_tokens_with,
};
pub use record::{CallContent, CallParams, CallRecord, CallStatus, CallType, new_id};
pub use report::{GroupBy, Report, ReportQuery, ReportRow, RollupRow, Totals};
pub use store::{MemoryStore, RecordPage, Store, open};
pub use time::{Day, ParseTimeError, Timestamp};
pub use tracked::{KNOWN_METADATA, StreamCost, Tracked};
pub use tracker::{Tracker, TrackerBuilder, TrackerStats};

//! Tracking for llm-rs: hooks, the `Tracked<P>` decorator that prices every call, spend records, budgets,
//! and stores (in-memory, SQLite, PostgreSQL).
//!
//! It decorates any [`llm_core::Provider`] and prices with llm-cost; it never depends on llm-providers.

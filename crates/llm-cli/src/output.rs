//! Output helpers shared by the subcommands.

use std::io::Write;

use anyhow::Result;
use serde_json::{Value, json};

/// Writes one JSON value and a newline.
pub fn print_json(out: &mut impl Write, value: &Value) -> Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// The error object of the machine-readable interface: `{"error": {"kind": ..., "message": ...}}`.
pub fn error_json(kind: &str, message: &str) -> Value {
    json!({"error": {"kind": kind, "message": message}})
}

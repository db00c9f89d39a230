//! OpenTelemetry export for the commands that make calls (`llm chat`, `llm embed`, `llm demo`): when the standard
//! `OTEL_EXPORTER_OTLP_*` variables are set, every call becomes a span (and metric points) sent to that
//! receiver, and the command sends what is pending before it exits.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result};
use llm::tracking::otel::{OtelConfig, OtelExporter};

static EXPORTER: OnceLock<OtelExporter> = OnceLock::new();

/// The process's exporter, made on first use from the environment; `None` when the environment asks for no
/// export. Must be called inside the runtime.
pub fn exporter() -> Result<Option<&'static OtelExporter>> {
    if let Some(e) = EXPORTER.get() {
        return Ok(Some(e));
    }
    let Some(config) = OtelConfig::from_env() else { return Ok(None) };
    let exporter = OtelExporter::new(config.with_default_service_name("llm")).context("OpenTelemetry")?;
    Ok(Some(EXPORTER.get_or_init(|| exporter)))
}

/// Sends what the exporter holds, once the client's hooks have handed it their records; a failure is said
/// on stderr and does not change the command's outcome (the call itself succeeded or failed on its own).
pub async fn finish(client: &llm::Client) {
    let Some(exporter) = EXPORTER.get() else { return };
    if let Some(tracker) = client.tracker() {
        tracker.drain_hooks(Duration::from_secs(5)).await;
    }
    if let Err(e) = exporter.flush().await {
        eprintln!("llm: {e}");
    }
}

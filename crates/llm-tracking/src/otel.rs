//! OpenTelemetry export (the `otel` feature): one span per call, built from the call's finished
//! [`CallRecord`] (so cost, usage and timing are final), the GenAI client metrics and a cost counter, sent over
//! OTLP/HTTP (protobuf) with the official `opentelemetry` crates. Any OTLP backend receives them: an
//! OpenTelemetry Collector, Langfuse, Arize Phoenix, Grafana, Honeycomb, Datadog...
//!
//! [`OtelExporter`] is a [`Hook`]: add it to a tracker with [`crate::TrackerBuilder::hook`]. It is configured
//! the standard way, from the environment ([`OtelConfig::from_env`]):
//!
//! | variable | what it does |
//! |---|---|
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | the base URL; spans go to `…/v1/traces`, metrics to `…/v1/metrics` |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `…_METRICS_ENDPOINT` | one signal's full URL |
//! | `OTEL_EXPORTER_OTLP_HEADERS` (`…_TRACES_HEADERS`, `…_METRICS_HEADERS`) | `key=value,…`, values percent-encoded (an `Authorization` header) |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource |
//! | `OTEL_TRACES_EXPORTER=none`, `OTEL_METRICS_EXPORTER=none`, `OTEL_SDK_DISABLED=true` | turn a signal, or everything, off |
//! | `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_MAX_QUEUE_SIZE` | batching (ms, spans, spans) |
//! | `OTEL_METRIC_EXPORT_INTERVAL` | how often metrics are sent (ms) |
//! | `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` | add prompts and replies to spans (only those the tracker logs) |
//!
//! Spans are batched and sent by a task of the exporter on the caller's tokio runtime (no thread of its own,
//! so it works on a current-thread runtime too); [`OtelExporter::flush`] sends what is pending, and a program
//! that exits calls it (after [`crate::Tracker::drain_hooks`]) so nothing is left behind. A failed export keeps
//! its spans for the next attempt, up to the queue size; beyond it the oldest are dropped and counted
//! ([`OtelStats::dropped_spans`]). Nothing is ever sent that the record does not hold: never an API key (a
//! record only has its fingerprint), and message content only when asked for.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{ManualReader, Pipeline, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Notify;

use crate::error::{Error, ErrorKind, Result};
use crate::hooks::{Hook, HookError};
use crate::record::{CallRecord, CallStatus, CallType};

/// The GenAI semantic conventions' schema these attributes follow.
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.37.0";

/// `gen_ai.client.token.usage`'s bucket boundaries, from the GenAI semantic conventions.
const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
    67108864.0,
];

/// `gen_ai.client.operation.duration`'s bucket boundaries (seconds), from the GenAI semantic conventions.
const DURATION_BUCKETS: [f64; 14] =
    [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/// What an [`OtelExporter`] sends and how; [`OtelConfig::from_env`] reads it from the standard variables.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtelConfig {
    /// The receiver's base URL (spans to `…/v1/traces`, metrics to `…/v1/metrics`), over the variables;
    /// `None` leaves it to `OTEL_EXPORTER_OTLP_*ENDPOINT`.
    pub endpoint: Option<String>,
    /// Headers of every export request, beside those of `OTEL_EXPORTER_OTLP_*HEADERS` (values are secrets:
    /// `Debug` shows only their names).
    pub headers: Vec<(String, String)>,
    /// Send spans.
    pub traces: bool,
    /// Send metrics.
    pub metrics: bool,
    /// The service name when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one.
    pub default_service_name: String,
    /// Add prompts and replies (`gen_ai.input.messages`, `gen_ai.output.messages`) to spans, for records that
    /// carry them (the tracker's [`crate::TrackerBuilder::log_content`]).
    pub capture_content: bool,
    /// How often pending spans are sent (`OTEL_BSP_SCHEDULE_DELAY`, default 1 s).
    pub schedule_delay: Duration,
    /// Spans per request (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, default 512).
    pub max_batch: usize,
    /// Spans kept while the receiver is unreachable (`OTEL_BSP_MAX_QUEUE_SIZE`, default 2,048).
    pub max_queue: usize,
    /// How often metrics are sent (`OTEL_METRIC_EXPORT_INTERVAL`, default 60 s).
    pub metric_interval: Duration,
}

impl std::fmt::Debug for OtelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OtelConfig")
            .field("endpoint", &self.endpoint.as_deref().map(llm_core::redact_secrets))
            .field("header_names", &header_names)
            .field("traces", &self.traces)
            .field("metrics", &self.metrics)
            .field("default_service_name", &self.default_service_name)
            .field("capture_content", &self.capture_content)
            .field("schedule_delay", &self.schedule_delay)
            .field("max_batch", &self.max_batch)
            .field("max_queue", &self.max_queue)
            .field("metric_interval", &self.metric_interval)
            .finish()
    }
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            headers: Vec::new(),
            traces: true,
            metrics: true,
            default_service_name: "llm-rs".to_owned(),
            capture_content: false,
            schedule_delay: Duration::from_secs(1),
            max_batch: 512,
            max_queue: 2048,
            metric_interval: Duration::from_secs(60),
        }
    }
}

impl OtelConfig {
    /// The configuration the environment asks for, or `None` when it asks for no export: no
    /// `OTEL_EXPORTER_OTLP_*ENDPOINT` is set for a signal that is on, or `OTEL_SDK_DISABLED=true`.
    pub fn from_env() -> Option<Self> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// [`OtelConfig::from_env`] over any source of variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let set = |k: &str| var(k).is_some_and(|v| !v.trim().is_empty());
        let is = |k: &str, want: &str| var(k).is_some_and(|v| v.trim().eq_ignore_ascii_case(want));
        if is("OTEL_SDK_DISABLED", "true") {
            return None;
        }
        let base = set("OTEL_EXPORTER_OTLP_ENDPOINT");
        let traces = !is("OTEL_TRACES_EXPORTER", "none") && (base || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
        let metrics = !is("OTEL_METRICS_EXPORTER", "none") && (base || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));
        if !traces && !metrics {
            return None;
        }
        let d = Self::default();
        let millis = |k: &str, default: Duration| {
            var(k).and_then(|v| v.trim().parse::<u64>().ok()).map_or(default, Duration::from_millis)
        };
        let count = |k: &str, default: usize| {
            var(k).and_then(|v| v.trim().parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(default)
        };
        Some(Self {
            traces,
            metrics,
            capture_content: is("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"),
            schedule_delay: millis("OTEL_BSP_SCHEDULE_DELAY", d.schedule_delay),
            max_batch: count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", d.max_batch),
            max_queue: count("OTEL_BSP_MAX_QUEUE_SIZE", d.max_queue),
            metric_interval: millis("OTEL_METRIC_EXPORT_INTERVAL", d.metric_interval),
            ..d
        })
    }

    /// With this default service name.
    #[must_use]
    pub fn with_default_service_name(mut self, name: impl Into<String>) -> Self {
        self.default_service_name = name.into();
        self
    }

    /// Sends to this base URL (`http://127.0.0.1:4318`, `https://cloud.langfuse.com/api/public/otel`).
    #[must_use]
    pub fn with_endpoint(mut self, base: impl Into<String>) -> Self {
        self.endpoint = Some(base.into());
        self
    }

    /// Adds a header to every export request.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// With message content on spans, or without.
    #[must_use]
    pub fn with_capture_content(mut self, capture: bool) -> Self {
        self.capture_content = capture;
        self
    }
}

/// Counters of an [`OtelExporter`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OtelStats {
    /// Spans the receiver accepted.
    pub exported_spans: u64,
    /// Export requests (spans or metrics) that failed.
    pub failed_exports: u64,
    /// Spans dropped because the queue was full while the receiver was unreachable.
    pub dropped_spans: u64,
    /// The last export error (redacted).
    pub last_error: Option<String>,
}

/// Exports calls to an OTLP receiver: a [`Hook`] that turns each finished record into a span and metric
/// points. Cheap to clone; every clone shares one queue and one exporter. See the module docs.
#[derive(Clone)]
pub struct OtelExporter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OtelExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelExporter")
            .field("traces", &self.inner.spans.is_some())
            .field("metrics", &self.inner.metrics.is_some())
            .field("capture_content", &self.inner.config.capture_content)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: OtelConfig,
    scope: InstrumentationScope,
    spans: Option<opentelemetry_otlp::SpanExporter>,
    queue: Mutex<VecDeque<SpanData>>,
    /// One export at a time, so spans leave in order and a retried batch is not sent twice.
    exporting: tokio::sync::Mutex<()>,
    metrics: Option<Metrics>,
    wake: Notify,
    exported: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    last_error: Mutex<Option<String>>,
}

struct Metrics {
    provider: SdkMeterProvider,
    reader: SharedReader,
    exporter: opentelemetry_otlp::MetricExporter,
    token_usage: Histogram<u64>,
    duration: Histogram<f64>,
    cost: Counter<f64>,
}

/// A [`ManualReader`] the meter provider and the exporter share: the exporter collects from it and sends on
/// its own task (the SDK's periodic reader runs a thread that cannot drive an async HTTP client).
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: opentelemetry_sdk::metrics::InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

impl OtelExporter {
    /// An exporter configured from the environment, or `None` when it asks for no export
    /// ([`OtelConfig::from_env`]). Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// An invalid endpoint or header variable ([`ErrorKind::Config`]).
    pub fn from_env() -> Result<Option<Self>> {
        OtelConfig::from_env().map(Self::new).transpose()
    }

    /// An exporter with this configuration; endpoints, headers and the resource come from the standard
    /// variables. Must be called inside a tokio runtime (it starts its sending task there).
    ///
    /// # Errors
    /// An invalid endpoint or header variable, or no tokio runtime ([`ErrorKind::Config`]).
    pub fn new(config: OtelConfig) -> Result<Self> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(Error::new(
                ErrorKind::Config,
                "the OpenTelemetry exporter must be created inside a tokio runtime",
            ));
        };
        let resource = resource(&config.default_service_name);
        let scope = InstrumentationScope::builder("llm-rs")
            .with_version(env!("CARGO_PKG_VERSION"))
            .with_schema_url(SCHEMA_URL)
            .build();
        let build_error = |what: &str, e: &dyn std::fmt::Display| {
            Error::new(ErrorKind::Config, format!("the OpenTelemetry {what} exporter: {e}"))
        };
        let url = |path: &str| config.endpoint.as_ref().map(|b| format!("{}{path}", b.trim_end_matches('/')));
        let headers: std::collections::HashMap<String, String> = config.headers.iter().cloned().collect();
        let spans = if config.traces {
            let mut builder =
                opentelemetry_otlp::SpanExporter::builder().with_http().with_protocol(Protocol::HttpBinary);
            if let Some(u) = url("/v1/traces") {
                builder = builder.with_endpoint(u);
            }
            let mut exporter = builder.with_headers(headers.clone()).build().map_err(|e| build_error("span", &e))?;
            exporter.set_resource(&resource);
            Some(exporter)
        } else {
            None
        };
        let metrics = if config.metrics {
            let mut builder =
                opentelemetry_otlp::MetricExporter::builder().with_http().with_protocol(Protocol::HttpBinary);
            if let Some(u) = url("/v1/metrics") {
                builder = builder.with_endpoint(u);
            }
            let exporter = builder.with_headers(headers).build().map_err(|e| build_error("metric", &e))?;
            let reader =
                SharedReader(Arc::new(ManualReader::builder().with_temporality(exporter.temporality()).build()));
            let provider =
                SdkMeterProvider::builder().with_reader(reader.clone()).with_resource(resource.clone()).build();
            let meter = provider.meter_with_scope(scope.clone());
            let token_usage = meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used.")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build();
            let duration = meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("GenAI operation duration.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build();
            let cost = meter
                .f64_counter("llm.client.cost")
                .with_unit("USD")
                .with_description(
                    "Cost of GenAI calls in US dollars (the exact amount is each span's llm.cost.total_usd).",
                )
                .build();
            Some(Metrics { provider, reader, exporter, token_usage, duration, cost })
        } else {
            None
        };
        let inner = Arc::new(Inner {
            config,
            scope,
            spans,
            queue: Mutex::new(VecDeque::new()),
            exporting: tokio::sync::Mutex::new(()),
            metrics,
            wake: Notify::new(),
            exported: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            last_error: Mutex::new(None),
        });
        runtime.spawn(run(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// The configuration.
    pub fn config(&self) -> &OtelConfig {
        &self.inner.config
    }

    /// Turns a finished call's record into a span (queued for the next export) and metric points.
    pub fn record(&self, record: &CallRecord) {
        let inner = &self.inner;
        if inner.spans.is_some() {
            let span = span_data(record, &inner.scope, inner.config.capture_content);
            let mut queue = inner.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.len() >= inner.config.max_queue {
                queue.pop_front();
                inner.dropped.fetch_add(1, Ordering::Relaxed);
            }
            queue.push_back(span);
            if queue.len() >= inner.config.max_batch {
                inner.wake.notify_one();
            }
        }
        if let Some(m) = &inner.metrics {
            record_metrics(m, record);
        }
    }

    /// Sends every pending span, then the metrics; returns the first error (the spans of a failed request
    /// stay queued for the next attempt).
    ///
    /// # Errors
    /// The receiver refused a request or could not be reached ([`ErrorKind::Io`]).
    pub async fn flush(&self) -> Result<()> {
        let spans = self.inner.export_spans(true).await;
        let metrics = self.inner.export_metrics().await;
        spans.and(metrics)
    }

    /// [`OtelExporter::flush`], then stops the exporter.
    ///
    /// # Errors
    /// As [`OtelExporter::flush`].
    pub async fn shutdown(&self) -> Result<()> {
        let flushed = self.flush().await;
        if let Some(e) = &self.inner.spans {
            let _ = e.shutdown();
        }
        if let Some(m) = &self.inner.metrics {
            let _ = m.provider.shutdown();
        }
        flushed
    }

    /// Its counters.
    pub fn stats(&self) -> OtelStats {
        let i = &self.inner;
        OtelStats {
            exported_spans: i.exported.load(Ordering::Relaxed),
            failed_exports: i.failed.load(Ordering::Relaxed),
            dropped_spans: i.dropped.load(Ordering::Relaxed),
            last_error: i.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }
}

/// The exporter's task: sends pending spans every `schedule_delay` (or as soon as a batch is full) and metrics
/// every `metric_interval`, until the exporter is dropped.
async fn run(inner: Weak<Inner>) {
    let (delay, metric_interval) = match inner.upgrade() {
        Some(i) => (i.config.schedule_delay.max(Duration::from_millis(10)), i.config.metric_interval),
        None => return,
    };
    let mut last_metrics = tokio::time::Instant::now();
    loop {
        let notified = match inner.upgrade() {
            Some(i) => {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = i.wake.notified() => {}
                }
                i
            }
            None => return,
        };
        let _ = notified.export_spans(false).await;
        if notified.metrics.is_some() && last_metrics.elapsed() >= metric_interval {
            last_metrics = tokio::time::Instant::now();
            let _ = notified.export_metrics().await;
        }
    }
}

impl Inner {
    /// Sends queued spans in batches; with `all`, until the queue is empty, else at most one batch.
    async fn export_spans(&self, all: bool) -> Result<()> {
        let Some(exporter) = &self.spans else { return Ok(()) };
        let _one = self.exporting.lock().await;
        loop {
            let batch: Vec<SpanData> = {
                let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                let n = q.len().min(self.config.max_batch);
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                return Ok(());
            }
            let n = batch.len() as u64;
            match exporter.export(batch.clone()).await {
                Ok(()) => {
                    self.exported.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    // Back to the front, in order; what no longer fits is dropped (the oldest first).
                    let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                    for span in batch.into_iter().rev() {
                        q.push_front(span);
                    }
                    while q.len() > self.config.max_queue {
                        q.pop_front();
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    return Err(self.failed("spans", &e));
                }
            }
            if !all {
                return Ok(());
            }
        }
    }

    async fn export_metrics(&self) -> Result<()> {
        let Some(m) = &self.metrics else { return Ok(()) };
        let mut rm = ResourceMetrics::default();
        if let Err(e) = m.reader.collect(&mut rm) {
            return Err(self.failed("metrics", &e));
        }
        m.exporter.export(&rm).await.map_err(|e| self.failed("metrics", &e))
    }

    fn failed(&self, what: &str, e: &dyn std::fmt::Display) -> Error {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let err = Error::new(ErrorKind::Io, format!("OpenTelemetry export of {what} failed: {e}"));
        tracing::warn!(error = %err, "OpenTelemetry export failed");
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(err.to_string());
        err
    }
}

#[async_trait]
impl Hook for OtelExporter {
    fn name(&self) -> &str {
        "otel"
    }

    fn wants_before_call(&self) -> bool {
        false
    }

    async fn on_success(&self, record: &CallRecord) -> Result<(), HookError> {
        self.record(record);
        Ok(())
    }

    async fn on_failure(&self, record: &CallRecord) -> Result<(), HookError> {
        self.record(record);
        Ok(())
    }
}

/// The resource: the standard detectors (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, the SDK's own
/// attributes), with `default_service_name` when neither variable names the service.
fn resource(default_service_name: &str) -> Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    let builder = Resource::builder();
    if named { builder.build() } else { builder.with_service_name(default_service_name.to_owned()).build() }
}

/// The GenAI semantic conventions' name of a provider (`gen_ai.provider.name`); ours where they have none.
pub fn provider_name(provider: &str) -> &str {
    match provider {
        "gemini" => "gcp.gemini",
        "vertex_ai" => "gcp.vertex_ai",
        "bedrock" => "aws.bedrock",
        "azure" => "azure.ai.openai",
        "mistral" => "mistral_ai",
        "xai" => "x_ai",
        "watsonx" => "ibm.watsonx.ai",
        other => other,
    }
}

fn record_metrics(m: &Metrics, r: &CallRecord) {
    let mut attrs = vec![
        KeyValue::new("gen_ai.operation.name", r.call_type.operation()),
        KeyValue::new("gen_ai.provider.name", provider_name(&r.provider).to_owned()),
        KeyValue::new("gen_ai.request.model", r.requested_model.clone()),
    ];
    if r.status == CallStatus::Success {
        attrs.push(KeyValue::new("gen_ai.response.model", r.model.clone()));
    }
    let base = attrs.len();
    if let Some(kind) = &r.error_kind {
        attrs.push(KeyValue::new("error.type", kind.clone()));
    } else if r.status == CallStatus::Cancelled {
        attrs.push(KeyValue::new("error.type", "cancelled"));
    }
    m.duration.record(r.latency_ms / 1000.0, &attrs);
    attrs.truncate(base);
    if r.status == CallStatus::Success || r.usage.prompt_tokens > 0 || r.usage.completion_tokens > 0 {
        for (kind, n) in [("input", r.usage.prompt_tokens), ("output", r.usage.completion_tokens)] {
            attrs.push(KeyValue::new("gen_ai.token.type", kind));
            m.token_usage.record(n, &attrs);
            attrs.pop();
        }
    }
    let cost = r.cost.as_ref().and_then(llm_core::Cost::total).map(usd_f64);
    if let Some(v) = cost.filter(|v| *v > 0.0) {
        m.cost.add(v, &attrs);
    }
}

/// An amount as the nearest `f64` to its decimal text (what a reader parsing `llm.cost.total_usd`, or the
/// CLI's `total_cost`, gets), for the attributes and metrics that must be numbers.
fn usd_f64(usd: llm_core::Usd) -> f64 {
    usd.to_string().parse().unwrap_or_default()
}

/// The span of a finished call: its ids, times, status and every attribute ([`span_attributes`]).
pub fn span_data(record: &CallRecord, scope: &InstrumentationScope, capture_content: bool) -> SpanData {
    let (trace_id, parent) = trace_ids(record);
    let span_id = span_id(&record.id);
    let status = match record.status {
        CallStatus::Success => Status::Unset,
        CallStatus::Failure => Status::error(record.error_message.clone().unwrap_or_default()),
        CallStatus::Cancelled => Status::error("cancelled by the caller"),
    };
    SpanData {
        span_context: SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, false, TraceState::default()),
        parent_span_id: parent.unwrap_or(SpanId::INVALID),
        parent_span_is_remote: parent.is_some(),
        span_kind: SpanKind::Client,
        name: Cow::Owned(format!("{} {}", record.call_type.operation(), record.requested_model)),
        start_time: system_time(record.start_time.as_micros()),
        end_time: system_time(record.end_time.as_micros()),
        attributes: span_attributes(record, capture_content),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope.clone(),
    }
}

fn system_time(micros: i64) -> SystemTime {
    let d = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 { SystemTime::UNIX_EPOCH + d } else { SystemTime::UNIX_EPOCH - d }
}

/// The span's trace id and remote parent: the record's `traceparent` metadata (W3C) when it has one, else its
/// trace id (32 hex digits as they are; any other text hashed to 128 bits, the same text to the same id).
fn trace_ids(r: &CallRecord) -> (TraceId, Option<SpanId>) {
    if let Some(tp) = r.metadata.get("traceparent").and_then(serde_json::Value::as_str) {
        let parts: Vec<&str> = tp.trim().split('-').collect();
        if let [_version, trace, parent, _flags] = parts[..]
            && let (Ok(t), Ok(p)) = (TraceId::from_hex(trace), SpanId::from_hex(parent))
            && t != TraceId::INVALID
            && p != SpanId::INVALID
        {
            return (t, Some(p));
        }
    }
    (trace_id_of(&r.trace_id), None)
}

fn trace_id_of(text: &str) -> TraceId {
    if text.len() == 32
        && let Ok(t) = TraceId::from_hex(text)
        && t != TraceId::INVALID
    {
        return t;
    }
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        text.hash(&mut h);
        h.finish()
    };
    TraceId::from(u128::from(half(1)) << 64 | u128::from(half(2)))
}

/// The record id's 16 random hex digits (after its 12 of time) as the span id.
fn span_id(id: &str) -> SpanId {
    id.get(12..28).and_then(|h| SpanId::from_hex(h).ok()).filter(|s| *s != SpanId::INVALID).unwrap_or_else(|| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut h);
        SpanId::from(h.finish().max(1))
    })
}

fn strings(values: impl IntoIterator<Item = String>) -> Value {
    Value::Array(Array::String(values.into_iter().map(StringValue::from).collect()))
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Every attribute of a call's span: the GenAI semantic conventions' `gen_ai.*` (operation, provider, request
/// parameters, response, usage, `gen_ai.usage.cost` as Langfuse reads it), `error.type`, `user.id`, this
/// library's exact `llm.*` set (`llm.cost.total_usd` as the exact decimal string, cost status, catalog key and
/// version, call id, status, tags...), and OpenInference's names for Arize Phoenix. Message content only with
/// `capture_content`, and only what the record holds.
pub fn span_attributes(r: &CallRecord, capture_content: bool) -> Vec<KeyValue> {
    let mut a = Vec::with_capacity(40);
    let op = r.call_type.operation();
    a.push(KeyValue::new("gen_ai.operation.name", op));
    a.push(KeyValue::new("gen_ai.provider.name", provider_name(&r.provider).to_owned()));
    a.push(KeyValue::new("gen_ai.request.model", r.requested_model.clone()));
    let p = &r.params;
    if let Some(v) = p.max_tokens {
        a.push(KeyValue::new("gen_ai.request.max_tokens", i64::from(v)));
    }
    for (k, v) in [
        ("gen_ai.request.temperature", p.temperature),
        ("gen_ai.request.top_p", p.top_p),
        ("gen_ai.request.presence_penalty", p.presence_penalty),
        ("gen_ai.request.frequency_penalty", p.frequency_penalty),
    ] {
        if let Some(v) = v {
            a.push(KeyValue::new(k, v));
        }
    }
    if let Some(v) = p.seed {
        a.push(KeyValue::new("gen_ai.request.seed", v));
    }
    if let Some(v) = p.n.filter(|n| *n != 1) {
        a.push(KeyValue::new("gen_ai.request.choice.count", i64::from(v)));
    }
    let answered = r.status == CallStatus::Success || r.response_id.is_some() || !r.finish_reasons.is_empty();
    if answered {
        a.push(KeyValue::new("gen_ai.response.model", r.model.clone()));
    }
    if let Some(id) = &r.response_id {
        a.push(KeyValue::new("gen_ai.response.id", id.clone()));
    }
    if !r.finish_reasons.is_empty() {
        a.push(KeyValue::new("gen_ai.response.finish_reasons", strings(r.finish_reasons.iter().cloned())));
    }
    let u = &r.usage;
    a.push(KeyValue::new("gen_ai.usage.input_tokens", int(u.prompt_tokens)));
    if r.call_type != CallType::Embedding {
        a.push(KeyValue::new("gen_ai.usage.output_tokens", int(u.completion_tokens)));
    }
    if let Some(n) = u.cache_read_tokens {
        a.push(KeyValue::new("gen_ai.usage.cache_read.input_tokens", int(n)));
    }
    if let Some(n) = u.cache_write_tokens {
        a.push(KeyValue::new("gen_ai.usage.cache_creation.input_tokens", int(n)));
    }
    if let Some(n) = u.reasoning_tokens {
        a.push(KeyValue::new("gen_ai.usage.reasoning.output_tokens", int(n)));
    }
    if let Some(kind) = &r.error_kind {
        a.push(KeyValue::new("error.type", kind.clone()));
    } else if r.status == CallStatus::Cancelled {
        a.push(KeyValue::new("error.type", "cancelled"));
    }
    // Cost: a number for backends (Langfuse's gen_ai.usage.cost, OpenInference's llm.cost.total), the exact
    // decimal as a string, and how it was priced.
    let cost = r.cost.as_ref();
    let total = cost.and_then(llm_core::Cost::total);
    if let Some(t) = total {
        let approx = usd_f64(t);
        a.push(KeyValue::new("gen_ai.usage.cost", approx));
        a.push(KeyValue::new("llm.cost.total", approx));
        a.push(KeyValue::new("llm.cost.total_usd", t.to_string()));
    }
    a.push(KeyValue::new("llm.cost.status", r.cost_status().as_str().to_owned()));
    if let Some(k) = r.catalog_key() {
        a.push(KeyValue::new("llm.cost.catalog_key", k.to_owned()));
    }
    if let Some(v) = r.catalog_version() {
        a.push(KeyValue::new("llm.cost.catalog_version", v.to_owned()));
    }
    a.push(KeyValue::new("llm.call.id", r.id.clone()));
    a.push(KeyValue::new("llm.call.status", r.status.as_str()));
    a.push(KeyValue::new("llm.call.type", r.call_type.as_str()));
    a.push(KeyValue::new("llm.stream", r.stream));
    if r.trace_id.len() != 32 || TraceId::from_hex(&r.trace_id).is_err() {
        a.push(KeyValue::new("llm.trace_id", r.trace_id.clone()));
    }
    if r.retry_attempts > 0 {
        a.push(KeyValue::new("llm.retries", i64::from(r.retry_attempts)));
    }
    if r.repair_attempts > 0 {
        a.push(KeyValue::new("llm.repair_attempts", i64::from(r.repair_attempts)));
    }
    if let Some(ft) = r.first_token_time {
        let ms = (ft.as_micros() - r.start_time.as_micros()) as f64 / 1000.0;
        a.push(KeyValue::new("llm.time_to_first_token_ms", ms));
    }
    if !r.adjustments.is_empty() {
        a.push(KeyValue::new("llm.adjustments", strings(r.adjustments.iter().map(|x| x.kind.as_str().to_owned()))));
    }
    if let Some(u) = &r.user {
        a.push(KeyValue::new("user.id", u.clone()));
    }
    for (k, v) in [("llm.team", &r.team), ("llm.project", &r.project), ("llm.end_user", &r.end_user)] {
        if let Some(v) = v {
            a.push(KeyValue::new(k, v.clone()));
        }
    }
    if let Some(fp) = &r.api_key_fingerprint {
        a.push(KeyValue::new("llm.api_key_fingerprint", fp.clone()));
    }
    if !r.tags.is_empty() {
        a.push(KeyValue::new("llm.tags", strings(r.tags.iter().cloned())));
        // Langfuse's and OpenInference's names for the same tags.
        a.push(KeyValue::new("langfuse.trace.tags", strings(r.tags.iter().cloned())));
        a.push(KeyValue::new("tag.tags", strings(r.tags.iter().cloned())));
    }
    // OpenInference (Arize Phoenix): the span kind and the names its UI reads.
    let kind = if r.call_type == CallType::Embedding { "EMBEDDING" } else { "LLM" };
    a.push(KeyValue::new("openinference.span.kind", kind));
    a.push(KeyValue::new("llm.model_name", r.model.clone()));
    a.push(KeyValue::new("llm.provider", r.provider.clone()));
    a.push(KeyValue::new("llm.token_count.prompt", int(u.prompt_tokens)));
    a.push(KeyValue::new("llm.token_count.completion", int(u.completion_tokens)));
    a.push(KeyValue::new("llm.token_count.total", int(u.prompt_tokens.saturating_add(u.completion_tokens))));
    if capture_content && let Some(c) = &r.content {
        a.push(KeyValue::new("gen_ai.input.messages", input_messages(&c.messages)));
        if let Some(reply) = &c.reply {
            let finish = r.finish_reasons.first().map_or("stop", String::as_str);
            let parts = json!([{"type": "text", "content": reply}]);
            let out = json!([{"role": "assistant", "parts": parts, "finish_reason": finish}]);
            a.push(KeyValue::new("gen_ai.output.messages", out.to_string()));
        }
    }
    a
}

/// Messages in the GenAI conventions' JSON shape: `[{"role", "parts": [{"type": "text", "content"}]}]`.
fn input_messages(messages: &[llm_core::Message]) -> String {
    let out: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let v = serde_json::to_value(m).unwrap_or_default();
            let role = v.get("role").cloned().unwrap_or_else(|| json!("user"));
            let parts = match v.get("content") {
                Some(serde_json::Value::String(s)) => vec![json!({"type": "text", "content": s})],
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|p| match p.get("text") {
                        Some(t) => json!({"type": "text", "content": t}),
                        None => p.clone(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            json!({"role": role, "parts": parts})
        })
        .collect();
    serde_json::Value::Array(out).to_string()
}

//! The OpenTelemetry export (`otel` feature): what a call's span and metric points say, decoded from the
//! OTLP/HTTP protobuf requests the exporter sends to a loopback receiver; batching, failed exports kept for
//! the next, the queue limit, trace ids, content only when asked for, and no API key in anything sent. The
//! same export into a real receiver (Arize Phoenix) is tested from the `llm` CLI (llm-cli's `otel_phoenix`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use llm_core::mock::MockProvider;
use llm_core::{ApiKey, ChatRequest, Message, Provider, Usage};
use llm_fake_upstream::{FakeUpstream, RecordedRequest, Reply};
use llm_tracking::otel::{OtelConfig, OtelExporter, span_attributes};
use llm_tracking::{CallParams, CallRecord, CallStatus, Timestamp, Tracker};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::{Value, json};

const KEY: &str = "sk-live-OTEL-PLANTED-0123456789abcdef";
const HEADER: &str = "Basic cGstbGYtMTIzOnNrLWxmLTQ1Ng==";

/// A loopback OTLP/HTTP receiver that accepts everything.
async fn receiver() -> FakeUpstream {
    let server = FakeUpstream::start().await.unwrap();
    server.set_default(Reply::new(200).header("content-type", "application/x-protobuf"));
    server
}

fn config(server: &FakeUpstream) -> OtelConfig {
    OtelConfig::default()
        .with_endpoint(server.url())
        .with_header("authorization", HEADER)
        .with_default_service_name("otel-test")
}

/// [`config`] without metrics, for the tests of spans alone.
fn traces_only(server: &FakeUpstream) -> OtelConfig {
    let mut c = config(server);
    c.metrics = false;
    c
}

fn any_json(v: &AnyValue) -> Value {
    match &v.value {
        Some(Any::StringValue(s)) => json!(s),
        Some(Any::IntValue(i)) => json!(i),
        Some(Any::DoubleValue(d)) => json!(d),
        Some(Any::BoolValue(b)) => json!(b),
        Some(Any::ArrayValue(a)) => Value::Array(a.values.iter().map(any_json).collect()),
        other => json!(format!("{other:?}")),
    }
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, Value> {
    kvs.iter().map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, any_json))).collect()
}

fn spans_of(requests: &[RecordedRequest]) -> Vec<(BTreeMap<String, Value>, Span)> {
    let mut out = Vec::new();
    for r in requests.iter().filter(|r| r.path == "/v1/traces") {
        let req = ExportTraceServiceRequest::decode(r.body.as_slice()).expect("an OTLP trace request");
        for rs in req.resource_spans {
            let resource = attrs(&rs.resource.map(|r| r.attributes).unwrap_or_default());
            for ss in rs.scope_spans {
                for span in ss.spans {
                    out.push((resource.clone(), span));
                }
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn tracked(exporter: &OtelExporter, log_content: bool) -> (Tracker, impl Provider) {
    let tracker = Tracker::builder().hook(exporter.clone()).log_content(log_content).build().unwrap();
    let client = tracker.wrap(MockProvider::new().with_id("openai")).with_api_key(&ApiKey::new(KEY));
    (tracker, client)
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o", vec![Message::user("What is the capital of Portugal?")])
        .with_user("ana")
        .with_max_tokens(64)
        .with_temperature(0.2)
        .with_tag("checkout")
        .with_tag("eu")
}

#[tokio::test]
async fn a_call_becomes_one_span_with_the_gen_ai_attributes_and_its_exact_cost() {
    let server = receiver().await;
    let exporter = OtelExporter::new(config(&server)).unwrap();
    let (tracker, client) = tracked(&exporter, false).await;
    let resp = client.chat(&request()).await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    exporter.flush().await.unwrap();

    let requests = server.requests();
    let spans = spans_of(&requests);
    assert_eq!(spans.len(), 1, "one span per call");
    let (resource, span) = &spans[0];
    assert_eq!(resource["service.name"], json!("otel-test"));
    let a = attrs(&span.attributes);
    let cost = resp.cost.as_ref().and_then(llm_core::Cost::total).unwrap();
    assert_eq!(a["llm.cost.total_usd"], json!(cost.to_string()), "the exact decimal string");
    let approx: f64 = cost.to_string().parse().unwrap();
    assert_eq!(a["gen_ai.usage.cost"], json!(approx));
    assert_eq!(a["gen_ai.usage.input_tokens"], json!(resp.usage.unwrap().prompt_tokens));
    assert_eq!(a["gen_ai.usage.output_tokens"], json!(resp.usage.unwrap().completion_tokens));
    assert_eq!(span.name, "chat gpt-4o");
    assert_eq!(span.kind, 3, "SPAN_KIND_CLIENT");

    // The record it was built from: same ids and times.
    tracker.flush().await.unwrap();
    let records =
        tracker.store().records_after(llm_tracking::RecordPage { limit: 10, ..Default::default() }).await.unwrap();
    let record = &records[0];
    assert_eq!(hex(&span.trace_id), record.trace_id);
    assert_eq!(hex(&span.span_id), record.id[12..28]);
    assert_eq!(span.start_time_unix_nano, record.start_time.as_micros() as u64 * 1000);
    assert_eq!(span.end_time_unix_nano, record.end_time.as_micros() as u64 * 1000);
    assert_eq!(a["llm.call.id"], json!(record.id));
    assert_eq!(a["llm.api_key_fingerprint"], json!(record.api_key_fingerprint.clone().unwrap()));

    // Everything else, ids and the catalog version aside.
    let mut shown = a.clone();
    for k in ["llm.call.id", "gen_ai.response.id", "llm.api_key_fingerprint", "llm.cost.catalog_version"] {
        shown.insert(k.to_owned(), json!("[redacted]"));
    }
    insta::assert_json_snapshot!("span_attributes_of_a_call", shown);

    // The header reached the receiver, and no API key is anywhere in what was sent.
    let traces: Vec<_> = requests.iter().filter(|r| r.path == "/v1/traces").collect();
    assert!(traces.iter().all(|r| r.header("authorization") == Some(HEADER)));
    assert!(traces.iter().all(|r| r.header("content-type") == Some("application/x-protobuf")));
    for r in &requests {
        assert!(!r.body.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the API key was sent to {}", r.path);
    }
    assert_eq!(exporter.stats().exported_spans, 1);
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_carry_token_usage_duration_and_cost() {
    let server = receiver().await;
    let exporter = OtelExporter::new(config(&server)).unwrap();
    let (tracker, client) = tracked(&exporter, false).await;
    let a = client.chat(&request()).await.unwrap();
    let b = client.chat(&request().with_max_tokens(10)).await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    exporter.flush().await.unwrap();

    let requests = server.requests();
    let metrics: Vec<_> = requests.iter().filter(|r| r.path == "/v1/metrics").collect();
    assert_eq!(metrics.len(), 1);
    let req = ExportMetricsServiceRequest::decode(metrics[0].body.as_slice()).unwrap();
    let all: Vec<_> = req.resource_metrics.iter().flat_map(|rm| &rm.scope_metrics).flat_map(|sm| &sm.metrics).collect();
    let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for want in ["gen_ai.client.token.usage", "gen_ai.client.operation.duration", "llm.client.cost"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let usage = |r: &llm_core::ChatResponse| r.usage.unwrap();
    for m in &all {
        match (m.name.as_str(), m.data.as_ref().unwrap()) {
            ("gen_ai.client.token.usage", Data::Histogram(h)) => {
                assert_eq!(m.unit, "{token}");
                let by_type: BTreeMap<String, (u64, f64)> = h
                    .data_points
                    .iter()
                    .map(|p| {
                        (
                            attrs(&p.attributes)["gen_ai.token.type"].as_str().unwrap().to_owned(),
                            (p.count, p.sum.unwrap()),
                        )
                    })
                    .collect();
                let input = (usage(&a).prompt_tokens + usage(&b).prompt_tokens) as f64;
                let output = (usage(&a).completion_tokens + usage(&b).completion_tokens) as f64;
                assert_eq!(by_type["input"], (2, input));
                assert_eq!(by_type["output"], (2, output));
                let p = attrs(&h.data_points[0].attributes);
                assert_eq!(p["gen_ai.provider.name"], json!("openai"));
                assert_eq!(p["gen_ai.operation.name"], json!("chat"));
                assert_eq!(p["gen_ai.request.model"], json!("gpt-4o"));
            }
            ("gen_ai.client.operation.duration", Data::Histogram(h)) => {
                assert_eq!(m.unit, "s");
                assert_eq!(h.data_points.iter().map(|p| p.count).sum::<u64>(), 2);
                assert_eq!(h.data_points[0].explicit_bounds[0], 0.01, "the conventions' buckets");
            }
            ("llm.client.cost", Data::Sum(s)) => {
                assert!(s.is_monotonic);
                let total: f64 = s
                    .data_points
                    .iter()
                    .map(|p| match p.value {
                        Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(d)) => d,
                        _ => 0.0,
                    })
                    .sum();
                let want = [&a, &b]
                    .iter()
                    .map(|r| r.cost.as_ref().unwrap().total().unwrap().to_string().parse::<f64>().unwrap())
                    .sum::<f64>();
                assert!((total - want).abs() < 1e-12, "{total} vs {want}");
            }
            (name, data) => panic!("unexpected metric {name}: {data:?}"),
        }
    }
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failed_export_keeps_its_spans_for_the_next_and_a_full_queue_drops_the_oldest() {
    let server = FakeUpstream::start().await.unwrap();
    // Refused first (401: not retried, where the exporter retries a 503 itself), then accepted.
    server.push_for_path("/v1/traces", Reply::json(401, "{}"));
    server.set_default(Reply::new(200));
    let mut cfg = traces_only(&server);
    cfg.max_queue = 3;
    let exporter = OtelExporter::new(cfg).unwrap();
    let (tracker, client) = tracked(&exporter, false).await;
    client.chat(&request()).await.unwrap();
    client.chat(&request()).await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    let err = exporter.flush().await.unwrap_err();
    assert!(err.to_string().contains("OpenTelemetry export of spans failed"), "{err}");
    let stats = exporter.stats();
    assert_eq!((stats.exported_spans, stats.failed_exports, stats.dropped_spans), (0, 1, 0));
    assert!(stats.last_error.unwrap().contains("401"));

    // Two more calls: four spans for a queue of three, the oldest goes.
    client.chat(&request()).await.unwrap();
    client.chat(&request().with_user("bo")).await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    exporter.flush().await.unwrap();
    let stats = exporter.stats();
    assert_eq!((stats.exported_spans, stats.failed_exports, stats.dropped_spans), (3, 1, 1));
    let requests = server.requests();
    let spans = spans_of(&requests[1..]);
    assert_eq!(spans.len(), 3, "each kept span sent once");
    let users: Vec<Value> = spans.iter().map(|(_, s)| attrs(&s.attributes)["user.id"].clone()).collect();
    assert_eq!(users, [json!("ana"), json!("ana"), json!("bo")], "in order, the oldest dropped");
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn spans_are_sent_in_the_background_and_batched() {
    let server = receiver().await;
    let mut cfg = traces_only(&server);
    cfg.schedule_delay = Duration::from_millis(50);
    cfg.max_batch = 2;
    let exporter = OtelExporter::new(cfg).unwrap();
    let (tracker, client) = tracked(&exporter, false).await;
    for _ in 0..5 {
        client.chat(&request()).await.unwrap();
    }
    // No flush: the exporter's own task sends them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while exporter.stats().exported_spans < 5 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(exporter.stats().exported_spans, 5);
    let requests = server.requests();
    let sizes: Vec<usize> = requests.iter().map(|r| spans_of(std::slice::from_ref(r)).len()).collect();
    assert!(sizes.iter().all(|n| (1..=2).contains(n)), "batches of at most 2: {sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 5);
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn trace_ids_follow_the_trace_id_metadata_and_a_w3c_traceparent() {
    let server = receiver().await;
    let exporter = OtelExporter::new(traces_only(&server)).unwrap();
    let (tracker, client) = tracked(&exporter, false).await;
    let with = |k: &str, v: &str| {
        let mut r = request();
        r.metadata.insert(k.to_owned(), json!(v));
        r
    };
    client.chat(&with("trace_id", "checkout-42")).await.unwrap();
    client.chat(&with("trace_id", "checkout-42")).await.unwrap();
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    client.chat(&with("traceparent", parent)).await.unwrap();
    tracker.drain_hooks(Duration::from_secs(5)).await;
    exporter.flush().await.unwrap();
    let spans = spans_of(&server.requests());
    assert_eq!(spans.len(), 3);
    let (a, b, c) = (&spans[0].1, &spans[1].1, &spans[2].1);
    assert_eq!(a.trace_id, b.trace_id, "one trace id for one trace_id text");
    assert_ne!(a.span_id, b.span_id);
    assert_eq!(attrs(&a.attributes)["llm.trace_id"], json!("checkout-42"));
    assert!(a.parent_span_id.is_empty());
    assert_eq!(hex(&c.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex(&c.parent_span_id), "00f067aa0ba902b7");
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn message_content_is_sent_only_when_asked_for() {
    for capture in [false, true] {
        let server = receiver().await;
        let exporter = OtelExporter::new(traces_only(&server).with_capture_content(capture)).unwrap();
        let (tracker, client) = tracked(&exporter, true).await;
        let resp = client.chat(&request()).await.unwrap();
        tracker.drain_hooks(Duration::from_secs(5)).await;
        exporter.flush().await.unwrap();
        let spans = spans_of(&server.requests());
        let a = attrs(&spans[0].1.attributes);
        if capture {
            let input: Value = serde_json::from_str(a["gen_ai.input.messages"].as_str().unwrap()).unwrap();
            assert_eq!(
                input,
                json!([{"role": "user", "parts": [{"type": "text", "content": "What is the capital of Portugal?"}]}])
            );
            let output: Value = serde_json::from_str(a["gen_ai.output.messages"].as_str().unwrap()).unwrap();
            assert_eq!(output[0]["parts"][0]["content"], json!(resp.text()));
            assert_eq!(output[0]["finish_reason"], json!("stop"));
        } else {
            assert!(!a.contains_key("gen_ai.input.messages") && !a.contains_key("gen_ai.output.messages"), "{a:?}");
            let body: Vec<u8> = server.requests().iter().flat_map(|r| r.body.clone()).collect();
            assert!(!body.windows(8).any(|w| w == b"Portugal"), "no prompt text without opting in");
        }
        tracker.shutdown().await.unwrap();
    }
}

#[test]
fn the_attributes_of_a_failed_call_and_of_cache_usage() {
    let mut r = CallRecord::new("anthropic", "claude-sonnet-4-5", Timestamp::from_micros(1_700_000_000_000_000));
    r.status = CallStatus::Failure;
    r.error_kind = Some("rate_limit".to_owned());
    r.error_message = Some("429 slow down".to_owned());
    r.retry_attempts = 2;
    r.params = CallParams::default();
    r.params.max_tokens = Some(100);
    r.params.top_p = Some(0.9);
    let mut usage = Usage::default();
    usage.prompt_tokens = 1200;
    usage.cache_read_tokens = Some(1000);
    usage.cache_write_tokens = Some(0);
    r.usage = usage;
    r.team = Some("growth".to_owned());
    let a: BTreeMap<String, String> =
        span_attributes(&r, false).into_iter().map(|kv| (kv.key.to_string(), kv.value.to_string())).collect();
    assert_eq!(a["error.type"], "rate_limit");
    assert_eq!(a["gen_ai.usage.cache_read.input_tokens"], "1000");
    assert_eq!(a["gen_ai.usage.cache_creation.input_tokens"], "0");
    assert_eq!(a["llm.cost.status"], "unknown_model");
    assert!(!a.contains_key("gen_ai.response.model"), "a failed call has no response");
    assert!(!a.contains_key("llm.cost.total_usd"), "no cost is made up");
    let mut shown = a.clone();
    shown.insert("llm.call.id".to_owned(), "[redacted]".to_owned());
    insta::assert_json_snapshot!("span_attributes_of_a_failure", shown);
    // The span's status carries the (already redacted) message.
    let scope = opentelemetry::InstrumentationScope::builder("t").build();
    let span = llm_tracking::otel::span_data(&r, &scope, false);
    assert_eq!(span.status, opentelemetry::trace::Status::error("429 slow down"));
    assert_eq!(span.name, "chat claude-sonnet-4-5");
}

#[test]
fn an_embedding_call_is_an_embeddings_span() {
    let mut r = CallRecord::new("openai", "text-embedding-3-small", Timestamp::from_micros(1_700_000_000_000_000));
    r.call_type = llm_tracking::CallType::Embedding;
    r.usage = Usage::new(42, 0);
    let a: BTreeMap<String, String> =
        span_attributes(&r, false).into_iter().map(|kv| (kv.key.to_string(), kv.value.to_string())).collect();
    assert_eq!(a["gen_ai.operation.name"], "embeddings");
    assert_eq!(a["gen_ai.usage.input_tokens"], "42");
    assert!(!a.contains_key("gen_ai.usage.output_tokens"), "an embedding has no output tokens");
    assert_eq!(a["openinference.span.kind"], "EMBEDDING");
    assert_eq!(a["llm.call.type"], "embedding");
    let scope = opentelemetry::InstrumentationScope::builder("t").build();
    assert_eq!(llm_tracking::otel::span_data(&r, &scope, false).name, "embeddings text-embedding-3-small");
}

#[test]
fn the_configuration_comes_from_the_standard_variables() {
    let vars = |pairs: &[(&str, &str)]| {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        OtelConfig::from_vars(move |k| map.get(k).cloned())
    };
    assert_eq!(vars(&[]), None, "nothing set, nothing exported");
    let c = vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]).unwrap();
    assert_eq!((c.traces, c.metrics, c.capture_content), (true, true, false));
    let c = vars(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://h/v1/traces")]).unwrap();
    assert_eq!((c.traces, c.metrics), (true, false));
    let c = vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h"), ("OTEL_METRICS_EXPORTER", "none")]).unwrap();
    assert_eq!((c.traces, c.metrics), (true, false));
    assert_eq!(vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h"), ("OTEL_SDK_DISABLED", "true")]), None);
    let c = vars(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h"),
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "TRUE"),
        ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "not a number"),
    ])
    .unwrap();
    assert_eq!(
        (c.capture_content, c.schedule_delay, c.max_batch, c.max_queue),
        (true, Duration::from_millis(250), 64, 2048)
    );
    // Header values never show in Debug.
    let c = OtelConfig::default().with_header("authorization", HEADER);
    let shown = format!("{c:?}");
    assert!(shown.contains("authorization") && !shown.contains("cGstbGYt"), "{shown}");
}

#[test]
fn outside_a_runtime_the_exporter_is_a_config_error_not_a_panic() {
    let err = OtelExporter::new(OtelConfig::default().with_endpoint("http://127.0.0.1:4318")).unwrap_err();
    assert_eq!(err.kind(), &llm_tracking::ErrorKind::Config);
    assert!(err.to_string().contains("inside a tokio runtime"), "{err}");
}

#[tokio::test]
async fn a_bad_endpoint_is_a_config_error() {
    let err = OtelExporter::new(OtelConfig::default().with_endpoint("not a url")).unwrap_err();
    assert_eq!(err.kind(), &llm_tracking::ErrorKind::Config);
    assert!(err.to_string().contains("OpenTelemetry span exporter"), "{err}");
}

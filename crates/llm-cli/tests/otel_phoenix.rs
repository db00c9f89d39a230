//! `llm chat` with the standard `OTEL_EXPORTER_OTLP_*` variables set sends each call's span to a real OTLP
//! receiver that nobody here wrote: Arize Phoenix (from PyPI, in the peers' virtualenv; `bash .ci/peers`),
//! started on a loopback port with its authentication on, its own SQLite in a temporary folder. The span is
//! read back through Phoenix's REST API: its GenAI attributes, the cost equal to the CLI's own
//! `cost.total_cost`, and no API key anywhere Phoenix keeps. The `Authorization` header of
//! `OTEL_EXPORTER_OTLP_HEADERS` reaching the receiver is what lets the span in: without it Phoenix refuses it.
//!
//! Without the peers the test is skipped with a printed reason, except under `CI=true`, where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{llm_env as llm, walk};
use llm_fake_upstream::peers::{PeerProcess, free_port, require_python, run_python};
use llm_fake_upstream::{FakeUpstream, wire};
use serde_json::{Value, json};

const KEY: &str = "sk-proj-PHOENIX-PLANTED-0123456789abcdef";
const SECRET: &str = "phoenix0secret1for2tests3only4abcdefgh";
const ADMIN: &str = "phoenix0admin1token2for3tests4abcdefgh";

/// Phoenix's spans of the default project, through its REST API (as the admin).
fn phoenix_spans(python: &Path, port: u16) -> Vec<Value> {
    let script = r#"
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
print(urllib.request.urlopen(req, timeout=10).read().decode())
"#;
    let url = format!("http://127.0.0.1:{port}/v1/projects/default/spans?limit=100");
    let out = run_python(python, script, &[&url, ADMIN], &[]);
    let v: Value = serde_json::from_str(out.trim()).expect("Phoenix answers JSON");
    v["data"].as_array().cloned().unwrap_or_default()
}

/// Waits until Phoenix holds `n` spans (it writes what it receives in batches).
fn wait_for_spans(python: &Path, port: u16, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let spans = phoenix_spans(python, port);
        if spans.len() >= n || Instant::now() > deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A span attribute, whether Phoenix gives attributes flat (`"a.b": v`) or nested (`{"a": {"b": v}}`).
fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    let attrs = &span["attributes"];
    attrs.get(key).or_else(|| key.split('.').try_fold(attrs, |v, part| v.get(part)))
}

#[test]
fn a_tracked_chat_reaches_phoenix_as_a_span_with_its_exact_cost_and_no_key() {
    let Some(python) = require_python(&["phoenix"]) else { return };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let upstream = rt.block_on(FakeUpstream::start()).unwrap();
    upstream.push(wire::openai::chat("Lisbon.", 14, 3));
    upstream.push(wire::openai::chat("Lisbon.", 14, 3));

    let work = tempfile::tempdir().unwrap();
    let (port, grpc) = (free_port(), free_port());
    let (port_s, grpc_s) = (port.to_string(), grpc.to_string());
    let working_dir = work.path().join("phoenix");
    std::fs::create_dir_all(&working_dir).unwrap();
    let phoenix = PeerProcess::start(
        &python,
        &["-m", "phoenix.server.main", "serve"],
        &[
            ("PHOENIX_HOST", "127.0.0.1"),
            ("PHOENIX_PORT", &port_s),
            ("PHOENIX_GRPC_PORT", &grpc_s),
            ("PHOENIX_WORKING_DIR", working_dir.to_str().unwrap()),
            ("PHOENIX_ENABLE_AUTH", "true"),
            ("PHOENIX_SECRET", SECRET),
            ("PHOENIX_ADMIN_SECRET", ADMIN),
            ("PHOENIX_TELEMETRY_ENABLED", "false"),
        ],
        port,
        Duration::from_secs(240),
    );

    let db = format!("sqlite:{}", work.path().join("spend.sqlite").display());
    let endpoint = format!("http://127.0.0.1:{port}");
    let args = [
        "chat",
        "-m",
        "gpt-4o",
        "--api-base",
        &upstream.url(),
        "--json",
        "--db",
        &db,
        "--user",
        "ana",
        "--tag",
        "checkout",
        "--max-tokens",
        "50",
        "--temperature",
        "0.3",
        "Capital of Portugal?",
    ];
    let env = |headers: &'static str| {
        vec![
            ("OPENAI_API_KEY", KEY),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_HEADERS", headers),
            ("OTEL_SERVICE_NAME", "llm-cli-phoenix-test"),
            // Phoenix takes traces only.
            ("OTEL_METRICS_EXPORTER", "none"),
        ]
    };

    // Without the right Authorization header Phoenix refuses the span: the call itself still succeeds, the
    // failed export is said on stderr.
    let (code, _, err) = llm(&args, &env("authorization=Bearer%20not-the-token"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("OpenTelemetry export of spans failed") && err.contains("401"), "{err}");

    // With it, the span arrives.
    let headers: &'static str = Box::leak(format!("authorization=Bearer%20{ADMIN}").into_boxed_str());
    let (code, out, err) = llm(&args, &env(headers));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("OpenTelemetry"), "{err}");
    let answer: Value = serde_json::from_str(out.trim()).unwrap();

    let spans = wait_for_spans(&python, port, 1);
    // Give a refused span time to show up, were it (wrongly) kept.
    std::thread::sleep(Duration::from_secs(2));
    let spans = if spans.len() == 1 { phoenix_spans(&python, port) } else { spans };
    assert_eq!(spans.len(), 1, "only the call sent with the header: {}\n{}", json!(spans), phoenix.log());
    let span = &spans[0];
    assert_eq!(span["name"], json!("chat gpt-4o"), "{span}");
    let total = answer["cost"]["total_cost"].clone();
    assert!(!total.is_null(), "{answer}");
    assert_eq!(
        attr(span, "llm.cost.total_usd").unwrap().as_str().unwrap(),
        total.as_str().map_or_else(|| total.to_string(), str::to_owned)
    );
    let expected: f64 = total.as_str().map_or_else(|| total.as_f64().unwrap(), |s| s.parse().unwrap());
    assert_eq!(attr(span, "gen_ai.usage.cost").unwrap().as_f64().unwrap(), expected);
    for (key, want) in [
        ("gen_ai.operation.name", json!("chat")),
        ("gen_ai.provider.name", json!("openai")),
        ("gen_ai.request.model", json!("gpt-4o")),
        ("gen_ai.request.max_tokens", json!(50)),
        ("gen_ai.request.temperature", json!(0.3)),
        ("gen_ai.usage.input_tokens", json!(14)),
        ("gen_ai.usage.output_tokens", json!(3)),
        ("gen_ai.response.finish_reasons", json!(["stop"])),
        ("llm.cost.status", json!("priced")),
        ("llm.cost.catalog_key", json!("gpt-4o")),
        ("llm.call.status", json!("success")),
        ("user.id", json!("ana")),
        ("llm.tags", json!(["checkout"])),
    ] {
        assert_eq!(attr(span, key), Some(&want), "{key} in {span}");
    }
    assert_eq!(attr(span, "gen_ai.response.id"), Some(&answer["id"]), "{span}");

    // The record in the spend store and the span are the same call.
    let (code, out, err) = llm(&["spend", "export", "--db", &db], &[]);
    assert_eq!(code, 0, "{err}");
    let records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2, "both calls recorded");
    assert_eq!(attr(span, "llm.call.id"), Some(&records[1]["id"]));

    // No API key in what Phoenix returns.
    assert!(!span.to_string().contains(KEY));

    // `llm demo` (offline, the mock provider) exports its calls too: one span per record, same ids and costs.
    let demo_dir = work.path().join("demo");
    let (code, _, err) = llm(&["demo", "--data-dir", demo_dir.to_str().unwrap()], &env(headers));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("OpenTelemetry"), "{err}");
    let demo_db = format!("sqlite:{}", demo_dir.join("demo.sqlite").display());
    let (code, out, err) = llm(&["spend", "export", "--db", &demo_db], &[]);
    assert_eq!(code, 0, "{err}");
    let demo_records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(demo_records.len(), 5, "{out}");
    let spans = wait_for_spans(&python, port, 1 + demo_records.len());
    assert_eq!(spans.len(), 1 + demo_records.len(), "{}", json!(spans));
    for r in &demo_records {
        let span = spans.iter().find(|s| attr(s, "llm.call.id") == Some(&r["id"])).expect("a span per record");
        assert_eq!(attr(span, "llm.tags"), Some(&json!(["demo"])), "{span}");
        assert_eq!(attr(span, "llm.call.status"), Some(&r["status"]), "{span}");
        let total = r["cost"]["total_cost"].as_str().or_else(|| r["spend"].as_str());
        if r["status"] == "success" {
            assert_eq!(attr(span, "llm.cost.total_usd").and_then(Value::as_str), total, "{span}\n{r}");
        }
    }
    drop(phoenix);
    // Nor in anything Phoenix stored (its SQLite database included).
    for entry in walk(&working_dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the API key is in {}", entry.display());
    }
    assert_eq!(upstream.request_count(), 2);
}

//! The `llm` binary run as a user runs it.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::process::Command;

use common::llm_env;

fn llm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_llm")).args(args).output().expect("run llm");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_names_the_crate_version() {
    let (code, out, _) = llm(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("llm {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_lists_the_commands() {
    let (code, out, _) = llm(&["--help"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("help", out);
}

#[test]
fn unknown_command_fails() {
    let (code, _, err) = llm(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand 'frobnicate'"), "{err}");
}

#[test]
fn demo_runs_offline() {
    let dir = std::env::temp_dir().join(format!("llm-demo-test-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_llm"))
        .args(["demo", "--data-dir"])
        .arg(&dir)
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .expect("run llm demo");
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&dir.display().to_string(), "[data-dir]");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("demo.sqlite").exists(), "the demo tracks into a SQLite file");
    let redacted: String = stdout
        .lines()
        .map(|l| if l.starts_with("done in ") { "done in [ms] ms" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    // The values that matter, asserted directly (the snapshot shows the whole tour).
    assert!(redacted.contains("cost:  $0.0001161 (priced, gpt-4o-mini"), "{redacted}");
    assert!(redacted.contains("attempt 1: rejected"), "{redacted}");
    assert!(redacted.contains("refused before sending: budget_exceeded"), "{redacted}");
    insta::assert_snapshot!("demo", redacted);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resolve_json_answers_and_errors() {
    let cases = [
        (vec!["resolve", "--json", "gpt-4o"], 0, r#"{"provider":"openai","model":"gpt-4o"}"#),
        (
            vec!["resolve", "--json", "anthropic/claude-sonnet-4-5"],
            0,
            r#"{"provider":"anthropic","model":"claude-sonnet-4-5"}"#,
        ),
        (
            vec!["resolve", "--json", "groq/llama-3.3-70b-versatile"],
            0,
            r#"{"provider":"groq","model":"llama-3.3-70b-versatile"}"#,
        ),
        (
            vec!["resolve", "--json", "my-model", "--api-base", "https://api.groq.com/openai/v1"],
            0,
            r#"{"provider":"groq","model":"my-model"}"#,
        ),
        // LiteLLM 1.110.2's answers: `*-latest` alias rows become their targets, a Bedrock Mantle region path
        // is dropped, a prefix the catalog knows is removed from a nested name
        (
            vec!["resolve", "--json", "claude-sonnet-latest"],
            0,
            r#"{"provider":"anthropic","model":"claude-sonnet-5-5"}"#,
        ),
        (
            vec!["resolve", "--json", "azure_ai/claude-opus-latest"],
            0,
            r#"{"provider":"azure_ai","model":"claude-opus-5-5"}"#,
        ),
        (
            vec!["resolve", "--json", "bedrock/claude-opus-latest"],
            0,
            r#"{"provider":"bedrock","model":"global.anthropic.claude-opus-5-5"}"#,
        ),
        (vec!["resolve", "--json", "gpt-luna-latest"], 0, r#"{"provider":"openai","model":"gpt-6-luna"}"#),
        (vec!["resolve", "--json", "zai/glm-latest"], 0, r#"{"provider":"zai","model":"glm-5.3"}"#),
        (
            vec!["resolve", "--json", "bedrock_mantle/us-gov-east-1/openai.gpt-oss-20b"],
            0,
            r#"{"provider":"bedrock_mantle","model":"openai.gpt-oss-20b"}"#,
        ),
        (
            vec!["resolve", "--json", "crusoe/openai/gpt-oss-120b"],
            0,
            r#"{"provider":"crusoe","model":"openai/gpt-oss-120b"}"#,
        ),
        (
            vec!["resolve", "--json", "bedrock/apac.anthropic.claude-opus-5"],
            0,
            r#"{"provider":"bedrock","model":"apac.anthropic.claude-opus-5"}"#,
        ),
    ];
    for (args, code, expected) in cases {
        let (c, out, err) = llm(&args);
        assert_eq!(c, code, "{args:?}: {err}");
        assert_eq!(out.trim(), expected, "{args:?}");
    }
    let (c, out, _) = llm(&["resolve", "--json", "no-such-model-xyz"]);
    assert_eq!(c, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "config");
    assert!(v["error"]["message"].as_str().unwrap().contains("no-such-model-xyz"));
}

#[test]
fn params_json_lists_what_the_provider_takes() {
    let (c, out, err) = llm(&["params", "--json", "claude-sonnet-4-5"]);
    assert_eq!(c, 0, "{err}");
    let params: Vec<String> = serde_json::from_str(out.trim()).unwrap();
    for p in ["max_tokens", "temperature", "tools", "tool_choice", "response_format", "stop"] {
        assert!(params.contains(&p.to_owned()), "{p} missing: {params:?}");
    }
    assert!(!params.contains(&"logit_bias".to_owned()), "anthropic takes no logit_bias");
    let (c, out, _) = llm(&["params", "--json", "llama3", "--provider", "nope-provider"]);
    assert_eq!(c, 1);
    assert!(out.contains("\"not_found\""), "{out}");
}

fn llm_stdin(args: &[&str], stdin: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_llm"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn llm");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An OpenAI-shaped response carrying cache writes the way LiteLLM's `Usage` writes them
/// (`prompt_tokens_details.cache_creation_tokens`, split by TTL in `cache_creation_token_details`) is billed at
/// the write rates, as LiteLLM 1.110.2's `completion_cost` bills it.
#[test]
fn cost_jsonl_bills_cache_creation_tokens_of_a_response() {
    let response = |details: &str| {
        format!(
            r#"{{"response": {{"id": "x", "model": "claude-sonnet-5-5", "choices": [], "usage": {{"prompt_tokens": 10000, "completion_tokens": 100, "total_tokens": 10100, "prompt_tokens_details": {details}}}}}}}"#
        )
    };
    let input = [
        response(r#"{"cached_tokens": 2000, "cache_creation_tokens": 3000}"#),
        response(
            r#"{"cached_tokens": 2000, "cache_creation_tokens": 3000, "cache_creation_token_details": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000}}"#,
        ),
    ]
    .join("\n");
    let (code, out) = llm_stdin(&["cost", "--jsonl"], &input);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    // claude-sonnet-5-5: 5000 uncached × $2/M + 2000 read × $0.1/M + 3000 written × $2.5/M = 0.0177;
    // 100 × $10/M = 0.001 (LiteLLM: 0.0187)
    assert_eq!(
        lines[0],
        r#"{"prompt_cost":0.0177,"completion_cost":0.001,"total_cost":0.0187,"status":"priced","catalog_key":"claude-sonnet-5-5"}"#
    );
    // the 2000 one-hour writes at $4/M instead: 0.0177 + 2000 × $1.5/M = 0.0207 (LiteLLM: 0.0217)
    assert_eq!(
        lines[1],
        r#"{"prompt_cost":0.0207,"completion_cost":0.001,"total_cost":0.0217,"status":"priced","catalog_key":"claude-sonnet-5-5"}"#
    );
}

#[test]
fn cost_jsonl_answers_every_line_in_order() {
    let input = concat!(
        r#"{"model": "gpt-4o", "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "cached_tokens": 200}}"#,
        "\n",
        "this is not json\n",
        r#"{"model": "claude-sonnet-4-5", "usage": {"prompt_tokens": 3000, "completion_tokens": 100, "cache_creation_tokens": 1000}}"#,
        "\n",
        r#"{"model": "no-such-model-xyz", "usage": {"prompt_tokens": 10, "completion_tokens": 10}}"#,
        "\n",
        r#"{"response": {"id": "x", "model": "gpt-4o-mini", "choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}}"#,
        "\n",
    );
    let (code, out) = llm_stdin(&["cost", "--jsonl"], input);
    assert_eq!(code, 2, "a line answered with an error makes the exit status 2");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    // gpt-4o: 800 × $2.5/M + 200 × $1.25/M = 0.00225; 500 × $10/M = 0.005. Exact decimals, as JSON numbers.
    assert_eq!(
        lines[0],
        r#"{"prompt_cost":0.00225,"completion_cost":0.005,"total_cost":0.00725,"status":"priced","catalog_key":"gpt-4o"}"#
    );
    assert!(lines[1].starts_with(r#"{"error":{"kind":"#), "{}", lines[1]);
    // claude-sonnet-4-5: 2000 × $3/M + 1000 × $3.75/M = 0.00975; 100 × $15/M = 0.0015.
    assert_eq!(
        lines[2],
        r#"{"prompt_cost":0.00975,"completion_cost":0.0015,"total_cost":0.01125,"status":"priced","catalog_key":"claude-sonnet-4-5"}"#
    );
    assert!(lines[3].contains(r#""status":"unknown_model""#), "{}", lines[3]);
    assert_eq!(
        lines[4],
        r#"{"prompt_cost":0.000015,"completion_cost":0.000006,"total_cost":0.000021,"status":"priced","catalog_key":"gpt-4o-mini"}"#
    );
}

#[test]
fn cost_human_form_prints_the_breakdown() {
    let (code, out, _) = llm(&[
        "cost",
        "-m",
        "gpt-4o",
        "--prompt-tokens",
        "1000",
        "--completion-tokens",
        "500",
        "--cached-tokens",
        "200",
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("cost_breakdown", out);
    let (code, out, _) = llm(&["cost", "-m", "no-such-model-xyz", "--prompt-tokens", "1", "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains("unknown_model"), "{out}");
}

#[test]
fn models_json_has_prices_and_flags() {
    let (code, out, err) = llm(&["models", "--json", "gpt-4o", "claude-sonnet-4-5"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["model"], "gpt-4o");
    assert_eq!(arr[0]["provider"], "openai");
    assert_eq!(arr[0]["mode"], "chat");
    assert_eq!(arr[0]["max_input_tokens"], 128_000);
    assert_eq!(arr[0]["supports_response_schema"], true);
    assert_eq!(arr[1]["provider"], "anthropic");
    assert_eq!(arr[1]["supports_reasoning"], true);
    assert!(out.contains(r#""input_cost_per_token":0.0000025"#), "exact decimal text: {out}");
    let (code, out, _) = llm(&["models", "--json", "--provider", "groq", "--mode", "chat", "--supports", "reasoning"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let arr = v.as_array().unwrap();
    assert!(!arr.is_empty());
    for m in arr {
        assert_eq!(m["provider"], "groq", "{m}");
        assert_eq!(m["supports_reasoning"], true, "{m}");
        assert_eq!(m["mode"], "chat");
    }
    let (code, out, _) = llm(&["models", "--json", "no-such-model-xyz"]);
    assert_eq!(code, 1);
    assert!(out.contains("\"error\""), "{out}");
}

/// `llm models --provider P` keeps exactly the catalog's rows of P: every row it prints is P's, and every row of
/// P in the unfiltered list is among them (so rows of other providers are the ones left out).
#[test]
fn models_provider_filter_keeps_exactly_that_providers_rows() {
    let rows = |args: &[&str]| -> Vec<serde_json::Value> {
        let (code, out, err) = llm(args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap().as_array().unwrap().clone()
    };
    let all = rows(&["models", "--json"]);
    let names = |rows: &[serde_json::Value]| -> Vec<String> {
        rows.iter().map(|m| m["model"].as_str().unwrap().to_owned()).collect()
    };
    for provider in ["groq", "anthropic"] {
        let filtered = rows(&["models", "--json", "--provider", provider]);
        assert!(filtered.len() >= 5, "{provider}: {}", filtered.len());
        for m in &filtered {
            assert_eq!(m["provider"], provider, "{m}");
        }
        let expected: Vec<serde_json::Value> = all.iter().filter(|m| m["provider"] == provider).cloned().collect();
        assert_eq!(names(&filtered), names(&expected), "{provider}");
        assert!(filtered.len() < all.len() / 10, "{provider}: other providers' rows are left out");
    }
    assert!(all.iter().any(|m| m["provider"] == "openai"));
    let groq = rows(&["models", "--json", "--provider", "groq"]);
    assert!(!groq.iter().any(|m| m["provider"] == "openai" || m["model"] == "gpt-4o"));
}

/// The `llm models` table: its header, and a known row's columns (prices per million tokens, limits,
/// capabilities); an unknown name is reported on stderr and the status is 1.
#[test]
fn models_table_has_a_header_and_the_known_columns() {
    let (code, out, err) = llm(&["models", "gpt-4o-mini", "claude-sonnet-4-5"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let cols = |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_owned).collect() };
    assert_eq!(
        cols(lines[0]),
        ["model", "provider", "mode", "max_in", "max_out", "$/1M", "in", "$/1M", "out", "capabilities"]
    );
    assert!(lines[0].starts_with(&format!("{:<56} {:<14} ", "model", "provider")), "{:?}", lines[0]);
    assert_eq!(
        cols(lines[1]),
        [
            "gpt-4o-mini",
            "openai",
            "chat",
            "128000",
            "16384",
            "0.15",
            "0.6",
            "response_schema,function_calling,vision,prompt_caching"
        ]
    );
    assert_eq!(
        cols(lines[2]),
        [
            "claude-sonnet-4-5",
            "anthropic",
            "chat",
            "200000",
            "64000",
            "3",
            "15",
            "response_schema,function_calling,vision,reasoning,prompt_caching"
        ]
    );
    let (code, out, err) = llm(&["models", "--provider", "groq", "--mode", "chat"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert!(!rows.is_empty());
    for row in rows {
        assert_eq!(cols(row)[1..3], ["groq", "chat"], "{row}");
    }
    let (code, out, err) = llm(&["models", "gpt-4o", "no-such-model-xyz"]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 2, "the header and gpt-4o: {out}");
    assert!(err.contains("no-such-model-xyz"), "{err}");
}

fn fake_server() -> (tokio::runtime::Runtime, llm_fake_upstream::FakeUpstream) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = rt.block_on(llm_fake_upstream::FakeUpstream::start()).unwrap();
    (rt, server)
}

#[test]
fn chat_json_against_a_local_anthropic_server() {
    use llm_fake_upstream::Reply;
    let (_rt, server) = fake_server();
    server.push(Reply::json_value(
        200,
        &serde_json::json!({"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "Hello there."}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 500}}),
    ));
    let url = server.url();
    let (code, out, err) = llm_env(
        &["chat", "-m", "anthropic/claude-sonnet-4-5", "--api-base", &url, "--json", "Hi"],
        &[("ANTHROPIC_API_KEY", "sk-ant-cli-test-000000")],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["provider"], "anthropic");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello there.");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    // Normalized to OpenAI's convention: the cache tokens are inside prompt_tokens.
    assert_eq!(v["usage"]["prompt_tokens"], 1600);
    assert_eq!(v["usage"]["completion_tokens"], 20);
    assert_eq!(v["usage"]["total_tokens"], 1620);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 1000);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cache_write_tokens"], 500);
    assert_eq!(v["usage"]["completion_tokens_details"]["reasoning_tokens"], 0);
    assert_eq!(v["cost"]["status"], "priced");
    // claude-sonnet-4-5: 100 × $3/M + 1000 × $0.30/M + 500 × $3.75/M = 0.002475; 20 × $15/M = 0.0003.
    assert!(out.contains(r#""prompt_cost":0.002475"#), "{out}");
    assert!(out.contains(r#""completion_cost":0.0003"#), "{out}");
    let sent = server.last_request().unwrap();
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-cli-test-000000"));
}

#[test]
fn chat_stream_with_schema_and_tracking() {
    use llm_fake_upstream::wire;
    let (_rt, server) = fake_server();
    let url = server.url();
    let dir = std::env::temp_dir().join(format!("llm-cli-chat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite:{}", dir.join("spend.sqlite").display());

    // Streamed, tracked.
    server.push(wire::openai::stream(&["Hel", "lo", "!"], 12, 3));
    let (code, out, err) = llm_env(
        &[
            "chat",
            "-m",
            "gpt-4o-mini",
            "--api-base",
            &url,
            "--stream",
            "--json",
            "--db",
            &db,
            "--user",
            "u1",
            "--tag",
            "cli",
            "Hi",
        ],
        &[("OPENAI_API_KEY", "sk-cli-test-000000000000")],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Hello!");
    assert_eq!(v["usage"]["total_tokens"], 15);
    assert_eq!(v["cost"]["catalog_key"], "gpt-4o-mini");

    // Structured: an invalid reply, then a valid one.
    let schema = dir.join("city.json");
    std::fs::write(
        &schema,
        r#"{"type":"object","properties":{"name":{"type":"string"},"population":{"type":"integer","minimum":1}},"required":["name","population"]}"#,
    )
    .unwrap();
    server.push(wire::openai::chat(r#"{"name":"Lisbon"}"#, 40, 5));
    server.push(wire::openai::chat(r#"{"name":"Lisbon","population":545923}"#, 60, 8));
    let (code, out, err) = schema_chat(&url, &schema, &db, "Lisbon?");
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["structured"]["strategy"], "native");
    assert_eq!(v["structured"]["attempts"], 2);
    assert_eq!(v["structured"]["value"], serde_json::json!({"name": "Lisbon", "population": 545923}));
    assert_eq!(v["usage"]["prompt_tokens"], 100, "usage adds up over the attempts");
    let body = server.requests()[1].json();
    assert_eq!(body["response_format"]["type"], "json_schema");

    // Every call landed in the store, the key only as a fingerprint.
    let bytes = std::fs::read(dir.join("spend.sqlite")).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("sk-cli-test"), "no key in the store");
    let (code, out, err) = llm_env(&["spend", "report", "--db", &db, "--by", "model", "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["total"]["calls"], 3, "one streamed call and two structured attempts: {out}");
    let _ = std::fs::remove_dir_all(&dir);

    // Failures print an error object and exit non-zero.
    server.push(wire::openai::error(
        401,
        "invalid_request_error",
        Some("invalid_api_key"),
        "Incorrect API key provided: sk-cli-t***",
    ));
    let (code, out, _) = llm_env(
        &["chat", "-m", "gpt-4o-mini", "--api-base", &url, "--json", "Hi"],
        &[("OPENAI_API_KEY", "sk-cli-test-000000000000")],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "auth");
}

#[test]
fn budgets_reports_and_exports_over_the_demo_store() {
    let dir = std::env::temp_dir().join(format!("llm-cli-spend-{}", std::process::id()));
    let (code, _, err) = llm_env(&["demo", "--data-dir", dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let db = format!("sqlite:{}", dir.join("demo.sqlite").display());
    let (code, out, err) = llm_env(
        &[
            "budget",
            "set",
            "--db",
            &db,
            "--scope",
            "team:core",
            "--max-usd",
            "10",
            "--soft-usd",
            "8",
            "--period",
            "weekly",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "budget set: team:core weekly");
    let (code, out, _) = llm_env(&["budget", "list", "--db", &db, "--json"], &[]);
    assert_eq!(code, 0);
    let budgets: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let scopes: Vec<&str> = budgets.as_array().unwrap().iter().filter_map(|b| b["scope"].as_str()).collect();
    assert!(scopes.contains(&"team:core") && scopes.contains(&"user:demo-user"), "{out}");
    let (code, out, _) = llm_env(&["spend", "report", "--db", &db, "--by", "user", "--json"], &[]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["rows"][0]["key"], "demo-user");
    assert_eq!(report["total"]["calls"], 5);
    assert_eq!(report["total"]["spend"], "0.0006405");
    let (code, out, _) = llm_env(&["spend", "export", "--db", &db], &[]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|r| r["user"] == "demo-user"));
    let (code, _, err) = llm_env(&["budget", "set", "--db", &db, "--scope", "nonsense", "--max-usd", "1"], &[]);
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `llm chat --schema --json` on gpt-4o-mini at `url`, recorded in `db`.
fn schema_chat(url: &str, schema: &std::path::Path, db: &str, prompt: &str) -> (i32, String, String) {
    llm_env(
        &[
            "chat",
            "-m",
            "gpt-4o-mini",
            "--api-base",
            url,
            "--schema",
            schema.to_str().unwrap(),
            "--json",
            "--db",
            db,
            prompt,
        ],
        &[("OPENAI_API_KEY", "sk-cli-test-000000000000")],
    )
}

/// The spend store's records, as `llm spend export` prints them.
fn exported(db: &str) -> Vec<serde_json::Value> {
    let (code, out, err) = llm_env(&["spend", "export", "--db", db], &[]);
    assert_eq!(code, 0, "{err}");
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn report_by_model(db: &str) -> serde_json::Value {
    let (code, out, err) = llm_env(&["spend", "report", "--db", db, "--by", "model", "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn failed_chats_are_recorded_with_their_retries_in_one_model_row() {
    use llm_fake_upstream::wire;
    let (_rt, server) = fake_server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("spend.sqlite").display());
    let key = [("OPENAI_API_KEY", "sk-cli-test-000000000000")];
    let chat = |extra: &[&str]| {
        let mut args = vec!["chat", "-m", "openai/gpt-4o-mini", "--api-base", &url, "--json", "--db", &db];
        args.extend_from_slice(extra);
        args.push("Hi");
        llm_env(&args, &key)
    };

    // A 400: not retried, recorded.
    server.push(wire::openai::error(400, "invalid_request_error", None, "bad request"));
    let (code, out, _) = chat(&[]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["error"]["kind"].as_str(), v["error"]["retries"].as_u64()), (Some("invalid_request"), Some(0)));

    // A 429 after its two retries: the error and the record say so.
    for _ in 0..3 {
        server.push(wire::openai::error(429, "rate_limit_exceeded", None, "slow down").header("retry-after-ms", "5"));
    }
    let (code, out, _) = chat(&[]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["error"]["kind"].as_str(), v["error"]["retries"].as_u64()), (Some("rate_limited"), Some(2)));

    // A streamed call that fails, then one that succeeds after a retry, served under a dated name.
    server.push(wire::openai::error(400, "invalid_request_error", None, "bad request"));
    let (code, _, _) = chat(&["--stream"]);
    assert_eq!(code, 1);
    server.push(wire::openai::error(503, "server_error", None, "busy").header("retry-after-ms", "5"));
    server.push(wire::openai::stream(&["Hel", "lo"], 12, 3));
    let (code, out, err) = chat(&["--stream"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["retries"], 1);
    assert_eq!(v["adjustments"], serde_json::json!([]));
    assert_ne!(v["created"], 0, "the call's start time when the stream does not say: {out}");
    assert_eq!(server.request_count(), 7);

    let records = exported(&db);
    let summary: Vec<(&str, bool, u64)> = records
        .iter()
        .map(|r| (r["status"].as_str().unwrap(), r["stream"].as_bool().unwrap(), r["retry_attempts"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        summary,
        vec![("failure", false, 0), ("failure", false, 2), ("failure", true, 0), ("success", true, 1)],
        "every call is a record, failures included"
    );
    assert_eq!(records[1]["retries"][1]["status"], 429);
    assert_eq!(records[1]["error_kind"], "rate_limited");
    let report = report_by_model(&db);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "one model, one row: {report}");
    assert_eq!((rows[0]["key"].as_str(), rows[0]["calls"].as_u64()), (Some("gpt-4o-mini"), Some(4)));
    assert_eq!(rows[0]["failures"], 3);
}

#[test]
fn chat_params_are_refused_or_dropped_and_reported() {
    use llm_fake_upstream::wire;
    let (_rt, server) = fake_server();
    let url = server.url();
    let key = [("ANTHROPIC_API_KEY", "sk-ant-cli-test-000000")];
    let chat = |extra: &[&str]| {
        let mut args = vec!["chat", "-m", "anthropic/claude-sonnet-4-5", "--api-base", &url, "--json"];
        args.extend_from_slice(extra);
        args.push("Hi");
        llm_env(&args, &key)
    };
    // Refused by default, naming it, before anything is sent.
    let (code, out, _) = chat(&["--param", "seed=7"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "invalid_request");
    assert!(v["error"]["message"].as_str().unwrap().contains("seed"), "{out}");
    assert_eq!(server.request_count(), 0);

    // Dropped and reported with --drop-params; typed and provider-specific parameters go through.
    server.push(wire::anthropic::message("Hello.", 10, 2));
    let (code, out, err) =
        chat(&["--drop-params", "--param", "seed=7", "--param", r#"stop=["END"]"#, "--param", "top_k=5"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["retries"], 0);
    let adjustments = v["adjustments"].as_array().unwrap();
    assert_eq!(adjustments.len(), 1, "{out}");
    assert_eq!(
        (adjustments[0]["kind"].as_str(), adjustments[0]["param"].as_str()),
        (Some("param_dropped"), Some("seed"))
    );
    let body = server.last_request().unwrap().json();
    assert!(body.get("seed").is_none(), "{body}");
    assert_eq!(body["stop_sequences"], serde_json::json!(["END"]));
    assert_eq!(body["top_k"], 5);

    // A malformed --param is an input error.
    let (code, out, _) = chat(&["--param", "seed"]);
    assert_eq!(code, 1);
    assert!(out.contains("NAME=JSON"), "{out}");
}

#[test]
fn structured_chats_report_schema_adjustments_link_their_attempts_and_cost_their_give_ups() {
    use llm_fake_upstream::wire;
    let (_rt, server) = fake_server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("spend.sqlite").display());
    let schema = dir.path().join("person.json");
    std::fs::write(
        &schema,
        r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","format":"uint8","minimum":0}},"required":["name","age"]}"#,
    )
    .unwrap();
    let chat = || schema_chat(&url, &schema, &db, "Ana, 30");
    server.push(wire::openai::chat(r#"{"name":"Ana"}"#, 40, 5));
    server.push(wire::openai::chat(r#"{"name":"Ana","age":30}"#, 60, 8));
    let (code, out, err) = chat();
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let dropped: Vec<&serde_json::Value> =
        v["adjustments"].as_array().unwrap().iter().filter(|a| a["kind"] == "schema_keyword_dropped").collect();
    assert_eq!(dropped.len(), 1, "{out}");
    assert_eq!(
        (dropped[0]["pointer"].as_str(), dropped[0]["keyword"].as_str(), dropped[0]["schema"].as_str()),
        (Some("/properties/age"), Some("format"), Some("response_format"))
    );
    assert_eq!(v["structured"]["attempts"], 2);
    let trace = v["structured"]["trace_id"].as_str().unwrap().to_owned();

    // Three invalid replies: the give-up error carries what the three attempts cost.
    for _ in 0..3 {
        server.push(wire::openai::chat(r#"{"name":"Ana"}"#, 100, 10));
    }
    let (code, out, _) = chat();
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "exhausted");
    assert_eq!(v["error"]["attempts"], 3);
    assert_eq!(v["error"]["usage"]["prompt_tokens"], 300);
    // gpt-4o-mini: 300 × $0.15/M + 30 × $0.60/M.
    assert!(out.contains(r#""total_cost":0.000063"#), "{out}");
    assert_eq!(v["cost"], v["error"]["cost"]);

    let records = exported(&db);
    let attempts: Vec<(bool, u64)> =
        records.iter().map(|r| (r["trace_id"] == trace.as_str(), r["repair_attempts"].as_u64().unwrap())).collect();
    assert_eq!(attempts, vec![(true, 0), (true, 1), (false, 0), (false, 1), (false, 2)]);
    assert_eq!(records[2]["trace_id"], records[4]["trace_id"]);
    let report = report_by_model(&db);
    assert_eq!((report["total"]["calls"].as_u64(), report["total"]["logical_calls"].as_u64()), (Some(5), Some(2)));
}

#[test]
fn keys_of_any_shape_never_reach_output_or_the_store() {
    use llm_fake_upstream::wire;
    let (_rt, server) = fake_server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("spend.sqlite").display());
    let schema = dir.path().join("s.json");
    std::fs::write(&schema, r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}"#).unwrap();
    let key = [("HOSTED_VLLM_API_KEY", "vllm-PLANTED-token")];
    for extra in [&[][..], &["--schema", schema.to_str().unwrap()][..]] {
        server.push(wire::openai::error(401, "invalid_request_error", None, "Invalid key vllm-PLANTED-token"));
        let mut args = vec!["chat", "-m", "hosted_vllm/my-model", "--api-base", &url, "--json", "--db", &db];
        args.extend_from_slice(extra);
        args.push("Hi");
        let (code, out, err) = llm_env(&args, &key);
        assert_eq!(code, 1);
        assert!(out.contains("<redacted>") && !out.contains("PLANTED"), "{out}");
        assert!(!err.contains("PLANTED"), "{err}");
    }
    let records = exported(&db);
    assert_eq!(records.len(), 2);
    let all = serde_json::to_string(&records).unwrap();
    assert!(all.contains("<redacted>") && !all.contains("PLANTED"), "{all}");
    let bytes = std::fs::read(dir.path().join("spend.sqlite")).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("PLANTED"));
}

#[test]
fn chat_through_a_litellm_proxy_from_its_environment() {
    use llm_fake_upstream::wire;
    let (_rt, server) = fake_server();
    server.push(wire::openai::chat("Hi from the proxy", 11, 4));
    let base = format!("{}/v1", server.url());
    let (code, out, err) = llm_env(
        &["chat", "-m", "litellm_proxy/gpt-4o-mini", "--json", "Hi"],
        &[("LITELLM_PROXY_API_BASE", base.as_str()), ("LITELLM_PROXY_API_KEY", "sk-litellm-proxy-key-0001")],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["provider"], "litellm_proxy");
    assert_eq!(v["choices"][0]["message"]["content"], "Hi from the proxy");
    assert_eq!(v["cost"]["status"], "priced", "{out}");
    let sent = server.last_request().unwrap();
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-litellm-proxy-key-0001"));
    assert_eq!(sent.json()["model"], "gpt-4o-mini");
}

#[test]
fn cost_jsonl_exit_status_bom_counts_and_exact_reported_cost() {
    // every line priced (an unknown model is an answer, not an error): exit 0; a UTF-8 BOM before line 1 is skipped
    let good = concat!(
        "\u{feff}",
        r#"{"model": "gpt-4o", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}}"#,
        "\n",
        r#"{"model": "no-such-model-xyz", "usage": {"prompt_tokens": 1e3, "completion_tokens": 10.0}}"#,
        "\n",
    );
    let (code, out) = llm_stdin(&["cost", "--jsonl"], good);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            r#"{"prompt_cost":0.0025,"completion_cost":0.005,"total_cost":0.0075,"status":"priced","catalog_key":"gpt-4o"}"#,
            r#"{"prompt_cost":0,"completion_cost":0,"total_cost":0,"status":"unknown_model","catalog_key":null}"#,
        ]
    );

    // every line failed: exit 2, every line still answered, in order
    let bad = concat!(
        r#"{"model": "gpt-4o", "usage": {"prompt_tokens": 9007199254740993.0, "completion_tokens": 1}}"#,
        "\n",
        r#"{"model": "gpt-4o", "usage": {"prompt_tokens": 10.5, "completion_tokens": 1}}"#,
        "\n",
        r#"{"response": {"id": "x", "model": "gpt-4o", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1e300}}}"#,
        "\n",
    );
    let (code, out) = llm_stdin(&["cost", "--jsonl"], bad);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            r#"{"error":{"kind":"invalid_input","message":"usage.prompt_tokens: 9007199254740993.0 is not a token count (an integer; a float must be integral and below 2^53)"}}"#,
            r#"{"error":{"kind":"invalid_input","message":"usage.prompt_tokens: 10.5 is not a token count (an integer; a float must be integral and below 2^53)"}}"#,
            r#"{"error":{"kind":"invalid_input","message":"response.usage.completion_tokens: 1e300 is not a token count (an integer; a float must be integral and below 2^53)"}}"#,
        ]
    );

    // a provider-reported cost keeps its exact decimal text (not 1234567.1234567890)
    let reported = concat!(
        r#"{"response": {"id": "x", "model": "openai/gpt-4o", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20, "cost": 1234567.123456789012345}}, "provider": "openrouter"}"#,
        "\n",
        r#"{"response": {"id": "x", "model": "sonar", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20, "cost": {"total_cost": 0.12345678901234567891}}}, "provider": "perplexity"}"#,
        "\n",
    );
    let (code, out) = llm_stdin(&["cost", "--jsonl"], reported);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains(r#""total_cost":1234567.123456789012345,"status":"provider_reported""#), "{}", lines[0]);
    assert!(lines[1].contains(r#""total_cost":0.12345678901234567891,"#), "{}", lines[1]);
}

/// A line of NULs far longer than the cap (what `llm cost --jsonl /dev/zero` reads) is answered with an error as
/// soon as the cap is passed, read in chunks without being held, and the next line is answered.
#[test]
fn cost_jsonl_long_line_is_an_error_in_bounded_memory() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_llm"))
        .args(["cost", "--jsonl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn llm");
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        stdin.write_all(&zeros).unwrap();
    }
    stdin.write_all(b"\n").unwrap();
    stdin.write_all(br#"{"model": "gpt-4o", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}}"#).unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let mut second = String::new();
    stdout.read_line(&mut second).unwrap();
    // the peak memory of the process while it is still alive (its input still open)
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    drop(stdin);
    let code = child.wait().unwrap().code();
    assert_eq!(
        first.trim_end(),
        r#"{"error":{"kind":"invalid_input","message":"the line is 67108864 bytes long, more than the limit of 1048576 (--max-line-bytes)"}}"#
    );
    assert_eq!(
        second.trim_end(),
        r#"{"prompt_cost":0.0025,"completion_cost":0.005,"total_cost":0.0075,"status":"priced","catalog_key":"gpt-4o"}"#
    );
    assert_eq!(code, Some(2));
    assert!(peak_kb < 48 * 1024, "a 64 MiB line must not be held in memory: peak {peak_kb} kB");

    // the cap is configurable
    let line = format!("{}\n", r#"{"model": "gpt-4o", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}}"#);
    let (code, out) = llm_stdin(&["cost", "--jsonl", "--max-line-bytes", "20"], &line);
    assert_eq!(code, 2);
    assert!(out.contains("more than the limit of 20 (--max-line-bytes)"), "{out}");
}

const CUSTOM_PRICES: &str = r#"{
    "my-model": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 0.000001, "output_cost_per_token": "0.000003", "max_input_tokens": 1000},
    "gpt-4o-mini": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 0.00001, "output_cost_per_token": 0.00002}
}"#;

#[test]
fn a_custom_price_file_prices_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("prices.json");
    std::fs::write(&good, CUSTOM_PRICES).unwrap();
    let good = good.to_str().unwrap();
    let (code, out, err) = llm(&[
        "cost",
        "-m",
        "my-model",
        "--prompt-tokens",
        "1000",
        "--completion-tokens",
        "100",
        "--json",
        "--catalog",
        good,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        r#"{"prompt_cost":0.001,"completion_cost":0.0003,"total_cost":0.0013,"status":"priced","catalog_key":"my-model"}"#
    );
    // LLM_CATALOG does the same for --jsonl and models
    let (code, out, err) = llm_env(&["models", "--json", "my-model"], &[("LLM_CATALOG", good)]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v[0]["model"].as_str(), v[0]["max_input_tokens"].as_u64()), (Some("my-model"), Some(1000)));
    let (code, _, _) = llm_env(&["models", "--json", "gpt-4o"], &[("LLM_CATALOG", good)]);
    assert_eq!(code, 1, "only the file's models are known");
    let mut child = Command::new(env!("CARGO_BIN_EXE_llm"))
        .args(["cost", "--jsonl"])
        .env("LLM_CATALOG", good)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(br#"{"model": "my-model", "usage": {"prompt_tokens": 10, "completion_tokens": 10}}"#).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"prompt_cost":0.00001,"completion_cost":0.00003,"total_cost":0.00004,"status":"priced","catalog_key":"my-model"}"#
    );
}

#[test]
fn a_bad_price_file_is_an_error_naming_model_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"ok": {"input_cost_per_token": 1e-6}, "cheap-model": {"litellm_provider": "openai", "input_cost_per_token": -0.995}}"#)
        .unwrap();
    let bad = bad.to_str().unwrap();
    let want = format!(
        "llm: the price file {bad} cannot be used: model \"cheap-model\": input_cost_per_token: -0.995 is negative"
    );
    for args in [
        vec!["cost", "-m", "cheap-model", "--prompt-tokens", "1000", "--json", "--catalog", bad],
        vec!["cost", "--jsonl", "--catalog", bad],
        vec!["models", "--catalog", bad],
        vec!["resolve", "gpt-4o", "--catalog", bad],
    ] {
        let (code, out, err) = llm(&args);
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(out, "", "{args:?}");
        assert_eq!(err.trim(), want, "{args:?}");
    }
    let (code, _, err) = llm_env(&["models"], &[("LLM_CATALOG", bad)]);
    assert_eq!((code, err.trim()), (1, want.as_str()));
    // llm chat refuses it before any call, in its JSON error form too
    let (code, out, _) = llm_env(
        &["chat", "-m", "openai/gpt-4o-mini", "--api-base", "http://127.0.0.1:9", "--json", "--catalog", bad, "Hi"],
        &[("OPENAI_API_KEY", "sk-cli-test-000000000000")],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("model \"cheap-model\": input_cost_per_token: -0.995 is negative"),
        "{out}"
    );
}

#[test]
fn chat_prices_the_reply_and_the_record_from_the_custom_catalog() {
    use llm_fake_upstream::wire;
    let (_rt, server) = fake_server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, CUSTOM_PRICES).unwrap();
    let db = format!("sqlite:{}", dir.path().join("spend.sqlite").display());
    server.push(wire::openai::chat("Hello", 1000, 100));
    let (code, out, err) = llm_env(
        &["chat", "-m", "openai/gpt-4o-mini", "--api-base", &url, "--json", "--db", &db, "Hi"],
        &[("OPENAI_API_KEY", "sk-cli-test-000000000000"), ("LLM_CATALOG", prices.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{err}");
    // 1000 × $10/M + 100 × $20/M (the file's prices, not the embedded $0.15/M and $0.60/M)
    assert!(out.contains(r#""total_cost":0.012,"#), "{out}");
    let records = exported(&db);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["cost"]["status"], "priced", "{}", records[0]);
    assert!(records[0]["cost"]["catalog_version"].as_str().unwrap().starts_with("custom+"), "{}", records[0]);
    let report = report_by_model(&db);
    assert_eq!(report["total"]["spend"], "0.012", "{report}");
}

fn raw_get(port: u16, path: &str, host: &str, extra: &str) -> u16 {
    use std::io::{Read, Write};
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(sock, "GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    sock.read_to_string(&mut text).unwrap();
    text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[test]
fn spend_serve_prints_the_bound_port_and_checks_host_and_token() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("spend.sqlite").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_llm"))
        .args(["spend", "serve", "--db", &db, "--addr", "127.0.0.1:0", "--allow-host", "dash.internal"])
        .env("LLM_DASHBOARD_TOKEN", "cli-token-42")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let port: Option<u16> = line
        .strip_prefix("dashboard on http://127.0.0.1:")
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok());
    let statuses = port.map(|port| {
        [
            raw_get(port, "/api/budgets", &format!("127.0.0.1:{port}"), "Authorization: Bearer cli-token-42\r\n"),
            raw_get(port, "/?token=cli-token-42", &format!("dash.internal:{port}"), ""),
            raw_get(port, "/api/budgets", &format!("127.0.0.1:{port}"), ""),
            raw_get(port, "/api/budgets?token=cli-token-42", &format!("attacker.example:{port}"), ""),
        ]
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let port = port.unwrap_or_else(|| panic!("no bound port in {line:?}"));
    assert_ne!(port, 0, "{line}");
    assert_eq!(
        line.trim(),
        format!("dashboard on http://127.0.0.1:{port}/ (Ctrl-C to stop, open it with ?token=<the token>)")
    );
    assert_eq!(statuses, Some([200, 200, 401, 403]));
}

/// `llm chat --db` over a store that cannot write (a read-only database): the call's JSON result is printed,
/// and the command fails within seconds with the store's error on stderr (it used to hang while the writer
/// retried forever). `llm budget list` shows reservations in flight.
#[test]
fn chat_with_an_unwritable_store_prints_the_result_and_fails_fast() {
    use llm_fake_upstream::wire;
    let (_rt, server) = fake_server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spend.sqlite");
    let db = format!("sqlite:{}", path.display());
    let (code, _, err) = llm_env(&["budget", "set", "--db", &db, "--scope", "user:ro", "--max-usd", "1"], &[]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = llm_env(&["budget", "list", "--db", &db], &[]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["scope", "period", "max_usd", "soft_usd", "spent", "reserved", "held", "earliest_expiry"]
    );
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["user:ro", "monthly", "1", "-", "0", "0", "0", "-"]);
    let (code, out, _) = llm_env(&["budget", "list", "--db", &db, "--json"], &[]);
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((listed[0]["reserved"].as_str(), listed[0]["reservations"].as_u64()), (Some("0"), Some(0)));

    server.push(wire::openai::stream(&["Hel", "lo", "!"], 12, 3));
    let ro = format!("{db}?mode=ro");
    let started = std::time::Instant::now();
    let (code, out, err) = llm_env(
        &["chat", "-m", "gpt-4o-mini", "--api-base", &url, "--stream", "--json", "--db", &ro, "--user", "ro", "Hi"],
        &[("OPENAI_API_KEY", "sk-cli-test-000000000000")],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Hello!");
    assert_eq!(out.trim().lines().count(), 1, "one JSON object: the result");
    assert!(
        err.contains(
            "llm: the call succeeded (result above), but its record was not stored: store: 1 records were not \
             persisted to the sqlite store: "
        ) && err.contains("readonly database"),
        "{err}"
    );
}

#[test]
fn chat_json_bridges_a_responses_only_model() {
    use llm_fake_upstream::wire::openai_responses as wire;
    let (_rt, server) = fake_server();
    server.push(wire::response_with(
        vec![
            wire::reasoning_item("rs_1", &["Short answer."], Some("gAAAA-enc")),
            wire::message_item("msg_1", "Hello."),
        ],
        wire::usage(1000, 600, 200, 128),
    ));
    let url = server.url();
    let (code, out, err) = llm_env(
        &["chat", "-m", "o1-pro", "--api-base", &url, "--json", "Hi"],
        &[("OPENAI_API_KEY", "sk-cli-resp-0000")],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["provider"], "openai");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello.");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 1000);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 600);
    assert_eq!(v["usage"]["completion_tokens"], 200);
    assert_eq!(v["usage"]["completion_tokens_details"]["reasoning_tokens"], 128);
    assert_eq!(v["adjustments"][0]["kind"], "responses_api_bridge");
    // o1-pro (served as o1-pro-2025-03-19, no cache-read price): 1000 × $150/M = 0.15; 200 × $600/M = 0.12.
    assert_eq!(v["cost"]["status"], "priced");
    assert_eq!(v["cost"]["catalog_key"], "o1-pro-2025-03-19");
    assert!(out.contains(r#""prompt_cost":0.15"#), "{out}");
    assert!(out.contains(r#""completion_cost":0.12"#), "{out}");
    let sent = server.last_request().unwrap();
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.json()["input"][0], serde_json::json!({"type": "message", "role": "user", "content": "Hi"}));
}

#[test]
fn chat_stream_json_bridges_a_responses_only_model() {
    use llm_fake_upstream::wire::openai_responses as wire;
    let (_rt, server) = fake_server();
    server.push(wire::stream(&["Hel", "lo."], 10, 5));
    let url = server.url();
    let (code, out, err) = llm_env(
        &["chat", "-m", "o1-pro", "--api-base", &url, "--stream", "--json", "Hi"],
        &[("OPENAI_API_KEY", "sk-cli-resp-0001")],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Hello.");
    assert_eq!((v["usage"]["prompt_tokens"].as_u64(), v["usage"]["completion_tokens"].as_u64()), (Some(10), Some(5)));
    assert_eq!(v["adjustments"][0]["kind"], "responses_api_bridge");
    // o1-pro-2025-03-19: 10 × $150/M + 5 × $600/M = 0.0045.
    assert!(out.contains(r#""total_cost":0.0045"#), "{out}");
    assert_eq!(server.last_request().unwrap().json()["stream"], true);
}

/// `llm spend serve` over the demo store, rendered in headless Chromium (DOM and a screenshot): the page shows
/// what `llm spend report --json` says for the same store (totals, every model and user row).
#[test]
fn dashboard_page_shows_what_spend_report_says() {
    use std::io::{BufRead, BufReader};
    let Some(browser) = llm_fake_upstream::browser::require() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = llm_env(&["demo", "--data-dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let db = format!("sqlite:{}", dir.path().join("demo.sqlite").display());
    let report = |by: &str| -> serde_json::Value {
        let (code, out, err) = llm_env(&["spend", "report", "--db", &db, "--by", by, "--json"], &[]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(out.trim()).unwrap()
    };
    let (models, users) = (report("model"), report("user"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_llm"))
        .args(["spend", "serve", "--db", &db, "--addr", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.strip_prefix("dashboard on ").and_then(|r| r.split_whitespace().next()).map(str::to_owned);
    let rendered = url.as_ref().map(|url| {
        let png = dir.path().join("dashboard.png");
        let html = llm_fake_upstream::browser::dump_dom(browser, url);
        (html, llm_fake_upstream::browser::screenshot(browser, url, &png, (1280, 1000)), png)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let (html, size, png) = rendered.unwrap_or_else(|| panic!("no address in {line:?}"));
    assert_eq!(size, (1280, 1000));
    assert!(std::fs::metadata(png).unwrap().len() > 20_000, "a rendered page, not a blank one");
    assert!(html.contains("data-state=\"ready\""), "the page's script did not finish: {html}");
    let total = &models["total"];
    assert_eq!(total, &users["total"]);
    assert_eq!(total["calls"], 5, "{total}");
    for want in [
        format!("id=\"total-spend\">${}<", total["spend"].as_str().unwrap()),
        format!("id=\"total-calls\">{}<", total["calls"]),
        format!("id=\"total-failures\">{}<", total["failures"]),
        format!("id=\"total-unpriced\">{}<", total["unpriced_calls"]),
    ] {
        assert!(html.contains(&want), "missing {want:?} in the page:\n{html}");
    }
    let rows = models["rows"].as_array().unwrap().iter().chain(users["rows"].as_array().unwrap());
    let mut checked = 0;
    for row in rows {
        let key = row["key"].as_str().unwrap();
        let want = format!("<tr data-key=\"{key}\"><td>{key}</td><td class=\"n\">{}</td>", row["calls"]);
        assert!(html.contains(&want), "missing {want:?} in the page:\n{html}");
        let spend = format!("<td class=\"n spend\">${}</td></tr>", row["spend"].as_str().unwrap());
        let at = html.find(&want).unwrap();
        assert!(
            html[at..].split("</tr>").next().is_some_and(|r| format!("{r}</tr>").ends_with(&spend)),
            "{key}: {spend}"
        );
        checked += 1;
    }
    assert!(checked >= 2, "at least one model and one user row");
}

/// `llm embed --json` over HTTP: OpenAI's embedding list, the provider, the cost (exact decimals) and the
/// request the provider got; `--db` records the call with its call type.
#[test]
fn embed_json_against_a_local_openai_server() {
    use llm_fake_upstream::wire::embeddings;
    let (_rt, server) = fake_server();
    server.push(embeddings::openai(&[vec![0.25, -0.5], vec![1.0, 0.125]], 1200));
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("spend.db").display());
    let (code, out, err) = llm_env(
        &[
            "embed",
            "-m",
            "text-embedding-3-small",
            "--api-base",
            &url,
            "--json",
            "--dimensions",
            "2",
            "--db",
            &db,
            "--tag",
            "rag",
            "first text",
            "second text",
        ],
        &[("OPENAI_API_KEY", "sk-cli-embed-test-0000")],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(
        v["data"],
        serde_json::json!([
            {"object": "embedding", "index": 0, "embedding": [0.25, -0.5]},
            {"object": "embedding", "index": 1, "embedding": [1.0, 0.125]}
        ])
    );
    assert_eq!(v["model"], "fake-embedding-model");
    assert_eq!(v["usage"], serde_json::json!({"prompt_tokens": 1200, "total_tokens": 1200}));
    assert_eq!(v["provider"], "openai");
    // The served name is unknown to the catalog: priced on the requested model, 1200 × $0.02/M.
    assert!(
        out.contains(
            r#""cost":{"prompt_cost":0.000024,"completion_cost":0,"total_cost":0.000024,"status":"priced","catalog_key":"text-embedding-3-small"}"#
        ),
        "{out}"
    );
    let sent = server.last_request().unwrap();
    assert_eq!(sent.path, "/v1/embeddings");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-cli-embed-test-0000"));
    assert_eq!(
        sent.json(),
        serde_json::json!({"model": "text-embedding-3-small", "input": ["first text", "second text"], "dimensions": 2})
    );
    let (code, out, err) = llm_env(&["spend", "export", "--db", &db], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(r#""call_type":"embedding""#), "{out}");
}

/// Errors of `llm embed --json`: a provider without embeddings, and an upstream error, each an error object
/// with a non-zero exit.
#[test]
fn embed_json_errors() {
    let (_rt, server) = fake_server();
    let url = server.url();
    let (code, out, _) = llm_env(
        &["embed", "-m", "anthropic/claude-sonnet-4-5", "--api-base", &url, "--json", "hi"],
        &[("ANTHROPIC_API_KEY", "sk-ant-cli-test-000000")],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "unsupported");
    assert_eq!(server.request_count(), 0);

    server.push(llm_fake_upstream::wire::openai::error(
        401,
        "invalid_request_error",
        Some("invalid_api_key"),
        "bad key",
    ));
    let (code, out, _) = llm_env(
        &["embed", "-m", "openai/text-embedding-3-small", "--api-base", &url, "--json", "hi"],
        &[("OPENAI_API_KEY", "sk-cli-embed-test-0000")],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "auth");
    assert!(v["error"]["message"].as_str().unwrap().contains("bad key"), "{out}");
}

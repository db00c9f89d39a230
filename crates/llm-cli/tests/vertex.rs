//! `llm chat --json -m vertex_ai/...` over real HTTP on 127.0.0.1: the service-account key comes from
//! `GOOGLE_APPLICATION_CREDENTIALS` (a temporary file whose `token_uri` is the fake upstream's token endpoint,
//! which verifies the signed assertion), the call goes to the Vertex route with the token it issued.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::process::Command;

use llm_fake_upstream::FakeUpstream;
use llm_fake_upstream::wire::{self, google};

/// Runs `llm`, which must succeed with one JSON object on stdout: (stdout, stderr, the object).
fn run_ok(cmd: &mut Command) -> (String, String, serde_json::Value) {
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v = serde_json::from_str(stdout.trim()).unwrap();
    (stdout.into_owned(), stderr.into_owned(), v)
}

/// A fake upstream with the verifying token endpoint at `/token` and the Vertex routes behind it.
fn vertex_upstream() -> (tokio::runtime::Runtime, FakeUpstream, google::TokenEndpoint, String) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = rt.block_on(FakeUpstream::start()).unwrap();
    let token_uri = format!("{}/token", server.url());
    let tokens = google::TokenEndpoint::new(&token_uri);
    tokens.install(&server, "/token");
    tokens.protect(&server, "/v1/projects/");
    (rt, server, tokens, token_uri)
}

#[test]
fn chat_json_on_vertex_with_a_service_account_file() {
    let (_rt, server, tokens, token_uri) = vertex_upstream();
    server.push(wire::gemini::generate("Paris.", 1000, 200));
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("service-account.json");
    std::fs::write(&key_file, google::service_account_json(&token_uri)).unwrap();

    let (stdout, stderr, v) = run_ok(
        Command::new(env!("CARGO_BIN_EXE_llm"))
            .args([
                "chat",
                "--json",
                "-m",
                "vertex_ai/gemini-2.5-flash",
                "--api-base",
                &server.url(),
                "Capital of France?",
            ])
            .env("GOOGLE_APPLICATION_CREDENTIALS", &key_file)
            .env("VERTEXAI_LOCATION", "europe-west4")
            .env_remove("VERTEXAI_CREDENTIALS")
            .env_remove("VERTEXAI_PROJECT")
            .env_remove("VERTEX_PROJECT")
            .env_remove("LLM_DB"),
    );
    assert_eq!(v["provider"], "vertex_ai");
    assert_eq!(v["choices"][0]["message"]["content"], "Paris.");
    assert_eq!(v["usage"]["prompt_tokens"], 1000);
    assert_eq!(v["usage"]["completion_tokens"], 200);
    // gemini-2.5-flash (vertex_ai-language-models): 1000 × $0.30/M = 0.0003; 200 × $2.50/M = 0.0005.
    assert_eq!(v["cost"]["status"], "priced", "{stdout}");
    assert_eq!(v["cost"]["catalog_key"], "gemini-2.5-flash");
    assert!(stdout.contains(r#""prompt_cost":0.0003,"#), "{stdout}");
    assert!(stdout.contains(r#""completion_cost":0.0005,"#), "{stdout}");

    assert_eq!(tokens.tokens_issued(), 1);
    assert_eq!(tokens.rejections(), Vec::<String>::new());
    let sent = server.last_request().unwrap();
    assert_eq!(
        sent.path,
        format!(
            "/v1/projects/{}/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent",
            google::TEST_PROJECT_ID
        )
    );
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {}", tokens.tokens()[0]).as_str()));
    let shown = format!("{stdout}{stderr}");
    assert!(!shown.contains(&tokens.tokens()[0]) && !shown.contains("PRIVATE KEY"), "{shown}");
}

/// A streamed Claude call in a regional location: the location travels with the stream and the catalog row's
/// regional uplift (×1.1) applies.
#[test]
fn streamed_claude_on_vertex_in_a_region_is_priced_with_the_uplift() {
    let (_rt, server, tokens, token_uri) = vertex_upstream();
    server.push(wire::anthropic::stream(&["Par", "is."], 1000, 200));
    let (stdout, _, v) = run_ok(
        Command::new(env!("CARGO_BIN_EXE_llm"))
            .args([
                "chat",
                "--json",
                "--stream",
                "-m",
                "vertex_ai/claude-sonnet-4-5",
                "--api-base",
                &server.url(),
                "Hi",
            ])
            .env("VERTEXAI_CREDENTIALS", google::service_account_json(&token_uri))
            .env("VERTEXAI_PROJECT", "other-project")
            .env("VERTEXAI_LOCATION", "us-east5")
            .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
            .env_remove("LLM_DB"),
    );
    assert_eq!(v["choices"][0]["message"]["content"], "Paris.");
    // vertex_ai/claude-sonnet-4-5: (1000 × $3/M) × 1.1 = 0.0033; (200 × $15/M) × 1.1 = 0.0033.
    assert_eq!(v["cost"]["catalog_key"], "vertex_ai/claude-sonnet-4-5", "{stdout}");
    assert!(stdout.contains(r#""prompt_cost":0.0033,"#), "{stdout}");
    assert!(stdout.contains(r#""completion_cost":0.0033,"#), "{stdout}");
    let sent = server.last_request().unwrap();
    assert_eq!(
        sent.path,
        "/v1/projects/other-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5:streamRawPredict"
    );
    assert_eq!(sent.json()["anthropic_version"], "vertex-2023-10-16");
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {}", tokens.tokens()[0]).as_str()));
}

#[test]
fn chat_json_on_vertex_without_credentials_names_the_variables() {
    let out = Command::new(env!("CARGO_BIN_EXE_llm"))
        .args(["chat", "--json", "-m", "vertex_ai/gemini-2.5-flash", "--api-base", "http://127.0.0.1:9", "Hi"])
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("VERTEXAI_CREDENTIALS")
        .env_remove("LLM_DB")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(v["error"]["kind"], "config");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("VERTEXAI_CREDENTIALS or GOOGLE_APPLICATION_CREDENTIALS"), "{message}");
}

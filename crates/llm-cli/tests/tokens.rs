//! `llm tokens` and `llm chat --preflight`, run as a user runs them. The counts were computed with Python
//! tiktoken and LiteLLM 1.110.2.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::io::Write;
use std::process::{Command, Stdio};

fn llm(args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llm"));
    cmd.args(args).env_remove("OPENAI_API_KEY").env_remove("LLM_DB");
    if args.first() == Some(&"chat") {
        cmd.env("OPENAI_API_KEY", "sk-cli-tokens-0000000000");
    }
    let out = cmd.output().expect("run llm");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

const TEXT: &str = "Grüße aus München! 東京は晴れです。";

#[test]
fn tokens_json_is_exactly_model_tokens_exact() {
    for (model, line) in [
        ("gpt-4o", r#"{"model":"gpt-4o","tokens":12,"exact":true}"#),
        ("openai/gpt-4.1", r#"{"model":"openai/gpt-4.1","tokens":12,"exact":true}"#),
        ("gpt-4", r#"{"model":"gpt-4","tokens":15,"exact":true}"#),
        ("claude-sonnet-4-5", r#"{"model":"claude-sonnet-4-5","tokens":15,"exact":false}"#),
    ] {
        let (code, out, err) = llm(&["tokens", "--json", "-m", model, TEXT]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, format!("{line}\n"), "the model as named, its tokens, whether exact");
    }
}

#[test]
fn tokens_text_line_and_stdin() {
    let (code, out, _) = llm(&["tokens", "-m", "gpt-4o", TEXT]);
    assert_eq!((code, out.as_str()), (0, "12 tokens (gpt-4o, o200k_base, exact)\n"));
    let (_, out, _) = llm(&["tokens", "--model", "gemini/gemini-2.5-flash", "Hello world"]);
    assert_eq!(out, "2 tokens (gemini/gemini-2.5-flash, cl100k_base, approximate)\n");

    let mut child = Command::new(env!("CARGO_BIN_EXE_llm"))
        .args(["tokens", "--json", "-m", "gpt-4o"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all("The quick brown fox jumps over the lazy dog.".as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"model\":\"gpt-4o\",\"tokens\":10,\"exact\":true}\n");
}

/// gpt-4's input window is 8,192 tokens; "hello " × 8200 is 8,208 framed (8,201 of text, cl100k_base).
#[test]
fn chat_preflight_refuses_before_sending() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = rt.block_on(llm_fake_upstream::FakeUpstream::start()).unwrap();
    let url = server.url();
    let prompt = "hello ".repeat(8200);
    let (code, out, _) = llm(&["chat", "-m", "gpt-4", "--api-base", &url, "--preflight", "--json", &prompt]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "context_length");
    assert_eq!((v["error"]["tokens"].as_u64(), v["error"]["window"].as_u64()), (Some(8208), Some(8192)));
    assert_eq!(server.request_count(), 0, "nothing was sent");

    // Without the flag the call goes out (and the upstream answers).
    server.push(llm_fake_upstream::wire::openai::chat("ok", 8208, 1));
    let (code, out, err) = llm(&["chat", "-m", "gpt-4", "--api-base", &url, "--json", &prompt]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"ok\""), "{out}");
    assert_eq!(server.request_count(), 1);
}

//! `llm chat --config` and `llm router check` run as a user runs them: a LiteLLM config with two deployments
//! and a fallback over real HTTP, and a fleet of `llm` processes sharing one RPM limit and one response cache
//! through Redis.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::io::Write;
use std::process::{Command, Output};

use llm_fake_upstream::{FakeUpstream, test_redis_url, wire};
use serde_json::Value;

fn llm(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llm"));
    cmd.args(args);
    for k in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLM_DB"] {
        cmd.env_remove(k);
    }
    cmd
}

fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn config_file(yaml: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    f.write_all(yaml.as_bytes()).unwrap();
    f
}

fn servers(n: usize) -> (tokio::runtime::Runtime, Vec<FakeUpstream>) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let s = (0..n).map(|_| rt.block_on(FakeUpstream::start()).unwrap()).collect();
    (rt, s)
}

/// An existing LiteLLM config: two deployments, keys from the environment, a fallback.
fn two_deployments(primary: &str, backup: &str, extra: &str) -> String {
    format!(
        r#"
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: {primary}/v1
      api_key: os.environ/PRIMARY_KEY
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: {backup}/v1
      api_key: os.environ/BACKUP_KEY
router_settings:
  routing_strategy: simple-shuffle
  allowed_fails: 0
  fallbacks: [{{"gpt-4o": ["gpt-4o-mini"]}}]
{extra}
general_settings:
  master_key: sk-1234
"#
    )
}

#[test]
fn chat_with_a_litellm_config_falls_back_and_says_so() {
    let (_rt, s) = servers(2);
    s[0].set_default(wire::openai::error(500, "server_error", None, "primary is down"));
    s[1].set_default(wire::openai::chat("From the backup.", 20, 4));
    let cfg = config_file(&two_deployments(&s[0].url(), &s[1].url(), ""));
    let path = cfg.path().to_str().unwrap();
    let out = llm(&["chat", "--config", path, "-m", "gpt-4o", "--json", "Hi"])
        .env("PRIMARY_KEY", "sk-primary-PLANTED-0001")
        .env("BACKUP_KEY", "sk-backup-PLANTED-0002")
        .output()
        .unwrap();
    let (code, out, err) = text(&out);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("general_settings: proxy server settings, not used by the router"), "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "From the backup.");
    assert_eq!(v["deployment"], "gpt-4o-mini/0");
    assert_eq!(v["fallbacks"], serde_json::json!(["gpt-4o-mini"]));
    assert_eq!(v["cache_hit"], false);
    assert_eq!(v["provider"], "openai");
    let attempts = v["routing"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (attempts[0]["deployment"].as_str(), attempts[0]["outcome"].as_str()),
        (Some("gpt-4o/0"), Some("server"))
    );
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[1]["outcome"], "success");
    // gpt-4o-mini: 20 × $0.15/M + 4 × $0.60/M
    assert!(out.contains(r#""total_cost":0.0000054"#), "{out}");
    assert_eq!((s[0].request_count(), s[1].request_count()), (1, 1));
    assert_eq!(s[0].last_request().unwrap().header("authorization"), Some("Bearer sk-primary-PLANTED-0001"));
    assert_eq!(s[1].last_request().unwrap().header("authorization"), Some("Bearer sk-backup-PLANTED-0002"));
    assert!(!out.contains("PLANTED") && !err.contains("PLANTED"));

    // both down: the error lists every attempt
    s[1].set_default(wire::openai::error(503, "overloaded", None, "backup too"));
    let out = llm(&["chat", "--config", path, "-m", "gpt-4o", "--json", "Hi"])
        .env("PRIMARY_KEY", "sk-primary-PLANTED-0001")
        .env("BACKUP_KEY", "sk-backup-PLANTED-0002")
        .output()
        .unwrap();
    let (code, out, _) = text(&out);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "overloaded");
    assert_eq!(v["error"]["retries"], 2);
    assert!(v["error"]["message"].as_str().unwrap().ends_with("(fallbacks tried: gpt-4o-mini)"), "{v}");
}

#[test]
fn router_check_prints_the_groups_and_the_warnings() {
    let cfg = config_file(&two_deployments("http://127.0.0.1:9", "http://127.0.0.1:9", "  surprise: 1"));
    let path = cfg.path().to_str().unwrap();
    let (code, out, err) = text(&llm(&["router", "check", path]).env("PRIMARY_KEY", "k-000000001").output().unwrap());
    assert_eq!(code, 0, "{err}");
    let expected = "valid: 2 group(s), 2 deployment(s); routing_strategy simple-shuffle, num_retries 0, allowed_fails 0, cooldown_time 5s\n\
gpt-4o\n  gpt-4o/0 -> openai/gpt-4o (api_base http://127.0.0.1:9/v1)\n  fallbacks: gpt-4o-mini\n\
gpt-4o-mini\n  gpt-4o-mini/0 -> openai/gpt-4o-mini (api_base http://127.0.0.1:9/v1)\n\
warning: router_settings.surprise: unknown key (ignored)\n\
warning: model_list[1].litellm_params.api_key: os.environ/BACKUP_KEY is not set\n\
warning: general_settings: proxy server settings, not used by the router (ignored)\n";
    assert_eq!(out, expected);
    let (code, out, _) = text(&llm(&["router", "check", path, "--json"]).output().unwrap());
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["groups"][0]["model_group"], "gpt-4o");
    assert_eq!(v["groups"][0]["deployments"][0]["api_key"], false);
    assert_eq!(v["groups"][0]["fallbacks"][0], "gpt-4o-mini");
    assert_eq!(v["warnings"].as_array().unwrap().len(), 4);

    let bad = config_file(
        "model_list: [{model_name: a, litellm_params: {model: x}}]\nrouter_settings: {routing_strategy: magic}",
    );
    let (code, out, _) = text(&llm(&["router", "check", bad.path().to_str().unwrap(), "--json"]).output().unwrap());
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "invalid_config");
    assert!(v["error"]["message"].as_str().unwrap().contains("unknown routing strategy \"magic\""), "{v}");
}

fn fleet_config(upstream: &str, redis: &str, ns: &str) -> String {
    format!(
        r#"
model_list:
  - model_name: g
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{upstream}/v1", api_key: sk-fleet-000000000, rpm: 4}}
router_settings:
  redis_url: "{redis}"
  redis_namespace: "{ns}"
litellm_settings:
  cache: true
  cache_params: {{type: redis, ttl: 60}}
"#
    )
}

#[test]
fn a_fleet_of_processes_shares_one_rpm_limit_and_one_cache_through_redis() {
    let Some(redis) = test_redis_url() else { return };
    let (_rt, s) = servers(1);
    s[0].set_default(wire::openai::chat("Fleet answer.", 10, 2).delay(std::time::Duration::from_millis(50)));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let ns = format!("llm-cli-test:{}:{nanos}", std::process::id());
    let cfg = config_file(&fleet_config(&s[0].url(), &redis, &ns));
    let path = cfg.path().to_str().unwrap().to_owned();
    // the limit is per minute: start well inside one
    let into_minute = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 60;
    if into_minute > 45 {
        std::thread::sleep(std::time::Duration::from_secs(61 - into_minute));
    }
    // ten processes at once, each with its own prompt (no cache hits among them)
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                llm(&["chat", "--config", &path, "-m", "g", "--json", &format!("question {i}")]).output().unwrap()
            })
        })
        .collect();
    let outputs: Vec<Output> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut served = Vec::new();
    let mut limited = 0;
    for (i, o) in outputs.iter().enumerate() {
        let (code, out, err) = text(o);
        let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{out} {err}"));
        if code == 0 {
            assert_eq!(v["cache_hit"], false);
            served.push(i);
        } else {
            assert_eq!(v["error"]["kind"], "rate_limited", "{v}");
            assert!(v["error"]["message"].as_str().unwrap().contains("rpm 4 reached"), "{v}");
            limited += 1;
        }
    }
    // the upstream never saw more than the limit, whichever processes got there first
    assert_eq!((served.len(), limited), (4, 6));
    assert_eq!(s[0].request_count(), 4);

    // another process asks what one of them asked: answered from the fleet's cache, nothing sent, cost 0
    let q = format!("question {}", served[0]);
    let (code, out, err) = text(&llm(&["chat", "--config", &path, "-m", "g", "--json", &q]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["cache_hit"], true);
    assert_eq!(v["choices"][0]["message"]["content"], "Fleet answer.");
    assert_eq!(v["cost"]["status"], "cache_hit");
    assert_eq!(v["cost"]["total_cost"].to_string(), "0");
    assert_eq!(v["usage"]["total_tokens"], 12);
    assert_eq!(s[0].request_count(), 4);
    // and streamed, as a stream
    let (code, out, err) = text(&llm(&["chat", "--config", &path, "-m", "g", "--stream", &q]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Fleet answer.\n");
    assert!(err.contains("+ 2 tokens, $0]"), "{err}");
    assert_eq!(s[0].request_count(), 4);
}

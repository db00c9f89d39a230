//! The `llm` binary run as a user runs it.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::process::Command;

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
    let (code, out, err) = llm(&["demo"]);
    assert_eq!(code, 0, "{err}");
    let redacted: String = out
        .lines()
        .map(|l| if l.starts_with("done in ") { "done in [ms] ms" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("demo", redacted);
}

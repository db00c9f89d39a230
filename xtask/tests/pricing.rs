//! `cargo xtask update-pricing`, offline, on fixture data directories.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};

use xtask::pricing::{Args, Paths, Source, fix_command, plan, run};

/// A fresh data directory under the system temp dir (removed by the test that made it).
struct TempData {
    root: PathBuf,
}

impl TempData {
    fn new(name: &str) -> TempData {
        let root = std::env::temp_dir().join(format!("llm-rs-xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("upstream")).unwrap();
        std::fs::write(root.join("overrides.json"), "{}\n").unwrap();
        TempData { root }
    }

    fn paths(&self) -> Paths {
        Paths { data: self.root.clone() }
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.root.join(rel);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap_or_default()
    }
}

impl Drop for TempData {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

const V1: &str = r#"{
    "sample_spec": {"litellm_provider": "x", "input_cost_per_token": 0.0},
    "a-model": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
    "b-model": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 3e-06},
    "old-model": {"litellm_provider": "groq", "mode": "chat"}
}"#;

const V2: &str = r#"{
    "a-model": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1.5e-06, "output_cost_per_token": 2e-06},
    "b-model": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 3e-06, "max_input_tokens": 8192},
    "new-model": {"litellm_provider": "groq", "mode": "chat", "input_cost_per_token": 5e-07}
}"#;

fn args(source: Source) -> Args {
    Args { source, check: false, allow_drift: false, litellm_version: Some("9.9.9".into()) }
}

fn path_source(p: &Path) -> Source {
    Source::Path(p.to_path_buf())
}

#[test]
fn first_run_writes_then_nothing_changes() {
    let d = TempData::new("first");
    let src = d.write("v1.json", V1);
    let out = run(&d.paths(), &args(path_source(&src))).unwrap();
    assert!(out.contains("catalog: 3 models (3 added, 0 removed"), "{out}");
    assert!(out.contains("wrote"), "{out}");
    assert_eq!(d.read("upstream/model_prices_and_context_window.json"), V1);
    assert!(d.read("upstream/PROVENANCE").contains("litellm_version: 9.9.9"));
    assert!(d.read("catalog.version").starts_with("litellm-9.9.9+"));
    assert!(d.read("catalog.json").contains("\"input_cost_per_token\": 0.000001"));
    // same input again: nothing is written
    let again = run(&d.paths(), &args(path_source(&src))).unwrap();
    assert!(again.ends_with("nothing changed\n"), "{again}");
    // and --vendored is a no-op too (the version is kept from PROVENANCE)
    let mut vendored = args(Source::Vendored);
    vendored.litellm_version = None;
    assert!(run(&d.paths(), &vendored).unwrap().ends_with("nothing changed\n"));
}

#[test]
fn summary_of_a_price_refresh() {
    let d = TempData::new("summary");
    let v1 = d.write("v1.json", V1);
    run(&d.paths(), &args(path_source(&v1))).unwrap();
    let v2 = d.write("v2.json", V2);
    let p = plan(&d.paths(), V2.as_bytes(), "fixture v2", &args(path_source(&v2))).unwrap();
    assert!(p.changes_anything());
    insta::assert_snapshot!("update_pricing_summary", p.summary);
}

#[test]
fn check_fails_and_names_the_command() {
    let d = TempData::new("check");
    let v1 = d.write("v1.json", V1);
    run(&d.paths(), &args(path_source(&v1))).unwrap();
    let mut check = args(Source::Vendored);
    check.check = true;
    check.litellm_version = None;
    assert!(run(&d.paths(), &check).unwrap().contains("up to date"));
    // an override edited without regenerating: --check fails, names the command, writes nothing
    d.write("overrides.json", r#"{"a-model": {"output_cost_per_token": 2.5e-06}}"#);
    let before = d.read("catalog.json");
    let err = run(&d.paths(), &check).unwrap_err().to_string();
    assert!(err.contains("catalog.json"), "{err}");
    assert!(err.contains("run `cargo xtask update-pricing --vendored`"), "{err}");
    assert_eq!(d.read("catalog.json"), before);
}

#[test]
fn invalid_prices_are_rejected_with_model_and_key() {
    let d = TempData::new("invalid");
    let bad = d.write("bad.json", r#"{"m": {"litellm_provider": "openai", "output_cost_per_token": -2e-06}}"#);
    let err = run(&d.paths(), &args(path_source(&bad))).unwrap_err().to_string();
    assert!(err.contains("model \"m\": output_cost_per_token: -0.000002 is negative"), "{err}");
    assert_eq!(d.read("catalog.json"), "", "nothing written on an invalid file");
    let drift = d.write("drift.json", r#"{"m": {"litellm_provider": "openai", "input_cost_per_thought": 1e-06}}"#);
    let err = run(&d.paths(), &args(path_source(&drift))).unwrap_err().to_string();
    assert!(err.contains("--allow-drift") && err.contains("input_cost_per_thought"), "{err}");
    let mut allow = args(path_source(&drift));
    allow.allow_drift = true;
    let out = run(&d.paths(), &allow).unwrap();
    assert!(
        out.contains("drift (accepted, unpriced): model \"m\": unknown price field \"input_cost_per_thought\""),
        "{out}"
    );
}

#[test]
fn arguments() {
    let a = |v: &[&str]| Args::parse(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
    let default = a(&[]).unwrap();
    assert!(matches!(default.source, Source::Url(ref u) if u.contains("BerriAI/litellm")));
    assert!(!default.check);
    let x = a(&["--source", "https://example.invalid/p.json", "--check", "--allow-drift"]).unwrap();
    assert_eq!(x.source, Source::Url("https://example.invalid/p.json".into()));
    assert!(x.check && x.allow_drift);
    assert_eq!(a(&["--source", "some/file.json"]).unwrap().source, Source::Path("some/file.json".into()));
    assert_eq!(a(&["--vendored"]).unwrap().source, Source::Vendored);
    assert!(a(&["--bogus"]).is_err());
    assert!(a(&["--source"]).is_err());
    assert_eq!(fix_command(&x), "cargo xtask update-pricing --source https://example.invalid/p.json --allow-drift");
    assert_eq!(fix_command(&default), "cargo xtask update-pricing");
}

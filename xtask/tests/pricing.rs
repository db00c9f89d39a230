//! `cargo xtask update-pricing`, offline, on fixture data directories.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};

use std::io::{Read, Write};
use std::net::TcpListener;

use llm_cost::catalog::diff_catalogs;
use xtask::pricing::{Args, Paths, Source, download, fix_command, plan, run, summary_table};

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
    assert!(
        out.contains("catalog: 3 models\n  change         models\n  added               3\n  removed             0\n"),
        "{out}"
    );
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
    assert_eq!(a(&["--source", "file:///tmp/p.json"]).unwrap().source, Source::Path("/tmp/p.json".into()));
    assert!(a(&["--bogus"]).is_err());
    assert!(a(&["--source"]).is_err());
    assert_eq!(fix_command(&x), "cargo xtask update-pricing --source https://example.invalid/p.json --allow-drift");
    assert_eq!(fix_command(&default), "cargo xtask update-pricing");
}

#[test]
fn a_file_url_source_reads_the_file() {
    let d = TempData::new("file-url");
    let src = d.write("v1.json", V1);
    let parsed = Args::parse(&["--source".to_owned(), format!("file://{}", src.display())]).unwrap();
    let mut a = args(parsed.source);
    a.litellm_version = Some("9.9.9".into());
    let out = run(&d.paths(), &a).unwrap();
    assert!(out.contains("catalog: 3 models\n"), "{out}");
    assert_eq!(d.read("upstream/model_prices_and_context_window.json"), V1);
}

/// Two small price files: six models added, two removed, three re-priced (one on two fields), one with other
/// changes; the table lists the first two of each kind.
#[test]
fn the_summary_table_counts_and_lists_the_first_rows() {
    let old = r#"{
        "a": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
        "b": {"litellm_provider": "openai", "input_cost_per_token": 3e-06},
        "c": {"litellm_provider": "openai", "input_cost_per_token": 4e-06},
        "d": {"litellm_provider": "openai", "max_input_tokens": 100},
        "gone-1": {"litellm_provider": "groq"},
        "gone-2": {"litellm_provider": "groq"}
    }"#;
    let new = r#"{
        "a": {"litellm_provider": "openai", "input_cost_per_token": 1.5e-06, "output_cost_per_token": 2.5e-06},
        "b": {"litellm_provider": "openai", "input_cost_per_token": 3e-06, "output_cost_per_token": 6e-06},
        "c": {"litellm_provider": "openai"},
        "d": {"litellm_provider": "openai", "max_input_tokens": 200},
        "n1": {"litellm_provider": "groq"}, "n2": {"litellm_provider": "groq"}, "n3": {"litellm_provider": "groq"},
        "n4": {"litellm_provider": "groq"}, "n5": {"litellm_provider": "groq"}, "n6": {"litellm_provider": "groq"}
    }"#;
    let diff = diff_catalogs(old, new).unwrap();
    assert_eq!(
        summary_table(&diff, 2),
        "catalog: 10 models
  change         models
  added               6
  removed             2
  re-priced           3
  other changes       1
added:
  + n1
  + n2
    … and 4 more
removed:
  - gone-1
  - gone-2
re-priced:
  model  field                       old    new
  a      input_cost_per_token   0.000001 → 0.0000015
  a      output_cost_per_token  0.000002 → 0.0000025
  b      output_cost_per_token         - → 0.000006
    … and 1 more
other changes:
  * d: max_input_tokens
"
    );
    let all = summary_table(&diff, 100);
    assert!(all.contains("  c      input_cost_per_token   0.000004 → -\n"), "{all}");
    assert!(!all.contains("more"), "{all}");
}

/// A one-connection HTTP/1.1 server on 127.0.0.1 answering `status` with `body`; returns its URL.
fn serve_once(status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap() == 1 {
            request.push(byte[0]);
        }
        assert!(request.starts_with(b"GET /prices.json HTTP/1.1\r\n"), "{}", String::from_utf8_lossy(&request));
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).unwrap();
        conn.write_all(body.as_bytes()).unwrap();
    });
    format!("http://{addr}/prices.json")
}

#[test]
fn downloads_the_price_file_over_http() {
    let d = TempData::new("download");
    let url = serve_once("200 OK", V1);
    let out = run(&d.paths(), &args(Source::Url(url.clone()))).unwrap();
    assert!(out.starts_with(&format!("source: {url}\n")), "{out}");
    assert!(out.contains("  added               3\n"), "{out}");
    assert_eq!(d.read("upstream/model_prices_and_context_window.json"), V1);
    assert!(d.read("upstream/PROVENANCE").contains(&format!("source: {url}\n")));
    // With the progress bar on (drawn only on a terminal; here it runs and draws nothing): the same bytes.
    assert_eq!(download(&serve_once("200 OK", V2), true).unwrap(), V2.as_bytes());
}

#[test]
fn a_failed_download_names_the_status_and_writes_nothing() {
    let d = TempData::new("download-404");
    let url = serve_once("404 Not Found", "no such file");
    let err = run(&d.paths(), &args(Source::Url(url.clone()))).unwrap_err().to_string();
    assert_eq!(err, format!("downloading {url}: HTTP 404 Not Found"));
    assert_eq!(d.read("catalog.json"), "");
    let err = download("http://127.0.0.1:1/prices.json", false).unwrap_err();
    assert!(format!("{err:#}").starts_with("downloading http://127.0.0.1:1/prices.json"), "{err:#}");
}

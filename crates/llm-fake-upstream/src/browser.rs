//! Headless Chromium for page tests (Debian's `chromium`; `.ci/run` installs it): the DOM after the page's
//! scripts ran, and a screenshot. Without a browser a test fails, unless `LLM_SKIP_BROWSER_TESTS=1` says to
//! skip it (never under `CI=true`).

#![allow(clippy::panic, reason = "test support: a missing or failing browser fails the test that asked for it")]

use std::path::Path;
use std::process::Command;

/// The browser to use, or `None` (the test is skipped) when none is installed and `LLM_SKIP_BROWSER_TESTS=1`
/// is set outside CI.
///
/// # Panics
/// When no browser is installed and skipping was not asked for (or this is CI).
pub fn require() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_some() {
        return found;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !ci && std::env::var("LLM_SKIP_BROWSER_TESTS").as_deref() == Ok("1") {
        println!("skipped: no chromium and LLM_SKIP_BROWSER_TESTS=1");
        return None;
    }
    panic!(
        "this test needs a headless browser: install Debian's `chromium` (apt-get install -y chromium) or set LLM_SKIP_BROWSER_TESTS=1"
    );
}

fn run(browser: &str, profile: &Path, extra: &[String], url: &str) -> std::process::Output {
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend_from_slice(extra);
    args.push(url.to_owned());
    let out = Command::new(browser).args(&args).output();
    out.unwrap_or_else(|e| panic!("{browser} did not start: {e}"))
}

/// The page's DOM once its scripts ran (`--dump-dom`), as HTML.
///
/// # Panics
/// When the browser fails.
pub fn dump_dom(browser: &str, url: &str) -> String {
    let profile = tempdir("dom");
    let out = run(browser, &profile, &["--dump-dom".to_owned()], url);
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "{browser} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Takes a `width` × `height` PNG screenshot of the page into `path`; returns the PNG's size in pixels as
/// its header gives it.
///
/// # Panics
/// When the browser fails or writes no PNG.
pub fn screenshot(browser: &str, url: &str, path: &Path, (width, height): (u32, u32)) -> (u32, u32) {
    let profile = tempdir("shot");
    let extra = [format!("--screenshot={}", path.display()), format!("--window-size={width},{height}")];
    let out = run(browser, &profile, &extra, url);
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "{browser} failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    assert_eq!(png.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]), "not a PNG");
    let be = |at: usize| png.get(at..at + 4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    (be(16), be(20))
}

fn tempdir(what: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("llm-browser-{what}-{}-{n}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

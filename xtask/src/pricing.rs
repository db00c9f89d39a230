//! `cargo xtask update-pricing [--source URL|PATH | --vendored] [--check] [--allow-drift] [--litellm-version V]`
//!
//! Fetches LiteLLM's price file (by default the published one, with reqwest's blocking client and a progress bar
//! on stderr when it is a terminal), validates it and normalizes it
//! with [`llm_cost::catalog::normalize`] (which merges `crates/llm-cost/data/overrides.json`), and writes, only
//! when their content changed:
//!
//! - `crates/llm-cost/data/upstream/model_prices_and_context_window.json`: the upstream file, verbatim;
//! - `crates/llm-cost/data/upstream/PROVENANCE`: its LiteLLM version, sha256 and source;
//! - `crates/llm-cost/data/catalog.json`: the canonical catalog the crate embeds;
//! - `crates/llm-cost/data/catalog.version`: the catalog version.
//!
//! It prints a table of the models added, removed and re-priced (counts, then the first [`SUMMARY_ROWS`] of each,
//! old → new prices for the re-priced ones). `--check` writes nothing and fails when any
//! file would change, naming the command to run. `--vendored` re-normalizes the vendored upstream file (after an
//! edit of `overrides.json`, or in CI: no network).

use std::fmt::Write as _;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use llm_cost::catalog::{CatalogDiff, NormalizeOptions, diff_catalogs, normalize};

/// LiteLLM's published price file.
pub const DEFAULT_SOURCE: &str =
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json";

/// The vendored upstream file's name.
pub const UPSTREAM_FILE: &str = "model_prices_and_context_window.json";

/// Where the price file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An `http(s)://` URL, downloaded.
    Url(String),
    /// A local file (a path, or a `file://` URL).
    Path(PathBuf),
    /// The already vendored upstream file.
    Vendored,
}

/// Parsed `update-pricing` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The price file to read.
    pub source: Source,
    /// Fail instead of writing.
    pub check: bool,
    /// Accept schema drift (unknown price fields stay unpriced and are reported).
    pub allow_drift: bool,
    /// The LiteLLM version of the source, recorded in PROVENANCE and the catalog version.
    pub litellm_version: Option<String>,
}

impl Args {
    /// Parses the arguments after `update-pricing`.
    pub fn parse(args: &[String]) -> Result<Args> {
        let mut out = Args {
            source: Source::Url(DEFAULT_SOURCE.to_owned()),
            check: false,
            allow_drift: false,
            litellm_version: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--check" => out.check = true,
                "--allow-drift" => out.allow_drift = true,
                "--vendored" => out.source = Source::Vendored,
                "--source" => {
                    let v = it.next().context("--source needs a URL or a path")?;
                    out.source = if v.starts_with("http://") || v.starts_with("https://") {
                        Source::Url(v.clone())
                    } else if let Some(path) = v.strip_prefix("file://") {
                        Source::Path(PathBuf::from(path))
                    } else {
                        Source::Path(PathBuf::from(v))
                    };
                }
                "--litellm-version" => {
                    out.litellm_version = Some(it.next().context("--litellm-version needs a version")?.clone());
                }
                other => bail!("update-pricing: unknown argument {other:?}\n\n{USAGE}"),
            }
        }
        Ok(out)
    }
}

/// Usage text.
pub const USAGE: &str = "usage: cargo xtask update-pricing [--source URL|file://PATH|PATH | --vendored] [--check] [--allow-drift] [--litellm-version V]";

/// How many models of each kind (added, removed, re-priced) the summary lists.
pub const SUMMARY_ROWS: usize = 20;

/// The largest price file downloaded (LiteLLM's is about 1.5 MB).
pub const MAX_DOWNLOAD_BYTES: u64 = 64 * 1024 * 1024;

/// The data directory's files.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `crates/llm-cost/data`.
    pub data: PathBuf,
}

impl Paths {
    /// The llm-cost data directory of the workspace at `root`.
    pub fn in_workspace(root: &Path) -> Paths {
        Paths { data: root.join("crates/llm-cost/data") }
    }

    fn upstream(&self) -> PathBuf {
        self.data.join("upstream").join(UPSTREAM_FILE)
    }

    fn provenance(&self) -> PathBuf {
        self.data.join("upstream/PROVENANCE")
    }

    fn catalog(&self) -> PathBuf {
        self.data.join("catalog.json")
    }

    fn version(&self) -> PathBuf {
        self.data.join("catalog.version")
    }

    fn overrides(&self) -> PathBuf {
        self.data.join("overrides.json")
    }
}

/// A `PROVENANCE` file: `key: value` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The LiteLLM version of the vendored file.
    pub litellm_version: String,
    /// Its sha256.
    pub sha256: String,
    /// Where it came from.
    pub source: String,
}

impl Provenance {
    /// Reads the `key: value` lines (comments and unknown keys ignored).
    pub fn parse(text: &str) -> Provenance {
        let mut p = Provenance::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim().to_owned();
            match k.trim() {
                "litellm_version" => p.litellm_version = v,
                "sha256" => p.sha256 = v,
                "source" => p.source = v,
                _ => {}
            }
        }
        p
    }

    /// The file text.
    pub fn render(&self) -> String {
        format!(
            "# The vendored upstream price file. Written by `cargo xtask update-pricing`; do not edit by hand.\n\
             file: {UPSTREAM_FILE}\nlitellm_version: {}\nsha256: {}\nsource: {}\n",
            self.litellm_version, self.sha256, self.source
        )
    }
}

/// One file the update would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Its path.
    pub path: PathBuf,
    /// The new content.
    pub content: Vec<u8>,
    /// Whether it differs from what is on disk.
    pub changed: bool,
}

/// What an update would do: the files and the summary to print.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The files, changed or not.
    pub files: Vec<FileChange>,
    /// The human summary: counts, added/removed/re-priced models, drift and overrides.
    pub summary: String,
}

impl Plan {
    /// True when some file would change.
    pub fn changes_anything(&self) -> bool {
        self.files.iter().any(|f| f.changed)
    }
}

fn read_or_empty(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Computes the update from the upstream bytes, without writing anything.
pub fn plan(paths: &Paths, upstream: &[u8], source_label: &str, args: &Args) -> Result<Plan> {
    let text = std::str::from_utf8(upstream).context("the price file is not UTF-8")?;
    let old_provenance = Provenance::parse(&String::from_utf8_lossy(&read_or_empty(&paths.provenance())?));
    let sha = sha256_hex(upstream);
    let version = match &args.litellm_version {
        Some(v) => v.clone(),
        None if sha == old_provenance.sha256 && !old_provenance.litellm_version.is_empty() => {
            old_provenance.litellm_version.clone()
        }
        None => "unreleased".to_owned(),
    };
    let overrides_bytes = read_or_empty(&paths.overrides())?;
    let overrides = if overrides_bytes.is_empty() { "{}".to_owned() } else { String::from_utf8(overrides_bytes)? };
    let options = NormalizeOptions::new(version.clone()).with_allow_drift(args.allow_drift);
    let normalized = normalize(text, &overrides, &options).map_err(|e| anyhow::anyhow!("{e}"))?;
    let provenance = Provenance {
        litellm_version: version,
        sha256: sha,
        source: match &args.source {
            Source::Url(u) => u.clone(),
            _ if !old_provenance.source.is_empty() => old_provenance.source.clone(),
            _ => source_label.to_owned(),
        },
    };
    let old_catalog = String::from_utf8_lossy(&read_or_empty(&paths.catalog())?).into_owned();
    let diff = diff_catalogs(&old_catalog, &normalized.catalog).map_err(|e| anyhow::anyhow!("{e}"))?;

    let mut files = Vec::new();
    for (path, content) in [
        (paths.upstream(), upstream.to_vec()),
        (paths.provenance(), provenance.render().into_bytes()),
        (paths.catalog(), normalized.catalog.clone().into_bytes()),
        (paths.version(), format!("{}\n", normalized.version).into_bytes()),
    ] {
        let changed = read_or_empty(&path)? != content;
        files.push(FileChange { path, content, changed });
    }

    let mut summary = String::new();
    let _ = writeln!(summary, "source: {source_label}");
    let _ = writeln!(
        summary,
        "upstream: litellm {} (sha256 {}), {} models, {} aliases, {} fallback rules",
        provenance.litellm_version, provenance.sha256, normalized.models, normalized.aliases, normalized.rules
    );
    let _ = writeln!(summary, "catalog version: {}", normalized.version);
    for o in &normalized.overridden {
        let _ = writeln!(summary, "override: {o}");
    }
    for d in &normalized.drift {
        let _ = writeln!(summary, "drift (accepted, unpriced): {d}");
    }
    summary.push_str(&summary_table(&diff, SUMMARY_ROWS));
    Ok(Plan { files, summary })
}

/// The catalog change as a table: a count per kind, then the first `rows` models of each kind, with every
/// re-priced field's old → new price (`-` when absent).
pub fn summary_table(diff: &CatalogDiff, rows: usize) -> String {
    // (model, field, old, new) rows, grouped by model (the diff lists them in model order).
    type Price = (String, String, String, String);
    let mut repriced: Vec<(&str, Vec<&Price>)> = Vec::new();
    for r in &diff.repriced {
        match repriced.last_mut() {
            Some((model, fields)) if *model == r.0 => fields.push(r),
            _ => repriced.push((&r.0, vec![r])),
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "catalog: {} models", diff.models);
    let _ = writeln!(out, "  {:<14} {:>6}", "change", "models");
    for (name, n) in [
        ("added", diff.added.len()),
        ("removed", diff.removed.len()),
        ("re-priced", repriced.len()),
        ("other changes", diff.other_changes.len()),
    ] {
        let _ = writeln!(out, "  {name:<14} {n:>6}");
    }
    let more = |out: &mut String, total: usize| {
        if total > rows {
            let _ = writeln!(out, "    … and {} more", total - rows);
        }
    };
    for (sign, name, models) in [("+", "added", &diff.added), ("-", "removed", &diff.removed)] {
        if models.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{name}:");
        for m in models.iter().take(rows) {
            let _ = writeln!(out, "  {sign} {m}");
        }
        more(&mut out, models.len());
    }
    if !repriced.is_empty() {
        let shown: Vec<_> = repriced.iter().take(rows).flat_map(|(_, f)| f.iter()).collect();
        let width = |pick: fn(&Price) -> &str, head: &str| {
            shown.iter().map(|r| pick(r).chars().count()).chain([head.chars().count()]).max().unwrap_or(0)
        };
        let (wm, wf, wo) = (width(|r| &r.0, "model"), width(|r| &r.1, "field"), width(|r| &r.2, "old"));
        let _ = writeln!(out, "re-priced:");
        let _ = writeln!(out, "  {:<wm$}  {:<wf$}  {:>wo$}    new", "model", "field", "old");
        for (model, field, old, new) in shown {
            let _ = writeln!(out, "  {model:<wm$}  {field:<wf$}  {old:>wo$} → {new}");
        }
        more(&mut out, repriced.len());
    }
    if !diff.other_changes.is_empty() {
        let _ = writeln!(out, "other changes:");
        for c in diff.other_changes.iter().take(rows) {
            let _ = writeln!(out, "  * {c}");
        }
        more(&mut out, diff.other_changes.len());
    }
    out
}

/// The lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    llm_cost::catalog::sha256_hex(bytes)
}

/// Reads the source's bytes (and a label for the summary).
pub fn fetch(source: &Source, paths: &Paths) -> Result<(Vec<u8>, String)> {
    match source {
        Source::Vendored => {
            let p = paths.upstream();
            Ok((
                std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?,
                "vendored upstream file".into(),
            ))
        }
        Source::Path(p) => {
            Ok((std::fs::read(p).with_context(|| format!("reading {}", p.display()))?, p.display().to_string()))
        }
        Source::Url(url) => Ok((download(url, std::io::stderr().is_terminal())?, url.clone())),
    }
}

/// Downloads `url` (following redirects, 120 s timeout, at most [`MAX_DOWNLOAD_BYTES`]), with a progress bar on
/// stderr when `progress` is set.
pub fn download(url: &str, progress: bool) -> Result<Vec<u8>> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("llm-rs-xtask/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let mut response = client.get(url).send().with_context(|| format!("downloading {url}"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("downloading {url}: HTTP {status}");
    }
    let length = response.content_length();
    if length.is_some_and(|n| n > MAX_DOWNLOAD_BYTES) {
        bail!("downloading {url}: {} bytes is more than the limit of {MAX_DOWNLOAD_BYTES}", length.unwrap_or(0));
    }
    let bar = if progress {
        let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
        let template = match length {
            Some(_) => "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            None => "{msg} {spinner} {bytes} {bytes_per_sec}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("price file");
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut body = Vec::with_capacity(usize::try_from(length.unwrap_or(0)).unwrap_or(0));
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = response.read(&mut chunk).with_context(|| format!("reading the body of {url}"))?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(chunk.get(..n).unwrap_or_default());
        bar.inc(n as u64);
        if body.len() as u64 > MAX_DOWNLOAD_BYTES {
            bar.abandon();
            bail!("downloading {url}: the body is larger than the limit of {MAX_DOWNLOAD_BYTES} bytes");
        }
    }
    bar.finish_and_clear();
    if let Some(n) = length.filter(|&n| n != body.len() as u64) {
        bail!("downloading {url}: got {} of {n} bytes", body.len());
    }
    Ok(body)
}

/// The command that regenerates the catalog for these arguments (without `--check`).
pub fn fix_command(args: &Args) -> String {
    let mut cmd = String::from("cargo xtask update-pricing");
    match &args.source {
        Source::Vendored => cmd.push_str(" --vendored"),
        Source::Path(p) => {
            let _ = write!(cmd, " --source {}", p.display());
        }
        Source::Url(u) if u != DEFAULT_SOURCE => {
            let _ = write!(cmd, " --source {u}");
        }
        Source::Url(_) => {}
    }
    if args.allow_drift {
        cmd.push_str(" --allow-drift");
    }
    if let Some(v) = &args.litellm_version {
        let _ = write!(cmd, " --litellm-version {v}");
    }
    cmd
}

/// Runs `update-pricing`: plan, then check or write. Returns the text to print.
pub fn run(paths: &Paths, args: &Args) -> Result<String> {
    let (bytes, label) = fetch(&args.source, paths)?;
    let plan = plan(paths, &bytes, &label, args)?;
    let mut out = plan.summary.clone();
    let stale: Vec<&FileChange> = plan.files.iter().filter(|f| f.changed).collect();
    if args.check {
        if stale.is_empty() {
            out.push_str("update-pricing --check: the catalog is up to date\n");
            return Ok(out);
        }
        let names: Vec<String> = stale.iter().map(|f| f.path.display().to_string()).collect();
        bail!(
            "{out}update-pricing --check: {} file(s) are stale: {}\nrun `{}` and commit the result",
            stale.len(),
            names.join(", "),
            fix_command(args)
        );
    }
    if stale.is_empty() {
        out.push_str("nothing changed\n");
        return Ok(out);
    }
    for f in stale {
        if let Some(dir) = f.path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&f.path, &f.content).with_context(|| format!("writing {}", f.path.display()))?;
        let _ = writeln!(out, "wrote {}", f.path.display());
    }
    Ok(out)
}

//! `llm demo`: the main job, an offline tour of the whole product on the mock provider: a priced chat, a
//! stream, a structured output repaired once, calls tracked in a SQLite file, a budget refusal and a spend
//! report.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use llm::Client;
use llm::core::mock::{MockProvider, MockReply};
use llm::core::{ChatRequest, Cost, Message, StreamAssembler, StreamEvent, Usage};
use llm::tracking::{Budget, CatalogPricer, GroupBy, Period, ReportQuery, Scope, Tracker};

/// Options of `llm demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the demo's spend database goes (default: `$LLM_DATA_DIR`, else `$XDG_DATA_HOME/llm-rs`, else
    /// `~/.local/share/llm-rs`). The demo starts its database afresh on every run.
    #[arg(long, env = "LLM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The default data directory: `$XDG_DATA_HOME/llm-rs`, else `~/.local/share/llm-rs`, else `./.llm-rs`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("llm-rs");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".local/share/llm-rs");
    }
    PathBuf::from(".llm-rs")
}

fn usage_line(u: Option<&Usage>) -> String {
    match u {
        Some(u) => {
            let mut s = format!("{} prompt + {} completion tokens", u.prompt_tokens, u.completion_tokens);
            if let Some(c) = u.cache_read_tokens.filter(|c| *c > 0) {
                s.push_str(&format!(" ({c} from cache)"));
            }
            s
        }
        None => "not reported".to_owned(),
    }
}

/// A cost as the demo prints it: the amount, the status and the catalog key that priced it.
pub fn cost_line(c: Option<&Cost>) -> String {
    match c {
        Some(c) => match c.total() {
            Some(t) => format!(
                "${} ({}, {}: prompt ${} + completion ${})",
                t,
                c.status,
                c.catalog_key.as_deref().unwrap_or("?"),
                c.prompt_cost(),
                c.completion_cost()
            ),
            None => format!("unknown ({})", c.status),
        },
        None => "not priced".to_owned(),
    }
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code, reason = "printed through Debug")]
struct City {
    /// The city's name.
    name: String,
    /// Inhabitants, at least 1.
    #[schemars(range(min = 1))]
    population: u64,
    /// Its best-known landmarks.
    landmarks: Vec<String>,
}

/// Runs the tour, writing progress and results to `out`.
pub async fn run(args: &DemoArgs, out: &mut impl Write) -> Result<ExitCode> {
    let started = Instant::now();
    let dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = dir.join("demo.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let url = format!("sqlite:{}", db.display());
    let store = llm::tracking::open(&url).await.with_context(|| format!("opening {url}"))?;
    let mut tracker = Tracker::builder().store(store.clone()).pricer(CatalogPricer::new());
    // With OTEL_EXPORTER_OTLP_* set, the tour's calls are exported as spans too (sent before it ends).
    if let Some(exporter) = crate::otel::exporter()? {
        tracker = tracker.hook(exporter.clone()).log_content(exporter.config().capture_content);
    }
    let tracker = tracker.build()?;

    let catalog = llm::cost::Catalog::embedded();
    writeln!(out, "llm demo: an offline tour on the mock provider (no keys, no network)")?;
    writeln!(out, "  catalog: {} ({} models)", catalog.version(), catalog.len())?;
    writeln!(out, "  spend store: {url}")?;
    writeln!(out)?;

    // The mock answers in order; its usage is counted from the text (or given, to show cache pricing).
    let mock = MockProvider::new()
        .with_reply(MockReply::TextWithUsage(
            "Paris is the capital of France.".into(),
            Usage::new(1_250, 9).with_cache_read(1_024),
        ))
        .with_reply(MockReply::text(
            "Rust gives you speed and safety: no garbage collector, no data races, and a compiler that catches mistakes early.",
        ))
        .with_reply(MockReply::text(r#"{"name": "Lisbon", "population": 0, "landmarks": ["Belém Tower"]}"#))
        .with_reply(MockReply::text(r#"{"name": "Lisbon", "population": 545923, "landmarks": ["Belém Tower"]}"#));
    let client = Client::builder().mock(mock).tracker(tracker).user("demo-user").tag("demo").build()?;

    writeln!(out, "[1/5] chat on gpt-4o-mini")?;
    let question = "What is the capital of France?";
    let resp = client.chat(ChatRequest::new("gpt-4o-mini", vec![Message::user(question)])).await?;
    writeln!(out, "  > {question}")?;
    writeln!(out, "  < {}", resp.text())?;
    writeln!(out, "  usage: {}", usage_line(resp.usage.as_ref()))?;
    writeln!(out, "  cost:  {}", cost_line(resp.cost.as_ref()))?;
    writeln!(out)?;

    writeln!(out, "[2/5] streamed chat on claude-sonnet-4-5")?;
    let question = "Why Rust, in one sentence?";
    let req = ChatRequest::new("claude-sonnet-4-5", vec![Message::user(question)]);
    writeln!(out, "  > {question}")?;
    write!(out, "  < ")?;
    let mut stream = client.stream(req.clone()).await?;
    let mut assembler = StreamAssembler::new();
    let mut chunks = 0u32;
    while let Some(event) = stream.next().await {
        let event = event?;
        if let StreamEvent::TextDelta { text, .. } = &event {
            write!(out, "{text}")?;
            out.flush()?;
            chunks += 1;
        }
        assembler.push(event);
    }
    let mut streamed = assembler.finish();
    streamed.provider = Some("mock".into());
    streamed.cost = Some(client.price(&req, &streamed));
    writeln!(out)?;
    writeln!(out, "  {chunks} chunks; usage: {}", usage_line(streamed.usage.as_ref()))?;
    writeln!(out, "  cost:  {}", cost_line(streamed.cost.as_ref()))?;
    writeln!(out)?;

    writeln!(out, "[3/5] structured output: a City from gpt-4o-mini")?;
    let req = ChatRequest::new("gpt-4o-mini", vec![Message::user("Describe Lisbon.")]);
    let city = client.structured::<City>(req).await?;
    for (i, a) in city.attempts.iter().enumerate() {
        match &a.problem {
            Some(p) => writeln!(out, "  attempt {}: rejected, {p}", i + 1)?,
            None => writeln!(out, "  attempt {}: valid", i + 1)?,
        }
    }
    writeln!(out, "  strategy: {}; value: {:?}", city.strategy.as_str(), city.value)?;
    writeln!(out, "  usage over {} attempts: {}", city.attempts.len(), usage_line(Some(&city.usage)))?;
    writeln!(out, "  cost over {} attempts: {}", city.attempts.len(), cost_line(city.cost.as_ref()))?;
    writeln!(out)?;

    writeln!(out, "[4/5] a budget: demo-user may spend at most $0.001 a day")?;
    client.flush().await?;
    let limit = "0.001".parse()?;
    let tracker = client.tracker().context("the demo client tracks")?;
    tracker.set_budget(&Budget::new(Scope::User("demo-user".into()), Period::Daily).with_max(limit)).await?;
    let big =
        ChatRequest::new("gpt-4o", vec![Message::user("Summarize this book: ".repeat(200))]).with_max_tokens(4_000);
    match client.chat(big).await {
        Ok(r) => writeln!(out, "  unexpected: the call went through ({})", cost_line(r.cost.as_ref()))?,
        Err(e) => writeln!(out, "  refused before sending: {e}")?,
    }
    writeln!(out)?;

    writeln!(out, "[5/5] spend report by model, from {}", db.display())?;
    let written = client.flush().await?;
    let report = store.report(&ReportQuery::new(GroupBy::Model)).await?;
    for line in report.to_table().lines() {
        writeln!(out, "  {line}")?;
    }
    writeln!(out, "  ({written} records written; `llm spend report --db {url} --by user` for more)")?;
    crate::otel::finish(&client).await;
    writeln!(out)?;
    writeln!(out, "done in {} ms", started.elapsed().as_millis())?;
    Ok(ExitCode::SUCCESS)
}

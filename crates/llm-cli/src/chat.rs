//! `llm chat`: one completion on any provider, priced, optionally streamed, structured and tracked.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use llm::Client;
use llm::core::{Adjustment, ChatRequest, ChatResponse, Cost, Message, StreamAssembler, StreamEvent, Usage, openai};
use llm::cost::Catalog;
use llm::schema::{SchemaSpec, Strategy};
use llm::tracking::{CatalogPricer, Tracker};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::output::{error_json, print_json};

/// Options of `llm chat`.
/// Where a call is recorded and whom it is charged to (`llm chat`, `llm embed`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrackArgs {
    /// Record the call in this spend store (`sqlite:PATH` or `postgres://...`).
    #[arg(long, env = "LLM_DB")]
    pub db: Option<String>,
    /// Charge the call to this user.
    #[arg(long)]
    pub user: Option<String>,
    /// Charge the call to this team.
    #[arg(long)]
    pub team: Option<String>,
    /// Tag the call (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// The model, with or without a `provider/` prefix; with `--config`, a model group of the config.
    #[arg(short = 'm', long)]
    pub model: String,
    /// Route through this router config (LiteLLM's proxy `config.yaml`): `-m` names a model group, served by
    /// one of its deployments with the config's strategy, retries, fallbacks, limits and cache.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Send the call to this base URL instead of the provider's (scheme, host, port and path prefix).
    #[arg(long)]
    pub api_base: Option<String>,
    /// A JSON schema file: the reply must follow it (validated, repaired up to 3 attempts).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Stream the reply as it comes.
    #[arg(long)]
    pub stream: bool,
    /// Print one JSON object (OpenAI's chat.completion shape, plus provider and cost).
    #[arg(long)]
    pub json: bool,
    /// A system message.
    #[arg(long)]
    pub system: Option<String>,
    /// The most output tokens.
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[arg(long)]
    pub temperature: Option<f64>,
    #[command(flatten)]
    pub track: TrackArgs,
    /// Any OpenAI-style parameter as NAME=JSON (repeatable), e.g. `--param seed=7 --param 'stop=["\n"]'`. A
    /// value that is not JSON is taken as a string.
    #[arg(long = "param", value_name = "NAME=JSON")]
    pub params: Vec<String>,
    /// Drop the parameters the provider does not take (each listed in `adjustments`) instead of refusing the
    /// call.
    #[arg(long)]
    pub drop_params: bool,
    /// Count the prompt's tokens first and refuse, sending nothing, a prompt over the model's input window.
    #[arg(long)]
    pub preflight: bool,
    #[command(flatten)]
    pub catalog: crate::cost::CatalogArg,
    /// The prompt.
    pub prompt: String,
}

/// The `cost` object of the machine-readable output: exact decimals as JSON numbers.
pub fn cost_object(cost: &Cost) -> Box<RawValue> {
    RawValue::from_string(llm::cost::cost_answer(cost))
        .unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap_or_default())
}

/// OpenAI's `usage` shape, normalized, with the detail fields the CLI promises always present.
pub fn usage_object(u: &Usage) -> Value {
    let mut v = openai::usage_to_json(u);
    v["prompt_tokens_details"]["cached_tokens"] = u.cache_read_tokens.unwrap_or(0).into();
    v["prompt_tokens_details"]["cache_write_tokens"] = u.cache_write_tokens.unwrap_or(0).into();
    v["completion_tokens_details"]["reasoning_tokens"] = u.reasoning_tokens.unwrap_or(0).into();
    v
}

#[derive(Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    completion: Value,
    provider: String,
    cost: Box<RawValue>,
    /// HTTP attempts beyond the first (summed over a structured call's attempts).
    retries: usize,
    /// Every change made to the request before it was sent; `[]` when none.
    adjustments: &'a [Adjustment],
    #[serde(skip_serializing_if = "Option::is_none")]
    structured: Option<Value>,
    /// With `--config`: the deployment that served the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    deployment: Option<&'a str>,
    /// With `--config`: the fallback groups tried, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    fallbacks: Option<&'a [String]>,
    /// With `--config`: whether the response came from the cache (then no request was sent and it cost 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_hit: Option<bool>,
    /// With `--config`: every attempt, the group asked for and the group that served.
    #[serde(skip_serializing_if = "Option::is_none")]
    routing: Option<&'a llm::core::Routing>,
}

fn output<'a>(
    response: &'a ChatResponse,
    usage: Option<&Usage>,
    cost: Option<&Cost>,
    retries: usize,
    structured: Option<Value>,
) -> Output<'a> {
    let mut completion = openai::response_to_json(response);
    if let Some(u) = usage {
        completion["usage"] = usage_object(u);
    }
    Output {
        completion,
        provider: response.provider.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
        cost: cost.map(cost_object).unwrap_or_else(|| cost_object(&Cost::unknown(llm::core::CostStatus::UnknownModel))),
        retries,
        adjustments: &response.adjustments,
        structured,
        deployment: response.routing.as_ref().map(|r| r.deployment.as_str()),
        fallbacks: response.routing.as_ref().map(|r| r.fallbacks.as_slice()),
        cache_hit: response.routing.as_ref().map(|r| r.cache_hit),
        routing: response.routing.as_ref(),
    }
}

/// Applies `--param NAME=JSON` settings: each goes into the request's OpenAI body, which is read back, so a
/// known parameter lands in its typed field (and is checked against the provider like one) and any other goes
/// to `extra` and is sent as given.
fn apply_params(request: ChatRequest, params: &[String]) -> Result<ChatRequest> {
    if params.is_empty() {
        return Ok(request);
    }
    let mut body = openai::request_to_json(&request);
    for p in params {
        let (name, value) =
            p.split_once('=').with_context(|| format!("--param {p:?}: expected NAME=JSON, e.g. seed=7"))?;
        let name = name.trim();
        anyhow::ensure!(!name.is_empty(), "--param {p:?}: the name is empty");
        anyhow::ensure!(
            !matches!(name, "model" | "messages" | "stream"),
            "--param {name}: set it with the command's own option, not --param"
        );
        let value = serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        body[name] = value;
    }
    let mut out = openai::request_from_value(&body).context("--param")?;
    out.metadata = request.metadata;
    out.tags = request.tags;
    Ok(out)
}

async fn client(args: &ChatArgs) -> Result<Client> {
    let setup = Setup {
        model: &args.model,
        api_base: args.api_base.as_deref(),
        catalog: &args.catalog,
        track: &args.track,
        config: args.config.as_deref(),
    };
    client_with(&setup, Client::builder().drop_params(args.drop_params).preflight(args.preflight)).await
}

/// What a command that makes calls (`chat`, `embed`) sets up its client from.
pub(crate) struct Setup<'a> {
    pub model: &'a str,
    pub api_base: Option<&'a str>,
    pub catalog: &'a crate::cost::CatalogArg,
    pub track: &'a TrackArgs,
    /// A router config (`llm chat --config`).
    pub config: Option<&'a std::path::Path>,
}

/// The client of a command: `--api-base` for the model's provider, `--catalog`, the `--db` tracker and the
/// attribution options.
pub(crate) async fn client_with(args: &Setup<'_>, builder: llm::ClientBuilder) -> Result<Client> {
    let mut b = builder;
    let catalog = args.catalog.load_owned()?;
    if let Some(base) = args.api_base {
        let r = llm::providers::resolve(args.model, Some(base), catalog.as_ref().unwrap_or(Catalog::embedded()))?;
        b = b.api_base(r.provider.as_str(), base.to_owned());
    }
    if let Some(c) = catalog {
        // the client's catalog prices the reply and the tracked record alike
        b = b.catalog(c);
    }
    if let Some(path) = args.config {
        let config = llm::router::RouterConfig::from_file(path)?;
        for w in &config.warnings {
            eprintln!("llm: {}: {w}", path.display());
        }
        b = b.router(config);
    }
    // With OTEL_EXPORTER_OTLP_* set, calls are tracked (in memory without --db) so each becomes a span.
    let otel = crate::otel::exporter()?;
    if args.track.db.is_some() || otel.is_some() {
        let store = match &args.track.db {
            Some(db) => llm::tracking::open(db)
                .await
                .with_context(|| format!("opening {}", llm::tracking::store::redact_url(db)))?,
            None => std::sync::Arc::new(llm::tracking::MemoryStore::new()),
        };
        // A store that cannot write fails the command within seconds (its records lost, said on stderr) instead
        // of holding the result back while the writer retries.
        let mut tracker = Tracker::builder()
            .store(store)
            .pricer(CatalogPricer::new())
            .write_retries(4, std::time::Duration::from_secs(3));
        if let Some(exporter) = otel {
            // content reaches the span only when the user opted in (and then the store keeps it too)
            tracker = tracker.hook(exporter.clone()).log_content(exporter.config().capture_content);
        }
        b = b.tracker(tracker.build()?);
    }
    if let Some(u) = &args.track.user {
        b = b.user(u.clone());
    }
    if let Some(t) = &args.track.team {
        b = b.team(t.clone());
    }
    for t in &args.track.tags {
        b = b.tag(t.clone());
    }
    Ok(b.build()?)
}

/// Runs `llm chat`. With `--db`, the call is recorded whatever happens to it: the store is flushed on every
/// exit path, failures included. A call that succeeded has its result printed before the flush; when its
/// record cannot be written the command still fails (exit 1), with the store's error on stderr.
pub async fn chat_cmd(args: &ChatArgs, out: &mut impl Write) -> Result<ExitCode> {
    let result = match client(args).await {
        Ok(client) => {
            let result = run(&client, args, out).await;
            flushed(&client, result, out).await
        }
        Err(e) => Err(e),
    };
    report(result, args.json, out)
}

/// A command's result once the client's records are flushed to the store: a call that succeeded but could not
/// be recorded fails the command (its result is out already, the store's error goes to stderr).
pub(crate) async fn flushed(client: &Client, result: Result<ExitCode>, out: &mut impl Write) -> Result<ExitCode> {
    out.flush()?;
    let flushed = client.flush().await;
    crate::otel::finish(client).await;
    match (result, flushed) {
        (Ok(code), Ok(_)) => Ok(code),
        (Err(e), flushed) => {
            if let Err(f) = flushed {
                eprintln!("llm: the spend store could not be written: {f}");
            }
            Err(e)
        }
        (Ok(_), Err(f)) => {
            // The result is out already: no second JSON object on stdout.
            eprintln!("llm: the call succeeded (result above), but its record was not stored: {f}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Prints a failed command's error (the `--json` error object, or a line on stderr) and exits non-zero.
pub(crate) fn report(result: Result<ExitCode>, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            if json {
                print_json(out, &failure_json(&e))?;
            } else {
                eprintln!("llm: {}", failure_message(&e));
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn failure_message(e: &anyhow::Error) -> String {
    match (e.downcast_ref::<llm::core::Error>(), e.downcast_ref::<llm::schema::Error>()) {
        (Some(le), _) => le.to_string(),
        (None, Some(se)) => se.to_string(),
        (None, None) => format!("{e:#}"),
    }
}

/// The `--json` error object: `{"error": {"kind", "message", ...}}`. A provider error adds `retries` (the HTTP
/// attempts retried before it); a structured call that gave up adds `attempts` and the attempts' summed
/// `usage` and `cost` (they were billed), both inside `error` and at the top level where a successful call
/// has them.
fn failure_json(e: &anyhow::Error) -> Value {
    if let Some(le) = e.downcast_ref::<llm::core::Error>() {
        let mut v = error_json(le.kind().as_str(), &le.to_string());
        v["error"]["retries"] = le.retries().len().into();
        let exceeded =
            std::error::Error::source(le).and_then(|s| s.downcast_ref::<llm::tokens::ContextWindowExceeded>());
        if let Some(x) = exceeded {
            v["error"]["tokens"] = x.tokens.into();
            v["error"]["window"] = x.window.into();
        }
        return v;
    }
    let Some(se) = e.downcast_ref::<llm::schema::Error>() else {
        return error_json("invalid_input", &format!("{e:#}"));
    };
    let kind = match (se.kind(), se.provider_error()) {
        (_, Some(pe)) => pe.kind().as_str().to_owned(),
        (llm::schema::ErrorKind::InvalidSchema, None) => "invalid_schema".to_owned(),
        (llm::schema::ErrorKind::Exhausted, None) => "exhausted".to_owned(),
        (other, None) => format!("{other:?}").to_lowercase(),
    };
    let mut v = error_json(&kind, &se.to_string());
    if let Some(pe) = se.provider_error() {
        v["error"]["retries"] = pe.retries().len().into();
    }
    if se.kind() == &llm::schema::ErrorKind::Exhausted || se.usage().is_some() {
        v["error"]["attempts"] = se.attempts().len().into();
    }
    if let Some(u) = se.usage() {
        v["error"]["usage"] = usage_object(u);
        v["usage"] = usage_object(u);
    }
    if let Some(c) = se.cost() {
        let cost: Value = serde_json::from_str(cost_object(c).get()).unwrap_or(Value::Null);
        v["error"]["cost"] = cost.clone();
        v["cost"] = cost;
    }
    v
}

async fn run(client: &Client, args: &ChatArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut messages = Vec::new();
    if let Some(s) = &args.system {
        messages.push(Message::system(s.clone()));
    }
    messages.push(Message::user(args.prompt.clone()));
    let mut request = ChatRequest::new(args.model.as_str(), messages);
    request.max_tokens = args.max_tokens;
    request.temperature = args.temperature;
    let request = apply_params(request, &args.params)?;

    if let Some(path) = &args.schema {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let schema: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("response");
        let spec = SchemaSpec::new(name, schema)?;
        let done = client.structured_value(request, &spec, Strategy::Auto).await?;
        if args.json {
            let structured = json!({
                "strategy": done.strategy.as_str(),
                "attempts": done.attempts.len(),
                "trace_id": done.trace_id,
                "value": done.json,
            });
            let retries = done.attempts.iter().map(|a| a.retries as usize).sum();
            let o = output(&done.response, Some(&done.usage), done.cost.as_ref(), retries, Some(structured));
            serde_json::to_writer(&mut *out, &o)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", serde_json::to_string_pretty(&done.json)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    let response = if args.stream {
        let mut stream = client.stream(request.clone()).await?;
        let mut assembler = StreamAssembler::new();
        while let Some(event) = stream.next().await {
            let event = event?;
            if !args.json
                && let StreamEvent::TextDelta { text, .. } = &event
            {
                write!(out, "{text}")?;
                out.flush()?;
            }
            assembler.push(event);
        }
        let r = client.finish_streamed(&request, assembler.finish())?;
        drop(stream);
        if !args.json {
            writeln!(out)?;
        }
        r
    } else {
        let r = client.chat(request).await?;
        if !args.json {
            writeln!(out, "{}", r.text())?;
        }
        r
    };
    if args.json {
        let o = output(&response, response.usage.as_ref(), response.cost.as_ref(), response.retries.len(), None);
        serde_json::to_writer(&mut *out, &o)?;
        writeln!(out)?;
    } else {
        let cost =
            response.cost.as_ref().and_then(Cost::total).map_or_else(|| "unknown".to_owned(), |t| format!("${t}"));
        let u = response.usage.unwrap_or_default();
        eprintln!(
            "[{} {}: {} + {} tokens, {cost}]",
            response.provider.as_ref().map_or("?", |p| p.as_str()),
            response.model,
            u.prompt_tokens,
            u.completion_tokens
        );
    }
    Ok(ExitCode::SUCCESS)
}

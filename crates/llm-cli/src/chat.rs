//! `llm chat`: one completion on any provider, priced, optionally streamed, structured and tracked.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use llm::Client;
use llm::core::{ChatRequest, ChatResponse, Cost, Message, StreamAssembler, StreamEvent, Usage, openai};
use llm::cost::Catalog;
use llm::schema::{SchemaSpec, Strategy};
use llm::tracking::{CatalogPricer, Tracker};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::output::{error_json, print_json};

/// Options of `llm chat`.
#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// The model, with or without a `provider/` prefix.
    #[arg(short = 'm', long)]
    pub model: String,
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
struct Output {
    #[serde(flatten)]
    completion: Value,
    provider: String,
    cost: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    structured: Option<Value>,
}

fn output(response: &ChatResponse, usage: Option<&Usage>, cost: Option<&Cost>, structured: Option<Value>) -> Output {
    let mut completion = openai::response_to_json(response);
    if let Some(u) = usage {
        completion["usage"] = usage_object(u);
    }
    Output {
        completion,
        provider: response.provider.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
        cost: cost.map(cost_object).unwrap_or_else(|| cost_object(&Cost::unknown(llm::core::CostStatus::UnknownModel))),
        structured,
    }
}

async fn client(args: &ChatArgs) -> Result<Client> {
    let mut b = Client::builder();
    if let Some(base) = &args.api_base {
        let r = llm::providers::resolve(&args.model, Some(base), Catalog::embedded())?;
        b = b.api_base(r.provider.as_str(), base.clone());
    }
    if let Some(db) = &args.db {
        let store = llm::tracking::open(db)
            .await
            .with_context(|| format!("opening {}", llm::tracking::store::redact_url(db)))?;
        b = b.tracker(Tracker::builder().store(store).pricer(CatalogPricer::new()).build()?);
    }
    if let Some(u) = &args.user {
        b = b.user(u.clone());
    }
    if let Some(t) = &args.team {
        b = b.team(t.clone());
    }
    for t in &args.tags {
        b = b.tag(t.clone());
    }
    Ok(b.build()?)
}

/// Runs `llm chat`.
pub async fn chat_cmd(args: &ChatArgs, out: &mut impl Write) -> Result<ExitCode> {
    match run(args, out).await {
        Ok(code) => Ok(code),
        Err(e) => {
            let (kind, message) = match e.downcast_ref::<llm::core::Error>() {
                Some(le) => (le.kind().as_str().to_owned(), le.to_string()),
                None => match e.downcast_ref::<llm::schema::Error>() {
                    Some(se) => (format!("{:?}", se.kind()).to_lowercase(), se.to_string()),
                    None => ("invalid_input".to_owned(), format!("{e:#}")),
                },
            };
            if args.json {
                print_json(out, &error_json(&kind, &message))?;
            } else {
                eprintln!("llm: {message}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn run(args: &ChatArgs, out: &mut impl Write) -> Result<ExitCode> {
    let client = client(args).await?;
    let mut messages = Vec::new();
    if let Some(s) = &args.system {
        messages.push(Message::system(s.clone()));
    }
    messages.push(Message::user(args.prompt.clone()));
    let mut request = ChatRequest::new(args.model.as_str(), messages);
    request.max_tokens = args.max_tokens;
    request.temperature = args.temperature;

    if let Some(path) = &args.schema {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let schema: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("response");
        let spec = SchemaSpec::new(name, schema)?;
        let result = client.structured_value(request, &spec, Strategy::Auto).await;
        client.flush().await?;
        let done = result?;
        if args.json {
            let structured = json!({
                "strategy": done.strategy.as_str(),
                "attempts": done.attempts.len(),
                "value": done.json,
            });
            let o = output(&done.response, Some(&done.usage), done.cost.as_ref(), Some(structured));
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
        let mut r = assembler.finish();
        let route = client.route(&args.model)?;
        if r.model.is_empty() {
            r.model = route.model;
        }
        r.provider = Some(route.provider);
        r.cost = Some(client.price(&request, &r));
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
    client.flush().await?;
    if args.json {
        let o = output(&response, response.usage.as_ref(), response.cost.as_ref(), None);
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

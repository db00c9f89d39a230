//! `llm embed`: embeddings of one or many texts on any provider that serves them, priced and optionally
//! tracked, printed in OpenAI's embedding-list shape.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use llm::Client;
use llm::core::{Adjustment, Cost, CostStatus, EmbeddingRequest, EmbeddingResponse, EncodingFormat};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::chat::{Setup, TrackArgs, client_with, cost_object, flushed, report};

/// Options of `llm embed`.
#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// The embedding model, with or without a `provider/` prefix.
    #[arg(short = 'm', long)]
    pub model: String,
    /// Send the call to this base URL instead of the provider's (scheme, host, port and path prefix).
    #[arg(long)]
    pub api_base: Option<String>,
    /// Print one JSON object (OpenAI's embedding list, plus provider and cost).
    #[arg(long)]
    pub json: bool,
    /// The number of dimensions of each vector, where the model can shorten them.
    #[arg(long)]
    pub dimensions: Option<u32>,
    /// Ask for the vectors as base64 on the wire (OpenAI and the compatible family); they are printed as
    /// numbers either way.
    #[arg(long)]
    pub base64: bool,
    #[command(flatten)]
    pub track: TrackArgs,
    #[command(flatten)]
    pub catalog: crate::cost::CatalogArg,
    /// The texts to embed, one vector each.
    #[arg(required = true)]
    pub texts: Vec<String>,
}

/// Runs `llm embed`; like `llm chat`, the store is flushed on every exit path and errors are
/// `{"error": {"kind", "message"}}` with a non-zero exit under `--json`.
pub async fn embed_cmd(args: &EmbedArgs, out: &mut impl Write) -> Result<ExitCode> {
    let setup = Setup {
        model: &args.model,
        api_base: args.api_base.as_deref(),
        catalog: &args.catalog,
        track: &args.track,
        config: None,
    };
    let result = match client_with(&setup, Client::builder()).await {
        Ok(client) => {
            let result = run(&client, args, out).await;
            flushed(&client, result, out).await
        }
        Err(e) => Err(e),
    };
    report(result, args.json, out)
}

async fn run(client: &Client, args: &EmbedArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut request = EmbeddingRequest::many(args.model.as_str(), args.texts.iter().cloned());
    request.dimensions = args.dimensions;
    if args.base64 {
        request.encoding_format = Some(EncodingFormat::Base64);
    }
    let response = client.embed(request).await?;
    if args.json {
        serde_json::to_writer(&mut *out, &output(&response))?;
        writeln!(out)?;
    } else {
        for e in &response.data {
            writeln!(out, "{}", serde_json::to_string(&e.vector)?)?;
        }
        let cost =
            response.cost.as_ref().and_then(Cost::total).map_or_else(|| "unknown".to_owned(), |t| format!("${t}"));
        let tokens = response.usage.map_or(0, |u| u.prompt_tokens);
        let estimated = if response.usage_estimated { " (estimated)" } else { "" };
        eprintln!(
            "[{} {}: {} vectors, {tokens} tokens{estimated}, {cost}]",
            response.provider.as_ref().map_or("?", |p| p.as_str()),
            response.model,
            response.data.len(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// OpenAI's embedding list (`object: "list"`, `data[]` of `{object: "embedding", index, embedding}`, `model`,
/// `usage` with `prompt_tokens` and `total_tokens`), plus `provider`, `cost` (as `llm chat --json` prints it:
/// exact decimals), `usage.estimated` when the provider counted no tokens, `retries` and `adjustments`.
#[derive(Serialize)]
struct Output<'a> {
    object: &'static str,
    data: Vec<Value>,
    model: &'a str,
    usage: Value,
    provider: &'a str,
    cost: Box<RawValue>,
    retries: usize,
    adjustments: &'a [Adjustment],
}

fn output(r: &EmbeddingResponse) -> Output<'_> {
    let data = r.data.iter().map(|e| json!({"object": "embedding", "index": e.index, "embedding": e.vector})).collect();
    let tokens = r.usage.map_or(0, |u| u.prompt_tokens);
    let mut usage = json!({"prompt_tokens": tokens, "total_tokens": tokens});
    if r.usage_estimated {
        usage["estimated"] = true.into();
    }
    Output {
        object: "list",
        data,
        model: &r.model,
        usage,
        provider: r.provider.as_ref().map_or("", |p| p.as_str()),
        cost: cost_object(r.cost.as_ref().unwrap_or(&Cost::unknown(CostStatus::UnknownModel))),
        retries: r.retries.len(),
        adjustments: &r.adjustments,
    }
}

//! `llm resolve` and `llm params`: which provider serves a model, and which OpenAI-style parameters it takes.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use llm::providers::{resolve, supported_params};
use serde_json::json;

use crate::output::{error_json, print_json};

/// Options of `llm resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The model name, with or without a `provider/` prefix.
    pub model: String,
    /// The API base URL the call would use (its host can decide the provider).
    #[arg(long)]
    pub api_base: Option<String>,
    /// Print `{"provider": ..., "model": ...}` (or an error object) instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub catalog: crate::cost::CatalogArg,
}

/// Runs `llm resolve`.
pub fn resolve_cmd(args: &ResolveArgs, out: &mut impl Write) -> Result<ExitCode> {
    let catalog = args.catalog.load()?;
    match resolve(&args.model, args.api_base.as_deref(), &*catalog) {
        Ok(r) => {
            if args.json {
                print_json(out, &json!({"provider": r.provider.as_str(), "model": r.model}))?;
            } else {
                writeln!(out, "{}\t{}", r.provider, r.model)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                print_json(out, &error_json(e.kind().as_str(), e.message()))?;
            } else {
                eprintln!("llm: {e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Options of `llm params`.
#[derive(Debug, clap::Args)]
pub struct ParamsArgs {
    /// The model name.
    pub model: String,
    /// The provider, when the model name does not say it.
    #[arg(long)]
    pub provider: Option<String>,
    /// Print a JSON array (or an error object) instead of one parameter a line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub catalog: crate::cost::CatalogArg,
}

/// Runs `llm params`.
pub fn params_cmd(args: &ParamsArgs, out: &mut impl Write) -> Result<ExitCode> {
    let target = match &args.provider {
        Some(p) => {
            let model = args.model.strip_prefix(&format!("{p}/")).unwrap_or(&args.model).to_owned();
            Ok((p.clone(), model))
        }
        None => resolve(&args.model, None, &*args.catalog.load()?).map(|r| (r.provider.into_string(), r.model)),
    };
    let (provider, model) = match target {
        Ok(t) => t,
        Err(e) => {
            if args.json {
                print_json(out, &error_json(e.kind().as_str(), e.message()))?;
            } else {
                eprintln!("llm: {e}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    match supported_params(&provider, &model) {
        Some(params) => {
            if args.json {
                print_json(out, &json!(params))?;
            } else {
                for p in params {
                    writeln!(out, "{p}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let message = format!("no parameter list for provider {provider:?} (model {model:?})");
            if args.json {
                print_json(out, &error_json("not_found", &message))?;
            } else {
                eprintln!("llm: {message}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

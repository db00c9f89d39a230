//! The `llm` command: one completion API over many providers, with the cost of every call.
//!
//! `llm demo` is an offline tour on the mock provider; later subcommands price usage logs (`llm cost`),
//! query the model catalog (`llm models`), resolve model names and call providers.

mod chat;
mod cost;
mod demo;
mod embed;
mod lookup;
mod otel;
mod output;
mod router;
mod spend;
mod tokens;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// One API over many LLM providers, with the exact cost of every call.
#[derive(Debug, Parser)]
#[command(name = "llm", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// An offline tour of the library on the mock provider: no keys, no network.
    Demo(demo::DemoArgs),
    /// One priced completion on any provider (key from its usual environment variable).
    Chat(chat::ChatArgs),
    /// Priced embeddings of one or many texts on any provider that serves them.
    Embed(embed::EmbedArgs),
    /// The exact cost of some usage of a model, or of every line of a JSONL usage log.
    Cost(cost::CostArgs),
    /// The model catalog: prices, limits and capabilities.
    Models(cost::ModelsArgs),
    /// Spend budgets: hard limits refuse calls before they are sent, soft limits alert.
    #[command(subcommand)]
    Budget(spend::BudgetCommand),
    /// Spend reports, exports and the local dashboard over a spend store.
    #[command(subcommand)]
    Spend(spend::SpendCommand),
    /// Router configs (LiteLLM's proxy format): `llm router check FILE`.
    #[command(subcommand)]
    Router(router::RouterCommand),
    /// Which provider serves a model name, and the provider-side model.
    Resolve(lookup::ResolveArgs),
    /// The OpenAI-style parameters a provider accepts for a model.
    Params(lookup::ParamsArgs),
    /// The tokens of a text for a model (exact for OpenAI models, approximate for others).
    Tokens(tokens::TokensArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("llm: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(&args, &mut out).await,
            Command::Chat(args) => chat::chat_cmd(&args, &mut out).await,
            Command::Embed(args) => embed::embed_cmd(&args, &mut out).await,
            Command::Cost(args) => cost::cost_cmd(&args, &mut out),
            Command::Models(args) => cost::models_cmd(&args, &mut out),
            Command::Budget(cmd) => spend::budget_cmd(&cmd, &mut out).await,
            Command::Spend(cmd) => spend::spend_cmd(&cmd, &mut out).await,
            Command::Router(cmd) => router::router_cmd(&cmd, &mut out),
            Command::Resolve(args) => lookup::resolve_cmd(&args, &mut out),
            Command::Params(args) => lookup::params_cmd(&args, &mut out),
            Command::Tokens(args) => tokens::tokens_cmd(&args, &mut out),
        }
    });
    let _ = out.flush();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("llm: {e:#}");
            ExitCode::FAILURE
        }
    }
}

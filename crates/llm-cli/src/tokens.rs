//! `llm tokens`: the tokens of a text for a model, exact where the model's tokenizer is compiled in.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use llm::tokens::Tokenizer;
use serde_json::json;

use crate::output::print_json;

/// Options of `llm tokens`.
#[derive(Debug, clap::Args)]
pub struct TokensArgs {
    /// The model whose tokenizer counts (`gpt-4o`, `openai/gpt-4.1`, `claude-sonnet-4-5`, ...).
    #[arg(short, long)]
    pub model: String,
    /// Print `{"model": ..., "tokens": N, "exact": true|false}` instead of a line of text.
    #[arg(long)]
    pub json: bool,
    /// The text (standard input when absent). Counted as it is, without a chat message's framing.
    pub text: Option<String>,
}

/// Runs `llm tokens`. The model is reported as named: counting resolves nothing and reads no catalog, so only
/// the one vocabulary the model needs is loaded.
pub fn tokens_cmd(args: &TokensArgs, out: &mut impl Write) -> Result<ExitCode> {
    let text = match &args.text {
        Some(t) => t.clone(),
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("reading the text from standard input")?;
            s
        }
    };
    let tokenizer = Tokenizer::for_model(&args.model);
    let tokens = tokenizer.count(&text);
    if args.json {
        print_json(out, &json!({"model": args.model, "tokens": tokens, "exact": tokenizer.exact}))?;
    } else {
        let how = if tokenizer.exact { "exact" } else { "approximate" };
        writeln!(out, "{tokens} tokens ({}, {}, {how})", args.model, tokenizer.encoding)?;
    }
    Ok(ExitCode::SUCCESS)
}

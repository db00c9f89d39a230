//! `llm cost` and `llm models`: pricing usage (one-off or a JSONL log) and querying the model catalog.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use llm::core::{Cost, Usage};
use llm::cost::{Catalog, CatalogRef, CostOptions, cost_answer, error_answer, price_jsonl_line};
use serde_json::Value;

use crate::output::error_json;

/// The exit status of `llm cost --jsonl` when at least one line was answered with an error (every line is
/// still answered).
pub const JSONL_LINE_FAILED: u8 = 2;

/// The default longest input line of `llm cost --jsonl`: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// The price file to use instead of the embedded catalog: `--catalog FILE`, else `LLM_CATALOG`.
#[derive(Debug, Clone, clap::Args)]
pub struct CatalogArg {
    /// A price file in LiteLLM's format to use instead of the embedded catalog (default: `LLM_CATALOG`). It is
    /// validated when loaded: a bad price is an error naming the model and the key.
    #[arg(long = "catalog", env = "LLM_CATALOG", value_name = "FILE")]
    pub catalog: Option<PathBuf>,
}

impl CatalogArg {
    /// The catalog given, loaded and validated; `None` for the embedded one.
    pub fn load_owned(&self) -> Result<Option<Catalog>> {
        match &self.catalog {
            None => Ok(None),
            Some(path) => Catalog::from_file(path)
                .map(Some)
                .with_context(|| format!("the price file {} cannot be used", path.display())),
        }
    }

    /// The catalog to price with: the file given, else the embedded catalog.
    pub fn load(&self) -> Result<CatalogRef> {
        Ok(match self.load_owned()? {
            Some(c) => CatalogRef::Loaded(Arc::new(c)),
            None => CatalogRef::Embedded(Catalog::embedded()),
        })
    }
}

/// Options of `llm cost`.
#[derive(Debug, clap::Args)]
pub struct CostArgs {
    /// Price a JSONL usage log: one input object a line (from FILE, or standard input), one answer a line, in
    /// order. Exit status 0 when every line was priced, 2 when any line was answered with an error.
    #[arg(long)]
    pub jsonl: bool,
    /// The JSONL file (with `--jsonl`); standard input when absent.
    pub file: Option<PathBuf>,
    /// The model to price (without `--jsonl`).
    #[arg(short = 'm', long)]
    pub model: Option<String>,
    /// The provider, when the model name does not say it.
    #[arg(long)]
    pub provider: Option<String>,
    /// Every prompt token, cached ones included (OpenAI's convention).
    #[arg(long, default_value_t = 0)]
    pub prompt_tokens: u64,
    /// Every completion token, reasoning included.
    #[arg(long, default_value_t = 0)]
    pub completion_tokens: u64,
    /// Prompt tokens read from the cache (inside the prompt tokens).
    #[arg(long)]
    pub cached_tokens: Option<u64>,
    /// Prompt tokens written to the cache (inside the prompt tokens).
    #[arg(long)]
    pub cache_creation_tokens: Option<u64>,
    /// Reasoning tokens (inside the completion tokens).
    #[arg(long)]
    pub reasoning_tokens: Option<u64>,
    /// The service tier (`flex`, `priority`).
    #[arg(long)]
    pub service_tier: Option<String>,
    /// Print the answer object instead of a breakdown.
    #[arg(long)]
    pub json: bool,
    /// With `--jsonl`: the longest input line in bytes; a longer line is answered with an error (read in
    /// chunks, never held whole) and the next line is read.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE_BYTES, value_name = "BYTES")]
    pub max_line_bytes: usize,
    #[command(flatten)]
    pub catalog: CatalogArg,
}

/// Runs `llm cost`. With `--jsonl` the exit status is 0 when every line was priced (whatever its status),
/// [`JSONL_LINE_FAILED`] when at least one line was answered with an error.
pub fn cost_cmd(args: &CostArgs, out: &mut impl Write) -> Result<ExitCode> {
    let catalog = args.catalog.load()?;
    let catalog: &Catalog = &catalog;
    if args.jsonl {
        let mut input: Box<dyn BufRead> = match &args.file {
            Some(path) => Box::new(std::io::BufReader::new(
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
            )),
            None => Box::new(std::io::stdin().lock()),
        };
        let failed = price_jsonl(catalog, &mut input, out, args.max_line_bytes)?;
        return Ok(if failed { ExitCode::from(JSONL_LINE_FAILED) } else { ExitCode::SUCCESS });
    }
    let Some(model) = &args.model else {
        anyhow::bail!("give a model (-m MODEL) or --jsonl");
    };
    let mut usage = Usage::new(args.prompt_tokens, args.completion_tokens);
    usage.cache_read_tokens = args.cached_tokens;
    usage.cache_write_tokens = args.cache_creation_tokens;
    usage.reasoning_tokens = args.reasoning_tokens;
    let mut options = CostOptions::new();
    if let Some(t) = &args.service_tier {
        options = options.with_service_tier(t.as_str());
    }
    match catalog.cost_per_token(model, args.provider.as_deref(), &usage, &options) {
        Ok(cost) => {
            if args.json {
                writeln!(out, "{}", llm::cost::cost_answer(&cost))?;
            } else {
                write_breakdown(out, model, &usage, &cost)?;
            }
            Ok(if cost.is_known() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Err(e) => {
            if args.json {
                writeln!(out, "{}", llm::cost::error_answer(&e))?;
            } else {
                eprintln!("llm: {e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// One input line as [`read_line_capped`] read it.
enum ReadLine {
    /// The end of the input.
    Eof,
    /// A line (in the buffer, without its `\n`).
    Line,
    /// A line longer than the cap (its bytes were read and dropped): this many bytes.
    TooLong(u64),
}

/// Reads one line into `buf` (cleared first), at most `cap` bytes of it: a longer line is read to its end in
/// the reader's chunks and dropped, so memory stays bounded whatever the input (`/dev/zero`).
fn read_line_capped(input: &mut dyn BufRead, buf: &mut Vec<u8>, cap: usize) -> std::io::Result<ReadLine> {
    buf.clear();
    let mut total: u64 = 0;
    let mut read_any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(match (read_any, total > cap as u64) {
                (false, _) => ReadLine::Eof,
                (true, true) => ReadLine::TooLong(total),
                (true, false) => ReadLine::Line,
            });
        }
        read_any = true;
        let (part, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (chunk.get(..i).unwrap_or_default(), Some(i + 1)),
            None => (chunk, None),
        };
        total += part.len() as u64;
        if total <= cap as u64 {
            buf.extend_from_slice(part);
        } else if !buf.is_empty() {
            *buf = Vec::new();
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        if done.is_some() {
            return Ok(if total > cap as u64 { ReadLine::TooLong(total) } else { ReadLine::Line });
        }
    }
}

/// Answers every line of `input`, in order; returns whether any line was answered with an error.
fn price_jsonl(catalog: &Catalog, input: &mut dyn BufRead, out: &mut impl Write, cap: usize) -> Result<bool> {
    let mut failed = false;
    let mut buf: Vec<u8> = Vec::new();
    let mut first = true;
    loop {
        match read_line_capped(input, &mut buf, cap)? {
            ReadLine::Eof => break,
            ReadLine::TooLong(n) => {
                failed = true;
                let message = format!("the line is {n} bytes long, more than the limit of {cap} (--max-line-bytes)");
                crate::output::print_json(out, &error_json("invalid_input", &message))?;
            }
            ReadLine::Line => {
                let mut bytes = buf.as_slice();
                if first {
                    // a UTF-8 byte order mark at the start of the input is not part of the first line
                    bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                }
                let text = String::from_utf8_lossy(bytes);
                let text = text.strip_suffix('\r').unwrap_or(&text);
                let answer = match price_jsonl_line(catalog, text) {
                    Ok(cost) => cost_answer(&cost),
                    Err(e) => {
                        failed = true;
                        error_answer(&e)
                    }
                };
                writeln!(out, "{answer}")?;
            }
        }
        first = false;
    }
    Ok(failed)
}

fn write_breakdown(out: &mut impl Write, model: &str, usage: &Usage, cost: &Cost) -> Result<()> {
    writeln!(out, "model:    {model}")?;
    writeln!(
        out,
        "priced:   {} ({})",
        cost.catalog_key.as_deref().unwrap_or("-"),
        cost.catalog_version.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "status:   {}", cost.status)?;
    writeln!(
        out,
        "usage:    {} prompt ({} cached, {} cache write) + {} completion ({} reasoning)",
        usage.prompt_tokens,
        usage.cache_read_tokens.unwrap_or(0),
        usage.cache_write_tokens.unwrap_or(0),
        usage.completion_tokens,
        usage.reasoning_tokens.unwrap_or(0)
    )?;
    if !cost.is_known() {
        writeln!(out, "cost:     unknown (not a silent $0: the catalog has no price for this)")?;
        return Ok(());
    }
    let b = &cost.breakdown;
    let rows = [
        ("input", b.input),
        ("cache read", b.cache_read),
        ("cache write", b.cache_write),
        ("input audio", b.input_audio),
        ("input image", b.input_image),
        ("tools", b.tools),
        ("output", b.output),
        ("reasoning", b.reasoning),
        ("output audio", b.output_audio),
        ("output image", b.output_image),
    ];
    for (name, amount) in rows.iter().filter(|(_, a)| !a.is_zero()) {
        writeln!(out, "  {name:<13} ${amount}")?;
    }
    writeln!(out, "prompt:   ${}", cost.prompt_cost())?;
    writeln!(out, "completion: ${}", cost.completion_cost())?;
    writeln!(out, "total:    ${}", cost.breakdown.total())?;
    Ok(())
}

/// Options of `llm models`.
#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    /// Models to show (catalog keys or names the catalog resolves); all when none.
    pub models: Vec<String>,
    /// Only this provider's models.
    #[arg(long)]
    pub provider: Option<String>,
    /// Only models of this mode (`chat`, `embedding`, `image_generation`, ...).
    #[arg(long)]
    pub mode: Option<String>,
    /// Only models with this capability (`vision`, `response_schema`, `reasoning`, ...); repeatable.
    #[arg(long = "supports")]
    pub supports: Vec<String>,
    /// Print a JSON array of entries instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub catalog: CatalogArg,
}

/// Runs `llm models`.
pub fn models_cmd(args: &ModelsArgs, out: &mut impl Write) -> Result<ExitCode> {
    let catalog = args.catalog.load()?;
    let catalog: &Catalog = &catalog;
    let provider = args.provider.as_deref();
    // Each entry as the catalog writes it (exact decimal prices) and parsed, for filtering and the table.
    let mut entries: Vec<(String, Value)> = Vec::new();
    let mut failed = false;
    if args.models.is_empty() {
        let mut keys: Vec<&str> = catalog.keys().collect();
        keys.sort_unstable();
        for key in keys {
            if let Ok(info) = catalog.model_info(key, None) {
                if info.key() != key {
                    continue;
                }
                let raw = catalog.info_json(&info, None);
                let v: Value = serde_json::from_str(&raw)?;
                entries.push((raw, v));
            }
        }
    } else {
        for m in &args.models {
            match catalog.model_json(m, provider) {
                Ok(raw) => {
                    let v: Value = serde_json::from_str(&raw)?;
                    entries.push((raw, v));
                }
                Err(e) => {
                    failed = true;
                    if args.json {
                        let v = error_json(e.kind().as_str(), &e.to_string());
                        entries.push((v.to_string(), v));
                    } else {
                        eprintln!("llm: {e}");
                    }
                }
            }
        }
    }
    let keep = |v: &Value| -> bool {
        if v.get("error").is_some() {
            return true;
        }
        if let Some(p) = provider
            && args.models.is_empty()
            && v["provider"] != p
            && v["litellm_provider"] != p
        {
            return false;
        }
        if let Some(m) = &args.mode
            && v["mode"] != m.as_str()
        {
            return false;
        }
        args.supports.iter().all(|cap| {
            let flag = if cap.starts_with("supports_") { cap.clone() } else { format!("supports_{cap}") };
            v[&flag] == true
        })
    };
    entries.retain(|(_, v)| keep(v));
    if args.json {
        let raws: Vec<&str> = entries.iter().map(|(raw, _)| raw.as_str()).collect();
        writeln!(out, "[{}]", raws.join(","))?;
    } else {
        writeln!(
            out,
            "{:<56} {:<14} {:<10} {:>9} {:>9} {:>10} {:>10}  capabilities",
            "model", "provider", "mode", "max_in", "max_out", "$/1M in", "$/1M out"
        )?;
        for (_, v) in &entries {
            if v.get("error").is_some() {
                continue;
            }
            let per_m = |k: &str| -> String {
                catalog
                    .model_info(v["model"].as_str().unwrap_or_default(), None)
                    .ok()
                    .and_then(|info| info.price(k))
                    .map(|d| (d * llm::core::Decimal::from(1_000_000)).normalize().to_string())
                    .unwrap_or_else(|| "-".into())
            };
            let num = |k: &str| v[k].as_u64().map_or_else(|| "-".to_owned(), |n| n.to_string());
            let caps: Vec<&str> = ["response_schema", "function_calling", "vision", "reasoning", "prompt_caching"]
                .into_iter()
                .filter(|c| v[format!("supports_{c}")] == true)
                .collect();
            writeln!(
                out,
                "{:<56} {:<14} {:<10} {:>9} {:>9} {:>10} {:>10}  {}",
                v["model"].as_str().unwrap_or("-"),
                v["provider"].as_str().unwrap_or("-"),
                v["mode"].as_str().unwrap_or("-"),
                num("max_input_tokens"),
                num("max_output_tokens"),
                per_m("input_cost_per_token"),
                per_m("output_cost_per_token"),
                caps.join(",")
            )?;
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

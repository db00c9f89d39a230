//! `llm router check FILE`: validates a router config (LiteLLM's proxy `config.yaml`) and prints its groups.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use llm::router::RouterConfig;
use serde_json::{Value, json};

use crate::output::{error_json, print_json};

/// `llm router` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RouterCommand {
    /// Validates a router config and prints its model groups, deployments and settings; keys it does not
    /// understand are listed as warnings.
    Check(CheckArgs),
}

/// Options of `llm router check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The config file (LiteLLM's proxy format: model_list, router_settings, litellm_settings).
    pub file: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `llm router ...`.
pub fn router_cmd(cmd: &RouterCommand, out: &mut impl Write) -> Result<ExitCode> {
    match cmd {
        RouterCommand::Check(args) => check(args, out),
    }
}

fn check(args: &CheckArgs, out: &mut impl Write) -> Result<ExitCode> {
    let config = match RouterConfig::from_file(&args.file) {
        Ok(c) => c,
        Err(e) => {
            if args.json {
                print_json(out, &error_json("invalid_config", e.message()))?;
            } else {
                eprintln!("llm: {}", e.message());
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let s = &config.settings;
    if args.json {
        let groups: Vec<Value> = config
            .groups()
            .into_iter()
            .map(|(name, deps)| {
                let deps: Vec<Value> = deps
                    .iter()
                    .map(|d| {
                        json!({
                            "id": d.id,
                            "model": d.model,
                            "api_base": d.api_base,
                            "api_key": d.api_key.is_some(),
                            "rpm": d.rpm,
                            "tpm": d.tpm,
                            "weight": d.weight,
                            "order": d.order,
                            "max_parallel_requests": d.max_parallel_requests,
                        })
                    })
                    .collect();
                json!({
                    "model_group": name,
                    "deployments": deps,
                    "fallbacks": s.fallbacks.get(name).cloned().unwrap_or_default(),
                    "context_window_fallbacks": s.context_window_fallbacks.get(name).cloned().unwrap_or_default(),
                    "content_policy_fallbacks": s.content_policy_fallbacks.get(name).cloned().unwrap_or_default(),
                })
            })
            .collect();
        print_json(
            out,
            &json!({
                "valid": true,
                "routing_strategy": s.strategy.as_str(),
                "num_retries": s.num_retries,
                "allowed_fails": s.allowed_fails,
                "cooldown_time": s.cooldown_time.as_secs_f64(),
                "redis": s.redis.is_some(),
                "cache": config.cache.as_ref().map(|c| json!({
                    "type": if c.redis { "redis" } else { "local" },
                    "ttl": c.ttl.as_secs_f64(),
                    "namespace": c.namespace,
                })),
                "groups": groups,
                "warnings": config.warnings,
            }),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "valid: {} group(s), {} deployment(s); routing_strategy {}, num_retries {}, allowed_fails {}, cooldown_time {}s{}{}",
        config.groups().len(),
        config.deployments.len(),
        s.strategy.as_str(),
        s.num_retries,
        s.allowed_fails,
        s.cooldown_time.as_secs_f64(),
        if s.redis.is_some() { ", state in redis" } else { "" },
        match &config.cache {
            Some(c) if c.redis => ", cache in redis",
            Some(_) => ", cache in memory",
            None => "",
        }
    )?;
    for (name, deps) in config.groups() {
        writeln!(out, "{name}")?;
        for d in deps {
            let mut extra = Vec::new();
            if let Some(b) = &d.api_base {
                extra.push(format!("api_base {b}"));
            }
            for (k, v) in [("rpm", d.rpm), ("tpm", d.tpm)] {
                if let Some(v) = v {
                    extra.push(format!("{k} {v}"));
                }
            }
            if let Some(w) = d.weight {
                extra.push(format!("weight {w}"));
            }
            if let Some(o) = d.order {
                extra.push(format!("order {o}"));
            }
            let extra = if extra.is_empty() { String::new() } else { format!(" ({})", extra.join(", ")) };
            writeln!(out, "  {} -> {}{extra}", d.id, d.model)?;
        }
        if let Some(f) = s.fallbacks.get(name) {
            writeln!(out, "  fallbacks: {}", f.join(", "))?;
        }
        if let Some(f) = s.context_window_fallbacks.get(name) {
            writeln!(out, "  context_window_fallbacks: {}", f.join(", "))?;
        }
        if let Some(f) = s.content_policy_fallbacks.get(name) {
            writeln!(out, "  content_policy_fallbacks: {}", f.join(", "))?;
        }
    }
    for w in &config.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(ExitCode::SUCCESS)
}

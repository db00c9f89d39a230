//! `cargo xtask <task>`: repository tasks for llm-rs.

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("tidy") => {
            let problems = xtask::tidy::check_dependencies(&xtask::tidy::metadata()?);
            if problems.is_empty() {
                println!("tidy: ok");
                Ok(())
            } else {
                bail!("tidy found {} problem(s):\n{}", problems.len(), problems.join("\n"))
            }
        }
        _ => {
            eprintln!("usage: cargo xtask <task>\n\ntasks:\n  tidy              check the dependency direction between crates");
            bail!("unknown or missing task")
        }
    }
}

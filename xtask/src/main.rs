//! `cargo xtask <task>`: repository tasks for llm-rs.

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("tidy") => {
            let mut problems = xtask::tidy::check_dependencies(&xtask::tidy::metadata()?);
            let files = xtask::assertions::workspace_files(&xtask::tidy::workspace_root())?;
            problems.extend(xtask::assertions::check(&files));
            if problems.is_empty() {
                println!("tidy: ok");
                Ok(())
            } else {
                bail!("tidy found {} problem(s):\n{}", problems.len(), problems.join("\n"))
            }
        }
        Some("update-pricing") => {
            let pargs = xtask::pricing::Args::parse(args.get(1..).unwrap_or(&[]))?;
            let paths = xtask::pricing::Paths::in_workspace(&xtask::tidy::workspace_root());
            print!("{}", xtask::pricing::run(&paths, &pargs)?);
            Ok(())
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\ntasks:\n  tidy              check the dependency direction between crates and that every test asserts\n  update-pricing    regenerate llm-cost's catalog from LiteLLM's price file\n                    {}",
                xtask::pricing::USAGE
            );
            bail!("unknown or missing task")
        }
    }
}

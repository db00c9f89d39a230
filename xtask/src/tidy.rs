//! Tidy checks: repository rules that a plain `cargo test` enforces.
//!
//! The dependency direction between workspace crates (docs/ARCHITECTURE.md):
//!
//! ```text
//! llm-providers ─┐
//! llm-schema ────┼─▶ llm-core
//! llm-cost ──────┘
//! llm-tokens ────▶ llm-core
//! llm-tracking ──▶ llm-cost, llm-tokens, llm-core
//! llm-router ────▶ llm-cost, llm-core
//! llm (facade) ──▶ everything above        llm-cli ──▶ llm        xtask ──▶ llm-cost
//! ```
//!
//! and llm-core never gains reqwest, tokio, schemars or jsonschema as a (non-dev) dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The workspace crates each workspace crate may depend on (any dependency kind). A crate missing from this
/// table is itself a violation: a new crate must take a deliberate place in the layering.
pub const ALLOWED_EDGES: &[(&str, &[&str])] = &[
    ("llm-core", &[]),
    ("llm-providers", &["llm-core", "llm-fake-upstream"]),
    ("llm-schema", &["llm-core", "llm-fake-upstream"]),
    ("llm-cost", &["llm-core"]),
    // Token counting: the tokenizer's vocabularies stay out of the crates that do not count.
    ("llm-tokens", &["llm-core"]),
    ("llm-tracking", &["llm-core", "llm-cost", "llm-tokens", "llm-fake-upstream"]),
    // A decorator over any provider, as llm-tracking is: never llm-providers (the facade hands it a factory)
    // nor llm-tracking (tracking wraps each attempt it makes).
    ("llm-router", &["llm-core", "llm-cost", "llm-fake-upstream"]),
    (
        "llm",
        &[
            "llm-core",
            "llm-cost",
            "llm-providers",
            "llm-schema",
            "llm-tokens",
            "llm-tracking",
            "llm-router",
            "llm-fake-upstream",
        ],
    ),
    // A dev-only loopback server; other crates may use it only as a dev-dependency.
    ("llm-fake-upstream", &["llm-core"]),
    ("llm-cli", &["llm", "llm-fake-upstream"]),
    ("xtask", &["llm-cost", "llm-core"]),
];

/// Third-party crates llm-core must never depend on outside its dev-dependencies: it does no I/O, and a schema
/// travels as a `serde_json::Value`.
pub const CORE_FORBIDDEN: &[&str] = &["reqwest", "tokio", "hyper", "schemars", "jsonschema", "sqlx"];

/// Runs `cargo metadata` on the workspace and returns its JSON.
pub fn metadata() -> Result<Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).context("reading cargo metadata")
}

/// The workspace root (the parent of this crate's manifest directory).
pub fn workspace_root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Checks the dependency rules on `cargo metadata` output. Returns every violation, one line each.
pub fn check_dependencies(metadata: &Value) -> Vec<String> {
    let allowed: BTreeMap<&str, BTreeSet<&str>> =
        ALLOWED_EDGES.iter().map(|(k, v)| (*k, v.iter().copied().collect())).collect();
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let members: BTreeSet<String> = packages.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect();
    let mut problems = Vec::new();
    for p in &packages {
        let name = p["name"].as_str().unwrap_or_default();
        let Some(ok) = allowed.get(name) else {
            problems.push(format!("{name}: not in the layering table (xtask/src/tidy.rs, docs/ARCHITECTURE.md)"));
            continue;
        };
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let dep = d["name"].as_str().unwrap_or_default();
            let kind = d["kind"].as_str().unwrap_or("normal");
            if members.contains(dep) && !ok.contains(dep) {
                problems.push(format!("{name} -> {dep} ({kind}): edge not allowed by the layering"));
            }
            if dep == "llm-fake-upstream" && kind != "dev" {
                let why = "the fake upstream is a dev-dependency only";
                problems.push(format!("{name} -> llm-fake-upstream ({kind}): {why}"));
            }
            if name == "llm-core" && kind != "dev" && CORE_FORBIDDEN.contains(&dep) {
                problems.push(format!("llm-core -> {dep} ({kind}): llm-core must not depend on {dep}"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pkg(name: &str, deps: &[(&str, Option<&str>)]) -> Value {
        json!({
            "name": name,
            "dependencies": deps.iter().map(|(d, k)| json!({"name": d, "kind": k})).collect::<Vec<_>>(),
        })
    }

    fn good() -> Vec<Value> {
        vec![
            pkg("llm-core", &[("serde", None), ("tokio", Some("dev"))]),
            pkg("llm-cost", &[("llm-core", None)]),
            pkg("llm-tracking", &[("llm-core", None), ("llm-cost", None)]),
        ]
    }

    #[test]
    fn the_layering_passes() {
        assert_eq!(check_dependencies(&json!({"packages": good()})), Vec::<String>::new());
    }

    #[test]
    fn a_forbidden_edge_fails() {
        let mut pkgs = good();
        pkgs.push(pkg("llm-providers", &[("llm-core", None), ("llm-cost", None)]));
        assert_eq!(
            check_dependencies(&json!({"packages": pkgs})),
            vec!["llm-providers -> llm-cost (normal): edge not allowed by the layering".to_owned()]
        );
    }

    #[test]
    fn the_fake_upstream_is_dev_only() {
        let mut pkgs = good();
        pkgs.push(pkg("llm-fake-upstream", &[]));
        pkgs.push(pkg("llm-providers", &[("llm-core", None), ("llm-fake-upstream", Some("dev"))]));
        assert_eq!(check_dependencies(&json!({"packages": pkgs.clone()})), Vec::<String>::new());
        pkgs.push(pkg("llm-schema", &[("llm-core", None), ("llm-fake-upstream", None)]));
        assert_eq!(
            check_dependencies(&json!({"packages": pkgs})),
            vec!["llm-schema -> llm-fake-upstream (normal): the fake upstream is a dev-dependency only".to_owned()]
        );
    }

    #[test]
    fn an_upward_dev_edge_fails_too() {
        let mut pkgs = good();
        pkgs.push(pkg("llm-providers", &[("llm-core", None)]));
        pkgs[0] = pkg("llm-core", &[("llm-providers", Some("dev"))]);
        assert_eq!(
            check_dependencies(&json!({"packages": pkgs})),
            vec!["llm-core -> llm-providers (dev): edge not allowed by the layering".to_owned()]
        );
    }

    #[test]
    fn core_may_not_gain_io_crates() {
        let pkgs = vec![pkg("llm-core", &[("reqwest", None), ("schemars", Some("build")), ("tokio", Some("dev"))])];
        assert_eq!(
            check_dependencies(&json!({"packages": pkgs})),
            vec![
                "llm-core -> reqwest (normal): llm-core must not depend on reqwest".to_owned(),
                "llm-core -> schemars (build): llm-core must not depend on schemars".to_owned(),
            ]
        );
    }

    #[test]
    fn an_unknown_crate_fails() {
        let pkgs = vec![pkg("llm-gateway", &[])];
        assert_eq!(check_dependencies(&json!({"packages": pkgs})).len(), 1);
    }
}

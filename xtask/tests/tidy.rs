//! The dependency direction of the real workspace, read from `cargo metadata`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[test]
fn workspace_dependency_direction() {
    let metadata = xtask::tidy::metadata().expect("cargo metadata");
    let names: Vec<&str> =
        metadata["packages"].as_array().expect("packages").iter().filter_map(|p| p["name"].as_str()).collect();
    for crate_name in ["llm-core", "llm-providers", "llm-cost", "llm-schema", "llm-tracking", "llm", "llm-cli"] {
        assert!(names.contains(&crate_name), "{crate_name} missing from the workspace: {names:?}");
    }
    let problems = xtask::tidy::check_dependencies(&metadata);
    assert!(problems.is_empty(), "dependency rules broken:\n{}", problems.join("\n"));
}

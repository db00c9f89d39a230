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

/// Every test in the workspace asserts something or is marked why not (the rule `cargo xtask tidy` applies).
#[test]
fn every_workspace_test_asserts() {
    let files = xtask::assertions::workspace_files(&xtask::tidy::workspace_root()).expect("read the workspace");
    assert!(files.keys().any(|p| p.ends_with("crates/llm-providers/tests/conformance.rs")), "{files:?}");
    let problems = xtask::assertions::check(&files);
    assert!(problems.is_empty(), "tests that assert nothing:\n{}", problems.join("\n"));
}

mod assertion_rule {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use xtask::assertions::{asserts_directly, blank, check};

    fn problems(files: &[(&str, &str)]) -> Vec<String> {
        let files: BTreeMap<PathBuf, String> = files.iter().map(|(p, s)| (PathBuf::from(p), (*s).to_owned())).collect();
        check(&files)
    }

    fn one(src: &str) -> Vec<String> {
        problems(&[("crates/x/tests/a.rs", src)])
    }

    #[test]
    fn a_test_without_an_assertion_is_reported_with_its_line() {
        let src = "use x;\n\n#[test]\nfn computes() {\n    let v = f().unwrap();\n    drop(v);\n}\n";
        assert_eq!(
            one(src),
            ["crates/x/tests/a.rs:4: test `computes` asserts nothing (add an assertion, or `// tidy: no-assert: \
              <reason>`)"]
        );
        let tokio =
            "#[tokio::test(flavor = \"multi_thread\")]\n#[cfg(feature = \"x\")]\nasync fn runs() { go().await; }\n";
        assert_eq!(one(tokio).len(), 1, "{:?}", one(tokio));
        // Not tests: a plain function, `#[cfg(test)]`, `#[test_case]`.
        assert_eq!(one("fn helper() {}\n#[cfg(test)]\nfn also() {}\n#[test_case]\nfn tc() {}\n"), Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_assertion_counts() {
        for body in [
            "assert!(x);",
            "assert_eq!(a, b);",
            "assert_ne!(a, b);",
            "debug_assert!(x);",
            "insta::assert_snapshot!(s);",
            "insta::assert_json_snapshot!(\"n\", v);",
            "assert_record_snapshot!(\"n\", v);",
            "prop_assert_eq!(a, b);",
            "let Some(x) = y else { panic!(\"none\") };",
            "match k { A => {} _ => unreachable!() }",
            "let e = f().unwrap_err();",
            "let e = f().expect_err(\"must fail\");",
            "let e = f()\n        .unwrap_err ();",
        ] {
            let src = format!("#[test]\nfn t() {{\n    {body}\n}}\n");
            assert_eq!(one(&src), Vec::<String>::new(), "{body}");
        }
        assert!(asserts_directly("x.unwrap_err()"));
        assert!(!asserts_directly("unwrap_err(x)"), "a free function named so is no assertion");
        assert!(!asserts_directly("let assert = 1; if assert != 2 {}"), "`!=` after a name is no macro");
        assert!(!asserts_directly("x.unwrap(); y.expect(\"ok\"); is_err()"));
    }

    #[test]
    fn assertions_in_comments_and_strings_do_not_count() {
        for body in [
            "// assert!(x)",
            "/* assert_eq!(a, b) /* nested */ panic!() */",
            "let s = \"assert!(x)\";",
            "let s = r#\"panic!(\"no\")\"#;",
            "let s = br\"assert!(x)\";",
            "let c = '\"'; let s = \"assert!(\";",
            "let c = '\\''; let d = '\\\\'; let s = \"assert!(x)\";",
        ] {
            let src = format!("#[test]\nfn t() {{\n    {body}\n}}\n");
            assert_eq!(one(&src).len(), 1, "{body}: {:?}", blank(&src).0);
        }
        // Lifetimes are not char literals: the assertion after one is still seen.
        assert_eq!(one("#[test]\nfn t() {\n    let r: &'static str = x; assert!(r.is_empty());\n}\n").len(), 0);
    }

    #[test]
    fn a_helper_that_asserts_counts_in_this_file_or_a_declared_module() {
        let local = "fn check(x: u8) {\n    assert_eq!(x, 1);\n}\nfn twice(x: u8) { check(x); check(x) }\n\
                     #[test]\nfn a() { check(1) }\n#[test]\nfn b() { twice(1) }\n";
        assert_eq!(one(local), Vec::<String>::new());
        let quiet = "fn check(x: u8) { let _ = x; }\n#[test]\nfn a() { check(1) }\n";
        assert_eq!(one(quiet).len(), 1);
        let test = "mod common;\nuse common::*;\n#[test]\nfn a() { conformance(1) }\n";
        let common = "pub fn conformance(x: u8) { assert!(x > 0) }\n";
        assert_eq!(
            problems(&[("crates/x/tests/a.rs", test), ("crates/x/tests/common/mod.rs", common)]),
            Vec::<String>::new()
        );
        // The same test without the module file, or in a file that does not declare it, is reported.
        assert_eq!(problems(&[("crates/x/tests/a.rs", test)]).len(), 1);
        let undeclared = "#[test]\nfn a() { conformance(1) }\n";
        assert_eq!(problems(&[("crates/x/tests/b.rs", undeclared), ("crates/x/tests/common/mod.rs", common)]).len(), 1);
        // A test does not count by sharing its name with an asserting function elsewhere in the file.
        let twins = "mod a {\n    #[test]\n    fn same() { assert!(true) }\n}\nmod b {\n    #[test]\n    fn same() { go() }\n}\n";
        assert_eq!(one(twins).len(), 1, "{:?}", one(twins));
    }

    #[test]
    fn should_panic_and_the_marker_with_a_reason_exempt() {
        assert_eq!(one("#[test]\n#[should_panic(expected = \"boom\")]\nfn t() { go() }\n").len(), 0);
        let inside = "#[test]\nfn t() {\n    // tidy: no-assert: compiling this is the test\n    let _ = X;\n}\n";
        assert_eq!(one(inside).len(), 0);
        let above = "/// Compiles.\n// tidy: no-assert: the type check is the test\n#[test]\nfn t() { let _ = X; }\n";
        assert_eq!(one(above).len(), 0);
        let no_reason = "#[test]\nfn t() {\n    // tidy: no-assert:\n    go();\n}\n";
        assert_eq!(one(no_reason).len(), 1, "a reason is required");
        let in_string = "#[test]\nfn t() {\n    let s = \"// tidy: no-assert: not a comment\";\n}\n";
        assert_eq!(one(in_string).len(), 1);
        let far_above = "// tidy: no-assert: belongs to something else\nfn other() {}\n#[test]\nfn t() { go() }\n";
        assert_eq!(one(far_above).len(), 1, "only the comments right above the test count");
    }
}

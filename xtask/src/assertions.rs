//! The tidy rule "every test can fail": each `#[test]` function (also `#[tokio::test]` and any other
//! `#[path::test]` attribute) in the workspace's Rust files must assert something, or say why not.
//!
//! A test asserts something when, outside comments and string literals, its body contains
//!
//! - a macro whose name starts with `assert` (`assert!`, `assert_eq!`, `assert_ne!`, insta's
//!   `assert_snapshot!`/`assert_json_snapshot!`/..., a local `assert_record_snapshot!`), `debug_assert` or
//!   `prop_assert` (proptest's `prop_assert!`, `prop_assert_eq!`, ...), or `panic!` or `unreachable!`;
//! - a call of `.unwrap_err()` or `.expect_err(…)` (the call must fail);
//! - a call of a function that asserts by this same rule, defined in the same file or in a module file it
//!   declares with `mod name;` (`name.rs` or `name/mod.rs` next to it), found by name;
//!
//! or when the test is `#[should_panic]`. Otherwise a comment `// tidy: no-assert: <reason>` (the reason is
//! required) in the body or in the comment and attribute lines right above the function marks it as
//! deliberate. The scan is lexical (comments, strings, raw strings and char literals are blanked first); it
//! reads no macro expansion.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The marker that exempts a test, followed by a non-empty reason.
pub const MARKER: &str = "tidy: no-assert:";

/// A function found in a source file.
#[derive(Debug, Clone)]
struct Func {
    name: String,
    /// Byte offset of the attribute block's first line (or of `fn` when it has none).
    start: usize,
    /// Byte range of the body, braces included.
    body: (usize, usize),
    /// The attributes right above it, as written.
    attrs: Vec<String>,
}

/// Blanked code and its comments with their offsets (see [`blank`]).
type Blanked = (String, Vec<(usize, String)>);

/// `src` with every comment and the contents of every string and char literal replaced by spaces (newlines are
/// kept, so offsets and line numbers are unchanged), and the comments' text with their offsets.
pub fn blank(src: &str) -> Blanked {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut comments = Vec::new();
    let mut i = 0;
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let wipe = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p);
            comments.push((i, src[i..end].to_owned()));
            wipe(&mut out, i, end);
            i = end;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            comments.push((i, src[i..j].to_owned()));
            wipe(&mut out, i, j);
            i = j;
        } else if (c == b'r' || (c == b'b' && b.get(i + 1) == Some(&b'r'))) && (i == 0 || !is_ident(b[i - 1])) && {
            let k = if c == b'b' { i + 2 } else { i + 1 };
            let hashes = b[k..].iter().take_while(|&&c| c == b'#').count();
            b.get(k + hashes) == Some(&b'"')
        } {
            // A raw string: r"…", r#"…"#, br#"…"#.
            let k = if c == b'b' { i + 2 } else { i + 1 };
            let hashes = b[k..].iter().take_while(|&&c| c == b'#').count();
            let open = k + hashes + 1;
            let mut close = String::from("\"");
            close.push_str(&"#".repeat(hashes));
            let end = src[open..].find(&close).map_or(b.len(), |p| open + p);
            wipe(&mut out, open, end);
            i = (end + close.len()).min(b.len());
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(b.len());
            wipe(&mut out, i + 1, end);
            i = end + 1;
        } else if c == b'\'' {
            // A char literal ('a', '\n', '\'', '\u{1F600}', 'é') or a lifetime ('a, 'static).
            if b.get(i + 1) == Some(&b'\\') {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'\'' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                wipe(&mut out, i + 1, j.min(b.len()));
                i = j + 1;
            } else if let Some(ch) = src[i + 1..].chars().next()
                && src[i + 1 + ch.len_utf8()..].starts_with('\'')
            {
                wipe(&mut out, i + 1, i + 1 + ch.len_utf8());
                i += ch.len_utf8() + 2;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    // Only ASCII bytes were replaced, each multi-byte character whole (comments and literals are wiped whole).
    (String::from_utf8_lossy(&out).into_owned(), comments)
}

/// The offset of the brace matching the `{` at `open` in blanked code.
fn matching_brace(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, &c) in code.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    code.len().saturating_sub(1)
}

/// Every function with a body in blanked code, with the attributes written right above it.
fn functions(code: &str) -> Vec<Func> {
    let b = code.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = code[from..].find("fn") {
        let at = from + p;
        from = at + 2;
        if (at > 0 && is_ident(b[at - 1])) || !b.get(at + 2).is_some_and(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let rest = code[at + 2..].trim_start();
        let name: String = rest.chars().take_while(|&c| c.is_ascii_alphanumeric() || c == '_').collect();
        if name.is_empty() {
            continue;
        }
        // The body: the first `{` before any `;` (a declaration without a body has none).
        let Some(open) = code[at..].find(['{', ';']).map(|p| at + p).filter(|&o| b[o] == b'{') else { continue };
        let close = matching_brace(b, open);
        // Attributes: the lines above the `fn` line (and its qualifiers) that start with `#[`.
        let line_start = code[..at].rfind('\n').map_or(0, |p| p + 1);
        let mut start = line_start;
        let mut attrs = Vec::new();
        let mut end = line_start;
        while end > 0 {
            let prev_start = code[..end - 1].rfind('\n').map_or(0, |p| p + 1);
            let line = code[prev_start..end - 1].trim();
            if line.starts_with("#[") || line.starts_with("#![") {
                attrs.push(line.to_owned());
                start = prev_start;
            } else if !line.is_empty() || prev_start == 0 {
                // A blank line (a wiped comment) may sit between attributes; anything else ends the block.
                if !line.is_empty() {
                    break;
                }
            }
            end = prev_start;
            if prev_start == 0 {
                break;
            }
        }
        out.push(Func { name, start, body: (open, close + 1), attrs });
        from = open + 1;
    }
    out
}

fn is_test_attr(attr: &str) -> bool {
    let inner = attr.trim_start_matches('#').trim_start_matches('[').trim_start();
    let path: String = inner.chars().take_while(|&c| c.is_ascii_alphanumeric() || c == '_' || c == ':').collect();
    path == "test" || path.ends_with("::test")
}

/// Whether `code` has a direct assertion (see the module documentation).
pub fn asserts_directly(code: &str) -> bool {
    let b = code.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        if is_ident(b[i]) && (i == 0 || !is_ident(b[i - 1])) {
            let end = i + b[i..].iter().take_while(|&&c| is_ident(c)).count();
            let word = &code[i..end];
            let after = code[end..].trim_start();
            let bang = after.starts_with('!') && !after.starts_with("!=");
            let assert_macro = ["assert", "debug_assert", "prop_assert"].iter().any(|p| word.starts_with(p));
            if bang && (assert_macro || word == "panic" || word == "unreachable") {
                return true;
            }
            let before = code[..i].trim_end();
            if (word == "unwrap_err" || word == "expect_err") && before.ends_with('.') && after.starts_with('(') {
                return true;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    false
}

/// Whether `code` calls `name(` as a function or method.
fn calls(code: &str, name: &str) -> bool {
    let b = code.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut from = 0;
    while let Some(p) = code[from..].find(name) {
        let at = from + p;
        from = at + name.len();
        let end = at + name.len();
        if (at > 0 && is_ident(b[at - 1])) || b.get(end).is_some_and(|&c| is_ident(c)) {
            continue;
        }
        let after = code[end..].trim_start();
        let before = code[..at].trim_end();
        if (after.starts_with('(') || after.starts_with("::<")) && !before.ends_with("fn") {
            return true;
        }
    }
    false
}

/// The module files `path` declares with `mod name;`, as paths next to it (`name.rs`, `name/mod.rs`).
fn declared_modules(path: &Path, code: &str) -> Vec<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        if let Some(name) = line.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            let name = name.trim();
            out.push(dir.join(format!("{name}.rs")));
            out.push(dir.join(name).join("mod.rs"));
        }
    }
    out
}

/// Checks every test function in `files` (path and source). Returns one line per test that asserts nothing and
/// is not marked, as `path:line: …`.
pub fn check(files: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let blanked: BTreeMap<&Path, Blanked> = files.iter().map(|(p, s)| (p.as_path(), blank(s))).collect();
    let funcs: BTreeMap<&Path, Vec<Func>> = blanked.iter().map(|(p, (code, _))| (*p, functions(code))).collect();
    let mut problems = Vec::new();
    for (path, (code, comments)) in &blanked {
        // The helpers a test here may call: this file's functions and those of the module files it declares.
        let mut helpers: Vec<(&str, &Func)> = funcs[path].iter().map(|f| (code.as_str(), f)).collect();
        for m in declared_modules(path, code) {
            if let (Some((mcode, _)), Some(mf)) = (blanked.get(m.as_path()), funcs.get(m.as_path())) {
                helpers.extend(mf.iter().map(|f| (mcode.as_str(), f)));
            }
        }
        // The helpers that assert, to a fixed point (a helper may assert through another).
        let mut asserting: BTreeSet<String> = BTreeSet::new();
        loop {
            let before = asserting.len();
            for (c, f) in &helpers {
                let body = &c[f.body.0..f.body.1];
                if !asserting.contains(&f.name)
                    && (asserts_directly(body) || asserting.iter().any(|name| calls(body, name)))
                {
                    asserting.insert(f.name.clone());
                }
            }
            if asserting.len() == before {
                break;
            }
        }
        for f in &funcs[path] {
            if !f.attrs.iter().any(|a| is_test_attr(a)) {
                continue;
            }
            let body = &code[f.body.0..f.body.1];
            if asserts_directly(body) || asserting.iter().any(|n| *n != f.name && calls(body, n)) {
                continue;
            }
            if f.attrs.iter().any(|a| a.starts_with("#[should_panic")) {
                continue;
            }
            // A marker in the body, or in the comments right above the function (doc comments included): the
            // lines above its attributes that are blank once comments are wiped.
            let mut above_start = f.start;
            while above_start > 0 {
                let prev = code[..above_start - 1].rfind('\n').map_or(0, |p| p + 1);
                if !code[prev..above_start - 1].trim().is_empty() {
                    break;
                }
                above_start = prev;
            }
            let marked = comments.iter().any(|(at, text)| {
                let inside = (f.body.0..f.body.1).contains(at) || (above_start..f.start).contains(at);
                inside
                    && text
                        .find(MARKER)
                        .is_some_and(|p| !text[p + MARKER.len()..].trim().trim_end_matches("*/").is_empty())
            });
            if !marked {
                let line = code[..f.body.0].matches('\n').count() + 1;
                problems.push(format!(
                    "{}:{line}: test `{}` asserts nothing (add an assertion, or `// {MARKER} <reason>`)",
                    path.display(),
                    f.name
                ));
            }
        }
    }
    problems
}

/// The Rust files of the workspace's crates (`crates/`, `xtask/`), skipping `target` and hidden directories,
/// keyed by their path relative to `root`.
pub fn workspace_files(root: &Path) -> std::io::Result<BTreeMap<PathBuf, String>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    walk(root, &path, out)?;
                }
            } else if name.ends_with(".rs") {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.insert(rel, std::fs::read_to_string(&path)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    for top in ["crates", "xtask"] {
        let dir = root.join(top);
        if dir.is_dir() {
            walk(root, &dir, &mut out)?;
        }
    }
    Ok(out)
}

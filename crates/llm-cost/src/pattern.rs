//! Regular expressions, compiled by `fancy-regex` (already linked into the `llm` binary through jsonschema).
//!
//! Two users: the price file's `fallback_generalizations` rules (Python `re` patterns with lookahead, searched
//! case-insensitively: [`Pattern`]) and the name strippers of `resolve.rs` (LiteLLM's `re.sub` patterns:
//! [`Pattern::exact`]). A pattern is compiled once, on first use, and the compiled form is shared by every
//! catalog that uses the same text (a process-wide cache), so loading a catalog compiles nothing.
//!
//! Hostile patterns (a custom catalog's) cannot hang or crash a lookup: fancy-regex bounds a pattern's nesting
//! (64 groups) and its backtracking ([`BACKTRACK_LIMIT`]), the delegated `regex` automata are size-bounded
//! ([`DELEGATE_SIZE_LIMIT`]); a pattern that fails to compile is reported when the rules are read (a syntax
//! error) or when the catalog is validated (anything else), and a search that exceeds a limit is no match.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};

use fancy_regex::{Regex, RegexBuilder};

/// The most backtracking steps one search may take; past it the search reports no match.
pub(crate) const BACKTRACK_LIMIT: usize = 100_000;

/// The size limit of each `regex` automaton a pattern delegates to (bytes, approximate).
pub(crate) const DELEGATE_SIZE_LIMIT: usize = 1 << 20;

/// Compiled patterns kept by the cache before it starts over (every catalog has a few dozen).
const CACHE_CAPACITY: usize = 1024;

type Compiled = Result<Arc<Regex>, Arc<str>>;

/// Compiled patterns by (text, case-insensitive).
type Cache = HashMap<(Box<str>, bool), Compiled>;
static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

fn build(pattern: &str, case_insensitive: bool) -> Compiled {
    let key = (Box::from(pattern), case_insensitive);
    if let Some(hit) = CACHE.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return hit.clone();
    }
    // compiled outside the lock: a slow pattern never holds up another thread's lookups
    let compiled = RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .backtrack_limit(BACKTRACK_LIMIT)
        .delegate_size_limit(DELEGATE_SIZE_LIMIT)
        .build()
        .map(Arc::new)
        .map_err(|e| Arc::from(e.to_string()));
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= CACHE_CAPACITY {
        cache.clear();
    }
    cache.insert(key, compiled.clone());
    compiled
}

/// A regular expression, compiled on first use.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    text: Arc<str>,
    case_insensitive: bool,
    compiled: Arc<OnceLock<Compiled>>,
}

impl Pattern {
    /// A price-file rule pattern, searched as `re.search(pattern, text, re.IGNORECASE)`. Checks the syntax now
    /// (cheap: no automaton is built); the error says what is wrong.
    pub(crate) fn new(pattern: &str) -> Result<Pattern, String> {
        fancy_regex::Expr::parse_tree(pattern).map_err(|e| e.to_string())?;
        Ok(Pattern::unchecked(pattern, true))
    }

    /// A case-sensitive pattern written in this crate.
    pub(crate) fn exact(pattern: &'static str) -> Pattern {
        Pattern::unchecked(pattern, false)
    }

    fn unchecked(pattern: &str, case_insensitive: bool) -> Pattern {
        Pattern { text: Arc::from(pattern), case_insensitive, compiled: Arc::new(OnceLock::new()) }
    }

    /// Compiles a rule pattern fully (what [`Pattern::new`] defers), for validation: the error says why it
    /// cannot be used.
    pub(crate) fn check(pattern: &str) -> Result<(), String> {
        Pattern::new(pattern)?.regex().map(|_| ()).map_err(str::to_owned)
    }

    fn regex(&self) -> Result<&Regex, &str> {
        match self.compiled.get_or_init(|| build(&self.text, self.case_insensitive)) {
            Ok(re) => Ok(re),
            Err(e) => Err(e),
        }
    }

    /// Whether the pattern matches anywhere in `text`; a pattern that does not compile, or a search past the
    /// backtracking limit, is no match.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.regex().is_ok_and(|re| re.is_match(text).unwrap_or(false))
    }

    /// `re.sub(pattern, replacement, text, count=1)`: the first match replaced (`$1` names a group), `text`
    /// unchanged when there is none or the search fails.
    pub(crate) fn replace<'t>(&self, text: &'t str, replacement: &str) -> Cow<'t, str> {
        match self.regex() {
            Ok(re) => re.try_replacen(text, 1, replacement).unwrap_or(Cow::Borrowed(text)),
            Err(_) => Cow::Borrowed(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_patterns_search_case_insensitively_with_lookahead() {
        let p = Pattern::new(r"claude-[a-z]+-[5-9](?!\d)").unwrap();
        assert!(p.is_match("anthropic/Claude-Opus-5"));
        assert!(p.is_match("claude-opus-5-20260101"));
        assert!(!p.is_match("claude-opus-50"));
        let anchored = Pattern::new(r"^(?!.*search-api)(?:[a-z0-9_.-]+/)*gpt-[5-9](?![0-9.])").unwrap();
        assert!(anchored.is_match("openai/GPT-5"));
        assert!(!anchored.is_match("gpt-5-search-api"));
        assert!(!anchored.is_match("my gpt-5"));
        assert!(Pattern::new(r"\bo1\b").unwrap().is_match("x o1 y"));
    }

    #[test]
    fn bad_and_hostile_patterns_are_errors_or_no_match() {
        for bad in ["(", "[a-", "(?P<x", "(?<=x"] {
            assert!(Pattern::new(bad).is_err(), "{bad:?} should not compile");
        }
        let deep = "(".repeat(200) + &")".repeat(200);
        assert!(Pattern::new(&deep).is_err(), "nesting is bounded");
        // exponential backtracking (a backreference forces the backtracking engine): stops at the limit
        let hostile = Pattern::new(r"^(a+)+\1$").unwrap();
        let text = "a".repeat(40) + "b";
        let started = std::time::Instant::now();
        assert!(!hostile.is_match(&text));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // a pattern that parses but whose automaton is too large: a typed error at validation, no match in use
        let huge = r"\w{1000}{1000}";
        let err = Pattern::check(huge).unwrap_err();
        assert_eq!(err, "Error compiling regex: Regex error: error building NFA");
        assert!(!Pattern::new(huge).unwrap().is_match("abc"));
    }

    #[test]
    fn compiled_once_and_shared() {
        let a = Pattern::new("shared-[0-9]+").unwrap();
        let b = Pattern::new("shared-[0-9]+").unwrap();
        assert!(a.is_match("SHARED-12") && b.is_match("shared-3"));
        let (Ok(ra), Ok(rb)) = (a.regex(), b.regex()) else { panic!("both compile") };
        assert!(std::ptr::eq(ra, rb), "the compiled form is cached per pattern text");
    }

    #[test]
    fn replace_is_python_re_sub_once() {
        let p = Pattern::exact(r"(:\d+):\d+k$");
        assert_eq!(p.replace("model-v1:0:51k", "$1"), "model-v1:0");
        assert_eq!(p.replace("model-v1:0", "$1"), "model-v1:0");
        assert_eq!(Pattern::exact(r"-\d+$").replace("gemini-1.5-pro-002", ""), "gemini-1.5-pro");
        assert_eq!(Pattern::exact("X").replace("x", ""), "x", "exact patterns are case-sensitive");
    }
}

//! A small backtracking matcher for the regular expressions of the price file's `fallback_generalizations`.
//!
//! Those patterns are Python `re` patterns searched case-insensitively, and they use lookahead
//! (`(?!\d)`), which the `regex` crate does not support. Rather than a heavy dependency, this module implements
//! the subset they use: literals and escapes, `.`, classes (`[a-z0-9_.-]`, `[^…]`, `\d \w \s` and their
//! negations), groups (`(…)`, `(?:…)`), lookahead (`(?=…)`, `(?!…)`), alternation, the quantifiers
//! `* + ? {n} {n,} {n,m}` (greedy; a lazy `?` suffix is accepted and matches the same set of strings), anchors
//! `^ $` and `\b`. Anything else is a compile error, so an unsupported rule is reported, never guessed at.
//!
//! Matching is `re.search` with `re.IGNORECASE`. A step budget bounds the work on hostile patterns: a search that
//! exhausts it reports no match.

use std::cell::Cell;

/// The most backtracking steps one search may take (it also bounds the matcher's recursion depth).
const STEP_BUDGET: u32 = 20_000;

/// Longer inputs never match: no model name is this long, and it bounds the work and the stack.
const MAX_INPUT_CHARS: usize = 512;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Regex {
    root: Alt,
    anchored_start: bool,
    /// A literal every match contains (lowercase ASCII), to reject most names without backtracking.
    literal: Option<String>,
}

#[derive(Debug, Clone)]
struct Alt(Vec<Vec<Node>>);

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Class(Class),
    Start,
    End,
    WordBoundary(bool),
    Group(Alt),
    Look { negative: bool, alt: Alt },
    Repeat { node: Box<Node>, min: u32, max: Option<u32> },
}

#[derive(Debug, Clone)]
struct Class {
    negated: bool,
    items: Vec<ClassItem>,
}

#[derive(Debug, Clone, Copy)]
enum ClassItem {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

impl Class {
    fn matches(&self, c: char) -> bool {
        let lower = lower(c);
        let upper = c.to_uppercase().next().unwrap_or(c);
        let hit = self.items.iter().any(|item| match *item {
            ClassItem::Range(a, b) => [c, lower, upper].iter().any(|x| (a..=b).contains(x)),
            ClassItem::Digit(neg) => c.is_ascii_digit() != neg,
            ClassItem::Word(neg) => is_word(c) != neg,
            ClassItem::Space(neg) => c.is_whitespace() != neg,
        });
        hit != self.negated
    }
}

fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Regex {
    /// Compiles a pattern; the error names what is not supported.
    pub(crate) fn new(pattern: &str) -> Result<Regex, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = Compiler { chars: &chars, pos: 0, depth: 0 };
        let root = p.alt()?;
        if p.pos != chars.len() {
            return Err(format!("unbalanced ')' at offset {}", p.pos));
        }
        let anchored_start = root.0.iter().all(|seq| matches!(seq.first(), Some(Node::Start)));
        let literal = required_literal(&root);
        Ok(Regex { root, anchored_start, literal })
    }

    /// `re.search(pattern, text, re.IGNORECASE) is not None`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        if text.len() > MAX_INPUT_CHARS * 4 || text.chars().count() > MAX_INPUT_CHARS {
            return false;
        }
        if let Some(lit) = &self.literal {
            let hay = text.as_bytes();
            let needle = lit.as_bytes();
            if hay.len() < needle.len() || !hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle)) {
                return false;
            }
        }
        let input: Vec<char> = text.chars().collect();
        let m = Matcher { input: &input, steps: Cell::new(0) };
        let last_start = if self.anchored_start { 0 } else { input.len() };
        (0..=last_start).any(|start| m.alt(&self.root, start, &mut |_| true))
    }
}

/// The longest run of plain characters in a pattern without alternation at the top: every match contains it.
fn required_literal(root: &Alt) -> Option<String> {
    let [seq] = root.0.as_slice() else { return None };
    let mut best = String::new();
    let mut run = String::new();
    for node in seq {
        match node {
            Node::Char(c) if c.is_ascii() => run.push(*c),
            // zero-width assertions do not break a run of characters
            Node::Start | Node::End | Node::WordBoundary(_) | Node::Look { .. } => {}
            _ => {
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
        }
    }
    if run.len() > best.len() {
        best = run;
    }
    (best.len() >= 2).then_some(best)
}

struct Compiler<'p> {
    chars: &'p [char],
    pos: usize,
    depth: usize,
}

impl Compiler<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn alt(&mut self) -> Result<Alt, String> {
        self.depth += 1;
        if self.depth > 32 {
            return Err("pattern nested too deep".into());
        }
        let mut alts = vec![self.seq()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.seq()?);
        }
        self.depth -= 1;
        Ok(Alt(alts))
    }

    fn seq(&mut self) -> Result<Vec<Node>, String> {
        let mut nodes = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let node = self.quantifier(atom)?;
            nodes.push(node);
        }
        Ok(nodes)
    }

    fn quantifier(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => {
                self.pos += 1;
                (0, None)
            }
            Some('+') => {
                self.pos += 1;
                (1, None)
            }
            Some('?') => {
                self.pos += 1;
                (0, Some(1))
            }
            Some('{') => {
                let save = self.pos;
                match self.braces() {
                    Some(b) => b,
                    None => {
                        // a literal '{' as Python reads it
                        self.pos = save;
                        return Ok(atom);
                    }
                }
            }
            _ => return Ok(atom),
        };
        if matches!(atom, Node::Start | Node::End | Node::WordBoundary(_) | Node::Look { .. }) {
            return Err("quantifier on an assertion".into());
        }
        if self.peek() == Some('?') {
            self.pos += 1; // lazy: same language
        }
        if let Some(max) = max
            && max < min
        {
            return Err("quantifier range out of order".into());
        }
        Ok(Node::Repeat { node: Box::new(atom), min, max })
    }

    /// Parses `{n}`, `{n,}`, `{n,m}`; leaves `pos` after the brace. `None` when it is not a quantifier.
    fn braces(&mut self) -> Option<(u32, Option<u32>)> {
        self.pos += 1;
        let read = |c: &mut Self| {
            let start = c.pos;
            while matches!(c.peek(), Some('0'..='9')) {
                c.pos += 1;
            }
            let s: String = c.chars.get(start..c.pos)?.iter().collect();
            if s.is_empty() { None } else { s.parse::<u32>().ok().filter(|n| *n <= 1000) }
        };
        let min = read(self)?;
        let max = if self.peek() == Some(',') {
            self.pos += 1;
            if self.peek() == Some('}') { None } else { Some(read(self)?) }
        } else {
            Some(min)
        };
        if self.next() != Some('}') {
            return None;
        }
        Some((min, max))
    }

    fn atom(&mut self) -> Result<Node, String> {
        let c = self.next().ok_or("unexpected end of pattern")?;
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '[' => Node::Class(self.class()?),
            '(' => {
                let node = if self.peek() == Some('?') {
                    self.pos += 1;
                    match self.next() {
                        Some(':') => Node::Group(self.alt()?),
                        Some('=') => Node::Look { negative: false, alt: self.alt()? },
                        Some('!') => Node::Look { negative: true, alt: self.alt()? },
                        _ => return Err("unsupported group syntax (?…)".into()),
                    }
                } else {
                    Node::Group(self.alt()?)
                };
                if self.next() != Some(')') {
                    return Err("missing ')'".into());
                }
                node
            }
            ')' => return Err("unbalanced ')'".into()),
            '*' | '+' | '?' => return Err(format!("nothing to repeat before '{c}'")),
            '\\' => self.escape(false)?,
            c => Node::Char(lower(c)),
        })
    }

    fn escape(&mut self, in_class: bool) -> Result<Node, String> {
        let c = self.next().ok_or("pattern ends with '\\'")?;
        let class = |item| Node::Class(Class { negated: false, items: vec![item] });
        Ok(match c {
            'd' => class(ClassItem::Digit(false)),
            'D' => class(ClassItem::Digit(true)),
            'w' => class(ClassItem::Word(false)),
            'W' => class(ClassItem::Word(true)),
            's' => class(ClassItem::Space(false)),
            'S' => class(ClassItem::Space(true)),
            'b' if !in_class => Node::WordBoundary(true),
            'B' if !in_class => Node::WordBoundary(false),
            'n' => Node::Char('\n'),
            't' => Node::Char('\t'),
            'r' => Node::Char('\r'),
            c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape \\{c}")),
            c => Node::Char(lower(c)),
        })
    }

    fn class(&mut self) -> Result<Class, String> {
        let mut negated = false;
        if self.peek() == Some('^') {
            negated = true;
            self.pos += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.next().ok_or("missing ']'")?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                match self.escape(true)? {
                    Node::Char(ch) => ch,
                    Node::Class(cl) => {
                        items.extend(cl.items);
                        continue;
                    }
                    _ => return Err("unsupported escape in class".into()),
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|n| *n != ']') {
                self.pos += 1;
                let hi = match self.next().ok_or("missing ']'")? {
                    '\\' => match self.escape(true)? {
                        Node::Char(ch) => ch,
                        _ => return Err("bad class range".into()),
                    },
                    h => h,
                };
                if hi < lo {
                    return Err("class range out of order".into());
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Class { negated, items })
    }
}

struct Matcher<'i> {
    input: &'i [char],
    steps: Cell<u32>,
}

impl Matcher<'_> {
    fn tick(&self) -> bool {
        let s = self.steps.get().saturating_add(1);
        self.steps.set(s);
        s <= STEP_BUDGET
    }

    fn alt(&self, alt: &Alt, pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        alt.0.iter().any(|seq| self.seq(seq, pos, k))
    }

    fn seq(&self, seq: &[Node], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        if !self.tick() {
            return false;
        }
        let Some((node, rest)) = seq.split_first() else { return k(pos) };
        match node {
            Node::Char(_) | Node::Any | Node::Class(_) => self.single(node, pos) && self.seq(rest, pos + 1, k),
            Node::Start => pos == 0 && self.seq(rest, pos, k),
            Node::End => pos == self.input.len() && self.seq(rest, pos, k),
            Node::WordBoundary(want) => {
                let before = pos > 0 && self.input.get(pos - 1).is_some_and(|c| is_word(*c));
                let after = self.input.get(pos).is_some_and(|c| is_word(*c));
                ((before != after) == *want) && self.seq(rest, pos, k)
            }
            Node::Group(alt) => self.alt(alt, pos, &mut |p| self.seq(rest, p, k)),
            Node::Look { negative, alt } => {
                let found = self.alt(alt, pos, &mut |_| true);
                found != *negative && self.seq(rest, pos, k)
            }
            Node::Repeat { node, min, max } => self.repeat(node, *min, *max, 0, pos, rest, k),
        }
    }

    #[expect(clippy::too_many_arguments, reason = "the matcher's recursion state")]
    fn repeat(
        &self,
        node: &Node,
        min: u32,
        max: Option<u32>,
        count: u32,
        pos: usize,
        rest: &[Node],
        k: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        if !self.tick() {
            return false;
        }
        if max.is_none_or(|m| count < m) {
            let one = std::slice::from_ref(node);
            // greedy: one more, then the rest; an empty iteration past `min` would loop forever
            if self
                .seq(one, pos, &mut |p| (p > pos || count < min) && self.repeat(node, min, max, count + 1, p, rest, k))
            {
                return true;
            }
        }
        count >= min && self.seq(rest, pos, k)
    }

    fn single(&self, node: &Node, pos: usize) -> bool {
        let Some(&c) = self.input.get(pos) else { return false };
        match node {
            Node::Char(want) => lower(c) == *want,
            Node::Any => c != '\n',
            Node::Class(class) => class.matches(c),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).unwrap().is_match(t)
    }

    #[test]
    fn basics() {
        assert!(m("abc", "xxabcxx"));
        assert!(!m("^abc", "xabc"));
        assert!(m("^a.c$", "AbC"));
        assert!(m("a|b", "zzb"));
        assert!(m("^(?:[a-z-]+\\.)?anthropic\\.claude-", "us.anthropic.claude-3"));
        assert!(m("^(?:[a-z-]+\\.)?anthropic\\.claude-", "anthropic.claude-3"));
        assert!(!m("^(?:[a-z-]+\\.)?anthropic\\.claude-", "bedrock/anthropic.claude-3"));
        assert!(m("^x{2,3}$", "xxx"));
        assert!(!m("^x{2,3}$", "xxxx"));
        assert!(m("^a{2}b?$", "aa"));
        assert!(m("\\d+", "a12"));
        assert!(!m("^\\d+$", "a12"));
        assert!(m("[^a-z]", "abc1"));
        assert!(m("\\bfoo\\b", "a foo b"));
        assert!(!m("\\bfoo\\b", "afoob"));
        assert!(m("a{x", "a{x"));
    }

    #[test]
    fn lookahead_and_case() {
        let p = "claude-[a-z]+-(?:4[-._](?:[6-9]|[1-9]\\d)(?!\\d)|[5-9](?!\\d)(?:[-._]\\d{1,2}(?!\\d))?)";
        assert!(m(p, "claude-opus-4-6"));
        assert!(m(p, "CLAUDE-Fable-5"));
        assert!(m(p, "bedrock/us.anthropic.claude-sonnet-4-7-20260101-v1:0"));
        assert!(!m(p, "claude-opus-4-20250514"));
        assert!(!m(p, "claude-opus-41"));
        assert!(!m(p, "claude-opus-4-5"));
        let g = "gemini-(?!.*(?:-tts|-image))(?:2[.-][5-9]|[3-9](?:[.-]\\d{1,2})?)-(?:pro|flash)(?:-lite)?(?![a-z])";
        assert!(m(g, "gemini/gemini-2.5-flash"));
        assert!(!m(g, "gemini-2.5-flash-image"));
        assert!(m(g, "gemini-3-pro-preview"));
        assert!(!m(g, "gemini-2.0-flash"));
    }

    #[test]
    fn unsupported_syntax_is_an_error() {
        for bad in ["(?<=a)b", "a(", "a)", "[a", "*a", "\\p{L}", "(?P<x>a)", "[z-a]", "a{3,1}", "^*"] {
            assert!(Regex::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn literal_prefilter() {
        let r = Regex::new("^(?:[a-z-]+\\.)?anthropic\\.claude-").unwrap();
        assert_eq!(r.literal.as_deref(), Some("anthropic.claude-"));
        assert!(r.is_match("US.Anthropic.Claude-x"));
        assert!(Regex::new("a|b").unwrap().literal.is_none());
    }

    #[test]
    fn long_inputs_do_not_overflow_the_stack() {
        // a test thread has a small stack; the budget keeps the recursion shallow
        let text = "a/".repeat(255) + "x";
        let r = Regex::new("^(?!.*search-api)(?:[a-z0-9_.-]+/)*(?:ft:)?(?:o[1-9]\\d*(?![a-z0-9])|gpt-[5-9])").unwrap();
        assert!(!r.is_match(&text));
        assert!(!Regex::new("a*").unwrap().is_match(&"b".repeat(100_000)));
        assert!(Regex::new("x").unwrap().is_match(&text));
    }

    #[test]
    fn catastrophic_patterns_stop() {
        let r = Regex::new("^(a+)+$").unwrap();
        let text = "a".repeat(40) + "b";
        assert!(!r.is_match(&text));
        assert!(r.is_match("aaaa"));
    }
}

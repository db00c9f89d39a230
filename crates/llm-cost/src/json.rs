//! A small JSON reader and writer that keeps every number as its exact text.
//!
//! Prices must never go through `f64`, and serde_json without `arbitrary_precision` (which would change number
//! handling for the whole workspace) only hands out floats. So the catalog is read with this parser: numbers
//! stay the text the file spelled (`2.5e-06`), strings borrow from the input when they have no escapes, objects
//! keep their key order and their duplicate keys (the normalizer reports those). It never panics on input, and
//! nesting deeper than [`MAX_DEPTH`] is an error rather than a stack overflow.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The deepest nesting the reader accepts.
pub(crate) const MAX_DEPTH: usize = 64;

/// A parsed JSON value borrowing from its input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its exact text.
    Num(&'a str),
    /// A string.
    Str(Cow<'a, str>),
    /// An array.
    Arr(Vec<Json<'a>>),
    /// An object, keys in file order (duplicates kept).
    Obj(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// The value of `key` in an object (the last one, as JSON readers usually do), `None` otherwise.
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Obj(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, for a string value.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the value's type, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Num(_) => "a number",
            Json::Str(_) => "a string",
            Json::Arr(_) => "an array",
            Json::Obj(_) => "an object",
        }
    }
}

/// A syntax error, with the line and column where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line} column {column}")]
pub(crate) struct JsonError {
    pub(crate) message: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Parses a whole JSON document.
pub(crate) fn parse(text: &str) -> Result<Json<'_>, JsonError> {
    let mut p = Parser { text, bytes: text.as_bytes(), pos: 0 };
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(p.error("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, message: &str) -> JsonError {
        let upto = self.text.get(..self.pos.min(self.text.len())).unwrap_or("");
        let line = upto.bytes().filter(|b| *b == b'\n').count() + 1;
        let column = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        JsonError { message: message.to_owned(), line, column }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, lit: &str) -> Result<(), JsonError> {
        if self.bytes.get(self.pos..self.pos + lit.len()) == Some(lit.as_bytes()) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') => self.expect_literal("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.expect_literal("false").map(|()| Json::Bool(false)),
            Some(b'n') => self.expect_literal("null").map(|()| Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            // Python's json module writes these for non-finite floats; read them so a validator can name the
            // offending field instead of failing on the whole file
            Some(b'N') => self.expect_literal("NaN").map(|()| Json::Num("NaN")),
            Some(b'I') => self.expect_literal("Infinity").map(|()| Json::Num("Infinity")),
            Some(_) => Err(self.error("expected a JSON value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json<'a>, JsonError> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Obj(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Obj(members));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json<'a>, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Arr(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Arr(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<Json<'a>, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
            if self.peek() == Some(b'I') {
                return self.expect_literal("Infinity").map(|()| Json::Num("-Infinity"));
            }
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
        }
        self.text.get(start..self.pos).map(Json::Num).ok_or_else(|| self.error("invalid number"))
    }

    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.pos += 1; // the opening quote
        let start = self.pos;
        // fast path: no escapes
        let rest = self.bytes.get(start..).unwrap_or(&[]);
        match find_special(rest) {
            Some(n) if rest.get(n) == Some(&b'"') => {
                self.pos = start + n;
                let s = self.text.get(start..self.pos).ok_or_else(|| self.error("invalid string"))?;
                self.pos += 1;
                return Ok(Cow::Borrowed(s));
            }
            Some(n) if rest.get(n) == Some(&b'\\') => self.pos = start + n,
            Some(n) => {
                self.pos = start + n;
                return Err(self.error("control character in string"));
            }
            None => {
                self.pos = self.bytes.len();
                return Err(self.error("unterminated string"));
            }
        }
        let mut out = String::from(self.text.get(start..self.pos).ok_or_else(|| self.error("invalid string"))?);
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = self.peek().ok_or_else(|| self.error("unterminated string"))?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let first = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&first) {
                                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(self.error("unpaired surrogate"));
                                }
                                self.pos += 2;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return Err(self.error("unpaired surrogate"));
                                }
                                char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                            } else {
                                char::from_u32(first)
                            };
                            out.push(c.ok_or_else(|| self.error("invalid unicode escape"))?);
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                Some(0..=0x1f) => return Err(self.error("control character in string")),
                Some(_) => {
                    // copy one UTF-8 character
                    let rest = self.text.get(self.pos..).unwrap_or("");
                    let c = rest.chars().next().ok_or_else(|| self.error("invalid string"))?;
                    out.push(c);
                    self.pos += c.len_utf8();
                }
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or_else(|| self.error("invalid unicode escape"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid unicode escape"))?;
        self.pos += 4;
        Ok(v)
    }
}

/// What [`skim`] keeps of one top-level member: its key, the byte range of its value, and, when the value is an
/// object, a few string fields of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Skimmed<'a> {
    pub(crate) key: Cow<'a, str>,
    pub(crate) span: std::ops::Range<usize>,
    pub(crate) is_object: bool,
    /// `(field, value)` for the requested string fields present in the object.
    pub(crate) fields: Vec<(&'static str, Cow<'a, str>)>,
    /// The `aliases` list of strings, when present.
    pub(crate) aliases: Vec<Cow<'a, str>>,
}

/// Reads a top-level object without building its values: each member's key and value span, and the string
/// fields named in `wanted` of object values. Validates the whole text as `parse` would.
pub(crate) fn skim<'a>(text: &'a str, wanted: &[&'static str]) -> Result<Vec<Skimmed<'a>>, JsonError> {
    let mut p = Parser { text, bytes: text.as_bytes(), pos: 0 };
    p.skip_ws();
    if p.peek() != Some(b'{') {
        return Err(p.error("expected a JSON object"));
    }
    p.pos += 1;
    let mut out = Vec::new();
    p.skip_ws();
    if p.peek() == Some(b'}') {
        p.pos += 1;
    } else {
        loop {
            p.skip_ws();
            if p.peek() != Some(b'"') {
                return Err(p.error("expected a string key"));
            }
            let key = p.string()?;
            p.skip_ws();
            if p.peek() != Some(b':') {
                return Err(p.error("expected ':'"));
            }
            p.pos += 1;
            p.skip_ws();
            let start = p.pos;
            let mut item =
                Skimmed { key, span: start..start, is_object: false, fields: Vec::new(), aliases: Vec::new() };
            if p.peek() == Some(b'{') {
                item.is_object = true;
                p.skim_object(wanted, &mut item)?;
            } else {
                p.skip_value(1)?;
            }
            item.span = start..p.pos;
            out.push(item);
            p.skip_ws();
            match p.peek() {
                Some(b',') => p.pos += 1,
                Some(b'}') => {
                    p.pos += 1;
                    break;
                }
                _ => return Err(p.error("expected ',' or '}'")),
            }
        }
    }
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(p.error("trailing characters after the JSON value"));
    }
    Ok(out)
}

impl<'a> Parser<'a> {
    fn skim_object(&mut self, wanted: &[&'static str], item: &mut Skimmed<'a>) -> Result<(), JsonError> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_ws();
            let want = wanted.iter().find(|w| **w == key);
            match (want, self.peek()) {
                (Some(w), Some(b'"')) => {
                    let v = self.string()?;
                    item.fields.retain(|(f, _)| f != w);
                    item.fields.push((w, v));
                }
                _ if key == "aliases" && self.peek() == Some(b'[') => {
                    if let Json::Arr(names) = self.value(2)? {
                        item.aliases = names
                            .into_iter()
                            .filter_map(|n| if let Json::Str(s) = n { Some(s) } else { None })
                            .collect();
                    }
                }
                _ => self.skip_value(2)?,
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    /// Validates and skips one value without building it.
    fn skip_value(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.error("expected a string key"));
                    }
                    self.skip_string()?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.error("expected ':'"));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error("expected ',' or ']'")),
                    }
                }
            }
            Some(b'"') => self.skip_string(),
            _ => self.value(depth).map(|_| ()),
        }
    }

    /// Skips a string, validating escapes, without copying it.
    fn skip_string(&mut self) -> Result<(), JsonError> {
        let open = self.pos;
        let rest = self.bytes.get(open + 1..).unwrap_or(&[]);
        match find_special(rest) {
            Some(n) if rest.get(n) == Some(&b'"') => {
                self.pos = open + 1 + n + 1;
                Ok(())
            }
            // an escape (rare) or an error: decode properly to validate it
            _ => self.string().map(|_| ()),
        }
    }
}

/// The offset of the first byte that ends a string's plain run: `"`, `\\` or a control character. Eight bytes at a
/// time (SWAR), so scanning the catalog's strings is cheap.
fn find_special(bytes: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        let x = u64::from_le_bytes(b);
        let quote = has_zero(x ^ (LO * u64::from(b'"')));
        let backslash = has_zero(x ^ (LO * u64::from(b'\\')));
        // bytes below 0x20 (ASCII only: bytes >= 0x80 have the high bit set and are excluded by `!x`)
        let control = x.wrapping_sub(LO * 0x20) & !x & HI;
        if quote | backslash | control != 0 {
            return chunk.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| offset + p);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| offset + p)
}

/// Writes `s` as a JSON string literal.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes a value compactly, object keys sorted (by byte order) and duplicates collapsed to the last, numbers
/// in [`canonical_number`] form.
pub(crate) fn write_canonical(out: &mut String, value: &Json<'_>) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(n) => out.push_str(&canonical_number(n)),
        Json::Str(s) => write_str(out, s),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Json::Obj(_) => {
            out.push('{');
            for (i, (k, v)) in sorted_members(value).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_canonical(out, v);
            }
            out.push('}');
        }
    }
}

/// The members of an object sorted by key, the last of duplicate keys kept; empty for other values.
pub(crate) fn sorted_members<'v, 'a>(value: &'v Json<'a>) -> Vec<(&'v str, &'v Json<'a>)> {
    let Json::Obj(members) = value else { return Vec::new() };
    let mut out: Vec<(&str, &Json<'a>)> = Vec::with_capacity(members.len());
    for (k, v) in members {
        out.push((k.as_ref(), v));
    }
    // stable sort keeps file order among duplicates; keep the last of each run
    out.sort_by(|a, b| a.0.cmp(b.0));
    let mut dedup: Vec<(&str, &Json<'a>)> = Vec::with_capacity(out.len());
    for (k, v) in out {
        match dedup.last_mut() {
            Some(last) if last.0 == k => *last = (k, v),
            _ => dedup.push((k, v)),
        }
    }
    dedup
}

/// `true` for the non-finite number texts the reader accepts (`NaN`, `Infinity`, `-Infinity`).
pub(crate) fn is_non_finite(text: &str) -> bool {
    matches!(text, "NaN" | "Infinity" | "-Infinity")
}

/// A JSON number's text in a stable plain-decimal form: no exponent, no leading zeros, no trailing fractional
/// zeros, no `-0`. `2.5e-06` → `0.0000025`, `1E+3` → `1000`, `0.10` → `0.1`, `3.0` → `3`. Exact: the digits are
/// moved, never rounded. A number whose exponent would make the text absurdly long is returned unchanged.
pub(crate) fn canonical_number(text: &str) -> String {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => {
            let exp_text = rest.get(i + 1..).unwrap_or("0");
            let exp_text = exp_text.strip_prefix('+').unwrap_or(exp_text);
            match exp_text.parse::<i64>() {
                Ok(e) if e.abs() <= 400 => (rest.get(..i).unwrap_or(""), e),
                _ => return text.to_owned(),
            }
        }
        None => (rest, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (mantissa.get(..i).unwrap_or(""), mantissa.get(i + 1..).unwrap_or("")),
        None => (mantissa, ""),
    };
    if !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit()) || int_part.is_empty() {
        return text.to_owned();
    }
    let digits: String = format!("{int_part}{frac_part}");
    // the decimal point sits after `point` digits
    let point = i64::try_from(int_part.len()).unwrap_or(0) + exponent;
    let (int_digits, frac_digits) = if point <= 0 {
        let zeros = usize::try_from(-point).unwrap_or(0);
        (String::new(), format!("{}{}", "0".repeat(zeros), digits))
    } else {
        let p = usize::try_from(point).unwrap_or(0);
        if p >= digits.len() {
            (format!("{}{}", digits, "0".repeat(p - digits.len())), String::new())
        } else {
            (digits.get(..p).unwrap_or("").to_owned(), digits.get(p..).unwrap_or("").to_owned())
        }
    };
    let int_digits = int_digits.trim_start_matches('0');
    let frac_digits = frac_digits.trim_end_matches('0');
    let mut out = String::new();
    let is_zero = int_digits.is_empty() && frac_digits.is_empty();
    if negative && !is_zero {
        out.push('-');
    }
    out.push_str(if int_digits.is_empty() { "0" } else { int_digits });
    if !frac_digits.is_empty() {
        out.push('.');
        out.push_str(frac_digits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text() {
        let v = parse(r#"{"a": 2.5e-06, "b": [1, -0.0, 3E+2], "c": "x\"y\u00e9\ud83d\ude00"}"#).unwrap();
        assert_eq!(v.get("a"), Some(&Json::Num("2.5e-06")));
        assert_eq!(v.get("c").and_then(Json::as_str), Some("x\"yé😀"));
        let Some(Json::Arr(items)) = v.get("b") else { panic!() };
        assert_eq!(items, &vec![Json::Num("1"), Json::Num("-0.0"), Json::Num("3E+2")]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "1e",
            "\"abc",
            "\"\\x\"",
            "\"\\ud800\"",
            "tru",
            "{}x",
            "\"\u{1}\"",
            "[\"\\u12\"]",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&deep).unwrap_err().message.contains("deep"));
        let err = parse("{\n  \"a\": x}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 8));
    }

    #[test]
    fn special_bytes_are_found() {
        for (text, want) in [
            ("abcdefgh\"", Some(8)),
            ("a\\b", Some(1)),
            ("0123456789abcdef\u{1}", Some(16)),
            ("ééééé\"", Some(10)),
            ("plain", None),
            ("", None),
        ] {
            assert_eq!(find_special(text.as_bytes()), want, "{text:?}");
        }
        let s: String = parse("\"αβγδεζηθικλμνξοπ\\n\"").unwrap().as_str().unwrap().to_owned();
        assert_eq!(s, "αβγδεζηθικλμνξοπ\n");
    }

    #[test]
    fn non_finite_numbers_are_read_as_text() {
        let v = parse("[NaN, Infinity, -Infinity]").unwrap();
        assert_eq!(v, Json::Arr(vec![Json::Num("NaN"), Json::Num("Infinity"), Json::Num("-Infinity")]));
        assert!(parse("Nan").is_err());
    }

    #[test]
    fn canonical_numbers() {
        for (input, want) in [
            ("2.5e-06", "0.0000025"),
            ("1e-05", "0.00001"),
            ("1E+3", "1000"),
            ("0.10", "0.1"),
            ("3.0", "3"),
            ("128000", "128000"),
            ("-0.0", "0"),
            ("0", "0"),
            ("1.5e2", "150"),
            ("12.345e1", "123.45"),
            ("0.000", "0"),
            ("-2E-2", "-0.02"),
            ("1e999", "1e999"),
        ] {
            assert_eq!(canonical_number(input), want, "{input}");
        }
    }

    #[test]
    fn canonical_writing_sorts_and_dedups() {
        let v = parse(r#"{"b": 1, "a": {"z": 1e-1, "y": null}, "b": 2}"#).unwrap();
        let mut out = String::new();
        write_canonical(&mut out, &v);
        assert_eq!(out, r#"{"a": {"y": null, "z": 0.1}, "b": 2}"#);
    }
}

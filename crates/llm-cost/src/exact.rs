//! JSON values whose numbers keep their exact text, read by serde_json.
//!
//! Prices must never go through `f64`, and serde_json without `arbitrary_precision` (which would change number
//! handling for the whole workspace) hands numbers out as floats. So the catalog is read as borrowed
//! [`RawValue`]s: serde_json checks the syntax and hands back each value's exact text, and a number stays the
//! text the file spelled (`2.5e-06`), turned into a `Decimal` by the price code. Objects keep their key order
//! and their duplicate keys (serde_json's `Map` would keep the last one silently; the normalizer reports them).
//! Nesting deeper than [`MAX_DEPTH`] is an error (serde_json skips raw values without recursing, so the text is
//! never a stack risk). Rows are only turned into trees when first used ([`parse`]); loading a catalog reads the
//! keys and a few index fields ([`skim`]).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

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

impl JsonError {
    /// serde_json's error for `part`, a slice of `whole`, placed in `whole`.
    fn at(whole: &str, part: &str, e: &serde_json::Error) -> JsonError {
        let text = e.to_string();
        let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m).to_owned();
        let offset = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
        let before = whole.get(..offset).unwrap_or("");
        let base_line = before.bytes().filter(|b| *b == b'\n').count();
        let base_column = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
        let line = base_line + e.line().max(1);
        let column = if e.line() <= 1 { base_column + e.column() } else { e.column() };
        JsonError { message, line, column }
    }

    fn new(whole: &str, part: &str, message: &str) -> JsonError {
        let offset = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
        let before = whole.get(..offset).unwrap_or("");
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        JsonError { message: message.to_owned(), line, column }
    }
}

/// A string that borrows from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// An object's members as raw values, in file order, duplicate keys kept.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    out.push((key, value));
                }
                Ok(Members(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// Parses a whole JSON document.
pub(crate) fn parse(text: &str) -> Result<Json<'_>, JsonError> {
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| JsonError::at(text, text, &e))?;
    build(text, raw.get(), 0)
}

/// The tree of `part` (a value's exact text inside `whole`, already checked by serde_json).
fn build<'a>(whole: &str, part: &'a str, depth: usize) -> Result<Json<'a>, JsonError> {
    match part.as_bytes().first() {
        Some(b'{' | b'[') if depth >= MAX_DEPTH => Err(JsonError::new(whole, part, "nesting too deep")),
        Some(b'{') => {
            let Members(members) = serde_json::from_str(part).map_err(|e| JsonError::at(whole, part, &e))?;
            let mut out = Vec::with_capacity(members.len());
            for (k, v) in members {
                out.push((k, build(whole, v.get(), depth + 1)?));
            }
            Ok(Json::Obj(out))
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(part).map_err(|e| JsonError::at(whole, part, &e))?;
            items.into_iter().map(|v| build(whole, v.get(), depth + 1)).collect::<Result<_, _>>().map(Json::Arr)
        }
        Some(b'"') => {
            let Text(s) = serde_json::from_str(part).map_err(|e| JsonError::at(whole, part, &e))?;
            Ok(Json::Str(s))
        }
        Some(b't') => Ok(Json::Bool(true)),
        Some(b'f') => Ok(Json::Bool(false)),
        Some(b'n') => Ok(Json::Null),
        _ => Ok(Json::Num(part)),
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
/// fields named in `wanted` of object values. Checks the syntax of the whole text.
///
/// One pass: serde_json reads the top-level object once, each row through [`RowFields`] (the index fields
/// taken, every other value skipped). A row's span is recovered from where its key and the next key sit in
/// the text (keys without escapes borrow from it; between them JSON allows only whitespace, `:` and `,`).
/// When that cannot be done (an escaped top-level key) or the one pass fails, the text is read again the
/// slower way ([`skim_twice`]), which also gives the error.
pub(crate) fn skim<'a>(text: &'a str, wanted: &[&'static str]) -> Result<Vec<Skimmed<'a>>, JsonError> {
    let start = text.trim_start_matches(WS);
    if !start.starts_with('{') {
        return Err(JsonError::new(text, start, "expected a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let Ok(rows) = TopLevel { wanted }.deserialize(&mut de).and_then(|rows| de.end().map(|()| rows)) else {
        return skim_twice(text, wanted);
    };
    let Some(spans) = spans_between_keys(text, &rows) else { return skim_twice(text, wanted) };
    Ok(rows
        .into_iter()
        .zip(spans)
        .map(|(row, span)| Skimmed {
            key: row.key,
            span,
            is_object: row.is_object,
            fields: row.fields,
            aliases: row.aliases,
        })
        .collect())
}

const WS: [char; 4] = [' ', '\t', '\n', '\r'];

/// The byte range of each member's value, from the positions of the (borrowed) keys: after key `i` come
/// whitespace, `:`, whitespace and the value; before key `i + 1`'s quote, whitespace, `,` and whitespace; after
/// the last value, whitespace, `}` and whitespace. `None` when a key does not borrow from `text` or the
/// separators are not where they must be.
fn spans_between_keys(text: &str, rows: &[RowOut<'_>]) -> Option<Vec<std::ops::Range<usize>>> {
    let base = text.as_ptr() as usize;
    let key_at = |row: &RowOut<'_>| -> Option<std::ops::Range<usize>> {
        let Cow::Borrowed(k) = &row.key else { return None };
        let at = (k.as_ptr() as usize).checked_sub(base)?;
        let quoted = at >= 1 && text.as_bytes().get(at - 1) == Some(&b'"');
        (quoted && text.as_bytes().get(at + k.len()) == Some(&b'"')).then_some(at..at + k.len())
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut next = key_at(rows.first()?)?;
    for i in 0..rows.len() {
        let key = next.clone();
        // after the key's closing quote
        let after = text.get(key.end + 1..)?.trim_start_matches(WS).strip_prefix(':')?.trim_start_matches(WS);
        let start = text.len() - after.len();
        let before = match rows.get(i + 1) {
            Some(row) => {
                next = key_at(row)?;
                // up to the next key's opening quote
                text.get(..next.start - 1)?.trim_end_matches(WS).strip_suffix(',')?
            }
            None => text.trim_end_matches(WS).strip_suffix('}')?,
        };
        let end = before.trim_end_matches(WS).len();
        if end <= start {
            return None;
        }
        out.push(start..end);
    }
    Some(out)
}

/// [`skim`] in two reads: the members as raw values, then each object row's fields.
fn skim_twice<'a>(text: &'a str, wanted: &[&'static str]) -> Result<Vec<Skimmed<'a>>, JsonError> {
    let Members(members) = serde_json::from_str(text).map_err(|e| JsonError::at(text, text, &e))?;
    let mut out = Vec::with_capacity(members.len());
    for (key, raw) in members {
        let value = raw.get();
        let offset = (value.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        let mut item = Skimmed {
            key,
            span: offset..offset + value.len(),
            is_object: value.starts_with('{'),
            fields: Vec::new(),
            aliases: Vec::new(),
        };
        if item.is_object {
            let seed = RowFields { wanted, fields: Vec::new(), aliases: Vec::new() };
            let mut de = serde_json::Deserializer::from_str(value);
            let (fields, aliases) = seed.deserialize(&mut de).map_err(|e| JsonError::at(text, value, &e))?;
            item.fields = fields;
            item.aliases = aliases;
        }
        out.push(item);
    }
    Ok(out)
}

/// One top-level member as [`skim`]'s single pass reads it.
struct RowOut<'a> {
    key: Cow<'a, str>,
    is_object: bool,
    fields: Vec<(&'static str, Cow<'a, str>)>,
    aliases: Vec<Cow<'a, str>>,
}

/// The top-level object: each member's key, and its value read by [`RowValue`].
struct TopLevel<'w> {
    wanted: &'w [&'static str],
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = Vec<RowOut<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = Vec<RowOut<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(1024));
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let (is_object, fields, aliases) = map.next_value_seed(RowValue { wanted: self.wanted })?;
            out.push(RowOut { key, is_object, fields, aliases });
        }
        Ok(out)
    }
}

/// A top-level value: an object is read by [`RowFields`], anything else skipped.
struct RowValue<'w> {
    wanted: &'w [&'static str],
}

type RowValueOut<'a> = (bool, Vec<(&'static str, Cow<'a, str>)>, Vec<Cow<'a, str>>);

impl<'de> DeserializeSeed<'de> for RowValue<'_> {
    type Value = RowValueOut<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowValue<'_> {
    type Value = RowValueOut<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let (fields, aliases) =
            RowFields { wanted: self.wanted, fields: Vec::new(), aliases: Vec::new() }.visit_map(map)?;
        Ok((true, fields, aliases))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok((false, Vec::new(), Vec::new()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok((false, Vec::new(), Vec::new()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok((false, Vec::new(), Vec::new()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok((false, Vec::new(), Vec::new()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok((false, Vec::new(), Vec::new()))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok((false, Vec::new(), Vec::new()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((false, Vec::new(), Vec::new()))
    }
}

/// The wanted string fields and the `aliases` strings of one row, read in one pass (other values are skipped
/// without being kept).
struct RowFields<'w, 'a> {
    wanted: &'w [&'static str],
    fields: Vec<(&'static str, Cow<'a, str>)>,
    aliases: Vec<Cow<'a, str>>,
}

type RowFieldsOut<'a> = (Vec<(&'static str, Cow<'a, str>)>, Vec<Cow<'a, str>>);

impl<'de> DeserializeSeed<'de> for RowFields<'_, 'de> {
    type Value = RowFieldsOut<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowFields<'_, 'de> {
    type Value = RowFieldsOut<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if let Some(w) = self.wanted.iter().find(|w| **w == key) {
                let v: &'de RawValue = map.next_value()?;
                if v.get().starts_with('"') {
                    let Text(s) = serde_json::from_str(v.get()).map_err(serde::de::Error::custom)?;
                    self.fields.retain(|(f, _)| f != w);
                    self.fields.push((w, s));
                }
            } else if key == "aliases" {
                let v: &'de RawValue = map.next_value()?;
                if v.get().starts_with('[') {
                    let names: Vec<&RawValue> = serde_json::from_str(v.get()).map_err(serde::de::Error::custom)?;
                    self.aliases = names
                        .into_iter()
                        .filter(|n| n.get().starts_with('"'))
                        .filter_map(|n| serde_json::from_str::<Text<'de>>(n.get()).ok().map(|t| t.0))
                        .collect();
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok((self.fields, self.aliases))
    }
}

/// Writes `s` as a JSON string literal (serde_json's escaping).
pub(crate) fn write_str(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        // serializing a `str` cannot fail; keep the text readable if it ever did
        Err(_) => out.push_str("\"\""),
    }
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
        assert!(matches!(parse(r#""plain""#).unwrap(), Json::Str(Cow::Borrowed("plain"))), "no copy without escapes");
    }

    #[test]
    fn duplicate_keys_are_kept_in_file_order() {
        let v = parse(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        let Json::Obj(members) = &v else { panic!("an object") };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["a", "b", "a"]);
        assert_eq!(v.get("a"), Some(&Json::Num("3")));
        let skimmed = skim(r#"{"m": {"mode": "chat", "mode": "embedding"}, "m": 1}"#, &["mode"]).unwrap();
        assert_eq!(skimmed.len(), 2);
        assert_eq!(skimmed[0].fields, vec![("mode", Cow::Borrowed("embedding"))]);
        assert_eq!((skimmed[1].span.clone(), skimmed[1].is_object), (50..51, false));
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
            "[NaN]",
            "{\"a\": Infinity}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&deep).unwrap_err().message.contains("deep"));
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
        let err = parse("{\n  \"a\": x}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 8));
        // an error found inside a nested value is placed in the whole text
        let err = parse("{\n  \"a\": {\"b\": \"\\ud800\"}}").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let err = skim("[1]", &[]).unwrap_err();
        assert_eq!(err.message, "expected a JSON object");
        // numbers serde_json cannot hold as f64 are skipped, not refused (the one pass falls back to two reads)
        let skimmed = skim("{\"a\": {\"mode\": 1e999}, \"b\": 1e999 }", &["mode"]).unwrap();
        assert_eq!(skimmed[1].span.clone(), 28..33);
        let err = skim("{\"a\": {\"mode\": \"x\",}}", &["mode"]).unwrap_err();
        assert_eq!((err.message.as_str(), err.line, err.column), ("key must be a string", 1, 20), "{err}");
    }

    #[test]
    fn one_pass_skim_agrees_with_two_reads() {
        let texts = [
            r#"{"m": {"mode": "chat", "mode": "embedding"}, "m": 1}"#,
            " {\n\t\"a\" :\r\n {\"litellm_provider\": \"x\", \"aliases\": [\"b\", 1, \"c\\u0041\"]} ,\n\"odd\":[1,[2]],\"s\":\"str\" , \"n\" : null\n} \n",
            r#"{"esc\u0041ped": {"mode": "chat"}, "b": {"mode": "x"}}"#,
            r#"{"a": "}", "b": ",", "c": {"k": "\","}}"#,
            "{}",
            crate::catalog::EMBEDDED_CATALOG,
        ];
        for text in texts {
            let wanted = ["litellm_provider", "mode", "deprecation_date", "alias_of"];
            let one = skim(text, &wanted).unwrap();
            assert_eq!(one, skim_twice(text, &wanted).unwrap(), "{text:.200}");
            for m in &one {
                let value = &text[m.span.clone()];
                assert!(serde_json::from_str::<&RawValue>(value).is_ok_and(|r| r.get() == value), "{value:?}");
            }
        }
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

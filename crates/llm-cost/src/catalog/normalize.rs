//! The generator behind `cargo xtask update-pricing`: validates LiteLLM's price file, merges the hand-written
//! overrides, and writes the canonical catalog the crate embeds.
//!
//! The canonical form is stable so its diff is the review: top-level keys sorted, one field per line with the
//! fields sorted, nested values compact with sorted keys, every number as a plain exact decimal (`2.5e-06` →
//! `0.0000025`, never through `f64`), numeric strings in price fields turned into numbers, `sample_spec`
//! dropped, a trailing newline, no timestamps.
//!
//! Validation errors name the model and the key: a negative, non-finite, absurd (see [`MAX_TOKEN_PRICE`] and
//! [`MAX_UNIT_PRICE`]) or mistyped price, a mistyped token limit or capability flag, an alias pointing at
//! nothing. *Schema drift* — a price field this version does not know (it would otherwise be priced as zero), a
//! new `mode`, a fallback rule whose pattern cannot be compiled — is reported and fails the run unless
//! [`NormalizeOptions::allow_drift`] is set.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rust_decimal::Decimal;

use crate::error::{Error, ErrorKind, Result};
use crate::exact::{self, Json};
use crate::pattern::Pattern;

use super::model::{decimal_from_text, is_price_key};

/// The largest per-token price accepted: $0.01 a token ($10,000 per million). The dearest real model is about
/// 1/20 of that; a larger value is almost surely a per-million price entered per token.
pub const MAX_TOKEN_PRICE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// The largest price accepted for any other unit (an image, a second of video, a query, a page): $100.
pub const MAX_UNIT_PRICE: Decimal = Decimal::from_parts(100, 0, 0, false, 0);

/// The largest multiplier accepted (regional uplifts, geo and speed multipliers): 10.
pub const MAX_MULTIPLIER: Decimal = Decimal::from_parts(10, 0, 0, false, 0);

const KNOWN_PRICE_FIELDS: &[&str] = &include!("known_price_fields.in");
const KNOWN_MODES: &[&str] = &include!("known_modes.in");

/// How to normalize.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NormalizeOptions {
    /// The LiteLLM version the upstream file comes from, for the catalog version (`unknown` when empty).
    pub litellm_version: String,
    /// Accept schema drift (report it, keep the unknown fields unpriced) instead of failing.
    pub allow_drift: bool,
}

impl NormalizeOptions {
    /// Options for an upstream file of this LiteLLM version.
    pub fn new(litellm_version: impl Into<String>) -> Self {
        Self { litellm_version: litellm_version.into(), allow_drift: false }
    }

    /// Sets whether schema drift is accepted.
    #[must_use]
    pub fn with_allow_drift(mut self, allow: bool) -> Self {
        self.allow_drift = allow;
        self
    }
}

/// The result of [`normalize`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Normalized {
    /// The canonical catalog text (`data/catalog.json`).
    pub catalog: String,
    /// The catalog version (`data/catalog.version`): `litellm-<version>+<12 hex of the upstream sha256>`, with
    /// `.o<8 hex>` appended when overrides changed anything.
    pub version: String,
    /// The upstream file's sha256, hex.
    pub upstream_sha256: String,
    /// Model rows written (alias rows included).
    pub models: usize,
    /// Alias rows among them.
    pub aliases: usize,
    /// Fallback rules kept.
    pub rules: usize,
    /// Rows or fields the overrides changed.
    pub overridden: Vec<String>,
    /// Schema drift found (empty unless [`NormalizeOptions::allow_drift`] let it through).
    pub drift: Vec<String>,
}

/// Validates `upstream` (LiteLLM's price file), merges `overrides` into it and returns the canonical catalog.
///
/// ```
/// use llm_cost::catalog::{normalize, NormalizeOptions};
/// let upstream = r#"{"m": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06}}"#;
/// let out = normalize(upstream, "{}", &NormalizeOptions::new("1.0.0")).unwrap();
/// assert_eq!(out.catalog, "{\n  \"m\": {\n    \"input_cost_per_token\": 0.0000025,\n    \"litellm_provider\": \"openai\",\n    \"mode\": \"chat\"\n  }\n}\n");
/// let bad = r#"{"m": {"litellm_provider": "openai", "input_cost_per_token": -1}}"#;
/// assert!(normalize(bad, "{}", &NormalizeOptions::new("1.0.0")).unwrap_err().to_string().contains("\"m\""));
/// ```
pub fn normalize(upstream: &str, overrides: &str, options: &NormalizeOptions) -> Result<Normalized> {
    let doc = exact::parse(upstream).map_err(|e| {
        Error::new(ErrorKind::InvalidCatalog, format!("the upstream price file is not valid JSON: {e}"))
    })?;
    let Json::Obj(members) = &doc else {
        return Err(Error::new(ErrorKind::InvalidCatalog, "the upstream price file is not a JSON object"));
    };
    let mut drift: Vec<String> = Vec::new();
    // canonical text per key; BTreeMap = sorted output
    let mut rows: BTreeMap<String, String> = BTreeMap::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (key, _) in members {
        if !seen.insert(key.as_ref()) {
            drift.push(format!("key {key:?} appears more than once; the last one is kept"));
        }
    }
    for (key, row) in exact::sorted_members(&doc) {
        if key == "sample_spec" {
            continue;
        }
        let mut text = String::new();
        exact::write_canonical(&mut text, row);
        rows.insert(key.to_owned(), text);
    }

    // overrides
    let mut overridden = Vec::new();
    let ov = exact::parse(overrides)
        .map_err(|e| Error::new(ErrorKind::InvalidCatalog, format!("the overrides file is not valid JSON: {e}")))?;
    if !matches!(ov, Json::Obj(_)) {
        return Err(Error::new(ErrorKind::InvalidCatalog, "the overrides file is not a JSON object"));
    }
    for (key, patch) in exact::sorted_members(&ov) {
        match patch {
            Json::Null => {
                if rows.remove(key).is_some() {
                    overridden.push(format!("{key}: removed"));
                }
            }
            Json::Obj(_) => {
                let merged = match rows.get(key) {
                    Some(existing) => {
                        let base = exact::parse(existing).map_err(|e| {
                            Error::new(ErrorKind::InvalidCatalog, format!("model {key:?}: unreadable row: {e}"))
                        })?;
                        merge_rows(&base, patch)
                    }
                    None => {
                        let mut t = String::new();
                        exact::write_canonical(&mut t, patch);
                        t
                    }
                };
                if rows.get(key) != Some(&merged) {
                    let fields: Vec<&str> = exact::sorted_members(patch).into_iter().map(|(k, _)| k).collect();
                    overridden.push(format!("{key}: {}", fields.join(", ")));
                }
                rows.insert(key.to_owned(), merged);
            }
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidCatalog,
                    format!("overrides: model {key:?}: expected an object or null, found {}", other.type_name()),
                ));
            }
        }
    }

    // validate, then write
    let parsed: Vec<(&String, Json<'_>)> = rows
        .iter()
        .map(|(k, t)| {
            exact::parse(t)
                .map(|j| (k, j))
                .map_err(|e| Error::new(ErrorKind::InvalidCatalog, format!("model {k:?}: unreadable row: {e}")))
        })
        .collect::<Result<_>>()?;
    let mut errors: Vec<Error> = Vec::new();
    let mut aliases = 0;
    let mut rule_count = 0;
    let model_keys: BTreeSet<&str> = parsed
        .iter()
        .filter(|(k, v)| k.as_str() != "fallback_generalizations" && v.get("alias_of").is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    let mut out = String::with_capacity(upstream.len());
    out.push_str("{\n");
    let mut first = true;
    for (key, row) in &parsed {
        if key.as_str() == "fallback_generalizations" {
            rule_count = validate_rules(row, &mut drift);
        } else if let Some(target) = row.get("alias_of") {
            aliases += 1;
            match target.as_str() {
                Some(t) if model_keys.contains(t) => {}
                Some(t) => errors.push(Error::new(
                    ErrorKind::InvalidCatalog,
                    format!("model {key:?}: alias_of {t:?} is not a model row"),
                )),
                None => errors.push(Error::new(
                    ErrorKind::InvalidCatalog,
                    format!("model {key:?}: alias_of must be a string, found {}", target.type_name()),
                )),
            }
            for (field, _) in exact::sorted_members(row) {
                if field != "alias_of" {
                    drift.push(format!("model {key:?}: field {field:?} beside alias_of is ignored by LiteLLM"));
                }
            }
        } else if let Err(e) = check_row(key, row, &mut drift) {
            errors.push(e);
        }
        if !first {
            out.push_str(",\n");
        }
        first = false;
        out.push_str("  ");
        exact::write_str(&mut out, key);
        out.push_str(": ");
        write_row(&mut out, row);
    }
    out.push_str("\n}\n");
    if let Some(first_error) = errors.into_iter().next() {
        return Err(first_error);
    }
    if !drift.is_empty() && !options.allow_drift {
        return Err(Error::new(
            ErrorKind::SchemaDrift,
            format!(
                "the price file has {} field(s) this version does not understand (pass --allow-drift to accept them unpriced):\n{}",
                drift.len(),
                drift.join("\n")
            ),
        ));
    }
    let sha = crate::sha256_hex(upstream.as_bytes());
    let version_label = if options.litellm_version.is_empty() { "unknown" } else { &options.litellm_version };
    let mut version = format!("litellm-{version_label}+{}", sha.get(..12).unwrap_or(&sha));
    if !overridden.is_empty() {
        let mut ov_text = String::new();
        exact::write_canonical(&mut ov_text, &ov);
        version.push_str(&format!(".o{}", crate::sha256_hex(ov_text.as_bytes()).get(..8).unwrap_or("")));
    }
    let models = parsed.len() - usize::from(rows.contains_key("fallback_generalizations"));
    Ok(Normalized {
        catalog: out,
        version,
        upstream_sha256: sha,
        models,
        aliases,
        rules: rule_count,
        overridden,
        drift,
    })
}

/// Writes one row: an object one field per line (fields sorted), anything else compact.
fn write_row(out: &mut String, row: &Json<'_>) {
    let members = exact::sorted_members(row);
    if !matches!(row, Json::Obj(_)) || members.is_empty() {
        exact::write_canonical(out, row);
        return;
    }
    out.push_str("{\n");
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str("    ");
        exact::write_str(out, k);
        out.push_str(": ");
        if matches!(*k, "max_input_tokens" | "max_output_tokens" | "max_tokens") {
            // a numeric string limit becomes a number
            if let Json::Str(s) = v
                && let Ok(n) = s.trim().parse::<u64>()
            {
                out.push_str(&n.to_string());
                continue;
            }
        }
        if is_price_key(k) {
            // a numeric string in a price field becomes a number
            if let Json::Str(s) = v
                && let Some(d) = decimal_from_text(s).filter(|_| !s.trim().is_empty())
            {
                out.push_str(&exact::canonical_number(&d.to_string()));
                continue;
            }
        }
        exact::write_canonical(out, v);
    }
    out.push_str("\n  }");
}

/// Merges `patch` into `base` field by field (`null` removes a field) and returns the canonical compact text.
pub(crate) fn merge_rows(base: &Json<'_>, patch: &Json<'_>) -> String {
    let mut fields: BTreeMap<&str, &Json<'_>> = exact::sorted_members(base).into_iter().collect();
    for (k, v) in exact::sorted_members(patch) {
        match v {
            Json::Null => {
                fields.remove(k);
            }
            v => {
                fields.insert(k, v);
            }
        }
    }
    let members = fields.into_iter().map(|(k, v)| (std::borrow::Cow::Borrowed(k), v.clone())).collect();
    let mut out = String::new();
    exact::write_canonical(&mut out, &Json::Obj(members));
    out
}

fn price_error(key: &str, field: &str, what: String) -> Error {
    Error::new(ErrorKind::InvalidPrice, format!("model {key:?}: {field}: {what}"))
}

/// The limit that applies to a price field.
fn limit_for(field: &str) -> (Decimal, &'static str) {
    if field.contains("multiplier") {
        (MAX_MULTIPLIER, "multiplier limit 10")
    } else if (field.contains("per_token") || field.contains("token_cost")) && !field.contains("per_1k") {
        (MAX_TOKEN_PRICE, "per-token limit $0.01")
    } else {
        (MAX_UNIT_PRICE, "per-unit limit $100")
    }
}

/// Checks one price value (a number or a numeric string, finite, non-negative, under its limit).
fn check_price(key: &str, field: &str, value: &Json<'_>) -> Result<()> {
    check_amount(key, field, value, limit_for(field))
}

/// Checks one amount against an explicit limit.
fn check_amount(key: &str, field: &str, value: &Json<'_>, (limit, label): (Decimal, &str)) -> Result<()> {
    let text = match value {
        Json::Null => return Err(price_error(key, field, "null where a price is expected".to_owned())),
        Json::Num(t) => *t,
        Json::Str(s) => s.as_ref(),
        other => return Err(price_error(key, field, format!("expected a number, found {}", other.type_name()))),
    };
    if is_non_finite_text(text) {
        return Err(price_error(key, field, format!("{text} is not a finite number")));
    }
    let Some(d) = decimal_from_text(text).filter(|_| !text.trim().is_empty()) else {
        if looks_numeric(text) {
            return Err(price_error(key, field, format!("{text} is too large to be a price")));
        }
        return Err(price_error(key, field, format!("{text:?} is not a number")));
    };
    if d.is_sign_negative() && !d.is_zero() {
        return Err(price_error(key, field, format!("{text} is negative")));
    }
    if d > limit {
        return Err(price_error(key, field, format!("{text} is absurdly large ({label})")));
    }
    Ok(())
}

/// `true` for `NaN`, `Infinity` and their spellings, as text.
fn is_non_finite_text(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "nan" | "+nan" | "-nan" | "inf" | "+inf" | "-inf" | "infinity" | "+infinity" | "-infinity"
    )
}

/// `true` for the text of a number too large (or too precise) for a `Decimal`, such as `1e308`.
fn looks_numeric(text: &str) -> bool {
    let t = text.trim();
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (t.get(..i).unwrap_or(""), Some(t.get(i + 1..).unwrap_or(""))),
        None => (t, None),
    };
    let mantissa_ok = !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().filter(|b| *b == b'.').count() <= 1
        && mantissa.bytes().any(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// `true` when a price field is one this version knows (after removing thresholds and a tier suffix).
fn known_price_field(field: &str) -> bool {
    // remove every `_above_<digits>[k]_tokens` segment
    let mut base = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(i) = rest.find("_above_") {
        let after = rest.get(i + 7..).unwrap_or("");
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let tail = after.get(digits..).unwrap_or("");
        let tail = tail.strip_prefix('k').unwrap_or(tail);
        match tail.strip_prefix("_tokens").filter(|_| digits > 0) {
            Some(t) => {
                base.push_str(rest.get(..i).unwrap_or(""));
                rest = t;
            }
            None => {
                base.push_str(rest.get(..i + 7).unwrap_or(""));
                rest = after;
            }
        }
    }
    base.push_str(rest);
    for suffix in ["_flex", "_priority", "_balanced", "_ultrafast", "_batches", "_decisions", "_fast"] {
        if let Some(b) = base.strip_suffix(suffix) {
            base = b.to_owned();
            break;
        }
    }
    KNOWN_PRICE_FIELDS.binary_search(&base.as_str()).is_ok() || KNOWN_PRICE_FIELDS.contains(&base.as_str())
}

/// Validates one model row (not an alias). Price errors are returned; drift is pushed.
fn check_row(key: &str, row: &Json<'_>, drift: &mut Vec<String>) -> Result<()> {
    let Json::Obj(_) = row else {
        return Err(Error::new(
            ErrorKind::InvalidCatalog,
            format!("model {key:?}: expected an object, found {}", row.type_name()),
        ));
    };
    if row.get("litellm_provider").is_none() {
        drift.push(format!("model {key:?}: no litellm_provider"));
    }
    for (field, value) in exact::sorted_members(row) {
        check_field(key, field, value, drift)?;
    }
    Ok(())
}

fn check_field(key: &str, field: &str, value: &Json<'_>, drift: &mut Vec<String>) -> Result<()> {
    if matches!(value, Json::Null) {
        // null is "absent" for LiteLLM, but a null price would price its tokens at $0 as `priced`: refused
        if is_price_key(field) {
            return Err(price_error(key, field, "null where a price is expected".to_owned()));
        }
        return Ok(());
    }
    let mistyped = |expected: &str| {
        Error::new(
            ErrorKind::InvalidCatalog,
            format!("model {key:?}: {field}: expected {expected}, found {}", value.type_name()),
        )
    };
    match field {
        "litellm_provider" | "mode" => {
            let Json::Str(s) = value else { return Err(mistyped("a string")) };
            if field == "mode" && !KNOWN_MODES.contains(&s.as_ref()) {
                drift.push(format!("model {key:?}: unknown mode {s:?}"));
            }
        }
        "max_input_tokens" | "max_output_tokens" | "max_tokens" => {
            let ok = match value {
                Json::Null => true,
                Json::Num(t) => decimal_from_text(t).is_some_and(|d| !d.is_sign_negative() && d.fract().is_zero()),
                Json::Str(s) => s.trim().parse::<u64>().is_ok(),
                _ => false,
            };
            if !ok {
                return Err(mistyped("a non-negative integer"));
            }
        }
        "tiered_pricing" => {
            let Json::Arr(tiers) = value else { return Err(mistyped("a list of tiers")) };
            for (i, tier) in tiers.iter().enumerate() {
                if !matches!(tier, Json::Obj(_)) {
                    return Err(mistyped("a list of objects"));
                }
                // a token tier has a `range`; search tiers use `max_results_range` instead
                let range_ok = match tier.get("range") {
                    None => true,
                    Some(Json::Arr(r)) => {
                        r.len() == 2 && r.iter().all(|x| matches!(x, Json::Num(t) if decimal_from_text(t).is_some()))
                    }
                    Some(_) => false,
                };
                if !range_ok {
                    return Err(Error::new(
                        ErrorKind::InvalidCatalog,
                        format!("model {key:?}: tiered_pricing[{i}].range: expected [start, end] numbers"),
                    ));
                }
                for (k, v) in exact::sorted_members(tier) {
                    if is_price_key(k) {
                        check_price(key, &format!("tiered_pricing[{i}].{k}"), v)?;
                    }
                }
            }
        }
        "off_peak_pricing"
        | "provider_specific_entry"
        | "search_context_cost_per_query"
        | "guardrail_cost_per_unit" => {
            if !matches!(value, Json::Obj(_) | Json::Null) {
                return Err(mistyped("an object"));
            }
            for (k, v) in exact::sorted_members(value) {
                let nested = format!("{field}.{k}");
                if field == "off_peak_pricing" && k == "weekday_timezone" {
                    // an IANA name the bundled database holds; an unknown zone would silently become UTC
                    let known = match v {
                        Json::Null => true,
                        Json::Str(name) => crate::time::zone(name).is_ok(),
                        _ => false,
                    };
                    if !known {
                        let found = match v {
                            Json::Str(name) => format!("{name:?}"),
                            other => other.type_name().to_owned(),
                        };
                        return Err(Error::new(
                            ErrorKind::InvalidCatalog,
                            format!("model {key:?}: {nested}: unknown IANA time zone {found}"),
                        ));
                    }
                    continue;
                }
                if field == "provider_specific_entry" {
                    // numbers here are multipliers (`us: 1.1`, `fast: 2`) or small counts; strings that read as
                    // numbers are read as multipliers too, other strings and objects are settings
                    let numeric = match v {
                        Json::Num(_) => true,
                        Json::Str(s) => decimal_from_text(s).is_some() || looks_numeric(s) || is_non_finite_text(s),
                        _ => false,
                    };
                    if numeric {
                        check_amount(key, &nested, v, (MAX_MULTIPLIER, "multiplier limit 10"))?;
                    }
                } else if field == "search_context_cost_per_query" || is_price_key(k) || matches!(v, Json::Num(_)) {
                    check_price(key, &nested, v)?;
                }
            }
        }
        f if f.starts_with("supports_") && !matches!(value, Json::Bool(_) | Json::Null) => {
            return Err(mistyped("a boolean"));
        }
        f if is_price_key(f) => {
            if !known_price_field(f) {
                drift.push(format!("model {key:?}: unknown price field {f:?} (it would not be priced)"));
            }
            check_price(key, f, value)?;
        }
        _ => {}
    }
    Ok(())
}

/// Validates the `fallback_generalizations` block; returns the number of rules.
fn validate_rules(block: &Json<'_>, drift: &mut Vec<String>) -> usize {
    let Some(Json::Arr(rules)) = block.get("rules") else {
        drift.push("fallback_generalizations: no `rules` list".to_owned());
        return 0;
    };
    for (i, rule) in rules.iter().enumerate() {
        let name = rule.get("name").and_then(Json::as_str).map_or_else(|| format!("#{i}"), str::to_owned);
        match rule.get("pattern").and_then(Json::as_str) {
            Some(p) => {
                if let Err(e) = Pattern::check(p) {
                    drift.push(format!("fallback rule {name}: pattern {p:?} is not supported ({e})"));
                }
            }
            None => drift.push(format!("fallback rule {name}: no string pattern")),
        }
        if !matches!(rule.get("model_info"), Some(Json::Obj(_))) {
            drift.push(format!("fallback rule {name}: no model_info object"));
        }
    }
    rules.len()
}

/// Validates a price file (LiteLLM's format, or the canonical catalog) the way [`normalize`] validates the
/// upstream file: every model row's prices (negative, non-numeric, `NaN`/`Infinity`, `null` where a price is
/// expected, objects, values too large to be a price), token limits and capability flags. The first error is
/// returned, naming the model and the key. Schema drift (an unknown price field or mode) is not an error here:
/// a newer file may carry fields this version does not price, and they stay unpriced. Rows that are not
/// objects, `alias_of` rows and `sample_spec` are not checked (loading skips or resolves them).
///
/// Every way a [`super::Catalog`] is loaded at run time runs it ([`super::Catalog::from_json`],
/// [`super::Catalog::from_file`], [`super::Catalog::register_model`], ...); `cargo xtask update-pricing` runs the
/// same checks through [`normalize`].
///
/// ```
/// use llm_cost::catalog::validate_catalog;
/// assert!(validate_catalog(r#"{"m": {"input_cost_per_token": 1e-6}}"#).is_ok());
/// let err = validate_catalog(r#"{"m": {"input_cost_per_token": "NaN"}}"#).unwrap_err();
/// assert_eq!(err.to_string(), "model \"m\": input_cost_per_token: NaN is not a finite number");
/// ```
pub fn validate_catalog(text: &str) -> Result<()> {
    let doc = exact::parse(text)
        .map_err(|e| Error::new(ErrorKind::InvalidCatalog, format!("the price file is not valid JSON: {e}")))?;
    let Json::Obj(members) = &doc else {
        return Err(Error::new(ErrorKind::InvalidCatalog, "the price file is not a JSON object"));
    };
    let mut drift = Vec::new();
    for (key, row) in members {
        if matches!(key.as_ref(), "sample_spec" | "fallback_generalizations")
            || !matches!(row, Json::Obj(_))
            || row.get("alias_of").is_some()
        {
            continue;
        }
        check_row(key, row, &mut drift)?;
        drift.clear();
    }
    Ok(())
}

/// Validates one row the way [`normalize`] does, for [`super::Catalog::register_model`]. Drift is an error
/// unless the options allow it.
pub(crate) fn validate_row(key: &str, row: &Json<'_>, options: &NormalizeOptions) -> Result<()> {
    let mut drift = Vec::new();
    check_row(key, row, &mut drift)?;
    drift.retain(|d| !d.contains("no litellm_provider"));
    if !drift.is_empty() && !options.allow_drift {
        return Err(Error::new(ErrorKind::SchemaDrift, drift.join("; ")));
    }
    Ok(())
}

/// What changed between two canonical catalogs: the `update-pricing` summary.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CatalogDiff {
    /// Keys of the new catalog.
    pub models: usize,
    /// Keys only the new catalog has.
    pub added: Vec<String>,
    /// Keys only the old catalog has.
    pub removed: Vec<String>,
    /// Price changes: (model, field, old value, new value); a value is `-` when absent.
    pub repriced: Vec<(String, String, String, String)>,
    /// Models whose other fields changed (limits, flags, ...), as `model: field, field`.
    pub other_changes: Vec<String>,
}

impl CatalogDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.repriced.is_empty() && self.other_changes.is_empty()
    }
}

impl fmt::Display for CatalogDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let repriced_models: BTreeSet<&str> = self.repriced.iter().map(|r| r.0.as_str()).collect();
        writeln!(
            f,
            "catalog: {} models ({} added, {} removed, {} re-priced, {} with other changes)",
            self.models,
            self.added.len(),
            self.removed.len(),
            repriced_models.len(),
            self.other_changes.len()
        )?;
        for k in &self.added {
            writeln!(f, "  + {k}")?;
        }
        for k in &self.removed {
            writeln!(f, "  - {k}")?;
        }
        for (model, field, old, new) in &self.repriced {
            writeln!(f, "  ~ {model}: {field} {old} → {new}")?;
        }
        for k in &self.other_changes {
            writeln!(f, "  * {k}")?;
        }
        Ok(())
    }
}

fn parse_catalog<'a>(text: &'a str, which: &str) -> Result<Json<'a>> {
    if text.trim().is_empty() {
        return Ok(Json::Obj(Vec::new()));
    }
    exact::parse(text)
        .map_err(|e| Error::new(ErrorKind::InvalidCatalog, format!("the {which} catalog is not valid JSON: {e}")))
}

/// Compares two catalogs (canonical or upstream text). An empty `old` (`""`) counts every model as added.
pub fn diff_catalogs(old: &str, new: &str) -> Result<CatalogDiff> {
    let old_doc = parse_catalog(old, "old")?;
    let new_doc = parse_catalog(new, "new")?;
    let old_rows: BTreeMap<&str, &Json<'_>> =
        exact::sorted_members(&old_doc).into_iter().filter(|(k, _)| *k != "sample_spec").collect();
    let new_rows: BTreeMap<&str, &Json<'_>> =
        exact::sorted_members(&new_doc).into_iter().filter(|(k, _)| *k != "sample_spec").collect();
    let mut diff = CatalogDiff {
        models: new_rows.keys().filter(|k| **k != "fallback_generalizations").count(),
        ..CatalogDiff::default()
    };
    for (k, new_row) in &new_rows {
        let Some(old_row) = old_rows.get(k) else {
            if *k == "fallback_generalizations" {
                diff.other_changes.push("fallback_generalizations: added".to_owned());
            } else {
                diff.added.push((*k).to_owned());
            }
            continue;
        };
        let canon = |v: &Json<'_>| {
            let mut t = String::new();
            exact::write_canonical(&mut t, v);
            t
        };
        let old_fields: BTreeMap<&str, String> =
            exact::sorted_members(old_row).into_iter().map(|(f, v)| (f, canon(v))).collect();
        let new_fields: BTreeMap<&str, String> =
            exact::sorted_members(new_row).into_iter().map(|(f, v)| (f, canon(v))).collect();
        let mut other: Vec<&str> = Vec::new();
        let all: BTreeSet<&str> = old_fields.keys().chain(new_fields.keys()).copied().collect();
        for f in all {
            let (o, n) = (old_fields.get(f), new_fields.get(f));
            if o == n {
                continue;
            }
            if is_price_key(f) || f == "tiered_pricing" || f == "off_peak_pricing" {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "-".to_owned());
                diff.repriced.push(((*k).to_owned(), f.to_owned(), show(o), show(n)));
            } else {
                other.push(f);
            }
        }
        if !other.is_empty() {
            diff.other_changes.push(format!("{k}: {}", other.join(", ")));
        }
    }
    diff.removed = old_rows
        .keys()
        .filter(|k| !new_rows.contains_key(*k) && **k != "fallback_generalizations")
        .map(|k| (*k).to_owned())
        .collect();
    Ok(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> NormalizeOptions {
        NormalizeOptions::new("9.9.9")
    }

    #[test]
    fn prices_are_validated_with_model_and_key() {
        let cases = [
            (
                r#"{"m": {"litellm_provider": "x", "input_cost_per_token": -0.1}}"#,
                "input_cost_per_token: -0.1 is negative",
            ),
            (r#"{"m": {"litellm_provider": "x", "input_cost_per_token": "NaN"}}"#, "NaN is not a finite number"),
            (
                r#"{"m": {"litellm_provider": "x", "output_cost_per_token": 2.5}}"#,
                "absurdly large (per-token limit $0.01)",
            ),
            (r#"{"m": {"litellm_provider": "x", "output_cost_per_image": 250}}"#, "per-unit limit $100"),
            (r#"{"m": {"litellm_provider": "x", "input_cost_per_token": "cheap"}}"#, "\"cheap\" is not a number"),
            (r#"{"m": {"litellm_provider": "x", "input_cost_per_token": true}}"#, "expected a number, found a boolean"),
            (
                r#"{"m": {"litellm_provider": "x", "max_input_tokens": 1.5}}"#,
                "max_input_tokens: expected a non-negative integer",
            ),
            (r#"{"m": {"litellm_provider": "x", "supports_vision": "yes"}}"#, "supports_vision: expected a boolean"),
            (r#"{"a": {"alias_of": "b"}}"#, "alias_of \"b\" is not a model row"),
            (
                r#"{"m": {"litellm_provider": "x", "tiered_pricing": [{"range": [0, 1], "input_cost_per_token": -1}]}}"#,
                "tiered_pricing[0].input_cost_per_token: -1 is negative",
            ),
        ];
        for (input, want) in cases {
            let err = normalize(input, "{}", &opts()).unwrap_err();
            assert!(err.to_string().contains(want), "{input}: {err}");
            assert!(err.to_string().contains("\"m\"") || err.to_string().contains("\"a\""), "{err}");
        }
        // a bare NaN (Python's json.dump of a float nan) is not JSON: the file is rejected with its position
        let err =
            normalize(r#"{"m": {"litellm_provider": "x", "input_cost_per_token": NaN}}"#, "{}", &opts()).unwrap_err();
        assert_eq!(err.to_string(), "the upstream price file is not valid JSON: expected value at line 1 column 57");
    }

    #[test]
    fn drift_is_reported_not_priced_as_zero() {
        let input = r#"{"m": {"litellm_provider": "x", "mode": "telepathy", "input_cost_per_thought": 1e-6,
                        "input_cost_per_token_above_64k_tokens_priority": 1e-6}}"#;
        let err = normalize(input, "{}", &opts()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SchemaDrift);
        assert!(err.to_string().contains("unknown price field \"input_cost_per_thought\""), "{err}");
        assert!(err.to_string().contains("unknown mode \"telepathy\""), "{err}");
        assert!(!err.to_string().contains("above_64k"), "a new threshold of a known field is not drift: {err}");
        let ok = normalize(input, "{}", &opts().with_allow_drift(true)).unwrap();
        assert_eq!(ok.drift.len(), 2);
    }

    #[test]
    fn overrides_merge_and_fix() {
        let upstream = r#"{"m": {"litellm_provider": "x", "input_cost_per_token": -1, "mode": "chat"}, "gone": {"litellm_provider": "x"}}"#;
        let overrides =
            r#"{"m": {"input_cost_per_token": "1e-6", "mode": null}, "gone": null, "new": {"litellm_provider": "y"}}"#;
        let out = normalize(upstream, overrides, &opts()).unwrap();
        assert_eq!(
            out.catalog,
            "{\n  \"m\": {\n    \"input_cost_per_token\": 0.000001,\n    \"litellm_provider\": \"x\"\n  },\n  \"new\": {\n    \"litellm_provider\": \"y\"\n  }\n}\n"
        );
        assert_eq!(out.overridden.len(), 3);
        assert!(out.version.starts_with("litellm-9.9.9+") && out.version.contains(".o"), "{}", out.version);
    }

    #[test]
    fn diff_summary() {
        let old = r#"{"a": {"input_cost_per_token": 1e-6, "max_input_tokens": 10}, "b": {"input_cost_per_token": 1}}"#;
        let new = r#"{"a": {"input_cost_per_token": 2e-6, "max_input_tokens": 20}, "c": {}}"#;
        let d = diff_catalogs(old, new).unwrap();
        assert_eq!(d.added, vec!["c"]);
        assert_eq!(d.removed, vec!["b"]);
        assert_eq!(d.repriced, vec![("a".into(), "input_cost_per_token".into(), "0.000001".into(), "0.000002".into())]);
        assert_eq!(d.other_changes, vec!["a: max_input_tokens"]);
        assert!(diff_catalogs(new, new).unwrap().is_empty());
    }

    #[test]
    fn known_fields() {
        assert!(known_price_field("input_cost_per_token"));
        assert!(known_price_field("cache_creation_input_token_cost_above_1hr_above_200k_tokens_priority"));
        assert!(known_price_field("output_cost_per_token_above_64k_tokens"));
        assert!(known_price_field("cache_creation_input_token_cost_above_12hr_above_272k_tokens_flex"));
        assert!(!known_price_field("input_cost_per_thought"));
    }
}

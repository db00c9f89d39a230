//! The `llm cost --jsonl` protocol: one JSON object per input line, one answer per output line.
//!
//! An input line is either a usage to price,
//! `{"model": "...", "provider": "..."?, "usage": {"prompt_tokens": N, "completion_tokens": N, "cached_tokens": N?,
//! "cache_creation_tokens": N?, "reasoning_tokens": N?}, "service_tier": "..."?, "billing_time": "RFC 3339"?}`
//! (OpenAI's convention: cached and cache-creation tokens are inside `prompt_tokens`, reasoning inside
//! `completion_tokens`), or a response, `{"response": <an OpenAI chat.completion object>, "provider": "..."?}`.
//!
//! The answer is `{"prompt_cost": D, "completion_cost": D, "total_cost": D, "status": "...", "catalog_key": "..."}`
//! where each `D` is a JSON number written with the exact decimal (never through `f64`), `status` is `priced`,
//! `provider_reported`, `unpriced` or `unknown_model` (for the last two the amounts are `0` and mean "unknown",
//! which the status says), and `catalog_key` is `null` when no row matched; or, for a line that cannot be read,
//! `{"error": {"kind": "...", "message": "..."}}`.

use llm_core::{Cost, Usage, Usd, openai};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::catalog::Catalog;
use crate::cost::CostOptions;
use crate::error::{Error, ErrorKind, Result};
use crate::time::BillingTime;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default)]
    service_tier: Option<String>,
    #[serde(default)]
    billing_time: Option<String>,
    #[serde(default, borrow)]
    response: Option<&'a RawValue>,
}

/// The flat usage object of an input line (also accepts OpenAI's nested details).
#[derive(Deserialize)]
struct LineUsage {
    #[serde(default)]
    prompt_tokens: openai::Count,
    #[serde(default)]
    completion_tokens: openai::Count,
    #[serde(default)]
    cached_tokens: openai::Count,
    #[serde(default)]
    cache_creation_tokens: openai::Count,
    #[serde(default)]
    reasoning_tokens: openai::Count,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// Checks the token counts of a usage object (nested details included) as written: a count written as a float
/// must be an integer below 2^53 (`1e3` and `1000.0` are 1000; `1000.5` and `9007199254740993.0` are errors),
/// which `f64` could not tell.
fn check_counts(raw: &RawValue, path: &str) -> Result<()> {
    let Ok(members) = serde_json::from_str::<std::collections::BTreeMap<String, &RawValue>>(raw.get()) else {
        // not an object: the usage decoder says what is wrong with it
        return Ok(());
    };
    for (key, value) in members {
        let text = value.get().trim();
        if text.starts_with('{') {
            check_counts(value, &format!("{path}{key}."))?;
        } else if key.ends_with("tokens")
            && text.contains(['.', 'e', 'E'])
            && text.bytes().next().is_some_and(|b| b == b'-' || b.is_ascii_digit())
        {
            let exact = <rust_decimal::Decimal as std::str::FromStr>::from_str(text)
                .ok()
                .or_else(|| rust_decimal::Decimal::from_scientific(text).ok());
            let ok = exact.is_some_and(|d| {
                d.fract().is_zero() && !d.is_sign_negative() && d < rust_decimal::Decimal::from(1u64 << 53)
            });
            if !ok {
                return Err(invalid(format!(
                    "{path}{key}: {text} is not a token count (an integer; a float must be integral and below 2^53)"
                )));
            }
        }
    }
    Ok(())
}

fn parse_usage(raw: &RawValue) -> Result<Usage> {
    check_counts(raw, "usage.")?;
    let u: LineUsage = serde_json::from_str(raw.get()).map_err(|e| invalid(format!("invalid usage: {e}")))?;
    let nested = u.rest.contains_key("prompt_tokens_details") || u.rest.contains_key("completion_tokens_details");
    let mut usage = if nested {
        openai::usage_from_json(&serde_json::from_str(raw.get()).map_err(|e| invalid(format!("invalid usage: {e}")))?)
            .map_err(|e| invalid(e.to_string()))?
    } else {
        Usage::new(
            u.prompt_tokens.0.ok_or_else(|| invalid("usage.prompt_tokens is missing"))?,
            u.completion_tokens.0.ok_or_else(|| invalid("usage.completion_tokens is missing"))?,
        )
    };
    if let Some(n) = u.cached_tokens.0 {
        usage = usage.with_cache_read(n);
    }
    if let Some(n) = u.cache_creation_tokens.0 {
        usage = usage.with_cache_write(n);
    }
    if let Some(n) = u.reasoning_tokens.0 {
        usage = usage.with_reasoning(n);
    }
    Ok(usage)
}

/// Usage fields LiteLLM reads that llm-core's OpenAI decoder does not keep.
#[derive(Deserialize, Default)]
struct UsageExtras {
    #[serde(default)]
    total_tokens: openai::Count,
    /// Anthropic's names, which LiteLLM maps onto the cache counts.
    #[serde(default)]
    cache_read_input_tokens: openai::Count,
    #[serde(default)]
    cache_creation_input_tokens: openai::Count,
    /// A raw Anthropic usage (`input_tokens` excludes the cache counts, `output_tokens`), when `prompt_tokens`
    /// is absent.
    #[serde(default)]
    prompt_tokens: openai::Count,
    #[serde(default)]
    input_tokens: openai::Count,
    #[serde(default)]
    output_tokens: openai::Count,
}

#[derive(Deserialize, Default)]
struct ResponseExtras {
    #[serde(default)]
    usage: Option<UsageExtras>,
}

/// The provider-reported `usage.cost` as written: its exact decimal text (serde_json reads numbers through
/// `f64` without its `arbitrary_precision` feature, which this workspace does not enable).
#[derive(Deserialize)]
struct RawCostResponse<'a> {
    #[serde(default, borrow)]
    usage: Option<RawCostUsage<'a>>,
}

#[derive(Deserialize)]
struct RawUsageResponse<'a> {
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawCostUsage<'a> {
    #[serde(default, borrow)]
    cost: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawTotalCost<'a> {
    #[serde(default, borrow)]
    total_cost: Option<&'a RawValue>,
}

/// The exact amount of a reported `usage.cost` (a number, a numeric string, or `{"total_cost": …}`), `None`
/// when there is none or it is not a number.
fn exact_reported_cost(raw: &str) -> Option<Usd> {
    let parsed: RawCostResponse<'_> = serde_json::from_str(raw).ok()?;
    let mut value = parsed.usage?.cost?;
    if value.get().trim_start().starts_with('{') {
        let inner: RawTotalCost<'_> = serde_json::from_str(value.get()).ok()?;
        value = inner.total_cost?;
    }
    let text = value.get().trim();
    let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text).trim();
    let d = <rust_decimal::Decimal as std::str::FromStr>::from_str(text)
        .ok()
        .or_else(|| rust_decimal::Decimal::from_scientific(text).ok())?;
    Some(Usd::new(d))
}

/// Reads an OpenAI chat.completion the way LiteLLM's `ModelResponse` reads it: a `usage.cost` object
/// (Perplexity's `{"total_cost": …}`) counts as its total, Anthropic's `cache_read_input_tokens` and
/// `cache_creation_input_tokens` set the cache counts, and the reported `total_tokens` is kept.
fn decode_response(raw: &str) -> Result<llm_core::ChatResponse> {
    if let Ok(RawUsageResponse { usage: Some(usage) }) = serde_json::from_str::<RawUsageResponse<'_>>(raw) {
        check_counts(usage, "response.usage.")?;
    }
    let mut response = match openai::response_from_json(raw.as_bytes()) {
        Ok(r) => r,
        Err(first) => {
            let mut v: serde_json::Value =
                serde_json::from_str(raw).map_err(|_| invalid(format!("invalid response: {first}")))?;
            let total = v.pointer("/usage/cost/total_cost").cloned();
            match (total, v.pointer_mut("/usage/cost")) {
                (Some(t), Some(slot)) => *slot = t,
                _ => return Err(invalid(format!("invalid response: {first}"))),
            }
            openai::response_from_json(v.to_string().as_bytes())
                .map_err(|e| invalid(format!("invalid response: {e}")))?
        }
    };
    if response.provider_cost.is_some()
        && let Some(exact) = exact_reported_cost(raw)
    {
        response.provider_cost = Some(exact);
    }
    let extras: ResponseExtras = serde_json::from_str(raw).unwrap_or_default();
    if let (Some(extra), Some(usage)) = (extras.usage, response.usage.as_mut()) {
        if let Some(n) = extra.cache_read_input_tokens.0 {
            usage.cache_read_tokens = Some(n);
        }
        if let Some(n) = extra.cache_creation_input_tokens.0 {
            usage.cache_write_tokens = Some(n);
        }
        if let Some(t) = extra.total_tokens.0 {
            usage.total_tokens = t;
        }
        // LiteLLM bills only the cache tokens of a raw Anthropic usage (its prompt count is missing); this
        // converts it to OpenAI's convention instead (docs/pricing.md, "raw Anthropic usage")
        if extra.prompt_tokens.0.is_none()
            && let Some(input) = extra.input_tokens.0
        {
            usage.prompt_tokens = input
                .saturating_add(usage.cache_read_tokens.unwrap_or(0))
                .saturating_add(usage.cache_write_tokens.unwrap_or(0));
            usage.completion_tokens = extra.output_tokens.0.unwrap_or(usage.completion_tokens);
            usage.total_tokens = usage.prompt_tokens.saturating_add(usage.completion_tokens);
        }
    }
    Ok(response)
}

/// Prices one input line. `Err` for a line that cannot be read.
pub fn price_jsonl_line(catalog: &Catalog, line: &str) -> Result<Cost> {
    if !line.trim_start().starts_with('{') {
        return Err(invalid("an input line must be a JSON object"));
    }
    let parsed: Line<'_> = serde_json::from_str(line).map_err(|e| invalid(format!("invalid input line: {e}")))?;
    let mut options = CostOptions::new();
    if let Some(t) = &parsed.billing_time {
        options.billing_time =
            Some(BillingTime::parse_rfc3339(t).ok_or_else(|| invalid(format!("billing_time {t:?} is not RFC 3339")))?);
    }
    options.service_tier = parsed.service_tier.clone();
    let provider = parsed.provider.as_deref();
    match (parsed.response, parsed.model.as_deref(), parsed.usage) {
        (Some(resp), None, None) => {
            let response = decode_response(resp.get())?;
            catalog.completion_cost(&response, provider, &options)
        }
        (None, Some(model), Some(usage)) => {
            let usage = parse_usage(usage)?;
            catalog.cost_per_token(model, provider, &usage, &options)
        }
        (None, Some(_), None) => Err(invalid("the line has a model but no usage")),
        (None, None, _) => Err(invalid("the line needs either \"model\" and \"usage\", or \"response\"")),
        (Some(_), _, _) => Err(invalid("a line with \"response\" takes no \"model\" or \"usage\"")),
    }
}

fn number(amount: Usd) -> Box<RawValue> {
    let text = amount.normalize().to_string();
    RawValue::from_string(text).unwrap_or_else(|_| zero())
}

fn zero() -> Box<RawValue> {
    // "0" is always a valid JSON number; the fallback of the fallback is an empty object, never a panic
    RawValue::from_string("0".to_owned())
        .or_else(|_| serde_json::value::to_raw_value(&0))
        .unwrap_or_else(|_| Box::<RawValue>::default())
}

#[derive(serde::Serialize)]
struct Answer<'a> {
    prompt_cost: Box<RawValue>,
    completion_cost: Box<RawValue>,
    total_cost: Box<RawValue>,
    status: &'a str,
    catalog_key: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct ErrorAnswer<'a> {
    error: ErrorBody<'a>,
}

#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    kind: &'a str,
    message: &'a str,
}

/// The answer object for a priced cost.
pub fn cost_answer(cost: &Cost) -> String {
    let (p, c) = if cost.is_known() { (cost.prompt_cost(), cost.completion_cost()) } else { (Usd::ZERO, Usd::ZERO) };
    let answer = Answer {
        prompt_cost: number(p),
        completion_cost: number(c),
        total_cost: number(p + c),
        status: cost.status.as_str(),
        catalog_key: cost.catalog_key.as_deref(),
    };
    serde_json::to_string(&answer).unwrap_or_else(|e| error_answer(&invalid(format!("cannot write answer: {e}"))))
}

/// The answer object for an error.
pub fn error_answer(error: &Error) -> String {
    let answer = ErrorAnswer { error: ErrorBody { kind: error.kind().as_str(), message: error.message() } };
    serde_json::to_string(&answer)
        .unwrap_or_else(|_| "{\"error\":{\"kind\":\"invalid_input\",\"message\":\"\"}}".to_owned())
}

/// Answers one `llm cost --jsonl` input line (without a trailing newline). Never fails: a line that cannot be
/// read gets an error answer.
///
/// ```
/// let c = llm_cost::Catalog::embedded();
/// let line = r#"{"model": "gpt-4o", "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "cached_tokens": 200}}"#;
/// assert_eq!(
///     llm_cost::answer_jsonl_line(c, line),
///     r#"{"prompt_cost":0.00225,"completion_cost":0.005,"total_cost":0.00725,"status":"priced","catalog_key":"gpt-4o"}"#
/// );
/// assert!(llm_cost::answer_jsonl_line(c, "not json").starts_with(r#"{"error":{"kind":"invalid_input""#));
/// ```
pub fn answer_jsonl_line(catalog: &Catalog, line: &str) -> String {
    match price_jsonl_line(catalog, line) {
        Ok(cost) => cost_answer(&cost),
        Err(e) => error_answer(&e),
    }
}

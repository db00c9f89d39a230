//! One catalog row: [`ModelInfo`] and the data behind it.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::exact::{self, Json};

/// The FxHash function (rustc's): fast for the short string keys the catalog is indexed by. Lookups only ever
/// hash caller input against keys from the catalog, so its lack of DoS resistance costs nothing here.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            if let Some(dst) = b.get_mut(..rest.len()) {
                dst.copy_from_slice(rest);
            }
            self.add(u64::from_le_bytes(b));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One `tiered_pricing` tier: a prompt-token range and the rates that apply inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTier {
    /// `[lo, hi]`: the tier applies when `lo < prompt_tokens <= hi`. `None` when the row's range is malformed
    /// (LiteLLM then ignores the tier).
    pub range: Option<(Decimal, Decimal)>,
    rates: Vec<(Box<str>, Decimal)>,
}

impl PriceTier {
    /// A rate the tier declares (`input_cost_per_token`, `output_cost_per_token`, ...).
    pub fn rate(&self, key: &str) -> Option<Decimal> {
        self.rates.iter().find(|(k, _)| &**k == key).map(|(_, v)| *v)
    }

    /// Every rate the tier declares.
    pub fn rates(&self) -> impl Iterator<Item = (&str, Decimal)> {
        self.rates.iter().map(|(k, v)| (&**k, *v))
    }
}

/// A row's `off_peak_pricing`: time windows in which other rates replace the standard ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct OffPeak {
    /// Windows (`"HH:MM-HH:MM"`, UTC) that apply every day.
    pub(crate) hours_utc: Vec<String>,
    /// Windows restricted to weekdays.
    pub(crate) windows: Vec<OffPeakWindow>,
    /// The IANA zone whose calendar decides the weekday (UTC when absent), resolved when the row is read.
    pub(crate) weekday_timezone: Option<WeekdayZone>,
    /// The replacement rates.
    pub(crate) rates: Vec<(Box<str>, Decimal)>,
}

/// An off-peak block's `weekday_timezone`, looked up in the bundled IANA database.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WeekdayZone {
    /// A zone the database holds.
    Known(jiff::tz::TimeZone),
    /// A name it does not hold. Catalog validation refuses it on every load; were a row to carry one all the
    /// same, its weekday-restricted windows never open (standard rates), rather than reading the zone as UTC.
    Unknown(String),
}

impl OffPeak {
    pub(crate) fn rate(&self, key: &str) -> Option<Decimal> {
        self.rates.iter().find(|(k, _)| &**k == key).map(|(_, v)| *v)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct OffPeakWindow {
    pub(crate) hours_utc: Vec<String>,
    /// ISO weekdays (1 = Monday); `None` = every day.
    pub(crate) weekdays: Option<Vec<u8>>,
}

/// A number stored in a row, with whether LiteLLM's `get_model_info` passes it to the cost calculator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Number {
    pub(crate) value: Decimal,
    /// The key is one `get_model_info` copies into its result (an explicit list plus every `_above_N_tokens`
    /// key): a price the row carries under any other name is invisible to LiteLLM's calculator.
    pub(crate) visible: bool,
}

/// Everything a row says, parsed once. Shared by the row's key and its aliases.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModelData {
    pub(crate) provider: Option<Box<str>>,
    pub(crate) mode: Option<Box<str>>,
    pub(crate) max_input_tokens: Option<u64>,
    pub(crate) max_output_tokens: Option<u64>,
    pub(crate) numbers: FxHashMap<Box<str>, Number>,
    pub(crate) flags: Vec<(Box<str>, bool)>,
    pub(crate) strings: Vec<(Box<str>, Box<str>)>,
    pub(crate) tiered_pricing: Option<Vec<PriceTier>>,
    pub(crate) off_peak: Option<OffPeak>,
    pub(crate) provider_specific: Vec<(Box<str>, Decimal)>,
    pub(crate) search_context_cost_per_query: Vec<(Box<str>, Decimal)>,
    /// The thresholds of the standard-tier `…_above_<N>_tokens` keys of the four base rates: (N, the threshold's
    /// text such as `200k`), sorted by N, each text once.
    pub(crate) thresholds: Vec<(u64, Box<str>)>,
    /// Every `…_above_<N>_tokens…` key of the four base rates, whatever its tier suffix: (N, key), sorted.
    pub(crate) threshold_keys: Vec<(u64, Box<str>)>,
    /// The row's JSON text, as the catalog has it.
    pub(crate) raw: RawRow,
    /// The base rates per service tier (standard, flex, balanced, priority, ultrafast), each computed on first
    /// use (the hot path of every cost).
    pub(crate) tier_rates: [std::sync::OnceLock<StdRates>; 5],
}

/// The rates `get_cost_per_unit` resolves for one service tier, before thresholds, off-peak windows and
/// `tiered_pricing`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StdRates {
    /// `input_cost_per_token`, 0 when absent.
    pub(crate) input: Decimal,
    /// `output_cost_per_token`, or `output_cost_per_image_token` when that is 0.
    pub(crate) output: Decimal,
    pub(crate) cache_read: Option<Decimal>,
    pub(crate) cache_write: Option<Decimal>,
    /// `cache_creation_input_token_cost_above_1hr`.
    pub(crate) cache_write_1h: Option<Decimal>,
    /// `cache_creation_input_token_cost_above_12hr`.
    pub(crate) cache_write_12h: Option<Decimal>,
    /// `output_cost_per_reasoning_token` (the standard key: the tier's reasoning key has its own rule).
    pub(crate) reasoning: Option<Decimal>,
}

/// A row's JSON text: a slice of the embedded catalog, or a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawRow {
    /// Borrowed from the embedded catalog.
    Static(&'static str),
    /// Owned (a catalog loaded at run time, a registered or synthesized row).
    Owned(Arc<str>),
}

impl Default for RawRow {
    fn default() -> Self {
        RawRow::Static("{}")
    }
}

impl RawRow {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            RawRow::Static(s) => s,
            RawRow::Owned(s) => s,
        }
    }

    /// The canonical compact text of a parsed row.
    pub(crate) fn canonical(row: &Json<'_>) -> RawRow {
        let mut text = String::new();
        exact::write_canonical(&mut text, row);
        RawRow::Owned(Arc::from(text))
    }
}

/// The keys LiteLLM 1.110.2's `get_model_info` copies from a row (utils.py `get_model_info_helper`), besides
/// every key matching `_above_\d+k?_tokens(_batches)?$`. The cost calculator only ever sees these.
pub(crate) const MODEL_INFO_KEYS: &[&str] = &include!("model_info_keys.in");

/// `true` for a key `get_model_info` passes through.
pub(crate) fn model_info_visible(key: &str) -> bool {
    MODEL_INFO_KEYS.binary_search(&key).is_ok() || above_threshold_key(key).is_some()
}

/// For a key ending in `_above_<N>[k]_tokens` (optionally `_batches`), the threshold N in tokens.
pub(crate) fn above_threshold_key(key: &str) -> Option<u64> {
    let stem = key.strip_suffix("_batches").unwrap_or(key);
    let stem = stem.strip_suffix("_tokens")?;
    let idx = stem.rfind("_above_")?;
    parse_threshold(stem.get(idx + 7..)?)
}

/// `"200k"` → 200000, `"128"` → 128.
pub(crate) fn parse_threshold(text: &str) -> Option<u64> {
    let (digits, mult) = match text.strip_suffix('k') {
        Some(d) => (d, 1000),
        None => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// Reads a JSON number's text (or a numeric string) as an exact decimal.
pub(crate) fn decimal_from_text(text: &str) -> Option<Decimal> {
    let t = text.trim();
    Decimal::from_str(t).ok().or_else(|| Decimal::from_scientific(t).ok())
}

/// A price-like field: one whose numeric strings LiteLLM reads as numbers.
pub(crate) fn is_price_key(key: &str) -> bool {
    key.contains("cost") || key.contains("multiplier")
}

fn as_count(v: &Json<'_>) -> Option<u64> {
    match v {
        Json::Num(t) => {
            let d = decimal_from_text(t)?;
            if d.is_sign_negative() || d.fract() != Decimal::ZERO {
                return None;
            }
            u64::try_from(d).ok()
        }
        Json::Str(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

fn as_rate(v: &Json<'_>) -> Option<Decimal> {
    match v {
        Json::Num(t) => decimal_from_text(t),
        Json::Str(s) => decimal_from_text(s),
        _ => None,
    }
}

fn window_strings(v: Option<&Json<'_>>) -> Vec<String> {
    match v {
        Some(Json::Str(s)) => vec![s.to_string()],
        Some(Json::Arr(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

fn weekday(v: &Json<'_>) -> Option<u8> {
    match v {
        Json::Num(t) => t.parse::<u8>().ok().filter(|d| (1..=7).contains(d)),
        Json::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "mon" | "monday" => Some(1),
            "tue" | "tues" | "tuesday" => Some(2),
            "wed" | "wednesday" => Some(3),
            "thu" | "thur" | "thurs" | "thursday" => Some(4),
            "fri" | "friday" => Some(5),
            "sat" | "saturday" => Some(6),
            "sun" | "sunday" => Some(7),
            _ => None,
        },
        _ => None,
    }
}

fn rate_list(v: &Json<'_>) -> Vec<(Box<str>, Decimal)> {
    exact::sorted_members(v).into_iter().filter_map(|(k, v)| as_rate(v).map(|d| (Box::from(k), d))).collect()
}

fn parse_off_peak(v: &Json<'_>) -> Option<OffPeak> {
    if !matches!(v, Json::Obj(_)) {
        return None;
    }
    let mut op = OffPeak { hours_utc: window_strings(v.get("hours_utc")), ..OffPeak::default() };
    if let Some(Json::Arr(rules)) = v.get("windows") {
        for rule in rules {
            if !matches!(rule, Json::Obj(_)) {
                continue;
            }
            let weekdays = match rule.get("weekdays") {
                None | Some(Json::Null) => None,
                Some(Json::Arr(days)) => Some(days.iter().filter_map(weekday).collect()),
                // LiteLLM: a weekdays value that is not a list matches no day
                Some(_) => Some(Vec::new()),
            };
            op.windows.push(OffPeakWindow { hours_utc: window_strings(rule.get("hours_utc")), weekdays });
        }
    }
    op.weekday_timezone = v.get("weekday_timezone").and_then(Json::as_str).map(|name| match crate::time::zone(name) {
        Ok(zone) => WeekdayZone::Known(zone),
        Err(_) => WeekdayZone::Unknown(name.to_owned()),
    });
    for (k, val) in exact::sorted_members(v) {
        if matches!(val, Json::Bool(_)) {
            continue;
        }
        if let Some(d) = as_rate(val) {
            op.rates.push((Box::from(k), d));
        }
    }
    Some(op)
}

fn parse_tiers(v: &Json<'_>) -> Option<Vec<PriceTier>> {
    let Json::Arr(items) = v else { return None };
    let tiers = items
        .iter()
        .filter(|t| matches!(t, Json::Obj(_)))
        .map(|t| {
            let range = match t.get("range") {
                Some(Json::Arr(r)) if r.len() == 2 => match (r.first().and_then(as_rate), r.get(1).and_then(as_rate)) {
                    (Some(lo), Some(hi)) => Some((lo, hi)),
                    _ => None,
                },
                _ => None,
            };
            let rates = exact::sorted_members(t)
                .into_iter()
                .filter(|(k, _)| *k != "range")
                .filter_map(|(k, v)| match v {
                    Json::Bool(_) => None,
                    v => as_rate(v).map(|d| (Box::from(k), d)),
                })
                .collect();
            PriceTier { range, rates }
        })
        .collect();
    Some(tiers)
}

impl ModelData {
    /// Reads one row whose text is `raw`. Never fails: a field of an unexpected type is kept in the raw JSON
    /// only.
    pub(crate) fn from_json(row: &Json<'_>, raw: RawRow) -> ModelData {
        let mut d = ModelData { raw, ..ModelData::default() };
        for (key, value) in exact::sorted_members(row) {
            match (key, value) {
                (_, Json::Null) => {}
                ("litellm_provider", Json::Str(s)) => d.provider = Some(Box::from(s.as_ref())),
                ("mode", Json::Str(s)) => d.mode = Some(Box::from(s.as_ref())),
                ("max_input_tokens", v) => d.max_input_tokens = as_count(v),
                ("max_output_tokens", v) => d.max_output_tokens = as_count(v),
                ("tiered_pricing", v) => d.tiered_pricing = parse_tiers(v),
                ("off_peak_pricing", v) => d.off_peak = parse_off_peak(v),
                ("provider_specific_entry", v @ Json::Obj(_)) => d.provider_specific = rate_list(v),
                ("search_context_cost_per_query", v @ Json::Obj(_)) => d.search_context_cost_per_query = rate_list(v),
                (k, Json::Bool(b)) => d.flags.push((Box::from(k), *b)),
                (k, Json::Num(t)) => {
                    if let Some(value) = decimal_from_text(t) {
                        d.numbers.insert(Box::from(k), Number { value, visible: model_info_visible(k) });
                    }
                }
                (k, Json::Str(s)) => {
                    if let Some(value) = is_price_key(k).then(|| decimal_from_text(s)).flatten() {
                        d.numbers.insert(Box::from(k), Number { value, visible: model_info_visible(k) });
                    } else {
                        d.strings.push((Box::from(k), Box::from(s.as_ref())));
                    }
                }
                _ => {}
            }
        }
        d.finish();
        d
    }

    /// Recomputes the derived fields after the data changed.
    pub(crate) fn finish(&mut self) {
        const PREFIXES: [&str; 4] = [
            "input_cost_per_token_above_",
            "output_cost_per_token_above_",
            "cache_read_input_token_cost_above_",
            "cache_creation_input_token_cost_above_",
        ];
        let mut keys: Vec<(u64, Box<str>)> = self
            .numbers
            .iter()
            .filter(|(k, n)| n.visible && PREFIXES.iter().any(|p| k.starts_with(p)) && k.contains("_tokens"))
            .filter_map(|(k, _)| threshold_of(k).map(|t| (t, k.clone())))
            .collect();
        keys.sort();
        self.thresholds = unique_thresholds(keys.iter().filter(|(_, k)| !has_nonstandard_suffix(k)));
        self.threshold_keys = keys;
        self.flags.sort();
        self.strings.sort();
    }

    pub(crate) fn flag(&self, key: &str) -> Option<bool> {
        self.flags.binary_search_by(|(k, _)| (**k).cmp(key)).ok().and_then(|i| self.flags.get(i)).map(|(_, v)| *v)
    }

    pub(crate) fn string(&self, key: &str) -> Option<&str> {
        self.strings.binary_search_by(|(k, _)| (**k).cmp(key)).ok().and_then(|i| self.strings.get(i)).map(|(_, v)| &**v)
    }

    /// A number as LiteLLM's cost calculator sees it (only `get_model_info` keys).
    #[inline]
    pub(crate) fn visible(&self, key: &str) -> Option<Decimal> {
        self.numbers.get(key).filter(|n| n.visible).map(|n| n.value)
    }

    /// Any number of the row.
    pub(crate) fn number(&self, key: &str) -> Option<Decimal> {
        self.numbers.get(key).map(|n| n.value)
    }
}

/// (N, threshold text) of threshold keys sorted by N, each text once (applying one threshold twice changes
/// nothing, so LiteLLM's per-key loop reduces to one pass per threshold).
pub(crate) fn unique_thresholds<'a>(keys: impl Iterator<Item = &'a (u64, Box<str>)>) -> Vec<(u64, Box<str>)> {
    let mut out: Vec<(u64, Box<str>)> = Vec::new();
    for (n, key) in keys {
        let Some(text) = threshold_text(key) else { continue };
        if !out.iter().any(|(_, t)| &**t == text) {
            out.push((*n, Box::from(text)));
        }
    }
    out
}

/// The service-tier suffixes LiteLLM strips when it falls back to a standard key, longest first (as
/// `_SERVICE_TIER_SUFFIXES` orders them), and `_batches`.
pub(crate) const TIER_SUFFIXES: [&str; 6] = ["_ultrafast", "_balanced", "_priority", "_flex", "_fast", "_auto"];

pub(crate) fn has_nonstandard_suffix(key: &str) -> bool {
    key.ends_with("_batches") || TIER_SUFFIXES.iter().any(|s| key.ends_with(s))
}

/// The threshold of a `…_above_<N>[k]_tokens…` key, as LiteLLM parses it: the text after the last `_above_`, up
/// to `_tokens`.
pub(crate) fn threshold_of(key: &str) -> Option<u64> {
    let after = key.rsplit_once("_above_")?.1;
    let t = after.split("_tokens").next()?;
    parse_threshold(t)
}

/// The text of the threshold (`"200k"`) of a threshold key.
pub(crate) fn threshold_text(key: &str) -> Option<&str> {
    let after = key.rsplit_once("_above_")?.1;
    after.split("_tokens").next()
}

/// What the catalog knows about one model: its provider, mode, context window, every price, and its capability
/// flags. Cheap to clone (the data is shared).
///
/// ```
/// let info = llm_cost::Catalog::embedded().model_info("gpt-4o", None).unwrap();
/// assert_eq!(info.provider(), Some("openai"));
/// assert!(info.input_cost_per_token().is_some());
/// assert_eq!(info.flag("supports_function_calling"), Some(true));
/// ```
#[derive(Clone)]
pub struct ModelInfo {
    pub(crate) key: Arc<str>,
    pub(crate) data: Arc<ModelData>,
}

impl fmt::Debug for ModelInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelInfo")
            .field("key", &self.key)
            .field("provider", &self.provider())
            .field("mode", &self.mode())
            .finish_non_exhaustive()
    }
}

impl PartialEq for ModelInfo {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.data.raw == other.data.raw
    }
}

impl ModelInfo {
    /// The catalog key this information was found under.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The row's `litellm_provider` (`openai`, `bedrock_converse`, `vertex_ai-language-models`, ...).
    pub fn provider(&self) -> Option<&str> {
        self.data.provider.as_deref()
    }

    /// The row's `mode` (`chat`, `embedding`, `image_generation`, `responses`, ...).
    pub fn mode(&self) -> Option<&str> {
        self.data.mode.as_deref()
    }

    /// The context window (`max_input_tokens`).
    pub fn max_input_tokens(&self) -> Option<u64> {
        self.data.max_input_tokens
    }

    /// The output limit (`max_output_tokens`).
    pub fn max_output_tokens(&self) -> Option<u64> {
        self.data.max_output_tokens
    }

    /// LiteLLM's `max_tokens`: the output limit, else (when absent or 0) the context window.
    pub fn max_tokens(&self) -> Option<u64> {
        match self.data.max_output_tokens {
            Some(n) if n > 0 => Some(n),
            _ => self.data.max_input_tokens.or(self.data.max_output_tokens),
        }
    }

    /// A price (or any other number) the row carries, exact: `price("input_cost_per_token")`,
    /// `price("cache_read_input_token_cost_above_200k_tokens")`, ... `None` when the row does not carry it.
    pub fn price(&self, key: &str) -> Option<Decimal> {
        self.data.number(key)
    }

    /// Every number the row carries (prices, multipliers, limits), sorted by key.
    pub fn prices(&self) -> Vec<(&str, Decimal)> {
        let mut v: Vec<(&str, Decimal)> =
            self.data.numbers.iter().filter(|(k, _)| is_price_key(k)).map(|(k, n)| (&**k, n.value)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// `input_cost_per_token`.
    pub fn input_cost_per_token(&self) -> Option<Decimal> {
        self.price("input_cost_per_token")
    }

    /// `output_cost_per_token`.
    pub fn output_cost_per_token(&self) -> Option<Decimal> {
        self.price("output_cost_per_token")
    }

    /// `cache_read_input_token_cost`.
    pub fn cache_read_input_token_cost(&self) -> Option<Decimal> {
        self.price("cache_read_input_token_cost")
    }

    /// `cache_creation_input_token_cost`.
    pub fn cache_creation_input_token_cost(&self) -> Option<Decimal> {
        self.price("cache_creation_input_token_cost")
    }

    /// `output_cost_per_reasoning_token`.
    pub fn output_cost_per_reasoning_token(&self) -> Option<Decimal> {
        self.price("output_cost_per_reasoning_token")
    }

    /// The row's `tiered_pricing` tiers (DashScope-style ranges), empty when it has none.
    pub fn tiered_pricing(&self) -> &[PriceTier] {
        self.data.tiered_pricing.as_deref().unwrap_or(&[])
    }

    /// A boolean field of the row (`supports_vision`, `thinking_always_on`, ...), as the row states it.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.data.flag(key)
    }

    /// Every boolean field of the row, sorted by key.
    pub fn flags(&self) -> impl Iterator<Item = (&str, bool)> {
        self.data.flags.iter().map(|(k, v)| (&**k, *v))
    }

    /// A string field of the row (`deprecation_date`, `source`, ...).
    pub fn string(&self, key: &str) -> Option<&str> {
        self.data.string(key)
    }

    /// Any field of the row as JSON, `None` when absent. (Numbers become `serde_json` numbers; use
    /// [`ModelInfo::price`] for exact prices.)
    pub fn field(&self, key: &str) -> Option<serde_json::Value> {
        let row = exact::parse(self.data.raw.as_str()).ok()?;
        let v = row.get(key)?;
        let mut text = String::new();
        exact::write_canonical(&mut text, v);
        serde_json::from_str(&text).ok()
    }

    /// The whole row as canonical compact JSON: keys sorted, numbers as exact plain decimals (never through
    /// `f64`), so it can be embedded as is (for example with `serde_json::value::RawValue`).
    pub fn to_json(&self) -> String {
        match exact::parse(self.data.raw.as_str()) {
            Ok(row) => {
                let mut text = String::new();
                exact::write_canonical(&mut text, &row);
                text
            }
            Err(_) => "{}".to_owned(),
        }
    }

    /// Whether LiteLLM would call this row priced at all: it carries a positive token price or tiered prices.
    pub(crate) fn has_token_or_tiered_pricing(&self) -> bool {
        let positive = |k: &str| self.data.visible(k).is_some_and(|d| d > Decimal::ZERO);
        positive("input_cost_per_token") || positive("output_cost_per_token") || self.data.tiered_pricing.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_like_litellm() {
        assert_eq!(above_threshold_key("input_cost_per_token_above_200k_tokens"), Some(200_000));
        assert_eq!(above_threshold_key("input_cost_per_token_above_128_tokens_batches"), Some(128));
        assert_eq!(above_threshold_key("input_cost_per_token_above_200k_tokens_priority"), None);
        assert_eq!(threshold_of("input_cost_per_token_above_200k_tokens_priority"), Some(200_000));
        assert_eq!(threshold_of("cache_creation_input_token_cost_above_1hr_above_200k_tokens"), Some(200_000));
        assert_eq!(threshold_text("output_cost_per_token_above_272k_tokens_flex"), Some("272k"));
        assert!(model_info_visible("input_cost_per_token_flex"));
        assert!(!model_info_visible("input_cost_per_image_token_priority"));
        assert!(MODEL_INFO_KEYS.windows(2).all(|w| w[0] < w[1]), "keys must be sorted for binary search");
    }

    #[test]
    fn rows_load_tolerantly() {
        let row = exact::parse(
            r#"{"litellm_provider": "x", "mode": "chat", "max_input_tokens": "1000", "max_output_tokens": 12.5,
                "input_cost_per_token": "3e-7", "output_cost_per_token": 1, "supports_vision": true,
                "tiered_pricing": [{"range": [0, 32000], "input_cost_per_token": 1e-6}, "junk"],
                "provider_specific_entry": {"us": 1.1, "fast": "x"}, "weird": [1, {"b": 2}], "deprecation_date": "2030-01-01",
                "off_peak_pricing": {"hours_utc": "16:30-00:30", "input_cost_per_token": 1e-7}, "nothing": null}"#,
        )
        .unwrap();
        let d = ModelData::from_json(&row, RawRow::canonical(&row));
        assert_eq!(d.max_input_tokens, Some(1000));
        assert_eq!(d.max_output_tokens, None);
        assert_eq!(d.visible("input_cost_per_token"), Some(Decimal::new(3, 7)));
        assert_eq!(d.visible("output_cost_per_token"), Some(Decimal::ONE));
        assert_eq!(d.flag("supports_vision"), Some(true));
        assert_eq!(d.tiered_pricing.as_ref().map(Vec::len), Some(1));
        assert_eq!(d.provider_specific, vec![(Box::from("us"), Decimal::new(11, 1))]);
        assert_eq!(d.string("deprecation_date"), Some("2030-01-01"));
        let op = d.off_peak.unwrap();
        assert_eq!(op.hours_utc, vec!["16:30-00:30".to_owned()]);
        assert_eq!(op.rate("input_cost_per_token"), Some(Decimal::new(1, 7)));
        assert!(d.raw.as_str().contains("\"weird\": [1, {\"b\": 2}]"));
    }
}

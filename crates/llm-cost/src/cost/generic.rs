//! LiteLLM 1.110.2's `generic_cost_per_token` (litellm_core_utils/llm_cost_calc/utils.py), in decimals.
//!
//! Every bucket is billed at its own rate:
//! - uncached text input at the input rate; cache reads at `cache_read_input_token_cost`, cache writes at
//!   `cache_creation_input_token_cost` (1-hour writes at `…_above_1hr`), each falling back to the input rate when
//!   absent (an explicit 0 is kept); audio and image input at their modality rates, else the input rate;
//! - output text at the output rate; reasoning at `output_cost_per_reasoning_token`, audio and image output at
//!   theirs, each falling back to the output rate.
//!
//! The base rates depend on, in order: a `tiered_pricing` tier (one tier prices the whole request), the service
//! tier (`<key>_<tier>`, falling back to the standard key), every `_above_<N>_tokens` threshold the prompt
//! crosses (strictly greater; `>=` for xAI; ascending, so the highest crossed wins, and output is re-priced too),
//! then off-peak windows, which replace rates. Finally the OpenAI data-residency and Vertex regional uplifts
//! multiply everything.

use jiff::tz::TimeZone;
use llm_core::{CostBreakdown, Usage, Usd};
use rust_decimal::Decimal;

use crate::catalog::{
    ModelData, OffPeak, StdRates, WeekdayZone, has_nonstandard_suffix, threshold_of, unique_thresholds,
};
use crate::error::Result;
use crate::time::{self, BillingTime};

use super::{overflow, tier_suffix};

/// The token counts LiteLLM's `Usage` carries, as the formula reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TokenCounts {
    pub(crate) prompt: u64,
    pub(crate) completion: u64,
    /// `total_tokens` as reported (xAI's calculator compares it with prompt + completion).
    pub(crate) total: u64,
    /// `prompt_tokens_details` was reported (some sub-count is `Some`).
    pub(crate) has_prompt_details: bool,
    pub(crate) cached: u64,
    pub(crate) cache_write: u64,
    /// The cache-write TTL split (5 minutes, 30 minutes, 1 hour, 12 hours), when reported.
    pub(crate) ttl: Option<[Option<u64>; 4]>,
    pub(crate) audio_in: u64,
    pub(crate) image_in: u64,
    /// `completion_tokens_details` was reported.
    pub(crate) has_completion_details: bool,
    pub(crate) reasoning: u64,
    pub(crate) audio_out: u64,
    pub(crate) image_out: u64,
    /// A cost the provider reported with the usage.
    pub(crate) reported_cost: Option<Decimal>,
    /// Web searches made (Anthropic's `web_search_requests`, Perplexity's `num_search_queries`).
    pub(crate) web_search_requests: Option<u64>,
    /// Perplexity's citation tokens (outside `prompt`).
    pub(crate) citation: u64,
    /// Perplexity's search context size.
    pub(crate) search_context_size: Option<llm_core::SearchContextSize>,
}

impl TokenCounts {
    pub(crate) fn from_usage(u: &Usage) -> TokenCounts {
        let split = u.cache_write_ttl_split();
        let ttl = split.iter().any(Option::is_some).then_some(split);
        TokenCounts {
            prompt: u.prompt_tokens,
            completion: u.completion_tokens,
            total: u.total_tokens,
            has_prompt_details: u.cache_read_tokens.is_some()
                || u.cache_write_tokens.is_some()
                || ttl.is_some()
                || u.audio_input_tokens.is_some()
                || u.image_input_tokens.is_some(),
            cached: u.cache_read_tokens.unwrap_or(0),
            cache_write: u.cache_write_tokens.unwrap_or(0),
            ttl,
            audio_in: u.audio_input_tokens.unwrap_or(0),
            image_in: u.image_input_tokens.unwrap_or(0),
            has_completion_details: u.reasoning_tokens.is_some()
                || u.audio_output_tokens.is_some()
                || u.image_output_tokens.is_some(),
            reasoning: u.reasoning_tokens.unwrap_or(0),
            audio_out: u.audio_output_tokens.unwrap_or(0),
            image_out: u.image_output_tokens.unwrap_or(0),
            reported_cost: None,
            web_search_requests: u.web_search_requests,
            citation: u.citation_tokens.unwrap_or(0),
            search_context_size: u.search_context_size,
        }
    }
}

/// Base per-token rates of one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rates {
    pub(crate) input: Decimal,
    pub(crate) output: Decimal,
    pub(crate) cache_read: Option<Decimal>,
    pub(crate) cache_write: Option<Decimal>,
    pub(crate) reasoning: Option<Decimal>,
}

/// A cost key built on the stack: `base` + `_<tier>` and friends, without allocating.
struct Key {
    buf: [u8; 128],
    len: usize,
}

impl Key {
    fn new(parts: &[&str]) -> Key {
        let mut k = Key { buf: [0; 128], len: 0 };
        for p in parts {
            k.push(p);
        }
        k
    }

    fn push(&mut self, s: &str) {
        let end = (self.len + s.len()).min(self.buf.len());
        let n = end - self.len;
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..end), s.as_bytes().get(..n)) {
            dst.copy_from_slice(src);
        }
        self.len = end;
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

/// `get_service_tier_cost_key`.
fn tier_key(base: &str, suffix: Option<&str>) -> Key {
    match suffix {
        Some(s) => Key::new(&[base, "_", s]),
        None => Key::new(&[base]),
    }
}

/// `get_cost_per_unit`: the value of `key`, else (for a key carrying a service-tier suffix) the value of the key
/// without it, else `default`.
#[inline]
fn unit(d: &ModelData, key: &str, default: Option<Decimal>) -> Option<Decimal> {
    if let Some(v) = d.visible(key) {
        return Some(v);
    }
    if let Some((start, len)) = tier_suffix_in(key) {
        let mut base = Key::new(&[key.get(..start).unwrap_or("")]);
        base.push(key.get(start + len..).unwrap_or(""));
        // `str.replace` removes every occurrence; keys carry at most one
        if let Some(v) = d.visible(base.as_str()) {
            return Some(v);
        }
    }
    default
}

/// Where the first service-tier suffix (in LiteLLM's order: ultrafast, balanced, priority, flex, fast, auto)
/// occurs in `key`, as (byte offset of its `_`, length with the `_`).
fn tier_suffix_in(key: &str) -> Option<(usize, usize)> {
    const WORDS: [&[u8]; 6] = [b"ultrafast", b"balanced", b"priority", b"flex", b"fast", b"auto"];
    let b = key.as_bytes();
    let mut best: Option<(usize, usize, usize)> = None;
    for (i, _) in b.iter().enumerate().filter(|(_, c)| **c == b'_') {
        let rest = b.get(i + 1..).unwrap_or(&[]);
        for (prio, w) in WORDS.iter().enumerate() {
            if rest.starts_with(w) && best.is_none_or(|(p, _, _)| prio < p) {
                best = Some((prio, i, w.len() + 1));
            }
        }
    }
    best.map(|(_, i, len)| (i, len))
}

/// The standard-tier rates of a row, computed once.
fn std_rates(d: &ModelData) -> &StdRates {
    tier_rates(d, None)
}

/// The rates of a row for a service tier (`None`: standard), computed once per tier.
fn tier_rates<'d>(d: &'d ModelData, suffix: Option<&str>) -> &'d StdRates {
    let slot = match suffix {
        None => 0,
        Some("flex") => 1,
        Some("balanced") => 2,
        Some("priority") => 3,
        _ => 4,
    };
    let cell = d.tier_rates.get(slot).unwrap_or(&d.tier_rates[0]);
    cell.get_or_init(|| {
        let mut output = unit(d, tier_key("output_cost_per_token", suffix).as_str(), None).unwrap_or(Decimal::ZERO);
        if output.is_zero()
            && let Some(img) = unit(d, "output_cost_per_image_token", None)
        {
            output = img;
        }
        StdRates {
            input: unit(d, tier_key("input_cost_per_token", suffix).as_str(), None).unwrap_or(Decimal::ZERO),
            output,
            cache_read: unit(d, tier_key("cache_read_input_token_cost", suffix).as_str(), None),
            cache_write: unit(d, tier_key("cache_creation_input_token_cost", suffix).as_str(), None),
            cache_write_1h: unit(d, tier_key("cache_creation_input_token_cost_above_1hr", suffix).as_str(), None),
            cache_write_12h: unit(d, tier_key("cache_creation_input_token_cost_above_12hr", suffix).as_str(), None),
            reasoning: unit(d, "output_cost_per_reasoning_token", None),
        }
    })
}

fn mul(n: u64, rate: Decimal) -> Result<Decimal> {
    if n == 0 || rate.is_zero() {
        return Ok(Decimal::ZERO);
    }
    Decimal::from(n).checked_mul(rate).ok_or_else(overflow)
}

fn exceeds(prompt: u64, threshold: u64, inclusive: bool) -> bool {
    prompt > threshold || (inclusive && prompt == threshold)
}

/// The off-peak block when its window is open at `t`.
pub(crate) fn open_off_peak(d: &ModelData, t: BillingTime) -> Option<&OffPeak> {
    let op = d.off_peak.as_ref()?;
    let secs = u32::try_from(t.unix_seconds().rem_euclid(86_400)).unwrap_or(0);
    let within = |windows: &[String]| {
        windows.iter().any(|w| {
            let Some((a, b)) = w.split_once('-') else { return false };
            if b.contains('-') {
                return false;
            }
            let (Some(start), Some(end)) = (time::parse_hh_mm(a), time::parse_hh_mm(b)) else { return false };
            let (start, end) = (start * 60, end * 60);
            if start < end { start <= secs && secs < end } else { secs >= start || secs < end }
        })
    };
    if !op.hours_utc.is_empty() && within(&op.hours_utc) {
        return Some(op);
    }
    // the weekday on the calendar of `weekday_timezone` (UTC when absent), computed once and only when needed
    let mut weekday = None;
    for w in &op.windows {
        if w.hours_utc.is_empty() {
            continue;
        }
        if let Some(days) = &w.weekdays {
            let day = *weekday.get_or_insert_with(|| match &op.weekday_timezone {
                None => Some(t.iso_weekday(&TimeZone::UTC)),
                Some(WeekdayZone::Known(zone)) => Some(t.iso_weekday(zone)),
                Some(WeekdayZone::Unknown(_)) => None,
            });
            if !day.is_some_and(|d| days.contains(&d)) {
                continue;
            }
        }
        if within(&w.hours_utc) {
            return Some(op);
        }
    }
    None
}

/// `apply_off_peak_pricing`: off-peak rates replace the standard ones while a window is open.
pub(crate) fn apply_off_peak(d: &ModelData, t: BillingTime, r: &mut Rates) {
    let Some(op) = open_off_peak(d, t) else { return };
    r.input = op.rate("input_cost_per_token").unwrap_or(r.input);
    r.output = op.rate("output_cost_per_token").unwrap_or(r.output);
    r.cache_read = op.rate("cache_read_input_token_cost").or(r.cache_read);
    r.cache_write = op.rate("cache_creation_input_token_cost").or(r.cache_write);
    r.reasoning = op.rate("output_cost_per_reasoning_token").or(r.reasoning);
}

/// The `tiered_pricing` tier for `input_tokens`: `lo < n <= hi`, the last tier above the top range.
fn select_tier(d: &ModelData, input_tokens: u64) -> Option<&crate::catalog::PriceTier> {
    let tiers = d.tiered_pricing.as_deref()?;
    if tiers.is_empty() || input_tokens == 0 {
        return None;
    }
    let n = Decimal::from(input_tokens);
    let mut ranged: Vec<(&crate::catalog::PriceTier, Decimal, Decimal)> =
        tiers.iter().filter_map(|t| t.range.map(|(lo, hi)| (t, lo, hi))).collect();
    if ranged.is_empty() {
        return None;
    }
    ranged.sort_by_key(|a| a.1);
    ranged.iter().find(|(_, lo, hi)| *lo < n && n <= *hi).or(ranged.last()).map(|(t, _, _)| *t)
}

/// `tier_rate`: the tier's rate for `key`, else for `fallback`, else 0.
fn tier_rate(t: &crate::catalog::PriceTier, key: &str, fallback: Option<&str>) -> Decimal {
    if let Some(v) = t.rate(key) {
        return v;
    }
    fallback.and_then(|f| t.rate(f)).unwrap_or(Decimal::ZERO)
}

/// The rates `_get_token_base_cost` resolves, plus the per-TTL write rates (1 hour, 12 hours).
struct BaseRates {
    rates: Rates,
    cache_read: Decimal,
    cache_write: Decimal,
    ttl_1h: Decimal,
    ttl_12h: Decimal,
}

/// `_get_token_base_cost`.
fn base_rates(d: &ModelData, prompt: u64, suffix: Option<&str>, t: BillingTime, inclusive: bool) -> BaseRates {
    // a tiered_pricing tier with an input rate prices everything
    if let Some(tier) = select_tier(d, prompt).filter(|t| t.rate("input_cost_per_token").is_some()) {
        let output = match tier.rate("output_cost_per_token") {
            Some(o) => o,
            None => unit(d, "output_cost_per_token", None).unwrap_or(Decimal::ZERO),
        };
        let mut r = Rates {
            input: tier_rate(tier, "input_cost_per_token", None),
            output,
            cache_read: Some(tier_rate(tier, "cache_read_input_token_cost", Some("input_cost_per_token"))),
            cache_write: Some(tier_rate(tier, "cache_creation_input_token_cost", Some("input_cost_per_token"))),
            reasoning: None,
        };
        apply_off_peak(d, t, &mut r);
        let cw = r.cache_write.unwrap_or(r.input);
        let ttl_1h = tier.rate("cache_creation_input_token_cost_above_1hr").unwrap_or(cw);
        let ttl_12h = tier.rate("cache_creation_input_token_cost_above_12hr").unwrap_or(cw);
        return BaseRates { rates: r, cache_read: r.cache_read.unwrap_or(r.input), cache_write: cw, ttl_1h, ttl_12h };
    }

    let s = tier_rates(d, suffix);
    let (mut input, mut output, mut cache_write, mut cache_read, mut ttl_1h, mut ttl_12h) =
        (s.input, s.output, s.cache_write, s.cache_read, s.cache_write_1h, s.cache_write_12h);

    let mut apply_threshold = |thr: u64, text: &str| {
        if !exceeds(prompt, thr, inclusive) {
            return;
        }
        let k = |base: &str| tier_key(Key::new(&[base, "_above_", text, "_tokens"]).as_str(), suffix);
        input = unit(d, k("input_cost_per_token").as_str(), Some(input)).unwrap_or(input);
        output = unit(d, k("output_cost_per_token").as_str(), Some(output)).unwrap_or(output);
        cache_write = unit(d, k("cache_creation_input_token_cost").as_str(), cache_write);
        // `_first_present_key`: the threshold's 1-hour key only when the row has it (exactly)
        if let Some(v) = d.visible(k("cache_creation_input_token_cost_above_1hr").as_str()) {
            ttl_1h = Some(v);
        }
        if let Some(v) = d.visible(k("cache_creation_input_token_cost_above_12hr").as_str()) {
            ttl_12h = Some(v);
        }
        cache_read = unit(d, k("cache_read_input_token_cost").as_str(), cache_read);
    };
    match suffix {
        None => {
            for (thr, text) in &d.thresholds {
                apply_threshold(*thr, text);
            }
        }
        Some(s) if !d.threshold_keys.is_empty() => {
            // standard thresholds and the ones suffixed with this tier
            let tail = Key::new(&["_", s]);
            let keys =
                d.threshold_keys.iter().filter(|(_, k)| !has_nonstandard_suffix(k) || k.ends_with(tail.as_str()));
            for (thr, text) in unique_thresholds(keys) {
                apply_threshold(thr, &text);
            }
        }
        Some(_) => {}
    }

    let off_peak = open_off_peak(d, t);
    let input_for_missing = off_peak.and_then(|op| op.rate("input_cost_per_token")).unwrap_or(input);
    let mut r = Rates {
        input,
        output,
        cache_read: Some(cache_read.unwrap_or(input_for_missing)),
        cache_write: Some(cache_write.unwrap_or(input_for_missing)),
        reasoning: None,
    };
    apply_off_peak(d, t, &mut r);
    let cw = r.cache_write.unwrap_or(r.input);
    let ttl_1h = ttl_1h.unwrap_or(cw);
    let ttl_12h = ttl_12h.unwrap_or(cw);
    BaseRates { rates: r, cache_read: r.cache_read.unwrap_or(r.input), cache_write: cw, ttl_1h, ttl_12h }
}

/// `get_modality_token_cost_key` + `_modality_token_cost`: audio or image input at its own rate (with its
/// thresholds for audio), else at the input rate.
fn modality_cost(
    d: &ModelData,
    base: &str,
    tokens: u64,
    input_rate: Decimal,
    suffix: Option<&str>,
    prompt: u64,
    inclusive: bool,
) -> Result<Decimal> {
    let cost_key = tier_key(base, suffix);
    let tier_tail = suffix.map(|s| Key::new(&["_", s]));
    let tail: &str = tier_tail.as_ref().map_or("", Key::as_str);
    let prefix = Key::new(&[base, "_above_"]);
    let with_tail = Key::new(&["_tokens", tail]);
    let best = d
        .numbers
        .iter()
        .filter(|(k, n)| {
            n.visible
                && k.starts_with(prefix.as_str())
                && (k.ends_with("_tokens") || k.ends_with(with_tail.as_str()))
                && threshold_of(k).is_some_and(|t| exceeds(prompt, t, inclusive))
        })
        .max_by_key(|(k, _)| threshold_of(k).unwrap_or(0))
        .map(|(k, _)| k);
    let key: Key = match best {
        Some(k) => {
            let stripped = k.strip_suffix(tail).unwrap_or(k);
            Key::new(&[stripped, tail])
        }
        None => cost_key,
    };
    let standard = key.as_str().strip_suffix(tail).unwrap_or(key.as_str());
    if d.visible(key.as_str()).is_none() && d.visible(standard).is_none() {
        return mul(tokens, input_rate);
    }
    match unit(d, key.as_str(), Some(Decimal::ZERO)) {
        Some(rate) => mul(tokens, rate),
        None => Ok(Decimal::ZERO),
    }
}

/// `_resolve_billed_reasoning_rate`.
fn reasoning_rate(d: &ModelData, prompt: u64, suffix: Option<&str>, output: Decimal, t: BillingTime) -> Decimal {
    if let Some(r) = open_off_peak(d, t).and_then(|op| op.rate("output_cost_per_reasoning_token")) {
        return r;
    }
    if let Some(tier) = select_tier(d, prompt).filter(|t| t.rate("input_cost_per_token").is_some())
        && (tier.rate("output_cost_per_reasoning_token").is_some() || tier.rate("output_cost_per_token").is_some())
    {
        return tier_rate(tier, "output_cost_per_reasoning_token", Some("output_cost_per_token"));
    }
    let tier_reasoning = tier_key("output_cost_per_reasoning_token", suffix);
    if d.visible(tier_reasoning.as_str()).is_some()
        && let Some(r) = unit(d, tier_reasoning.as_str(), None)
    {
        return r;
    }
    if suffix.is_some() && d.visible(tier_key("output_cost_per_token", suffix).as_str()).is_some() {
        return output;
    }
    std_rates(d).reasoning.unwrap_or(output)
}

/// The Vertex regional-endpoint uplift for a non-global location.
pub(crate) fn vertex_uplift(d: &ModelData, location: Option<&str>) -> Decimal {
    match location {
        Some(l) if !l.eq_ignore_ascii_case("global") => {
            d.visible("regional_endpoint_uplift_multiplier").unwrap_or(Decimal::ONE)
        }
        _ => Decimal::ONE,
    }
}

/// The OpenAI data-residency uplift (`eu`, `us`, or `fedramp`).
fn residency_uplift(d: &ModelData, residency: Option<&str>) -> Decimal {
    let Some(r) = residency.map(str::to_ascii_lowercase) else { return Decimal::ONE };
    match r.as_str() {
        "eu" | "us" => {
            let key = Key::new(&["regional_processing_uplift_multiplier_", &r]);
            d.number(key.as_str()).unwrap_or(Decimal::ONE)
        }
        "fedramp" => d.visible("fedramp_uplift_multiplier").unwrap_or(Decimal::ONE),
        _ => Decimal::ONE,
    }
}

/// Multiplies every bucket.
pub(crate) fn scale(b: &CostBreakdown, factor: Decimal) -> Result<CostBreakdown> {
    let s = |u: Usd| u.amount().checked_mul(factor).map(Usd::new).ok_or_else(overflow);
    let mut out = CostBreakdown::default();
    out.input = s(b.input)?;
    out.cache_read = s(b.cache_read)?;
    out.cache_write = s(b.cache_write)?;
    out.input_audio = s(b.input_audio)?;
    out.input_image = s(b.input_image)?;
    out.output = s(b.output)?;
    out.reasoning = s(b.reasoning)?;
    out.output_audio = s(b.output_audio)?;
    out.output_image = s(b.output_image)?;
    out.tools = s(b.tools)?;
    Ok(out)
}

/// `generic_cost_per_token`.
pub(crate) fn generic_cost(
    d: &ModelData,
    c: &TokenCounts,
    provider: &str,
    service_tier: Option<&str>,
    residency: Option<&str>,
    vertex_location: Option<&str>,
    t: BillingTime,
) -> Result<CostBreakdown> {
    let inclusive = provider == "xai";
    let suffix = tier_suffix(service_tier);

    // prompt side: text = prompt - cached - written - audio - image, or the double-counting clamp
    let (cached, creation) = if c.has_prompt_details { (c.cached, c.cache_write) } else { (0, 0) };
    let (mut audio, mut image) = if c.has_prompt_details { (c.audio_in, c.image_in) } else { (0, 0) };
    let text: u64 = if !c.has_prompt_details {
        c.prompt
    } else {
        let total_details = u128::from(cached) + u128::from(audio) + u128::from(creation) + u128::from(image);
        if (cached > 0 || creation > 0) && total_details > u128::from(c.prompt) {
            let budget = c.prompt.saturating_sub(cached).saturating_sub(creation);
            audio = audio.min(budget);
            image = image.min(budget - audio);
            budget - audio - image
        } else {
            c.prompt.saturating_sub(cached).saturating_sub(audio).saturating_sub(creation).saturating_sub(image)
        }
    };

    // Fireworks: a missing cache-read rate is half the input rate
    let fireworks_default;
    let d: &ModelData = if provider == "fireworks_ai" && d.visible("cache_read_input_token_cost").is_none() {
        match d.visible("input_cost_per_token") {
            Some(input) => {
                fireworks_default = fireworks_cache_default(d, input);
                &fireworks_default
            }
            None => d,
        }
    } else {
        d
    };

    let base = base_rates(d, c.prompt, suffix, t, inclusive);
    let mut b = CostBreakdown::default();
    b.input = Usd::new(mul(text, base.rates.input)?);
    b.cache_read = Usd::new(mul(cached, base.cache_read)?);
    if audio > 0 {
        b.input_audio = Usd::new(modality_cost(
            d,
            "input_cost_per_audio_token",
            audio,
            base.rates.input,
            suffix,
            c.prompt,
            inclusive,
        )?);
    }
    if image > 0 {
        b.input_image =
            Usd::new(modality_cost(d, "input_cost_per_image_token", image, base.rates.input, suffix, 0, inclusive)?);
    }
    match c.ttl.filter(|_| c.has_prompt_details) {
        None => b.cache_write = Usd::new(mul(creation, base.cache_write)?),
        Some(split) => {
            // `calculate_cache_writing_cost`: 5-minute and 30-minute writes at the write rate, 1-hour and 12-hour
            // writes at theirs, the writes no TTL count covers at the write rate
            let [m5, m30, h1, h12] = split.map(|n| n.unwrap_or(0));
            let attributed = [m5, m30, h1, h12].into_iter().fold(0u64, u64::saturating_add);
            let unattributed = creation.saturating_sub(attributed);
            let mut w = Decimal::ZERO;
            for (n, rate) in [
                (unattributed, base.cache_write),
                (m5, base.cache_write),
                (m30, base.cache_write),
                (h1, base.ttl_1h),
                (h12, base.ttl_12h),
            ] {
                w = w.checked_add(mul(n, rate)?).ok_or_else(overflow)?;
            }
            b.cache_write = Usd::new(w);
        }
    }

    // completion side
    let output = base.rates.output;
    let (reasoning, audio_out, image_out) =
        if c.has_completion_details { (c.reasoning, c.audio_out, c.image_out) } else { (0, 0, 0) };
    let breakdown = reasoning > 0 || audio_out > 0 || image_out > 0;
    if breakdown {
        let text_out = c.completion.saturating_sub(reasoning).saturating_sub(audio_out).saturating_sub(image_out);
        b.output = Usd::new(mul(text_out, output)?);
        if audio_out > 0 {
            let rate = unit(d, "output_cost_per_audio_token", None).unwrap_or(output);
            b.output_audio = Usd::new(mul(audio_out, rate)?);
        }
        if reasoning > 0 {
            b.reasoning = Usd::new(mul(reasoning, reasoning_rate(d, c.prompt, suffix, output, t))?);
        }
        if image_out > 0 {
            let rate = unit(d, tier_key("output_cost_per_image_token", suffix).as_str(), None).unwrap_or(output);
            b.output_image = Usd::new(mul(image_out, rate)?);
        }
    } else {
        b.output = Usd::new(mul(c.completion, output)?);
    }

    let uplift = residency_uplift(d, residency);
    if uplift != Decimal::ONE {
        b = scale(&b, uplift)?;
    }
    let v = vertex_uplift(d, vertex_location);
    if v != Decimal::ONE {
        b = scale(&b, v)?;
    }
    Ok(b)
}

/// LiteLLM's Fireworks default: a row without a cache-read rate reads cached tokens at half the input rate (and
/// half the off-peak input rate while off-peak).
fn fireworks_cache_default(d: &ModelData, input: Decimal) -> ModelData {
    let half = Decimal::new(5, 1);
    let mut copy = d.clone();
    copy.tier_rates = Default::default();
    let rate = input * half;
    copy.numbers
        .insert(Box::from("cache_read_input_token_cost"), crate::catalog::Number { value: rate, visible: true });
    if let Some(op) = copy.off_peak.as_mut()
        && op.rate("cache_read_input_token_cost").is_none()
    {
        let off = op.rate("input_cost_per_token").map_or(rate, |i| i * half);
        op.rates.push((Box::from("cache_read_input_token_cost"), off));
    }
    copy
}

/// DashScope's calculator (`llms/dashscope/cost_calculator.py`): one tier (chosen by uncached + cached + written
/// input tokens) prices every bucket; flat rates otherwise; off-peak rates replace them.
pub(crate) fn dashscope_cost(d: &ModelData, c: &TokenCounts, t: BillingTime) -> Result<CostBreakdown> {
    let (cached, creation) = if c.has_prompt_details { (c.cached, c.cache_write) } else { (0, 0) };
    let text = c.prompt.saturating_sub(cached).saturating_sub(creation);
    let reasoning = if c.has_completion_details { c.reasoning } else { 0 };
    let completion = c.completion.saturating_sub(reasoning);
    let total_input = text.saturating_add(cached).saturating_add(creation);

    let input_rate = d.visible("input_cost_per_token");
    let flat = Rates {
        input: input_rate.unwrap_or(Decimal::ZERO),
        output: d.visible("output_cost_per_token").unwrap_or(Decimal::ZERO),
        cache_read: Some(d.visible("cache_read_input_token_cost").or(input_rate).unwrap_or(Decimal::ZERO)),
        cache_write: Some(d.visible("cache_creation_input_token_cost").or(input_rate).unwrap_or(Decimal::ZERO)),
        reasoning: d.visible("output_cost_per_reasoning_token"),
    };
    let tiers = d.tiered_pricing.as_deref().filter(|t| !t.is_empty());
    let tier = tiers.and_then(|_| select_tier(d, total_input));
    let mut rates = match tier {
        None => flat,
        Some(tier) => {
            let declares_output = tier.rate("output_cost_per_token").is_some();
            Rates {
                input: tier_rate(tier, "input_cost_per_token", None),
                output: if declares_output { tier_rate(tier, "output_cost_per_token", None) } else { flat.output },
                cache_read: Some(tier_rate(tier, "cache_read_input_token_cost", Some("input_cost_per_token"))),
                cache_write: Some(tier_rate(tier, "cache_creation_input_token_cost", Some("input_cost_per_token"))),
                reasoning: match tier.rate("output_cost_per_reasoning_token") {
                    Some(r) => Some(r),
                    None if declares_output => None,
                    None => flat.reasoning,
                },
            }
        }
    };
    apply_off_peak(d, t, &mut rates);
    let mut b = CostBreakdown::default();
    b.input = Usd::new(mul(text, rates.input)?);
    b.cache_read = Usd::new(mul(cached, rates.cache_read.unwrap_or(Decimal::ZERO))?);
    b.cache_write = Usd::new(mul(creation, rates.cache_write.unwrap_or(Decimal::ZERO))?);
    b.output = Usd::new(mul(completion, rates.output)?);
    b.reasoning = Usd::new(mul(reasoning, rates.reasoning.unwrap_or(rates.output))?);
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::RawRow;
    use crate::exact;

    fn data(row: &str) -> ModelData {
        let j = exact::parse(row).unwrap();
        ModelData::from_json(&j, RawRow::canonical(&j))
    }

    fn at(t: &str) -> BillingTime {
        BillingTime::parse_rfc3339(t).unwrap()
    }

    #[test]
    fn tier_suffixes_are_found_in_litellm_order() {
        assert_eq!(tier_suffix_in("input_cost_per_token_priority"), Some((20, 9)));
        assert_eq!(tier_suffix_in("input_cost_per_token_above_200k_tokens_flex"), Some((38, 5)));
        assert_eq!(tier_suffix_in("input_cost_per_token_ultrafast"), Some((20, 10)));
        assert_eq!(tier_suffix_in("input_cost_per_token"), None);
        let d = data(r#"{"input_cost_per_token": 1e-6}"#);
        assert_eq!(unit(&d, "input_cost_per_token_priority", None), Some(Decimal::new(1, 6)));
        assert_eq!(unit(&d, "output_cost_per_token_priority", Some(Decimal::ONE)), Some(Decimal::ONE));
    }

    #[test]
    fn off_peak_windows() {
        let d = data(
            r#"{"off_peak_pricing": {"hours_utc": "16:30-00:30", "weekday_timezone": "Asia/Shanghai",
                "windows": [{"hours_utc": ["00:00-00:00"], "weekdays": [6, 7]}], "input_cost_per_token": 1e-7}}"#,
        );
        let open = |t: &str| open_off_peak(&d, at(t)).is_some();
        assert!(open("2025-06-04T16:30:00Z"), "start is inclusive");
        assert!(open("2025-06-04T23:59:59Z"));
        assert!(open("2025-06-05T00:29:59Z"), "wraps midnight");
        assert!(!open("2025-06-05T00:30:00Z"), "end is exclusive");
        assert!(!open("2025-06-04T12:00:00Z"));
        assert!(!open("2025-06-06T15:00:00Z"), "Friday 23:00 in Shanghai, before the daily window");
        // Friday 16:00 UTC is Saturday 00:00 in Shanghai: only the weekend window (read in that zone) is open
        assert!(open("2025-06-06T16:00:00Z"));
        assert!(open("2025-06-07T12:00:00Z"), "Saturday, all day");
    }

    #[test]
    fn off_peak_weekdays_follow_daylight_saving_time() {
        // a Sunday-only window in Los Angeles: Sunday starts at 08:00 UTC in winter (UTC-8), at 07:00 UTC in
        // summer (UTC-7; DST began 2025-03-09 at 02:00 local)
        let d = data(
            r#"{"off_peak_pricing": {"weekday_timezone": "America/Los_Angeles",
                "windows": [{"hours_utc": "00:00-00:00", "weekdays": [7]}], "input_cost_per_token": 1e-7}}"#,
        );
        let open = |t: &str| open_off_peak(&d, at(t)).is_some();
        assert!(!open("2025-03-02T07:59:59Z"), "Saturday 23:59:59 PST");
        assert!(open("2025-03-02T08:00:00Z"), "Sunday 00:00 PST");
        assert!(!open("2025-03-09T07:59:59Z"), "Saturday 23:59:59 PST, the night of the change");
        assert!(open("2025-03-09T08:00:00Z"), "Sunday 00:00 PST");
        assert!(open("2025-03-10T06:59:59Z"), "Sunday 23:59:59 PDT");
        assert!(!open("2025-03-10T07:00:00Z"), "Monday 00:00 PDT");
        assert!(!open("2025-06-08T06:59:59Z"), "Saturday 23:59:59 PDT");
        assert!(open("2025-06-08T07:00:00Z"), "Sunday 00:00 PDT");
    }

    #[test]
    fn an_unknown_zone_is_never_read_as_utc() {
        // validation refuses the name on load (see normalize); a row carrying one all the same opens no
        // weekday window, where the old fixed-offset table read it as UTC and opened Saturday's
        let d = data(
            r#"{"off_peak_pricing": {"weekday_timezone": "Mars/Olympus_Mons", "hours_utc": "03:00-04:00",
                "windows": [{"hours_utc": "00:00-00:00", "weekdays": [6]}], "input_cost_per_token": 1e-7}}"#,
        );
        assert!(open_off_peak(&d, at("2025-06-07T12:00:00Z")).is_none());
        assert!(open_off_peak(&d, at("2025-06-07T03:30:00Z")).is_some(), "daily windows need no zone");
    }

    #[test]
    fn counts_from_usage() {
        let u = Usage::new(100, 50);
        let c = TokenCounts::from_usage(&u);
        assert!(!c.has_prompt_details && !c.has_completion_details);
        let c = TokenCounts::from_usage(&u.with_cache_read(0).with_reasoning(0));
        assert!(c.has_prompt_details && c.has_completion_details);
        assert_eq!((c.cached, c.reasoning, c.total), (0, 0, 150));
    }
}

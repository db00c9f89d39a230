//! Money and the priced cost of a call. llm-core only carries these; llm-cost computes them.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign};
use std::str::FromStr;

use crate::vocab::string_enum;

/// An amount of US dollars, exact: a [`rust_decimal::Decimal`], never an `f64`.
///
/// It serializes as a string holding the exact decimal (`"0.000225"`), and deserializes from such a string or
/// from a JSON number (read through its shortest text form, so `2.5e-6` becomes exactly `0.0000025`).
///
/// ```
/// use llm_core::Usd;
/// let a: Usd = "0.1".parse().unwrap();
/// let b: Usd = "0.2".parse().unwrap();
/// assert_eq!((a + b).to_string(), "0.3");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd(Decimal);

impl Usd {
    /// Zero dollars.
    pub const ZERO: Usd = Usd(Decimal::ZERO);

    /// Wraps a decimal amount.
    pub const fn new(amount: Decimal) -> Self {
        Self(amount)
    }

    /// The amount as a decimal.
    pub const fn amount(self) -> Decimal {
        self.0
    }

    /// True for exactly zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// The amount with trailing zeros removed, for stable printing.
    #[must_use]
    pub fn normalize(self) -> Self {
        Self(self.0.normalize())
    }

    /// Converts from an `f64` through its shortest round-trip text, the way a JSON reader sees the number.
    /// Returns `None` for NaN, infinities and values out of `Decimal`'s range.
    pub fn from_f64_text(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        let text = format!("{value:?}");
        Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok().map(|d| Self(d.normalize()))
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Zero is most of a cost breakdown's fields: skip the decimal formatter for it.
        if self.0.is_zero() {
            return f.pad("0");
        }
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

/// The error of parsing a [`Usd`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid USD amount {0:?}")]
pub struct ParseUsdError(String);

impl FromStr for Usd {
    type Err = ParseUsdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map(Self)
            .map_err(|_| ParseUsdError(s.chars().take(64).collect()))
    }
}

impl From<Decimal> for Usd {
    fn from(d: Decimal) -> Self {
        Self(d)
    }
}

impl Add for Usd {
    type Output = Usd;
    fn add(self, rhs: Usd) -> Usd {
        // Most buckets of a breakdown are zero: skip the decimal addition for them.
        if rhs.0.is_zero() {
            self
        } else if self.0.is_zero() {
            rhs
        } else {
            Usd(self.0.saturating_add(rhs.0))
        }
    }
}

impl AddAssign for Usd {
    fn add_assign(&mut self, rhs: Usd) {
        *self = *self + rhs;
    }
}

impl std::iter::Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        iter.fold(Usd::ZERO, Add::add)
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_zero() {
            return s.serialize_str("0");
        }
        s.collect_str(&self.0.normalize())
    }
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Usd;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Usd, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Usd, E> {
                Usd::from_f64_text(v).ok_or_else(|| E::custom(format!("invalid USD amount {v}")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Usd, E> {
                Ok(Usd(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Usd, E> {
                Ok(Usd(Decimal::from(v)))
            }
        }
        d.deserialize_any(V)
    }
}

string_enum! {
    /// How a [`Cost`] was arrived at.
    pub enum CostStatus {
        /// Priced from the catalog's rates.
        Priced = "priced",
        /// The provider reported the cost (OpenRouter, xAI) and it was used.
        ProviderReported = "provider_reported",
        /// The model is in the catalog but has no price for what was used: the cost is unknown, not zero.
        Unpriced = "unpriced",
        /// The model is not in the catalog: the cost is unknown, not zero.
        UnknownModel = "unknown_model",
        /// Served from a response cache: nothing was sent, nothing billed; the cost is a known zero.
        CacheHit = "cache_hit",
    }
}

/// What a call cost, bucket by bucket. Input-side buckets add up to the prompt cost, output-side ones to the
/// completion cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CostBreakdown {
    /// Uncached text input (and anything billed on the input side without a bucket of its own).
    pub input: Usd,
    /// Cache reads.
    pub cache_read: Usd,
    /// Cache writes, all TTLs.
    pub cache_write: Usd,
    /// Audio input.
    pub input_audio: Usd,
    /// Image input.
    pub input_image: Usd,
    /// Text output (and anything billed on the output side without a bucket of its own).
    pub output: Usd,
    /// Reasoning output.
    pub reasoning: Usd,
    /// Audio output.
    pub output_audio: Usd,
    /// Image output.
    pub output_image: Usd,
    /// Per-request tool charges (web search, ...), counted on the input side as LiteLLM does.
    pub tools: Usd,
}

impl CostBreakdown {
    /// The input side: input, cache reads and writes, audio and image input, tools.
    pub fn prompt_cost(&self) -> Usd {
        self.input + self.cache_read + self.cache_write + self.input_audio + self.input_image + self.tools
    }

    /// The output side: output, reasoning, audio and image output.
    pub fn completion_cost(&self) -> Usd {
        self.output + self.reasoning + self.output_audio + self.output_image
    }

    /// Prompt plus completion.
    pub fn total(&self) -> Usd {
        self.prompt_cost() + self.completion_cost()
    }

    /// Adds another breakdown bucket by bucket.
    pub fn accumulate(&mut self, other: &CostBreakdown) {
        self.input += other.input;
        self.cache_read += other.cache_read;
        self.cache_write += other.cache_write;
        self.input_audio += other.input_audio;
        self.input_image += other.input_image;
        self.output += other.output;
        self.reasoning += other.reasoning;
        self.output_audio += other.output_audio;
        self.output_image += other.output_image;
        self.tools += other.tools;
    }
}

/// The cost of a call: a breakdown, how it was priced, and which catalog entry priced it, so a stored record
/// can be re-priced later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cost {
    /// How the cost was arrived at. For [`CostStatus::Unpriced`] and [`CostStatus::UnknownModel`] the
    /// breakdown is all zeros and means "unknown", never "free".
    pub status: CostStatus,
    /// The amounts per bucket.
    pub breakdown: CostBreakdown,
    /// The catalog key that priced the call, when one matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_key: Option<String>,
    /// The version of the catalog that priced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<String>,
}

impl Cost {
    /// A cost with this status and breakdown, without catalog provenance.
    pub fn new(status: CostStatus, breakdown: CostBreakdown) -> Self {
        Self { status, breakdown, catalog_key: None, catalog_version: None }
    }

    /// A cost that could not be computed for the given reason status (`Unpriced` or `UnknownModel`).
    pub fn unknown(status: CostStatus) -> Self {
        Self::new(status, CostBreakdown::default())
    }

    /// Sets the catalog key and version.
    #[must_use]
    pub fn with_catalog(mut self, key: impl Into<String>, version: impl Into<String>) -> Self {
        self.catalog_key = Some(key.into());
        self.catalog_version = Some(version.into());
        self
    }

    /// True when the amounts are known (priced or provider-reported).
    pub fn is_known(&self) -> bool {
        matches!(self.status, CostStatus::Priced | CostStatus::ProviderReported | CostStatus::CacheHit)
    }

    /// The input side of the cost.
    pub fn prompt_cost(&self) -> Usd {
        self.breakdown.prompt_cost()
    }

    /// The output side of the cost.
    pub fn completion_cost(&self) -> Usd {
        self.breakdown.completion_cost()
    }

    /// The whole cost; `None` when it is unknown.
    pub fn total(&self) -> Option<Usd> {
        self.is_known().then(|| self.breakdown.total())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_reads_json_numbers_exactly() {
        let v: Usd = serde_json::from_str("2.5e-6").unwrap();
        assert_eq!(v.to_string(), "0.0000025");
        let v: Usd = serde_json::from_str("\"0.000001100\"").unwrap();
        assert_eq!(v.to_string(), "0.0000011");
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"0.0000011\"");
        let v: Usd = serde_json::from_str("3").unwrap();
        assert_eq!(v.to_string(), "3");
        assert!(serde_json::from_str::<Usd>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Usd>("true").is_err());
    }

    #[test]
    fn usd_adds_exactly_with_zero_on_either_side() {
        let a: Usd = "0.0000025".parse().unwrap();
        let z: Usd = "0.000".parse().unwrap();
        assert_eq!(a + z, a);
        assert_eq!(z + a, a);
        assert_eq!((z + a).to_string(), "0.0000025");
        assert_eq!((z + z).to_string(), "0");
        let mut t = Usd::ZERO;
        for _ in 0..4 {
            t += a;
        }
        assert_eq!(t.to_string(), "0.00001");
        let max = Usd::new(Decimal::MAX);
        assert_eq!(max + a, max, "saturates");
    }

    #[test]
    fn usd_zero_prints_as_0_in_every_form() {
        for zero in ["0", "0.000", "-0", "-0.0"] {
            let z: Usd = zero.parse().unwrap();
            assert_eq!(z.to_string(), "0", "{zero}");
            assert_eq!(format!("[{z:>4}]"), "[   0]", "{zero}");
            assert_eq!(serde_json::to_string(&z).unwrap(), "\"0\"", "{zero}");
        }
        let small: Usd = "0.00000001".parse().unwrap();
        assert_eq!(format!("[{small:>12}]"), "[  0.00000001]");
    }

    #[test]
    fn usd_f64_text_rejects_non_finite() {
        assert_eq!(Usd::from_f64_text(f64::NAN), None);
        assert_eq!(Usd::from_f64_text(f64::INFINITY), None);
        assert_eq!(Usd::from_f64_text(1e-7).unwrap().to_string(), "0.0000001");
        assert_eq!(Usd::from_f64_text(0.1).unwrap().to_string(), "0.1");
    }

    #[test]
    fn breakdown_sums_sides() {
        let b = CostBreakdown {
            input: "0.1".parse().unwrap(),
            cache_read: "0.01".parse().unwrap(),
            output: "0.2".parse().unwrap(),
            reasoning: "0.05".parse().unwrap(),
            tools: "0.001".parse().unwrap(),
            ..CostBreakdown::default()
        };
        assert_eq!(b.prompt_cost().to_string(), "0.111");
        assert_eq!(b.completion_cost().to_string(), "0.25");
        assert_eq!(b.total().to_string(), "0.361");
        let priced = Cost::new(CostStatus::Priced, b);
        assert_eq!(priced.total(), Some(b.total()));
        assert_eq!(Cost::unknown(CostStatus::UnknownModel).total(), None);
    }

    #[test]
    fn status_keeps_unknown_values() {
        let s: CostStatus = serde_json::from_str("\"estimated\"").unwrap();
        assert_eq!(s, CostStatus::Other("estimated".into()));
        assert_eq!(serde_json::to_string(&CostStatus::ProviderReported).unwrap(), "\"provider_reported\"");
    }
}

//! UTC time without a calendar dependency: a microsecond [`Timestamp`], a civil [`Day`], and the period
//! boundaries budgets reset on.

use llm_core::calendar::{civil_from_days, days_from_civil, days_in_month};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time: microseconds since the Unix epoch, UTC. Serializes as RFC 3339 text
/// (`2026-11-28T21:12:35.123456Z`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// From microseconds since the epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// From whole seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1_000_000))
    }

    /// The current time.
    pub fn now() -> Self {
        let micros = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Self(micros)
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// The UTC day this instant falls on.
    pub fn day(self) -> Day {
        Day(self.as_secs().div_euclid(86_400))
    }

    /// This timestamp plus some microseconds.
    #[must_use]
    pub const fn plus_micros(self, micros: i64) -> Self {
        Self(self.0.saturating_add(micros))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = self.day();
        let (y, m, d) = day.ymd();
        let micros_of_day = self.0 - day.0 * 86_400_000_000;
        let secs = micros_of_day / 1_000_000;
        let frac = micros_of_day % 1_000_000;
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z", secs / 3600, (secs / 60) % 60, secs % 60)
    }
}

/// The error of reading a [`Timestamp`] or a [`Day`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date or time {0:?}: expected YYYY-MM-DD or RFC 3339 in UTC")]
pub struct ParseTimeError(String);

impl FromStr for Timestamp {
    type Err = ParseTimeError;

    /// Reads `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (or `+00:00`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseTimeError(s.chars().take(40).collect());
        let t = s.trim();
        let day: Day = t.get(..10).ok_or_else(err)?.parse().map_err(|_| err())?;
        let rest = &t[10..];
        if rest.is_empty() {
            return Ok(day.start());
        }
        let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(err)?;
        let rest = rest.strip_suffix(['Z', 'z']).or_else(|| rest.strip_suffix("+00:00")).ok_or_else(err)?;
        let num = |r: Option<&str>| r.and_then(|x| x.parse::<i64>().ok()).ok_or_else(err);
        let h = num(rest.get(0..2))?;
        let mi = num(rest.get(3..5))?;
        let sec = num(rest.get(6..8))?;
        if h > 23 || mi > 59 || sec > 60 || rest.get(2..3) != Some(":") || rest.get(5..6) != Some(":") {
            return Err(err());
        }
        let mut micros = 0i64;
        if let Some(frac) = rest.get(8..).filter(|f| !f.is_empty()) {
            let digits = frac.strip_prefix('.').ok_or_else(err)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            let mut six: String = digits.chars().take(6).collect();
            while six.len() < 6 {
                six.push('0');
            }
            micros = six.parse().map_err(|_| err())?;
        }
        Ok(Timestamp(day.start().0 + ((h * 60 + mi) * 60 + sec) * 1_000_000 + micros))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A UTC calendar day, as days since 1970-01-01. Displays as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i64);

impl Day {
    /// From days since the epoch.
    pub const fn from_days(days: i64) -> Self {
        Self(days)
    }

    /// From a civil date; `None` when it does not exist.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Self(days_from_civil(year, month, day)))
    }

    /// Today, in UTC.
    pub fn today() -> Self {
        Timestamp::now().day()
    }

    /// Days since the epoch.
    pub const fn days(self) -> i64 {
        self.0
    }

    /// Year, month (1–12), day (1–31).
    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.0)
    }

    /// Midnight UTC at the start of this day.
    pub const fn start(self) -> Timestamp {
        Timestamp::from_secs(self.0 * 86_400)
    }

    /// The day `n` days later (earlier when negative).
    #[must_use]
    pub const fn plus(self, n: i64) -> Self {
        Self(self.0 + n)
    }

    /// The Monday of this day's ISO week.
    #[must_use]
    pub const fn week_start(self) -> Self {
        // 1970-01-01 was a Thursday: Monday-based weekday = (days + 3) mod 7.
        Self(self.0 - (self.0 + 3).rem_euclid(7))
    }

    /// The first day of this day's month.
    #[must_use]
    pub fn month_start(self) -> Self {
        let (y, m, _) = self.ymd();
        Self(days_from_civil(y, m, 1))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl FromStr for Day {
    type Err = ParseTimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseTimeError(s.chars().take(40).collect());
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let y: i64 = t[0..4].parse().map_err(|_| err())?;
        let m: u32 = t[5..7].parse().map_err(|_| err())?;
        let d: u32 = t[8..10].parse().map_err(|_| err())?;
        Day::from_ymd(y, m, d).ok_or_else(err)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in -800_000..800_000i64 {
            if days % 997 != 0 {
                continue;
            }
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(Day::from_ymd(1970, 1, 1).map(Day::days), Some(0));
        assert_eq!(Day::from_ymd(2024, 2, 29).map(|d| d.to_string()).as_deref(), Some("2024-02-29"));
        assert_eq!(Day::from_ymd(2023, 2, 29), None);
    }

    #[test]
    fn periods() {
        let d: Day = "2026-11-28".parse().unwrap(); // a Saturday
        assert_eq!(d.week_start().to_string(), "2026-11-23");
        assert_eq!(d.month_start().to_string(), "2026-11-01");
        let mon: Day = "2026-11-23".parse().unwrap();
        assert_eq!(mon.week_start(), mon);
        assert_eq!("1970-01-01".parse::<Day>().unwrap().week_start().to_string(), "1969-12-29");
    }

    #[test]
    fn timestamps_print_and_parse() {
        let t: Timestamp = "2026-11-28T21:12:35.123456Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-28T21:12:35.123456Z");
        assert_eq!(t.day().to_string(), "2026-11-28");
        let t2: Timestamp = "2026-11-28T21:12:35+00:00".parse().unwrap();
        assert_eq!(t2.to_string(), "2026-11-28T21:12:35.000000Z");
        assert_eq!("2026-11-28".parse::<Timestamp>().unwrap().to_string(), "2026-11-28T00:00:00.000000Z");
        assert!("2026-13-01".parse::<Timestamp>().is_err());
        assert!("yesterday".parse::<Timestamp>().is_err());
        assert!("2026-11-28T25:00:00Z".parse::<Timestamp>().is_err());
        let before = Timestamp::from_micros(-1);
        assert_eq!(before.to_string(), "1969-12-31T23:59:59.999999Z");
    }
}

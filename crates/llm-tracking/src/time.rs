//! UTC time on jiff: a microsecond [`Timestamp`] (an `i64`, as the stores keep it), a civil [`Day`] (a
//! `jiff::civil::Date`), and the period boundaries budgets reset on. jiff does the calendar, the RFC 3339 text
//! and the parsing; these types only fix the precision (microseconds), the zone (UTC) and the text form.

use jiff::SignedDuration;
use jiff::civil::Date;
use jiff::tz::Offset;
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

    /// The current time (the system clock read directly: half the cost of `jiff::Timestamp::now`, which
    /// this hot path does not need).
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
        Day(Offset::UTC.to_datetime(self.to_jiff()).date())
    }

    /// This timestamp plus some microseconds.
    #[must_use]
    pub const fn plus_micros(self, micros: i64) -> Self {
        Self(self.0.saturating_add(micros))
    }

    /// This instant as a jiff timestamp, clamped to jiff's range (years -9999 to 9999).
    pub fn to_jiff(self) -> jiff::Timestamp {
        jiff::Timestamp::from_microsecond(self.0).unwrap_or(if self.0 < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        })
    }
}

impl From<jiff::Timestamp> for Timestamp {
    /// The microsecond a jiff timestamp falls in (rounded down).
    fn from(t: jiff::Timestamp) -> Self {
        let micros = t.as_microsecond();
        Self(if t.subsec_nanosecond() % 1000 < 0 { micros - 1 } else { micros })
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with six fractional digits, through jiff's printer (clamped to its range).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}", self.to_jiff())
    }
}

/// The error of reading a [`Timestamp`] or a [`Day`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date or time {0:?}: expected YYYY-MM-DD or an RFC 3339 date-time with an offset")]
pub struct ParseTimeError(String);

impl ParseTimeError {
    fn of(s: &str) -> Self {
        Self(s.chars().take(40).collect())
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimeError;

    /// Reads `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time (`2026-11-28T21:12:35.123456Z`, any offset;
    /// digits past the microsecond are dropped), with jiff's parser.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.len() == 10 {
            return t.parse::<Day>().map(Day::start).map_err(|_| ParseTimeError::of(s));
        }
        t.parse::<jiff::Timestamp>().map(Self::from).map_err(|_| ParseTimeError::of(s))
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

/// A UTC calendar day (a `jiff::civil::Date`, years -9999 to 9999). Displays as `YYYY-MM-DD`; the default is
/// 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

const EPOCH_DATE: Date = Date::constant(1970, 1, 1);
const SECS_PER_DAY: i64 = 86_400;

impl Default for Day {
    fn default() -> Self {
        Self(EPOCH_DATE)
    }
}

impl Day {
    /// The earliest day.
    pub const MIN: Day = Day(Date::MIN);
    /// The latest day.
    pub const MAX: Day = Day(Date::MAX);

    /// From days since the epoch (clamped to [`Day::MIN`]..=[`Day::MAX`]).
    pub fn from_days(days: i64) -> Self {
        Self::default().plus(days)
    }

    /// From a civil date; `None` when it does not exist.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Option<Self> {
        let (y, m, d) = (i16::try_from(year).ok()?, i8::try_from(month).ok()?, i8::try_from(day).ok()?);
        Date::new(y, m, d).ok().map(Self)
    }

    /// Today, in UTC.
    pub fn today() -> Self {
        Timestamp::now().day()
    }

    /// Days since the epoch.
    pub fn days(self) -> i64 {
        self.0.duration_since(EPOCH_DATE).as_secs() / SECS_PER_DAY
    }

    /// Year, month (1–12), day (1–31).
    pub fn ymd(self) -> (i64, u32, u32) {
        let d = self.0;
        (i64::from(d.year()), u32::from(d.month().unsigned_abs()), u32::from(d.day().unsigned_abs()))
    }

    /// Midnight UTC at the start of this day.
    pub fn start(self) -> Timestamp {
        Timestamp::from_secs(self.days() * SECS_PER_DAY)
    }

    /// The day `n` days later (earlier when negative), clamped to [`Day::MIN`]..=[`Day::MAX`].
    #[must_use]
    pub fn plus(self, n: i64) -> Self {
        Self(self.0.saturating_add(SignedDuration::from_secs(n.saturating_mul(SECS_PER_DAY))))
    }

    /// The Monday of this day's ISO week.
    #[must_use]
    pub fn week_start(self) -> Self {
        self.plus(-i64::from(self.0.weekday().to_monday_zero_offset()))
    }

    /// The first day of this day's month.
    #[must_use]
    pub fn month_start(self) -> Self {
        Self(self.0.first_of_month())
    }

    /// The first day of the next month; `None` past [`Day::MAX`].
    pub fn next_month_start(self) -> Option<Self> {
        self.0.last_of_month().tomorrow().ok().map(Self)
    }

    /// The jiff date.
    pub const fn date(self) -> Date {
        self.0
    }
}

impl From<Date> for Day {
    fn from(d: Date) -> Self {
        Self(d)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Day {
    type Err = ParseTimeError;

    /// Reads exactly `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return Err(ParseTimeError::of(s));
        }
        t.parse::<Date>().map(Self).map_err(|_| ParseTimeError::of(s))
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

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    #[test]
    fn days_since_the_epoch() {
        // (days since 1970-01-01, date), from the proleptic Gregorian calendar
        for (days, text) in [
            (-719_468, "0000-03-01"),
            (-1, "1969-12-31"),
            (0, "1970-01-01"),
            (11_016, "2000-02-29"),
            (19_782, "2024-02-29"),
            (20_785, "2026-11-28"),
            (2_932_896, "9999-12-31"),
        ] {
            assert_eq!(Day::from_days(days).to_string(), text);
            assert_eq!(day(text).days(), days, "{text}");
            assert_eq!(day(text).start().as_secs(), days * 86_400, "{text}");
        }
        assert_eq!(Day::from_ymd(1970, 1, 1).map(Day::days), Some(0));
        assert_eq!(Day::from_ymd(2024, 2, 29).map(|d| d.to_string()).as_deref(), Some("2024-02-29"));
        assert_eq!(Day::from_ymd(2024, 2, 29).map(Day::ymd), Some((2024, 2, 29)));
        assert_eq!(Day::from_ymd(2023, 2, 29), None);
        assert_eq!(Day::from_ymd(1900, 2, 29), None);
        assert_eq!(Day::from_ymd(2023, 13, 1), None);
        assert_eq!(Day::from_ymd(100_000, 1, 1), None);
        assert_eq!(Day::default().to_string(), "1970-01-01");
        // clamped, never a panic
        assert_eq!(Day::from_days(i64::MAX), Day::MAX);
        assert_eq!(Day::from_days(i64::MIN), Day::MIN);
        assert_eq!(Day::MAX.next_month_start(), None);
        for bad in ["2026-13-01", "2026-02-30", "20261128", "2026-11-28T00:00:00", "+2026-11-28", "2026-1-28"] {
            assert!(bad.parse::<Day>().is_err(), "{bad}");
        }
    }

    #[test]
    fn periods() {
        let d = day("2026-11-28"); // a Saturday
        assert_eq!(d.week_start().to_string(), "2026-11-23");
        assert_eq!(d.month_start().to_string(), "2026-11-01");
        assert_eq!(d.next_month_start().map(|d| d.to_string()).as_deref(), Some("2026-12-01"));
        assert_eq!(day("2026-12-31").next_month_start().map(|d| d.to_string()).as_deref(), Some("2027-01-01"));
        assert_eq!(day("2024-02-29").week_start().to_string(), "2024-02-26");
        let mon = day("2026-11-23");
        assert_eq!(mon.week_start(), mon);
        assert_eq!(day("1970-01-01").week_start().to_string(), "1969-12-29");
        assert_eq!(day("2026-11-29").plus(1).to_string(), "2026-11-30");
        assert_eq!(day("2026-11-29").plus(-366).to_string(), "2025-11-28");
    }

    #[test]
    fn timestamps_print_and_parse() {
        let t: Timestamp = "2026-11-28T21:12:35.123456Z".parse().unwrap();
        assert_eq!(t.as_micros(), 1_795_900_355_123_456);
        assert_eq!(t.to_string(), "2026-11-28T21:12:35.123456Z");
        assert_eq!(t.day().to_string(), "2026-11-28");
        let t2: Timestamp = "2026-11-28T21:12:35+00:00".parse().unwrap();
        assert_eq!(t2.to_string(), "2026-11-28T21:12:35.000000Z");
        // another offset is the same instant in UTC; digits past the microsecond are dropped
        let t3: Timestamp = "2026-11-28T22:12:35.1234569+01:00".parse().unwrap();
        assert_eq!(t3, t);
        assert_eq!("2026-11-28".parse::<Timestamp>().unwrap().to_string(), "2026-11-28T00:00:00.000000Z");
        for bad in ["2026-13-01", "yesterday", "2026-11-28T25:00:00Z", "2026-11-28T21:12:35", ""] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
        let before = Timestamp::from_micros(-1);
        assert_eq!(before.to_string(), "1969-12-31T23:59:59.999999Z");
        assert_eq!(before.day().to_string(), "1969-12-31");
        assert_eq!("1969-12-31T23:59:59.9999995Z".parse::<Timestamp>(), Ok(before));
        // out of jiff's range: printed clamped, never a panic
        assert_eq!(Timestamp::from_micros(i64::MAX).day(), Day::from_ymd(9999, 12, 30).unwrap_or_default());
        assert!(Timestamp::from_micros(i64::MIN).to_string().starts_with("-009999-01-0"));
        // serde: RFC 3339 text both ways
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-11-28T21:12:35.123456Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>("\"2026-11-28T21:12:35.123456Z\"").unwrap(), t);
        assert_eq!(serde_json::to_string(&t.day()).unwrap(), "\"2026-11-28\"");
    }
}

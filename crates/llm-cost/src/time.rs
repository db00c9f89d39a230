//! Time for pricing, on jiff: RFC 3339 instants ([`BillingTime`]), ISO weekdays in an IANA time zone for
//! off-peak windows, and `YYYY-MM-DD` dates. Zones come from the IANA database compiled into the binary
//! (jiff's `tzdb-bundle-always`): nothing is read from the host, and a name the database lacks is an error.

use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone, TimeZoneDatabase};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// An instant, as whole seconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillingTime(i64);

impl BillingTime {
    /// The instant `seconds` after 1970-01-01T00:00:00Z.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// Now, from the system clock (read directly: cheaper than `jiff::Timestamp::now`).
    pub fn now() -> Self {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Self(secs)
    }

    /// Parses an RFC 3339 date-time (`2025-06-04T08:00:00Z`, `2025-06-04T10:00:00+02:00`, fractional seconds
    /// allowed and dropped) with jiff's parser, which also takes the ISO 8601 forms RFC 3339 is a profile of.
    /// `None` when the text is not one (a date alone or a date-time without an offset is not an instant).
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        text.trim().parse::<jiff::Timestamp>().ok().map(Self::from)
    }

    /// This instant as a jiff timestamp, clamped to jiff's range (years -9999 to 9999).
    fn timestamp(self) -> jiff::Timestamp {
        jiff::Timestamp::from_second(self.0).unwrap_or(if self.0 < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        })
    }

    /// The ISO weekday (1 = Monday … 7 = Sunday) on the calendar of `zone` at this instant (daylight saving
    /// time included).
    pub(crate) fn iso_weekday(self, zone: &TimeZone) -> u8 {
        let weekday = zone.to_datetime(self.timestamp()).weekday();
        u8::try_from(weekday.to_monday_one_offset()).unwrap_or(1)
    }

    /// The UTC calendar date.
    pub(crate) fn utc_date(self) -> Date {
        Offset::UTC.to_datetime(self.timestamp()).date()
    }
}

impl From<jiff::Timestamp> for BillingTime {
    /// The whole second a jiff timestamp falls in (rounded down).
    fn from(t: jiff::Timestamp) -> Self {
        let s = t.as_second();
        Self(if t.subsec_nanosecond() < 0 { s - 1 } else { s })
    }
}

/// The time zone named by an IANA identifier (`Asia/Shanghai`, `America/Los_Angeles`; case-insensitive), from
/// the database compiled into the binary. A name it does not hold is an error: never UTC in disguise.
pub(crate) fn zone(name: &str) -> Result<TimeZone, jiff::Error> {
    static BUNDLED: OnceLock<TimeZoneDatabase> = OnceLock::new();
    BUNDLED.get_or_init(TimeZoneDatabase::bundled).get(name.trim())
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let t = text.trim();
    if t.len() != 10 {
        return None;
    }
    t.parse().ok()
}

/// Parses `HH:MM` into minutes since midnight.
pub(crate) fn parse_hh_mm(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn at(text: &str) -> BillingTime {
        BillingTime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn rfc3339() {
        let t = at("2025-06-04T08:00:00Z");
        assert_eq!(t.unix_seconds(), 1_749_024_000);
        assert_eq!(t.iso_weekday(&TimeZone::UTC), 3); // a Wednesday
        assert_eq!(BillingTime::parse_rfc3339("2025-06-04T10:00:00.123+02:00"), Some(t));
        assert_eq!(BillingTime::parse_rfc3339(" 2025-06-04t08:00:00z "), Some(t));
        assert_eq!(t.utc_date(), date(2025, 6, 4));
        for bad in ["2025-06-04", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z", "2025-06-04T08:00:00", "x", ""] {
            assert_eq!(BillingTime::parse_rfc3339(bad), None, "{bad}");
        }
        // fractions are dropped toward the past, before the epoch too
        assert_eq!(at("1969-12-31T23:59:59.5Z").unix_seconds(), -1);
        assert_eq!(at("1970-01-01T00:00:00.999Z").unix_seconds(), 0);
        // out of jiff's range: clamped, never a panic
        assert_eq!(BillingTime::from_unix_seconds(i64::MAX).utc_date(), date(9999, 12, 30));
        assert!((1..=7).contains(&BillingTime::from_unix_seconds(i64::MIN).iso_weekday(&TimeZone::UTC)));
    }

    #[test]
    fn weekdays_in_real_zones() {
        let shanghai = zone("Asia/Shanghai").unwrap();
        // Saturday 2025-06-07 20:00 UTC is Sunday 04:00 in Shanghai
        let sat = at("2025-06-07T20:00:00Z");
        assert_eq!((sat.iso_weekday(&TimeZone::UTC), sat.iso_weekday(&shanghai)), (6, 7));
        assert_eq!(at("2025-06-07T15:59:59Z").iso_weekday(&shanghai), 6);
        assert_eq!(at("2025-06-07T16:00:00Z").iso_weekday(&shanghai), 7);
        // America/Los_Angeles is UTC-8 in winter and UTC-7 in summer (DST from 2025-03-09 02:00 local): Monday
        // starts at 08:00 UTC before the change and at 07:00 UTC after it
        let la = zone("america/los_angeles").unwrap();
        assert_eq!(at("2025-03-03T07:59:59Z").iso_weekday(&la), 7);
        assert_eq!(at("2025-03-03T08:00:00Z").iso_weekday(&la), 1);
        assert_eq!(at("2025-03-10T06:59:59Z").iso_weekday(&la), 7);
        assert_eq!(at("2025-03-10T07:00:00Z").iso_weekday(&la), 1);
        // and back to UTC-8 after 2025-11-02
        assert_eq!(at("2025-11-03T07:59:59Z").iso_weekday(&la), 7);
        assert_eq!(at("2025-11-03T08:00:00Z").iso_weekday(&la), 1);
        // the zones the old fixed-offset table knew, links included
        for (name, monday_starts) in [
            ("Asia/Shanghai", "2025-06-08T16:00:00Z"),
            ("PRC", "2025-06-08T16:00:00Z"),
            ("Asia/Tokyo", "2025-06-08T15:00:00Z"),
            ("Japan", "2025-06-08T15:00:00Z"),
            ("Asia/Kolkata", "2025-06-08T18:30:00Z"),
            ("Asia/Calcutta", "2025-06-08T18:30:00Z"),
            ("UTC", "2025-06-09T00:00:00Z"),
        ] {
            let z = zone(name).unwrap();
            let t = at(monday_starts);
            assert_eq!(t.iso_weekday(&z), 1, "{name}");
            assert_eq!(BillingTime::from_unix_seconds(t.unix_seconds() - 1).iso_weekday(&z), 7, "{name}");
        }
    }

    #[test]
    fn unknown_zones_are_errors() {
        for bad in ["Mars/Olympus_Mons", "", "Asia/Shanghai2", "+08:00"] {
            assert!(zone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_and_hours() {
        assert_eq!(parse_date("2024-02-29"), Some(date(2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-02-29T00:00:00"), None);
        assert_eq!(parse_date("20240229"), None);
        assert_eq!(parse_hh_mm("16:30"), Some(990));
        assert_eq!(parse_hh_mm("9:05"), Some(545));
        assert_eq!(parse_hh_mm("24:00"), None);
    }
}

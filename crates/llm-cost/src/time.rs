//! The little calendar arithmetic off-peak pricing needs: RFC 3339 instants, UTC time of day, ISO weekdays.
//! (No time-zone database: the zones the price file names are fixed-offset, see [`zone_offset_seconds`].)

use llm_core::calendar::{civil_from_days, days_from_civil, days_in_month};
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

    /// Now, from the system clock.
    pub fn now() -> Self {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Self(secs)
    }

    /// Parses an RFC 3339 date-time (`2025-06-04T08:00:00Z`, `2025-06-04T10:00:00+02:00`, fractional seconds
    /// allowed and dropped). `None` when the text is not one.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let t = text.trim();
        let b = t.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<i64> {
            let s = t.get(from..to)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
            return None;
        }
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
            return None;
        }
        let (month, day) = (u32::try_from(month).ok()?, u32::try_from(day).ok()?);
        if day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut rest = t.get(19..)?;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            rest = frac.get(digits..)?;
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return None,
                };
                if rest.len() != 6 || rest.as_bytes().get(3) != Some(&b':') {
                    return None;
                }
                let oh: i64 = rest.get(1..3)?.parse().ok()?;
                let om: i64 = rest.get(4..6)?.parse().ok()?;
                if oh > 23 || om > 59 {
                    return None;
                }
                sign * (oh * 3600 + om * 60)
            }
        };
        let days = days_from_civil(year, month, day);
        Some(Self(days * 86_400 + hour * 3600 + minute * 60 + second - offset))
    }

    /// The ISO weekday (1 = Monday … 7 = Sunday) at a fixed offset from UTC.
    pub(crate) fn iso_weekday(self, offset_seconds: i64) -> u8 {
        let days = (self.0 + offset_seconds).div_euclid(86_400);
        // 1970-01-01 was a Thursday (4)
        u8::try_from((days + 3).rem_euclid(7) + 1).unwrap_or(1)
    }

    /// The UTC calendar date as `(year, month, day)`.
    pub(crate) fn utc_date(self) -> (i64, u32, u32) {
        civil_from_days(self.0.div_euclid(86_400))
    }
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<(i64, u32, u32)> {
    let mut parts = text.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

/// The UTC offset of the IANA zones off-peak rules name. Only fixed-offset zones are listed (no daylight saving
/// since decades); an unknown zone reads as UTC, which is what LiteLLM does for a zone it cannot load.
pub(crate) fn zone_offset_seconds(zone: &str) -> i64 {
    match zone.trim() {
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Harbin" | "Asia/Hong_Kong" | "Asia/Macau" | "Asia/Taipei"
        | "Asia/Singapore" | "Asia/Kuala_Lumpur" | "Asia/Manila" | "PRC" => 8 * 3600,
        "Asia/Tokyo" | "Asia/Seoul" | "Japan" => 9 * 3600,
        "Asia/Kolkata" | "Asia/Calcutta" => 5 * 3600 + 1800,
        _ => 0,
    }
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

    #[test]
    fn rfc3339() {
        let t = BillingTime::parse_rfc3339("2025-06-04T08:00:00Z").unwrap();
        assert_eq!(t.unix_seconds(), 1_749_024_000);
        assert_eq!(t.iso_weekday(0), 3); // a Wednesday
        assert_eq!(BillingTime::parse_rfc3339("2025-06-04T10:00:00.123+02:00"), Some(t));
        assert_eq!(t.utc_date(), (2025, 6, 4));
        for bad in ["2025-06-04", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z", "2025-06-04T08:00:00", "x"] {
            assert_eq!(BillingTime::parse_rfc3339(bad), None, "{bad}");
        }
        // Saturday 2025-06-07 20:00 UTC is Sunday in Shanghai
        let sat = BillingTime::parse_rfc3339("2025-06-07T20:00:00Z").unwrap();
        assert_eq!(sat.iso_weekday(0), 6);
        assert_eq!(sat.iso_weekday(zone_offset_seconds("Asia/Shanghai")), 7);
    }

    #[test]
    fn dates_round_trip() {
        for days in [-1_000_000, -1, 0, 1, 19_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_hh_mm("16:30"), Some(990));
        assert_eq!(parse_hh_mm("24:00"), None);
    }
}

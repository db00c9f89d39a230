//! Budgets: a spend limit on a scope over a period, with a hard limit enforced before each call and a soft
//! limit that raises alerts.

use std::fmt;
use std::str::FromStr;

use llm_core::Usd;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::time::{Day, Timestamp};

/// What a budget applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Every call.
    Global,
    /// Calls charged to this user.
    User(String),
    /// Calls charged to this team.
    Team(String),
    /// Calls made with the API key of this fingerprint ([`llm_core::ApiKey::fingerprint`]).
    ApiKey(String),
    /// Calls carrying this tag.
    Tag(String),
    /// Calls charged to this project.
    Project(String),
}

impl Scope {
    /// The scope's kind: `global`, `user`, `team`, `key`, `tag` or `project`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::User(_) => "user",
            Self::Team(_) => "team",
            Self::ApiKey(_) => "key",
            Self::Tag(_) => "tag",
            Self::Project(_) => "project",
        }
    }

    /// The scope's value (empty for `global`).
    pub fn value(&self) -> &str {
        match self {
            Self::Global => "",
            Self::User(v) | Self::Team(v) | Self::ApiKey(v) | Self::Tag(v) | Self::Project(v) => v,
        }
    }

    /// A key scope from an API key fingerprint as a tracker computes it ([`crate::Tracker::key_scope`] does
    /// both).
    pub fn api_key(fingerprint: impl Into<String>) -> Self {
        Self::ApiKey(fingerprint.into())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Global => f.write_str("global"),
            other => write!(f, "{}:{}", other.kind(), other.value()),
        }
    }
}

impl FromStr for Scope {
    type Err = Error;

    /// Reads `global`, `user:U`, `team:T`, `key:FINGERPRINT`, `tag:X` or `project:P`.
    fn from_str(s: &str) -> Result<Self> {
        if s == "global" {
            return Ok(Self::Global);
        }
        let (kind, value) = s
            .split_once(':')
            .ok_or_else(|| Error::config(format!("invalid budget scope {s:?}: expected KIND:VALUE")))?;
        if value.is_empty() {
            return Err(Error::config(format!("invalid budget scope {s:?}: empty value")));
        }
        let value = value.to_owned();
        Ok(match kind {
            "user" => Self::User(value),
            "team" => Self::Team(value),
            "key" | "api_key" => Self::ApiKey(value),
            "tag" => Self::Tag(value),
            "project" => Self::Project(value),
            _ => {
                return Err(Error::config(format!(
                    "invalid budget scope {s:?}: kind must be global, user, team, key, tag or project"
                )));
            }
        })
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The scopes a call with these attributes is charged to, `global` first.
pub(crate) fn scopes_for(
    user: Option<&str>,
    team: Option<&str>,
    project: Option<&str>,
    key_fingerprint: Option<&str>,
    tags: &[String],
) -> Vec<Scope> {
    let mut out = Vec::with_capacity(2 + tags.len());
    out.push(Scope::Global);
    if let Some(u) = user {
        out.push(Scope::User(u.to_owned()));
    }
    if let Some(t) = team {
        out.push(Scope::Team(t.to_owned()));
    }
    if let Some(p) = project {
        out.push(Scope::Project(p.to_owned()));
    }
    if let Some(k) = key_fingerprint {
        out.push(Scope::ApiKey(k.to_owned()));
    }
    for t in tags {
        let s = Scope::Tag(t.clone());
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// How often a budget's spend resets. Periods are calendar periods in UTC: a daily budget resets at
/// midnight UTC, a weekly one on Monday at midnight UTC, a monthly one on the first of the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Period {
    /// Never resets.
    Total,
    /// Resets every day.
    Daily,
    /// Resets every Monday.
    Weekly,
    /// Resets on the first of every month.
    Monthly,
}

impl Period {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }

    /// The start of the period that contains `now` (the epoch for `Total`).
    pub fn start_of(self, now: Timestamp) -> Timestamp {
        let day = now.day();
        match self {
            Self::Total => Timestamp::EPOCH,
            Self::Daily => day.start(),
            Self::Weekly => day.week_start().start(),
            Self::Monthly => day.month_start().start(),
        }
    }

    /// The start of the period after the one that contains `now` (`None` for `Total`).
    pub fn next_start(self, now: Timestamp) -> Option<Timestamp> {
        let day = now.day();
        match self {
            Self::Total => None,
            Self::Daily => Some(day.plus(1).start()),
            Self::Weekly => Some(day.week_start().plus(7).start()),
            Self::Monthly => day.next_month_start().map(Day::start),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Period {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "total" | "lifetime" => Ok(Self::Total),
            "daily" | "day" => Ok(Self::Daily),
            "weekly" | "week" => Ok(Self::Weekly),
            "monthly" | "month" => Ok(Self::Monthly),
            _ => Err(Error::config(format!("invalid budget period {s:?}: expected total, daily, weekly or monthly"))),
        }
    }
}

/// The current period starts of every period kind, computed once per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeriodStarts {
    pub daily: i64,
    pub weekly: i64,
    pub monthly: i64,
}

impl PeriodStarts {
    pub fn at(now: Timestamp) -> Self {
        // one calendar conversion for the three (what `Period::start_of` computes for each)
        let day = now.day();
        Self {
            daily: day.start().as_secs(),
            weekly: day.week_start().start().as_secs(),
            monthly: day.month_start().start().as_secs(),
        }
    }

    pub fn for_period(&self, p: Period) -> i64 {
        match p {
            Period::Total => 0,
            Period::Daily => self.daily,
            Period::Weekly => self.weekly,
            Period::Monthly => self.monthly,
        }
    }
}

/// A budget: a hard limit (calls that would cross it are refused before they are sent) and/or a soft limit
/// (crossing it raises an alert), on one scope over one period. A scope may have one budget per period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Budget {
    /// What it applies to.
    pub scope: Scope,
    /// When it resets.
    pub period: Period,
    /// The hard limit, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usd: Option<Usd>,
    /// The soft limit (alert threshold), in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_usd: Option<Usd>,
}

impl Budget {
    /// A budget on this scope and period with no limits yet (it only tracks spend).
    pub fn new(scope: Scope, period: Period) -> Self {
        Self { scope, period, max_usd: None, soft_usd: None }
    }

    /// Sets the hard limit.
    #[must_use]
    pub fn with_max(mut self, max: Usd) -> Self {
        self.max_usd = Some(max);
        self
    }

    /// Sets the soft limit.
    #[must_use]
    pub fn with_soft(mut self, soft: Usd) -> Self {
        self.soft_usd = Some(soft);
        self
    }
}

/// A budget with its spend in the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BudgetStatus {
    /// The budget.
    #[serde(flatten)]
    pub budget: Budget,
    /// Settled spend in the current period.
    pub spent: Usd,
    /// Estimates reserved by calls in flight.
    pub reserved: Usd,
    /// When the current period started.
    pub period_start: Timestamp,
    /// When it resets (`None` for a total budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<Timestamp>,
    /// How many live reservations make up `reserved` (calls in flight; expired leases are not counted).
    #[serde(default)]
    pub reservations: u64,
    /// When the earliest of those reservations expires (its lease ends and it stops counting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_expiry: Option<Timestamp>,
}

impl BudgetStatus {
    /// The hard limit minus spent and reserved, when there is a hard limit (may be negative).
    pub fn remaining(&self) -> Option<rust_decimal::Decimal> {
        self.budget.max_usd.map(|m| m.amount() - self.spent.amount() - self.reserved.amount())
    }

    /// True when settled spend reached the soft limit.
    pub fn soft_reached(&self) -> bool {
        self.budget.soft_usd.is_some_and(|s| self.spent >= s)
    }

    /// True when settled spend reached the hard limit.
    pub fn hard_reached(&self) -> bool {
        self.budget.max_usd.is_some_and(|m| self.spent >= m)
    }
}

/// What to do when the store cannot be reached to check a budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailMode {
    /// Let the call through unchecked (and count it in [`crate::TrackerStats::budget_fail_open`]).
    #[default]
    Open,
    /// Refuse the call with an error of kind `budget_unavailable` (`ErrorKind::Other`).
    Closed,
}

/// The budget a reservation was refused by.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// The budget's scope.
    pub scope: Scope,
    /// Its period.
    pub period: Period,
    /// Its hard limit.
    pub max_usd: Usd,
    /// Spent plus reserved before this call.
    pub committed: Usd,
    /// This call's estimate.
    pub estimate: Usd,
}

/// An estimate reserved against every budget of a call's scopes, to be settled once the cost is known.
///
/// Stores keep each reservation on its own, under its `id`, until it is settled or its lease ends
/// (`expires`): a reservation whose process died before settling stops counting at its expiry and is
/// reclaimed by the next reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reservation {
    /// The scopes it was reserved on (empty when no budget applied).
    pub scopes: Vec<Scope>,
    /// The amount reserved.
    pub estimate: Usd,
    /// When it was reserved (settling in a later period releases nothing from the new period).
    pub at: Timestamp,
    /// Whether any budget applied to the scopes (when none did, there is nothing to settle).
    pub budgeted: bool,
    /// The store's id of the reservation (empty when nothing was reserved).
    pub id: String,
    /// When its lease ends: from then on it no longer counts and is reclaimed.
    pub expires: Timestamp,
    /// The smallest room left under a hard limit of its budgets before this reservation (the limit minus
    /// spent and reserved); `None` when no hard limit applied.
    pub headroom: Option<Usd>,
}

impl Reservation {
    /// A reservation of `estimate` on `scopes` at `at`; `budgeted` says whether any budget applied. It has no
    /// id, no headroom, and expires at `at` (see [`Reservation::with_lease`]).
    pub fn new(scopes: Vec<Scope>, estimate: Usd, at: Timestamp, budgeted: bool) -> Self {
        Self { scopes, estimate, at, budgeted, id: String::new(), expires: at, headroom: None }
    }

    /// Sets the store's id and the lease's end.
    #[must_use]
    pub fn with_lease(mut self, id: impl Into<String>, expires: Timestamp) -> Self {
        self.id = id.into();
        self.expires = expires;
        self
    }

    /// Sets the room left under the tightest hard limit before this reservation.
    #[must_use]
    pub fn with_headroom(mut self, headroom: Option<Usd>) -> Self {
        self.headroom = headroom;
        self
    }
}

/// What a budgeted call does when its model has no price (the pricer knows no per-token rates for it, so
/// its cost, and its estimate, would be zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnpricedPolicy {
    /// Let it through, reserving and counting nothing: **such calls bypass every budget** (the default, and
    /// the behavior before this policy existed). They are counted apart in reports (`unpriced_calls`).
    #[default]
    Allow,
    /// Refuse it with `ErrorKind::BudgetExceeded` before it is sent when any budget applies to its scopes.
    Refuse,
    /// Estimate, reserve and settle it at these per-token rates (its record's cost stays unknown).
    CountAt(crate::pricing::Rates),
}

/// The result of asking a store to reserve.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReserveOutcome {
    /// Reserved on every budget of the scopes (possibly none).
    Reserved(Reservation),
    /// A hard limit would be crossed; nothing was reserved anywhere.
    Refused(Refusal),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_print() {
        for s in ["global", "user:alice", "team:core", "key:abc", "tag:batch", "project:p1"] {
            assert_eq!(s.parse::<Scope>().unwrap().to_string(), s);
        }
        assert!("user:".parse::<Scope>().is_err());
        assert!("org:x".parse::<Scope>().is_err());
        assert!("alice".parse::<Scope>().is_err());
        assert_eq!("user:a:b".parse::<Scope>().unwrap(), Scope::User("a:b".into()));
    }

    #[test]
    fn period_boundaries() {
        let t: Timestamp = "2026-12-31T23:59:59Z".parse().unwrap();
        assert_eq!(Period::Daily.start_of(t).to_string(), "2026-12-31T00:00:00.000000Z");
        assert_eq!(Period::Monthly.next_start(t).unwrap().to_string(), "2027-01-01T00:00:00.000000Z");
        assert_eq!(Period::Weekly.start_of(t).to_string(), "2026-12-28T00:00:00.000000Z");
        assert_eq!(Period::Weekly.next_start(t).unwrap().to_string(), "2027-01-04T00:00:00.000000Z");
        assert_eq!(Period::Total.start_of(t), Timestamp::EPOCH);
        assert_eq!(Period::Total.next_start(t), None);
        // a leap February, a Monday, the first of a month, the last microsecond of a day
        let t: Timestamp = "2024-02-29T12:00:00Z".parse().unwrap();
        assert_eq!(Period::Weekly.start_of(t).to_string(), "2024-02-26T00:00:00.000000Z");
        assert_eq!(Period::Monthly.start_of(t).to_string(), "2024-02-01T00:00:00.000000Z");
        assert_eq!(Period::Monthly.next_start(t).unwrap().to_string(), "2024-03-01T00:00:00.000000Z");
        let starts = PeriodStarts::at(t);
        assert_eq!((starts.daily, starts.weekly, starts.monthly), (1_709_164_800, 1_708_905_600, 1_706_745_600));
        let monday: Timestamp = "2026-11-30T00:00:00Z".parse().unwrap();
        assert_eq!(Period::Weekly.start_of(monday), monday);
        assert_eq!(Period::Weekly.start_of(monday.plus_micros(-1)).to_string(), "2026-11-23T00:00:00.000000Z");
        assert_eq!(Period::Daily.next_start(monday.plus_micros(-1)), Some(monday));
        assert_eq!(Period::Monthly.start_of(monday).to_string(), "2026-11-01T00:00:00.000000Z");
        assert_eq!(Period::Monthly.next_start(monday).unwrap().to_string(), "2026-12-01T00:00:00.000000Z");
    }
}

/// What [`Store::reserve`](crate::Store::reserve) is asked to hold: `estimate` on every budget of the scopes,
/// taken at `now` and kept until it is settled or `expires` passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// The amount held on each budget.
    pub estimate: Usd,
    /// When the reservation is made (it decides the budget period).
    pub now: Timestamp,
    /// When the lease ends if the reservation is never settled.
    pub expires: Timestamp,
}

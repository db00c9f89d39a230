//! Spend reports: spend and tokens grouped by a dimension over a range of UTC days, computed from the daily
//! rollups every store keeps.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use llm_core::Usd;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::record::{CallRecord, CallStatus};
use crate::time::Day;

/// What a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GroupBy {
    /// The model asked for, by its catalog key ([`CallRecord::report_model`]), so a model's failures and
    /// successes share a row.
    Model,
    /// The provider.
    Provider,
    /// The UTC day.
    Day,
    /// The user.
    User,
    /// The team.
    Team,
    /// The project.
    Project,
    /// Each tag (a call with two tags counts in both rows).
    Tag,
    /// The API key fingerprint.
    Key,
}

impl GroupBy {
    /// Every dimension the rollups keep (`Day` is the `all` dimension split by day).
    pub const DIMENSIONS: [GroupBy; 7] =
        [GroupBy::Model, GroupBy::Provider, GroupBy::User, GroupBy::Team, GroupBy::Project, GroupBy::Tag, GroupBy::Key];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Provider => "provider",
            Self::Day => "day",
            Self::User => "user",
            Self::Team => "team",
            Self::Project => "project",
            Self::Tag => "tag",
            Self::Key => "key",
        }
    }

    /// The rollup dimension this grouping reads (`all` for `Day`).
    pub(crate) fn dim(self) -> &'static str {
        match self {
            Self::Day => "all",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GroupBy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "model" => Self::Model,
            "provider" => Self::Provider,
            "day" | "date" => Self::Day,
            "user" => Self::User,
            "team" => Self::Team,
            "project" => Self::Project,
            "tag" => Self::Tag,
            "key" | "api_key" => Self::Key,
            _ => {
                return Err(Error::config(format!(
                    "invalid group {s:?}: expected model, provider, day, user, team, project, tag or key"
                )));
            }
        })
    }
}

/// A report request: a grouping and an inclusive range of UTC days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReportQuery {
    /// The grouping.
    pub group_by: GroupBy,
    /// The first day (inclusive); `None` for the beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Day>,
    /// The last day (inclusive); `None` for today and before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Day>,
    /// Also split every group by day (for charts of spend over time).
    #[serde(default)]
    pub by_day: bool,
}

impl ReportQuery {
    /// A report grouped by `group_by` over all time.
    pub fn new(group_by: GroupBy) -> Self {
        Self { group_by, from: None, to: None, by_day: false }
    }

    /// Sets the first day.
    #[must_use]
    pub fn from(mut self, day: Day) -> Self {
        self.from = Some(day);
        self
    }

    /// Sets the last day.
    #[must_use]
    pub fn to(mut self, day: Day) -> Self {
        self.to = Some(day);
        self
    }

    /// Splits every group by day.
    #[must_use]
    pub fn by_day(mut self, on: bool) -> Self {
        self.by_day = on;
        self
    }
}

/// Totals of a set of calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Totals {
    /// Provider calls (every attempt that was sent, structured-output repairs included).
    pub calls: u64,
    /// Logical calls: first attempts only (a structured call repaired twice is 1 logical call, 3 calls).
    #[serde(default)]
    pub logical_calls: u64,
    /// Calls that failed or were cancelled.
    pub failures: u64,
    /// Calls whose cost is unknown (unpriced or unknown model): their spend counts as zero.
    pub unpriced_calls: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Known spend.
    pub spend: Usd,
}

impl Totals {
    /// The totals of one record.
    pub fn of(record: &CallRecord) -> Self {
        Self {
            calls: 1,
            logical_calls: u64::from(record.is_logical_call()),
            failures: u64::from(record.status != CallStatus::Success),
            unpriced_calls: u64::from(record.cost.is_some() && !record.cost_known()),
            prompt_tokens: record.usage.prompt_tokens,
            completion_tokens: record.usage.completion_tokens,
            cache_read_tokens: record.usage.cache_read_tokens.unwrap_or(0),
            spend: record.spend,
        }
    }

    /// Adds other totals.
    pub fn add(&mut self, o: &Totals) {
        self.calls += o.calls;
        self.logical_calls += o.logical_calls;
        self.failures += o.failures;
        self.unpriced_calls += o.unpriced_calls;
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
        self.spend += o.spend;
    }

    /// Prompt plus completion tokens.
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReportRow {
    /// The group's value (`""` when the calls had none, such as no user).
    pub key: String,
    /// The day, when the report is split by day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<Day>,
    /// The totals.
    #[serde(flatten)]
    pub totals: Totals,
}

/// A spend report. Rows are sorted by spend (highest first), then key; split by day, by day then key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The query that produced it.
    pub query: ReportQuery,
    /// The rows.
    pub rows: Vec<ReportRow>,
    /// Every call in range (tags can make the rows add up to more).
    pub total: Totals,
}

/// One rollup row: the totals of one value of one dimension on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RollupRow {
    /// The UTC day.
    pub day: Day,
    /// The dimension (`all`, `model`, `provider`, `user`, `team`, `project`, `tag`, `key`).
    pub dim: String,
    /// The value (`""` for `all` and for calls without one).
    pub value: String,
    /// The totals.
    #[serde(flatten)]
    pub totals: Totals,
}

/// The rollup keys one record contributes to (borrowed from the record: no allocation per key).
pub(crate) fn rollup_keys(r: &CallRecord) -> impl Iterator<Item = (&'static str, &str)> {
    let fixed = [
        ("all", ""),
        ("model", r.report_model()),
        ("provider", r.provider.as_str()),
        ("user", r.user.as_deref().unwrap_or_default()),
        ("team", r.team.as_deref().unwrap_or_default()),
        ("project", r.project.as_deref().unwrap_or_default()),
        ("key", r.api_key_fingerprint.as_deref().unwrap_or_default()),
    ];
    let tags = r.tags.iter().enumerate().filter(|(i, t)| !r.tags[..*i].contains(t)).map(|(_, t)| ("tag", t.as_str()));
    fixed.into_iter().chain(tags)
}

/// Aggregated rollup deltas of a batch of records, keyed (day, dim, value), in a fixed order (so concurrent
/// writers update rows in the same order and never deadlock).
pub(crate) fn rollup_deltas<'a>(
    records: impl IntoIterator<Item = &'a CallRecord>,
) -> BTreeMap<(Day, &'static str, &'a str), Totals> {
    let mut out: BTreeMap<(Day, &'static str, &'a str), Totals> = BTreeMap::new();
    for r in records {
        let t = Totals::of(r);
        let day = r.start_time.day();
        for (dim, value) in rollup_keys(r) {
            out.entry((day, dim, value)).or_default().add(&t);
        }
    }
    out
}

/// Builds a report from the rollup rows of the query's dimension and range.
pub(crate) fn build_report(query: &ReportQuery, rows: impl IntoIterator<Item = RollupRow>, total: Totals) -> Report {
    let mut groups: BTreeMap<(Option<Day>, String), Totals> = BTreeMap::new();
    for row in rows {
        let key = if query.group_by == GroupBy::Day { row.day.to_string() } else { row.value };
        let day = query.by_day.then_some(row.day);
        groups.entry((day, key)).or_default().add(&row.totals);
    }
    let mut out: Vec<ReportRow> =
        groups.into_iter().map(|((day, key), totals)| ReportRow { key, day, totals }).collect();
    if !query.by_day && query.group_by != GroupBy::Day {
        out.sort_by(|a, b| b.totals.spend.cmp(&a.totals.spend).then_with(|| a.key.cmp(&b.key)));
    }
    Report { query: query.clone(), rows: out, total }
}

impl Report {
    /// The report as an aligned text table (key, calls, logical calls, failures, tokens, spend).
    pub fn to_table(&self) -> String {
        let mut lines = vec![format!(
            "{:<40} {:>8} {:>8} {:>8} {:>14} {:>14} {:>16}",
            self.query.group_by.as_str(),
            "calls",
            "logical",
            "failed",
            "prompt_tok",
            "completion_tok",
            "spend_usd"
        )];
        for r in &self.rows {
            let key = if r.key.is_empty() { "(none)".to_owned() } else { r.key.clone() };
            let key = match r.day {
                Some(d) => format!("{d} {key}"),
                None => key,
            };
            lines.push(format!(
                "{:<40} {:>8} {:>8} {:>8} {:>14} {:>14} {:>16}",
                key,
                r.totals.calls,
                r.totals.logical_calls,
                r.totals.failures,
                r.totals.prompt_tokens,
                r.totals.completion_tokens,
                r.totals.spend.to_string()
            ));
        }
        lines.push(format!(
            "{:<40} {:>8} {:>8} {:>8} {:>14} {:>14} {:>16}",
            "TOTAL",
            self.total.calls,
            self.total.logical_calls,
            self.total.failures,
            self.total.prompt_tokens,
            self.total.completion_tokens,
            self.total.spend.to_string()
        ));
        lines.join("\n") + "\n"
    }
}

//! Budget alerts: a soft limit reached, a hard limit reached or a call refused. Each alert is sent once per
//! budget, period and kind (deduplicated in the process), off the call's path.

use async_trait::async_trait;
use llm_core::Usd;
use serde::Serialize;

use crate::budget::{BudgetStatus, Period, Scope};
use crate::error::Result;
use crate::time::Timestamp;

/// Why an alert fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertKind {
    /// Settled spend reached the soft limit.
    SoftLimit,
    /// Settled spend reached the hard limit, or a call was refused by it.
    HardLimit,
}

impl AlertKind {
    /// The kind as it is written in alerts and stores: `soft_limit` or `hard_limit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SoftLimit => "soft_limit",
            Self::HardLimit => "hard_limit",
        }
    }
}

/// A budget alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Alert {
    /// Why.
    pub kind: AlertKind,
    /// The budget's scope.
    pub scope: Scope,
    /// Its period.
    pub period: Period,
    /// The start of the period the alert is about.
    pub period_start: Timestamp,
    /// Spend when it fired.
    pub spent: Usd,
    /// The limit that was reached.
    pub limit: Usd,
}

impl Alert {
    /// An alert of `kind` on the budget of `scope` and `period` (the one starting at `period_start`), `spent`
    /// of `limit`: for sinks' own tests and for applications that raise alerts of their own.
    pub fn new(kind: AlertKind, scope: Scope, period: Period, period_start: Timestamp, spent: Usd, limit: Usd) -> Self {
        Self { kind, scope, period, period_start, spent, limit }
    }

    pub(crate) fn from_status(kind: AlertKind, s: &BudgetStatus) -> Option<Self> {
        let limit = match kind {
            AlertKind::SoftLimit => s.budget.soft_usd?,
            AlertKind::HardLimit => s.budget.max_usd?,
        };
        Some(Self {
            kind,
            scope: s.budget.scope.clone(),
            period: s.budget.period,
            period_start: s.period_start,
            spent: s.spent,
            limit,
        })
    }

    /// A one-line human message, as the webhook sends it.
    pub fn message(&self) -> String {
        let what = match self.kind {
            AlertKind::SoftLimit => "soft limit reached",
            AlertKind::HardLimit => "hard limit reached",
        };
        format!(
            "llm budget {what}: {} ({} budget, period from {}) spent ${} of ${}",
            self.scope, self.period, self.period_start, self.spent, self.limit
        )
    }

    pub(crate) fn dedupe_key(&self) -> (Scope, Period, Timestamp, AlertKind) {
        (self.scope.clone(), self.period, self.period_start, self.kind)
    }
}

/// Where alerts go.
#[async_trait]
pub trait AlertSink: Send + Sync + 'static {
    /// Delivers one alert.
    async fn send(&self, alert: &Alert) -> Result<()>;
}

/// Slack's incoming-webhook body for an alert: `text` (the one-line message, shown in notifications) and
/// `blocks` (a header, then who, which budget, spent of limit and the period as fields).
pub fn slack_body(alert: &Alert) -> serde_json::Value {
    let title = match alert.kind {
        AlertKind::SoftLimit => "Budget soft limit reached",
        AlertKind::HardLimit => "Budget hard limit reached",
    };
    let share = if alert.limit.is_zero() {
        String::new()
    } else {
        format!(
            " ({}%)",
            (alert.spent.amount() * rust_decimal::Decimal::ONE_HUNDRED / alert.limit.amount()).round_dp(1)
        )
    };
    let field =
        |name: &str, value: String| serde_json::json!({ "type": "mrkdwn", "text": format!("*{name}*\n{value}") });
    serde_json::json!({
        "text": alert.message(),
        "blocks": [
            { "type": "header", "text": { "type": "plain_text", "text": title } },
            { "type": "section", "fields": [
                field("Who", format!("`{}`", alert.scope)),
                field("Budget", format!("{} {}", alert.period, alert.kind.as_str().replace('_', " "))),
                field("Spent", format!("${} of ${}{share}", alert.spent, alert.limit)),
                field("Period", format!("from {}", alert.period_start)),
            ] },
        ],
    })
}

/// How a webhook sink posts: the body, retried on 429 and 5xx (waiting the answer's `Retry-After` seconds,
/// at most [`MAX_ALERT_WAIT`], else 0.5 s, 1 s, 2 s…) and on transport errors, `attempts` times in all.
#[cfg(feature = "webhook")]
#[derive(Clone)]
struct Poster {
    url: String,
    client: reqwest::Client,
    attempts: u32,
}

/// Shows the webhook's host only: its path carries the token (Slack's `/services/T…/B…/secret`).
#[cfg(feature = "webhook")]
impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = self.url.split("://").nth(1).unwrap_or("").split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit('@').next().unwrap_or(host);
        f.debug_struct("Poster").field("host", &host).field("attempts", &self.attempts).finish_non_exhaustive()
    }
}

/// The longest `Retry-After` an alert waits for before its next attempt.
pub const MAX_ALERT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(feature = "webhook")]
impl Poster {
    fn new(url: String) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| crate::Error::new(crate::ErrorKind::Webhook, format!("webhook client: {e}")))?;
        Ok(Self { url, client, attempts: 4 })
    }

    async fn post(&self, body: &serde_json::Value) -> Result<()> {
        let mut backoff = std::time::Duration::from_millis(500);
        let mut last = String::new();
        for attempt in 1..=self.attempts.max(1) {
            let wait = match self.client.post(&self.url).json(body).send().await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    last = format!("answered http {status}");
                    if status != 429 && status < 500 {
                        break;
                    }
                    let hint = resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok());
                    hint.and_then(|v| v.trim().parse::<u64>().ok()).map(std::time::Duration::from_secs)
                }
                // reqwest's message names the URL; a webhook URL is a secret (Slack's carries its token).
                Err(e) => {
                    last = format!("post failed: {}", if e.is_timeout() { "timed out" } else { "connection failed" });
                    None
                }
            };
            if attempt == self.attempts {
                break;
            }
            let wait = wait.unwrap_or(backoff).min(MAX_ALERT_WAIT);
            backoff = backoff.saturating_mul(2);
            tokio::time::sleep(wait).await;
        }
        Err(crate::Error::new(crate::ErrorKind::Webhook, last))
    }
}

/// A webhook alert sink. [`WebhookSink::new`] POSTs a Slack-compatible `{"text": "..."}` JSON body plus an
/// `alert` object with the fields; [`WebhookSink::slack`] posts Slack's incoming-webhook format
/// ([`slack_body`]: text plus blocks). Both are retried as the webhook asks. Needs the `webhook` feature.
#[cfg(feature = "webhook")]
#[derive(Debug, Clone)]
pub struct WebhookSink {
    poster: Poster,
    slack: bool,
}

#[cfg(feature = "webhook")]
impl WebhookSink {
    /// A generic sink posting to `url` with a 10-second timeout, four attempts.
    pub fn new(url: impl Into<String>) -> Result<Self> {
        Ok(Self { poster: Poster::new(url.into())?, slack: false })
    }

    /// A sink posting to a Slack incoming-webhook URL (`https://hooks.slack.com/services/...`) in Slack's
    /// format, 10-second timeout, four attempts.
    pub fn slack(url: impl Into<String>) -> Result<Self> {
        Ok(Self { poster: Poster::new(url.into())?, slack: true })
    }

    /// How many times an alert is tried in all (at least once).
    #[must_use]
    pub fn attempts(mut self, n: u32) -> Self {
        self.poster.attempts = n.max(1);
        self
    }
}

#[cfg(feature = "webhook")]
#[async_trait]
impl AlertSink for WebhookSink {
    async fn send(&self, alert: &Alert) -> Result<()> {
        let body =
            if self.slack { slack_body(alert) } else { serde_json::json!({ "text": alert.message(), "alert": alert }) };
        self.poster.post(&body).await
    }
}

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

/// A webhook alert sink: POSTs a Slack-compatible `{"text": "..."}` JSON body (plus an `alert` object with
/// the fields) to a URL. Needs the `webhook` feature.
#[cfg(feature = "webhook")]
#[derive(Debug, Clone)]
pub struct WebhookSink {
    url: String,
    client: reqwest::Client,
}

#[cfg(feature = "webhook")]
impl WebhookSink {
    /// A sink posting to `url` with a 10-second timeout.
    pub fn new(url: impl Into<String>) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| crate::Error::new(crate::ErrorKind::Webhook, format!("webhook client: {e}")))?;
        Ok(Self { url: url.into(), client })
    }
}

#[cfg(feature = "webhook")]
#[async_trait]
impl AlertSink for WebhookSink {
    async fn send(&self, alert: &Alert) -> Result<()> {
        let body = serde_json::json!({ "text": alert.message(), "alert": alert });
        let resp = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| crate::Error::new(crate::ErrorKind::Webhook, format!("webhook post failed: {e}")))?;
        if !resp.status().is_success() {
            return Err(crate::Error::new(
                crate::ErrorKind::Webhook,
                format!("webhook answered http {}", resp.status().as_u16()),
            ));
        }
        Ok(())
    }
}

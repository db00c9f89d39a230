//! A local web dashboard over any [`Store`] (feature `dashboard`): spend over time by model, top users, keys,
//! teams and tags, budget status, with charts drawn as inline SVG by a small embedded script (no CDN, no
//! build step), and the JSON API it reads:
//!
//! - `GET /api/summary?days=N` (default 30): totals, daily spend, daily spend by model, top models, users,
//!   teams, keys and tags, and every budget;
//! - `GET /api/report?group_by=model&from=YYYY-MM-DD&to=YYYY-MM-DD&by_day=true`: a [`Report`];
//! - `GET /api/budgets`: every [`BudgetStatus`].
//!
//! It binds where it is told (use `127.0.0.1`), has no authentication, and shows key fingerprints, never keys.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::budget::BudgetStatus;
use crate::error::{Error, ErrorKind, Result};
use crate::report::{GroupBy, Report, ReportQuery, ReportRow, Totals};
use crate::store::Store;
use crate::time::{Day, Timestamp};

const INDEX_HTML: &str = include_str!("index.html");

/// The dashboard's routes over a store, to serve or to nest in another axum app.
pub fn router(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/summary", get(summary))
        .route("/api/report", get(report))
        .route("/api/budgets", get(budgets))
        .with_state(store)
}

/// Serves the dashboard on `addr` until the process ends (or the listener fails).
pub async fn serve_dashboard(store: Arc<dyn Store>, addr: SocketAddr) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router(store)).await?;
    Ok(())
}

/// Binds `addr` (port 0 picks a free port) and serves the dashboard on a background task; returns the bound
/// address and the task (abort it to stop).
pub async fn spawn_dashboard(
    store: Arc<dyn Store>,
    addr: SocketAddr,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(store)).await {
            tracing::warn!(error = %e, "dashboard server stopped");
        }
    });
    Ok((local, task))
}

async fn index() -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Html(INDEX_HTML)).into_response()
}

struct ApiError(Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.kind() {
            ErrorKind::Config | ErrorKind::Codec => StatusCode::BAD_REQUEST,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, Json(serde_json::json!({ "error": { "kind": self.0.kind().as_str(), "message": self.0.message() } })))
            .into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

#[derive(Debug, Deserialize)]
struct SummaryParams {
    days: Option<i64>,
}

/// What `/api/summary` answers.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// When it was computed.
    pub generated_at: Timestamp,
    /// First day covered.
    pub from: Day,
    /// Last day covered.
    pub to: Day,
    /// Totals over the range.
    pub total: Totals,
    /// Spend and calls per day.
    pub by_day: Vec<ReportRow>,
    /// Spend per day and model.
    pub by_model_daily: Vec<ReportRow>,
    /// Models by spend.
    pub models: Vec<ReportRow>,
    /// Top users by spend.
    pub users: Vec<ReportRow>,
    /// Top teams by spend.
    pub teams: Vec<ReportRow>,
    /// Top API key fingerprints by spend.
    pub keys: Vec<ReportRow>,
    /// Top tags by spend.
    pub tags: Vec<ReportRow>,
    /// Every budget.
    pub budgets: Vec<BudgetStatus>,
}

/// Computes the dashboard summary of the last `days` days (today included).
pub async fn summarize(store: &dyn Store, days: i64) -> Result<Summary> {
    let to = Day::today();
    let from = to.plus(-(days.clamp(1, 3660) - 1));
    let q = |g: GroupBy| ReportQuery::new(g).from(from).to(to);
    let top = |r: Report, n: usize| r.rows.into_iter().take(n).collect::<Vec<_>>();
    let by_day = store.report(&q(GroupBy::Day)).await?;
    Ok(Summary {
        generated_at: Timestamp::now(),
        from,
        to,
        total: by_day.total.clone(),
        by_day: by_day.rows,
        by_model_daily: store.report(&q(GroupBy::Model).by_day(true)).await?.rows,
        models: top(store.report(&q(GroupBy::Model)).await?, 20),
        users: top(store.report(&q(GroupBy::User)).await?, 10),
        teams: top(store.report(&q(GroupBy::Team)).await?, 10),
        keys: top(store.report(&q(GroupBy::Key)).await?, 10),
        tags: top(store.report(&q(GroupBy::Tag)).await?, 10),
        budgets: store.budgets(Timestamp::now()).await?,
    })
}

async fn summary(
    State(store): State<Arc<dyn Store>>,
    Query(p): Query<SummaryParams>,
) -> std::result::Result<Json<Summary>, ApiError> {
    Ok(Json(summarize(store.as_ref(), p.days.unwrap_or(30)).await?))
}

#[derive(Debug, Deserialize)]
struct ReportParams {
    group_by: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by_day: Option<bool>,
}

async fn report(
    State(store): State<Arc<dyn Store>>,
    Query(p): Query<ReportParams>,
) -> std::result::Result<Json<Report>, ApiError> {
    let group: GroupBy = p.group_by.as_deref().unwrap_or("model").parse()?;
    let day = |s: Option<String>| -> Result<Option<Day>> {
        s.map(|s| s.parse::<Day>().map_err(|e| Error::config(e.to_string()))).transpose()
    };
    let mut q = ReportQuery::new(group).by_day(p.by_day.unwrap_or(false));
    q.from = day(p.from)?;
    q.to = day(p.to)?;
    Ok(Json(store.report(&q).await?))
}

async fn budgets(State(store): State<Arc<dyn Store>>) -> std::result::Result<Json<Vec<BudgetStatus>>, ApiError> {
    Ok(Json(store.budgets(Timestamp::now()).await?))
}

//! A local web dashboard over any [`Store`] (feature `dashboard`): spend over time by model, top users, keys,
//! teams and tags, budget status, with charts drawn as inline SVG by a small embedded script (no CDN, no
//! build step), and the JSON API it reads:
//!
//! - `GET /api/summary?days=N` (default 30): totals, daily spend, daily spend by model, top models, users,
//!   teams, keys and tags, and every budget;
//! - `GET /api/report?group_by=model&from=YYYY-MM-DD&to=YYYY-MM-DD&by_day=true`: a [`Report`];
//! - `GET /api/budgets`: every [`BudgetStatus`].
//!
//! It binds where it is told (use `127.0.0.1`) and shows key fingerprints, never keys. Served by
//! [`serve_dashboard`] or [`spawn_dashboard`], it answers only requests whose `Host` header names the bound
//! port on a loopback name (`localhost`, `127.0.0.1`, `[::1]`), the bound address itself, or a name allowed
//! with [`DashboardOptions::allow_host`] (anything else gets `403`: a DNS-rebinding page in a browser cannot
//! read it); with [`DashboardOptions::token`], every request also needs `Authorization: Bearer <token>` or
//! `?token=<token>` (`401` otherwise; the page passes the token of its own URL on to the API).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
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

/// The dashboard's routes over a store, to serve or to nest in another axum app. They check neither the `Host`
/// header nor a token: the app nesting them does, or use [`guarded_router`].
pub fn router(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/summary", get(summary))
        .route("/api/report", get(report))
        .route("/api/budgets", get(budgets))
        .with_state(store)
}

/// Who may read a served dashboard: the host names accepted besides the loopback ones, and an optional token.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct DashboardOptions {
    /// Extra host names accepted in the `Host` header (with the bound port, or without a port).
    pub allowed_hosts: Vec<String>,
    /// The token every request must carry (`Authorization: Bearer <token>` or `?token=<token>`).
    pub token: Option<String>,
}

impl std::fmt::Debug for DashboardOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardOptions")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl DashboardOptions {
    /// Loopback host names only, no token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also accepts this host name (e.g. the machine's name when bound to a LAN address).
    #[must_use]
    pub fn allow_host(mut self, name: impl Into<String>) -> Self {
        self.allowed_hosts.push(name.into());
        self
    }

    /// Requires this token on every request (an empty token requires nothing).
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        let t = token.into();
        self.token = (!t.is_empty()).then_some(t);
        self
    }
}

/// The checks of a served dashboard, for its bound address.
#[derive(Debug)]
struct Access {
    hosts: Vec<String>,
    token: Option<String>,
}

impl Access {
    fn new(bound: SocketAddr, options: &DashboardOptions) -> Access {
        let port = bound.port();
        let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()];
        names.push(match bound.ip() {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        });
        names.extend(options.allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()));
        let mut hosts: Vec<String> = Vec::new();
        for n in names {
            if n.is_empty() {
                continue;
            }
            hosts.push(format!("{n}:{port}"));
            if port == 80 {
                hosts.push(n.clone());
            }
        }
        // a name given by the user may carry its own port
        hosts.extend(options.allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).filter(|h| h.contains(':')));
        Access { hosts, token: options.token.clone() }
    }

    fn host_ok(&self, req: &Request) -> bool {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
        host.is_some_and(|h| {
            let h = h.trim().to_ascii_lowercase();
            self.hosts.contains(&h)
        })
    }

    fn token_ok(&self, req: &Request) -> bool {
        let Some(want) = &self.token else { return true };
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(|t| t.trim().to_owned());
        let query = Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri())
            .ok()
            .and_then(|Query(mut q)| q.remove("token"));
        [bearer, query].into_iter().flatten().any(|given| same_secret(given.as_bytes(), want.as_bytes()))
    }
}

/// Compares two secrets in time that depends only on their lengths.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn check_access(State(access): State<Arc<Access>>, req: Request, next: Next) -> Response {
    if !access.host_ok(&req) {
        return (
            StatusCode::FORBIDDEN,
            "forbidden: this dashboard answers only its own host names (see --allow-host)\n",
        )
            .into_response();
    }
    if !access.token_ok(&req) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "unauthorized: give the dashboard token (Authorization: Bearer <token> or ?token=<token>)\n",
        )
            .into_response();
    }
    next.run(req).await
}

/// The dashboard's routes with the host check and token of `options` for a server bound to `bound`.
pub fn guarded_router(store: Arc<dyn Store>, bound: SocketAddr, options: &DashboardOptions) -> Router {
    let access = Arc::new(Access::new(bound, options));
    router(store).layer(axum::middleware::from_fn_with_state(access, check_access))
}

/// Serves the dashboard on `addr` until the process ends (or the listener fails), answering loopback host
/// names only ([`DashboardOptions::new`]).
pub async fn serve_dashboard(store: Arc<dyn Store>, addr: SocketAddr) -> Result<()> {
    let (_, task) = spawn_dashboard_with(store, addr, &DashboardOptions::new()).await?;
    task.await.map_err(|e| Error::config(format!("the dashboard task failed: {e}")))
}

/// Binds `addr` (port 0 picks a free port) and serves the dashboard on a background task, answering loopback
/// host names only; returns the bound address and the task (abort it to stop).
pub async fn spawn_dashboard(
    store: Arc<dyn Store>,
    addr: SocketAddr,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    spawn_dashboard_with(store, addr, &DashboardOptions::new()).await
}

/// [`spawn_dashboard`] with options: more host names, a token.
pub async fn spawn_dashboard_with(
    store: Arc<dyn Store>,
    addr: SocketAddr,
    options: &DashboardOptions,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = guarded_router(store, local, options);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
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
    from: Option<String>,
    to: Option<String>,
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
    summarize_range(store, to.plus(-(days.clamp(1, 3660) - 1)), to).await
}

/// Computes the dashboard summary of the days `from` to `to`, both included (at most 3660 days).
pub async fn summarize_range(store: &dyn Store, from: Day, to: Day) -> Result<Summary> {
    if from > to {
        return Err(Error::config(format!("the range starts ({from}) after it ends ({to})")));
    }
    if to.days() - from.days() >= 3660 {
        return Err(Error::config("the range is longer than 3660 days"));
    }
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
    let days = p.days.unwrap_or(30).clamp(1, 3660);
    let to = parse_day(p.to)?.unwrap_or_else(Day::today);
    let from = parse_day(p.from)?.unwrap_or_else(|| to.plus(-(days - 1)));
    Ok(Json(summarize_range(store.as_ref(), from, to).await?))
}

/// A `YYYY-MM-DD` query parameter.
fn parse_day(s: Option<String>) -> Result<Option<Day>> {
    s.filter(|s| !s.is_empty()).map(|s| s.parse::<Day>().map_err(|e| Error::config(e.to_string()))).transpose()
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
    let mut q = ReportQuery::new(group).by_day(p.by_day.unwrap_or(false));
    q.from = parse_day(p.from)?;
    q.to = parse_day(p.to)?;
    Ok(Json(store.report(&q).await?))
}

async fn budgets(State(store): State<Arc<dyn Store>>) -> std::result::Result<Json<Vec<BudgetStatus>>, ApiError> {
    Ok(Json(store.budgets(Timestamp::now()).await?))
}

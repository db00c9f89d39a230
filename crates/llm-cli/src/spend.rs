//! `llm budget` and `llm spend`: budgets, reports, exports and the dashboard over a spend store.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use llm::core::Usd;
use llm::tracking::export::object::ExportFormat;
use llm::tracking::{Budget, Day, GroupBy, Period, ReportQuery, Scope, Store, Timestamp};

use crate::output::print_json;

/// Where the spend store is: `--db` or `LLM_DB`, defaulting to the data directory's `spend.sqlite`.
#[derive(Debug, clap::Args)]
pub struct DbArg {
    /// The spend store: `sqlite:PATH` or `postgres://...` (default: `LLM_DB`, else `sqlite:<data dir>/spend.sqlite`).
    #[arg(long, env = "LLM_DB")]
    pub db: Option<String>,
}

impl DbArg {
    async fn open(&self) -> Result<std::sync::Arc<dyn Store>> {
        let url = match &self.db {
            Some(u) => u.clone(),
            None => {
                let dir = crate::demo::default_data_dir();
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                format!("sqlite:{}", dir.join("spend.sqlite").display())
            }
        };
        llm::tracking::open(&url).await.with_context(|| format!("opening {}", llm::tracking::store::redact_url(&url)))
    }
}

/// `llm budget ...`.
#[derive(Debug, clap::Subcommand)]
pub enum BudgetCommand {
    /// Creates or replaces a budget.
    Set {
        #[command(flatten)]
        db: DbArg,
        /// `global`, `user:U`, `team:T`, `key:FINGERPRINT`, `tag:X` or `project:P`.
        #[arg(long)]
        scope: Scope,
        /// The hard limit in USD: a call that would cross it is refused before it is sent.
        #[arg(long)]
        max_usd: Option<Usd>,
        /// The soft limit in USD: crossing it raises an alert.
        #[arg(long)]
        soft_usd: Option<Usd>,
        /// `total`, `daily`, `weekly` or `monthly` (UTC boundaries).
        #[arg(long, default_value = "monthly")]
        period: Period,
    },
    /// Lists budgets with their spend in the current period, what calls in flight reserve (`reserved`), how many
    /// live reservations that is (`held`) and when the earliest of them expires.
    List {
        #[command(flatten)]
        db: DbArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `llm spend ...`.
#[derive(Debug, clap::Subcommand)]
pub enum SpendCommand {
    /// Spend and tokens grouped by model, provider, day, user, team, project, tag or key.
    Report {
        #[command(flatten)]
        db: DbArg,
        /// The grouping.
        #[arg(long, default_value = "model")]
        by: GroupBy,
        /// First UTC day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: Option<Day>,
        /// Last UTC day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: Option<Day>,
        /// Split every group by day.
        #[arg(long)]
        daily: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every record as JSON lines (oldest first); with `--dest`, to object storage instead: day partitions
    /// (`dt=YYYY-MM-DD/`) of gzip JSON lines or Parquet, each record once however often it runs.
    Export {
        #[command(flatten)]
        db: DbArg,
        /// Records starting at or after this time (RFC 3339).
        #[arg(long)]
        from: Option<Timestamp>,
        /// Records starting before this time (RFC 3339).
        #[arg(long)]
        to: Option<Timestamp>,
        /// Write to object storage: `s3://BUCKET/PREFIX`, `gs://BUCKET/PREFIX`, `az://CONTAINER/PREFIX` or
        /// `file:///PATH` (credentials from the standard variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
        /// `AWS_REGION`, `AWS_ENDPOINT_URL`, ...). Prints a JSON summary; only what is not exported yet is written.
        #[arg(long, value_name = "URL")]
        dest: Option<String>,
        /// The objects' format with `--dest`: `jsonl` (gzip JSON lines) or `parquet`.
        #[arg(long, default_value = "jsonl", requires = "dest")]
        format: ExportFormat,
        /// With `--dest`: how long the objects of recent records stay open (written again by later exports,
        /// with any record that arrives late) before they are final; every record is exported at once.
        #[arg(long, value_name = "SECONDS", default_value_t = 600, requires = "dest")]
        settle_secs: u64,
    },
    /// A local web dashboard: spend over time by model, top users, keys and tags, budget status.
    Serve {
        #[command(flatten)]
        db: DbArg,
        /// The address to listen on (loopback by default; port 0 picks a free port, printed).
        #[arg(long, default_value = "127.0.0.1:8088")]
        addr: std::net::SocketAddr,
        /// Also answer requests for this host name (the `Host` header); repeatable. Loopback names
        /// (`localhost`, `127.0.0.1`, `[::1]`) with the bound port are always accepted, anything else gets 403.
        #[arg(long = "allow-host", value_name = "NAME")]
        allow_hosts: Vec<String>,
        /// Require this token: `Authorization: Bearer TOKEN` or `?token=TOKEN` (open the page with it).
        #[arg(long, env = "LLM_DASHBOARD_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
}

/// Runs `llm budget ...`.
pub async fn budget_cmd(cmd: &BudgetCommand, out: &mut impl Write) -> Result<ExitCode> {
    match cmd {
        BudgetCommand::Set { db, scope, max_usd, soft_usd, period } => {
            anyhow::ensure!(max_usd.is_some() || soft_usd.is_some(), "give --max-usd, --soft-usd or both");
            let store = db.open().await?;
            let mut b = Budget::new(scope.clone(), *period);
            if let Some(m) = max_usd {
                b = b.with_max(*m);
            }
            if let Some(s) = soft_usd {
                b = b.with_soft(*s);
            }
            store.set_budget(&b).await?;
            writeln!(out, "budget set: {} {}", scope, period.as_str())?;
            Ok(ExitCode::SUCCESS)
        }
        BudgetCommand::List { db, json } => {
            let store = db.open().await?;
            let budgets = store.budgets(Timestamp::now()).await?;
            if *json {
                print_json(out, &serde_json::to_value(&budgets)?)?;
            } else {
                writeln!(
                    out,
                    "{:<32} {:<8} {:>12} {:>12} {:>12} {:>12} {:>6}  earliest_expiry",
                    "scope", "period", "max_usd", "soft_usd", "spent", "reserved", "held"
                )?;
                for b in &budgets {
                    let opt = |u: Option<Usd>| u.map_or_else(|| "-".to_owned(), |u| u.to_string());
                    writeln!(
                        out,
                        "{:<32} {:<8} {:>12} {:>12} {:>12} {:>12} {:>6}  {}",
                        b.budget.scope.to_string(),
                        b.budget.period.as_str(),
                        opt(b.budget.max_usd),
                        opt(b.budget.soft_usd),
                        b.spent,
                        b.reserved,
                        b.reservations,
                        b.earliest_expiry.map_or_else(|| "-".to_owned(), |t| t.to_string())
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs `llm spend ...`.
pub async fn spend_cmd(cmd: &SpendCommand, out: &mut impl Write) -> Result<ExitCode> {
    match cmd {
        SpendCommand::Report { db, by, from, to, daily, json } => {
            let store = db.open().await?;
            let mut q = ReportQuery::new(*by).by_day(*daily);
            if let Some(f) = from {
                q = q.from(*f);
            }
            if let Some(t) = to {
                q = q.to(*t);
            }
            let report = store.report(&q).await?;
            if *json {
                print_json(out, &serde_json::to_value(&report)?)?;
            } else {
                write!(out, "{}", report.to_table())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SpendCommand::Export { db, from, to, dest: Some(dest), format, settle_secs } => {
            use llm::tracking::export::object::{SpendExport, export_to_object_store};
            let store = db.open().await?;
            let export =
                SpendExport::new(dest.clone()).format(*format).settle_lag(std::time::Duration::from_secs(*settle_secs));
            let summary = export_to_object_store(store.as_ref(), &export, *from, *to).await?;
            if let Some(open) = summary.open_from {
                eprintln!(
                    "records that started after {open} are exported and stay open: the next exports write their \
                     objects again, with any record that arrives late, until they are {settle_secs} s old"
                );
            }
            eprintln!("{} records in {} objects to {}", summary.records, summary.objects.len(), summary.dest);
            print_json(out, &serde_json::to_value(&summary)?)?;
            Ok(ExitCode::SUCCESS)
        }
        SpendCommand::Export { db, from, to, dest: None, .. } => {
            let store = db.open().await?;
            // streamed: each page is written as it is read (the output is the same as it always was)
            out.flush()?;
            let mut sink = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
            let n = llm::tracking::export::export_jsonl(store.as_ref(), *from, *to, &mut sink).await?;
            sink.flush()?;
            eprintln!("{n} records");
            Ok(ExitCode::SUCCESS)
        }
        SpendCommand::Serve { db, addr, allow_hosts, token } => {
            use llm::tracking::dashboard::{DashboardOptions, spawn_dashboard_with};
            let store = db.open().await?;
            let mut options = DashboardOptions::new();
            for h in allow_hosts {
                options = options.allow_host(h.clone());
            }
            if let Some(t) = token {
                options = options.token(t.clone());
            }
            let (bound, task) = spawn_dashboard_with(store, *addr, &options).await?;
            let hint = if options.token.is_some() { ", open it with ?token=<the token>" } else { "" };
            eprintln!("dashboard on http://{bound}/ (Ctrl-C to stop{hint})");
            task.await.context("the dashboard stopped")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

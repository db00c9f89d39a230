//! The same behaviour from every store: the in-memory one, SQLite and PostgreSQL (`LLM_TEST_PG_URL`, else the
//! local server on 127.0.0.1:5432 when it answers; see `common::pg_url`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use llm_core::{Cost, CostBreakdown, CostStatus, Usage, Usd};
use llm_tracking::{
    Budget, CallRecord, Day, GroupBy, Hold, MemoryStore, Period, ReportQuery, Reservation, ReserveOutcome, Scope,
    Store, Timestamp,
};

fn record(
    at: &str,
    model: &str,
    user: Option<&str>,
    tags: &[&str],
    prompt: u64,
    completion: u64,
    spend: &str,
) -> CallRecord {
    let mut b = CostBreakdown::default();
    b.input = usd(spend);
    let mut r = CallRecord::new("openai", model, at.parse().unwrap())
        .with_usage(Usage::new(prompt, completion))
        .with_cost(Cost::new(CostStatus::Priced, b).with_catalog(model, "test"));
    if let Some(u) = user {
        r = r.with_user(u);
    }
    for t in tags {
        r = r.with_tag(*t);
    }
    r
}

fn fixture() -> Vec<Arc<CallRecord>> {
    let mut unpriced = record("2026-11-02T08:00:00Z", "mystery-1", None, &[], 5, 5, "0");
    unpriced.cost = Some(Cost::unknown(CostStatus::UnknownModel));
    let failed = record("2026-11-02T09:00:00Z", "gpt-4o", Some("bob"), &["batch"], 0, 0, "0")
        .with_failure("rate_limited", "slow down");
    vec![
        record("2026-11-01T10:00:00Z", "gpt-4o", Some("alice"), &["batch", "eval"], 1000, 200, "0.0045"),
        record("2026-11-01T23:59:59.999999Z", "gpt-4o-mini", Some("alice"), &["eval"], 2000, 100, "0.00036"),
        record("2026-11-02T00:00:00Z", "gpt-4o", Some("bob"), &[], 10, 10, "0.000125").with_team("core"),
        unpriced,
        failed,
    ]
    .into_iter()
    .map(Arc::new)
    .collect()
}

async fn conformance(store: &dyn Store, label: &str) {
    let records = fixture();
    assert_eq!(store.append(&records).await.unwrap(), 5, "{label}");
    assert_eq!(store.append(&records[..2]).await.unwrap(), 0, "{label}: appending again is a no-op");
    assert_eq!(store.count_records().await.unwrap(), 5, "{label}");

    // The log round-trips records exactly, oldest first, and filters by time.
    let back = store.records(None, None, 100).await.unwrap();
    let mut want: Vec<CallRecord> = records.iter().map(|r| r.as_ref().clone()).collect();
    want.sort_by_key(|r| r.start_time);
    assert_eq!(back, want, "{label}");
    let day2 = store.records(Some("2026-11-02".parse().unwrap()), None, 100).await.unwrap();
    assert_eq!(day2.len(), 3, "{label}");
    assert_eq!(store.records(None, None, 2).await.unwrap().len(), 2, "{label}");

    // Reports from the rollups.
    for (name, q) in [
        ("by_model", ReportQuery::new(GroupBy::Model)),
        ("by_user", ReportQuery::new(GroupBy::User)),
        ("by_tag", ReportQuery::new(GroupBy::Tag)),
        ("by_day", ReportQuery::new(GroupBy::Day)),
        ("by_model_daily", ReportQuery::new(GroupBy::Model).by_day(true)),
        (
            "day2_by_team",
            ReportQuery::new(GroupBy::Team).from("2026-11-02".parse().unwrap()).to("2026-11-02".parse().unwrap()),
        ),
    ] {
        let report = store.report(&q).await.unwrap();
        insta::assert_json_snapshot!(format!("report_{name}"), report);
    }
    let rollups = store.rollups("provider", None, None).await.unwrap();
    insta::assert_json_snapshot!("rollups_provider", rollups);
    let table = store.report(&ReportQuery::new(GroupBy::Model)).await.unwrap().to_table();
    insta::assert_snapshot!("report_table_by_model", table);

    // Budgets: set, reserve, refuse, settle, list, remove.
    let now: Timestamp = "2026-11-02T12:00:00Z".parse().unwrap();
    store
        .set_budget(&Budget::new(Scope::User("alice".into()), Period::Monthly).with_max(usd("1")).with_soft(usd("0.5")))
        .await
        .unwrap();
    store.set_budget(&Budget::new(Scope::Global, Period::Total).with_soft(usd("100"))).await.unwrap();
    let scopes = vec![Scope::Global, Scope::User("alice".into())];
    let ReserveOutcome::Reserved(r1) = store
        .reserve(&scopes, Hold { estimate: usd("0.6"), now, expires: now.plus_micros(3_600_000_000) })
        .await
        .unwrap()
    else {
        panic!("{label}")
    };
    match store
        .reserve(&scopes, Hold { estimate: usd("0.6"), now, expires: now.plus_micros(3_600_000_000) })
        .await
        .unwrap()
    {
        ReserveOutcome::Refused(refusal) => {
            assert_eq!(refusal.scope, Scope::User("alice".into()), "{label}");
            assert_eq!(refusal.committed, usd("0.6"), "{label}");
        }
        other => panic!("{label}: {other:?}"),
    }
    let after = store.settle(&r1, usd("0.55"), now).await.unwrap();
    assert_eq!(after.len(), 2, "{label}");
    let alice = after.iter().find(|s| s.budget.scope == Scope::User("alice".into())).unwrap();
    assert_eq!((alice.spent, alice.reserved), (usd("0.55"), usd("0")), "{label}");
    assert!(alice.soft_reached() && !alice.hard_reached(), "{label}");
    // Refused reservations left nothing behind; a different user is not limited by alice's budget.
    assert!(matches!(
        store
            .reserve(
                &[Scope::Global, Scope::User("bob".into())],
                Hold { estimate: usd("5"), now, expires: now.plus_micros(3_600_000_000) }
            )
            .await
            .unwrap(),
        ReserveOutcome::Reserved(_)
    ));
    let listed = store.budgets(now).await.unwrap();
    insta::assert_json_snapshot!("budgets", listed);
    // Next month alice's budget starts over.
    let next: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    let listed = store.budgets(next).await.unwrap();
    let alice = listed.iter().find(|s| s.budget.period == Period::Monthly).unwrap();
    assert_eq!((alice.spent, alice.reserved), (usd("0"), usd("0")), "{label}");
    assert_eq!(alice.period_start.day(), "2026-12-01".parse::<Day>().unwrap());
    // Setting limits again keeps the spend.
    store.set_budget(&Budget::new(Scope::User("alice".into()), Period::Monthly).with_max(usd("2"))).await.unwrap();
    let alice = store.budgets(now).await.unwrap().into_iter().find(|s| s.budget.period == Period::Monthly).unwrap();
    assert_eq!(
        (alice.spent, alice.budget.max_usd, alice.budget.soft_usd),
        (usd("0.55"), Some(usd("2")), None),
        "{label}"
    );
    assert!(store.remove_budget(&Scope::User("alice".into()), Period::Monthly).await.unwrap());
    assert!(!store.remove_budget(&Scope::User("alice".into()), Period::Monthly).await.unwrap());
    assert_eq!(store.budgets(now).await.unwrap().len(), 1, "{label}");

    // Leases: a reservation whose lease ended (its process died) no longer counts, and the next one reclaims it.
    let lease = [Scope::Tag("lease".into())];
    store.set_budget(&Budget::new(lease[0].clone(), Period::Total).with_max(usd("1"))).await.unwrap();
    let second = |t: Timestamp, s: i64| t.plus_micros(s * 1_000_000);
    assert!(matches!(
        store.reserve(&lease, Hold { estimate: usd("0.9"), now, expires: second(now, 1) }).await.unwrap(),
        ReserveOutcome::Reserved(_)
    ));
    let held = |list: Vec<llm_tracking::BudgetStatus>| {
        let b = list.into_iter().find(|b| b.budget.scope == lease[0]).unwrap();
        (b.spent, b.reserved, b.reservations, b.earliest_expiry)
    };
    assert_eq!(held(store.budgets(now).await.unwrap()), (usd("0"), usd("0.9"), 1, Some(second(now, 1))), "{label}");
    assert!(matches!(
        store
            .reserve(&lease, Hold { estimate: usd("0.9"), now: second(now, 0), expires: second(now, 1) })
            .await
            .unwrap(),
        ReserveOutcome::Refused(_)
    ));
    let later = second(now, 2);
    assert_eq!(held(store.budgets(later).await.unwrap()), (usd("0"), usd("0"), 0, None), "{label}");
    let ReserveOutcome::Reserved(r) =
        store.reserve(&lease, Hold { estimate: usd("0.9"), now: later, expires: second(later, 1) }).await.unwrap()
    else {
        panic!("{label}: the expired reservation still counts")
    };
    assert_eq!(held(store.budgets(later).await.unwrap()), (usd("0"), usd("0.9"), 1, Some(second(later, 1))), "{label}");
    store.settle(&r, usd("0.1"), later).await.unwrap();
    assert_eq!(held(store.budgets(later).await.unwrap()), (usd("0.1"), usd("0"), 0, None), "{label}");
    assert!(store.remove_budget(&lease[0], Period::Total).await.unwrap());

    // A batch mixing a stored record, a new one and a duplicate of it: only the new one counts, once.
    let new = Arc::new(record("2026-11-03T00:00:00Z", "gpt-4o", Some("erin"), &[], 1, 1, "0.5"));
    assert_eq!(store.append(&[records[0].clone(), new.clone(), new]).await.unwrap(), 1, "{label}");
    assert_eq!(store.count_records().await.unwrap(), 6, "{label}");
    let total = store.report(&ReportQuery::new(GroupBy::Day)).await.unwrap().total;
    assert_eq!((total.calls, total.spend), (6, usd("0.504985")), "{label}");
}

#[tokio::test]
async fn memory_store_conformance() {
    conformance(&MemoryStore::new(), "memory").await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spend.db");
    let store = llm_tracking::store::SqliteStore::open(&path).await.unwrap();
    conformance(&store, "sqlite").await;
    store.close().await;
    // Reopening finds everything (and does not migrate twice).
    let again = llm_tracking::open(&format!("sqlite:{}", path.display())).await.unwrap();
    assert_eq!(again.count_records().await.unwrap(), 6);
    assert_eq!(again.report(&ReportQuery::new(GroupBy::Day)).await.unwrap().total.calls, 6);
}

/// A database written by schema version 1 (every column stored) opens, migrates to version 2 (id, start and
/// record stored; the other columns in `spend_log_view`), 3 (rollups count logical calls) and 4 (reservations
/// one by one, with leases) and 5 (the call type in the view) and keeps every record, rollup and budget's spend.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_migrates_a_version_1_database() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let url = format!("sqlite:{}?mode=rwc", path.display());
    let records = fixture();
    {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(V1_SCHEMA).execute(&mut conn).await.unwrap();
        for r in &records[..3] {
            sqlx::query(
                "INSERT INTO spend_log (id, trace_id, start_us, day, provider, model, status, spend, user_id, team, \
                 project, api_key_fp, tags, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, $11, $12)",
            )
            .bind(&r.id)
            .bind(&r.trace_id)
            .bind(r.start_time.as_micros())
            .bind(r.start_time.day().to_string())
            .bind(&r.provider)
            .bind(&r.model)
            .bind(r.status.as_str())
            .bind(r.spend.to_string())
            .bind(&r.user)
            .bind(&r.team)
            .bind(serde_json::to_string(&r.tags).unwrap())
            .bind(serde_json::to_string(&**r).unwrap())
            .execute(&mut conn)
            .await
            .unwrap();
        }
        // A budget with a reservation leaked by a call that never settled (version 1 kept only the sum).
        sqlx::query(
            "INSERT INTO budgets (scope, period, max_usd, spent, reserved, period_start) \
             VALUES ('user:leaky', 'total', '1', '0.2', '0.3', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        // A rollup row of version 1, before rollups counted logical calls.
        sqlx::query(
            "INSERT INTO spend_daily (dim, day, value, calls, failures, unpriced_calls, prompt_tokens, \
             completion_tokens, cache_read_tokens, spend) VALUES ('user', '2000-01-01', 'old', 7, 1, 0, 70, 7, 0, '0.7')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let store = llm_tracking::store::SqliteStore::open(&path).await.unwrap();
    assert_eq!(llm_tracking::store::SqliteStore::SCHEMA_VERSION, 7);
    assert_eq!(store.count_records().await.unwrap(), 3);
    // Version 4: the leaked sum is gone (reservations are kept one by one now), the spend stays.
    let (now, r) = leaked_sum_is_gone(&store, usd("0.7")).await;
    let leaky = store.budgets(now).await.unwrap().remove(0);
    assert_eq!((leaky.reserved, leaky.reservations, leaky.earliest_expiry), (usd("0.7"), 1, Some(r.expires)));
    store.settle(&r, usd("0.1"), now).await.unwrap();
    let back = store.records(None, None, 10).await.unwrap();
    assert_eq!(back, records[..3].iter().map(|r| (**r).clone()).collect::<Vec<_>>());
    // A batch with two stored records and two new ones inserts the two.
    assert_eq!(store.append(&records[1..]).await.unwrap(), 2);
    assert_eq!(store.count_records().await.unwrap(), 5);
    // The rollups count the two new records once (the hand-written version-1 rows came without rollups).
    assert_eq!(store.report(&ReportQuery::new(GroupBy::Day)).await.unwrap().total.calls, 2);
    store.close().await;

    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let version: i64 =
        sqlx::query_scalar("SELECT MAX(version) FROM schema_version").fetch_one(&mut conn).await.unwrap();
    assert_eq!(version, 7);
    // Version 6: the view has the call type; records written before call types existed are chat calls.
    let types: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT call_type FROM spend_log_view").fetch_all(&mut conn).await.unwrap();
    assert_eq!(types, ["chat"]);
    let (reserved, held): (String, i64) = sqlx::query_as(
        "SELECT reserved, (SELECT COUNT(*) FROM budget_reservations) FROM budgets WHERE scope = 'user:leaky'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((reserved.as_str(), held), ("0", 0), "settled: nothing held");
    // Version 3: rows written before it count every call as a logical call.
    let logical: i64 = sqlx::query_scalar("SELECT logical_calls FROM spend_daily WHERE value = 'old'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(logical, 7);
    let rows: Vec<ViewRow> = sqlx::query_as(
        "SELECT day, provider, model, status, user_id, team, spend, tags FROM spend_log_view ORDER BY start_us",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let expected: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.start_time.day().to_string(),
                r.provider.clone(),
                r.model.clone(),
                r.status.as_str().to_owned(),
                r.user.clone(),
                r.team.clone(),
                r.spend.to_string(),
                serde_json::to_string(&r.tags).unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(rows[0].7, r#"["batch","eval"]"#);
    assert_eq!(rows[3].7, "[]");
    conn.close().await.unwrap();
}

/// day, provider, model, status, user_id, team, spend, tags from `spend_log_view`.
#[cfg(feature = "sqlite")]
type ViewRow = (String, String, String, String, Option<String>, Option<String>, String, String);

/// Schema version 1 as it shipped, to test the migration from it.
#[cfg(feature = "sqlite")]
const V1_SCHEMA: &str = r#"
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE spend_log (
    id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, start_us INTEGER NOT NULL, day TEXT NOT NULL,
    provider TEXT NOT NULL, model TEXT NOT NULL, status TEXT NOT NULL, spend TEXT NOT NULL, user_id TEXT,
    team TEXT, project TEXT, api_key_fp TEXT, tags TEXT NOT NULL, record TEXT NOT NULL
);
CREATE INDEX spend_log_start ON spend_log (start_us);
CREATE TABLE spend_daily (
    dim TEXT NOT NULL, day TEXT NOT NULL, value TEXT NOT NULL, calls INTEGER NOT NULL, failures INTEGER NOT NULL,
    unpriced_calls INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, spend TEXT NOT NULL, PRIMARY KEY (dim, day, value)
);
CREATE TABLE budgets (
    scope TEXT NOT NULL, period TEXT NOT NULL, max_usd TEXT, soft_usd TEXT, spent TEXT NOT NULL DEFAULT '0',
    reserved TEXT NOT NULL DEFAULT '0', period_start INTEGER NOT NULL DEFAULT 0,
    updated_us INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (scope, period)
);
"#;

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_store_conformance() {
    let Some(pg) = pg::TestDb::new().await else { return };
    conformance(&pg.store, "postgres").await;
    pg.drop().await;
}

/// A PostgreSQL schema at version 2 (one `reserved` sum per budget, no reservation table) migrates to version 3
/// (the table of reservations with leases appears, the leaked sum is cleared, the spend stays) and 4 (a random
/// per-store fingerprint salt).
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_migrates_a_version_2_schema() {
    let Some(pg) = pg::TestDb::new().await else { return };
    assert_eq!(llm_tracking::store::SCHEMA_VERSION, 7);
    let pool = pg.store.pool().clone();
    // Back to version 2 as it shipped: no reservation table, and a leaked reservation in the sum.
    for sql in [
        "DROP TABLE budget_reservations",
        "DROP TABLE llm_store_secret",
        "DELETE FROM schema_version WHERE version >= 3",
        "INSERT INTO budgets (scope, period, max_usd, spent, reserved, period_start) \
         VALUES ('user:leaky', 'total', 1, 0.2, 0.3, 0)",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
    }
    let store = llm_tracking::store::PostgresStore::connect_with(&pg.url, Some(&pg.schema), 2).await.unwrap();
    let version: i64 =
        sqlx::query_scalar("SELECT MAX(version) FROM schema_version").fetch_one(store.pool()).await.unwrap();
    assert_eq!(version, 7);
    let salt: String = sqlx::query_scalar("SELECT secret FROM llm_store_secret").fetch_one(store.pool()).await.unwrap();
    assert_eq!(salt.len(), 64, "{salt}");
    assert!(store.fingerprint_secret().is_some_and(|s| s.len() == 32));
    let reserved: String = sqlx::query_scalar("SELECT reserved::text FROM budgets WHERE scope = 'user:leaky'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(reserved, "0");
    let (_, r) = leaked_sum_is_gone(&store, usd("0.8")).await;
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM budget_reservations WHERE id = $1")
        .bind(&r.id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(held, 1);
    store.close().await;
    pg.drop().await;
}

/// How the PostgreSQL tests find their server: the variable first, else a local server that answers; with
/// neither a skip, or a failure under CI.
#[test]
fn pg_url_prefers_the_variable_then_a_listening_server_and_fails_under_ci() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let set = Some("postgres://u@db:5433/x".to_owned());
    assert_eq!(pg_url_with(set.clone(), closed, true).as_deref(), Some("postgres://u@db:5433/x"));
    assert_eq!(pg_url_with(Some(String::new()), open, false), Some(format!("postgres://postgres@{open}/test")));
    assert_eq!(pg_url_with(None, open, true), Some(format!("postgres://postgres@{open}/test")));
    assert_eq!(pg_url_with(None, closed, false), None);
    let ci = std::panic::catch_unwind(|| pg_url_with(None, closed, true)).unwrap_err();
    let message = ci.downcast_ref::<String>().unwrap();
    assert!(message.contains("under CI=true a PostgreSQL test may not be skipped"), "{message}");
}

#[tokio::test]
async fn open_rejects_bad_urls() {
    let err = llm_tracking::open("mysql://u:secret@h/db").await.err().unwrap();
    assert_eq!(err.kind(), &llm_tracking::ErrorKind::Config);
    assert!(!err.to_string().contains("secret"), "{err}");
    assert_eq!(llm_tracking::open("memory:").await.unwrap().name(), "memory");
    assert_eq!(llm_tracking::open("sqlite::memory:").await.unwrap().name(), "memory");
    #[cfg(feature = "sqlite")]
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        assert_eq!(llm_tracking::open(path.to_str().unwrap()).await.unwrap().name(), "sqlite");
        assert_eq!(llm_tracking::open(&format!("sqlite://{}", path.display())).await.unwrap().name(), "sqlite");
    }
    assert_eq!(llm_tracking::open("nonsense").await.err().unwrap().kind(), &llm_tracking::ErrorKind::Config);
}

#[cfg(feature = "postgres")]
mod pg {
    use llm_tracking::store::PostgresStore;

    /// A PostgreSQL store in a fresh schema, dropped at the end.
    pub struct TestDb {
        pub store: PostgresStore,
        pub schema: String,
        pub url: String,
    }

    impl TestDb {
        pub async fn new() -> Option<Self> {
            let url = super::common::pg_url()?;
            let schema = format!("llmtrk_{}", &llm_tracking::new_id()[..16]);
            let store = PostgresStore::connect_with(&url, Some(&schema), 8).await.unwrap();
            Some(Self { store, schema, url })
        }

        pub async fn drop(self) {
            sqlx_drop(&self.store, &self.schema).await;
        }
    }

    async fn sqlx_drop(store: &PostgresStore, _schema: &str) {
        store.drop_schema().await.unwrap();
        store.close().await;
    }
}

/// PostgreSQL goes down mid-run (a proxy closes every connection and refuses new ones) and comes back: calls
/// follow the fail mode, and every record is written once it is back.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_follows_fail_mode_and_loses_nothing() {
    use llm_core::mock::MockProvider;
    use llm_core::{ErrorKind, Provider};
    use llm_tracking::{FailMode, Tracker};
    use std::time::Duration;

    let Some(pg) = pg::TestDb::new().await else { return };
    let url = pg.url.clone();
    let (_, hostpath) = url.split_once('@').unwrap_or(("", url.split_once("://").unwrap().1));
    let target = hostpath.split('/').next().unwrap().to_owned();
    let proxy = Proxy::start(target).await;
    let store =
        llm_tracking::store::PostgresStore::connect_with(&via(&url, proxy.addr), Some(&pg.schema), 4).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    store.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(usd("100"))).await.unwrap();
    let mut total = 0u64;
    for mode in [FailMode::Open, FailMode::Closed] {
        let tracker = Tracker::builder()
            .pricer(pricer())
            .store(store.clone())
            .fail_mode(mode)
            .budget_timeout(Duration::from_millis(300))
            .flush_interval(Duration::from_millis(5))
            .build()
            .unwrap();
        let client = tracker.wrap(MockProvider::new());
        for _ in 0..5 {
            client.chat(&request()).await.unwrap();
        }
        tracker.flush().await.unwrap();
        proxy.set_up(false);
        for _ in 0..5 {
            let started = std::time::Instant::now();
            let outcome = client.chat(&request()).await;
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "a call waited for the dead store: {:?}",
                started.elapsed()
            );
            match mode {
                FailMode::Open => assert!(outcome.is_ok()),
                _ => assert_eq!(outcome.unwrap_err().kind(), &ErrorKind::Other("budget_unavailable".into())),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        proxy.set_up(true);
        let persisted = tokio::time::timeout(Duration::from_secs(30), tracker.flush()).await.unwrap().unwrap();
        assert_eq!(persisted, 10, "{:?}", tracker.stats());
        assert!(tracker.stats().write_errors > 0, "the writer saw the outage");
        total += 10;
        assert_eq!(store.count_records().await.unwrap(), total);
        tracker.shutdown().await.unwrap();
    }
    drop(proxy);
    pg.drop().await;
}

/// The same outage on SQLite, simulated by a store wrapper that fails every call while "down".
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_outage_follows_fail_mode_and_loses_nothing() {
    use llm_core::mock::MockProvider;
    use llm_core::{ErrorKind, Provider};
    use llm_tracking::{FailMode, Tracker};
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> =
        Arc::new(llm_tracking::store::SqliteStore::open(dir.path().join("s.db")).await.unwrap());
    let flaky = Flaky::new(sqlite.clone());
    flaky.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(usd("100"))).await.unwrap();
    let mut total = 0;
    for mode in [FailMode::Open, FailMode::Closed] {
        let tracker = Tracker::builder()
            .pricer(pricer())
            .store(flaky.clone())
            .fail_mode(mode)
            .flush_interval(Duration::from_millis(5))
            .build()
            .unwrap();
        let client = tracker.wrap(MockProvider::new());
        client.chat(&request()).await.unwrap();
        tracker.flush().await.unwrap();
        flaky.down.store(true, Ordering::SeqCst);
        for _ in 0..20 {
            let outcome = client.chat(&request()).await;
            match mode {
                FailMode::Open => assert!(outcome.is_ok()),
                _ => assert_eq!(outcome.unwrap_err().kind(), &ErrorKind::Other("budget_unavailable".into())),
            }
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        flaky.down.store(false, Ordering::SeqCst);
        assert_eq!(tracker.flush().await.unwrap(), 21);
        total += 21;
        assert_eq!(sqlite.count_records().await.unwrap(), total);
        tracker.shutdown().await.unwrap();
    }
}

/// A SQLite store that cannot write (a read-only database; a database whose folder was deleted while open,
/// where SQLite would go on writing into the unlinked file) fails `flush` within the writer's bounded retries,
/// saying how many records were lost, instead of hanging or claiming them persisted.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn an_unwritable_sqlite_store_fails_the_flush_in_bounded_time() {
    use llm_core::Provider;
    use llm_core::mock::MockProvider;
    use llm_tracking::Tracker;
    use std::time::{Duration, Instant};

    for case in ["read_only", "folder_deleted"] {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("db");
        std::fs::create_dir(&folder).unwrap();
        let path = folder.join("spend.db");
        llm_tracking::store::SqliteStore::open(&path).await.unwrap().close().await;
        let store = if case == "read_only" {
            llm_tracking::open(&format!("sqlite:{}?mode=ro", path.display())).await.unwrap()
        } else {
            let store = llm_tracking::open(&format!("sqlite:{}", path.display())).await.unwrap();
            std::fs::remove_dir_all(&folder).unwrap();
            store
        };
        let tracker = Tracker::builder()
            .store(store)
            .pricer(pricer())
            .budgets(false)
            .write_retries(3, Duration::from_secs(2))
            .build()
            .unwrap();
        let client = tracker.wrap(MockProvider::new());
        client.chat(&request()).await.unwrap();
        client.chat(&request()).await.unwrap();
        let started = Instant::now();
        let err = tracker.flush().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3), "{case}: {:?}", started.elapsed());
        assert_eq!(err.kind(), &llm_tracking::ErrorKind::Store, "{case}");
        let why = if case == "read_only" {
            "attempt to write a readonly database".to_owned()
        } else {
            format!("the sqlite database {} is gone (the file or its folder was deleted)", path.display())
        };
        let msg = err.to_string();
        assert!(msg.starts_with("store: 2 records were not persisted to the sqlite store: "), "{case}: {msg}");
        assert!(msg.contains(&why), "{case}: {msg}");
        let stats = tracker.stats();
        assert_eq!((stats.records_lost, stats.records_persisted, stats.write_errors), (2, 0, 3), "{case}");
    }
}

/// After the migration to version 4, the `leaky` budget keeps its spend (0.2) and no reservation, and `estimate`
/// can be reserved on it again; returns when and the reservation.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn leaked_sum_is_gone(store: &dyn Store, estimate: Usd) -> (Timestamp, Reservation) {
    let now = Timestamp::now();
    let leaky = store.budgets(now).await.unwrap().remove(0);
    assert_eq!((leaky.spent, leaky.reserved, leaky.reservations), (usd("0.2"), usd("0"), 0));
    let hold = Hold { estimate, now, expires: now.plus_micros(60_000_000) };
    let ReserveOutcome::Reserved(r) = store.reserve(&[Scope::User("leaky".into())], hold).await.unwrap() else {
        panic!("the whole remaining budget is free again")
    };
    (now, r)
}

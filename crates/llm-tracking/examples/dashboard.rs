//! Serves the dashboard over an in-memory store filled with two weeks of synthetic calls.
//!
//! `cargo run -p llm-tracking --features dashboard --example dashboard -- 127.0.0.1:8088`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use llm_core::{Cost, CostBreakdown, CostStatus, Usage};
use llm_tracking::{Budget, CallRecord, Day, MemoryStore, Period, Scope, Store, Timestamp};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8088".into());
    let store = Arc::new(MemoryStore::new());
    let models = [
        ("gpt-4o", "0.0000025", "0.00001"),
        ("claude-sonnet-4-5", "0.000003", "0.000015"),
        ("gpt-4o-mini", "0.00000015", "0.0000006"),
    ];
    let users = ["alice", "bob", "carol", "dave"];
    let today = Day::today();
    let mut batch = Vec::new();
    for d in 0..14i64 {
        let day = today.plus(-d);
        for i in 0..(40 + 7 * (d % 5)) {
            let (model, pin, pout) = models[(i as usize + d as usize) % models.len()];
            let (prompt, completion) = (400 + 37 * (i as u64 % 11), 80 + 13 * (i as u64 % 7));
            let mut b = CostBreakdown::default();
            b.input =
                pin.parse::<llm_core::Usd>()?.amount().checked_mul(prompt.into()).map(Into::into).unwrap_or_default();
            b.output = pout
                .parse::<llm_core::Usd>()?
                .amount()
                .checked_mul(completion.into())
                .map(Into::into)
                .unwrap_or_default();
            let at = Timestamp::from_micros(day.start().as_micros() + i * 600_000_000);
            let mut r = CallRecord::new("openai", model, at)
                .with_usage(Usage::new(prompt, completion))
                .with_cost(Cost::new(CostStatus::Priced, b).with_catalog(model, "demo"))
                .with_user(users[i as usize % users.len()])
                .with_tag(if i % 3 == 0 { "batch" } else { "chat" });
            if i % 2 == 0 {
                r = r.with_team("core");
            }
            batch.push(Arc::new(r));
        }
    }
    store.append(&batch).await?;
    store
        .set_budget(
            &Budget::new(Scope::User("alice".into()), Period::Daily).with_max("0.5".parse()?).with_soft("0.2".parse()?),
        )
        .await?;
    store.set_budget(&Budget::new(Scope::Global, Period::Monthly).with_max("50".parse()?)).await?;
    // Today's spend, as the tracker would have settled it.
    let now = Timestamp::now();
    let spent =
        llm_tracking::Reservation::new(vec![Scope::Global, Scope::User("alice".into())], Default::default(), now, true);
    store.settle(&spent, "0.31".parse()?, now).await?;
    println!("dashboard on http://{addr}/");
    llm_tracking::dashboard::serve_dashboard(store, addr.parse()?).await?;
    Ok(())
}

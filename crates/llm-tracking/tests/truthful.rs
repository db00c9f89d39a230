//! What the stack did to a call reaches its record: retries and why, adjustments, the model group reports use,
//! logical calls beside provider calls, and the pricer a `Tracked` was given.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use futures_util::StreamExt;
use llm_core::mock::{MockError, MockProvider, MockReply};
use llm_core::{
    Adjustment, ChatRequest, ChatResponse, ChatStream, Error, ErrorKind, Provider, ProviderId, Retry, StreamEvent,
};
use llm_tracking::{CallStatus, FixedPricer, GroupBy, MemoryStore, ReportQuery, Store, Tracker};
use serde_json::json;

/// A provider whose answers report two retries and a dropped parameter, and whose errors report the retries
/// made before them: what `llm_providers::ProviderClient` hands a decorator.
struct Retrying {
    id: ProviderId,
    fail: bool,
}

fn retries() -> Vec<Retry> {
    vec![
        Retry::new(1, ErrorKind::RateLimited, Some(429), 500, "slow down"),
        Retry::new(2, ErrorKind::Overloaded, Some(529), 1000, "overloaded"),
    ]
}

#[async_trait]
impl Provider for Retrying {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    async fn chat(&self, request: &ChatRequest) -> llm_core::Result<ChatResponse> {
        if self.fail {
            return Err(Error::new(ErrorKind::RateLimited, "still rate limited")
                .with_status(429)
                .with_retries(retries()));
        }
        let mut r = MockProvider::new().chat(request).await?;
        r.retries = retries();
        r.adjustments = vec![Adjustment::param_dropped("seed", "mock does not take it")];
        Ok(r)
    }

    async fn stream(&self, request: &ChatRequest) -> llm_core::Result<ChatStream> {
        let inner = MockProvider::new().stream(request).await?;
        let call = StreamEvent::Call {
            retries: retries(),
            adjustments: Vec::new(),
            created: Some(1),
            id: None,
            location: None,
        };
        Ok(Box::pin(futures_util::stream::iter([Ok(call)]).chain(inner)))
    }
}

fn memory_tracker() -> (Tracker, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    (Tracker::builder().pricer(pricer()).store(store.clone()).build().unwrap(), store)
}

#[tokio::test]
async fn retries_and_adjustments_reach_the_record() {
    let (tracker, store) = memory_tracker();
    let ok = tracker.wrap(Retrying { id: ProviderId::new("mock"), fail: false });
    let r = ok.chat(&request()).await.unwrap();
    assert_eq!(r.retries.len(), 2);
    ok.chat(&request().with_metadata("retry_attempts", json!(1))).await.unwrap();
    let bad = tracker.wrap(Retrying { id: ProviderId::new("mock"), fail: true });
    let e = bad.chat(&request()).await.unwrap_err();
    assert_eq!(e.retries().len(), 2);
    let streamed = ok.stream(&request()).await.unwrap();
    let collected = llm_core::collect_stream(streamed).await.unwrap();
    assert_eq!(collected.retries, retries(), "the stream's Call event folds into the response");
    tracker.flush().await.unwrap();

    let records = store.records(None, None, 10).await.unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[0].retry_attempts, 2);
    assert_eq!(records[0].retries, retries());
    assert_eq!(records[0].adjustments, vec![Adjustment::param_dropped("seed", "mock does not take it")]);
    assert_eq!(records[1].retry_attempts, 3, "the caller's own count adds to the client's");
    assert_eq!((records[2].status, records[2].retry_attempts), (CallStatus::Failure, 2));
    assert_eq!(records[2].retries[1].status, Some(529));
    assert_eq!((records[3].stream, records[3].retry_attempts), (true, 2));
    // The record's JSON carries them (what stores and exports keep).
    let v = serde_json::to_value(&records[0]).unwrap();
    assert_eq!(v["retries"][0]["kind"], "rate_limited");
    assert_eq!(v["adjustments"][0]["kind"], "param_dropped");
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_models_failures_and_successes_share_one_report_row() {
    let (tracker, store) = memory_tracker();
    // The mock serves "mock/gpt-4o" as "gpt-4o"; a failure never learns the served name.
    let client = tracker.wrap(
        MockProvider::new()
            .with_reply(MockReply::Error(MockError::RateLimited { retry_after: Duration::from_secs(1) }))
            .with_reply(MockReply::text("ok")),
    );
    client.chat(&request()).await.unwrap_err();
    client.chat(&request()).await.unwrap();
    tracker.flush().await.unwrap();
    let records = store.records(None, None, 10).await.unwrap();
    assert_eq!(
        records.iter().map(|r| (r.model.as_str(), r.model_group.as_str())).collect::<Vec<_>>(),
        vec![("mock/gpt-4o", "gpt-4o"), ("gpt-4o", "gpt-4o")],
        "the served name stays on the record; the group is the catalog key of what was asked for"
    );
    let report = store.report(&ReportQuery::new(GroupBy::Model)).await.unwrap();
    assert_eq!(report.rows.len(), 1, "{report:?}");
    assert_eq!((report.rows[0].key.as_str(), report.rows[0].totals.calls), ("gpt-4o", 2));
    assert_eq!(report.rows[0].totals.failures, 1);
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn repair_attempts_are_linked_and_counted_as_one_logical_call() {
    let (tracker, store) = memory_tracker();
    let client = tracker.wrap(MockProvider::new());
    // What llm-schema sends: one trace id, the attempt number.
    for attempt in 0..3 {
        let req = request().with_metadata("trace_id", json!("t-1")).with_metadata("repair_attempts", json!(attempt));
        client.chat(&req).await.unwrap();
    }
    client.chat(&request()).await.unwrap();
    tracker.flush().await.unwrap();
    let records = store.records(None, None, 10).await.unwrap();
    assert_eq!(records.iter().filter(|r| r.trace_id == "t-1").count(), 3);
    assert_eq!(records.iter().map(|r| r.repair_attempts).collect::<Vec<_>>(), vec![0, 1, 2, 0]);
    let report = store.report(&ReportQuery::new(GroupBy::Model)).await.unwrap();
    assert_eq!((report.total.calls, report.total.logical_calls), (4, 2));
    assert_eq!((report.rows[0].totals.calls, report.rows[0].totals.logical_calls), (4, 2));
    tracker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_tracked_providers_own_pricer_prices_and_estimates() {
    let (tracker, store) = memory_tracker();
    // The tracker's pricer charges $1/M input; this provider's charges $10/M.
    let own = FixedPricer::new().with_model("gpt-4o", usd("0.00001"), usd("0.00002"));
    let client = tracker.wrap(MockProvider::new()).with_pricer(Arc::new(own));
    let r = client.chat(&request()).await.unwrap();
    // 10 prompt tokens at $10/M + 7 completion tokens at $20/M.
    assert_eq!(r.cost.as_ref().and_then(|c| c.total()).unwrap().to_string(), "0.00024");
    tracker.flush().await.unwrap();
    let records = store.records(None, None, 10).await.unwrap();
    assert_eq!(records[0].spend.to_string(), "0.00024");
    tracker.shutdown().await.unwrap();
}

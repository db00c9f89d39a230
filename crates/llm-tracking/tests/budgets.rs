//! Budgets under failure, cancellation, dead processes, long replies, CJK prompts, unpriced models, the
//! `max_tokens` cap and the mid-stream cutoff, over real SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use futures_util::StreamExt;
use llm_core::mock::{MockError, MockProvider, MockReply};
use llm_core::{ChatRequest, ChatResponse, ChatStream, ErrorKind, Message, Provider, ProviderId, Usage, Usd};
use llm_tracking::store::SqliteStore;
use llm_tracking::{
    Budget, BudgetStatus, CallStatus, Period, Rates, Scope, Store, TokenEstimate, Tracker, UnpricedPolicy,
};

/// A provider that writes as long as it may: `max_tokens` one-token words when the request sets it (unless it
/// ignores it), else the model's output limit, and reports exactly that usage (prompt: one token per
/// character, as a CJK prompt tokenizes). Waits `delay` first, and keeps the `max_tokens` it was sent.
struct Long {
    id: ProviderId,
    limit: u32,
    ignore_max: bool,
    delay: Duration,
    seen: Mutex<Vec<Option<u32>>>,
}

impl Long {
    fn new(limit: u32) -> Self {
        Self { id: "mock".into(), limit, ignore_max: false, delay: Duration::ZERO, seen: Mutex::default() }
    }

    fn reply(&self, request: &ChatRequest) -> MockProvider {
        self.seen.lock().unwrap().push(request.max_tokens);
        let n = if self.ignore_max { self.limit } else { request.max_tokens.unwrap_or(self.limit).min(self.limit) };
        let prompt: u64 = request.messages.iter().map(|m| m.text().chars().count() as u64).sum();
        MockProvider::new()
            .with_reply(MockReply::TextWithUsage("word ".repeat(n as usize), Usage::new(prompt, n.into())))
    }
}

#[async_trait]
impl Provider for Long {
    fn id(&self) -> &ProviderId {
        &self.id
    }
    async fn chat(&self, request: &ChatRequest) -> llm_core::Result<ChatResponse> {
        tokio::time::sleep(self.delay).await;
        self.reply(request).chat(request).await
    }
    async fn stream(&self, request: &ChatRequest) -> llm_core::Result<ChatStream> {
        tokio::time::sleep(self.delay).await;
        self.reply(request).stream(request).await
    }
}

async fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(dir.path().join("spend.db")).await.unwrap())
}

async fn status(tracker: &Tracker, scope: &Scope) -> BudgetStatus {
    tracker.flush().await.unwrap();
    tracker.budgets().await.unwrap().into_iter().find(|b| &b.budget.scope == scope).unwrap()
}

/// "Hello there" with max_tokens 50 at $1/M in, $2/M out: 9 prompt tokens (gpt-4o's tokenizer: 2 for the text, 1
/// for the role, 3 for the message and 3 for the reply, as LiteLLM's token_counter counts) and 50 output tokens.
const ESTIMATE: &str = "0.000109";

/// Every way a call can fail or be abandoned releases its reservation: `reserved` is back to 0 with no live
/// reservation, and the next call fits. A failure settles nothing; a stream cut off without usage and a
/// cancelled call settle their estimate (they were sent and may be billed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_cancelled_calls_release_their_reservations() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir).await;
    let tracker = Tracker::builder().store(store).pricer(pricer()).build().unwrap();
    // Room for two estimates: without the release, the failed call's estimate would stay and the next call
    // plus one more would not fit.
    for (case, spent) in [
        ("chat_error", "0"),
        ("stream_open_error", "0"),
        ("stream_error_midway", ESTIMATE),
        ("stream_dropped", ESTIMATE),
        ("chat_cancelled", ESTIMATE),
    ] {
        let scope = Scope::Tag(case.into());
        tracker.set_budget(&Budget::new(scope.clone(), Period::Total).with_max(usd("0.00025"))).await.unwrap();
        let req = request().with_tag(case);
        match case {
            "chat_error" => {
                let client = tracker.wrap(MockProvider::new().with_reply(MockReply::Error(MockError::ContextLength)));
                assert_eq!(client.chat(&req).await.unwrap_err().kind(), &ErrorKind::ContextLength);
            }
            "stream_open_error" => {
                let client = tracker.wrap(MockProvider::new().with_reply(MockReply::Error(MockError::Auth)));
                assert_eq!(client.stream(&req).await.err().unwrap().kind(), &ErrorKind::Auth);
            }
            "stream_error_midway" => {
                let client = tracker.wrap(MockProvider::new().with_reply(MockReply::TruncatedStream("a b c d".into())));
                let events: Vec<_> = client.stream(&req).await.unwrap().collect().await;
                assert!(events.last().unwrap().is_err());
            }
            "stream_dropped" => {
                let client = tracker.wrap(MockProvider::new().with_reply(MockReply::text("one two three four")));
                let mut stream = client.stream(&req).await.unwrap();
                stream.next().await.unwrap().unwrap();
                drop(stream);
            }
            _ => {
                let client = tracker.wrap(Slow { inner: MockProvider::new(), delay: Duration::from_secs(30) });
                let gave_up = tokio::time::timeout(Duration::from_millis(100), client.chat(&req)).await;
                assert!(gave_up.is_err(), "the call was still in flight");
            }
        }
        let s = status(&tracker, &scope).await;
        assert_eq!((s.reserved, s.reservations, s.spent), (usd("0"), 0, usd(spent)), "{case}");
        let client = tracker.wrap(MockProvider::new());
        client.chat(&req).await.unwrap_or_else(|e| panic!("{case}: the next call was refused: {e}"));
        assert_eq!(status(&tracker, &scope).await.reserved, usd("0"), "{case}");
    }
    tracker.flush().await.unwrap();
    let records = tracker.store().records(None, None, 100).await.unwrap();
    let cancelled = records.iter().find(|r| r.tags == ["chat_cancelled"]).unwrap();
    assert_eq!(
        (cancelled.status, cancelled.error_kind.as_deref(), cancelled.reserved),
        (CallStatus::Cancelled, Some("cancelled"), Some(usd(ESTIMATE)))
    );
}

/// A process killed mid-call never settles: its reservation holds until its lease ends, then stops counting
/// and is reclaimed by the next reservation (another process on the same file sees it too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_processs_reservation_is_reclaimed_after_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir).await;
    let lease = Duration::from_millis(400);
    let dying = Tracker::builder().store(store).pricer(pricer()).reservation_lease(lease).build().unwrap();
    let scope = Scope::User("lease".into());
    dying.set_budget(&Budget::new(scope.clone(), Period::Daily).with_max(usd("0.00015"))).await.unwrap();
    let req = request().with_user("lease");
    // The call is in flight, then its process "dies": the future is never dropped, so nothing settles.
    let client = dying.wrap(Slow { inner: MockProvider::new(), delay: Duration::from_secs(3600) });
    let mut call = Box::pin(client.chat(&req));
    assert!(tokio::time::timeout(Duration::from_millis(50), &mut call).await.is_err());
    std::mem::forget(call);
    let started = llm_tracking::Timestamp::now();

    let other = Tracker::builder().store(sqlite(&dir).await).pricer(pricer()).build().unwrap();
    let held = status(&other, &scope).await;
    assert_eq!((held.reserved, held.reservations), (usd(ESTIMATE), 1));
    let expiry = held.earliest_expiry.unwrap();
    assert!(expiry > started && expiry.as_micros() - started.as_micros() <= 400_000, "{expiry}");
    let client = other.wrap(MockProvider::new());
    assert_eq!(client.chat(&req).await.unwrap_err().kind(), &ErrorKind::BudgetExceeded);

    tokio::time::sleep(lease).await;
    let s = status(&other, &scope).await;
    assert_eq!((s.reserved, s.reservations, s.earliest_expiry), (usd("0"), 0, None), "expired: no longer counted");
    let resp = client.chat(&req).await.unwrap();
    let s = status(&other, &scope).await;
    assert_eq!((s.reserved, s.reservations, s.spent), (usd("0"), 0, resp.cost.unwrap().total().unwrap()));
}

/// Without `max_tokens` the estimate assumes the model's output limit (from the pricer), so 20 concurrent
/// calls whose replies run to that limit cannot take spend past the hard limit. (The old estimate assumed
/// 1,024 tokens and let all 20 through: $0.16 against $0.10.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_replies_without_max_tokens_stay_under_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let pricer = pricer().with_max_output_tokens("gpt-4o", 4000);
    let tracker = Tracker::builder().store(sqlite(&dir).await).pricer(pricer).build().unwrap();
    tracker.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(usd("0.10"))).await.unwrap();
    let mut long = Long::new(4000);
    long.delay = Duration::from_millis(200);
    let client = Arc::new(tracker.wrap(long));
    let req = ChatRequest::new("mock/gpt-4o", vec![Message::user("Write a long essay.")]);
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (client, req) = (client.clone(), req.clone());
            tokio::spawn(async move { client.chat(&req).await })
        })
        .collect();
    let mut ok = 0;
    for c in calls {
        match c.await.unwrap() {
            Ok(r) => {
                assert_eq!(r.usage.unwrap().completion_tokens, 4000);
                ok += 1;
            }
            Err(e) => assert_eq!(e.kind(), &ErrorKind::BudgetExceeded),
        }
    }
    // "Write a long essay." is 19 ASCII characters: 5 tokens, plus 4 for the message and 3: 12 tokens.
    let estimate = usd("0.000012") + usd("0.008");
    assert_eq!(ok, 12, "floor(0.10 / {estimate})");
    let s = status(&tracker, &Scope::Global).await;
    assert_eq!((s.spent, s.reserved), (Usd::new(usd("0.008019").amount() * rust_decimal::Decimal::from(12)), usd("0")));
    assert!(s.spent <= usd("0.10"));
    let records = tracker.store().records(None, None, 100).await.unwrap();
    let succeeded: Vec<_> = records.iter().filter(|r| r.status == CallStatus::Success).collect();
    assert_eq!(succeeded.len(), 12);
    assert!(succeeded.iter().all(|r| r.reserved == Some(estimate)), "{:?}", succeeded[0].reserved);
}

/// Without a tokenizer ([`TokenEstimate::Characters`], and for models whose tokenizer is not compiled in), a CJK
/// prompt is estimated at one token per character (a quarter of that before), so its reservation covers what a
/// tokenizer counts.
#[tokio::test]
async fn cjk_prompts_are_estimated_a_token_per_character() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::builder()
        .store(sqlite(&dir).await)
        .pricer(pricer())
        .token_estimate(TokenEstimate::Characters)
        .build()
        .unwrap();
    tracker.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(usd("1"))).await.unwrap();
    let text = "漢字の文章を書いてください。".repeat(20); // 280 characters
    assert_eq!(llm_tracking::count_tokens(&text), 280);
    assert_eq!(llm_tracking::count_tokens("abcdefgh 漢"), 3 + 1);
    let req = ChatRequest::new("mock/gpt-4o", vec![Message::user(text)]).with_max_tokens(10);
    let resp = tracker.wrap(Long::new(4000)).chat(&req).await.unwrap();
    assert_eq!(resp.usage.unwrap().prompt_tokens, 280);
    tracker.flush().await.unwrap();
    let record = tracker.store().records(None, None, 10).await.unwrap().remove(0);
    // (280 + 4 + 3) input tokens at $1/M, 10 output tokens at $2/M.
    assert_eq!(record.reserved, Some(usd("0.000307")));
    assert!(record.reserved.unwrap() >= resp.cost.unwrap().total().unwrap());
}

/// A model without a price: `Allow` lets it bypass the budget (documented), `Refuse` refuses it before it is
/// sent, `CountAt` reserves and settles it at the configured rates.
#[tokio::test]
async fn unpriced_models_follow_the_policy() {
    let req = ChatRequest::new("mock/private-llm", vec![Message::user("Hello there")]).with_max_tokens(50);
    for policy in [
        UnpricedPolicy::Allow,
        UnpricedPolicy::Refuse,
        UnpricedPolicy::CountAt(Rates::new(usd("0.00001"), usd("0.00002"))),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tracker = Tracker::builder().store(sqlite(&dir).await).pricer(pricer()).unpriced(policy).build().unwrap();
        tracker.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(usd("0.01"))).await.unwrap();
        let client = tracker.wrap(Long::new(4000));
        let outcome = client.chat(&req).await;
        let s = status(&tracker, &Scope::Global).await;
        match policy {
            UnpricedPolicy::Allow => {
                assert!(outcome.is_ok());
                assert_eq!((s.spent, s.reserved), (usd("0"), usd("0")), "counted at nothing");
            }
            UnpricedPolicy::Refuse => {
                let err = outcome.unwrap_err();
                assert_eq!(err.kind(), &ErrorKind::BudgetExceeded);
                assert!(err.message().contains("model mock/private-llm has no price"), "{err}");
                assert!(client.inner().seen.lock().unwrap().is_empty(), "never sent");
                assert_eq!((s.spent, s.reserved, s.reservations), (usd("0"), usd("0"), 0));
            }
            _ => {
                // Usage: 11 prompt characters, 50 output tokens at $10/M and $20/M.
                assert!(outcome.is_ok());
                assert_eq!((s.spent, s.reserved), (usd("0.00111"), usd("0")));
                let record = tracker.store().records(None, None, 1).await.unwrap().remove(0);
                // Estimate: 10 prompt tokens, 50 output tokens.
                assert_eq!(record.reserved, Some(usd("0.0011")));
            }
        }
    }
}

/// With `cap_max_tokens`, a call without `max_tokens` that the budget cannot pay in full is sent with the
/// output tokens the remaining budget affords, and the response says so.
#[tokio::test]
async fn max_tokens_is_capped_to_the_remaining_budget() {
    let dir = tempfile::tempdir().unwrap();
    let pricer = pricer().with_max_output_tokens("gpt-4o", 4000);
    let req = ChatRequest::new("mock/gpt-4o", vec![Message::user("Hello there")]);
    for cap in [false, true] {
        let tracker =
            Tracker::builder().store(sqlite(&dir).await).pricer(pricer.clone()).cap_max_tokens(cap).build().unwrap();
        let scope = Scope::Tag(format!("cap-{cap}"));
        tracker.set_budget(&Budget::new(scope.clone(), Period::Total).with_max(usd("0.002"))).await.unwrap();
        let client = tracker.wrap(Long::new(4000));
        let outcome = client.chat(&req.clone().with_tag(format!("cap-{cap}"))).await;
        if !cap {
            assert_eq!(outcome.unwrap_err().kind(), &ErrorKind::BudgetExceeded, "4,000 tokens do not fit");
            continue;
        }
        let resp = outcome.unwrap();
        // $0.002 left, 9 prompt tokens ($0.000009): (0.002 - 0.000009) / $0.000002 = 995.5, so 995 output tokens.
        assert_eq!(client.inner().seen.lock().unwrap().as_slice(), [Some(995)]);
        let a = &resp.adjustments[0];
        assert_eq!((a.kind.as_str(), a.param.as_deref()), ("param_capped", Some("max_tokens")));
        assert_eq!(
            a.detail,
            "unset (the model's 4000) capped to 995: what is left under the budget ($0.002) pays for no more"
        );
        let s = status(&tracker, &scope).await;
        assert_eq!((s.spent, s.reserved), (usd("0.002001"), usd("0")), "11 prompt tokens reported, 995 output");
    }
}

/// A streamed call whose model writes past its `max_tokens` is cut off with `BudgetExceeded` once its running
/// cost passes what its hard limit had left, and the budget is charged that running cost.
#[tokio::test]
async fn a_stream_past_the_remaining_budget_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::builder().store(sqlite(&dir).await).pricer(pricer()).build().unwrap();
    tracker.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(usd("0.002"))).await.unwrap();
    let mut long = Long::new(4000);
    long.ignore_max = true;
    let client = tracker.wrap(long);
    let mut stream = client.stream(&request()).await.unwrap();
    let mut words = 0;
    let err = loop {
        match stream.next().await.unwrap() {
            Ok(llm_core::StreamEvent::TextDelta { .. }) => words += 1,
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), &ErrorKind::BudgetExceeded);
    assert!(stream.next().await.is_none(), "the stream ended");
    drop(stream);
    // "word " is 5 ASCII characters: 796 words (3,980 characters, 995 tokens) and 9 prompt tokens cost $0.001999;
    // the 797th word (997 tokens, $0.002003) passes $0.002 and is not delivered.
    assert_eq!(words, 796);
    let s = status(&tracker, &Scope::Global).await;
    assert_eq!((s.spent, s.reserved), (usd("0.002003"), usd("0")));
    let record = tracker.store().records(None, None, 1).await.unwrap().remove(0);
    assert_eq!((record.status, record.error_kind.as_deref()), (CallStatus::Failure, Some("budget_exceeded")));
}

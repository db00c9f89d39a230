//! [`Tracked<P>`]: the decorator that prices, budgets and records every call of a provider.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use async_trait::async_trait;
use futures_core::Stream;
use llm_core::{
    Adjustment, AdjustmentKind, ChatRequest, ChatResponse, ChatStream, Cost, EmbeddingRequest, EmbeddingResponse,
    Error, ErrorKind, Provider, ProviderId, StreamAssembler, StreamEvent, Usd,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::budget::{Reservation, Scope, UnpricedPolicy, scopes_for};
use crate::hooks::{HookEvent, StartEvent, StreamChunk};
use crate::pricing::{Pricer, Rates};
use crate::record::{CallContent, CallParams, CallRecord, CallStatus, CallType, new_id_at};
use crate::time::Timestamp;
use crate::tracker::{ReserveError, Tracker};

/// Metadata keys [`Tracked`] reads from [`ChatRequest::metadata`] into record fields (and removes from the
/// record's `metadata`): `user`, `team`, `project`, `end_user`, `trace_id`, `retry_attempts`,
/// `repair_attempts`.
pub const KNOWN_METADATA: [&str; 8] =
    ["user", "team", "project", "end_user", "trace_id", "retry_attempts", "repair_attempts", "model_group"];

/// A provider whose calls are priced with the tracker's pricer (the cost is attached to every response as
/// `response.cost`), checked against budgets before they are sent, settled after, and recorded (one
/// [`CallRecord`] per call, to the hooks and the store). Streams are wrapped: the record is emitted when the
/// stream ends, fails, or is dropped midway.
///
/// A call refused by a hard budget fails with [`ErrorKind::BudgetExceeded`] before anything is sent; with
/// [`crate::FailMode::Closed`], a call whose budgets cannot be checked fails with
/// `ErrorKind::Other("budget_unavailable")`.
#[derive(Clone)]
pub struct Tracked<P> {
    inner: P,
    tracker: Tracker,
    pricer: Option<Arc<dyn Pricer>>,
    key_fingerprint: Option<Arc<str>>,
    defaults: Option<Arc<Defaults>>,
}

impl<P: std::fmt::Debug> std::fmt::Debug for Tracked<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracked")
            .field("inner", &self.inner)
            .field("tracker", &self.tracker)
            .field("own_pricer", &self.pricer.is_some())
            .field("key_fingerprint", &self.key_fingerprint)
            .field("defaults", &self.defaults)
            .finish()
    }
}

/// Attribution for calls whose request does not carry its own (see [`Tracked::with_defaults`]).
#[derive(Debug, Default)]
struct Defaults {
    user: Option<String>,
    team: Option<String>,
    tags: Vec<String>,
}

impl<P: Provider> Tracked<P> {
    /// Wraps `inner`, recording into `tracker`.
    pub fn new(inner: P, tracker: Tracker) -> Self {
        Self { inner, tracker, pricer: None, key_fingerprint: None, defaults: None }
    }

    /// Attributes calls to `user` and `team` unless their request names its own in `metadata["user"]` /
    /// `metadata["team"]` (a default user also comes before `request.user`), and adds `tags` after the
    /// request's own (each once). Records, budget scopes and hooks see the result; the request itself, and so
    /// what is sent, is unchanged. This is how `llm::Client`'s `user`, `team` and `tag` settings apply.
    #[must_use]
    pub fn with_defaults(mut self, user: Option<String>, team: Option<String>, tags: Vec<String>) -> Self {
        self.defaults =
            (user.is_some() || team.is_some() || !tags.is_empty()).then(|| Arc::new(Defaults { user, team, tags }));
        self
    }

    /// Prices and estimates this provider's calls with `pricer` instead of the tracker's (`llm::Client` passes a
    /// [`crate::CatalogPricer`] over its own catalog, so the client's catalog prices everything it does).
    #[must_use]
    pub fn with_pricer(mut self, pricer: Arc<dyn Pricer>) -> Self {
        self.pricer = Some(pricer);
        self
    }

    /// The pricer of this provider's calls: its own ([`Tracked::with_pricer`]) or the tracker's.
    pub fn pricer(&self) -> &Arc<dyn Pricer> {
        self.pricer.as_ref().unwrap_or(&self.tracker.inner.pricer)
    }

    /// Records calls as made with this API key: only its fingerprint is kept, and budgets on `key:FINGERPRINT`
    /// apply.
    #[must_use]
    pub fn with_api_key(mut self, key: &llm_core::ApiKey) -> Self {
        self.key_fingerprint = Some(self.tracker.key_fingerprint(key).into());
        self
    }

    /// Records calls under this key fingerprint (as [`llm_core::ApiKey::fingerprint`] computes it).
    #[must_use]
    pub fn with_key_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.key_fingerprint = Some(fingerprint.into().into());
        self
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The tracker.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    fn begin(&self, request: &ChatRequest, stream: bool) -> Call {
        let start = Start {
            model: request.model.as_str(),
            metadata: &request.metadata,
            user: request.user.as_ref(),
            tags: &request.tags,
            stream,
            // the facade marks a direct Responses API call in its metadata (`llm::client::CALL_TYPE`)
            call_type: match request.metadata.get("call_type").and_then(serde_json::Value::as_str) {
                Some("responses") => CallType::Responses,
                _ => CallType::Chat,
            },
            params: CallParams::of(request),
            content: Some(request),
        };
        self.begin_call(&start)
    }

    /// A call's state from what its request says of it (attribution, model, content when logged).
    fn begin_call(&self, req: &Start<'_>) -> Call {
        let stream = req.stream;
        let meta = req.metadata;
        let text = |k: &str| -> Option<String> {
            match meta.get(k)? {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        };
        let count = |k: &str| meta.get(k).and_then(Value::as_u64).map_or(0, |n| n.min(u64::from(u32::MAX)) as u32);
        let defaults = self.defaults.as_deref();
        let user = text("user").or_else(|| defaults.and_then(|d| d.user.clone())).or_else(|| req.user.cloned());
        let team = text("team").or_else(|| defaults.and_then(|d| d.team.clone()));
        let mut tags = req.tags.to_vec();
        for t in defaults.map_or(&[][..], |d| &d.tags[..]) {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        let project = text("project");
        let end_user = text("end_user").or_else(|| req.user.cloned());
        let start = Timestamp::now();
        let id = new_id_at(start);
        let trace_id = text("trace_id").unwrap_or_else(|| id.clone());
        // Scopes matter only to budgets.
        let scopes = if self.tracker.inner.budgets {
            scopes_for(user.as_deref(), team.as_deref(), project.as_deref(), self.key_fingerprint.as_deref(), &tags)
        } else {
            Vec::new()
        };
        let requested_model = req.model;
        // Unknown to the pricer: the requested name without the serving provider's own prefix (or the mock's).
        // A router names the group it routed the call for (LiteLLM's `model_group`); else the catalog key.
        let routed_group = text("model_group");
        let model_group = routed_group.unwrap_or_else(|| {
            self.pricer().model_key(self.inner.id(), requested_model).unwrap_or_else(|| {
                let provider = self.inner.id().as_str();
                let bare = [provider, "mock"]
                    .iter()
                    .find_map(|p| requested_model.strip_prefix(p).and_then(|m| m.strip_prefix('/')));
                bare.unwrap_or(requested_model).to_owned()
            })
        });
        let mut metadata = BTreeMap::new();
        if !meta.is_empty() {
            for (k, v) in meta {
                if !KNOWN_METADATA.contains(&k.as_str()) {
                    // A W3C trace context is ids, not a secret: kept as it is (span exports parent on it).
                    let kept = match v {
                        Value::String(s) if k == "traceparent" && is_traceparent(s) => v.clone(),
                        _ => redact_value(v),
                    };
                    metadata.insert(k.clone(), kept);
                }
            }
        }
        let log_content = self.tracker.inner.log_content;
        let call = Call {
            id,
            trace_id,
            start,
            started: Instant::now(),
            provider: self.inner.id().clone(),
            requested_model: requested_model.to_owned(),
            model_group,
            stream,
            call_type: req.call_type,
            params: req.params,
            user,
            team,
            project,
            end_user,
            tags,
            key_fingerprint: self.key_fingerprint.as_deref().map(str::to_owned),
            metadata,
            retry_attempts: count("retry_attempts"),
            repair_attempts: count("repair_attempts"),
            messages: req.content.filter(|_| log_content).map(|r| r.messages.clone()),
            scopes,
            span: tracing::info_span!(
                "gen_ai.chat",
                otel.name = %format_args!("{} {requested_model}", req.call_type.operation()),
                gen_ai.operation.name = req.call_type.operation(),
                gen_ai.provider.name = %self.inner.id(),
                gen_ai.request.model = %requested_model,
                gen_ai.request.max_tokens = req.params.max_tokens,
                gen_ai.response.model = tracing::field::Empty,
                gen_ai.response.id = tracing::field::Empty,
                gen_ai.usage.input_tokens = tracing::field::Empty,
                gen_ai.usage.output_tokens = tracing::field::Empty,
                gen_ai.usage.cost_usd = tracing::field::Empty,
                gen_ai.usage.cost_status = tracing::field::Empty,
                llm.call_id = tracing::field::Empty,
                llm.stream = stream,
                llm.retries = tracing::field::Empty,
                llm.latency_ms = tracing::field::Empty,
                llm.status = tracing::field::Empty,
                error.type = tracing::field::Empty,
            ),
        };
        if self.tracker.inner.hooks.wants_before_call() {
            self.tracker.inner.hooks.send(&HookEvent::Before(Arc::new(StartEvent::new(
                [&call.id, &call.trace_id, call.provider.as_str(), &call.requested_model],
                stream,
                call.start,
                req.content.filter(|_| log_content).map(|r| Box::new(r.clone())),
            ))));
        }
        call
    }

    /// Prices a finished call, attaches the cost, emits its record; returns what the caller gets and the amount
    /// to settle.
    fn after_call(
        &self,
        call: &mut Call,
        request: &ChatRequest,
        estimate: Usd,
        reservation: &Option<Reservation>,
        result: llm_core::Result<ChatResponse>,
    ) -> (llm_core::Result<ChatResponse>, Usd) {
        let reserved = reserved_of(reservation.as_ref());
        match result {
            Ok(mut response) => {
                let cost = match response.cost.clone() {
                    Some(c) => c,
                    None => self.pricer().price(&call.provider, request, &response),
                };
                response.cost = Some(cost.clone());
                let amount = self.tracker.settle_amount(&cost, response.usage.as_ref(), estimate);
                self.tracker.emit(call.success_record(&response, cost, CallStatus::Success, None, reserved));
                (Ok(response), amount)
            }
            Err(err) => {
                self.tracker.emit(call.failure_record(&err, None, reserved, None));
                (Err(err), Usd::ZERO)
            }
        }
    }

    /// The reservation when it needs no store: budgets off, or every scope known to have no budget (nothing is
    /// reserved or settled for those, so no estimate either).
    fn reserve_without_store(&self, call: &Call) -> Option<Admitted> {
        if !self.tracker.inner.budgets {
            return Some(Admitted { reservation: None, estimate: Usd::ZERO, capped: None });
        }
        self.tracker.known_unbudgeted(&call.scopes).then(|| Admitted {
            reservation: Some(Reservation::new(Vec::new(), Usd::ZERO, call.start, false)),
            estimate: Usd::ZERO,
            capped: None,
        })
    }

    /// [`Tracked::reserve`] without the store when it can. The store's path is boxed, so a call's future does
    /// not carry that path's state (it kept the future of every call above malloc's small-block sizes).
    async fn reserve_fast(&self, call: &mut Call, request: &ChatRequest) -> Result<Admitted, Error> {
        match self.reserve_without_store(call) {
            Some(r) => Ok(r),
            None => Box::pin(self.reserve(call, request)).await,
        }
    }

    /// The request with `max_tokens` capped to what the tightest hard budget of the call's scopes still affords
    /// ([`crate::TrackerBuilder::cap_max_tokens`]); `None` when no cap applies.
    async fn capped(&self, call: &Call, request: &ChatRequest) -> Option<Capped> {
        let tracker = &self.tracker;
        let pricer = self.pricer().as_ref();
        let rates = tracker.rates(pricer, &call.provider, request.model.as_str())?;
        if rates.output_per_token.is_zero() {
            return None;
        }
        let headroom = tracker.headroom(&call.scopes).await?;
        let prompt = rates.cost_of(tracker.prompt_tokens(&call.provider, request), 0);
        let left = headroom.amount().checked_sub(prompt.amount())?;
        let per_token = rates.output_per_token.amount().checked_mul(Decimal::from(request.n.unwrap_or(1).max(1)))?;
        let afford = left.checked_div(per_token)?.floor().to_u64()?;
        let planned = tracker.output_tokens(pricer, &call.provider, request);
        if afford == 0 || afford >= planned {
            return None;
        }
        let afford = u32::try_from(afford).unwrap_or(u32::MAX);
        let mut capped = request.clone();
        capped.max_tokens = Some(afford);
        let mut adjustment = Adjustment::new(AdjustmentKind::from("param_capped"));
        adjustment.param = Some("max_tokens".into());
        adjustment.detail = format!(
            "{} capped to {afford}: what is left under the budget (${headroom}) pays for no more",
            request.max_tokens.map_or_else(|| format!("unset (the model's {planned})"), |m| m.to_string())
        );
        Some(Capped { request: Box::new(capped), adjustment })
    }

    /// Estimates and reserves; on refusal emits the failure record and returns the error to give the caller.
    async fn reserve(&self, call: &mut Call, request: &ChatRequest) -> Result<Admitted, Error> {
        if let Some(r) = self.reserve_without_store(call) {
            return Ok(r);
        }
        let capped = if self.tracker.inner.cap_max_tokens { self.capped(call, request).await } else { None };
        let sent = capped.as_ref().map_or(request, |c| &c.request);
        let estimate = self.tracker.estimate(self.pricer().as_ref(), &call.provider, sent);
        let reservation = self.admit(call, estimate, request.model.as_str()).await?;
        Ok(Admitted { reservation, estimate, capped })
    }

    /// Reserves `estimate` against the call's budgets; on refusal emits the failure record and returns the error
    /// to give the caller.
    async fn admit(&self, call: &mut Call, estimate: Usd, model: &str) -> Result<Option<Reservation>, Error> {
        match self.tracker.reserve(&call.scopes, estimate, call.start).await {
            Ok(r) => {
                let refuse_unpriced = self.tracker.inner.unpriced == UnpricedPolicy::Refuse
                    && r.as_ref().is_some_and(|r| r.budgeted)
                    && self.tracker.rates(self.pricer().as_ref(), &call.provider, model).is_none();
                if refuse_unpriced {
                    let scopes = call.scopes.clone();
                    self.tracker.settle_after_call(r, &scopes, Usd::ZERO).await;
                    self.tracker.inner.counters.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let err = Error::new(
                        ErrorKind::BudgetExceeded,
                        format!(
                            "model {} has no price, so a budget cannot bound it, and the tracker refuses unpriced \
                             models under a budget (UnpricedPolicy::Refuse)",
                            call.requested_model
                        ),
                    )
                    .with_provider(call.provider.clone())
                    .with_model(call.requested_model.as_str());
                    self.tracker.emit(call.failure_record(&err, None, None, None));
                    return Err(err);
                }
                Ok(r)
            }
            Err(ReserveError::Refused(refusal)) => {
                let err = Error::new(
                    ErrorKind::BudgetExceeded,
                    format!(
                        "budget exceeded: {} {} limit ${}, committed ${}, this call's estimate ${}",
                        refusal.scope, refusal.period, refusal.max_usd, refusal.committed, refusal.estimate
                    ),
                )
                .with_provider(call.provider.clone())
                .with_model(call.requested_model.as_str());
                self.tracker.emit(call.failure_record(&err, None, None, None));
                Err(err)
            }
            Err(ReserveError::Unavailable(e)) => {
                let err = Error::new(
                    ErrorKind::Other("budget_unavailable".into()),
                    format!("budget store unreachable and fail mode is closed: {e}"),
                )
                .with_provider(call.provider.clone())
                .with_model(call.requested_model.as_str());
                self.tracker.emit(call.failure_record(&err, None, None, None));
                Err(err)
            }
        }
    }
}

/// What a call was admitted with: its reservation, its estimate, and the request to send when its
/// `max_tokens` was capped.
struct Admitted {
    reservation: Option<Reservation>,
    estimate: Usd,
    capped: Option<Capped>,
}

/// A request whose `max_tokens` was capped to the budget, and the adjustment that reports it.
struct Capped {
    request: Box<ChatRequest>,
    adjustment: Adjustment,
}

/// A chat call in flight: if its future is dropped (the caller gave up, a timeout, Ctrl-C in an async
/// handler), the call is recorded as `cancelled` and its reservation settled at its estimate (the request
/// was sent and may be billed) on a background task.
///
/// It borrows the call's state rather than owning it, so a call's (large) state is not moved in and out of the
/// guard on every call.
struct InFlight<'a> {
    tracker: &'a Tracker,
    call: &'a mut Call,
    reservation: &'a mut Option<Reservation>,
    estimate: Usd,
    armed: bool,
}

impl InFlight<'_> {
    /// The call finished: nothing to do on drop.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let call = &mut *self.call;
        let reservation = self.reservation.take();
        let reserved = reserved_of(reservation.as_ref());
        let mut r = call.base_record(CallStatus::Cancelled, None, reserved);
        r.error_kind = Some("cancelled".into());
        r.error_message = Some("the call was cancelled before its response arrived".into());
        call.record_span(&r);
        if self.tracker.settles(reservation.as_ref(), false) {
            self.tracker.settle_in_background(reservation, std::mem::take(&mut call.scopes), self.estimate);
        }
        self.tracker.emit(r);
    }
}

/// The cost of a streamed call, known once the stream ends (or fails, or is dropped): see
/// [`Tracked::stream_priced`].
#[derive(Debug)]
pub struct StreamCost(oneshot::Receiver<Cost>);

impl StreamCost {
    /// Waits for the stream to end and returns its priced cost; `None` when the call never got priced (the
    /// tracker's task was gone).
    pub async fn get(self) -> Option<Cost> {
        self.0.await.ok()
    }

    /// The cost if the stream already ended, without waiting.
    pub fn try_get(&mut self) -> Option<Cost> {
        self.0.try_recv().ok()
    }
}

impl<P: Provider> Tracked<P> {
    /// Like [`Provider::stream`], plus a handle that yields the call's priced cost once the stream has ended
    /// (a `ChatStream` has no place for it: `StreamEvent` carries provider events only).
    pub async fn stream_priced(&self, request: &ChatRequest) -> llm_core::Result<(ChatStream, StreamCost)> {
        let (tx, rx) = oneshot::channel();
        let stream = self.open_stream(request, Some(tx)).await?;
        Ok((stream, StreamCost(rx)))
    }

    async fn open_stream(
        &self,
        request: &ChatRequest,
        cost_tx: Option<oneshot::Sender<Cost>>,
    ) -> llm_core::Result<ChatStream> {
        let mut call = self.begin(request, true);
        let Admitted { reservation, estimate, capped } = self.reserve(&mut call, request).await?;
        let (request, adjustment) = match capped {
            Some(c) => (*c.request, Some(c.adjustment)),
            None => (request.clone(), None),
        };
        // A hard limit applies: the stream is cut off once its running cost passes what was left under it.
        let limit = reservation.as_ref().and_then(|r| r.headroom).and_then(|headroom| {
            let rates = self.tracker.rates(self.pricer().as_ref(), &call.provider, request.model.as_str())?;
            let prompt_tokens = self.tracker.prompt_tokens(&call.provider, &request);
            Some(StreamLimit { headroom, rates, prompt_tokens, ascii: 0, other: 0 })
        });
        let mut reservation = reservation;
        let span = call.span.clone();
        let guard =
            InFlight { tracker: &self.tracker, call: &mut call, reservation: &mut reservation, estimate, armed: true };
        let opened = self.inner.stream(&request).instrument(span).await;
        guard.disarm();
        match opened {
            Ok(inner) => {
                let mut assembler = StreamAssembler::for_provider(call.provider.clone());
                assembler.set_default_model(request.model.as_str());
                Ok(Box::pin(TrackedStream {
                    inner,
                    assembler: Some(assembler),
                    call,
                    reservation,
                    estimate,
                    request: Arc::new(request),
                    tracker: self.tracker.clone(),
                    pricer: Arc::clone(self.pricer()),
                    first_token: None,
                    chunks: 0,
                    done: false,
                    cost_tx,
                    limit,
                    adjustment,
                }))
            }
            Err(err) => {
                let mut call = call;
                let reserved = reserved_of(reservation.as_ref());
                if reservation.is_some() {
                    self.tracker.settle_after_call(reservation, &call.scopes, Usd::ZERO).await;
                }
                self.tracker.emit(call.failure_record(&err, None, reserved, None));
                Err(err)
            }
        }
    }
}

mod embed;

/// Replaces key-looking text in metadata strings.
/// A W3C `traceparent` header: `VV-<32 hex>-<16 hex>-FF`, lowercase hex.
fn is_traceparent(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let hex = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    matches!(parts[..], [v, t, p, f] if hex(v, 2) && hex(t, 32) && hex(p, 16) && hex(f, 2))
}

fn redact_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(llm_core::redact_secrets(s)),
        Value::Array(a) => Value::Array(a.iter().map(redact_value).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), redact_value(v))).collect()),
        other => other.clone(),
    }
}

/// What [`Tracked::begin_call`] reads from a request.
struct Start<'a> {
    model: &'a str,
    metadata: &'a BTreeMap<String, Value>,
    user: Option<&'a String>,
    tags: &'a [String],
    stream: bool,
    call_type: CallType,
    params: CallParams,
    /// The chat request, for hooks and content logging.
    content: Option<&'a ChatRequest>,
}

/// What a provider's answer tells the record, whatever the call type.
struct Answer<'a> {
    model: &'a str,
    usage: Option<llm_core::Usage>,
    retries: &'a [llm_core::Retry],
    adjustments: &'a [Adjustment],
}

/// What a call knows from its start to its record.
struct Call {
    id: String,
    trace_id: String,
    start: Timestamp,
    started: Instant,
    provider: ProviderId,
    requested_model: String,
    model_group: String,
    stream: bool,
    call_type: CallType,
    params: CallParams,
    user: Option<String>,
    team: Option<String>,
    project: Option<String>,
    end_user: Option<String>,
    tags: Vec<String>,
    key_fingerprint: Option<String>,
    metadata: BTreeMap<String, Value>,
    retry_attempts: u32,
    repair_attempts: u32,
    messages: Option<Vec<llm_core::Message>>,
    scopes: Vec<Scope>,
    span: tracing::Span,
}

impl Call {
    /// The record's common part. Moves the call's strings into it: called once per call.
    fn base_record(&mut self, status: CallStatus, first_token: Option<Timestamp>, reserved: Option<Usd>) -> CallRecord {
        self.base_record_with_model(status, first_token, reserved, None)
    }

    /// [`Call::base_record`] with the served model when the provider named one.
    fn base_record_with_model(
        &mut self,
        status: CallStatus,
        first_token: Option<Timestamp>,
        reserved: Option<Usd>,
        served: Option<&str>,
    ) -> CallRecord {
        let elapsed = self.started.elapsed();
        let micros = i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX);
        let requested_model = std::mem::take(&mut self.requested_model);
        CallRecord {
            id: std::mem::take(&mut self.id),
            trace_id: std::mem::take(&mut self.trace_id),
            start_time: self.start,
            first_token_time: first_token,
            end_time: self.start.plus_micros(micros),
            latency_ms: elapsed.as_secs_f64() * 1000.0,
            provider: self.provider.as_str().to_owned(),
            model: served.map_or_else(|| requested_model.clone(), str::to_owned),
            model_group: std::mem::take(&mut self.model_group),
            requested_model,
            response_id: None,
            stream: self.stream,
            params: self.params,
            finish_reasons: Vec::new(),
            call_type: self.call_type,
            status,
            error_kind: None,
            error_message: None,
            usage: llm_core::Usage::default(),
            cost: None,
            spend: Usd::ZERO,
            reserved,
            retry_attempts: self.retry_attempts,
            retries: Vec::new(),
            repair_attempts: self.repair_attempts,
            adjustments: Vec::new(),
            tags: std::mem::take(&mut self.tags),
            user: self.user.take(),
            team: self.team.take(),
            project: self.project.take(),
            end_user: self.end_user.take(),
            api_key_fingerprint: self.key_fingerprint.take(),
            metadata: std::mem::take(&mut self.metadata),
            content: None,
        }
    }

    fn success_record(
        &mut self,
        response: &ChatResponse,
        cost: Cost,
        status: CallStatus,
        first_token: Option<Timestamp>,
        reserved: Option<Usd>,
    ) -> CallRecord {
        let answer = Answer {
            model: &response.model,
            usage: response.usage,
            retries: &response.retries,
            adjustments: &response.adjustments,
        };
        let mut r = self.answered_record(&answer, cost, status, first_token, reserved);
        if !response.id.is_empty() {
            r.response_id = Some(response.id.clone());
        }
        r.finish_reasons =
            response.choices.iter().filter_map(|c| c.finish_reason.as_ref().map(|f| f.as_str().to_owned())).collect();
        if let Some(messages) = self.messages.take() {
            r.content = Some(CallContent { messages, reply: Some(response.text()) });
        }
        self.record_span(&r);
        r
    }

    /// The record of a call the provider answered (its span not yet recorded).
    fn answered_record(
        &mut self,
        answer: &Answer<'_>,
        cost: Cost,
        status: CallStatus,
        first_token: Option<Timestamp>,
        reserved: Option<Usd>,
    ) -> CallRecord {
        let served = Some(answer.model).filter(|m| !m.is_empty());
        let mut r = self.base_record_with_model(status, first_token, reserved, served);
        r.usage = answer.usage.unwrap_or_default();
        if !answer.retries.is_empty() {
            r.retries = answer.retries.to_vec();
            r.retry_attempts = r.retry_attempts.saturating_add(u32::try_from(r.retries.len()).unwrap_or(u32::MAX));
        }
        if !answer.adjustments.is_empty() {
            r.adjustments = answer.adjustments.to_vec();
        }
        r.spend = cost.total().unwrap_or(Usd::ZERO);
        r.cost = Some(cost);
        r
    }

    fn failure_record(
        &mut self,
        err: &Error,
        partial: Option<(&ChatResponse, Cost)>,
        reserved: Option<Usd>,
        first_token: Option<Timestamp>,
    ) -> CallRecord {
        let mut r = match partial {
            Some((resp, cost)) => self.success_record(resp, cost, CallStatus::Failure, first_token, reserved),
            None => self.base_record(CallStatus::Failure, first_token, reserved),
        };
        r.error_kind = Some(err.kind().as_str().to_owned());
        r.error_message = Some(llm_core::redact_secrets(&err.to_string()));
        if r.retries.is_empty() && !err.retries().is_empty() {
            r.retries = err.retries().to_vec();
            r.retry_attempts = r.retry_attempts.saturating_add(u32::try_from(r.retries.len()).unwrap_or(u32::MAX));
        }
        if let Some(messages) = self.messages.take() {
            r.content.get_or_insert(CallContent { messages, reply: None });
        }
        self.record_span(&r);
        r
    }

    fn record_span(&self, r: &CallRecord) {
        let s = &self.span;
        if s.is_disabled() {
            return;
        }
        s.record("llm.call_id", r.id.as_str());
        s.record("gen_ai.response.model", r.model.as_str());
        if let Some(id) = &r.response_id {
            s.record("gen_ai.response.id", id.as_str());
        }
        s.record("gen_ai.usage.input_tokens", r.usage.prompt_tokens);
        s.record("gen_ai.usage.output_tokens", r.usage.completion_tokens);
        if let Some(c) = &r.cost {
            s.record("gen_ai.usage.cost_status", c.status.as_str());
            if let Some(t) = c.total() {
                s.record("gen_ai.usage.cost_usd", tracing::field::display(t));
            }
        }
        s.record("llm.latency_ms", r.latency_ms);
        if r.retry_attempts > 0 {
            s.record("llm.retries", r.retry_attempts);
        }
        s.record("llm.status", r.status.as_str());
        if let Some(k) = &r.error_kind {
            s.record("error.type", k.as_str());
        }
    }
}

/// What a call reserved against budgets (nothing when no budget applied).
fn reserved_of(reservation: Option<&Reservation>) -> Option<Usd> {
    reservation.filter(|r| r.budgeted).map(|r| r.estimate)
}

#[async_trait]
impl<P: Provider> Provider for Tracked<P> {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }

    // What stays alive across an await is what every call's boxed future carries: the record is emitted
    // before settling, the store's paths are boxed on their own, and the call's state lives in a block (a
    // local's slot lasts as long as its scope). 1.1 KB a call instead of 3.2 KB.
    //
    // While the provider answers, the call's state is held by a guard: if this future is dropped then, the call
    // is recorded as cancelled and its reservation settled (see `InFlight`).
    async fn chat(&self, request: &ChatRequest) -> llm_core::Result<ChatResponse> {
        let (outcome, amount, scopes, reservation) = {
            let mut call = self.begin(request, false);
            let Admitted { reservation, estimate, capped } = self.reserve_fast(&mut call, request).await?;
            let span = call.span.clone();
            let sent = capped.as_ref().map_or(request, |c| &c.request);
            let mut reservation = reservation;
            let guard = InFlight {
                tracker: &self.tracker,
                call: &mut call,
                reservation: &mut reservation,
                estimate,
                armed: true,
            };
            let mut result = self.inner.chat(sent).instrument(span).await;
            guard.disarm();
            if let (Ok(response), Some(c)) = (&mut result, capped.as_ref()) {
                response.adjustments.push(c.adjustment.clone());
            }
            let (outcome, amount) = self.after_call(&mut call, sent, estimate, &reservation, result);
            (outcome, amount, std::mem::take(&mut call.scopes), reservation)
        };
        if self.tracker.settles(reservation.as_ref(), outcome.is_ok()) {
            let tracker = &self.tracker;
            return Box::pin(async move {
                tracker.settle_after_call(reservation, &scopes, amount).await;
                outcome
            })
            .await;
        }
        outcome
    }

    async fn stream(&self, request: &ChatRequest) -> llm_core::Result<ChatStream> {
        self.open_stream(request, None).await
    }

    async fn embed(&self, request: &EmbeddingRequest) -> llm_core::Result<EmbeddingResponse> {
        self.embed_tracked(request).await
    }
}

/// A stream that assembles what passes through it, and prices and records the call when it ends, fails or
/// is dropped.
struct TrackedStream {
    inner: ChatStream,
    assembler: Option<StreamAssembler>,
    call: Call,
    reservation: Option<Reservation>,
    estimate: Usd,
    request: Arc<ChatRequest>,
    tracker: Tracker,
    pricer: Arc<dyn Pricer>,
    first_token: Option<Timestamp>,
    chunks: u64,
    done: bool,
    cost_tx: Option<oneshot::Sender<Cost>>,
    /// The hard limit's room, when one applies: the stream is cut off once its running cost passes it.
    limit: Option<StreamLimit>,
    /// The `max_tokens` cap, reported on the assembled response.
    adjustment: Option<Adjustment>,
}

/// What a streamed call may still spend, and what it has produced so far.
struct StreamLimit {
    headroom: Usd,
    rates: Rates,
    prompt_tokens: u64,
    ascii: u64,
    other: u64,
}

impl StreamLimit {
    /// Adds produced text; returns the running cost estimate when it passes the headroom.
    fn add(&mut self, text: &str) -> Option<Usd> {
        for c in text.chars() {
            if c.is_ascii() {
                self.ascii += 1;
            } else {
                self.other += 1;
            }
        }
        let running = self.rates.cost_of(self.prompt_tokens, self.ascii.div_ceil(4) + self.other);
        (running > self.headroom).then_some(running)
    }
}

impl TrackedStream {
    fn finish(&mut self, outcome: Outcome) {
        if self.done {
            return;
        }
        self.done = true;
        let Some(assembler) = self.assembler.take() else {
            return;
        };
        let saw_anything = assembler.events() > 0;
        let mut response = assembler.finish();
        if let Some(a) = self.adjustment.take() {
            response.adjustments.push(a);
        }
        let pricer = &self.pricer;
        let cost = match &outcome {
            Outcome::Ended => pricer.price(&self.call.provider, &self.request, &response),
            _ => match response.usage {
                Some(u) => pricer.price_usage(&self.call.provider, &response.model, &u),
                None => pricer.price(&self.call.provider, &self.request, &response),
            },
        };
        if let Some(tx) = self.cost_tx.take() {
            let _ = tx.send(cost.clone());
        }
        let reserved = reserved_of(self.reservation.as_ref());
        // A cut-off stream without usage cost something we cannot see: settle the estimate (or, cut off by its
        // budget, its running cost).
        let amount = match (&outcome, response.usage) {
            (Outcome::CutOff(_, running), _) => (*running).max(self.estimate),
            (Outcome::Ended, _) | (_, Some(_)) => {
                self.tracker.settle_amount(&cost, response.usage.as_ref(), self.estimate)
            }
            _ => self.estimate,
        };
        let record = match outcome {
            Outcome::Ended => {
                self.call.success_record(&response, cost, CallStatus::Success, self.first_token, reserved)
            }
            Outcome::Failed(err) | Outcome::CutOff(err, _) => {
                let partial = saw_anything.then_some((&response, cost));
                self.call.failure_record(&err, partial, reserved, self.first_token)
            }
            Outcome::Dropped => {
                let mut r =
                    self.call.success_record(&response, cost, CallStatus::Cancelled, self.first_token, reserved);
                r.error_kind = Some("cancelled".into());
                r.error_message = Some("the stream was dropped before its end".into());
                self.call.record_span(&r);
                r
            }
        };
        self.tracker.settle_in_background(self.reservation.take(), std::mem::take(&mut self.call.scopes), amount);
        self.tracker.emit(record);
    }
}

enum Outcome {
    Ended,
    Failed(Error),
    /// Ended by the tracker: its running cost passed what its hard limit had left.
    CutOff(Error, Usd),
    Dropped,
}

impl Stream for TrackedStream {
    type Item = llm_core::Result<StreamEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let _entered = this.call.span.enter();
        let polled = this.inner.as_mut().poll_next(cx);
        drop(_entered);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(event))) => {
                if this.first_token.is_none()
                    && matches!(
                        event,
                        StreamEvent::TextDelta { .. }
                            | StreamEvent::ToolCallDelta { .. }
                            | StreamEvent::ReasoningDelta { .. }
                    )
                {
                    // on the call's monotonic clock, as its end is: a first token never after the end
                    let micros = i64::try_from(this.call.started.elapsed().as_micros()).unwrap_or(i64::MAX);
                    this.first_token = Some(this.call.start.plus_micros(micros));
                }
                let hooks = &this.tracker.inner.hooks;
                if hooks.wants_chunks() {
                    let content = this.tracker.inner.log_content
                        || matches!(
                            event,
                            StreamEvent::Usage(_) | StreamEvent::Finish { .. } | StreamEvent::ProviderCost { .. }
                        );
                    hooks.send(&HookEvent::Chunk(Arc::new(StreamChunk {
                        id: this.call.id.clone(),
                        index: this.chunks,
                        at: Timestamp::now(),
                        event: content.then(|| event.clone()),
                    })));
                }
                this.chunks += 1;
                let over = match (&mut this.limit, &event) {
                    (
                        Some(limit),
                        StreamEvent::TextDelta { text, .. }
                        | StreamEvent::ReasoningDelta { text, .. }
                        | StreamEvent::ToolCallDelta { arguments: text, .. },
                    ) => limit.add(text).map(|running| (running, limit.headroom)),
                    _ => None,
                };
                if let Some(a) = this.assembler.as_mut() {
                    a.push(event.clone());
                }
                if let Some((running, headroom)) = over {
                    let message = format!(
                        "budget exceeded mid-stream: this call's running cost (about ${running}) passed the ${headroom} \
                         left under its hard limit; the stream was ended"
                    );
                    let err = Error::new(ErrorKind::BudgetExceeded, message.clone())
                        .with_provider(this.call.provider.clone())
                        .with_model(this.call.requested_model.as_str());
                    this.tracker.inner.counters.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    this.finish(Outcome::CutOff(err, running));
                    // Close the provider's connection now: nothing more of it is read.
                    this.inner = Box::pin(futures_util::stream::empty());
                    let err = Error::new(ErrorKind::BudgetExceeded, message).with_provider(this.call.provider.clone());
                    return Poll::Ready(Some(Err(err)));
                }
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(Some(Err(err))) => {
                let copy = Error::new(err.kind().clone(), err.message().to_owned());
                let copy = match err.provider() {
                    Some(p) => copy.with_provider(p.clone()),
                    None => copy,
                };
                this.finish(Outcome::Failed(copy));
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                this.finish(Outcome::Ended);
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        self.finish(Outcome::Dropped);
    }
}

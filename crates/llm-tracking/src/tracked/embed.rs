//! Tracked embeddings: the path of a non-streamed chat call (attribution, budget reservation, pricing, one
//! record, settlement, cancellation), with the record's [`CallType::Embedding`]. The reservation is the
//! model's input price times [`EmbeddingRequest::estimated_tokens`] (embeddings have no output); the cost is the
//! pricer's [`Pricer::price_usage`] of the response's usage on the served model, else on the requested one.
//! Input texts are never kept in records, even with content logging on.

use llm_core::{Cost, CostStatus, EmbeddingRequest, EmbeddingResponse, Provider, ProviderId, Usd};
use tracing::Instrument;

use super::{Answer, InFlight, Start, Tracked, reserved_of};
use crate::pricing::Pricer;
use crate::record::{CallStatus, CallType};

impl<P: Provider> Tracked<P> {
    pub(super) async fn embed_tracked(&self, request: &EmbeddingRequest) -> llm_core::Result<EmbeddingResponse> {
        let start = Start {
            model: request.model.as_str(),
            metadata: &request.metadata,
            user: request.user.as_ref(),
            tags: &request.tags,
            stream: false,
            call_type: CallType::Embedding,
            params: crate::record::CallParams::default(),
            content: None,
        };
        let mut call = self.begin_call(&start);
        let (reservation, estimate) = match self.reserve_without_store(&call) {
            Some(admitted) => (admitted.reservation, admitted.estimate),
            None => {
                let estimate = self
                    .tracker
                    .rates(self.pricer().as_ref(), &call.provider, request.model.as_str())
                    .map_or(Usd::ZERO, |r| r.cost_of(request.estimated_tokens(), 0));
                (Box::pin(self.admit(&mut call, estimate, request.model.as_str())).await?, estimate)
            }
        };
        let mut reservation = reservation;
        let span = call.span.clone();
        let guard =
            InFlight { tracker: &self.tracker, call: &mut call, reservation: &mut reservation, estimate, armed: true };
        let result = self.inner.embed(request).instrument(span).await;
        guard.disarm();
        let reserved = reserved_of(reservation.as_ref());
        let (outcome, amount) = match result {
            Ok(mut response) => {
                let cost = match response.cost.clone() {
                    Some(c) => c,
                    None => price_embedding(self.pricer().as_ref(), &call.provider, request, &response),
                };
                response.cost = Some(cost.clone());
                let amount = self.tracker.settle_amount(&cost, response.usage.as_ref(), estimate);
                let answer = Answer {
                    model: &response.model,
                    usage: response.usage,
                    retries: &response.retries,
                    adjustments: &response.adjustments,
                };
                let r = call.answered_record(&answer, cost, CallStatus::Success, None, reserved);
                call.record_span(&r);
                self.tracker.emit(r);
                (Ok(response), amount)
            }
            Err(err) => {
                self.tracker.emit(call.failure_record(&err, None, reserved, None));
                (Err(err), Usd::ZERO)
            }
        };
        if self.tracker.settles(reservation.as_ref(), outcome.is_ok()) {
            self.tracker.settle_after_call(reservation, &call.scopes, amount).await;
        }
        outcome
    }
}

/// The cost of an embedding response: its usage priced on the served model, else on the requested one (a
/// deployment name, say), else the provider-reported cost when there is one.
pub(crate) fn price_embedding(
    pricer: &dyn Pricer,
    provider: &ProviderId,
    request: &EmbeddingRequest,
    response: &EmbeddingResponse,
) -> Cost {
    let usage = response.usage.unwrap_or_default();
    let mut cost = pricer.price_usage(provider, &response.model, &usage);
    if cost.status == CostStatus::UnknownModel && response.model != request.model.as_str() {
        cost = pricer.price_usage(provider, request.model.as_str(), &usage);
    }
    if cost.status == CostStatus::UnknownModel
        && let Some(amount) = response.provider_cost
    {
        let mut b = llm_core::CostBreakdown::default();
        b.input = amount;
        cost = Cost::new(CostStatus::ProviderReported, b);
    }
    cost
}

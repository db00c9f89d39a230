//! The Responses API called directly: [`ProviderClient::responses`] and [`ProviderClient::responses_stream`],
//! over the same HTTP machinery as chat (retries, timeouts, limits, error mapping).

use std::sync::Arc;
use std::time::SystemTime;

use futures_util::StreamExt;
use llm_core::responses::{ResponsesEvent, ResponsesRequest, ResponsesResponse, ResponsesStream};
use llm_core::{Error, Result, StreamEvent};
use tracing::Instrument;

use super::{Inner, JsonAnswer, ProviderClient, Wire, context, open_stream, read_capped, timeout_error};
use crate::responses::{RawEventDecoder, call, decode, encode};

impl ProviderClient {
    /// `POST /responses`: one Responses API call (OpenAI, Azure), retried like chat. The response's
    /// `provider` and `retries` are set; a `failed` response is its typed error.
    ///
    /// # Errors
    /// A config error for a provider without the Responses API, the mapped HTTP error, a decode error, or the
    /// error of a `failed` response.
    pub async fn responses(&self, request: &ResponsesRequest) -> Result<ResponsesResponse> {
        let inner = &self.inner;
        let model = self.provider_model(&request.model);
        let span = tracing::info_span!(
            "gen_ai.responses",
            gen_ai.provider.name = %inner.id,
            gen_ai.request.model = model,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            stream = false,
        );
        async {
            let call =
                Wire::new(call(inner.adapter.as_ref(), encode(request, model, false)?, model)?, &inner.wire_cache)?;
            let (body, retries) =
                inner.with_retries(|| inner.body_once(&call, model)).await.map_err(|e| context(e, &inner.id, model))?;
            let mut r = decode(&body).map_err(|e| context(e, &inner.id, model))?;
            if let Some(e) = r.failure() {
                return Err(context(e.with_body(&String::from_utf8_lossy(&body)), &inner.id, model));
            }
            if let Some(u) = &r.usage {
                let span = tracing::Span::current();
                span.record("gen_ai.usage.input_tokens", u.input_tokens);
                span.record("gen_ai.usage.output_tokens", u.output_tokens);
            }
            r.provider = Some(inner.id.clone());
            r.retries = retries;
            Ok(r)
        }
        .instrument(span)
        .await
    }

    /// `POST /responses` with `stream: true`: the typed semantic events. A `response.failed` or `error` event
    /// arrives as its typed error, and a stream that ends before `response.completed` /
    /// `response.incomplete` as a [`llm_core::ErrorKind::Network`] error.
    ///
    /// # Errors
    /// As [`ProviderClient::responses`], before the stream opens.
    pub async fn responses_stream(&self, request: &ResponsesRequest) -> Result<ResponsesStream> {
        let inner = Arc::clone(&self.inner);
        let model = self.provider_model(&request.model).to_owned();
        let span = tracing::info_span!("gen_ai.responses", gen_ai.provider.name = %inner.id, gen_ai.request.model = %model, stream = true);
        let call = call(inner.adapter.as_ref(), encode(request, &model, true)?, &model)?;
        let decoder = Box::new(RawEventDecoder::new(inner.id.clone(), &model));
        let events =
            open_stream(inner, call, model, decoder, Vec::new(), SystemTime::now(), span, JsonAnswer::Responses)
                .await?;
        Ok(Box::pin(events.filter_map(|ev| async move {
            match ev {
                Ok(StreamEvent::Other { raw }) => Some(
                    serde_json::from_str::<ResponsesEvent>(&raw)
                        .map_err(|e| Error::decode(format!("invalid responses api event: {e}"))),
                ),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            }
        })))
    }
}

impl Inner {
    /// A streamed Responses request answered with one JSON response object: the object, read within the
    /// request timeout and the body limit, as one `response.completed` event (or its error when it failed).
    pub(super) async fn whole_responses_body(&self, resp: reqwest::Response) -> Result<Vec<StreamEvent>> {
        let deadline = self.timeouts.request;
        let body = match tokio::time::timeout(deadline, read_capped(resp, self.limits.max_body_bytes)).await {
            Err(_) => return Err(timeout_error(deadline, "reading a whole json answer to a stream request")),
            Ok(r) => r?,
        };
        let r = decode(&body)?;
        if let Some(e) = r.failure() {
            return Err(e);
        }
        let raw = serde_json::to_string(&ResponsesEvent::Completed { response: Box::new(r) })?;
        Ok(vec![StreamEvent::Other { raw }])
    }
}

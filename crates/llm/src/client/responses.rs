//! [`Client::responses`] and [`Client::responses_stream`]: OpenAI's Responses API called directly, priced from
//! the client's catalog and, with a tracker, budgeted and recorded like chat (the record's `metadata` has
//! `"call_type": "responses"`).
//!
//! Tracking wraps a one-call [`Provider`] ([`DirectCall`]) in the same `Tracked` decorator chat uses: the
//! decorator sees a chat request made for the record (the model, tags, attribution, the input's text for
//! estimates) and a chat response carrying the call's id, model and usage, so budgets, hooks and stores need
//! nothing new.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures_util::StreamExt;
use llm_core::responses::{
    Input, Item, ItemContent, ResponsesEvent, ResponsesRequest, ResponsesResponse, ResponsesStream,
};
use llm_core::{
    ChatRequest, ChatResponse, ChatStream, Error, Message, Provider, ProviderId, Result, Role, StreamEvent,
};
use llm_providers::ProviderClient;
use serde_json::Value;

use super::{Client, Route};

/// The `metadata` key and value that mark a record as a Responses API call.
pub const CALL_TYPE: (&str, &str) = ("call_type", "responses");

impl Client {
    /// One `POST /responses` call (OpenAI or Azure), with its cost attached (`response.cost`) and, with a
    /// tracker, budgeted and recorded.
    ///
    /// # Errors
    /// Resolution and configuration errors (a provider without the Responses API), the call's error, a
    /// `failed` response's typed error, or a budget refusal.
    pub async fn responses(&self, request: ResponsesRequest) -> Result<ResponsesResponse> {
        let (call, provider, record) = self.direct(request)?;
        let chat = provider.chat(&record).await?;
        let mut r = call.take()?;
        r.cost = Some(match chat.cost {
            Some(c) => c,
            None => self.price(&record, &chat),
        });
        Ok(r)
    }

    /// A streamed `POST /responses` call: its typed semantic events. The `response.completed` (or
    /// `response.incomplete`) event's response carries the priced cost; with a tracker the call is recorded
    /// when the stream ends, fails or is dropped. A `response.failed` or `error` event, or a stream cut short,
    /// arrives as an `Err`.
    ///
    /// # Errors
    /// As [`Client::responses`], before the stream opens.
    pub async fn responses_stream(&self, request: ResponsesRequest) -> Result<ResponsesStream> {
        let (_, provider, record) = self.direct(request)?;
        let events = provider.stream(&record).await?;
        let client = self.clone();
        Ok(Box::pin(events.filter_map(move |ev| {
            let priced = match ev {
                Ok(StreamEvent::Other { raw }) => Some(read_event(&raw).map(|ev| client.price_event(&record, ev))),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            };
            async move { priced }
        })))
    }

    /// The one-call provider for `request` (tracked when the client has a tracker) and the chat request the
    /// record is made from.
    fn direct(&self, request: ResponsesRequest) -> Result<(Arc<DirectCall>, Arc<dyn Provider>, ChatRequest)> {
        let route = self.route(&request.model)?;
        let client = self.responses_client(&route)?;
        let record = self.decorate(record_request(&request));
        let call = Arc::new(DirectCall { client: client.0, request, answer: Mutex::new(None) });
        let provider = self.wrap(call.clone(), client.1.as_ref());
        Ok((call, provider, record))
    }

    fn responses_client(&self, route: &Route) -> Result<(ProviderClient, Option<llm_core::ApiKey>)> {
        if self.is_mock() {
            return Err(Error::config("the mock provider does not serve the Responses API"));
        }
        let base = self.inner.config.api_bases.get(route.provider.as_str()).cloned();
        self.provider_client(route, base, false)
    }

    /// The priced form of a terminal event (its response gets `cost`); other events pass unchanged.
    fn price_event(&self, record: &ChatRequest, ev: ResponsesEvent) -> ResponsesEvent {
        match ev {
            ResponsesEvent::Completed { mut response } => {
                response.cost = Some(self.price(record, &usage_response(&response)));
                ResponsesEvent::Completed { response }
            }
            ResponsesEvent::Incomplete { mut response } => {
                response.cost = Some(self.price(record, &usage_response(&response)));
                ResponsesEvent::Incomplete { response }
            }
            other => other,
        }
    }
}

fn read_event(raw: &str) -> Result<ResponsesEvent> {
    serde_json::from_str(raw).map_err(|e| Error::decode(format!("invalid responses api event: {e}")))
}

/// The chat request a Responses call is recorded under: the model, the input's messages (for estimates and,
/// when content logging is on, the record), the output limit, the user, tags and tracking metadata with
/// [`CALL_TYPE`].
fn record_request(r: &ResponsesRequest) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(i) = &r.instructions {
        messages.push(Message::system(i.clone()));
    }
    match &r.input {
        Input::Text(t) => messages.push(Message::user(t.clone())),
        Input::Items(items) => {
            for item in items {
                match item {
                    Item::Message(m) => {
                        let text = match &m.content {
                            ItemContent::Text(t) => t.clone(),
                            ItemContent::Parts(parts) => parts
                                .iter()
                                .filter_map(|p| serde_json::to_value(p).ok()?.get("text")?.as_str().map(str::to_owned))
                                .collect(),
                        };
                        messages.push(Message::new(m.role.clone(), text));
                    }
                    Item::FunctionCallOutput { call_id, output } => {
                        messages.push(Message::tool_result(call_id.clone(), output.clone()));
                    }
                    _ => {}
                }
            }
        }
    }
    if messages.is_empty() {
        messages.push(Message::new(Role::User, ""));
    }
    let mut chat = ChatRequest::new(r.model.clone(), messages);
    chat.max_tokens = r.max_output_tokens;
    chat.user = r.user.clone();
    chat.tags = r.tags.clone();
    chat.metadata = r.metadata.clone();
    chat.metadata.insert(CALL_TYPE.0.into(), Value::String(CALL_TYPE.1.into()));
    chat
}

/// What the tracker and the pricer see of a Responses answer: its id, model, usage and provider.
fn usage_response(r: &ResponsesResponse) -> ChatResponse {
    let mut c = ChatResponse::new(r.id.clone(), r.model.clone(), Vec::new(), r.normalized_usage());
    c.provider = r.provider.clone();
    c.created = r.created_at;
    c.service_tier = r.service_tier.clone();
    c.retries = r.retries.clone();
    c
}

/// A [`Provider`] for one Responses call: `chat` sends the stored request and keeps the full answer for
/// [`Client::responses`]; `stream` passes every semantic event on as [`StreamEvent::Other`], with the chat
/// events tracking needs (start, text, usage, finish) beside them.
struct DirectCall {
    client: ProviderClient,
    request: ResponsesRequest,
    answer: Mutex<Option<ResponsesResponse>>,
}

impl DirectCall {
    fn take(&self) -> Result<ResponsesResponse> {
        self.answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| Error::decode("the responses call gave no answer"))
    }
}

#[async_trait]
impl Provider for DirectCall {
    fn id(&self) -> &ProviderId {
        Provider::id(&self.client)
    }

    async fn chat(&self, _record: &ChatRequest) -> Result<ChatResponse> {
        let r = self.client.responses(&self.request).await?;
        let chat = usage_response(&r);
        *self.answer.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        Ok(chat)
    }

    async fn stream(&self, _record: &ChatRequest) -> Result<ChatStream> {
        let events = self.client.responses_stream(&self.request).await?;
        Ok(Box::pin(events.flat_map(|ev| {
            let out: Vec<Result<StreamEvent>> = match ev {
                Err(e) => vec![Err(e)],
                Ok(ev) => {
                    let mut out = Vec::with_capacity(3);
                    match &ev {
                        ResponsesEvent::Created { response } => out.push(Ok(StreamEvent::Start {
                            id: Some(response.id.clone()),
                            model: Some(response.model.clone()),
                        })),
                        ResponsesEvent::OutputTextDelta { delta, .. } => {
                            out.push(Ok(StreamEvent::TextDelta { index: 0, text: delta.clone() }));
                        }
                        ResponsesEvent::Completed { response } | ResponsesEvent::Incomplete { response } => {
                            if let Some(u) = response.normalized_usage() {
                                out.push(Ok(StreamEvent::Usage(u)));
                            }
                            let reason = llm_core::responses::finish_reason(response);
                            out.push(Ok(StreamEvent::Finish { index: 0, reason }));
                        }
                        _ => {}
                    }
                    match serde_json::to_string(&ev) {
                        Ok(raw) => out.push(Ok(StreamEvent::Other { raw })),
                        Err(e) => out.push(Err(Error::from(e))),
                    }
                    out
                }
            };
            futures_util::stream::iter(out)
        })))
    }
}

//! OpenAI's Responses API (`POST /v1/responses`) on OpenAI and Azure (Azure's v1 route
//! `/openai/v1/responses`, or `/openai/responses?api-version=...` for a dated preview version).
//!
//! Two ways in:
//!
//! - directly: [`crate::ProviderClient::responses`] and [`crate::ProviderClient::responses_stream`] take a
//!   [`ResponsesRequest`] and give the [`llm_core::responses::ResponsesResponse`] or its typed semantic events;
//! - bridged: a client built with [`crate::ClientBuilder::responses_api`] serves [`llm_core::Provider::chat`]
//!   and `stream` through this API with [`ResponsesBridge`], for the models that exist only there (the
//!   catalog's `mode: responses` rows, such as `o1-pro` or `gpt-5-codex`).
//!
//! Bodies are pure functions of the request ([`encode`]); errors in a stream (`response.failed`, `error`)
//! become typed errors, and a stream that ends before `response.completed` / `response.incomplete` is a
//! [`llm_core::ErrorKind::Network`] error.

use std::collections::HashMap;

use llm_core::responses::{self, Item, ResponsesEvent, ResponsesRequest, ResponsesResponse};
use llm_core::{Adjustment, ChatRequest, ChatResponse, Error, ProviderId, Result, StreamEvent};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::adapter::{Adapter, HttpCall, StreamDecoder, truncated};
use crate::framing::{Frame, Framing};

/// The body of a Responses request for `model` (the provider-side name), with `stream: true` when streaming.
///
/// # Errors
/// A serialization error of a custom `extra` value.
pub fn encode(req: &ResponsesRequest, model: &str, stream: bool) -> Result<Vec<u8>> {
    let mut v = serde_json::to_value(req)?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("model".into(), model.into());
        if stream {
            obj.insert("stream".into(), true.into());
        }
    }
    Ok(serde_json::to_vec(&v)?)
}

/// Reads a non-streamed answer.
///
/// # Errors
/// A [`llm_core::ErrorKind::Decode`] error for a body that is not a response object.
pub fn decode(body: &[u8]) -> Result<ResponsesResponse> {
    serde_json::from_slice(body).map_err(|e| Error::decode(format!("invalid responses api answer: {e}")))
}

fn unsupported(provider: &ProviderId) -> Error {
    Error::config(format!("{provider} does not serve the Responses API here (openai and azure do)"))
        .with_provider(provider.clone())
}

/// Whether `adapter` serves the Responses API.
pub(crate) fn serves(adapter: &dyn Adapter) -> bool {
    adapter.responses_call(Vec::new(), "").is_some()
}

/// The call for a Responses body on `adapter`.
pub(crate) fn call(adapter: &dyn Adapter, body: Vec<u8>, model: &str) -> Result<HttpCall> {
    adapter.responses_call(body, model).ok_or_else(|| unsupported(adapter.provider()))
}

/// Reads one SSE event's data as a [`ResponsesEvent`]; a `response.failed` or `error` event becomes its
/// typed error, with the provider and model.
fn event(data: &str, provider: &ProviderId, model: &str) -> Result<ResponsesEvent> {
    let ev: ResponsesEvent = serde_json::from_str(data).map_err(|e| {
        Error::decode(format!("invalid responses api event: {e}")).with_provider(provider.clone()).with_model(model)
    })?;
    match ev.error() {
        Some(e) => Err(e.with_provider(provider.clone()).with_model(model).with_body(data)),
        None => Ok(ev),
    }
}

/// The data of an SSE frame, `None` for frames to skip (comments, keep-alives).
fn frame_data(frame: Frame, provider: &ProviderId, model: &str) -> Result<Option<String>> {
    let Frame::Sse(ev) = frame else { return Ok(None) };
    if !ev.stray.is_empty() {
        return Err(crate::errors::stream_error(provider.as_str(), model, ev.stray.as_bytes()));
    }
    let data = ev.data.trim();
    Ok((!data.is_empty() && data != "[DONE]").then(|| data.to_owned()))
}

/// The decoder of a direct [`crate::ProviderClient::responses_stream`]: every event's JSON is passed on as
/// [`StreamEvent::Other`] (the client reads it back as a [`ResponsesEvent`]); failures and a missing end are
/// errors here, so the shared streaming machinery (timeouts, limits) applies unchanged.
#[derive(Debug)]
pub struct RawEventDecoder {
    provider: ProviderId,
    model: String,
}

impl RawEventDecoder {
    /// A decoder for one stream.
    pub fn new(provider: ProviderId, model: &str) -> Self {
        Self { provider, model: model.to_owned() }
    }
}

impl StreamDecoder for RawEventDecoder {
    fn decode(&mut self, frame: Frame, out: &mut Vec<StreamEvent>) -> Result<bool> {
        let Some(data) = frame_data(frame, &self.provider, &self.model)? else { return Ok(false) };
        let terminal = event(&data, &self.provider, &self.model)?.is_terminal();
        out.push(StreamEvent::Other { raw: data });
        Ok(terminal)
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<()> {
        Err(truncated("response.completed").with_provider(self.provider.clone()).with_model(self.model.as_str()))
    }
}

/// The decoder of a bridged chat stream: semantic events become chat [`StreamEvent`]s (text, reasoning
/// summaries, tool calls, the reasoning items as the signature, usage and the finish reason).
#[derive(Debug)]
pub struct BridgeStreamDecoder {
    provider: ProviderId,
    model: String,
    /// Function call item id (and output index) to its tool index.
    tools: HashMap<String, u32>,
    tool_by_output: HashMap<u32, u32>,
    reasoning: Vec<responses::ReasoningItem>,
    /// The reasoning item and summary line the last summary delta belonged to.
    summary_at: Option<(String, u32)>,
}

impl BridgeStreamDecoder {
    /// A decoder for one stream.
    pub fn new(provider: ProviderId, model: &str) -> Self {
        Self {
            provider,
            model: model.to_owned(),
            tools: HashMap::new(),
            tool_by_output: HashMap::new(),
            reasoning: Vec::new(),
            summary_at: None,
        }
    }

    fn tool_index(&self, item_id: &str, output_index: u32) -> Option<u32> {
        self.tools.get(item_id).or_else(|| self.tool_by_output.get(&output_index)).copied()
    }

    fn end(&mut self, r: &ResponsesResponse, out: &mut Vec<StreamEvent>) {
        // The final response lists every reasoning item; prefer it to what the item events gave.
        let items = r.reasoning_items();
        let sig = if items.is_empty() {
            responses::reasoning_signature(&self.reasoning.iter().collect::<Vec<_>>())
        } else {
            responses::reasoning_signature(&items)
        };
        if let Some(signature) = sig {
            out.push(StreamEvent::ReasoningSignature { index: 0, signature });
        }
        if let Some(u) = r.normalized_usage() {
            out.push(StreamEvent::Usage(u));
        }
        let mut reason = responses::finish_reason(r);
        if reason == llm_core::FinishReason::Stop && !self.tools.is_empty() {
            reason = llm_core::FinishReason::ToolCalls;
        }
        out.push(StreamEvent::Finish { index: 0, reason });
    }
}

impl StreamDecoder for BridgeStreamDecoder {
    fn decode(&mut self, frame: Frame, out: &mut Vec<StreamEvent>) -> Result<bool> {
        let Some(data) = frame_data(frame, &self.provider, &self.model)? else { return Ok(false) };
        match event(&data, &self.provider, &self.model)? {
            ResponsesEvent::Created { response } => {
                out.push(StreamEvent::Start { id: Some(response.id), model: Some(response.model) });
            }
            ResponsesEvent::OutputItemAdded { output_index, item: Item::FunctionCall(f) } => {
                let index = u32::try_from(self.tools.len()).unwrap_or(u32::MAX);
                if let Some(id) = &f.id {
                    self.tools.insert(id.clone(), index);
                }
                self.tool_by_output.insert(output_index, index);
                out.push(StreamEvent::ToolCallDelta {
                    index: 0,
                    tool_index: index,
                    id: Some(f.call_id),
                    name: Some(f.name),
                    arguments: f.arguments,
                });
            }
            ResponsesEvent::FunctionCallArgumentsDelta { item_id, output_index, delta } => {
                let tool_index = self.tool_index(&item_id, output_index).ok_or_else(|| {
                    Error::decode(format!("arguments for an unannounced function call {item_id:?}"))
                        .with_provider(self.provider.clone())
                        .with_model(self.model.as_str())
                })?;
                out.push(StreamEvent::ToolCallDelta { index: 0, tool_index, id: None, name: None, arguments: delta });
            }
            ResponsesEvent::OutputTextDelta { delta, .. } => out.push(StreamEvent::TextDelta { index: 0, text: delta }),
            ResponsesEvent::ReasoningSummaryTextDelta { item_id, summary_index, delta, .. } => {
                // Summary lines are joined by a blank line, as in the non-streamed answer.
                let at = (item_id, summary_index);
                if self.summary_at.as_ref().is_some_and(|last| *last != at) {
                    out.push(StreamEvent::ReasoningDelta { index: 0, text: "\n\n".into() });
                }
                self.summary_at = Some(at);
                out.push(StreamEvent::ReasoningDelta { index: 0, text: delta });
            }
            ResponsesEvent::OutputItemDone { item: Item::Reasoning(r), .. } => self.reasoning.push(r),
            ResponsesEvent::Completed { response } | ResponsesEvent::Incomplete { response } => {
                self.end(&response, out);
                return Ok(true);
            }
            _ => {}
        }
        Ok(false)
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<()> {
        Err(truncated("response.completed").with_provider(self.provider.clone()).with_model(self.model.as_str()))
    }
}

/// An [`Adapter`] that serves chat through the Responses API of the adapter it wraps (OpenAI or Azure): the
/// chat request is translated ([`responses::request_from_chat`], strict schemas in OpenAI's strict dialect),
/// the answer and the stream translated back ([`responses::to_chat_response`], [`BridgeStreamDecoder`]).
/// Every bridged call reports a `responses_api_bridge` adjustment, plus one `param_dropped` per chat
/// parameter the API has no field for.
pub struct ResponsesBridge {
    inner: Box<dyn Adapter>,
}

impl std::fmt::Debug for ResponsesBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponsesBridge").field("provider", self.inner.provider()).finish_non_exhaustive()
    }
}

impl ResponsesBridge {
    /// Wraps `inner`.
    ///
    /// # Errors
    /// A config error when `inner`'s provider does not serve the Responses API.
    pub fn new(inner: Box<dyn Adapter>) -> Result<Self> {
        if !serves(inner.as_ref()) {
            return Err(unsupported(inner.provider()));
        }
        Ok(Self { inner })
    }

    /// The Responses body for a chat request.
    ///
    /// # Errors
    /// Content the API cannot take (audio input), or a bad override in `extra`.
    pub fn body(request: &ChatRequest, model: &str, stream: bool) -> Result<Vec<u8>> {
        let mut r = responses::request_from_chat(request, model)?;
        if let Some(format) = r.text.as_mut().and_then(|t| t.format.as_mut())
            && format.get("type").and_then(Value::as_str) == Some("json_schema")
            && format.get("strict") == Some(&Value::Bool(true))
            && let Some(schema) = format.get_mut("schema")
        {
            *schema = crate::dialect::openai_strict(schema).schema;
        }
        for t in &mut r.tools {
            if t.get("strict") == Some(&Value::Bool(true))
                && let Some(params) = t.get_mut("parameters")
            {
                *params = crate::dialect::openai_strict(params).schema;
            }
        }
        encode(&r, model, stream)
    }
}

impl Adapter for ResponsesBridge {
    fn provider(&self) -> &ProviderId {
        self.inner.provider()
    }

    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall> {
        call(self.inner.as_ref(), Self::body(request, model, stream)?, model)
    }

    fn adjustments(&self, request: &ChatRequest, model: &str) -> Vec<Adjustment> {
        let mut out = vec![responses::bridge_adjustment(model)];
        out.extend(responses::bridge_dropped(request));
        // The strict-dialect rewrites, as chat reports them (without chat's field renames).
        out.extend(
            self.inner
                .adjustments(request, model)
                .into_iter()
                .filter(|a| a.kind != llm_core::AdjustmentKind::ParamRenamed),
        );
        out
    }

    fn decode(&self, body: &[u8], model: &str) -> Result<ChatResponse> {
        let r = decode(body).map_err(|e| e.with_provider(self.provider().clone()).with_model(model))?;
        responses::to_chat_response(&r).map_err(|e| e.with_provider(self.provider().clone()).with_model(model))
    }

    fn framing(&self) -> Framing {
        Framing::Sse
    }

    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder> {
        Box::new(BridgeStreamDecoder::new(self.provider().clone(), model))
    }

    fn responses_call(&self, body: Vec<u8>, model: &str) -> Option<HttpCall> {
        self.inner.responses_call(body, model)
    }

    fn error(&self, model: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        self.inner.error(model, status, headers, body)
    }
}

//! Streaming: the events a stream yields, and their assembly into the response a non-streaming call returns.

use std::collections::BTreeMap;
use std::pin::Pin;

use futures_core::Stream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::cost::Usd;
use crate::error::Result;
use crate::ids::ProviderId;
use crate::message::{Content, Message, Role, ToolCall};
use crate::report::{Adjustment, Retry, Routing};
use crate::response::{ChatResponse, Choice, FinishReason};
use crate::usage::Usage;

/// One event of a streamed completion.
///
/// `Usage` events carry the complete usage known so far (adapters merge their provider's partial counts), so
/// the last one wins; they are never summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamEvent {
    /// The response's id and served model, once known.
    Start {
        /// The provider's response id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The served model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
    },
    /// Text for choice `index`.
    TextDelta {
        /// The choice.
        index: u32,
        /// The text to append.
        text: String,
    },
    /// Visible reasoning for choice `index`.
    ReasoningDelta {
        /// The choice.
        index: u32,
        /// The text to append.
        text: String,
    },
    /// The signature of choice `index`'s reasoning (Anthropic's `signature_delta`); the last one wins.
    ReasoningSignature {
        /// The choice.
        index: u32,
        /// The signature.
        signature: String,
    },
    /// A piece of a tool call for choice `index`; pieces with the same `tool_index` are joined.
    ToolCallDelta {
        /// The choice.
        index: u32,
        /// The tool call's position within the choice.
        tool_index: u32,
        /// The call id, on the first piece.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The function name, on the first piece.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Argument text to append.
        arguments: String,
    },
    /// The usage so far (the last one is final).
    Usage(Usage),
    /// A cost the provider reported.
    ProviderCost {
        /// The amount.
        amount: Usd,
    },
    /// Choice `index` finished.
    Finish {
        /// The choice.
        index: u32,
        /// Why.
        reason: FinishReason,
    },
    /// What the client did before the stream opened: the attempts it retried, the changes it made to the
    /// request, and when the call started (Unix seconds, the fallback for `created`). Sent first by llm-rs's
    /// provider clients; never by a provider.
    Call {
        /// The attempts that failed and were retried before this stream opened.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        retries: Vec<Retry>,
        /// What was changed in the request before it was sent.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        adjustments: Vec<Adjustment>,
        /// When the call started, in Unix seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created: Option<u64>,
        /// An id for the response, used when the provider sends none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Where the call is served ([`crate::ChatResponse::location`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    },
    /// Top-level fields of the provider's own (Perplexity's `citations`, `search_results`), for
    /// [`ChatResponse::provider_fields`]; a later value of a name replaces an earlier one.
    ProviderFields {
        /// The fields, as sent.
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// How a router served the stream (sent by llm-router before the deployment's events); never by a
    /// provider.
    Routed(Routing),
    /// A provider event this version does not map, kept as raw text.
    Other {
        /// The event as received.
        raw: String,
    },
}

/// A stream of events, as [`crate::Provider::stream`] returns it. Dropping it midway cancels the call.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent>> + Send + 'static>>;

#[derive(Debug, Default)]
struct ToolCallState {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Default)]
struct ChoiceState {
    text: String,
    reasoning: String,
    signature: Option<String>,
    saw_text: bool,
    tool_calls: BTreeMap<u32, ToolCallState>,
    finish: Option<FinishReason>,
}

/// Folds [`StreamEvent`]s into the [`ChatResponse`] the same call would have returned without streaming.
///
/// ```
/// use llm_core::{StreamAssembler, StreamEvent, FinishReason, Usage};
/// let mut a = StreamAssembler::new();
/// a.push(StreamEvent::TextDelta { index: 0, text: "Hel".into() });
/// a.push(StreamEvent::TextDelta { index: 0, text: "lo".into() });
/// a.push(StreamEvent::Finish { index: 0, reason: FinishReason::Stop });
/// a.push(StreamEvent::Usage(Usage::new(3, 2)));
/// let r = a.finish();
/// assert_eq!(r.text(), "Hello");
/// assert_eq!(r.usage, Some(Usage::new(3, 2)));
/// ```
#[derive(Debug, Default)]
pub struct StreamAssembler {
    id: Option<String>,
    model: Option<String>,
    provider: Option<ProviderId>,
    choices: BTreeMap<u32, ChoiceState>,
    usage: Option<Usage>,
    provider_cost: Option<Usd>,
    provider_fields: serde_json::Map<String, serde_json::Value>,
    created: Option<u64>,
    fallback_id: Option<String>,
    retries: Vec<Retry>,
    adjustments: Vec<Adjustment>,
    location: Option<String>,
    routing: Option<Routing>,
    events: u64,
}

impl StreamAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// An assembler that stamps the response with this provider.
    pub fn for_provider(provider: impl Into<ProviderId>) -> Self {
        Self { provider: Some(provider.into()), ..Self::default() }
    }

    /// Sets the served model to report when the stream never names one.
    pub fn set_default_model(&mut self, model: &str) {
        if self.model.is_none() {
            self.model = Some(model.to_owned());
        }
    }

    /// How many provider events were pushed (the client's [`StreamEvent::Call`] is not counted).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The usage seen so far.
    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// Folds one event in.
    pub fn push(&mut self, event: StreamEvent) {
        // The client's own `Call` event is not something the provider sent.
        if !matches!(event, StreamEvent::Call { .. } | StreamEvent::Routed(_)) {
            self.events += 1;
        }
        match event {
            StreamEvent::Start { id, model } => {
                if self.id.is_none() {
                    self.id = id;
                }
                if model.is_some() {
                    self.model = model;
                }
            }
            StreamEvent::TextDelta { index, text } => {
                let c = self.choices.entry(index).or_default();
                c.saw_text = true;
                c.text.push_str(&text);
            }
            StreamEvent::ReasoningDelta { index, text } => {
                self.choices.entry(index).or_default().reasoning.push_str(&text);
            }
            StreamEvent::ReasoningSignature { index, signature } => {
                self.choices.entry(index).or_default().signature = Some(signature);
            }
            StreamEvent::ToolCallDelta { index, tool_index, id, name, arguments } => {
                let call = self.choices.entry(index).or_default().tool_calls.entry(tool_index).or_default();
                if let Some(id) = id.filter(|s| !s.is_empty()) {
                    call.id = id;
                }
                if let Some(name) = name.filter(|s| !s.is_empty()) {
                    call.name.push_str(&name);
                }
                call.arguments.push_str(&arguments);
            }
            StreamEvent::Usage(u) => self.usage = Some(u),
            StreamEvent::ProviderCost { amount } => self.provider_cost = Some(amount),
            StreamEvent::ProviderFields { fields } => self.provider_fields.extend(fields),
            StreamEvent::Finish { index, reason } => {
                self.choices.entry(index).or_default().finish = Some(reason);
            }
            StreamEvent::Call { retries, adjustments, created, id, location } => {
                if location.is_some() {
                    self.location = location;
                }
                self.retries.extend(retries);
                self.adjustments.extend(adjustments);
                if self.created.is_none() {
                    self.created = created;
                }
                if self.fallback_id.is_none() {
                    self.fallback_id = id;
                }
            }
            StreamEvent::Routed(r) => self.routing = Some(r),
            StreamEvent::Other { .. } => {}
        }
    }

    /// The assembled response. A choice that never finished has `finish_reason: None`.
    pub fn finish(self) -> ChatResponse {
        let choices = self
            .choices
            .into_iter()
            .map(|(index, c)| {
                let tool_calls: Vec<ToolCall> =
                    c.tool_calls.into_values().map(|t| ToolCall::new(t.id, t.name, t.arguments)).collect();
                let content = if c.saw_text || tool_calls.is_empty() { Some(Content::Text(c.text)) } else { None };
                let mut message = Message::new(Role::Assistant, "");
                message.content = content;
                message.tool_calls = tool_calls;
                message.reasoning = (!c.reasoning.is_empty()).then_some(c.reasoning);
                message.reasoning_signature = c.signature;
                Choice::new(index, message, c.finish)
            })
            .collect();
        let id = self.id.filter(|id| !id.is_empty()).or(self.fallback_id).unwrap_or_default();
        let mut r = ChatResponse::new(id, self.model.unwrap_or_default(), choices, self.usage);
        r.provider = self.provider;
        r.provider_cost = self.provider_cost;
        r.provider_fields = self.provider_fields;
        r.created = self.created;
        r.retries = self.retries;
        r.location = self.location;
        r.adjustments = self.adjustments;
        r.routing = self.routing;
        r
    }
}

/// The events a stream would yield for a response that arrived whole (a server that answers a streamed request
/// with one JSON body, as LiteLLM's proxy does for mocked models): `Start` with the id and model, then per
/// choice its reasoning, reasoning signature, text, tool calls and finish reason, then the usage and the
/// provider-reported cost.
///
/// Folding them with a [`StreamAssembler`] gives back an equal response, except for what no event carries:
/// `provider` (the assembler's own), `created`, `service_tier`, `system_fingerprint`, `cost`, a message's
/// `refusal` and `name`; content made of parts comes back as its text, and an empty reasoning as none.
///
/// ```
/// use llm_core::{ChatResponse, Choice, FinishReason, Message, StreamAssembler, Usage, response_events};
/// let r = ChatResponse::new(
///     "chatcmpl-1",
///     "gpt-4o",
///     vec![Choice::new(0, Message::assistant("Hi!"), Some(FinishReason::Stop))],
///     Some(Usage::new(5, 2)),
/// );
/// let mut a = StreamAssembler::new();
/// for e in response_events(&r) {
///     a.push(e);
/// }
/// assert_eq!(a.finish(), r);
/// ```
pub fn response_events(r: &ChatResponse) -> Vec<StreamEvent> {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let mut out = vec![StreamEvent::Start { id: non_empty(&r.id), model: non_empty(&r.model) }];
    for c in &r.choices {
        let index = c.index;
        let m = &c.message;
        if let Some(text) = m.reasoning.as_deref().filter(|t| !t.is_empty()) {
            out.push(StreamEvent::ReasoningDelta { index, text: text.to_owned() });
        }
        if let Some(signature) = &m.reasoning_signature {
            out.push(StreamEvent::ReasoningSignature { index, signature: signature.clone() });
        }
        if let Some(content) = &m.content {
            out.push(StreamEvent::TextDelta { index, text: content.text() });
        }
        for (tool_index, call) in (0u32..).zip(&m.tool_calls) {
            out.push(StreamEvent::ToolCallDelta {
                index,
                tool_index,
                id: Some(call.id.clone()),
                name: Some(call.name.clone()),
                arguments: call.arguments.clone(),
            });
        }
        if let Some(reason) = &c.finish_reason {
            out.push(StreamEvent::Finish { index, reason: reason.clone() });
        }
    }
    if let Some(u) = r.usage {
        out.push(StreamEvent::Usage(u));
    }
    if let Some(amount) = r.provider_cost {
        out.push(StreamEvent::ProviderCost { amount });
    }
    if !r.provider_fields.is_empty() {
        out.push(StreamEvent::ProviderFields { fields: r.provider_fields.clone() });
    }
    out
}

/// Drains a stream into the response it adds up to. The first error ends it and is returned.
pub async fn collect_stream(mut stream: ChatStream) -> Result<ChatResponse> {
    let mut a = StreamAssembler::new();
    while let Some(event) = stream.next().await {
        a.push(event?);
    }
    Ok(a.finish())
}

/// Like [`collect_stream`], but stamps the response with a provider and a fallback model name.
pub async fn collect_stream_for(stream: ChatStream, provider: &ProviderId, model: &str) -> Result<ChatResponse> {
    let mut r = collect_stream(stream).await?;
    if r.model.is_empty() {
        r.model = model.to_owned();
    }
    r.provider = Some(provider.clone());
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn assembles_interleaved_choices_and_tool_calls() {
        let mut a = StreamAssembler::for_provider("openai");
        let events = vec![
            StreamEvent::Start { id: Some("chatcmpl-1".into()), model: Some("gpt-4o".into()) },
            StreamEvent::TextDelta { index: 1, text: "B".into() },
            StreamEvent::ToolCallDelta {
                index: 0,
                tool_index: 0,
                id: Some("call_1".into()),
                name: Some("get_weather".into()),
                arguments: "{\"ci".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                tool_index: 1,
                id: Some("call_2".into()),
                name: Some("get_time".into()),
                arguments: "{}".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                tool_index: 0,
                id: None,
                name: None,
                arguments: "ty\":\"Paris\"}".into(),
            },
            StreamEvent::ReasoningDelta { index: 1, text: "thinking".into() },
            StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls },
            StreamEvent::Usage(Usage::new(10, 1)),
            StreamEvent::Usage(Usage::new(10, 7).with_reasoning(2)),
            StreamEvent::Other { raw: "ping".into() },
        ];
        for e in events {
            a.push(e);
        }
        assert_eq!(a.events(), 10);
        let r = a.finish();
        assert_eq!(r.id, "chatcmpl-1");
        assert_eq!(r.model, "gpt-4o");
        assert_eq!(r.provider.as_ref().map(ProviderId::as_str), Some("openai"));
        assert_eq!(r.choices.len(), 2);
        let c0 = &r.choices[0];
        assert_eq!(c0.message.content, None);
        assert_eq!(
            c0.message.tool_calls,
            vec![
                ToolCall::new("call_1", "get_weather", "{\"city\":\"Paris\"}"),
                ToolCall::new("call_2", "get_time", "{}"),
            ]
        );
        assert_eq!(c0.finish_reason, Some(FinishReason::ToolCalls));
        let c1 = &r.choices[1];
        assert_eq!(c1.message.text(), "B");
        assert_eq!(c1.message.reasoning.as_deref(), Some("thinking"));
        assert_eq!(c1.finish_reason, None);
        assert_eq!(r.usage, Some(Usage::new(10, 7).with_reasoning(2)), "last usage wins");
    }

    #[test]
    fn response_events_fold_back_into_the_response() {
        let mut thinking = Message::assistant("Paris.");
        thinking.reasoning = Some("The capital of France".into());
        thinking.reasoning_signature = Some("sig-1".into());
        let tools = Message::assistant_tool_calls(vec![
            ToolCall::new("call_1", "get_weather", "{\"city\":\"Paris\"}"),
            ToolCall::new("call_2", "get_time", "{}"),
        ]);
        let empty_text = Message::assistant("");
        let r = ChatResponse::new(
            "chatcmpl-9",
            "gpt-4o-2024-08-06",
            vec![
                Choice::new(0, thinking, Some(FinishReason::Stop)),
                Choice::new(1, tools, Some(FinishReason::ToolCalls)),
                Choice::new(2, empty_text, Some(FinishReason::Length)),
                Choice::new(3, Message::assistant("cut"), None),
            ],
            Some(Usage::new(31, 12).with_reasoning(4).with_cache_read(8)),
        )
        .with_provider_cost("0.00042".parse::<Usd>().unwrap());
        let events = response_events(&r);
        assert_eq!(
            events[0],
            StreamEvent::Start { id: Some("chatcmpl-9".into()), model: Some("gpt-4o-2024-08-06".into()) }
        );
        assert_eq!(events.len(), 1 + 4 + 3 + 2 + 1 + 2, "{events:?}");
        let mut a = StreamAssembler::new();
        for e in events {
            a.push(e);
        }
        let back = a.finish();
        assert_eq!(back, r);
        assert_eq!(back.choices[1].message.content, None, "a tool-call-only turn has no text");
        assert_eq!(back.choices[2].message.content, Some(Content::Text(String::new())));

        let bare = ChatResponse::new("", "", vec![], None);
        assert_eq!(response_events(&bare), vec![StreamEvent::Start { id: None, model: None }]);
    }

    #[test]
    fn empty_stream_gives_empty_response() {
        let r = StreamAssembler::new().finish();
        assert!(r.choices.is_empty());
        assert_eq!(r.usage, None);
    }

    #[tokio::test]
    async fn collect_stops_at_first_error() {
        let items: Vec<Result<StreamEvent>> = vec![
            Ok(StreamEvent::TextDelta { index: 0, text: "a".into() }),
            Err(Error::decode("truncated stream")),
            Ok(StreamEvent::TextDelta { index: 0, text: "b".into() }),
        ];
        let stream: ChatStream = Box::pin(futures_util::stream::iter(items));
        let err = collect_stream(stream).await.unwrap_err();
        assert_eq!(err.kind(), &crate::ErrorKind::Decode);
    }
}

//! Decoding Anthropic's named SSE events (PROVIDERS.md §5.5). `message_delta.usage` is cumulative: it is
//! overlaid on `message_start`'s usage, never added.

use std::collections::BTreeMap;

use llm_core::{Error, Result, StreamEvent};

use super::decode::{finish_reason, usage};
use super::wire::{WireBlock, WireDelta, WireEvent, WireUsage};
use crate::adapter::{StreamDecoder, truncated};
use crate::framing::Frame;

/// The stream decoder of one Anthropic call.
#[derive(Debug, Default)]
pub struct AnthropicStreamDecoder {
    model: String,
    usage: WireUsage,
    tools: BTreeMap<u32, (u32, bool)>,
}

impl AnthropicStreamDecoder {
    /// A decoder for one stream.
    pub fn new(model: &str) -> Self {
        Self { model: model.to_owned(), ..Self::default() }
    }
}

impl StreamDecoder for AnthropicStreamDecoder {
    fn decode(&mut self, frame: Frame, out: &mut Vec<StreamEvent>) -> Result<bool> {
        let Frame::Sse(ev) = frame else {
            return Ok(false);
        };
        if !ev.stray.is_empty() {
            return Err(crate::errors::stream_error("anthropic", &self.model, ev.stray.as_bytes()));
        }
        if ev.event.as_deref() == Some("error") || (ev.event.is_none() && ev.data.contains("\"type\":\"error\"")) {
            return Err(crate::errors::stream_error("anthropic", &self.model, ev.data.as_bytes()));
        }
        if ev.data.trim().is_empty() {
            return Ok(false);
        }
        let parsed: WireEvent = serde_json::from_str(&ev.data)
            .map_err(|e| Error::decode(format!("invalid anthropic stream event: {e}")).with_body(&ev.data))?;
        match parsed {
            WireEvent::MessageStart { message } => {
                out.push(StreamEvent::Start {
                    id: Some(message.id),
                    model: Some(message.model).filter(|m| !m.is_empty()),
                });
                if let Some(u) = message.usage {
                    self.usage = u;
                    out.push(StreamEvent::Usage(usage(&self.usage)));
                }
            }
            WireEvent::ContentBlockStart { index, content_block } => match content_block {
                WireBlock::ToolUse { id, name, .. } => {
                    let tool_index = u32::try_from(self.tools.len()).unwrap_or(u32::MAX);
                    self.tools.insert(index, (tool_index, false));
                    out.push(StreamEvent::ToolCallDelta {
                        index: 0,
                        tool_index,
                        id: Some(id),
                        name: Some(name),
                        arguments: String::new(),
                    });
                }
                WireBlock::Text { text } if !text.is_empty() => out.push(StreamEvent::TextDelta { index: 0, text }),
                WireBlock::Thinking { thinking, signature } => {
                    if !thinking.is_empty() {
                        out.push(StreamEvent::ReasoningDelta { index: 0, text: thinking });
                    }
                    if let Some(signature) = signature.filter(|s| !s.is_empty()) {
                        out.push(StreamEvent::ReasoningSignature { index: 0, signature });
                    }
                }
                _ => {}
            },
            WireEvent::ContentBlockDelta { index, delta } => match delta {
                WireDelta::TextDelta { text } => out.push(StreamEvent::TextDelta { index: 0, text }),
                WireDelta::ThinkingDelta { thinking } => {
                    out.push(StreamEvent::ReasoningDelta { index: 0, text: thinking })
                }
                WireDelta::SignatureDelta { signature } => {
                    out.push(StreamEvent::ReasoningSignature { index: 0, signature })
                }
                WireDelta::InputJsonDelta { partial_json } => {
                    if let Some((tool_index, saw)) = self.tools.get_mut(&index) {
                        let tool_index = *tool_index;
                        if !partial_json.is_empty() {
                            *saw = true;
                            out.push(StreamEvent::ToolCallDelta {
                                index: 0,
                                tool_index,
                                id: None,
                                name: None,
                                arguments: partial_json,
                            });
                        }
                    }
                }
                WireDelta::Other => {}
            },
            WireEvent::MessageDelta { delta, usage: u } => {
                if let Some(u) = u {
                    self.usage.merge(&u);
                    out.push(StreamEvent::Usage(usage(&self.usage)));
                }
                if let Some(r) = delta.stop_reason {
                    out.push(StreamEvent::Finish { index: 0, reason: finish_reason(&r) });
                }
            }
            WireEvent::MessageStop => return Ok(true),
            WireEvent::Error => return Err(crate::errors::stream_error("anthropic", &self.model, ev.data.as_bytes())),
            WireEvent::ContentBlockStop { index } => {
                if let Some((tool_index, false)) = self.tools.get(&index).copied() {
                    out.push(StreamEvent::ToolCallDelta {
                        index: 0,
                        tool_index,
                        id: None,
                        name: None,
                        arguments: "{}".to_owned(),
                    });
                }
            }
            WireEvent::Ping | WireEvent::Other => {}
        }
        Ok(false)
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<()> {
        Err(truncated("message_stop").with_provider("anthropic").with_model(self.model.as_str()))
    }
}

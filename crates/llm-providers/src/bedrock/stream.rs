//! Decoding Bedrock's `converse-stream` event-stream messages (PROVIDERS.md §13.4). Usage arrives in the
//! final `metadata` event; exceptions arrive as `:message-type: exception` messages.

use std::collections::BTreeMap;

use llm_core::{Error, ErrorKind, Result, StreamEvent};
use serde::de::DeserializeOwned;

use super::decode::{finish_reason, usage};
use super::wire::{WireBlockDelta, WireBlockStart, WireMessageStop, WireMetadata};
use crate::adapter::{StreamDecoder, truncated};
use crate::framing::{EventMessage, Frame};

/// The stream decoder of one Bedrock call.
#[derive(Debug, Default)]
pub struct BedrockStreamDecoder {
    model: String,
    tools: BTreeMap<u32, u32>,
}

impl BedrockStreamDecoder {
    /// A decoder for one stream.
    pub fn new(model: &str) -> Self {
        Self { model: model.to_owned(), tools: BTreeMap::new() }
    }

    fn parse<T: DeserializeOwned>(&self, m: &EventMessage) -> Result<T> {
        serde_json::from_slice(&m.payload).map_err(|e| {
            Error::decode(format!("invalid bedrock stream event: {e}")).with_body(&String::from_utf8_lossy(&m.payload))
        })
    }

    fn exception(&self, m: &EventMessage) -> Error {
        let name = m.header(":exception-type").unwrap_or("exception");
        let kind = match name {
            "throttlingException" | "modelNotReadyException" => ErrorKind::RateLimited,
            "serviceUnavailableException" => ErrorKind::Overloaded,
            "internalServerException" | "modelStreamErrorException" => ErrorKind::Server,
            "modelTimeoutException" => ErrorKind::Timeout,
            "validationException" => {
                let text = String::from_utf8_lossy(&m.payload).to_ascii_lowercase();
                if text.contains("too long") || text.contains("context") {
                    ErrorKind::ContextLength
                } else {
                    ErrorKind::InvalidRequest
                }
            }
            "accessDeniedException" => ErrorKind::Permission,
            _ => ErrorKind::Server,
        };
        let message = serde_json::from_slice::<serde_json::Value>(&m.payload)
            .ok()
            .and_then(|v| v.get("message").and_then(|s| s.as_str()).map(str::to_owned))
            .unwrap_or_else(|| name.to_owned());
        Error::new(kind, format!("{name} in stream: {message}"))
            .with_provider("bedrock")
            .with_model(self.model.as_str())
            .with_body(&String::from_utf8_lossy(&m.payload))
    }
}

impl StreamDecoder for BedrockStreamDecoder {
    fn decode(&mut self, frame: Frame, out: &mut Vec<StreamEvent>) -> Result<bool> {
        let Frame::Message(m) = frame else {
            return Ok(false);
        };
        if m.header(":message-type") != Some("event") {
            return Err(self.exception(&m));
        }
        match m.header(":event-type").unwrap_or_default() {
            "messageStart" => out.push(StreamEvent::Start { id: None, model: Some(self.model.clone()) }),
            "contentBlockStart" => {
                let s: WireBlockStart = self.parse(&m)?;
                if let Some(t) = s.start.and_then(|b| b.tool_use) {
                    let tool_index = u32::try_from(self.tools.len()).unwrap_or(u32::MAX);
                    self.tools.insert(s.content_block_index, tool_index);
                    out.push(StreamEvent::ToolCallDelta {
                        index: 0,
                        tool_index,
                        id: Some(t.tool_use_id),
                        name: Some(t.name),
                        arguments: String::new(),
                    });
                }
            }
            "contentBlockDelta" => {
                let d: WireBlockDelta = self.parse(&m)?;
                let Some(delta) = d.delta else {
                    return Ok(false);
                };
                if let Some(t) = delta.text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { index: 0, text: t });
                }
                if let Some(input) = delta.tool_use.and_then(|t| t.input) {
                    let piece = match input {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if let Some(&tool_index) = self.tools.get(&d.content_block_index) {
                        out.push(StreamEvent::ToolCallDelta {
                            index: 0,
                            tool_index,
                            id: None,
                            name: None,
                            arguments: piece,
                        });
                    }
                }
                if let Some(t) = delta.reasoning_content.and_then(|r| r.text).filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::ReasoningDelta { index: 0, text: t });
                }
            }
            "messageStop" => {
                let s: WireMessageStop = self.parse(&m)?;
                if let Some(r) = s.stop_reason {
                    out.push(StreamEvent::Finish { index: 0, reason: finish_reason(&r) });
                }
            }
            "metadata" => {
                let md: WireMetadata = self.parse(&m)?;
                if let Some(u) = md.usage {
                    out.push(StreamEvent::Usage(usage(&u)));
                }
                return Ok(true);
            }
            _ => {}
        }
        Ok(false)
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<()> {
        Err(truncated("the metadata event").with_provider("bedrock").with_model(self.model.as_str()))
    }
}

//! Decoding Ollama's NDJSON stream (PROVIDERS.md §7.3): usage and `done_reason` only on the `done: true`
//! line; a mid-stream failure is a final `{"error": "…"}` line.

use llm_core::{Error, Result, StreamEvent};

use super::decode::{finish_reason, tool_call, usage};
use super::wire::WireChat;
use crate::adapter::{StreamDecoder, truncated};
use crate::framing::Frame;

/// The stream decoder of one Ollama call.
#[derive(Debug, Default)]
pub struct OllamaStreamDecoder {
    provider: String,
    model: String,
    started: bool,
    tools: usize,
}

impl OllamaStreamDecoder {
    /// A decoder for one stream.
    pub fn new(provider: &str, model: &str) -> Self {
        Self { provider: provider.to_owned(), model: model.to_owned(), ..Self::default() }
    }
}

impl StreamDecoder for OllamaStreamDecoder {
    fn decode(&mut self, frame: Frame, out: &mut Vec<StreamEvent>) -> Result<bool> {
        let Frame::Line(line) = frame else {
            return Ok(false);
        };
        let w: WireChat = serde_json::from_slice(&line).map_err(|e| {
            Error::decode(format!("invalid ollama stream line: {e}")).with_body(&String::from_utf8_lossy(&line))
        })?;
        if w.error.is_some() {
            return Err(crate::errors::stream_error(&self.provider, &self.model, &line));
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start { id: None, model: w.model.clone() });
        }
        if let Some(m) = &w.message {
            if let Some(t) = m.thinking.clone().filter(|t| !t.is_empty()) {
                out.push(StreamEvent::ReasoningDelta { index: 0, text: t });
            }
            if let Some(t) = m.content.clone().filter(|t| !t.is_empty()) {
                out.push(StreamEvent::TextDelta { index: 0, text: t });
            }
            for c in &m.tool_calls {
                let call = tool_call(c, self.tools);
                out.push(StreamEvent::ToolCallDelta {
                    index: 0,
                    tool_index: u32::try_from(self.tools).unwrap_or(u32::MAX),
                    id: Some(call.id),
                    name: Some(call.name),
                    arguments: call.arguments,
                });
                self.tools += 1;
            }
        }
        if w.done {
            let reason = w.done_reason.as_deref().unwrap_or("stop");
            out.push(StreamEvent::Finish { index: 0, reason: finish_reason(reason, self.tools > 0) });
            out.push(StreamEvent::Usage(usage(&w)));
            return Ok(true);
        }
        Ok(false)
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<()> {
        Err(truncated("the done line").with_provider(self.provider.as_str()).with_model(self.model.as_str()))
    }
}

//! Decoding Gemini's `alt=sse` stream (PROVIDERS.md §6.5): every chunk holds new parts; `usageMetadata` holds
//! running totals (the last one wins); there is no end marker, the body just ends after `finishReason`;
//! errors may arrive as JSON without `data:`.

use std::collections::BTreeSet;

use llm_core::{Error, Result, StreamEvent};

use super::decode::{finish_reason, tool_call, usage};
use super::wire::WireResponse;
use crate::adapter::{StreamDecoder, truncated};
use crate::framing::Frame;

/// The stream decoder of one Gemini call.
#[derive(Debug, Default)]
pub struct GeminiStreamDecoder {
    model: String,
    started: bool,
    tools: usize,
    called: BTreeSet<u32>,
    finished: bool,
}

impl GeminiStreamDecoder {
    /// A decoder for one stream.
    pub fn new(model: &str) -> Self {
        Self { model: model.to_owned(), ..Self::default() }
    }
}

impl StreamDecoder for GeminiStreamDecoder {
    fn decode(&mut self, frame: Frame, out: &mut Vec<StreamEvent>) -> Result<bool> {
        let Frame::Sse(ev) = frame else {
            return Ok(false);
        };
        if !ev.stray.is_empty() {
            return Err(crate::errors::stream_error("gemini", &self.model, ev.stray.as_bytes()));
        }
        if ev.data.trim().is_empty() {
            return Ok(false);
        }
        let r: WireResponse = serde_json::from_str(&ev.data)
            .map_err(|e| Error::decode(format!("invalid gemini stream chunk: {e}")).with_body(&ev.data))?;
        if r.error.is_some() {
            return Err(crate::errors::stream_error("gemini", &self.model, ev.data.as_bytes()));
        }
        if !self.started && (r.response_id.is_some() || r.model_version.is_some()) {
            self.started = true;
            out.push(StreamEvent::Start { id: r.response_id.clone(), model: r.model_version.clone() });
        }
        for c in &r.candidates {
            let index = c.index.unwrap_or(0);
            for p in c.content.iter().flat_map(|c| c.parts.iter()) {
                if let Some(call) = tool_call(p, self.tools) {
                    let tool_index = u32::try_from(self.tools).unwrap_or(u32::MAX);
                    self.tools += 1;
                    self.called.insert(index);
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        tool_index,
                        id: Some(call.id),
                        name: Some(call.name),
                        arguments: call.arguments,
                    });
                } else if let Some(t) = p.text.clone().filter(|t| !t.is_empty()) {
                    out.push(if p.thought == Some(true) {
                        StreamEvent::ReasoningDelta { index, text: t }
                    } else {
                        StreamEvent::TextDelta { index, text: t }
                    });
                }
            }
            if let Some(f) = &c.finish_reason {
                self.finished = true;
                out.push(StreamEvent::Finish { index, reason: finish_reason(f, self.called.contains(&index)) });
            }
        }
        if r.candidates.is_empty() && r.prompt_feedback.as_ref().is_some_and(|f| f.block_reason.is_some()) {
            self.finished = true;
            out.push(StreamEvent::Finish { index: 0, reason: llm_core::FinishReason::ContentFilter });
        }
        if let Some(u) = &r.usage_metadata {
            out.push(StreamEvent::Usage(usage(u)));
        }
        Ok(false)
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<()> {
        if self.finished {
            Ok(())
        } else {
            Err(truncated("a finishReason").with_provider("gemini").with_model(self.model.as_str()))
        }
    }
}

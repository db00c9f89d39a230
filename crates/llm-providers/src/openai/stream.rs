//! Decoding an OpenAI-family SSE stream: llm-core's chunk decoder, plus `[DONE]`, errors inside the stream
//! (a `data:` object with `error`, OpenRouter's `finish_reason: "error"` chunk, stray JSON), Groq's
//! `x_groq.usage`, and the usage rules of §1.1.

use llm_core::openai::ChunkDecoder;
use llm_core::{Result, StreamEvent, Usage};

use super::decode::{apply_reasoning_rule, quirk_cost, reports_cost};
use super::wire::{UsageEnvelope, x_groq_usage};
use crate::adapter::{StreamDecoder, truncated};
use crate::framing::Frame;
use crate::registry::Quirks;

/// The stream decoder of one OpenAI-family call.
#[derive(Debug)]
pub struct OpenAiStreamDecoder {
    inner: ChunkDecoder,
    quirks: &'static Quirks,
    provider: String,
    model: String,
    saw_finish: bool,
    saw_usage: bool,
}

impl OpenAiStreamDecoder {
    /// A decoder for one stream of `provider`.
    pub fn new(quirks: &'static Quirks, provider: &str, model: &str) -> Self {
        Self {
            inner: ChunkDecoder::new(),
            quirks,
            provider: provider.to_owned(),
            model: model.to_owned(),
            saw_finish: false,
            saw_usage: false,
        }
    }

    fn chunk(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<()> {
        let start = out.len();
        let decoded = match self.inner.decode(data.as_bytes()) {
            Err(e) if data.contains("\"thinking\"") => {
                match super::decode::normalize_thinking_chunks(data.as_bytes()) {
                    Some(fixed) => self.inner.decode(&fixed).map_err(|_| e),
                    None => Err(e),
                }
            }
            other => other,
        };
        match decoded {
            Ok(events) => out.extend(events),
            Err(e) => {
                if data.contains("\"error\"") && serde_json::from_str::<serde_json::Value>(data).is_ok() {
                    return Err(crate::errors::stream_error(&self.provider, &self.model, data.as_bytes()));
                }
                return Err(e.with_provider(self.provider.as_str()).with_model(self.model.as_str()));
            }
        }
        let mut usage_at = None;
        for (i, ev) in out.iter().enumerate().skip(start) {
            match ev {
                StreamEvent::Finish { .. } => self.saw_finish = true,
                StreamEvent::Usage(_) => usage_at = Some(i),
                _ => {}
            }
        }
        let reasoning = usage_at
            .and_then(|i| match &out[i] {
                StreamEvent::Usage(u) => u.reasoning_tokens,
                _ => None,
            })
            .unwrap_or(0);
        let groq = self.quirks.x_groq_usage && data.contains("\"x_groq\"");
        if reasoning > 0 || groq || (usage_at.is_some() && reports_cost(self.quirks)) {
            let env: UsageEnvelope = serde_json::from_str(data).unwrap_or_default();
            if let (Some(i), Some(raw)) = (usage_at, env.usage.as_ref()) {
                if let StreamEvent::Usage(u) = &mut out[i] {
                    apply_reasoning_rule(u, raw);
                }
                if let Some(amount) = quirk_cost(raw, self.quirks) {
                    out.push(StreamEvent::ProviderCost { amount });
                }
            }
            if usage_at.is_none()
                && !self.saw_usage
                && let Some((wire, raw)) = env.x_groq.as_ref().and_then(x_groq_usage)
            {
                let mut u: Usage = wire.to_usage();
                apply_reasoning_rule(&mut u, &raw);
                out.push(StreamEvent::Usage(u));
                usage_at = Some(out.len() - 1);
            }
        }
        if usage_at.is_some() {
            self.saw_usage = true;
        }
        Ok(())
    }
}

impl StreamDecoder for OpenAiStreamDecoder {
    fn decode(&mut self, frame: Frame, out: &mut Vec<StreamEvent>) -> Result<bool> {
        let Frame::Sse(ev) = frame else {
            return Ok(false);
        };
        if !ev.stray.is_empty() {
            return Err(crate::errors::stream_error(&self.provider, &self.model, ev.stray.as_bytes()));
        }
        let data = ev.data.trim();
        if data == "[DONE]" {
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(false);
        }
        self.chunk(data, out)?;
        Ok(false)
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<()> {
        if self.saw_finish {
            Ok(())
        } else {
            Err(truncated("[DONE]").with_provider(self.provider.as_str()).with_model(self.model.as_str()))
        }
    }
}

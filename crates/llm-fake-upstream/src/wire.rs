//! Replies in each provider's exact wire format, for a given text and token counts.
//!
//! These are small, valid answers for tests and benchmarks. For the full documented shapes, serve the fixture
//! files with [`Reply::json`], [`Reply::sse_transcript`] and [`Reply::ndjson_transcript`].

use serde_json::{Value, json};

use crate::Reply;

pub mod google;

/// OpenAI chat completions (and the OpenAI-compatible family).
pub mod openai {
    use super::*;

    /// A `chat.completion` with one text choice.
    pub fn chat(text: &str, prompt_tokens: u64, completion_tokens: u64) -> Reply {
        Reply::json_value(
            200,
            &json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_794_312_345u64, "model": "fake-model",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}
            }),
        )
    }

    /// An SSE stream: a role chunk, one chunk per piece, a finish chunk, a usage chunk and `[DONE]`.
    pub fn stream(pieces: &[&str], prompt_tokens: u64, completion_tokens: u64) -> Reply {
        let chunk = |choices: Value, usage: Value| {
            let c = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_794_312_345u64,
                           "model": "fake-model", "choices": choices, "usage": usage});
            format!("data: {c}\n\n")
        };
        let mut events = vec![chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
            Value::Null,
        )];
        for p in pieces {
            events.push(chunk(json!([{"index": 0, "delta": {"content": p}, "finish_reason": null}]), Value::Null));
        }
        events.push(chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]), Value::Null));
        events.push(chunk(
            json!([]),
            json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                   "total_tokens": prompt_tokens + completion_tokens}),
        ));
        events.push("data: [DONE]\n\n".to_owned());
        Reply::stream("text/event-stream", events)
    }

    /// An OpenAI-shaped error body with this status.
    pub fn error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Reply {
        Reply::json_value(status, &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}))
    }
}

/// Anthropic Messages.
pub mod anthropic {
    use super::*;

    /// A `message` with one text block.
    pub fn message(text: &str, input_tokens: u64, output_tokens: u64) -> Reply {
        Reply::json_value(
            200,
            &json!({
                "id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-fake",
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                          "output_tokens": output_tokens}
            }),
        )
    }

    /// A named-event SSE stream: `message_start`, one text block with a delta per piece, `message_delta` with
    /// the cumulative usage, `message_stop`.
    pub fn stream(pieces: &[&str], input_tokens: u64, output_tokens: u64) -> Reply {
        let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        let mut events = vec![
            ev(
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message", "role": "assistant",
                       "model": "claude-fake", "content": [], "stop_reason": null, "stop_sequence": null,
                       "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
            ),
            ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
        ];
        for p in pieces {
            events.push(ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}),
            ));
        }
        events.push(ev("content_block_stop", json!({"type": "content_block_stop", "index": 0})));
        events.push(ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": output_tokens}}),
        ));
        events.push(ev("message_stop", json!({"type": "message_stop"})));
        Reply::stream("text/event-stream", events)
    }

    /// An Anthropic error body.
    pub fn error(status: u16, kind: &str, message: &str) -> Reply {
        Reply::json_value(
            status,
            &json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"}),
        )
    }
}

/// Gemini `generateContent`.
pub mod gemini {
    use super::*;

    fn response(text: &str, prompt: u64, candidates: u64, finish: bool) -> Value {
        let mut candidate = json!({"content": {"parts": [{"text": text}], "role": "model"}, "index": 0});
        if finish {
            candidate["finishReason"] = "STOP".into();
        }
        json!({
            "candidates": [candidate],
            "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": candidates,
                              "totalTokenCount": prompt + candidates},
            "modelVersion": "gemini-fake", "responseId": "resp-fake"
        })
    }

    /// A `GenerateContentResponse` with one text candidate.
    pub fn generate(text: &str, prompt_tokens: u64, candidates_tokens: u64) -> Reply {
        Reply::json_value(200, &response(text, prompt_tokens, candidates_tokens, true))
    }

    /// An `alt=sse` stream: one chunk per piece, running usage totals, `finishReason` on the last chunk.
    pub fn stream(pieces: &[&str], prompt_tokens: u64, candidates_tokens: u64) -> Reply {
        let n = pieces.len();
        let events = pieces.iter().enumerate().map(|(i, p)| {
            let running = candidates_tokens * (i as u64 + 1) / n.max(1) as u64;
            format!("data: {}\r\n\r\n", response(p, prompt_tokens, running, i + 1 == n))
        });
        Reply::stream("text/event-stream", events.collect::<Vec<_>>())
    }

    /// A Google RPC error body.
    pub fn error(status: u16, rpc_status: &str, message: &str) -> Reply {
        Reply::json_value(status, &json!({"error": {"code": status, "message": message, "status": rpc_status}}))
    }
}

/// Ollama's native `/api/chat`.
pub mod ollama {
    use super::*;

    fn line(content: &str, done: Option<(u64, u64)>) -> Value {
        let mut v = json!({"model": "llama-fake", "created_at": "2026-11-10T12:10:00.000000000Z",
                           "message": {"role": "assistant", "content": content}, "done": done.is_some()});
        if let Some((p, e)) = done {
            v["done_reason"] = "stop".into();
            v["total_duration"] = 1_000_000u64.into();
            v["prompt_eval_count"] = p.into();
            v["eval_count"] = e.into();
        }
        v
    }

    /// A non-streamed reply.
    pub fn chat(text: &str, prompt_eval_count: u64, eval_count: u64) -> Reply {
        Reply::json_value(200, &line(text, Some((prompt_eval_count, eval_count))))
    }

    /// An NDJSON stream: one line per piece and a final `done: true` line with the counts.
    pub fn stream(pieces: &[&str], prompt_eval_count: u64, eval_count: u64) -> Reply {
        let mut lines: Vec<String> = pieces.iter().map(|p| format!("{}\n", line(p, None))).collect();
        lines.push(format!("{}\n", line("", Some((prompt_eval_count, eval_count)))));
        Reply::stream("application/x-ndjson", lines)
    }
}

/// Bedrock Converse, including the AWS binary event-stream encoding.
pub mod bedrock {
    use super::*;

    /// A `ConverseResponse` with one text block.
    pub fn converse(text: &str, input_tokens: u64, output_tokens: u64) -> Reply {
        Reply::json_value(
            200,
            &json!({
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens,
                          "totalTokens": input_tokens + output_tokens},
                "metrics": {"latencyMs": 12}
            }),
        )
    }

    /// A Bedrock error: the status, `x-amzn-ErrorType` and a `{"message"}` body.
    pub fn error(status: u16, error_type: &str, message: &str) -> Reply {
        Reply::json_value(status, &json!({ "message": message })).header("x-amzn-errortype", error_type)
    }

    /// One event-stream message with string headers and a payload.
    pub fn encode_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        for (name, value) in headers {
            h.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
            h.extend_from_slice(name.as_bytes());
            h.push(7); // string
            h.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
            h.extend_from_slice(value.as_bytes());
        }
        let total = 12 + h.len() + payload.len() + 4;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&u32::try_from(h.len()).unwrap_or(u32::MAX).to_be_bytes());
        let prelude_crc = crc32(&out);
        out.extend_from_slice(&prelude_crc.to_be_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(payload);
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// An `event` message: `:message-type: event`, `:event-type: <name>`, JSON content type.
    pub fn event(name: &str, payload: &Value) -> Vec<u8> {
        encode_message(
            &[(":event-type", name), (":content-type", "application/json"), (":message-type", "event")],
            payload.to_string().as_bytes(),
        )
    }

    /// An `exception` message.
    pub fn exception(name: &str, message: &str) -> Vec<u8> {
        encode_message(
            &[(":exception-type", name), (":content-type", "application/json"), (":message-type", "exception")],
            json!({ "message": message }).to_string().as_bytes(),
        )
    }

    /// A `converse-stream` reply made of these encoded messages, one per chunk.
    pub fn event_stream(messages: Vec<Vec<u8>>) -> Reply {
        Reply::stream("application/vnd.amazon.eventstream", messages)
    }

    /// A stream from decoded `{":event-type": name, "payload": {...}}` lines (the fixture format).
    pub fn event_stream_from_jsonl(text: &str) -> Reply {
        let messages = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| event(v[":event-type"].as_str().unwrap_or_default(), &v["payload"]))
            .collect();
        event_stream(messages)
    }

    /// A stream: `messageStart`, one text delta per piece, `contentBlockStop`, `messageStop`, `metadata`.
    pub fn stream(pieces: &[&str], input_tokens: u64, output_tokens: u64) -> Reply {
        let mut m = vec![event("messageStart", &json!({"role": "assistant"}))];
        for p in pieces {
            m.push(event("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": p}})));
        }
        m.push(event("contentBlockStop", &json!({"contentBlockIndex": 0})));
        m.push(event("messageStop", &json!({"stopReason": "end_turn"})));
        m.push(event(
            "metadata",
            &json!({"usage": {"inputTokens": input_tokens, "outputTokens": output_tokens,
                              "totalTokens": input_tokens + output_tokens}, "metrics": {"latencyMs": 10}}),
        ));
        event_stream(m)
    }

    /// CRC-32 (IEEE 802.3), as the event-stream framing uses it.
    pub fn crc32(bytes: &[u8]) -> u32 {
        crc32fast::hash(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(bedrock::crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn event_stream_frames_have_consistent_lengths() {
        let m = bedrock::event("messageStart", &json!({"role": "assistant"}));
        let total = u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize;
        assert_eq!(total, m.len());
    }
}

/// OpenAI's Responses API (`POST /v1/responses`; Azure's `/openai/v1/responses`): response objects, output
/// items, and SSE streams of named semantic events (`event: response.created` ... `event: response.completed`,
/// each data object with its `type` and `sequence_number`), in OpenAI's exact shapes.
pub mod openai_responses {
    use super::*;

    /// A `usage` object: cached tokens inside `input_tokens`, reasoning inside `output_tokens`.
    pub fn usage(input_tokens: u64, cached_tokens: u64, output_tokens: u64, reasoning_tokens: u64) -> Value {
        json!({
            "input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": cached_tokens},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens
        })
    }

    /// An assistant `message` item with one `output_text` part.
    pub fn message_item(id: &str, text: &str) -> Value {
        json!({"id": id, "type": "message", "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]})
    }

    /// A `reasoning` item with these summary lines and, when given, encrypted content.
    pub fn reasoning_item(id: &str, summary: &[&str], encrypted_content: Option<&str>) -> Value {
        let summary: Vec<Value> = summary.iter().map(|t| json!({"type": "summary_text", "text": t})).collect();
        let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
        if let (Some(e), Some(o)) = (encrypted_content, item.as_object_mut()) {
            o.insert("encrypted_content".into(), e.into());
        }
        item
    }

    /// A `function_call` item.
    pub fn function_call_item(id: &str, call_id: &str, name: &str, arguments: &str) -> Value {
        json!({"id": id, "type": "function_call", "status": "completed", "arguments": arguments,
               "call_id": call_id, "name": name})
    }

    /// A response object (`object: "response"`) with this status, output and usage (`Value::Null` for none).
    pub fn response_object(status: &str, model: &str, output: Vec<Value>, usage: Value) -> Value {
        json!({
            "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b", "object": "response",
            "created_at": 1_741_476_542u64, "status": status, "background": false, "error": null,
            "incomplete_details": null, "instructions": null, "max_output_tokens": null, "model": model,
            "output": output, "parallel_tool_calls": true, "previous_response_id": null,
            "reasoning": {"effort": "medium", "summary": null}, "service_tier": "default", "store": false,
            "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled", "usage": usage,
            "user": null, "metadata": {}
        })
    }

    /// A completed response with one text message.
    pub fn response(text: &str, input_tokens: u64, output_tokens: u64) -> Reply {
        let output = vec![message_item("msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b", text)];
        Reply::json_value(
            200,
            &response_object("completed", "o1-pro-2025-03-19", output, usage(input_tokens, 0, output_tokens, 0)),
        )
    }

    /// A completed response of `o1-pro-2025-03-19` with these output items and usage.
    pub fn response_with(output: Vec<Value>, usage: Value) -> Reply {
        response_of("o1-pro-2025-03-19", output, usage)
    }

    /// A completed response of `model` with these output items and usage.
    pub fn response_of(model: &str, output: Vec<Value>, usage: Value) -> Reply {
        Reply::json_value(200, &response_object("completed", model, output, usage))
    }

    /// An SSE stream of these events: `event: {type}` and `data: {...}` with `sequence_number` from 0.
    pub fn events(events: Vec<Value>) -> Reply {
        let frames: Vec<String> = events
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                let kind = e.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
                if let Some(o) = e.as_object_mut() {
                    o.insert("sequence_number".into(), i.into());
                }
                format!("event: {kind}\ndata: {e}\n\n")
            })
            .collect();
        Reply::stream("text/event-stream", frames)
    }

    /// The events of a streamed text answer (without the closing `response.completed`): created,
    /// in_progress, the message item added, its text part, one `response.output_text.delta` per piece, the
    /// text done, the item done.
    pub fn text_events(pieces: &[&str], output_index: u32) -> Vec<Value> {
        let id = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b";
        let text: String = pieces.concat();
        let mut out = vec![
            json!({"type": "response.output_item.added", "output_index": output_index,
                   "item": {"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
            json!({"type": "response.content_part.added", "item_id": id, "output_index": output_index,
                   "content_index": 0, "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}),
        ];
        for p in pieces {
            out.push(json!({"type": "response.output_text.delta", "item_id": id, "output_index": output_index,
                            "content_index": 0, "delta": p, "logprobs": []}));
        }
        out.push(json!({"type": "response.output_text.done", "item_id": id, "output_index": output_index,
                        "content_index": 0, "text": text, "logprobs": []}));
        out.push(json!({"type": "response.content_part.done", "item_id": id, "output_index": output_index,
                        "content_index": 0, "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": text}}));
        out.push(
            json!({"type": "response.output_item.done", "output_index": output_index, "item": message_item(id, &text)}),
        );
        out
    }

    /// `response.created` and `response.in_progress` for a response of `model`.
    pub fn start_events(model: &str) -> Vec<Value> {
        vec![
            json!({"type": "response.created", "response": response_object("in_progress", model, vec![], Value::Null)}),
            json!({"type": "response.in_progress", "response": response_object("in_progress", model, vec![], Value::Null)}),
        ]
    }

    /// A whole streamed text answer ending in `response.completed` with this usage.
    pub fn stream(pieces: &[&str], input_tokens: u64, output_tokens: u64) -> Reply {
        let model = "o1-pro-2025-03-19";
        let mut evs = start_events(model);
        evs.extend(text_events(pieces, 0));
        let done = message_item("msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b", &pieces.concat());
        evs.push(json!({"type": "response.completed",
                        "response": response_object("completed", model, vec![done], usage(input_tokens, 0, output_tokens, 0))}));
        events(evs)
    }
}

/// Embedding answers of every provider that serves embeddings.
pub mod embeddings;

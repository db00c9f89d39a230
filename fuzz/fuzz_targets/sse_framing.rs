//! Arbitrary bytes, cut at arbitrary points, through every framer (SSE, NDJSON, AWS event stream) and the
//! stream decoder of every provider (`adapter::decode_stream`): never a panic, and a framer gives the same
//! frames however its input is cut.
//!
//! Input layout: a count byte `n`, then `n` chunk-length bytes (cycled over the body, each 1..=256), then the
//! body.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use llm_providers::Limits;
use llm_providers::ProviderClient;
use llm_providers::adapter::{decode_stream, decode_stream_with_limits};
use llm_providers::framing::{EventStreamDecoder, LineSplitter, SseParser};

#[path = "common.rs"]
mod common;

static CLIENTS: OnceLock<Vec<ProviderClient>> = OnceLock::new();

fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let n = usize::from(data.first().copied().unwrap_or(0) % 16);
    let lens: Vec<usize> = data.get(1..1 + n).unwrap_or_default().iter().map(|&b| usize::from(b) + 1).collect();
    let mut body = data.get(1 + n..).unwrap_or_default();
    if lens.is_empty() {
        return vec![body];
    }
    let mut out = Vec::new();
    for len in lens.iter().cycle() {
        if body.is_empty() {
            break;
        }
        let (head, tail) = body.split_at((*len).min(body.len()));
        out.push(head);
        body = tail;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let clients = CLIENTS.get_or_init(common::clients);
    let parts = chunks(data);
    let whole: Vec<u8> = parts.concat();

    // SSE: the same events whole or in pieces.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut p = SseParser::new();
    p.feed(&whole, &mut a).expect("under the limit");
    p.finish(&mut a);
    let mut p = SseParser::new();
    for c in &parts {
        p.feed(c, &mut b).expect("under the limit");
    }
    p.finish(&mut b);
    assert_eq!(a, b);
    // A tiny limit errors or not, but never panics.
    let mut p = SseParser::with_max_event_bytes(16);
    let _ = parts.iter().try_for_each(|c| p.feed(c, &mut Vec::new()));

    // NDJSON.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut s = LineSplitter::new();
    s.feed(&whole, &mut a).expect("under the limit");
    s.finish(&mut a);
    let mut s = LineSplitter::new();
    for c in &parts {
        s.feed(c, &mut b).expect("under the limit");
    }
    s.finish(&mut b);
    assert_eq!(a, b);

    // AWS event stream: the same messages when both succeed.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let ra = EventStreamDecoder::new().feed(&whole, &mut a);
    let mut d = EventStreamDecoder::new();
    let rb = parts.iter().try_for_each(|c| d.feed(c, &mut b));
    if ra.is_ok() && rb.is_ok() {
        assert_eq!(a, b);
    }

    // Every provider's stream decoder, with the default and with tiny limits.
    let small = Limits::default().with_max_event_bytes(32);
    for c in clients {
        let _ = decode_stream(c.adapter(), "m", &parts);
        let _ = decode_stream_with_limits(c.adapter(), "m", &parts, &small);
    }
});

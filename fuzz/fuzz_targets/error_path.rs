//! Arbitrary status, header values and body bytes through the error mapping of every provider adapter
//! (`Adapter::error`) and `errors::http_error`: never a panic, and every retry hint at most
//! `errors::MAX_RETRY_HINT`.
//!
//! Input layout: status (2 bytes, big endian), a header count byte, then per header a name selector byte, a
//! length byte and that many value bytes; the rest is the body.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use llm_providers::ProviderClient;
use llm_providers::errors::{MAX_RETRY_HINT, http_error};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

#[path = "common.rs"]
mod common;

const NAMES: [&str; 6] =
    ["retry-after-ms", "retry-after", "x-should-retry", "x-amzn-errortype", "content-type", "x-request-id"];

static CLIENTS: OnceLock<Vec<ProviderClient>> = OnceLock::new();

fn split(data: &[u8]) -> (u16, HeaderMap, &[u8]) {
    let status = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 500,
    };
    let mut rest = data.get(2..).unwrap_or_default();
    let mut headers = HeaderMap::new();
    let count = rest.first().copied().unwrap_or(0) % 8;
    rest = rest.get(1..).unwrap_or_default();
    for _ in 0..count {
        let [sel, len, tail @ ..] = rest else { break };
        let len = usize::from(*len).min(tail.len());
        let (value, tail) = tail.split_at(len);
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(NAMES[usize::from(*sel) % NAMES.len()]), v);
        }
        rest = tail;
    }
    (status, headers, rest)
}

fuzz_target!(|data: &[u8]| {
    let clients = CLIENTS.get_or_init(common::clients);
    let (status, headers, body) = split(data);
    let e = http_error("fuzz", "m", status, &headers, body);
    assert!(e.retry_after().is_none_or(|d| d <= MAX_RETRY_HINT), "{:?}", e.retry_after());
    let _ = e.to_string();
    for c in clients {
        let e = c.adapter().error("m", status, &headers, body);
        assert!(e.retry_after().is_none_or(|d| d <= MAX_RETRY_HINT), "{:?}", e.retry_after());
        assert_eq!(e.status(), Some(status));
        let _ = format!("{e} {e:?}");
    }
});

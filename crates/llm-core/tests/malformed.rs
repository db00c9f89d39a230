//! Malformed input to the OpenAI-format decoders yields a typed error, never a panic: every truncation of every
//! fixture, and a deterministic set of byte mutations.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::ErrorKind;
use llm_core::openai::{self, ChunkDecoder};

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/test_data/openai", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    assert!(out.len() >= 10, "fixtures missing from {dir}");
    out
}

fn feed_all(bytes: &[u8]) -> [bool; 3] {
    let response = openai::response_from_json(bytes);
    let request = openai::request_from_json(bytes);
    let chunk = ChunkDecoder::new().decode(bytes);
    for err in [response.as_ref().err(), request.as_ref().err(), chunk.as_ref().err()].into_iter().flatten() {
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Decode
                    | ErrorKind::Server
                    | ErrorKind::RateLimited
                    | ErrorKind::InvalidRequest
                    | ErrorKind::Overloaded
            ),
            "unexpected kind {:?}",
            err.kind()
        );
    }
    [response.is_ok(), request.is_ok(), chunk.is_ok()]
}

#[test]
fn every_truncation_is_a_decode_error() {
    let mut cases = 0;
    for (name, bytes) in fixtures() {
        if !name.ends_with(".json") {
            continue;
        }
        let full_len = bytes.iter().rposition(|b| *b == b'}').unwrap() + 1;
        for cut in 0..full_len {
            let prefix = &bytes[..cut];
            let oks = feed_all(prefix);
            assert_eq!(oks, [false, false, false], "{name} cut at {cut} decoded");
            let e = openai::response_from_json(prefix).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Decode, "{name} cut at {cut}");
            cases += 1;
        }
    }
    assert!(cases > 3000, "only {cases} truncations");
}

#[test]
fn byte_mutations_never_panic() {
    // A small deterministic xorshift, so the test is the same on every run.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let replacements: &[&[u8]] =
        &[b"null", b"-1", b"1e400", b"\"\"", b"[]", b"{}", b"\"\\ud800\"", b"9999999999999999999999", b"true"];
    let mut runs = 0;
    for (_, bytes) in fixtures() {
        for _ in 0..300 {
            let mut m = bytes.clone();
            let at = (next() % m.len() as u64) as usize;
            match next() % 3 {
                0 => m[at] = (next() & 0xff) as u8,
                1 => {
                    m.remove(at);
                }
                _ => {
                    let r = replacements[(next() % replacements.len() as u64) as usize];
                    let end = (at + (next() % 8) as usize).min(m.len());
                    m.splice(at..end, r.iter().copied());
                }
            }
            feed_all(&m);
            runs += 1;
        }
    }
    assert!(runs >= 3000);
}

#[test]
fn wrong_shapes_name_the_problem() {
    let cases: &[(&[u8], &str)] = &[
        (br#"{"choices": "nope"}"#, "invalid chat.completion"),
        (br#"{"choices": [{"message": {"role": "assistant", "content": 5}}]}"#, "invalid message"),
        (br#"{"choices": [{"message": {"content": "x", "tool_calls": [{"function": {}}]}}]}"#, "invalid tool call"),
        (br#"{"choices": [{}]}"#, "invalid choice"),
        (br#"[1,2]"#, "invalid chat.completion"),
        (br#"{"choices": [], "usage": {"prompt_tokens": -3}}"#, "invalid chat.completion"),
    ];
    for (body, prefix) in cases {
        let e = openai::response_from_json(body).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Decode);
        assert!(e.message().starts_with(prefix), "{} -> {}", String::from_utf8_lossy(body), e.message());
    }
    let e = openai::request_from_json(br#"{"model": "m"}"#).unwrap_err();
    assert_eq!(e.message(), "invalid request: missing `messages` array");
    let e = openai::request_from_json(
        br#"{"model": "m", "messages": [{"role": "user", "content": [{"type": "hologram"}]}]}"#,
    )
    .unwrap_err();
    assert_eq!(e.message(), "invalid content part: unknown type \"hologram\"");
}

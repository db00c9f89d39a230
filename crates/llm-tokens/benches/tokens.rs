//! Token counting speed: o200k_base and cl100k_base on a short prompt and a long text, against the characters ÷ 4
//! estimate llm-tracking used before. Run: `cargo bench -p llm-tokens` (divan prints time per count, and tokens
//! or bytes per second through its counters).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use divan::counter::{BytesCount, ItemsCount};
use llm_tokens::Encoding;

fn main() {
    // The vocabularies load once, outside the measurements.
    Encoding::O200kBase.preload();
    Encoding::Cl100kBase.preload();
    divan::main();
}

const SHORT: &str = "Be brief. Hello there, how are you?";

/// About 140 KB of mixed prose, code and non-ASCII text.
fn long_text() -> String {
    let para = "The tracker reserves an estimate before the call and settles to the actual cost after it. \
                fn main() { println!(\"{}\", 1 + 2); } Les élèves ont écrit: «Привет, мир!» 日本語のテキスト。\n";
    para.repeat(140_000 / para.len())
}

fn chars_div_4(text: &str) -> u64 {
    if text.is_ascii() {
        return (text.len() as u64).div_ceil(4);
    }
    let (ascii, other) =
        text.chars().fold((0u64, 0u64), |(a, o), c| if c.is_ascii() { (a + 1, o) } else { (a, o + 1) });
    ascii.div_ceil(4) + other
}

const ENCODINGS: [Encoding; 2] = [Encoding::O200kBase, Encoding::Cl100kBase];

#[divan::bench(args = ENCODINGS)]
fn short(bencher: divan::Bencher, encoding: Encoding) {
    let tokens = encoding.count(SHORT);
    bencher.counter(ItemsCount::new(tokens as usize)).bench(|| encoding.count(divan::black_box(SHORT)));
}

#[divan::bench(args = ENCODINGS, sample_count = 20)]
fn long(bencher: divan::Bencher, encoding: Encoding) {
    let text = long_text();
    let tokens = encoding.count(&text);
    bencher
        .counter(ItemsCount::new(tokens as usize))
        .counter(BytesCount::of_str(&text))
        .bench(|| encoding.count(divan::black_box(&text)));
}

/// A hostile text, one 64 KB piece (no spaces): tiktoken-rs merges long pieces with a heap, not quadratically.
#[divan::bench(args = ENCODINGS, sample_count = 10)]
fn long_single_piece(bencher: divan::Bencher, encoding: Encoding) {
    let text = "a".repeat(64 * 1024);
    bencher.counter(BytesCount::of_str(&text)).bench(|| encoding.count(divan::black_box(&text)));
}

#[divan::bench]
fn chars_div_4_short(bencher: divan::Bencher) {
    bencher.counter(ItemsCount::new(chars_div_4(SHORT) as usize)).bench(|| chars_div_4(divan::black_box(SHORT)));
}

#[divan::bench]
fn chars_div_4_long(bencher: divan::Bencher) {
    let text = long_text();
    bencher.counter(BytesCount::of_str(&text)).bench(|| chars_div_4(divan::black_box(&text)));
}

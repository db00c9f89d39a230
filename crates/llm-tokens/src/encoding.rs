//! OpenAI's byte-pair encodings, loaded once on first use.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tiktoken_rs::CoreBPE;

/// A BPE encoding whose vocabulary is compiled into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// `o200k_base`: gpt-4o, gpt-4.1, gpt-4.5, gpt-5, the o-series, gpt-oss (its text; harmony only adds
    /// special tokens).
    O200kBase,
    /// `cl100k_base`: gpt-4, gpt-3.5-turbo, text-embedding-3, text-embedding-ada-002; and the approximation
    /// for every model whose tokenizer is not known here, as in LiteLLM.
    Cl100kBase,
}

static O200K: OnceLock<&'static CoreBPE> = OnceLock::new();
static CL100K: OnceLock<&'static CoreBPE> = OnceLock::new();
static O200K_LOADING: AtomicBool = AtomicBool::new(false);
static CL100K_LOADING: AtomicBool = AtomicBool::new(false);

impl Encoding {
    /// tiktoken's name for it (`o200k_base`, `cl100k_base`).
    pub fn name(self) -> &'static str {
        match self {
            Self::O200kBase => "o200k_base",
            Self::Cl100kBase => "cl100k_base",
        }
    }

    /// The encoding of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "o200k_base" => Some(Self::O200kBase),
            "cl100k_base" => Some(Self::Cl100kBase),
            _ => None,
        }
    }

    fn cell(self) -> &'static OnceLock<&'static CoreBPE> {
        match self {
            Self::O200kBase => &O200K,
            Self::Cl100kBase => &CL100K,
        }
    }

    /// The encoder, its vocabulary parsed on the first call in the process (about a quarter of a second in a
    /// release build; nothing is read from disk or the network: the vocabulary is in the binary).
    fn bpe(self) -> &'static CoreBPE {
        self.cell().get_or_init(|| match self {
            Self::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Self::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
        })
    }

    /// Loads the vocabulary now (at start-up, say) rather than on the first count.
    pub fn preload(self) {
        self.bpe();
    }

    /// Starts loading the vocabulary on a thread of its own (once per process) and returns at once: for a
    /// caller on a hot path that would rather estimate without it than wait, until [`Encoding::is_loaded`].
    pub fn load_in_background(self) {
        let started = match self {
            Self::O200kBase => &O200K_LOADING,
            Self::Cl100kBase => &CL100K_LOADING,
        };
        if self.is_loaded() || started.swap(true, Ordering::AcqRel) {
            return;
        }
        let spawned =
            std::thread::Builder::new().name(format!("llm-tokens {}", self.name())).spawn(move || self.preload());
        if spawned.is_err() {
            // No thread to be had: the next caller may try again.
            started.store(false, Ordering::Release);
        }
    }

    /// Whether the vocabulary is loaded already (a count would not pay for loading it).
    pub fn is_loaded(self) -> bool {
        self.cell().get().is_some()
    }

    /// The number of tokens of a text: every character as ordinary text (`<|endoftext|>` in a prompt is
    /// counted as the characters it is made of, as tiktoken's `encode(text, disallowed_special=())` does).
    pub fn count(self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        self.bpe().encode_ordinary(text).len() as u64
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

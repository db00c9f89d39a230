//! Which encoding counts a model's tokens, and whether that count is the model's own.

use crate::Encoding;

/// How a model's tokens are counted: an encoding, and whether it is the model's own tokenizer.
///
/// OpenAI models (gpt-4o, gpt-4.1, gpt-4.5, gpt-5, the o-series, gpt-4, gpt-3.5, the text-embedding models),
/// named bare or behind `openai/` or `azure/`, are counted exactly with their encoding. Every other model is
/// counted with `cl100k_base`, as LiteLLM's `token_counter` does when it has no tokenizer for a model, and the
/// count says it is approximate.
///
/// ```
/// use llm_tokens::{Encoding, Tokenizer};
///
/// assert_eq!(Tokenizer::for_model("gpt-4o"), Tokenizer::new(Encoding::O200kBase, true));
/// assert_eq!(Tokenizer::for_model("azure/gpt-4"), Tokenizer::new(Encoding::Cl100kBase, true));
/// assert_eq!(Tokenizer::for_model("claude-sonnet-4-5"), Tokenizer::new(Encoding::Cl100kBase, false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Tokenizer {
    /// The encoding that counts.
    pub encoding: Encoding,
    /// Whether it is the model's own tokenizer (false: an approximation).
    pub exact: bool,
}

/// Hosts whose models named like OpenAI's are OpenAI's (`mock` stands in for real models in tests and demos).
const OPENAI_HOSTS: &[&str] = &["openai", "azure", "text-completion-openai", "mock"];

/// Model names (or name prefixes, ending in `-`) and their encodings, as tiktoken's `MODEL_TO_ENCODING` and
/// `MODEL_PREFIX_TO_ENCODING` have them, plus OpenAI models tiktoken's table does not list yet (which LiteLLM
/// counts with `o200k_base`, the encoding of every OpenAI model since gpt-4o). Longest match wins.
const NAMES: &[(&str, Encoding)] = &[
    ("gpt-4o", Encoding::O200kBase),
    ("chatgpt-4o", Encoding::O200kBase),
    ("gpt-4.1", Encoding::O200kBase),
    ("gpt-4.5", Encoding::O200kBase),
    ("gpt-oss", Encoding::O200kBase),
    ("gpt-realtime", Encoding::O200kBase),
    ("gpt-audio", Encoding::O200kBase),
    ("codex-mini", Encoding::O200kBase),
    ("computer-use-preview", Encoding::O200kBase),
    ("omni-moderation", Encoding::O200kBase),
    ("gpt-4", Encoding::Cl100kBase),
    ("gpt-3.5", Encoding::Cl100kBase),
    ("gpt-35", Encoding::Cl100kBase),
    ("text-embedding-3", Encoding::Cl100kBase),
    ("text-embedding-ada-002", Encoding::Cl100kBase),
    ("davinci-002", Encoding::Cl100kBase),
    ("babbage-002", Encoding::Cl100kBase),
];

impl Tokenizer {
    /// A tokenizer of this encoding.
    pub fn new(encoding: Encoding, exact: bool) -> Self {
        Self { encoding, exact }
    }

    /// The tokenizer of a model name as a caller writes it (`gpt-4o`, `openai/gpt-4o`, `azure/gpt-4o`,
    /// `ft:gpt-4o-mini:org::id`, `claude-sonnet-4-5`, ...).
    pub fn for_model(model: &str) -> Self {
        let (host, name) = match model.rsplit_once('/') {
            Some((prefix, name)) => (prefix.split('/').next(), name),
            None => (None, model),
        };
        let openai_host = host.is_none_or(|h| OPENAI_HOSTS.contains(&h));
        match openai_encoding(name) {
            Some(encoding) => Self { encoding, exact: openai_host },
            None => Self { encoding: Encoding::Cl100kBase, exact: false },
        }
    }

    /// The tokenizer of a resolved route: the model counts exactly only when an OpenAI host serves it
    /// (`openai`, `azure`; `mock` in tests), whatever its name says.
    pub fn for_route(provider: &str, model: &str) -> Self {
        let t = Self::for_model(model);
        Self { exact: t.exact && OPENAI_HOSTS.contains(&provider), ..t }
    }

    /// The number of tokens of a text.
    pub fn count(&self, text: &str) -> u64 {
        self.encoding.count(text)
    }
}

/// The encoding of an OpenAI model name without its provider prefix, `None` when the name is not OpenAI's.
fn openai_encoding(name: &str) -> Option<Encoding> {
    let name = name.trim().to_ascii_lowercase();
    // A fine-tuned model, `ft:<base>:<org>:<suffix>:<id>`, counts with its base model's encoding.
    let name = match name.strip_prefix("ft:") {
        Some(rest) => rest.split(':').next().unwrap_or(rest).to_owned(),
        None => name,
    };
    let named = NAMES
        .iter()
        .filter(|(n, _)| name == *n || name.strip_prefix(n).is_some_and(|rest| rest.starts_with(['-', '.', ':'])))
        .max_by_key(|(n, _)| n.len())
        .map(|(_, e)| *e);
    named.or_else(|| versioned(&name).then_some(Encoding::O200kBase))
}

/// gpt-5 and later (`gpt-5`, `gpt-5.1-codex`, `gpt-6-...`) and the o-series (`o1`, `o3-mini`, `o4-mini`), as
/// LiteLLM recognizes OpenAI releases newer than tiktoken's table: all on `o200k_base`.
fn versioned(name: &str) -> bool {
    let number_then_end = |rest: &str| {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && matches!(rest.as_bytes().get(digits), None | Some(b'-' | b'.'))
    };
    if let Some(rest) = name.strip_prefix("gpt-") {
        let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return number_then_end(rest) && major.parse::<u32>().is_ok_and(|m| m >= 5);
    }
    name.strip_prefix('o').is_some_and(|rest| !rest.starts_with('0') && number_then_end(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_names_map_to_their_encodings() {
        let o200k = Tokenizer::new(Encoding::O200kBase, true);
        let cl100k = Tokenizer::new(Encoding::Cl100kBase, true);
        for m in [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4o-2024-08-06",
            "chatgpt-4o-latest",
            "gpt-4.1",
            "gpt-4.1-nano",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5.1-codex",
            "gpt-6",
            "o1",
            "o1-mini",
            "o3",
            "o3-mini",
            "o4-mini",
            "openai/gpt-4o",
            "azure/gpt-4o",
            "azure/eu/gpt-4.1",
            "mock/gpt-5",
            "ft:gpt-4o-mini-2024-07-18:my-org::abc123",
            "GPT-4O",
        ] {
            assert_eq!(Tokenizer::for_model(m), o200k, "{m}");
        }
        for m in [
            "gpt-4",
            "gpt-4-turbo",
            "gpt-4-32k",
            "gpt-3.5-turbo",
            "gpt-3.5-turbo-0125",
            "azure/gpt-35-turbo",
            "text-embedding-3-small",
            "text-embedding-ada-002",
            "ft:gpt-3.5-turbo:org::x",
        ] {
            assert_eq!(Tokenizer::for_model(m), cl100k, "{m}");
        }
    }

    #[test]
    fn other_models_are_approximated_with_cl100k() {
        let approx = Tokenizer::new(Encoding::Cl100kBase, false);
        for m in [
            "claude-sonnet-4-5",
            "anthropic/claude-sonnet-4-5",
            "gemini/gemini-2.5-flash",
            "mistral/mistral-large-latest",
            "llama-3.1-70b",
            "gpt4all",
            "gpt-4ish",
            "o",
            "o0",
            "omni",
            "azure/my-deployment",
            "",
        ] {
            assert_eq!(Tokenizer::for_model(m), approx, "{m}");
        }
        // An OpenAI model behind another host: its encoding, but not exact.
        assert_eq!(Tokenizer::for_model("openrouter/openai/gpt-4o"), Tokenizer::new(Encoding::O200kBase, false));
        assert_eq!(Tokenizer::for_route("groq", "openai/gpt-oss-120b"), Tokenizer::new(Encoding::O200kBase, false));
        assert_eq!(Tokenizer::for_route("azure", "gpt-4o"), Tokenizer::new(Encoding::O200kBase, true));
        assert_eq!(Tokenizer::for_route("openai", "claude-x"), Tokenizer::new(Encoding::Cl100kBase, false));
    }
}

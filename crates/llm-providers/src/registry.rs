//! Every provider this crate can call, as data: the native adapters and the OpenAI-compatible family with
//! their base URLs, key variables and quirks. Names are LiteLLM's spellings.

/// How a provider's wire format is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// OpenAI chat completions, with this family member's quirks.
    OpenAiCompatible(&'static Quirks),
    /// Azure OpenAI: OpenAI's body, deployment URLs, `api-version`, `api-key`.
    Azure,
    /// Anthropic Messages.
    Anthropic,
    /// Gemini `generateContent`.
    Gemini,
    /// Ollama's native `/api/chat`.
    Ollama,
    /// Bedrock Converse.
    Bedrock,
    /// Vertex AI: Gemini's and Anthropic's bodies under Google Cloud URLs, with OAuth access tokens.
    Vertex,
}

/// What sets one OpenAI-compatible provider apart from OpenAI on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quirks {
    /// The body field for the output limit: `max_completion_tokens` (OpenAI, Groq) or `max_tokens`.
    pub max_tokens_field: &'static str,
    /// The body field for the seed: `seed`, or Mistral's `random_seed`.
    pub seed_field: &'static str,
    /// Send `stream_options: {"include_usage": true}` when streaming (providers that send usage anyway, or
    /// reject unknown fields, go without).
    pub stream_usage_option: bool,
    /// Keep the `developer` role (OpenAI); others get `system`.
    pub developer_role: bool,
    /// Send assistant `reasoning_content` back (DeepSeek requires it around tool calls).
    pub reasoning_content_roundtrip: bool,
    /// Usage also arrives in `x_groq.usage` on the last stream chunk (Groq).
    pub x_groq_usage: bool,
    /// `usage.cost_in_usd_ticks` is the billed cost, 10¹⁰ ticks per USD (xAI).
    pub cost_in_usd_ticks: bool,
    /// `usage.estimated_cost` is the provider's cost of the call in USD (DeepInfra).
    pub estimated_cost: bool,
    /// The provider accepts `tool_choice` (Ollama's `/v1` does not).
    pub tool_choice: bool,
}

impl Quirks {
    /// OpenAI's own behaviour.
    pub const OPENAI: Quirks = Quirks {
        max_tokens_field: "max_completion_tokens",
        seed_field: "seed",
        stream_usage_option: true,
        developer_role: true,
        reasoning_content_roundtrip: false,
        x_groq_usage: false,
        cost_in_usd_ticks: false,
        estimated_cost: false,
        tool_choice: true,
    };

    /// A typical compatible server: `max_tokens`, usage on request, no `developer` role.
    pub const GENERIC: Quirks = Quirks { max_tokens_field: "max_tokens", developer_role: false, ..Quirks::OPENAI };
}

const GROQ: Quirks = Quirks { max_tokens_field: "max_completion_tokens", x_groq_usage: true, ..Quirks::GENERIC };
const DEEPSEEK: Quirks = Quirks { reasoning_content_roundtrip: true, ..Quirks::GENERIC };
const XAI: Quirks = Quirks { cost_in_usd_ticks: true, ..Quirks::GENERIC };
const MISTRAL: Quirks = Quirks { seed_field: "random_seed", stream_usage_option: false, ..Quirks::GENERIC };
const USAGE_ALWAYS: Quirks = Quirks { stream_usage_option: false, ..Quirks::GENERIC };
const OLLAMA_V1: Quirks = Quirks { tool_choice: false, ..Quirks::GENERIC };
const DEEPINFRA: Quirks = Quirks { estimated_cost: true, ..Quirks::GENERIC };

/// One provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderSpec {
    /// The canonical name (LiteLLM's spelling): the model prefix and the `provider` in records.
    pub name: &'static str,
    /// How it is spoken.
    pub dialect: Dialect,
    /// The default base URL (scheme, host, port and the path before the provider's own API path). Empty
    /// when it depends on the deployment (Azure: `AZURE_API_BASE`; Bedrock: the region).
    pub base_url: &'static str,
    /// Environment variables holding the base URL, read when no api_base is given (`LITELLM_PROXY_API_BASE`).
    /// A provider with an empty `base_url` and such variables fails to build, naming them, when none is set.
    pub base_env: &'static [&'static str],
    /// Environment variables holding the API key, in order of preference.
    pub key_env: &'static [&'static str],
    /// Whether a call needs a key (local servers do not).
    pub key_required: bool,
}

macro_rules! compat {
    ($name:literal, $quirks:expr, $base:literal, [$($env:literal),*], $required:literal) => {
        ProviderSpec {
            name: $name,
            dialect: Dialect::OpenAiCompatible(&$quirks),
            base_url: $base,
            base_env: &[],
            key_env: &[$($env),*],
            key_required: $required,
        }
    };
}

/// Every provider, native adapters first, then the OpenAI-compatible family.
pub const PROVIDERS: &[ProviderSpec] = &[
    compat!("openai", Quirks::OPENAI, "https://api.openai.com/v1", ["OPENAI_API_KEY"], true),
    ProviderSpec {
        name: "azure",
        dialect: Dialect::Azure,
        base_url: "",
        base_env: &[],
        key_env: &["AZURE_API_KEY", "AZURE_OPENAI_API_KEY"],
        key_required: true,
    },
    ProviderSpec {
        name: "anthropic",
        dialect: Dialect::Anthropic,
        base_url: "https://api.anthropic.com",
        base_env: &[],
        key_env: &["ANTHROPIC_API_KEY"],
        key_required: true,
    },
    ProviderSpec {
        name: "gemini",
        dialect: Dialect::Gemini,
        base_url: "https://generativelanguage.googleapis.com",
        base_env: &[],
        key_env: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        key_required: true,
    },
    ProviderSpec {
        name: "ollama",
        dialect: Dialect::Ollama,
        base_url: "http://localhost:11434",
        base_env: &[],
        key_env: &["OLLAMA_API_KEY"],
        key_required: false,
    },
    ProviderSpec {
        name: "ollama_chat",
        dialect: Dialect::Ollama,
        base_url: "http://localhost:11434",
        base_env: &[],
        key_env: &["OLLAMA_API_KEY"],
        key_required: false,
    },
    ProviderSpec {
        name: "bedrock",
        dialect: Dialect::Bedrock,
        base_url: "",
        base_env: &[],
        key_env: &["AWS_BEARER_TOKEN_BEDROCK"],
        key_required: false,
    },
    // Vertex AI: a service-account key (VERTEXAI_CREDENTIALS, GOOGLE_APPLICATION_CREDENTIALS) or an access token
    // passed as the api key; the host follows the location (crate::vertex).
    ProviderSpec {
        name: "vertex_ai",
        dialect: Dialect::Vertex,
        base_url: "",
        base_env: &[],
        key_env: &[],
        key_required: false,
    },
    compat!("groq", GROQ, "https://api.groq.com/openai/v1", ["GROQ_API_KEY"], true),
    compat!("deepseek", DEEPSEEK, "https://api.deepseek.com", ["DEEPSEEK_API_KEY"], true),
    compat!("xai", XAI, "https://api.x.ai/v1", ["XAI_API_KEY"], true),
    compat!("mistral", MISTRAL, "https://api.mistral.ai/v1", ["MISTRAL_API_KEY"], true),
    compat!(
        "together_ai",
        Quirks::GENERIC,
        "https://api.together.xyz/v1",
        ["TOGETHERAI_API_KEY", "TOGETHER_API_KEY"],
        true
    ),
    compat!(
        "fireworks_ai",
        Quirks::GENERIC,
        "https://api.fireworks.ai/inference/v1",
        ["FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"],
        true
    ),
    compat!("openrouter", USAGE_ALWAYS, "https://openrouter.ai/api/v1", ["OPENROUTER_API_KEY"], true),
    compat!(
        "perplexity",
        USAGE_ALWAYS,
        "https://api.perplexity.ai",
        ["PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"],
        true
    ),
    compat!("deepinfra", DEEPINFRA, "https://api.deepinfra.com/v1/openai", ["DEEPINFRA_API_KEY"], true),
    compat!("cerebras", Quirks::GENERIC, "https://api.cerebras.ai/v1", ["CEREBRAS_API_KEY"], true),
    compat!("nebius", Quirks::GENERIC, "https://api.studio.nebius.ai/v1", ["NEBIUS_API_KEY"], true),
    compat!("sambanova", Quirks::GENERIC, "https://api.sambanova.ai/v1", ["SAMBANOVA_API_KEY"], true),
    compat!("novita", Quirks::GENERIC, "https://api.novita.ai/v3/openai", ["NOVITA_API_KEY"], true),
    compat!("hyperbolic", Quirks::GENERIC, "https://api.hyperbolic.xyz/v1", ["HYPERBOLIC_API_KEY"], true),
    compat!("moonshot", Quirks::GENERIC, "https://api.moonshot.ai/v1", ["MOONSHOT_API_KEY"], true),
    compat!("nvidia_nim", Quirks::GENERIC, "https://integrate.api.nvidia.com/v1", ["NVIDIA_NIM_API_KEY"], true),
    compat!(
        "dashscope",
        Quirks::GENERIC,
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        ["DASHSCOPE_API_KEY"],
        true
    ),
    compat!("hosted_vllm", Quirks::GENERIC, "http://localhost:8000/v1", ["HOSTED_VLLM_API_KEY"], false),
    compat!("lm_studio", Quirks::GENERIC, "http://localhost:1234/v1", ["LM_STUDIO_API_KEY"], false),
    compat!("llamafile", Quirks::GENERIC, "http://127.0.0.1:8080/v1", ["LLAMAFILE_API_KEY"], false),
    // llama.cpp's `llama-server` speaks the same OpenAI dialect on the same default port as llamafile.
    compat!("llamacpp", Quirks::GENERIC, "http://127.0.0.1:8080/v1", ["LLAMACPP_API_KEY"], false),
    // A LiteLLM proxy server (LiteLLM's own name): OpenAI chat completions at `{api_base}/chat/completions`, the
    // base from the caller or `LITELLM_PROXY_API_BASE` (no default), the key optional (proxies may run without).
    ProviderSpec {
        name: "litellm_proxy",
        dialect: Dialect::OpenAiCompatible(&Quirks::GENERIC),
        base_url: "",
        base_env: &["LITELLM_PROXY_API_BASE"],
        key_env: &["LITELLM_PROXY_API_KEY"],
        key_required: false,
    },
    // Ollama's OpenAI-compatible `/v1` endpoint (LiteLLM has no name for it; `ollama` is the native API).
    compat!("ollama_openai", OLLAMA_V1, "http://localhost:11434/v1", ["OLLAMA_API_KEY"], false),
];

/// The provider with this canonical name.
pub fn provider_spec(name: &str) -> Option<&'static ProviderSpec> {
    PROVIDERS.iter().find(|p| p.name == name)
}

/// The canonical names of every provider, in table order.
pub fn provider_names() -> impl Iterator<Item = &'static str> {
    PROVIDERS.iter().map(|p| p.name)
}

/// The base URL a client of `spec` calls: the caller's `api_base`, else the first of `spec.base_env` that
/// `env` knows, applied to the provider's default (see [`crate::base_url`]); a [`llm_core::ErrorKind::Config`]
/// error naming the variables when the provider has no default and neither is given.
pub(crate) fn base_for(
    spec: &ProviderSpec,
    api_base: Option<&str>,
    env: impl Fn(&[&str]) -> Option<String>,
) -> llm_core::Result<String> {
    let given = api_base.map(str::trim).filter(|b| !b.is_empty()).map(str::to_owned);
    let base = given.or_else(|| if spec.base_env.is_empty() { None } else { env(spec.base_env) });
    if base.is_none() && spec.base_url.is_empty() && !spec.base_env.is_empty() {
        return Err(llm_core::Error::config(format!(
            "{} needs an api base: set {} or pass one",
            spec.name,
            spec.base_env.join(" or ")
        ))
        .with_provider(spec.name));
    }
    crate::client::base_url(spec.base_url, base.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are unique (lookups find the first). That every row works is the conformance suite's job:
    /// `tests/conformance.rs::every_registered_provider_is_a_target` runs every row through every test there.
    #[test]
    fn provider_names_are_unique() {
        let mut names: Vec<_> = provider_names().collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
        assert_eq!(provider_spec("groq").map(|p| p.base_url), Some("https://api.groq.com/openai/v1"));
    }

    #[test]
    fn litellm_proxy_base_comes_from_the_caller_or_its_variable() {
        let spec = provider_spec("litellm_proxy").unwrap();
        assert_eq!((spec.key_env, spec.key_required), (&["LITELLM_PROXY_API_KEY"][..], false));
        let env =
            |names: &[&str]| (names == ["LITELLM_PROXY_API_BASE"]).then(|| "http://proxy.internal:4000/".to_owned());
        let no_env = |_: &[&str]| None;
        assert_eq!(base_for(spec, None, env).unwrap(), "http://proxy.internal:4000");
        assert_eq!(base_for(spec, Some("http://127.0.0.1:9/v1"), env).unwrap(), "http://127.0.0.1:9/v1");
        assert_eq!(base_for(spec, Some("  "), env).unwrap(), "http://proxy.internal:4000");
        let e = base_for(spec, None, no_env).unwrap_err();
        assert_eq!(e.kind(), &llm_core::ErrorKind::Config);
        assert_eq!(e.message(), "litellm_proxy needs an api base: set LITELLM_PROXY_API_BASE or pass one");
        assert_eq!(e.provider().map(llm_core::ProviderId::as_str), Some("litellm_proxy"));
        // Providers without a base variable never consult the environment.
        let openai = provider_spec("openai").unwrap();
        let loud = |_: &[&str]| -> Option<String> { panic!("read the environment") };
        assert_eq!(base_for(openai, None, loud).unwrap(), "https://api.openai.com/v1");
    }
}

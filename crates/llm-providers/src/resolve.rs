//! Which provider serves a model name, in LiteLLM's order (`get_llm_provider`, LITELLM.md §3b):
//!
//! 1. an explicit `provider/` prefix naming a known provider (split on the first `/` only, case-sensitive, so
//!    `openrouter/x/y` gives `x/y` and `openai//gpt-4o` gives `/gpt-4o`);
//! 2. the api_base's host (and path prefix), matched on the parsed URL, never as a substring;
//! 3. a bare name known to the caller's model catalog ([`ModelDirectory`]);
//! 4. the catalog's fallback routing rules: `claude-*` → anthropic, `anthropic.claude-*` → bedrock;
//! 5. otherwise a [`llm_core::ErrorKind::Config`] error.
//!
//! Then the catalog may rename the pair ([`ModelDirectory::provider_model`]): a `*-latest` alias row becomes its
//! target, a Bedrock Mantle region path is dropped, an ai21 chat model is `ai21_chat`'s.
//!
//! Provider names are LiteLLM's spellings. A known LiteLLM provider that this crate has no adapter for (say
//! `vertex_ai`) still resolves; building a client for it then fails with a clear error.

use llm_core::{Error, ModelDirectory, ProviderId, Result};

use crate::registry::provider_spec;

/// The answer of [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// The provider, in LiteLLM's spelling.
    pub provider: ProviderId,
    /// The provider-side model name (prefix removed).
    pub model: String,
    /// The api_base the call will use: the one given, else the provider's default (`None` when it depends on
    /// the deployment, as for Azure and Bedrock, or the provider has no adapter here).
    pub api_base: Option<String>,
}

/// Prefixes LiteLLM also routes that are not in its `provider_list` (OpenAI-compatible providers it declares in
/// a JSON file); the list itself is llm-core's [`llm_core::LITELLM_PROVIDERS`].
const EXTRA_PREFIXES: &[&str] = &["aihubmix", "gmi", "llamagate"];

/// LiteLLM's `openai_compatible_endpoints`: host, path prefix, provider. LiteLLM answers provider `None` for
/// some of them (its endpoint literal differs from its if-chain); where this crate has that provider
/// (xai, nebius, sambanova, moonshot, dashscope) it resolves them, otherwise they stay unresolved.
const LITELLM_ENDPOINTS: &[(&str, &str, Option<&str>)] = &[
    ("api.clfaigateway.dev", "/v1", Some("clf_ai_gateway")),
    ("api.deepinfra.com", "/v1/openai", Some("deepinfra")),
    ("api.deepseek.com", "/v1", Some("deepseek")),
    ("api.endpoints.anyscale.com", "/v1", Some("anyscale")),
    ("api.featherless.ai", "/v1", None),
    ("api.galadriel.ai", "/v1", None),
    ("api.groq.com", "/openai/v1", Some("groq")),
    ("api.llama.com", "/compat/v1", None),
    ("api.mistral.ai", "/v1", Some("mistral")),
    ("api.perplexity.ai", "", Some("perplexity")),
    ("api.sambanova.ai", "/v1", Some("sambanova")),
    ("api.studio.nebius.ai", "/v1", Some("nebius")),
    ("api.together.ai", "/v1", Some("together_ai")),
    ("api.together.xyz", "/v1", Some("together_ai")),
    ("api.x.ai", "/v1", Some("xai")),
    ("app.empower.dev", "/api/v1", Some("empower")),
    ("codestral.mistral.ai", "/v1/chat/completions", Some("codestral")),
    ("codestral.mistral.ai", "/v1/fim/completions", Some("text-completion-codestral")),
    ("ai-gateway.helicone.ai", "", Some("helicone")),
    ("ai-gateway.vercel.sh", "/v1", Some("vercel_ai_gateway")),
    ("api-inference.modelscope.cn", "/v1", Some("modelscope")),
    ("api.aiand.com", "/v1", Some("aiand")),
    ("api.clarifai.com", "/v2/ext/openai/v1", None),
    ("api.cognition.ai", "/v1", Some("cognition")),
    ("api.cortecs.ai", "/v1", Some("cortecs")),
    ("api.edenai.run", "/v3", Some("edenai")),
    ("api.friendli.ai", "/serverless/v1", Some("friendliai")),
    ("api.getnadir.com", "/v1", Some("nadir")),
    ("api.hyperbolic.xyz", "/v1", Some("hyperbolic")),
    ("api.inceptionlabs.ai", "/v1", Some("inception")),
    ("api.inference.wandb.ai", "/v1", Some("wandb")),
    ("api.lambda.ai", "/v1", Some("lambda_ai")),
    ("api.libertai.io", "/v1", Some("libertai")),
    ("api.meta.ai", "/v1", Some("meta")),
    ("api.moonshot.ai", "/v1", Some("moonshot")),
    ("api.morphllm.com", "/v1", None),
    ("api.openinfer.ai", "/v1", Some("openinfer")),
    ("api.poe.com", "/v1", Some("poe")),
    ("api.prisminference.com", "/v1", Some("prism")),
    ("api.publicai.co", "/v1", Some("publicai")),
    ("api.reka.ai", "/v1", Some("reka")),
    ("api.sailresearch.com", "/v1", Some("sail")),
    ("api.scx.ai", "/v1", Some("scx-ai")),
    ("api.stima.tech", "/v1", Some("apertis")),
    ("api.synthetic.new", "/openai/v1", Some("synthetic")),
    ("api.v0.dev", "/v1", Some("v0")),
    ("dashscope-intl.aliyuncs.com", "/compatible-mode/v1", Some("dashscope")),
    ("dashscope.aliyuncs.com", "/compatible-mode/v1", Some("dashscope")),
    ("gigachat.devices.sberbank.ru", "/api/v1", Some("gigachat")),
    ("inference.coralbricks.ai", "/v1", Some("coralbricks")),
    ("inference.runanywhere.ai", "/v1", Some("wally")),
    ("integrate.api.nvidia.com", "/v1", Some("nvidia_nim")),
    ("llm.chutes.ai", "/v1", Some("chutes")),
    ("nano-gpt.com", "/api/v1", Some("nano-gpt")),
    ("pinstripes.io", "/v1", Some("pinstripes")),
    ("serverless.tensormesh.ai", "/v1", Some("tensormesh")),
    ("vanchin.streamlake.ai", "/api/gateway/v1/endpoints", Some("streamlake")),
    ("inference.api.nscale.com", "/v1", None),
    ("ollama.com", "", Some("ollama")),
];

/// Whether `name` is a provider name LiteLLM (or this crate) accepts as a model prefix.
pub fn is_known_provider(name: &str) -> bool {
    provider_spec(name).is_some() || llm_core::LITELLM_PROVIDERS.contains(&name) || EXTRA_PREFIXES.contains(&name)
}

/// Normalizes a catalog's `litellm_provider` value to the provider name `get_llm_provider` returns.
fn normalize_catalog_provider(p: &str) -> String {
    if p.starts_with("vertex_ai") {
        return "vertex_ai".to_owned();
    }
    match p {
        "bedrock_converse" => "bedrock".to_owned(),
        "fireworks_ai-embedding-models" => "fireworks_ai".to_owned(),
        other => other.to_owned(),
    }
}

fn resolved(provider: &str, model: &str, api_base: Option<&str>) -> Resolved {
    let default = provider_spec(provider).map(|s| s.base_url).filter(|b| !b.is_empty());
    Resolved {
        provider: ProviderId::new(provider),
        model: model.to_owned(),
        api_base: api_base.map(str::to_owned).or(default.map(str::to_owned)),
    }
}

/// The provider whose known endpoint `api_base` points at: the parsed host (case-insensitive, port ignored,
/// scheme optional) and path prefix must match, so a lookalike host or a host in the path never does.
pub fn provider_for_api_base(api_base: &str) -> Option<&'static str> {
    let text = api_base.trim();
    let url = reqwest::Url::parse(text).or_else(|_| reqwest::Url::parse(&format!("https://{text}"))).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let path = url.path().trim_end_matches('/');
    LITELLM_ENDPOINTS.iter().find_map(|(h, prefix, provider)| {
        let path_ok = path == *prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'));
        if host == *h && path_ok { *provider } else { None }
    })
}

fn digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

/// `^claude-[a-z]+-\d+(?:[-.]\d+)?(?:-\d{8})?$`, case-insensitive.
fn is_claude_family_id(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    let Some(rest) = m.strip_prefix("claude-") else {
        return false;
    };
    let family = rest.find(|c: char| !c.is_ascii_lowercase()).unwrap_or(rest.len());
    let Some(rest) = rest.get(family..).filter(|_| family > 0).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let (major, rest) = digits(rest);
    if major.is_empty() {
        return false;
    }
    let is_date = |r: &str| r.strip_prefix('-').is_some_and(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()));
    if rest.is_empty() || is_date(rest) {
        return true;
    }
    let Some(after_sep) = rest.strip_prefix('-').or_else(|| rest.strip_prefix('.')) else {
        return false;
    };
    let (minor, rest) = digits(after_sep);
    !minor.is_empty() && (rest.is_empty() || is_date(rest))
}

/// `^(?:[a-z-]+\.)?anthropic\.claude-`, case-insensitive.
fn is_bedrock_claude_id(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    if m.starts_with("anthropic.claude-") {
        return true;
    }
    m.split_once('.').is_some_and(|(geo, rest)| {
        !geo.is_empty()
            && geo.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            && rest.starts_with("anthropic.claude-")
    })
}

/// LiteLLM's name rules for names the catalog does not know: fine-tuned OpenAI ids, Replicate version
/// hashes, and the price file's fallback routing rules (Bedrock and Anthropic Claude ids, TypeSafe Jev ids).
fn name_rule(model: &str) -> Option<&'static str> {
    if model.starts_with("ft:gpt-") {
        return Some("openai");
    }
    if let Some((_, hash)) = model.rsplit_once(':')
        && hash.len() == 64
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Some("replicate");
    }
    if is_bedrock_claude_id(model) {
        return Some("bedrock");
    }
    if is_claude_family_id(model) {
        return Some("anthropic");
    }
    let lower = model.to_ascii_lowercase();
    if matches!(lower.as_str(), "jev-latest" | "jev-preview" | "jev-1.13.0" | "jev-1.14.0") {
        return Some("typesafe");
    }
    None
}

/// Resolves `model` to a provider and a provider-side model name (see the module docs for the order).
///
/// ```
/// use llm_core::{ModelDirectory, ProviderId};
/// use llm_providers::resolve;
///
/// struct Catalog;
/// impl ModelDirectory for Catalog {
///     fn provider_of(&self, model: &str) -> Option<ProviderId> {
///         (model == "gpt-4o").then(|| ProviderId::new("openai"))
///     }
/// }
///
/// let r = resolve("groq/llama-3.3-70b-versatile", None, &Catalog).unwrap();
/// assert_eq!((r.provider.as_str(), r.model.as_str()), ("groq", "llama-3.3-70b-versatile"));
/// assert_eq!(resolve("gpt-4o", None, &Catalog).unwrap().provider, "openai");
/// assert_eq!(resolve("claude-sonnet-9", None, &Catalog).unwrap().provider, "anthropic");
/// assert_eq!(resolve("my-model", Some("https://api.groq.com/openai/v1"), &Catalog).unwrap().provider, "groq");
/// assert!(resolve("gpt-9", None, &Catalog).is_err());
/// ```
pub fn resolve(model: &str, api_base: Option<&str>, directory: &dyn ModelDirectory) -> Result<Resolved> {
    let mut r = resolve_provider(model, api_base, directory)?;
    // LiteLLM renames the model once the provider is known (`*-latest` aliases, Bedrock Mantle region paths);
    // the catalog knows those renames
    if let Some((provider, model)) = directory.provider_model(r.provider.as_str(), &r.model) {
        r = resolved(provider.as_str(), &model, api_base);
    }
    Ok(r)
}

/// The provider and the model name as given (prefix removed), before the catalog's renames.
fn resolve_provider(model: &str, api_base: Option<&str>, directory: &dyn ModelDirectory) -> Result<Resolved> {
    if model.is_empty() {
        return Err(Error::config("llm provider not provided: the model name is empty"));
    }
    if let Some((prefix, rest)) = model.split_once('/') {
        if prefix == "anthropic" && (rest.starts_with("claude-2") || rest.starts_with("claude-instant")) {
            return Ok(resolved("anthropic_text", rest, api_base));
        }
        if is_known_provider(prefix) {
            return Ok(resolved(prefix, rest, api_base));
        }
    }
    if let Some(provider) = api_base.and_then(provider_for_api_base) {
        return Ok(resolved(provider, model, api_base));
    }
    if let Some(p) = directory.provider_of(model) {
        // a prefix the catalog knows and this crate does not (`crusoe/openai/gpt-oss-120b`) is still a prefix
        let model = model.strip_prefix(p.as_str()).and_then(|rest| rest.strip_prefix('/')).unwrap_or(model);
        let p = normalize_catalog_provider(p.as_str());
        return Ok(resolved(&p, model, api_base));
    }
    if let Some(p) = name_rule(model) {
        return Ok(resolved(p, model, api_base));
    }
    Err(Error::config(format!(
        "llm provider not provided for model {model:?}: pass it as a prefix, e.g. openai/{model} (known providers: see llm_providers::registry)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir;
    impl ModelDirectory for Dir {
        fn provider_of(&self, model: &str) -> Option<ProviderId> {
            match model {
                "gpt-4o" => Some(ProviderId::new("openai")),
                "gemini-2.5-pro" => Some(ProviderId::new("vertex_ai-language-models")),
                _ => None,
            }
        }
    }

    fn r(model: &str, base: Option<&str>) -> Option<(String, String)> {
        resolve(model, base, &Dir).ok().map(|r| (r.provider.into_string(), r.model))
    }

    fn pair(p: &str, m: &str) -> Option<(String, String)> {
        Some((p.to_owned(), m.to_owned()))
    }

    #[test]
    fn litellm_order_and_edge_cases() {
        assert_eq!(
            r("openrouter/anthropic/claude-sonnet-4.5", None),
            pair("openrouter", "anthropic/claude-sonnet-4.5")
        );
        assert_eq!(r("openai//gpt-4o", None), pair("openai", "/gpt-4o"));
        assert_eq!(r("openai/", None), pair("openai", ""));
        assert_eq!(r("OpenAI/gpt-4o", None), None);
        assert_eq!(r("GPT-4O", None), None);
        assert_eq!(r("gpt-4o ", None), None);
        assert_eq!(r("", None), None);
        assert_eq!(r("gemini-2.5-pro", None), pair("vertex_ai", "gemini-2.5-pro"));
        assert_eq!(r("vertex_ai/gemini-2.5-pro", None), pair("vertex_ai", "gemini-2.5-pro"));
        assert_eq!(
            r("bedrock/converse/us.anthropic.claude-x", None),
            pair("bedrock", "converse/us.anthropic.claude-x")
        );
        assert_eq!(r("anthropic.claude-3-5-sonnet-20240620-v1:0", None).map(|p| p.0), Some("bedrock".into()));
        assert_eq!(r("us.anthropic.claude-sonnet-4-5-20250929-v1:0", None).map(|p| p.0), Some("bedrock".into()));
        assert_eq!(r("deepseek-chat", None), None);
        assert_eq!(r("claude-3-5-sonnet-20240620", None), None);
        assert_eq!(r("claude-sonnet-4-5-20250929", None).map(|p| p.0), Some("anthropic".into()));
        assert_eq!(r("claude-newfamily-5", None).map(|p| p.0), Some("anthropic".into()));
        assert!(is_claude_family_id("claude-opus-4.1") && !is_claude_family_id("claude-2"));
    }

    /// A catalog that knows a `crusoe` prefix, one alias and Bedrock Mantle's region paths.
    struct Renaming;
    impl ModelDirectory for Renaming {
        fn provider_of(&self, model: &str) -> Option<ProviderId> {
            model.starts_with("crusoe/").then(|| ProviderId::new("crusoe"))
        }
        fn provider_model(&self, provider: &str, model: &str) -> Option<(ProviderId, String)> {
            match (provider, model) {
                ("anthropic", "claude-sonnet-latest") => {
                    Some((ProviderId::new("anthropic"), "claude-sonnet-5-5".into()))
                }
                ("bedrock_mantle", m) => {
                    m.strip_prefix("us-east-1/").map(|m| (ProviderId::new(provider), m.to_owned()))
                }
                _ => None,
            }
        }
    }

    #[test]
    fn the_catalog_renames_the_resolved_pair() {
        let r =
            |m: &str, base: Option<&str>| resolve(m, base, &Renaming).ok().map(|r| (r.provider.into_string(), r.model));
        assert_eq!(r("anthropic/claude-sonnet-latest", None), pair("anthropic", "claude-sonnet-5-5"));
        assert_eq!(
            r("bedrock_mantle/us-east-1/openai.gpt-oss-20b", None),
            pair("bedrock_mantle", "openai.gpt-oss-20b")
        );
        assert_eq!(r("crusoe/openai/gpt-oss-120b", None), pair("crusoe", "openai/gpt-oss-120b"));
        assert_eq!(r("openai/claude-sonnet-latest", None), pair("openai", "claude-sonnet-latest"));
        // the default renames nothing
        assert_eq!(
            resolve("anthropic/claude-sonnet-latest", None, &Dir).ok().map(|r| r.model).as_deref(),
            Some("claude-sonnet-latest")
        );
        // a renamed provider gets its own default api_base
        let got = resolve("anthropic/claude-sonnet-latest", None, &Renaming).unwrap();
        assert_eq!(got.api_base, resolve("anthropic/claude-x", None, &Dir).unwrap().api_base);
    }

    #[test]
    fn api_base_matches_parsed_host_not_substrings() {
        assert_eq!(r("m", Some("https://api.groq.com/openai/v1")), pair("groq", "m"));
        assert_eq!(r("m", Some("https://attacker.example/api.groq.com/openai/v1")), None);
        assert_eq!(r("m", Some("https://API.GROQ.COM:8443/openai/v1/")), pair("groq", "m"));
        assert_eq!(r("m", Some("https://api.groq.com/openai-v1")), None);
        assert_eq!(r("gpt-4o", Some("http://127.0.0.1:9999")), pair("openai", "gpt-4o"));
        let got = resolve("gpt-4o", Some("http://127.0.0.1:9999"), &Dir).ok().and_then(|r| r.api_base);
        assert_eq!(got.as_deref(), Some("http://127.0.0.1:9999"));
    }
}

//! Name resolution, as LiteLLM 1.110.2 does it: which provider a model name belongs to (`get_llm_provider`),
//! and which catalog row a (model, provider) pair means (`get_model_info`).
//!
//! Lookup order for a model info (`get_model_info_helper`), first key that exists (exactly, else ignoring case)
//! and whose row's provider matches the requested one (with the provider families LiteLLM accepts):
//! 1. `provider/model`;
//! 2. `model` as given;
//! 3. the region-free `provider/model` (Bedrock Mantle);
//! 4. the model without its provider prefix, Bedrock routing prefixes (`converse/`, `invoke/`, a region path)
//!    and ARNs removed;
//! 5. `provider/<stripped>` and 6. `<stripped>`, where stripping removes a date suffix (`-2024-08-06`), a Vertex /
//!    Gemini / Databricks version (`-001`), an OpenAI fine-tune's org and id (`ft:gpt-4o:org::id` → `ft:gpt-4o`),
//!    or Bedrock's cross-region prefix (`us.`, `eu.`, `global.`, ...), version and throughput suffixes;
//! 7. a provider-specific key (`fireworks_ai/accounts/fireworks/models/<name>`).
//!
//! Then the capability fallback rules, when no candidate names a key at all.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use crate::catalog::{Catalog, FxHashMap, ModelData, ModelInfo, RawRow};
use crate::error::{Error, ErrorKind, Result};
use crate::exact::{self, Json};
use crate::names::{BEDROCK_REGIONS, JSON_PROVIDERS, PROVIDER_LIST};
use crate::pattern::Pattern;

/// A model name resolved to its provider: LiteLLM's `get_llm_provider`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// The model name the provider knows it by (prefix removed, `*-latest` aliases resolved).
    pub model: String,
    /// The provider, in LiteLLM's spelling (`openai`, `anthropic`, `vertex_ai`, `bedrock`, ...).
    pub provider: String,
}

/// Provider names: bit 1 = in `litellm.provider_list`, bit 2 = a JSON-configured OpenAI-compatible provider.
static PROVIDERS: LazyLock<FxHashMap<&'static str, u8>> = LazyLock::new(|| {
    let mut m: FxHashMap<&'static str, u8> = FxHashMap::default();
    for p in PROVIDER_LIST {
        *m.entry(p).or_default() |= 1;
    }
    for p in JSON_PROVIDERS {
        *m.entry(p).or_default() |= 2;
    }
    m
});

/// In `litellm.provider_list`.
pub(crate) fn in_provider_list(p: &str) -> bool {
    PROVIDERS.get(p).is_some_and(|f| f & 1 != 0)
}

fn is_json_provider(p: &str) -> bool {
    PROVIDERS.get(p).is_some_and(|f| f & 2 != 0)
}

fn is_bedrock_region(r: &str) -> bool {
    BEDROCK_REGIONS.binary_search(&r).is_ok()
}

/// The cross-region inference prefixes of Bedrock ids (`us.anthropic.claude-…`).
const CROSS_REGION: [&str; 7] = ["global", "us", "eu", "apac", "jp", "au", "us-gov"];

/// `strip_bedrock_routing_prefix`.
pub(crate) fn strip_bedrock_routing_prefix(model: &str) -> &str {
    let mut m = model;
    for prefix in ["bedrock/", "chat_completions/", "converse/", "invoke/", "openai/", "mantle/", "nova-2/", "nova/"] {
        if let Some(rest) = m.strip_prefix(prefix) {
            m = rest;
        }
    }
    m
}

/// `split_bedrock_region_path(model)[1]`.
fn bedrock_region_free(model: &str) -> &str {
    let stripped = strip_bedrock_routing_prefix(model);
    match stripped.split_once('/') {
        Some((region, id)) if is_bedrock_region(region) => id,
        _ => stripped,
    }
}

/// `split_mantle_region_prefix(model)[1]`: `us-east-1/openai.gpt-oss-20b` → `openai.gpt-oss-20b`.
fn mantle_region_free(model: &str) -> &str {
    match model.split_once('/') {
        Some((region, tail)) if is_bedrock_region(region) => tail,
        _ => model,
    }
}

/// `extract_model_name_from_bedrock_arn`.
fn bedrock_arn_model(model: &str) -> &str {
    if model.to_lowercase().contains("arn") { model.rsplit('/').next().unwrap_or(model) } else { model }
}

/// LiteLLM's `re.sub` patterns for model names, compiled once (the same engine as the price file's rules).
static THROUGHPUT_SUFFIX: LazyLock<Pattern> = LazyLock::new(|| Pattern::exact(r"(:\d+):\d+k$"));
static CONTEXT_SUFFIX: LazyLock<Pattern> = LazyLock::new(|| Pattern::exact(r"\[\w+\]$"));
static TRAILING_VERSION: LazyLock<Pattern> = LazyLock::new(|| Pattern::exact(r"-\d+$"));
static DATED_SUFFIX: LazyLock<Pattern> = LazyLock::new(|| Pattern::exact(r"-\d{4}-\d{2}-\d{2}$"));
static FINETUNE_SUFFIX: LazyLock<Pattern> = LazyLock::new(|| Pattern::exact(r"(:[^:]*){3}$"));

/// `strip_bedrock_throughput_suffix`: `model:1:51k` → `model:1`, `model[1m]` → `model`.
fn strip_bedrock_throughput_suffix(model: &str) -> Cow<'_, str> {
    match THROUGHPUT_SUFFIX.replace(model, "$1") {
        Cow::Borrowed(m) => CONTEXT_SUFFIX.replace(m, ""),
        Cow::Owned(m) => Cow::Owned(CONTEXT_SUFFIX.replace(&m, "").into_owned()),
    }
}

/// `get_bedrock_base_model`.
pub(crate) fn bedrock_base_model(model: &str) -> String {
    let mut stripped = model;
    for rp in ["bedrock/converse/", "bedrock/", "converse/"] {
        if let Some(rest) = stripped.strip_prefix(rp) {
            stripped = rest;
            break;
        }
    }
    if stripped.starts_with("nova-2/") {
        return "amazon.nova-2-custom".to_owned();
    } else if stripped.starts_with("nova/") {
        return "amazon.nova-custom".to_owned();
    }
    let m = bedrock_arn_model(strip_bedrock_routing_prefix(model));
    let m = strip_bedrock_throughput_suffix(m);
    if let Some((region, rest)) = m.split_once('.')
        && CROSS_REGION.contains(&region)
    {
        return rest.to_owned();
    }
    if let Some((region, rest)) = m.split_once('/')
        && is_bedrock_region(region)
    {
        return rest.to_owned();
    }
    m.into_owned()
}

/// `-\d+$` removed (Vertex, Gemini and Databricks stable versions).
fn strip_trailing_version(model: &str) -> Cow<'_, str> {
    TRAILING_VERSION.replace(model, "")
}

/// `-\d{4}-\d{2}-\d{2}$` removed.
fn strip_dated_suffix(model: &str) -> Cow<'_, str> {
    DATED_SUFFIX.replace(model, "")
}

/// `(:[^:]*){3}$` removed: `ft:gpt-3.5-turbo:org:suffix:id` → `ft:gpt-3.5-turbo`.
fn strip_finetune(model: &str) -> Cow<'_, str> {
    FINETUNE_SUFFIX.replace(model, "")
}

/// `_strip_model_name`.
fn strip_model_name<'a>(model: &'a str, provider: Option<&str>) -> Cow<'a, str> {
    match provider {
        Some("bedrock" | "bedrock_converse") => Cow::Owned(bedrock_base_model(model)),
        Some("vertex_ai" | "gemini" | "databricks") => strip_trailing_version(model),
        _ if model.contains("ft:") => strip_finetune(model),
        _ => strip_dated_suffix(model),
    }
}

/// `resolve_fireworks_resource_name`.
fn fireworks_resource_name(model: &str) -> String {
    let s = model.strip_prefix("fireworks_ai/").unwrap_or(model);
    if s.starts_with("accounts/") || s.starts_with("FW-") || s.contains('#') {
        return s.to_owned();
    }
    if s.starts_with("routers/") || s.starts_with("models/") {
        return format!("accounts/fireworks/{s}");
    }
    if s.ends_with("-fast") || matches!(s, "firerouter" | "auto" | "auto-instant") || s.starts_with("firerouter/") {
        return format!("accounts/fireworks/routers/{s}");
    }
    format!("accounts/fireworks/models/{s}")
}

/// The candidate names `get_model_info` tries, in order, and the provider it settled on.
pub(crate) struct Candidates {
    pub(crate) names: [String; 7],
    pub(crate) provider: Option<String>,
}

/// `_check_provider_match`.
pub(crate) fn provider_matches(row_provider: Option<&str>, provider: Option<&str>) -> bool {
    let (Some(p), Some(lp)) = (provider.filter(|p| !p.is_empty()), row_provider) else { return true };
    if lp == p {
        return true;
    }
    (p == "vertex_ai" && lp.starts_with("vertex_ai"))
        || (p == "fireworks_ai" && lp.starts_with("fireworks_ai"))
        || (p.starts_with("bedrock") && lp.starts_with("bedrock"))
        || p == "litellm_proxy"
        || (p == "azure_ai" && matches!(lp, "azure" | "openai"))
        || p == "github"
        || p == "nadir"
}

/// `declared_authenticating_provider`: the OAuth providers a name declares by its prefix.
pub(crate) fn declared_authenticating_provider<'a>(model: &'a str, provider: Option<&'a str>) -> Option<&'a str> {
    let declared = provider.or_else(|| model.split_once('/').map(|(p, _)| p))?;
    matches!(declared, "github_copilot" | "chatgpt").then_some(declared)
}

impl Catalog {
    /// Resolves a model name to its provider, like LiteLLM's `get_llm_provider` (without an API base):
    /// a known provider prefix (`groq/llama-3.1-8b-instant`), an explicit provider, a bare name the catalog
    /// knows (`gpt-4o` → openai, `gemini-2.5-pro` → vertex_ai), or a fallback routing rule (`claude-<family>-<N>`
    /// → anthropic). `*-latest` aliases are resolved in the returned model.
    ///
    /// ```
    /// let c = llm_cost::Catalog::embedded();
    /// let r = c.resolve("groq/llama-3.1-8b-instant", None).unwrap();
    /// assert_eq!((r.provider.as_str(), r.model.as_str()), ("groq", "llama-3.1-8b-instant"));
    /// assert_eq!(c.resolve("gpt-4o", None).unwrap().provider, "openai");
    /// assert!(c.resolve("no-such-model", None).is_err());
    /// ```
    pub fn resolve(&self, model: &str, provider: Option<&str>) -> Result<Resolved> {
        let (m, p) = self.llm_provider(model, provider)?;
        let m = self.resolve_latest_alias(&m, &p);
        Ok(Resolved { model: m, provider: p })
    }

    pub(crate) fn llm_provider(&self, model: &str, custom: Option<&str>) -> Result<(String, String)> {
        let unresolved = || {
            Error::new(
                ErrorKind::UnknownProvider,
                format!("no provider for model {model:?}: pass one, or a provider prefix such as \"openai/{model}\""),
            )
        };
        let mut model: Cow<'_, str> = Cow::Borrowed(model);
        let mut custom: Option<Cow<'_, str>> = custom.filter(|c| !c.is_empty()).map(Cow::Borrowed);
        // azure/<cohere or mistral chat model> is served through the OpenAI-compatible route
        if model.split('/').next() == Some("azure")
            && let Some((_, name)) = model.split_once('/')
        {
            let mistral = format!("mistral/{name}");
            if self.row_provider_is(name, "cohere_chat") || self.row_provider_is(&mistral, "mistral") {
                return Ok((model.into_owned(), "openai".to_owned()));
            }
        }
        // cohere/<chat model> → cohere_chat; anthropic/<text model> → anthropic_text
        if custom.as_deref() == Some("cohere") && self.row_provider_is(&model, "cohere_chat") {
            custom = Some(Cow::Borrowed("cohere_chat"));
        }
        if let Some((p, m)) = model.split_once('/')
            && p == "cohere"
            && self.row_provider_is(m, "cohere_chat")
        {
            let m = m.to_owned();
            model = Cow::Owned(m);
            custom = Some(Cow::Borrowed("cohere_chat"));
        }
        if custom.as_deref() == Some("anthropic") && matches!(&*model, "claude-2" | "claude-instant-1") {
            custom = Some(Cow::Borrowed("anthropic_text"));
        }
        if let Some((p, m)) = model.split_once('/')
            && p == "anthropic"
            && matches!(m, "claude-2" | "claude-instant-1")
        {
            let m = m.to_owned();
            model = Cow::Owned(m);
            custom = Some(Cow::Borrowed("anthropic_text"));
        }
        // ai21/<chat model> → ai21_chat (`litellm.ai21_chat_models`: the ai21 rows of mode chat)
        if custom.as_deref() == Some("ai21") && self.is_ai21_chat(&model) {
            custom = Some(Cow::Borrowed("ai21_chat"));
        }
        if let Some((p, m)) = model.split_once('/')
            && p == "ai21"
            && self.is_ai21_chat(m)
        {
            let m = m.to_owned();
            model = Cow::Owned(m);
            custom = Some(Cow::Borrowed("ai21_chat"));
        }
        if let Some(c) = custom.as_deref()
            && model.split('/').next() != Some(c)
        {
            model = Cow::Owned(format!("{c}/{model}"));
        }
        if custom.as_deref() == Some("openrouter")
            && let Some(rest) = model.strip_prefix("openrouter/")
        {
            if rest.contains('/') {
                return Ok((rest.to_owned(), "openrouter".to_owned()));
            }
            return Ok((model.into_owned(), "openrouter".to_owned()));
        }
        let (prefix, rest) = match model.split_once('/') {
            Some((p, r)) => (p, Some(r)),
            None => (&*model, None),
        };
        if let Some(rest) = rest {
            if is_json_provider(prefix) {
                return Ok((rest.to_owned(), prefix.to_owned()));
            }
            if in_provider_list(prefix) {
                let rest = if prefix == "bedrock_mantle" { mantle_region_free(rest) } else { rest };
                return Ok((rest.to_owned(), prefix.to_owned()));
            }
        } else if in_provider_list(prefix) {
            // `litellm --model mistral`: a bare provider name is not a model
            return Err(unresolved());
        }
        // bare names: LiteLLM's known-model sets, in its elif order
        let m: &str = &model;
        let found = self.bare.get(m).map(|p| &**p);
        let provider: Option<String> = if found == Some("openai")
            || m.contains("ft:gpt-3.5-turbo")
            || m.contains("ft:gpt-4")
            || m.starts_with("gpt-image")
        {
            Some("openai".to_owned())
        } else if let Some(p @ ("text-completion-openai" | "anthropic" | "anthropic_text" | "cohere" | "cohere_chat")) =
            found
        {
            Some(p.to_owned())
        } else if found == Some("replicate") || (m.contains(':') && m.chars().count() > 64) {
            let id_len = m.split(':').nth(1).map(|s| s.chars().count());
            (id_len == Some(64) || found == Some("replicate")).then(|| "replicate".to_owned())
        } else if let Some(p) = found {
            Some(p.to_owned())
        } else if m == "*" {
            Some("openai".to_owned())
        } else {
            [
                "bytez/",
                "gdc/",
                "lemonade/",
                "heroku/",
                "cometapi/",
                "oci/",
                "compactifai/",
                "ovhcloud/",
                "clarifai/",
                "sap/",
            ]
            .iter()
            .find(|p| m.starts_with(**p))
            .map(|p| p.trim_end_matches('/').to_owned())
            .or_else(|| m.starts_with("amazon_nova").then(|| "amazon_nova".to_owned()))
        };
        // an explicit provider nothing overrode stays the answer (the model keeps its `provider/` prefix)
        let provider = provider
            .or_else(|| custom.as_deref().map(str::to_owned))
            .or_else(|| self.rules.route(m).map(str::to_owned))
            .ok_or_else(unresolved)?;
        Ok((model.into_owned(), provider))
    }

    fn row_provider_is(&self, key: &str, provider: &str) -> bool {
        self.entry(key).is_some_and(|e| e.row.provider.as_deref() == Some(provider))
    }

    fn is_ai21_chat(&self, key: &str) -> bool {
        self.entry(key)
            .is_some_and(|e| e.row.provider.as_deref() == Some("ai21") && e.row.mode.as_deref() == Some("chat"))
    }

    /// The provider and name `provider` serves `model` under (model without its provider prefix): an ai21 chat
    /// model is `ai21_chat`'s, a Bedrock Mantle region path is dropped, then a `*-latest` alias resolved (what [`Catalog::resolve`] does after choosing the
    /// provider; llm-providers asks for it through [`llm_core::ModelDirectory::provider_model`]).
    pub(crate) fn provider_model_name<'p>(&self, provider: &'p str, model: &str) -> (&'p str, String) {
        let provider = if provider == "ai21" && self.is_ai21_chat(model) { "ai21_chat" } else { provider };
        let model = if provider == "bedrock_mantle" { mantle_region_free(model) } else { model };
        (provider, self.resolve_latest_alias(model, provider))
    }

    /// `resolve_model_latest_alias`.
    pub(crate) fn resolve_latest_alias(&self, model: &str, provider: &str) -> String {
        self.alias_target_for(&format!("{provider}/{model}"), provider)
            .or_else(|| self.alias_target_for(model, provider))
            .unwrap_or_else(|| model.to_owned())
    }

    fn alias_target_for(&self, key: &str, provider: &str) -> Option<String> {
        let e = self.entry(key)?;
        let owner = self.entries.get(e.alias_owner? as usize)?;
        let alias_provider = match key.split_once('/') {
            Some((p, _)) if in_provider_list(p) => Some(p),
            _ => e.row.provider.as_deref(),
        };
        if alias_provider != Some(provider) {
            return None;
        }
        let target: &str = &owner.key;
        Some(target.strip_prefix(&format!("{provider}/")).unwrap_or(target).to_owned())
    }

    /// `get_potential_model_names`.
    /// `resolved` is `get_llm_provider(model)`'s answer when `provider` is `None` (computed by the caller).
    pub(crate) fn candidates(
        &self,
        model: &str,
        provider: Option<&str>,
        resolved: Option<(String, String)>,
    ) -> Candidates {
        let mut provider: Option<String> = provider.map(str::to_owned);
        let (mut split_model, combined, stripped, combined_stripped, provider_prefixed);
        match provider.as_deref() {
            None => {
                split_model = match resolved.ok_or(()) {
                    Ok((m, p)) => {
                        provider = Some(p);
                        // get_llm_provider's model (with the latest-alias resolution applied)
                        let p = provider.as_deref().unwrap_or("");
                        self.resolve_latest_alias(&m, p)
                    }
                    Err(_) => model.to_owned(),
                };
                combined = model.to_owned();
                stripped = strip_model_name(model, provider.as_deref()).into_owned();
                combined_stripped = stripped.clone();
                provider_prefixed = model.to_owned();
            }
            Some(p) if model.starts_with(&format!("{p}/")) => {
                split_model = model.split_once('/').map_or("", |(_, r)| r).to_owned();
                combined = model.to_owned();
                stripped = strip_model_name(&split_model, Some(p)).into_owned();
                combined_stripped = format!("{p}/{stripped}");
                provider_prefixed = format!("{p}/{model}");
            }
            Some(p) => {
                split_model = model.to_owned();
                combined = format!("{p}/{model}");
                stripped = strip_model_name(model, Some(p)).into_owned();
                combined_stripped = format!("{p}/{stripped}");
                provider_prefixed = combined.clone();
            }
        }
        let p = provider.as_deref();
        if matches!(p, Some("bedrock" | "bedrock_converse")) {
            let region_free = bedrock_region_free(&split_model);
            split_model = if region_free.starts_with("arn:") {
                bedrock_arn_model(region_free).to_owned()
            } else {
                strip_bedrock_routing_prefix(&split_model).to_owned()
            };
        }
        let mantle = p == Some("bedrock_mantle");
        let region_free_split = if mantle { mantle_region_free(&split_model).to_owned() } else { split_model };
        let combined_stripped = if mantle {
            format!("bedrock_mantle/{}", strip_model_name(&region_free_split, p))
        } else {
            combined_stripped
        };
        let region_free_combined =
            if mantle { format!("bedrock_mantle/{region_free_split}") } else { combined.clone() };
        let provider_prefixed = if p == Some("fireworks_ai") {
            format!("fireworks_ai/{}", fireworks_resource_name(&region_free_split))
        } else {
            provider_prefixed
        };
        Candidates {
            names: [
                combined,
                model.to_owned(),
                region_free_combined,
                region_free_split,
                combined_stripped,
                stripped,
                provider_prefixed,
            ],
            provider,
        }
    }

    /// LiteLLM's `get_model_info_helper` for the static catalog: the row a (model, provider) pair means, or an
    /// error when none does. `key` is the key it was found under.
    pub(crate) fn lookup(&self, model: &str, provider: Option<&str>) -> Result<ModelInfo> {
        let mut model: Cow<'_, str> = Cow::Borrowed(model);
        if let Some(mapped) = azure_llm(&model) {
            model = Cow::Borrowed(mapped);
        }
        let mut provider: Option<&str> = provider;
        if provider == Some("vertex_ai_beta") {
            provider = Some("vertex_ai");
        }
        if provider == Some("vertex_ai") {
            let meta = format!("meta/{model}");
            let latest = format!("{model}@latest");
            if self.row_provider_is(&meta, "vertex_ai-llama_models") {
                model = Cow::Owned(meta);
            } else if self.row_provider_is(&latest, "vertex_ai-mistral_models")
                || self.row_provider_is(&latest, "vertex_ai-ai21_models")
            {
                model = Cow::Owned(latest);
            }
        }
        let declared = provider.or_else(|| declared_authenticating_provider(&model, None));
        let resolved = if declared.is_none() { self.llm_provider(&model, None).ok() } else { None };
        let effective = declared.or(resolved.as_ref().map(|(_, p)| p.as_str()));
        if let Some(info) = self.ollama_runtime_info(&model, effective) {
            return Ok(info);
        }
        // fast path: the first candidate (`provider/model`, or the name as given) found exactly
        let first: Cow<'_, str> = match declared {
            Some(p) if !model.strip_prefix(p).is_some_and(|r| r.starts_with('/')) => {
                Cow::Owned(crate::cost::join(p, &model))
            }
            _ => Cow::Borrowed(&*model),
        };
        if let Some(e) = self.cost_key(&first) {
            if provider_matches(e.row.provider.as_deref(), effective) {
                return Ok(self.info_of(e));
            }
        } else if let Some(e) = self.entry(&model)
            && provider_matches(e.row.provider.as_deref(), effective)
        {
            // the second candidate, the name as given, found exactly
            return Ok(self.info_of(e));
        }
        let key = crate::catalog::LookupMemo::key(&model, declared);
        let answer = match self.memo.get(&key) {
            Some(a) => a,
            None => {
                let a = self.lookup_slow(&model, declared, resolved);
                self.memo.put(key, a.clone());
                a
            }
        };
        answer.map_err(|message| Error::new(ErrorKind::UnknownModel, message))
    }

    /// The part of [`Catalog::lookup`] after the exact names: candidate names, then capability rules. A pure
    /// function of its arguments and the catalog, so its answers are memoized.
    fn lookup_slow(
        &self,
        model: &str,
        declared: Option<&str>,
        resolved: Option<(String, String)>,
    ) -> std::result::Result<ModelInfo, String> {
        let cands = self.candidates(model, declared, resolved);
        let provider = cands.provider.as_deref();
        for name in &cands.names {
            if let Some(e) = self.cost_key(name)
                && provider_matches(e.row.provider.as_deref(), provider)
            {
                return Ok(self.info_of(e));
            }
        }
        if !cands.names.iter().any(|n| self.cost_key(n).is_some()) {
            for name in &cands.names {
                if let Some(caps) = self.rules.capabilities(name) {
                    return Ok(generalized(name, caps, provider));
                }
            }
        }
        Err(format!(
            "model {:?} is not in the catalog (provider {})",
            model,
            provider.map_or_else(|| "unknown".to_owned(), |p| format!("{p:?}"))
        ))
    }

    /// Ollama serves any model its local server has pulled: for a name the catalog does not list, LiteLLM asks
    /// the server (`/api/show`) and, when it cannot, answers a chat model without prices or limits under the
    /// bare name. That offline answer is what this returns (the cost is then `unpriced`, never a silent 0).
    fn ollama_runtime_info(&self, model: &str, provider: Option<&str>) -> Option<ModelInfo> {
        if !matches!(provider, Some("ollama" | "ollama_chat")) {
            return None;
        }
        let stripped = model.strip_prefix("ollama/").or_else(|| model.strip_prefix("ollama_chat/")).unwrap_or(model);
        let names =
            [model.to_owned(), stripped.to_owned(), format!("ollama/{stripped}"), format!("ollama_chat/{stripped}")];
        if names.iter().any(|n| self.has_key_ignoring_case(n)) {
            return None;
        }
        let row = Json::Obj(vec![
            (Cow::Borrowed("litellm_provider"), Json::Str(Cow::Borrowed("ollama"))),
            (Cow::Borrowed("mode"), Json::Str(Cow::Borrowed("chat"))),
        ]);
        Some(ModelInfo {
            key: Arc::from(stripped),
            data: Arc::new(ModelData::from_json(&row, RawRow::canonical(&row))),
        })
    }
}

/// `litellm.azure_llms`: deployment names LiteLLM maps to a catalog key before the lookup.
fn azure_llm(model: &str) -> Option<&'static str> {
    Some(match model {
        "gpt-35-turbo" => "azure/gpt-35-turbo",
        "gpt-35-turbo-instruct" => "azure/gpt-35-turbo-instruct",
        "azure/gpt-41" => "gpt-4.1",
        "azure/gpt-41-mini" => "gpt-4.1-mini",
        "azure/gpt-41-nano" => "gpt-4.1-nano",
        _ => return None,
    })
}

/// A model info made of the matching capability rules' fields, with the requested provider.
fn generalized(name: &str, caps: Vec<(String, String)>, provider: Option<&str>) -> ModelInfo {
    let mut members: Vec<(Cow<'_, str>, Json<'_>)> = Vec::new();
    let parsed: Vec<(String, Option<Json<'_>>)> = caps.iter().map(|(k, v)| (k.clone(), exact::parse(v).ok())).collect();
    for (k, v) in parsed {
        if let Some(v) = v {
            members.push((Cow::Owned(k), v));
        }
    }
    if let Some(p) = provider {
        members.retain(|(k, _)| k != "litellm_provider");
        members.push((Cow::Borrowed("litellm_provider"), Json::Str(Cow::Borrowed(p))));
    }
    let row = Json::Obj(members);
    let data = ModelData::from_json(&row, RawRow::canonical(&row));
    ModelInfo { key: Arc::from(name), data: Arc::new(data) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_lookups_are_memoized_and_forgotten_when_the_catalog_changes() {
        let mut c = Catalog::embedded().clone();
        assert_eq!(c.memo.len(), 0, "a clone starts with an empty memo");
        // An exact key never reaches the memo.
        assert_eq!(c.lookup("gpt-4o", None).unwrap().key(), "gpt-4o");
        assert_eq!(c.memo.len(), 0);
        // A dated variant and an unknown name go through the slow path once each.
        let dated = c.lookup("gpt-4o-mini-2031-01-01", Some("openai")).map(|i| i.key().to_owned());
        let unknown = c.lookup("my-local-model", Some("openai")).unwrap_err();
        assert_eq!(c.memo.len(), 2);
        assert_eq!(c.lookup("gpt-4o-mini-2031-01-01", Some("openai")).map(|i| i.key().to_owned()).ok(), dated.ok());
        let again = c.lookup("my-local-model", Some("openai")).unwrap_err();
        assert_eq!(again.to_string(), unknown.to_string());
        assert_eq!(again.kind(), ErrorKind::UnknownModel);
        assert_eq!(c.memo.len(), 2, "answered from the memo");
        // Registering the model empties the memo, so the new row is found.
        c.register_model("openai/my-local-model", r#"{"litellm_provider": "openai", "mode": "chat"}"#).unwrap();
        assert_eq!(c.memo.len(), 0);
        assert_eq!(c.lookup("my-local-model", Some("openai")).unwrap().key(), "openai/my-local-model");
    }

    #[test]
    fn stripping() {
        assert_eq!(strip_dated_suffix("gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(strip_dated_suffix("gpt-4o"), "gpt-4o");
        assert_eq!(strip_trailing_version("gemini-1.5-pro-002"), "gemini-1.5-pro");
        assert_eq!(strip_trailing_version("gemini-pro"), "gemini-pro");
        assert_eq!(strip_finetune("ft:gpt-3.5-turbo:my-org:custom_suffix:id"), "ft:gpt-3.5-turbo");
        assert_eq!(strip_finetune("ft:gpt-4o-mini-2024-07-18:org::abc123"), "ft:gpt-4o-mini-2024-07-18");
        assert_eq!(strip_finetune("ft:gpt-4o"), "ft:gpt-4o");
        assert_eq!(bedrock_base_model("us.meta.llama3-2-11b-instruct-v1:0"), "meta.llama3-2-11b-instruct-v1:0");
        assert_eq!(bedrock_base_model("bedrock/converse/eu.anthropic.claude-x-v1:0"), "anthropic.claude-x-v1:0");
        assert_eq!(
            bedrock_base_model("anthropic.claude-3-5-sonnet-20241022-v2:0:51k"),
            "anthropic.claude-3-5-sonnet-20241022-v2:0"
        );
        assert_eq!(bedrock_base_model("us.anthropic.claude-opus-4-6-v1[1m]"), "anthropic.claude-opus-4-6-v1");
        assert_eq!(bedrock_base_model("us-east-1/anthropic.claude-v2"), "anthropic.claude-v2");
        assert_eq!(bedrock_base_model("bedrock/nova/arn:aws:x"), "amazon.nova-custom");
        assert_eq!(
            bedrock_base_model("arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-v2"),
            "anthropic.claude-v2"
        );
        assert_eq!(
            fireworks_resource_name("llama-v3p1-8b-instruct"),
            "accounts/fireworks/models/llama-v3p1-8b-instruct"
        );
        assert_eq!(fireworks_resource_name("fireworks_ai/accounts/x/models/y"), "accounts/x/models/y");
    }

    #[test]
    fn provider_families() {
        assert!(provider_matches(Some("vertex_ai-language-models"), Some("vertex_ai")));
        assert!(provider_matches(Some("bedrock_converse"), Some("bedrock")));
        assert!(provider_matches(Some("openai"), Some("azure_ai")));
        assert!(!provider_matches(Some("openai"), Some("azure")));
        assert!(provider_matches(Some("openai"), None));
    }
}

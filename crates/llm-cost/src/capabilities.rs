//! Capability queries (`supports_vision`, `supports_function_calling`, ...), answered the way LiteLLM 1.110.2's
//! `supports_factory` answers them: resolve the provider, look the model up, and return `true` only when the
//! row says `true`; when the row does not say, the bare model's own row and then provider-wide facts decide;
//! anything else, unknown models included, is `false` (never an error, never a panic).

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::ModelInfo;
use crate::catalog::Catalog;
use crate::error::Result;
use crate::resolve::declared_authenticating_provider;

/// The capability flags LiteLLM exposes as `supports_*` functions, in the order `llm models` prints them.
pub const CAPABILITIES: [&str; 12] = [
    "supports_response_schema",
    "supports_function_calling",
    "supports_vision",
    "supports_reasoning",
    "supports_prompt_caching",
    "supports_parallel_function_calling",
    "supports_system_messages",
    "supports_tool_choice",
    "supports_audio_input",
    "supports_audio_output",
    "supports_pdf_input",
    "supports_web_search",
];

#[derive(serde::Serialize)]
struct ModelJson<'a> {
    model: &'a str,
    provider: Option<String>,
    litellm_provider: Option<&'a str>,
    mode: Option<&'a str>,
    max_input_tokens: Option<u64>,
    max_output_tokens: Option<u64>,
    prices: BTreeMap<&'a str, Box<RawValue>>,
    #[serde(flatten)]
    supports: BTreeMap<String, bool>,
}

/// Providers for which LiteLLM answers `supports_response_schema` with `true` for every model.
const RESPONSE_SCHEMA_PROVIDERS: [&str; 5] = ["predibase", "fireworks_ai", "lm_studio", "nebius", "databricks"];

impl Catalog {
    /// The catalog row a model name means (LiteLLM's `get_model_info`): `provider/model`, then `model`, then the
    /// name without its provider prefix, dates, versions, regions and fine-tune suffixes, exactly then ignoring
    /// case, a row of the requested provider (or its family); failing that, the capability fallback rules. An
    /// `Err` of kind [`crate::ErrorKind::UnknownModel`] when nothing matches.
    ///
    /// ```
    /// let c = llm_cost::Catalog::embedded();
    /// assert_eq!(c.model_info("gpt-4o-2024-08-06", None).unwrap().key(), "gpt-4o-2024-08-06");
    /// assert_eq!(c.model_info("gpt-4o", Some("azure")).unwrap().key(), "azure/gpt-4o");
    /// assert!(c.model_info("no-such-model", None).is_err());
    /// ```
    pub fn model_info(&self, model: &str, provider: Option<&str>) -> Result<ModelInfo> {
        self.lookup(model, provider)
    }

    /// One model as the JSON object `llm models --json` prints: `model` (the catalog key), `provider` (the provider
    /// LiteLLM routes the key to), `litellm_provider` (the row's), `mode`, `max_input_tokens`, `max_output_tokens`,
    /// `prices` (every price field, exact decimals), and the capability flags (the twelve of [`CAPABILITIES`] as
    /// [`Catalog::supports`] answers them, plus any other `supports_*` field of the row).
    ///
    /// ```
    /// let c = llm_cost::Catalog::embedded();
    /// let v: serde_json::Value = serde_json::from_str(&c.model_json("gpt-4o", None).unwrap()).unwrap();
    /// assert_eq!(v["provider"], "openai");
    /// assert_eq!(v["prices"]["input_cost_per_token"], 0.0000025);
    /// assert_eq!(v["supports_vision"], true);
    /// ```
    pub fn model_json(&self, model: &str, provider: Option<&str>) -> Result<String> {
        let info = self.model_info(model, provider)?;
        Ok(self.info_json(&info, provider))
    }

    /// [`Catalog::model_json`] for a model info already looked up.
    pub fn info_json(&self, info: &ModelInfo, provider: Option<&str>) -> String {
        let key = info.key();
        let routed =
            self.resolve(key, provider).ok().map(|r| r.provider).or_else(|| info.provider().map(str::to_owned));
        let prices = info
            .prices()
            .into_iter()
            .filter_map(|(k, v)| RawValue::from_string(v.normalize().to_string()).ok().map(|raw| (k, raw)))
            .collect();
        let mut supports: BTreeMap<String, bool> =
            info.flags().filter(|(k, _)| k.starts_with("supports_")).map(|(k, v)| (k.to_owned(), v)).collect();
        for flag in CAPABILITIES {
            supports.insert(flag.to_owned(), self.supports(key, provider, flag));
        }
        let out = ModelJson {
            model: key,
            provider: routed,
            litellm_provider: info.provider(),
            mode: info.mode(),
            max_input_tokens: info.max_input_tokens(),
            max_output_tokens: info.max_output_tokens(),
            prices,
            supports,
        };
        serde_json::to_string(&out).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Whether `model` supports a capability, by its flag name with or without the `supports_` prefix
    /// (`"vision"` or `"supports_vision"`). `false` for unknown models.
    pub fn supports(&self, model: &str, provider: Option<&str>, capability: &str) -> bool {
        let key =
            if capability.starts_with("supports_") { capability.to_owned() } else { format!("supports_{capability}") };
        if key == "supports_response_schema" {
            return self.supports_response_schema(model, provider);
        }
        self.supports_factory(model, provider, &key)
    }

    /// `supports_factory`.
    fn supports_factory(&self, model: &str, provider: Option<&str>, key: &str) -> bool {
        let (model, provider): (String, String) = match declared_authenticating_provider(model, provider) {
            Some(declared) => {
                let m = model.strip_prefix(&format!("{declared}/")).unwrap_or(model);
                (m.to_owned(), declared.to_owned())
            }
            None => match self.resolve(model, provider) {
                Ok(r) => (r.model, r.provider),
                Err(_) => return provider.is_some_and(|p| provider_info(self, model, p, key)),
            },
        };
        let info = match self.lookup(&model, Some(&provider)) {
            Ok(info) => info,
            Err(_) => return provider_info(self, &model, &provider, key),
        };
        match info.flag(key) {
            Some(v) => v,
            None => {
                if self.cost_key(&model).is_some_and(|e| e.row.data().flag(key) == Some(true)) {
                    return true;
                }
                provider_info(self, &model, &provider, key)
            }
        }
    }

    /// `supports_response_schema`: `true` for the whole of a few providers, otherwise the flag.
    pub fn supports_response_schema(&self, model: &str, provider: Option<&str>) -> bool {
        let Ok(r) = self.resolve(model, provider) else { return false };
        if RESPONSE_SCHEMA_PROVIDERS.contains(&r.provider.as_str()) {
            return true;
        }
        self.supports_factory(&r.model, Some(&r.provider), "supports_response_schema")
    }

    /// `supports_function_calling`.
    pub fn supports_function_calling(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_function_calling")
    }

    /// `supports_vision`.
    pub fn supports_vision(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_vision")
    }

    /// `supports_reasoning`.
    pub fn supports_reasoning(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_reasoning")
    }

    /// `supports_prompt_caching`.
    pub fn supports_prompt_caching(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_prompt_caching")
    }

    /// `supports_parallel_function_calling`.
    pub fn supports_parallel_function_calling(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_parallel_function_calling")
    }

    /// `supports_tool_choice`.
    pub fn supports_tool_choice(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_tool_choice")
    }

    /// `supports_system_messages`.
    pub fn supports_system_messages(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_system_messages")
    }

    /// `supports_audio_input`.
    pub fn supports_audio_input(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_audio_input")
    }

    /// `supports_audio_output`.
    pub fn supports_audio_output(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_audio_output")
    }

    /// `supports_pdf_input`.
    pub fn supports_pdf_input(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_pdf_input")
    }

    /// `supports_web_search`.
    pub fn supports_web_search(&self, model: &str, provider: Option<&str>) -> bool {
        self.supports_factory(model, provider, "supports_web_search")
    }
}

/// Provider-wide facts (`get_provider_info`): xAI searches the web; Fireworks models call functions and cache
/// prompts (per-model flags of Fireworks rows refine that); some OpenAI-compatible providers declare defaults.
fn provider_info(catalog: &Catalog, model: &str, provider: &str, key: &str) -> bool {
    match provider {
        "xai" => key == "supports_web_search",
        "openinfer" | "kyma" => key == "supports_function_calling",
        "streamlake" | "wally" => matches!(key, "supports_function_calling" | "supports_reasoning"),
        "fireworks_ai" => match key {
            "supports_prompt_caching" => true,
            "supports_function_calling" => fireworks_capability(catalog, model, key).unwrap_or(true),
            "supports_reasoning" | "supports_vision" | "supports_pdf_input" => {
                fireworks_capability(catalog, model, key).unwrap_or(false)
            }
            _ => false,
        },
        _ => false,
    }
}

/// `FireworksAIConfig._get_model_cost_capability`: the flag of the model's own Fireworks row, else of the
/// longest Fireworks row name it contains on hyphen boundaries.
fn fireworks_capability(catalog: &Catalog, model: &str, key: &str) -> Option<bool> {
    let short = model.strip_prefix("fireworks_ai/").unwrap_or(model);
    let short = short.strip_prefix("accounts/fireworks/models/").unwrap_or(short);
    for candidate in
        [model.to_owned(), format!("fireworks_ai/{short}"), format!("fireworks_ai/accounts/fireworks/models/{short}")]
    {
        if let Some(v) = catalog.entry(&candidate).and_then(|e| e.row.data().flag(key)) {
            return Some(v);
        }
    }
    let mut best: Option<(usize, bool)> = None;
    for e in &catalog.entries {
        let Some(k) = e.key.strip_prefix("fireworks_ai/") else { continue };
        let k = k.strip_prefix("accounts/fireworks/models/").unwrap_or(k);
        if k.is_empty() {
            continue;
        }
        let Some(v) = e.row.data().flag(key) else { continue };
        let aligned = short == k
            || short.starts_with(&format!("{k}-"))
            || short.ends_with(&format!("-{k}"))
            || short.contains(&format!("-{k}-"));
        if aligned && best.is_none_or(|(len, _)| k.len() > len) {
            best = Some((k.len(), v));
        }
    }
    best.map(|(_, v)| v)
}

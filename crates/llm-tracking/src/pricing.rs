//! The pricing seam: how [`crate::Tracked`] prices a response and estimates a call before it is sent.
//!
//! The default [`Pricer`] is [`CatalogPricer`], backed by llm-cost's embedded catalog; tests and custom
//! deployments can use [`FixedPricer`] or their own implementation.

use std::collections::HashMap;
use std::sync::Arc;

use llm_core::{ChatRequest, ChatResponse, Cost, CostBreakdown, CostStatus, ProviderId, Usage, Usd};
use llm_cost::{CatalogRef, SharedCatalog};

/// Per-token prices for estimating a budget reservation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rates {
    /// USD per input token.
    pub input_per_token: Usd,
    /// USD per output token.
    pub output_per_token: Usd,
}

impl Rates {
    /// Rates from per-token prices.
    pub fn new(input_per_token: Usd, output_per_token: Usd) -> Self {
        Self { input_per_token, output_per_token }
    }

    /// The cost of this many input and output tokens at these rates.
    pub fn cost_of(&self, input_tokens: u64, output_tokens: u64) -> Usd {
        let i = self.input_per_token.amount().saturating_mul(rust_decimal::Decimal::from(input_tokens));
        let o = self.output_per_token.amount().saturating_mul(rust_decimal::Decimal::from(output_tokens));
        Usd::new(i.saturating_add(o))
    }
}

/// Prices calls. Implementations must be fast (they run on the call's path) and must not panic.
pub trait Pricer: Send + Sync + 'static {
    /// The cost of a response to a request served by `provider`.
    fn price(&self, provider: &ProviderId, request: &ChatRequest, response: &ChatResponse) -> Cost;

    /// The cost of some usage of a model, for a stream cut off before its end.
    fn price_usage(&self, provider: &ProviderId, model: &str, usage: &Usage) -> Cost;

    /// Per-token rates of a model, for estimating a reservation; `None` when unknown.
    fn rates(&self, provider: &ProviderId, model: &str) -> Option<Rates>;

    /// The pricing key of a requested model (the catalog key it resolves to), which reports group a call's
    /// records by; `None` when the pricer does not know the model (the requested name is used).
    fn model_key(&self, provider: &ProviderId, model: &str) -> Option<String> {
        let _ = (provider, model);
        None
    }

    /// The most output tokens the model produces in one reply, for estimating a reservation when the request
    /// sets no `max_tokens`; `None` when unknown (the tracker's `default_max_tokens` is assumed).
    fn max_output_tokens(&self, provider: &ProviderId, model: &str) -> Option<u32> {
        let _ = (provider, model);
        None
    }
}

/// A pricer from a fixed table of per-token rates: handy in tests and for private models. A model not in the
/// table is `unknown_model`, and a provider-reported cost is used when the model is unknown.
#[derive(Debug, Clone, Default)]
pub struct FixedPricer {
    rates: HashMap<String, Rates>,
    max_output: HashMap<String, u32>,
    version: String,
}

impl FixedPricer {
    /// An empty table.
    pub fn new() -> Self {
        Self { rates: HashMap::new(), max_output: HashMap::new(), version: "fixed".into() }
    }

    /// Sets a model's output limit (what a reservation assumes when a request sets no `max_tokens`).
    #[must_use]
    pub fn with_max_output_tokens(mut self, model: impl Into<String>, max_output_tokens: u32) -> Self {
        self.max_output.insert(model.into(), max_output_tokens);
        self
    }

    /// Adds a model with per-token input and output prices.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>, input_per_token: Usd, output_per_token: Usd) -> Self {
        self.rates.insert(model.into(), Rates::new(input_per_token, output_per_token));
        self
    }

    fn lookup(&self, model: &str) -> Option<(&str, &Rates)> {
        self.rates.get_key_value(model).map(|(k, v)| (k.as_str(), v)).or_else(|| {
            let bare = model.rsplit_once('/').map(|(_, m)| m)?;
            self.rates.get_key_value(bare).map(|(k, v)| (k.as_str(), v))
        })
    }
}

impl Pricer for FixedPricer {
    fn price(&self, provider: &ProviderId, request: &ChatRequest, response: &ChatResponse) -> Cost {
        let usage = response.usage.unwrap_or_default();
        let cost = self.price_usage(provider, &response.model, &usage);
        if cost.status == CostStatus::UnknownModel {
            let by_request = self.price_usage(provider, request.model.as_str(), &usage);
            if by_request.status != CostStatus::UnknownModel {
                return by_request;
            }
            if let Some(amount) = response.provider_cost {
                let mut b = CostBreakdown::default();
                b.input = amount;
                return Cost::new(CostStatus::ProviderReported, b);
            }
        }
        cost
    }

    fn price_usage(&self, _provider: &ProviderId, model: &str, usage: &Usage) -> Cost {
        match self.lookup(model) {
            Some((key, r)) => {
                let mut b = CostBreakdown::default();
                b.input = r.cost_of(usage.prompt_tokens, 0);
                b.output = r.cost_of(0, usage.completion_tokens);
                Cost::new(CostStatus::Priced, b).with_catalog(key, self.version.clone())
            }
            None => Cost::unknown(CostStatus::UnknownModel),
        }
    }

    fn rates(&self, _provider: &ProviderId, model: &str) -> Option<Rates> {
        self.lookup(model).map(|(_, r)| *r)
    }

    fn model_key(&self, _provider: &ProviderId, model: &str) -> Option<String> {
        self.lookup(model).map(|(k, _)| k.to_owned())
    }

    fn max_output_tokens(&self, _provider: &ProviderId, model: &str) -> Option<u32> {
        let (key, _) = self.lookup(model)?;
        self.max_output.get(key).copied()
    }
}

/// The default pricer: llm-cost's catalog (the embedded one unless another is given), priced like LiteLLM.
///
/// A response is priced with `Catalog::completion_cost` on its served model (the provider-reported cost
/// where LiteLLM takes it); when the served model is unknown, the requested model is tried. The provider
/// name `mock` is not passed to the catalog, so a mock stands in for the model's usual provider.
#[derive(Debug, Clone, Default)]
pub struct CatalogPricer {
    catalog: Source,
    /// The last `model_key` answer: (catalog address, provider, model) → key. A client calls the same model
    /// again and again, and the catalog lookup costs more than comparing three strings.
    last_key: Arc<std::sync::Mutex<Option<LastKey>>>,
}

#[derive(Debug)]
struct LastKey {
    /// Held, so its address cannot be reused by another catalog while it is compared.
    catalog: CatalogRef,
    provider: String,
    model: String,
    key: Option<String>,
}

#[derive(Debug, Clone, Default)]
enum Source {
    #[default]
    Embedded,
    Fixed(Arc<llm_cost::Catalog>),
    Shared(SharedCatalog),
}

impl CatalogPricer {
    /// The pricer over the embedded catalog.
    pub fn new() -> Self {
        Self { catalog: Source::Embedded, last_key: Arc::default() }
    }

    /// A pricer over this catalog (a newer price file, registered models, overrides).
    pub fn with_catalog(catalog: Arc<llm_cost::Catalog>) -> Self {
        Self { catalog: Source::Fixed(catalog), last_key: Arc::default() }
    }

    /// A pricer over whatever catalog `shared` holds at each call, so replacing it
    /// ([`SharedCatalog::replace`]) re-prices the next calls without rebuilding anything. `llm::Client` prices
    /// its tracked calls this way, with its own catalog.
    pub fn shared(shared: SharedCatalog) -> Self {
        Self { catalog: Source::Shared(shared), last_key: Arc::default() }
    }

    fn catalog(&self) -> CatalogRef {
        match &self.catalog {
            Source::Embedded => CatalogRef::Embedded(llm_cost::Catalog::embedded()),
            Source::Fixed(c) => CatalogRef::Loaded(Arc::clone(c)),
            Source::Shared(s) => s.get(),
        }
    }
}

fn catalog_provider(provider: &ProviderId) -> Option<&str> {
    (provider.as_str() != "mock").then_some(provider.as_str())
}

impl Pricer for CatalogPricer {
    fn price(&self, provider: &ProviderId, request: &ChatRequest, response: &ChatResponse) -> Cost {
        let mut opts = llm_cost::CostOptions::default();
        if let Some(tier) = &request.service_tier {
            opts = opts.with_service_tier(tier.as_str());
        }
        let requested = request.model.as_str();
        let requested = requested.strip_prefix("mock/").unwrap_or(requested);
        self.catalog().price_response(requested, response, catalog_provider(provider), &opts)
    }

    fn price_usage(&self, provider: &ProviderId, model: &str, usage: &Usage) -> Cost {
        self.catalog()
            .cost_per_token(model, catalog_provider(provider), usage, &llm_cost::CostOptions::default())
            .unwrap_or_else(|_| Cost::unknown(CostStatus::UnknownModel))
    }

    fn rates(&self, provider: &ProviderId, model: &str) -> Option<Rates> {
        let info = self.catalog().model_info(model, catalog_provider(provider)).ok()?;
        let input = info.input_cost_per_token()?;
        let output = info.output_cost_per_token().unwrap_or(input);
        Some(Rates::new(Usd::new(input), Usd::new(output)))
    }

    fn model_key(&self, provider: &ProviderId, model: &str) -> Option<String> {
        let model = model.strip_prefix("mock/").unwrap_or(model);
        let catalog = self.catalog();
        // The same catalog (a replaced one, a new price file, misses), provider and model.
        if let Ok(last) = self.last_key.try_lock()
            && let Some(l) = last.as_ref()
            && std::ptr::eq::<llm_cost::Catalog>(&*l.catalog, &*catalog)
            && l.model == model
            && l.provider == provider.as_str()
        {
            return l.key.clone();
        }
        let key = catalog.model_info(model, catalog_provider(provider)).ok().map(|i| i.key().to_owned());
        if let Ok(mut last) = self.last_key.try_lock() {
            *last = Some(LastKey {
                catalog: catalog.clone(),
                provider: provider.as_str().to_owned(),
                model: model.to_owned(),
                key: key.clone(),
            });
        }
        key
    }

    fn max_output_tokens(&self, provider: &ProviderId, model: &str) -> Option<u32> {
        let model = model.strip_prefix("mock/").unwrap_or(model);
        let info = self.catalog().model_info(model, catalog_provider(provider)).ok()?;
        info.max_output_tokens().filter(|n| *n > 0).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }
}

/// Counts the tokens of a text conservatively, without a tokenizer: a quarter of its ASCII characters
/// (English words average about four), plus one token per non-ASCII character (CJK text runs about one token
/// a character, accented and other scripts fewer; no BPE tokenizer of a current model packs a non-ASCII
/// character into less than a token).
pub fn count_tokens(text: &str) -> u64 {
    // Most prompts are ASCII: `is_ascii` checks a word at a time, and the count is then the length.
    if text.is_ascii() {
        return (text.len() as u64).div_ceil(4);
    }
    let (ascii, other) =
        text.chars().fold((0u64, 0u64), |(a, o), c| if c.is_ascii() { (a + 1, o) } else { (a, o + 1) });
    ascii.div_ceil(4) + other
}

/// How a budget reservation estimates a request's prompt tokens ([`crate::TrackerBuilder::token_estimate`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenEstimate {
    /// OpenAI models (served by `openai` or `azure`) are counted with their own tokenizer, as LiteLLM's
    /// `token_counter` frames a chat (llm-tokens): exact for text. Other models, whose tokenizers are not
    /// compiled in, get [`TokenEstimate::Characters`], which errs high. A call never waits for a vocabulary:
    /// the first budgeted call that needs one starts loading it on a thread of its own (about a quarter of a
    /// second) and calls are estimated by characters until it is there; `llm_tokens::Encoding::preload` at
    /// start-up makes every call exact.
    #[default]
    Tokenizer,
    /// [`count_tokens`] for every model: no tokenizer, no vocabulary loaded, a few nanoseconds per call.
    Characters,
}

/// Estimates the prompt tokens of a request as [`TokenEstimate::Tokenizer`] does, from the model name alone.
pub fn estimate_prompt_tokens(request: &ChatRequest) -> u64 {
    estimate_prompt_tokens_with(request, TokenEstimate::Tokenizer, None)
}

/// Estimates the prompt tokens of a request served by `provider` (when known, it decides whether the model's
/// tokenizer is the one counting: `Tokenizer::for_route`). With a tokenizer: LiteLLM's `token_counter` over the
/// messages, tool definitions and tool choice, plus the response schema's text. Without: [`count_tokens`] over
/// every message (tool definitions and the response schema included; 64 more per non-text part such as an
/// image), plus 4 per message and 3 for the reply's priming.
pub fn estimate_prompt_tokens_with(request: &ChatRequest, mode: TokenEstimate, provider: Option<&ProviderId>) -> u64 {
    if mode == TokenEstimate::Tokenizer {
        let model = request.model.as_str();
        let tokenizer = match provider {
            Some(p) => llm_tokens::Tokenizer::for_route(p.as_str(), model),
            None => llm_tokens::Tokenizer::for_model(model),
        };
        if tokenizer.exact && !tokenizer.encoding.is_loaded() {
            tokenizer.encoding.load_in_background();
        } else if tokenizer.exact {
            let schema = match &request.response_format {
                Some(llm_core::ResponseFormat::JsonSchema(s)) => tokenizer.count(&s.schema.to_string()),
                _ => 0,
            };
            return llm_tokens::count_request_with(tokenizer, request).tokens + schema;
        }
    }
    let mut tokens = 0u64;
    for m in &request.messages {
        if let Some(c) = &m.content {
            tokens += match c {
                llm_core::Content::Text(t) => count_tokens(t),
                _ => count_tokens(&c.text()) + 64,
            };
        }
        for t in &m.tool_calls {
            tokens += count_tokens(&t.name) + count_tokens(&t.arguments);
        }
    }
    for t in &request.tools {
        tokens += count_tokens(&t.name)
            + t.description.as_deref().map_or(0, count_tokens)
            + count_tokens(&t.parameters.to_string());
    }
    if let Some(llm_core::ResponseFormat::JsonSchema(s)) = &request.response_format {
        tokens += count_tokens(&s.schema.to_string());
    }
    tokens + 4 * request.messages.len() as u64 + 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_core::Message;

    #[test]
    fn fixed_pricer_prices_and_estimates() {
        let p = FixedPricer::new().with_model("m", "0.001".parse().unwrap(), "0.002".parse().unwrap());
        let req = ChatRequest::new("mock/m", vec![Message::user("hello there")]);
        let resp = ChatResponse::new("id", "m", vec![], Some(Usage::new(10, 5)));
        let c = p.price(&"mock".into(), &req, &resp);
        assert_eq!(c.status, CostStatus::Priced);
        assert_eq!(c.total().unwrap().to_string(), "0.02");
        assert_eq!(c.catalog_key.as_deref(), Some("m"));
        assert!(p.rates(&"mock".into(), "mock/m").is_some());
        let unknown = ChatResponse::new("id", "x", vec![], Some(Usage::new(10, 5)));
        let req_x = ChatRequest::new("x", vec![]);
        assert_eq!(p.price(&"mock".into(), &req_x, &unknown).status, CostStatus::UnknownModel);
        let reported = unknown.with_provider_cost("0.5".parse().unwrap());
        let c = p.price(&"mock".into(), &req_x, &reported);
        assert_eq!(
            (c.status.clone(), c.total().unwrap().to_string()),
            (CostStatus::ProviderReported, "0.5".to_string())
        );
        assert_eq!(estimate_prompt_tokens(&req), 3 + 4 + 3);
    }

    #[test]
    fn catalog_pricer_prices_from_llm_cost() {
        let p = CatalogPricer::new();
        let req = ChatRequest::new("gpt-4o", vec![Message::user("hi")]);
        let resp = ChatResponse::new("id", "gpt-4o", vec![], Some(Usage::new(1000, 100)));
        let c = p.price(&"openai".into(), &req, &resp);
        assert_eq!(c.status, CostStatus::Priced);
        assert_eq!(c.catalog_key.as_deref(), Some("gpt-4o"));
        // gpt-4o: $2.50/M input, $10/M output.
        assert_eq!(c.total().unwrap().to_string(), "0.0035");
        let r = p.rates(&"mock".into(), "gpt-4o").unwrap();
        assert_eq!(r.cost_of(1_000_000, 0).to_string(), "2.5");
        let unknown = ChatResponse::new("id", "no-such-model-xyz", vec![], Some(Usage::new(1, 1)));
        let req = ChatRequest::new("no-such-model-xyz", vec![]);
        assert_eq!(p.price(&"openai".into(), &req, &unknown).status, CostStatus::UnknownModel);
        assert!(p.rates(&"openai".into(), "no-such-model-xyz").is_none());
    }

    #[test]
    fn model_keys_are_remembered_until_the_catalog_changes() {
        let shared = SharedCatalog::new(llm_cost::Catalog::from_json_with_version("{}", "a").unwrap());
        let p = CatalogPricer::shared(shared.clone());
        let openai = ProviderId::new("openai");
        assert_eq!(p.model_key(&openai, "my-model"), None);
        assert_eq!(p.model_key(&openai, "my-model"), None, "remembered");
        shared.replace(
            llm_cost::Catalog::from_json_with_version(r#"{"my-model": {"input_cost_per_token": 1e-6}}"#, "b").unwrap(),
        );
        assert_eq!(p.model_key(&openai, "my-model").as_deref(), Some("my-model"), "a new catalog is looked up");
        assert_eq!(CatalogPricer::new().model_key(&openai, "openai/gpt-4o-mini").as_deref(), Some("gpt-4o-mini"));
        assert_eq!(CatalogPricer::new().model_key(&"mock".into(), "mock/gpt-4o").as_deref(), Some("gpt-4o"));
    }
}

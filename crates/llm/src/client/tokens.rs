//! Token counting on the client: a request's prompt tokens for the model it routes to, and the opt-in
//! pre-flight check against the model's input window.

use llm_core::{ChatRequest, Error, ErrorKind, Result};
use llm_tokens::{ContextWindowExceeded, TokenCount, Tokenizer};

use super::{Client, Route};

impl Client {
    /// The prompt tokens of a request, as LiteLLM's `token_counter` counts them (messages with their framing,
    /// tool definitions, tool choice, images): exact for an OpenAI model served by OpenAI or Azure, counted with
    /// `cl100k_base` and marked inexact for every other model ([`llm_tokens`]).
    pub fn count_tokens(&self, request: &ChatRequest) -> Result<TokenCount> {
        let route = self.route(request.model.as_str())?;
        Ok(llm_tokens::count_request_with(
            Tokenizer::for_route(route.provider.as_str(), request.model.as_str()),
            request,
        ))
    }

    /// The model's input window from the catalog: `max_input_tokens`, else the older `max_tokens`; `None` when
    /// the catalog does not know the model or its window.
    pub fn context_window(&self, model: &str) -> Option<u64> {
        let route = self.route(model).ok()?;
        let provider = Some(route.provider.as_str()).filter(|p| *p != "mock");
        let catalog = self.catalog();
        let info = catalog.model_info(&route.model, provider).or_else(|_| catalog.model_info(model, provider)).ok()?;
        info.max_input_tokens().or_else(|| info.max_tokens()).filter(|n| *n > 0)
    }

    /// With [`super::ClientBuilder::preflight`]: an [`ErrorKind::ContextLength`] error, whose source is the
    /// [`ContextWindowExceeded`] with both numbers, when the prompt does not fit the model's input window.
    pub(super) fn preflight(&self, request: &ChatRequest) -> Result<()> {
        if !self.inner.config.preflight {
            return Ok(());
        }
        let model = request.model.as_str();
        let Some(window) = self.context_window(model) else { return Ok(()) };
        let route: Route = self.route(model)?;
        let count = llm_tokens::count_request_with(Tokenizer::for_route(route.provider.as_str(), model), request);
        ContextWindowExceeded::check(model, count, window).map_err(|e| {
            Error::new(ErrorKind::ContextLength, e.to_string())
                .with_provider(route.provider.clone())
                .with_model(model)
                .with_source(e)
        })
    }
}

//! The `Provider` trait every adapter implements and every decorator wraps.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;

use crate::embedding::{EmbeddingRequest, EmbeddingResponse};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::ProviderId;
use crate::request::ChatRequest;
use crate::response::ChatResponse;
use crate::stream::ChatStream;

/// Something that answers chat requests: a provider adapter, a mock, or a decorator around another provider.
///
/// Object-safe: hold it as `Arc<dyn Provider>`. Implementations are cheap to share across tasks.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's canonical name (`openai`, `anthropic`, `mock`, ...).
    fn id(&self) -> &ProviderId;

    /// One completion.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse>;

    /// One streamed completion. Assembling the stream ([`crate::collect_stream`]) gives the same response,
    /// usage included, that [`Provider::chat`] would.
    async fn stream(&self, request: &ChatRequest) -> Result<ChatStream>;

    /// Embeddings of one or many texts. The default refuses with [`ErrorKind::Unsupported`] before anything is
    /// sent; adapters of providers with an embeddings endpoint, and decorators, override it.
    async fn embed(&self, request: &EmbeddingRequest) -> Result<EmbeddingResponse> {
        Err(Error::new(ErrorKind::Unsupported, format!("{} does not serve embeddings", self.id()))
            .with_provider(self.id().clone())
            .with_model(request.model.clone()))
    }
}

/// The future [`Provider::chat`] returns (what `#[async_trait]` makes of it).
pub type ChatFuture<'a> = Pin<Box<dyn Future<Output = Result<ChatResponse>> + Send + 'a>>;

/// The future [`Provider::stream`] returns.
pub type StreamFuture<'a> = Pin<Box<dyn Future<Output = Result<ChatStream>> + Send + 'a>>;

/// The future [`Provider::embed`] returns.
pub type EmbedFuture<'a> = Pin<Box<dyn Future<Output = Result<EmbeddingResponse>> + Send + 'a>>;

/// Forwards to the provider behind a pointer. Written out rather than with `#[async_trait]`, which would box a
/// second future around the inner one on every call: these hand back the inner provider's future itself.
macro_rules! forward_provider {
    ($ptr:ident) => {
        impl<P: Provider + ?Sized> Provider for $ptr<P> {
            fn id(&self) -> &ProviderId {
                (**self).id()
            }

            fn chat<'life0, 'life1, 'async_trait>(
                &'life0 self,
                request: &'life1 ChatRequest,
            ) -> ChatFuture<'async_trait>
            where
                'life0: 'async_trait,
                'life1: 'async_trait,
                Self: 'async_trait,
            {
                (**self).chat(request)
            }

            fn stream<'life0, 'life1, 'async_trait>(
                &'life0 self,
                request: &'life1 ChatRequest,
            ) -> StreamFuture<'async_trait>
            where
                'life0: 'async_trait,
                'life1: 'async_trait,
                Self: 'async_trait,
            {
                (**self).stream(request)
            }

            fn embed<'life0, 'life1, 'async_trait>(
                &'life0 self,
                request: &'life1 EmbeddingRequest,
            ) -> EmbedFuture<'async_trait>
            where
                'life0: 'async_trait,
                'life1: 'async_trait,
                Self: 'async_trait,
            {
                (**self).embed(request)
            }
        }
    };
}

forward_provider!(Arc);
forward_provider!(Box);

/// What provider resolution needs to know from a model catalog, without depending on one: llm-cost implements
/// it, llm-providers consumes it, so neither depends on the other.
pub trait ModelDirectory: Send + Sync {
    /// The provider that serves a bare model name (no provider prefix), when the catalog knows it.
    fn provider_of(&self, model: &str) -> Option<ProviderId>;

    /// The provider and name a resolved `(provider, model)` pair is served as when the catalog renames it, as
    /// LiteLLM's `get_llm_provider` does after choosing the provider: a `*-latest` alias row becomes its target
    /// (`claude-sonnet-latest` → `claude-sonnet-5-5`), a Bedrock Mantle region path is dropped
    /// (`us-east-1/openai.gpt-oss-20b` → `openai.gpt-oss-20b`), an ai21 chat model is `ai21_chat`'s. `None` (the
    /// default) keeps the pair.
    fn provider_model(&self, provider: &str, model: &str) -> Option<(ProviderId, String)> {
        let _ = (provider, model);
        None
    }
}

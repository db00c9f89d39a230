//! The `Provider` trait every adapter implements and every decorator wraps.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
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
}

#[async_trait]
impl<P: Provider + ?Sized> Provider for Arc<P> {
    fn id(&self) -> &ProviderId {
        (**self).id()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        (**self).chat(request).await
    }

    async fn stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        (**self).stream(request).await
    }
}

#[async_trait]
impl<P: Provider + ?Sized> Provider for Box<P> {
    fn id(&self) -> &ProviderId {
        (**self).id()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        (**self).chat(request).await
    }

    async fn stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        (**self).stream(request).await
    }
}

/// What provider resolution needs to know from a model catalog, without depending on one: llm-cost implements
/// it, llm-providers consumes it, so neither depends on the other.
pub trait ModelDirectory: Send + Sync {
    /// The provider that serves a bare model name (no provider prefix), when the catalog knows it.
    fn provider_of(&self, model: &str) -> Option<ProviderId>;
}

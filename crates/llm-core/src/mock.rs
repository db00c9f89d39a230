//! An offline, scripted provider for tests, demos and examples (feature `mock`).
//!
//! In the spirit of LiteLLM's `mock_response`, but with usage that depends on the text: prompt tokens are
//! counted from the request's messages and completion tokens from the reply, with [`count_tokens`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{Error, ErrorKind, Result};
use crate::ids::ProviderId;
use crate::message::{Message, Role, ToolCall};
use crate::provider::Provider;
use crate::request::ChatRequest;
use crate::response::{ChatResponse, Choice, FinishReason};
use crate::stream::{ChatStream, StreamEvent};
use crate::usage::Usage;

/// A scripted failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockError {
    /// HTTP 429 with a `retry-after`.
    RateLimited {
        /// The wait the "server" asks for.
        retry_after: Duration,
    },
    /// HTTP 500.
    Server,
    /// HTTP 503.
    Overloaded,
    /// The call timed out.
    Timeout,
    /// HTTP 401.
    Auth,
    /// HTTP 400 naming the context window.
    ContextLength,
}

impl MockError {
    fn to_error(&self, provider: &ProviderId, model: &str) -> Error {
        let e = match self {
            Self::RateLimited { retry_after } => {
                Error::new(ErrorKind::RateLimited, "mock rate limit").with_status(429).with_retry_after(*retry_after)
            }
            Self::Server => Error::new(ErrorKind::Server, "mock server error").with_status(500),
            Self::Overloaded => Error::new(ErrorKind::Overloaded, "mock overloaded").with_status(503),
            Self::Timeout => Error::new(ErrorKind::Timeout, "mock timeout"),
            Self::Auth => Error::new(ErrorKind::Auth, "mock invalid api key").with_status(401),
            Self::ContextLength => {
                Error::new(ErrorKind::ContextLength, "mock prompt exceeds the context window").with_status(400)
            }
        };
        e.with_provider(provider.clone()).with_model(model)
    }
}

/// What the mock answers to one call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "a test double's scripted replies: size does not matter, a Box would only lengthen every script"
)]
pub enum MockReply {
    /// This text, with counted usage.
    Text(String),
    /// This text, with exactly this usage.
    TextWithUsage(String, Usage),
    /// A call of this tool with these JSON arguments.
    ToolCall {
        /// The function name.
        name: String,
        /// The arguments' JSON text.
        arguments: String,
    },
    /// `"You said: "` and the last user message.
    Echo,
    /// A failure.
    Error(MockError),
    /// A stream that yields part of this text and then breaks off (a non-streaming call fails outright).
    TruncatedStream(String),
}

impl MockReply {
    /// A text reply.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }
}

/// Counts tokens the mock's way: every white-space-separated word costs one token per started group of four
/// characters. Deterministic and proportional to the text, which is all a mock needs.
///
/// ```
/// assert_eq!(llm_core::mock::count_tokens("Hello world"), 4);
/// assert_eq!(llm_core::mock::count_tokens(""), 0);
/// ```
pub fn count_tokens(text: &str) -> u64 {
    text.split_whitespace().map(|w| (w.chars().count() as u64).div_ceil(4)).sum()
}

/// The prompt tokens the mock charges for a request: the messages' text, plus 3 per message and 3 for the
/// reply's priming (OpenAI's chat overhead).
pub fn prompt_tokens(request: &ChatRequest) -> u64 {
    let text: u64 = request.messages.iter().map(|m| count_tokens(&m.text()) + 3).sum();
    text + 3
}

/// An offline [`Provider`] that answers from a script, then with a default reply.
///
/// ```
/// # tokio_test_block(async {
/// use llm_core::{ChatRequest, Message, Provider, mock::{MockProvider, MockReply}};
/// let mock = MockProvider::new().with_reply(MockReply::text("Paris."));
/// let r = mock.chat(&ChatRequest::new("mock/gpt-4o", vec![Message::user("Capital of France?")])).await.unwrap();
/// assert_eq!(r.text(), "Paris.");
/// assert_eq!(r.model, "gpt-4o");
/// assert_eq!(r.usage.unwrap().completion_tokens, 2);
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     futures_util::FutureExt::now_or_never(f).expect("the mock never waits");
/// # }
/// ```
#[derive(Debug)]
pub struct MockProvider {
    id: ProviderId,
    script: Mutex<VecDeque<MockReply>>,
    default_reply: MockReply,
    requests: Mutex<Vec<ChatRequest>>,
    calls: AtomicU64,
    words_per_chunk: usize,
}

impl Default for MockProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl MockProvider {
    /// A mock named `mock` that echoes the last user message.
    pub fn new() -> Self {
        Self {
            id: ProviderId::new("mock"),
            script: Mutex::new(VecDeque::new()),
            default_reply: MockReply::Echo,
            requests: Mutex::new(Vec::new()),
            calls: AtomicU64::new(0),
            words_per_chunk: 1,
        }
    }

    /// Renames the provider (to stand in for `openai`, say).
    #[must_use]
    pub fn with_id(mut self, id: impl Into<ProviderId>) -> Self {
        self.id = id.into();
        self
    }

    /// Queues a reply for the next call that has none queued.
    #[must_use]
    pub fn with_reply(self, reply: MockReply) -> Self {
        self.push_reply(reply);
        self
    }

    /// Sets the reply used once the script is exhausted.
    #[must_use]
    pub fn with_default_reply(mut self, reply: MockReply) -> Self {
        self.default_reply = reply;
        self
    }

    /// How many words each streamed text chunk carries (at least 1).
    #[must_use]
    pub fn with_words_per_chunk(mut self, words: usize) -> Self {
        self.words_per_chunk = words.max(1);
        self
    }

    /// Queues a reply at run time.
    pub fn push_reply(&self, reply: MockReply) {
        self.script.lock().unwrap_or_else(PoisonError::into_inner).push_back(reply);
    }

    /// How many calls were made.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The requests received, in order.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn next(&self, request: &ChatRequest) -> (u64, MockReply) {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        self.requests.lock().unwrap_or_else(PoisonError::into_inner).push(request.clone());
        let scripted = self.script.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
        (n, scripted.unwrap_or_else(|| self.default_reply.clone()))
    }

    fn served_model(request: &ChatRequest) -> String {
        let m = request.model.as_str();
        m.strip_prefix("mock/").unwrap_or(m).to_owned()
    }

    fn reply_text(reply: &MockReply, request: &ChatRequest) -> String {
        match reply {
            MockReply::Text(t) | MockReply::TextWithUsage(t, _) | MockReply::TruncatedStream(t) => t.clone(),
            MockReply::Echo => {
                let last =
                    request.messages.iter().rev().find(|m| m.role == Role::User).map(Message::text).unwrap_or_default();
                format!("You said: {last}")
            }
            MockReply::ToolCall { .. } | MockReply::Error(_) => String::new(),
        }
    }

    fn usage(reply: &MockReply, request: &ChatRequest, text: &str) -> Usage {
        match reply {
            MockReply::TextWithUsage(_, u) => *u,
            MockReply::ToolCall { name, arguments } => {
                Usage::new(prompt_tokens(request), count_tokens(name) + count_tokens(arguments) + 3)
            }
            _ => Usage::new(prompt_tokens(request), count_tokens(text)),
        }
    }
}

#[async_trait]
impl Provider for MockProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let (n, reply) = self.next(request);
        let model = Self::served_model(request);
        let text = Self::reply_text(&reply, request);
        let (message, finish) = match &reply {
            MockReply::Error(e) => return Err(e.to_error(&self.id, &model)),
            MockReply::TruncatedStream(_) => {
                return Err(Error::new(ErrorKind::Network, "mock connection dropped")
                    .with_provider(self.id.clone())
                    .with_model(model));
            }
            MockReply::ToolCall { name, arguments } => (
                Message::assistant_tool_calls(vec![ToolCall::new(format!("call_mock_{n}"), name, arguments)]),
                FinishReason::ToolCalls,
            ),
            _ => (Message::assistant(text.clone()), FinishReason::Stop),
        };
        let usage = Self::usage(&reply, request, &text);
        let choices =
            (0..request.n.unwrap_or(1).max(1)).map(|i| Choice::new(i, message.clone(), Some(finish.clone()))).collect();
        let mut r = ChatResponse::new(format!("mock-{n}"), model, choices, Some(usage)).with_provider(self.id.clone());
        r.created = Some(0);
        Ok(r)
    }

    async fn stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        let (n, reply) = self.next(request);
        let model = Self::served_model(request);
        let text = Self::reply_text(&reply, request);
        let mut events: Vec<Result<StreamEvent>> =
            vec![Ok(StreamEvent::Start { id: Some(format!("mock-{n}")), model: Some(model.clone()) })];
        match &reply {
            MockReply::Error(e) => return Err(e.to_error(&self.id, &model)),
            MockReply::ToolCall { name, arguments } => {
                events.push(Ok(StreamEvent::ToolCallDelta {
                    index: 0,
                    tool_index: 0,
                    id: Some(format!("call_mock_{n}")),
                    name: Some(name.clone()),
                    arguments: arguments.clone(),
                }));
                events.push(Ok(StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls }));
            }
            _ => {
                let chunks = chunk_words(&text, self.words_per_chunk);
                let truncated = matches!(reply, MockReply::TruncatedStream(_));
                let keep = if truncated { chunks.len() / 2 } else { chunks.len() };
                for c in chunks.into_iter().take(keep) {
                    events.push(Ok(StreamEvent::TextDelta { index: 0, text: c }));
                }
                if truncated {
                    events.push(Err(Error::new(ErrorKind::Network, "mock stream ended before it finished")
                        .with_provider(self.id.clone())
                        .with_model(model.clone())));
                    return Ok(Box::pin(futures_util::stream::iter(events)));
                }
                events.push(Ok(StreamEvent::Finish { index: 0, reason: FinishReason::Stop }));
            }
        }
        events.push(Ok(StreamEvent::Usage(Self::usage(&reply, request, &text))));
        Ok(Box::pin(futures_util::stream::iter(events)))
    }
}

/// Splits text into chunks of `words` words, each keeping its trailing white space, so the chunks join back
/// into the text exactly.
fn chunk_words(text: &str, words: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    let mut in_word = false;
    for ch in text.chars() {
        if ch.is_whitespace() {
            if in_word {
                count += 1;
                in_word = false;
            }
        } else if !in_word {
            if count == words {
                out.push(std::mem::take(&mut current));
                count = 0;
            }
            in_word = true;
        }
        current.push(ch);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::collect_stream;

    fn req(text: &str) -> ChatRequest {
        ChatRequest::new("mock/test-model", vec![Message::system("Be brief."), Message::user(text)])
    }

    #[test]
    fn chunks_join_back() {
        for text in ["Hello streaming world", "  lead and trail  ", "one", "", "a  b\n c"] {
            for w in 1..4 {
                assert_eq!(chunk_words(text, w).concat(), text, "{text:?} by {w}");
            }
        }
        assert_eq!(chunk_words("Hello streaming world", 1), vec!["Hello ", "streaming ", "world"]);
        assert_eq!(chunk_words("a b c", 2), vec!["a b ", "c"]);
    }

    #[tokio::test]
    async fn usage_depends_on_text() {
        let mock = MockProvider::new();
        let short = mock.chat(&req("hi")).await.unwrap();
        let long = mock.chat(&req("a much longer question about the weather in Paris")).await.unwrap();
        let (s, l) = (short.usage.unwrap(), long.usage.unwrap());
        assert_eq!(s.prompt_tokens, 3 + 3 + 1 + 3 + 3);
        assert!(l.prompt_tokens > s.prompt_tokens);
        assert!(l.completion_tokens > s.completion_tokens);
        assert_eq!(short.text(), "You said: hi");
        assert_eq!(s.completion_tokens, count_tokens("You said: hi"));
        assert_eq!(mock.calls(), 2);
        assert_eq!(short.id, "mock-1");
        assert_eq!(long.id, "mock-2");
    }

    #[tokio::test]
    async fn stream_assembles_to_chat() {
        let a = MockProvider::new().with_default_reply(MockReply::text("The quick brown fox"));
        let b = MockProvider::new().with_default_reply(MockReply::text("The quick brown fox"));
        let chat = a.chat(&req("q")).await.unwrap();
        let streamed = collect_stream(b.stream(&req("q")).await.unwrap()).await.unwrap();
        assert_eq!(chat.choices, streamed.choices);
        assert_eq!(chat.usage, streamed.usage);
        assert_eq!(chat.id, streamed.id);
        assert_eq!(chat.model, streamed.model);
    }

    #[tokio::test]
    async fn scripted_errors_then_default() {
        let mock = MockProvider::new()
            .with_reply(MockReply::Error(MockError::RateLimited { retry_after: Duration::from_millis(1500) }))
            .with_reply(MockReply::Error(MockError::Server))
            .with_reply(MockReply::Error(MockError::Timeout))
            .with_default_reply(MockReply::text("ok"));
        let e = mock.chat(&req("x")).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(e.status(), Some(429));
        assert!(e.is_retryable());
        let e = mock.chat(&req("x")).await.unwrap_err();
        assert_eq!((e.kind(), e.status()), (&ErrorKind::Server, Some(500)));
        let e = mock.stream(&req("x")).await.err().unwrap();
        assert!(e.is_timeout());
        assert_eq!(mock.chat(&req("x")).await.unwrap().text(), "ok");
        assert_eq!(mock.requests().len(), 4);
    }

    #[tokio::test]
    async fn truncated_stream_errors_after_some_text() {
        let mock = MockProvider::new().with_reply(MockReply::TruncatedStream("one two three four".into()));
        let mut s = mock.stream(&req("x")).await.unwrap();
        let mut texts = String::new();
        let mut error = None;
        while let Some(ev) = futures_util::StreamExt::next(&mut s).await {
            match ev {
                Ok(StreamEvent::TextDelta { text, .. }) => texts.push_str(&text),
                Ok(_) => {}
                Err(e) => error = Some(e),
            }
        }
        assert_eq!(texts, "one two ");
        assert_eq!(error.unwrap().kind(), &ErrorKind::Network);
    }

    #[tokio::test]
    async fn tool_call_reply() {
        let mock = MockProvider::new()
            .with_reply(MockReply::ToolCall { name: "get_weather".into(), arguments: r#"{"city":"Paris"}"#.into() });
        let r = mock.chat(&req("weather?")).await.unwrap();
        assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
        assert_eq!(r.tool_calls()[0].name, "get_weather");
        assert_eq!(r.tool_calls()[0].id, "call_mock_1");
        assert_eq!(r.choices[0].message.content, None);
    }
}

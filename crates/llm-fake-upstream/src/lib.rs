//! A scripted fake LLM provider on 127.0.0.1, for tests and benchmarks.
//!
//! [`FakeUpstream::start`] binds an ephemeral loopback port and serves HTTP/1.1 (keep-alive, `TCP_NODELAY`,
//! each response head and each body chunk in a single write, so no delayed-ACK stalls). Replies are scripted:
//! [`FakeUpstream::push`] queues one-shot replies served in order, [`FakeUpstream::set_default`] sets the reply
//! served when the queue is empty. Every request is recorded with its method, path, query, headers and body.
//!
//! A [`Reply`] can carry faults: a delay before the response ([`Reply::delay`]), a gap between stream chunks
//! ([`Reply::chunk_gap`]), a connection dropped before any byte ([`Reply::drop_connection`]) or in the middle of
//! the body ([`Reply::truncate_after`]). The [`wire`] module builds replies in each provider's exact wire
//! format (OpenAI-family JSON and SSE, Anthropic named SSE events, Gemini SSE, Ollama NDJSON, the AWS binary
//! event stream of Bedrock).
//!
//! ```
//! use llm_fake_upstream::{FakeUpstream, Reply, wire};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = FakeUpstream::start().await?;
//! server.push(wire::openai::chat("Hello!", 12, 3));
//! server.push(Reply::json(429, r#"{"error":{"message":"slow down"}}"#).header("retry-after", "1"));
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! assert_eq!(server.request_count(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! When the queue is empty and no default is set, the server answers `418` with a JSON error saying so: a
//! status no client retries, so a missing script fails a test at once.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub mod browser;
pub mod peers;
mod services;
pub mod sigv4;
pub mod wire;

pub use services::{TcpProxy, test_redis_url};

/// One request as the fake upstream received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query string (`/v1/chat/completions`).
    pub path: String,
    /// The query string without `?`, empty when there was none.
    pub query: String,
    /// The headers in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a header (the name is matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Debug, Clone)]
enum Body {
    Full(Vec<u8>),
    Chunks(Vec<Vec<u8>>),
}

/// A scripted response, possibly with faults. Build it with the constructors and the consuming setters.
#[derive(Debug, Clone)]
#[must_use]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
    delay: Duration,
    chunk_gap: Duration,
    drop_connection: bool,
    truncate_after: Option<usize>,
}

impl Reply {
    /// An empty response with this status.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Full(Vec::new()),
            delay: Duration::ZERO,
            chunk_gap: Duration::ZERO,
            drop_connection: false,
            truncate_after: None,
        }
    }

    /// A JSON body (sent as given, so malformed JSON can be scripted too).
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::new(status).header("content-type", "application/json").body(body.into().into_bytes())
    }

    /// A JSON body from a value.
    pub fn json_value(status: u16, body: &serde_json::Value) -> Self {
        Self::json(status, body.to_string())
    }

    /// A streamed 200 response with this content type; each chunk goes out in one write, in HTTP chunked
    /// encoding.
    pub fn stream(content_type: &str, chunks: impl IntoIterator<Item = impl Into<Vec<u8>>>) -> Self {
        let mut r = Self::new(200).header("content-type", content_type);
        r.body = Body::Chunks(chunks.into_iter().map(Into::into).collect());
        r
    }

    /// A server-sent-events transcript, as written in a fixture file: it is cut after every blank line
    /// (`\n\n` or `\r\n\r\n`), one chunk per event.
    pub fn sse_transcript(text: &str) -> Self {
        Self::stream("text/event-stream", split_events(text))
    }

    /// An NDJSON transcript: one chunk per line.
    pub fn ndjson_transcript(text: &str) -> Self {
        let lines = text.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("{l}\n"));
        Self::stream("application/x-ndjson", lines)
    }

    /// Replaces the status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Replaces the body with a complete one (sent with `content-length`).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Full(body.into());
        self
    }

    /// Waits this long before sending anything.
    pub fn delay(mut self, wait: Duration) -> Self {
        self.delay = wait;
        self
    }

    /// Waits this long before every stream chunk after the first.
    pub fn chunk_gap(mut self, gap: Duration) -> Self {
        self.chunk_gap = gap;
        self
    }

    /// Closes the connection without answering.
    pub fn drop_connection(mut self) -> Self {
        self.drop_connection = true;
        self
    }

    /// Sends only the first `n` body bytes (or, for a stream, the first `n` chunks) and closes the connection.
    pub fn truncate_after(mut self, n: usize) -> Self {
        self.truncate_after = Some(n);
        self
    }
}

fn split_events(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let cut = [rest.find("\r\n\r\n").map(|i| i + 4), rest.find("\n\n").map(|i| i + 2)].into_iter().flatten().min();
        match cut {
            Some(end) => {
                out.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
            None => {
                if !rest.is_empty() {
                    out.push(rest.to_owned());
                }
                return out;
            }
        }
    }
}

/// A function that answers requests computed from the request itself (see [`FakeUpstream::handle`]).
pub type Handler = Arc<dyn Fn(&RecordedRequest) -> Option<Reply> + Send + Sync>;

#[derive(Clone)]
struct Handled(String, Handler);

impl std::fmt::Debug for Handled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Handled").field(&self.0).finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    handlers: Vec<Handled>,
    routed: Vec<(String, Reply)>,
    queue: VecDeque<Reply>,
    default: Option<Reply>,
    requests: Vec<RecordedRequest>,
}

/// The fake upstream server. It stops when dropped.
#[derive(Debug)]
pub struct FakeUpstream {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeUpstream {
    /// Starts a server on `127.0.0.1` with an ephemeral port. Call it inside a tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(socket, state).await;
                });
            }
        });
        Ok(Self { addr, state, task })
    }

    /// The base URL, `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a one-shot reply; queued replies are served in order.
    pub fn push(&self, reply: Reply) {
        lock(&self.state).queue.push_back(reply);
    }

    /// Queues a one-shot reply for the first request whose path starts with `path_prefix`; such replies are
    /// served before the general queue (for tests that talk to several endpoints at once).
    pub fn push_for_path(&self, path_prefix: &str, reply: Reply) {
        lock(&self.state).routed.push((path_prefix.to_owned(), reply));
    }

    /// Answers every request whose path starts with `path_prefix` with what `handler` computes from it, before
    /// any scripted reply; when it returns `None` the request goes on to the next matching handler, then to the
    /// scripted replies. Handlers stay installed (an OAuth token endpoint that verifies what it is sent, a check
    /// of the bearer token in front of scripted routes: [`wire::google::TokenEndpoint`]).
    pub fn handle(
        &self,
        path_prefix: &str,
        handler: impl Fn(&RecordedRequest) -> Option<Reply> + Send + Sync + 'static,
    ) {
        lock(&self.state).handlers.push(Handled(path_prefix.to_owned(), Arc::new(handler)));
    }

    /// Queues several one-shot replies.
    pub fn push_all(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.state).queue.extend(replies);
    }

    /// Sets the reply served (again and again) when the queue is empty.
    pub fn set_default(&self, reply: Reply) {
        lock(&self.state).default = Some(reply);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        lock(&self.state).requests.len()
    }

    /// The last request received.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        lock(&self.state).requests.last().cloned()
    }

    /// Forgets the recorded requests (a benchmark calls this to keep memory flat).
    pub fn clear_requests(&self) {
        lock(&self.state).requests.clear();
    }

    /// How many queued replies (general and per-path) were not served yet.
    pub fn pending(&self) -> usize {
        let s = lock(&self.state);
        s.queue.len() + s.routed.len()
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn serve(mut socket: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        // Read the head.
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 8192];
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (target.to_owned(), String::new()),
        };
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize =
            headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let close = headers.iter().any(|(k, v)| k == "connection" && v.eq_ignore_ascii_case("close"));
        let body_start = head_end + 4;
        while buf.len() < body_start + len {
            let mut chunk = [0u8; 8192];
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[body_start..body_start + len].to_vec();
        buf.drain(..body_start + len);

        let request = RecordedRequest { method, path, query, headers, body };
        let handlers: Vec<Handled> =
            lock(&state).handlers.iter().filter(|h| request.path.starts_with(h.0.as_str())).cloned().collect();
        // Handlers run outside the lock: they may take their own.
        let handled = handlers.iter().find_map(|h| (h.1)(&request));
        let reply = {
            let mut s = lock(&state);
            let routed = s.routed.iter().position(|(prefix, _)| request.path.starts_with(prefix.as_str()));
            s.requests.push(request);
            match (handled, routed) {
                (Some(r), _) => Some(r),
                (None, Some(i)) => Some(s.routed.remove(i).1),
                (None, None) => s.queue.pop_front().or_else(|| s.default.clone()),
            }
        };
        let reply = reply.unwrap_or_else(|| {
            Reply::json(418, r#"{"error":{"message":"fake upstream: no scripted reply left","type":"fake"}}"#)
        });
        if !write_reply(&mut socket, reply).await? || close {
            return Ok(());
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        418 => "I'm a teapot",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Writes the reply; returns whether the connection may be kept alive.
async fn write_reply(socket: &mut TcpStream, reply: Reply) -> std::io::Result<bool> {
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if reply.drop_connection {
        socket.shutdown().await?;
        return Ok(false);
    }
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (k, v) in &reply.headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    match reply.body {
        Body::Full(body) => {
            head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
            let mut out = head.into_bytes();
            match reply.truncate_after {
                Some(n) => {
                    out.extend_from_slice(&body[..n.min(body.len())]);
                    socket.write_all(&out).await?;
                    socket.flush().await?;
                    socket.shutdown().await?;
                    Ok(false)
                }
                None => {
                    out.extend_from_slice(&body);
                    socket.write_all(&out).await?;
                    Ok(true)
                }
            }
        }
        Body::Chunks(chunks) => {
            head.push_str("transfer-encoding: chunked\r\n\r\n");
            let mut pending = head.into_bytes();
            for (i, chunk) in chunks.iter().enumerate() {
                if reply.truncate_after.is_some_and(|n| i >= n) {
                    if !pending.is_empty() {
                        socket.write_all(&pending).await?;
                    }
                    socket.flush().await?;
                    socket.shutdown().await?;
                    return Ok(false);
                }
                if i > 0 && !reply.chunk_gap.is_zero() {
                    tokio::time::sleep(reply.chunk_gap).await;
                }
                if chunk.is_empty() {
                    continue;
                }
                pending.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                pending.extend_from_slice(chunk);
                pending.extend_from_slice(b"\r\n");
                socket.write_all(&pending).await?;
                pending.clear();
            }
            if reply.truncate_after.is_some() {
                socket.write_all(&pending).await?;
                socket.shutdown().await?;
                return Ok(false);
            }
            pending.extend_from_slice(b"0\r\n\r\n");
            socket.write_all(&pending).await?;
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn raw(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn serves_scripted_replies_in_order_and_records_requests() {
        let server = FakeUpstream::start().await.unwrap();
        server.push(Reply::json(200, "{\"a\":1}").header("x-test", "yes"));
        let req = "POST /v1/x?k=v HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        let answer = raw(server.addr(), req).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("x-test: yes\r\n"));
        assert!(answer.ends_with("{\"a\":1}"));
        let answer = raw(server.addr(), req).await;
        assert!(answer.starts_with("HTTP/1.1 418"), "{answer}");
        server.push(Reply::json(200, "{\"queue\":1}"));
        server.push_for_path("/v1/x", Reply::json(201, "{\"routed\":1}"));
        assert!(raw(server.addr(), req).await.starts_with("HTTP/1.1 201"));
        assert!(raw(server.addr(), req).await.ends_with("{\"queue\":1}"));
        let reqs = server.requests();
        assert_eq!(reqs.len(), 4);
        assert_eq!(reqs[0].method, "POST");
        assert_eq!(reqs[0].path, "/v1/x");
        assert_eq!(reqs[0].query, "k=v");
        assert_eq!(reqs[0].header("HOST"), Some("a"));
        assert_eq!(reqs[0].json(), serde_json::json!({}));
    }

    #[tokio::test]
    async fn streams_in_chunks_and_truncates() {
        let server = FakeUpstream::start().await.unwrap();
        server.push(Reply::sse_transcript("data: 1\n\ndata: 2\n\n"));
        server.push(Reply::sse_transcript("data: 1\n\ndata: 2\n\n").truncate_after(1));
        let req = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
        let full = raw(server.addr(), req).await;
        assert!(full.contains("9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n"), "{full:?}");
        let cut = raw(server.addr(), req).await;
        assert!(cut.contains("data: 1") && !cut.contains("data: 2") && !cut.contains("0\r\n\r\n"), "{cut:?}");
    }

    #[test]
    fn transcripts_split_per_event() {
        assert_eq!(split_events("a\n\nb\r\n\r\nc"), vec!["a\n\n", "b\r\n\r\n", "c"]);
    }
}

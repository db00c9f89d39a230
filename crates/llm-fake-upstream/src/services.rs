//! Test services beside the fake upstream: finding the Redis a test uses, and a TCP proxy a test can cut and
//! restore, to take a service away mid-run.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The Redis server tests use: `LLM_TEST_REDIS_URL` when it is set, else the local server at 127.0.0.1:6379
/// when one answers. Without either the test is skipped with a printed reason (`None`), except under
/// `CI=true`, where a skipped Redis test is a failure and this panics (as the PostgreSQL tests do).
pub fn test_redis_url() -> Option<String> {
    if let Some(url) = std::env::var("LLM_TEST_REDIS_URL").ok().filter(|u| !u.is_empty()) {
        return Some(url);
    }
    let local = SocketAddr::from(([127, 0, 0, 1], 6379));
    if std::net::TcpStream::connect_timeout(&local, Duration::from_millis(500)).is_ok() {
        return Some(format!("redis://{local}/"));
    }
    let reason = format!("LLM_TEST_REDIS_URL is not set and no Redis answers on {local}");
    #[allow(clippy::panic, reason = "a CI run must not skip a service test")]
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason}: under CI=true a Redis test may not be skipped");
    }
    println!("skipped: {reason} (set it, e.g. LLM_TEST_REDIS_URL=redis://127.0.0.1:6379/)");
    None
}

/// A TCP proxy on 127.0.0.1 to `target`: [`TcpProxy::cut`] closes its port and every connection through it (the
/// service is gone, as if killed), [`TcpProxy::restore`] listens on the same port again.
pub struct TcpProxy {
    addr: SocketAddr,
    target: SocketAddr,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl std::fmt::Debug for TcpProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpProxy").field("addr", &self.addr).field("target", &self.target).finish()
    }
}

impl TcpProxy {
    /// A proxy to `target` on an ephemeral loopback port.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let proxy = Self { addr, target, tasks: Arc::new(Mutex::new(JoinSet::new())) };
        proxy.serve(listener);
        Ok(proxy)
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn serve(&self, listener: TcpListener) {
        let target = self.target;
        let tasks = self.tasks.clone();
        let accept = async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Ok(mut outbound) = TcpStream::connect(target).await else { continue };
                let copy = async move {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                };
                if let Ok(mut t) = tasks.lock() {
                    t.spawn(copy);
                }
            }
        };
        if let Ok(mut t) = self.tasks.lock() {
            t.spawn(accept);
        }
    }

    /// Closes the port and every connection through it.
    pub fn cut(&self) {
        if let Ok(mut t) = self.tasks.lock() {
            t.abort_all();
        }
    }

    /// Listens on the same port again (after [`TcpProxy::cut`]).
    pub async fn restore(&self) -> std::io::Result<()> {
        // the aborted listener's port may take a moment to be free
        let mut last = None;
        for _ in 0..50 {
            match TcpListener::bind(self.addr).await {
                Ok(l) => {
                    self.serve(l);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("cannot listen again")))
    }
}

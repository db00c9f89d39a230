//! Real peers for integration tests: from PyPI moto's S3 server, Arize Phoenix (an OTLP receiver), and the
//! Python readers (boto3, DuckDB, the Azure Storage SDK) that check what the project wrote, in a virtualenv that
//! `bash .ci/peers` makes under the build folder (`target/peers-venv`; `LLM_TEST_PEERS_PYTHON` names another
//! interpreter); from npm Azurite, Microsoft's Azure Storage emulator (`target/peers-npm`).
//!
//! Without them a test is skipped with a printed reason, except under `CI=true`, where a missing peer fails
//! the test (as a missing PostgreSQL or Redis does).

#![allow(clippy::panic, reason = "test support: a peer that cannot start fails the test that asked for it")]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The interpreter of the peers' virtualenv: `LLM_TEST_PEERS_PYTHON`, else `target/peers-venv/bin/python` of
/// this workspace when it exists.
pub fn python_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LLM_TEST_PEERS_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peers-venv/bin/python");
    venv.exists().then_some(venv)
}

/// The peers' interpreter when it can import every one of `modules`; `None` (the test is skipped, with the
/// reason printed) when it cannot, outside CI.
///
/// # Panics
/// Under `CI=true` when the interpreter or a module is missing: a CI run may not skip a peer test.
pub fn require_python(modules: &[&str]) -> Option<PathBuf> {
    let reason = match python_path() {
        None => "no peers virtualenv (target/peers-venv, or LLM_TEST_PEERS_PYTHON)".to_owned(),
        Some(python) => {
            let script = modules.iter().map(|m| format!("import {m}")).collect::<Vec<_>>().join("; ");
            match Command::new(&python).args(["-c", &script]).output() {
                Ok(out) if out.status.success() => return Some(python),
                Ok(out) => format!(
                    "{} cannot import {modules:?}: {}",
                    python.display(),
                    String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default()
                ),
                Err(e) => format!("{} does not run: {e}", python.display()),
            }
        }
    };
    missing(&reason)
}

/// A program of the peers' npm packages (`target/peers-npm/node_modules/.bin/NAME`, or the same under the
/// folder `LLM_TEST_PEERS_NPM` names), such as Azurite's `azurite-blob`; `None` (the test is skipped, with
/// the reason printed) when it is not installed, outside CI.
///
/// # Panics
/// Under `CI=true` when it is missing.
pub fn require_npm_bin(name: &str) -> Option<PathBuf> {
    let root = std::env::var_os("LLM_TEST_PEERS_NPM")
        .filter(|p| !p.is_empty())
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peers-npm"), PathBuf::from);
    let bin = root.join("node_modules/.bin").join(name);
    if bin.exists() {
        return Some(bin);
    }
    missing(&format!("no {} (the peers' npm packages)", bin.display()))
}

fn missing<T>(reason: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{reason}: under CI=true a peer test may not be skipped (.ci/run installs the peers with `bash .ci/peers`)"
        );
    }
    println!("skipped: {reason}; `bash .ci/peers` installs them");
    None
}

/// A free port on 127.0.0.1 (bound, then released for a child process to take).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("no free port: {e}"));
    listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("no local address: {e}"))
}

/// A peer's server process, killed (with its process group) when dropped. Its output goes to `log` in its
/// own temporary folder, which a failing wait prints.
#[derive(Debug)]
pub struct PeerProcess {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl PeerProcess {
    /// Starts `python ARGS...` with `envs` in a new temporary folder (its working directory) and waits until
    /// 127.0.0.1:`port` accepts connections (at most `ready_within`).
    ///
    /// # Panics
    /// When it does not start, exits, or is not listening in time.
    pub fn start(python: &Path, args: &[&str], envs: &[(&str, &str)], port: u16, ready_within: Duration) -> Self {
        let dir = std::env::temp_dir().join(format!("llm-peer-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let log = std::fs::File::create(dir.join("log")).unwrap_or_else(|e| panic!("peer log: {e}"));
        let err = log.try_clone().unwrap_or_else(|e| panic!("peer log: {e}"));
        let mut cmd = Command::new(python);
        cmd.args(args).current_dir(&dir).stdin(Stdio::null()).stdout(log).stderr(err);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{} {args:?} did not start: {e}", python.display()));
        let mut peer = Self { child, port, dir };
        peer.wait_ready(ready_within, args);
        peer
    }

    fn wait_ready(&mut self, within: Duration, args: &[&str]) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + within;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("peer {args:?} exited ({status}) before listening:\n{}", self.log());
            }
            if Instant::now() > deadline {
                panic!("peer {args:?} not listening on {addr} after {within:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its temporary folder (its working directory).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // The whole group: servers such as Phoenix start workers of their own. `-s KILL --` and not `-9`:
            // procps-ng 4.0.2's kill (Debian 12) read `kill -9 -PGID` as `kill -9 -1`, every process of the user.
            let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{}", self.child.id())]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `python -c SCRIPT ARGS...` and returns its standard output.
///
/// # Panics
/// When it fails; the message has its standard error.
pub fn run_python(python: &Path, script: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(script).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{} did not run: {e}", python.display()));
    assert!(
        out.status.success(),
        "python failed ({}):\n{}\n--- script ---\n{script}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

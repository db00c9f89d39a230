//! The secret API-key fingerprints are keyed with (HMAC-SHA-256, [`llm_core::ApiKey::fingerprint_keyed`]), so a
//! copy of a spend store cannot be used to confirm a guessed key.
//!
//! Where the secret comes from, first found wins:
//! 1. [`crate::TrackerBuilder::fingerprint_secret`];
//! 2. the `LLM_FINGERPRINT_SECRET` environment variable (what processes sharing a PostgreSQL store set, so
//!    their fingerprints agree);
//! 3. the store's own ([`crate::Store::fingerprint_secret`]): for SQLite a key file beside the database
//!    (`PATH.fpkey`, 32 random bytes in hex, created `0600` on first open), so the database file alone does not
//!    hold it; for PostgreSQL a random value in the database (`llm_store_secret`): fingerprints are salted per
//!    store, but whoever has the whole database has the salt too; for the memory store a random per-process
//!    value.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The name of the environment variable read for the fingerprint secret.
pub const SECRET_ENV: &str = "LLM_FINGERPRINT_SECRET";

/// 32 bytes from the operating system's random source.
pub(crate) fn random_secret() -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 32];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::config(format!("no random source for the fingerprint secret: {e}")))?;
    Ok(buf)
}

/// The secret from the environment, when set and not blank.
pub(crate) fn from_env() -> Option<Vec<u8>> {
    std::env::var(SECRET_ENV).ok().filter(|v| !v.trim().is_empty()).map(String::into_bytes)
}

/// The key file of the SQLite database at `db`.
pub fn key_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".fpkey");
    PathBuf::from(name)
}

/// Reads the key file of the database at `db`, creating it (owner read/write only) when missing and `create`.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code, reason = "used by the SQLite store"))]
pub(crate) fn load_or_create_key_file(db: &Path, create: bool) -> Result<Vec<u8>> {
    let path = key_file(db);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let hex = text.trim();
            let bytes = decode_hex(hex).ok_or_else(|| {
                Error::config(format!("the fingerprint key file {} is not hex: delete it or fix it", path.display()))
            })?;
            if bytes.len() < 16 {
                return Err(Error::config(format!("the fingerprint key file {} is too short", path.display())));
            }
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let secret = random_secret()?;
            write_new(&path, &encode_hex(&secret))
                .map_err(|e| Error::store(format!("cannot create the fingerprint key file {}: {e}", path.display())))?;
            // Another process may have created it first: what is on disk wins.
            match std::fs::read_to_string(&path) {
                Ok(text) => decode_hex(text.trim()).ok_or_else(|| Error::config("the fingerprint key file changed")),
                Err(_) => Ok(secret),
            }
        }
        Err(e) => Err(Error::store(format!("cannot read the fingerprint key file {}: {e}", path.display()))),
    }
}

/// Creates `path` with `text` unless it exists (then leaves it), readable by its owner only.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code, reason = "used by the SQLite store"))]
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code, reason = "used by the SQL stores"))]
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code, reason = "used by the SQL stores"))]
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("spend.sqlite");
        let a = load_or_create_key_file(&db, true).unwrap();
        let b = load_or_create_key_file(&db, true).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(key_file(&db), dir.path().join("spend.sqlite.fpkey"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_file(&db)).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        std::fs::write(key_file(&db), "not hex").unwrap();
        assert!(load_or_create_key_file(&db, true).is_err());
        assert!(load_or_create_key_file(&dir.path().join("other.sqlite"), false).is_err(), "not created read-only");
        assert_eq!(decode_hex(&encode_hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
    }
}

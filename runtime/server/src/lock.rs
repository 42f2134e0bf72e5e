//! Who serves a berth home: `<home>/server.lock`, held (an exclusive `flock`) by a running
//! `berth serve` for its lifetime, and `<home>/server.json` saying where it listens.
//!
//! DuckDB lets one process open Storage, so while a server holds a home every other command
//! must go through the server. The CLI asks [`held_by`] first and, when a server holds the home,
//! fails at once with a message naming the server's URL — never with a database lock error. The
//! kernel drops the lock when the server's process ends however it ends, so a crashed server
//! never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rustix::fs::{FlockOperation, flock};
use serde::{Deserialize, Serialize};

/// The lock file inside the home.
pub const LOCK_FILE: &str = "server.lock";
/// The file with the server's address inside the home.
pub const INFO_FILE: &str = "server.json";

/// What a running server says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The server's process id.
    pub pid: u32,
    /// Where it listens, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// When it started (RFC 3339).
    pub started: String,
}

/// The held lock of a home; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct ServerLock {
    _file: File,
    info_path: PathBuf,
}

impl ServerLock {
    /// Takes the home's lock for a server listening at `url`; fails when another server holds
    /// it.
    pub fn acquire(home: &Path, url: &str) -> Result<Self> {
        std::fs::create_dir_all(home)
            .with_context(|| format!("creating the berth home {}", home.display()))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(home.join(LOCK_FILE))
            .with_context(|| format!("opening {}", home.join(LOCK_FILE).display()))?;
        if let Err(e) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
            if e.kind() == ErrorKind::WouldBlock {
                let holder = read_info(home)
                    .map(|i| format!(" (pid {}, {})", i.pid, i.url))
                    .unwrap_or_default();
                bail!(
                    "berth serve is already running on the berth home {}{holder}",
                    home.display()
                );
            }
            return Err(e).context("locking the berth home");
        }
        let info = ServerInfo {
            pid: std::process::id(),
            url: url.to_owned(),
            started: berth_job::record::now_text(),
        };
        let info_path = home.join(INFO_FILE);
        std::fs::write(&info_path, serde_json::to_vec_pretty(&info)?)
            .with_context(|| format!("writing {}", info_path.display()))?;
        Ok(Self {
            _file: file,
            info_path,
        })
    }
}

impl Drop for ServerLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.info_path);
    }
}

fn read_info(home: &Path) -> Option<ServerInfo> {
    let text = std::fs::read_to_string(home.join(INFO_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The server holding `home`, if one does (`None` also when the home does not exist).
pub fn held_by(home: &Path) -> Option<ServerInfo> {
    let file = File::open(home.join(LOCK_FILE)).ok()?;
    match flock(&file, FlockOperation::NonBlockingLockShared) {
        Ok(()) => None,
        Err(e) if e.kind() == ErrorKind::WouldBlock => {
            Some(read_info(home).unwrap_or(ServerInfo {
                pid: 0,
                url: "(unknown)".to_owned(),
                started: String::new(),
            }))
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_per_home_and_the_lock_goes_with_it() {
        let dir = tempfile::TempDir::new().unwrap();
        assert_eq!(held_by(dir.path()), None);
        let lock = ServerLock::acquire(dir.path(), "http://127.0.0.1:1").unwrap();
        let info = held_by(dir.path()).expect("held");
        assert_eq!(info.url, "http://127.0.0.1:1");
        assert_eq!(info.pid, std::process::id());
        let err = ServerLock::acquire(dir.path(), "http://127.0.0.1:2").unwrap_err();
        assert!(
            err.to_string().contains("already running") && err.to_string().contains("127.0.0.1:1"),
            "{err}"
        );
        drop(lock);
        assert_eq!(held_by(dir.path()), None);
        assert!(!dir.path().join(INFO_FILE).exists());
        ServerLock::acquire(dir.path(), "http://127.0.0.1:3").unwrap();
    }
}

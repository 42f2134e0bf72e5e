//! Shared test support (the `testing` feature): finding the test registries (failing loudly
//! when `BERTH_REQUIRE_REGISTRY=1`, else skipping), unique repository names, and a tiny WASI
//! guest made with `wat`. Used by this crate's tests and the CLI's.

use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Where the open test registry listens unless `BERTH_TEST_REGISTRY` says otherwise.
const DEFAULT_REGISTRY: &str = "127.0.0.1:5000";
/// Where the htpasswd test registry listens unless `BERTH_TEST_AUTH_REGISTRY` says otherwise.
const DEFAULT_AUTH_REGISTRY: &str = "127.0.0.1:5001";
/// The credentials `.ci/start-registry.sh` gives the auth registry.
pub const AUTH_USER: &str = "berth";
/// The password of [`AUTH_USER`].
pub const AUTH_PASSWORD: &str = "berth-test-password";

fn reachable(addr: &str) -> bool {
    addr.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|sock| TcpStream::connect_timeout(&sock, Duration::from_secs(2)).is_ok())
}

fn find(env: &str, default: &str, test: &str) -> Option<String> {
    let addr = std::env::var(env).unwrap_or_else(|_| default.to_string());
    if reachable(&addr) {
        return Some(addr);
    }
    let message =
        format!("{test}: no registry at {addr} ({env}); start one with .ci/start-registry.sh");
    if std::env::var("BERTH_REQUIRE_REGISTRY").as_deref() == Ok("1") {
        panic!("{message} (BERTH_REQUIRE_REGISTRY=1)");
    }
    eprintln!("SKIPPED {message}");
    None
}

/// The open registry, or `None` (after printing a skip line) when it is not running.
pub fn registry(test: &str) -> Option<String> {
    find("BERTH_TEST_REGISTRY", DEFAULT_REGISTRY, test)
}

/// The htpasswd registry, or `None` (after printing a skip line) when it is not running.
pub fn auth_registry(test: &str) -> Option<String> {
    find("BERTH_TEST_AUTH_REGISTRY", DEFAULT_AUTH_REGISTRY, test)
}

/// A repository name no earlier run used.
pub fn unique_repo(name: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("berth-test/{name}-{}-{nanos}-{n}", std::process::id())
}

/// The text every guest prints.
pub const GREETING: &str = "hello from an image\n";

/// A WASI command module that prints [`GREETING`]; `tag` makes its bytes unique.
pub fn guest(tag: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from an image\n")
  (data (i32.const 64) "{tag}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 20))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#
    );
    wat::parse_str(text).expect("valid wat")
}

/// Writes [`guest`] to `dir/name`.
pub fn write_guest(dir: &Path, name: &str, tag: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, guest(tag)).unwrap();
    path
}

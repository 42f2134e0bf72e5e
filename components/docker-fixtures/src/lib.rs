//! Tiny static Linux programs for the Docker executor's tests.
//!
//! Each binary in `src/bin/` exercises one behaviour of the container sandbox (an exit code, a
//! limit, the network, the user it runs as). The tests in `runtime/exec/tests/all/docker_*.rs` build
//! them as static binaries and package each one alone into a `FROM scratch` image, so nothing is
//! downloaded. This library holds the little they share.

use std::time::Duration;

/// The first command-line argument parsed as a number, else the environment variable `var`,
/// else `default`.
pub fn arg_or_env(var: &str, default: u64) -> u64 {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var(var).ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Sleeps in one-second steps forever (PID 1 in a container ignores SIGTERM without a handler,
/// so only a kill ends it).
pub fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

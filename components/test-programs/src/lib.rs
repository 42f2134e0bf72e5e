//! Shared helpers of the test programs (each guest otherwise stands alone).
//!
//! The guests are built for WASI preview 1 (core modules) and preview 2 (components). The one
//! difference they must paper over is the exit code: on preview 2, Rust's `std::process::exit`
//! goes through wasi-libc, which reports any non-zero code as a bare error (exit 1); [`exit`]
//! reports the code itself through `wasi:cli/exit.exit-with-code` (WASI 0.2.12).

use std::io::Write as _;

/// Ends the program with `code`, flushing stdout first.
pub fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    #[cfg(all(target_os = "wasi", target_env = "p2"))]
    if code != 0 {
        wasip2::cli::exit::exit_with_code(u8::try_from(code).unwrap_or(u8::MAX));
    }
    std::process::exit(code)
}

//! What every CLI test needs: the `berth` binary built for these tests.

/// A command for the `berth` binary, without the caller's `BERTH_HOME` or `RUST_BACKTRACE`.
pub(crate) fn berth() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .env_remove("BERTH_HOME")
        .env_remove("RUST_BACKTRACE");
    command
}

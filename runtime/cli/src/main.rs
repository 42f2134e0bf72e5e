//! The `berth` binary: parses the command line, runs it, and maps failures to exit codes
//! (0 success, 1 user error, 2 application error).

use std::io::Write;
use std::process::ExitCode;

use berth_cli::{self as cli, Cli};
use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        // Every secret a running job decrypted is hidden in the logs too.
        .with_writer(|| berth_secrets::registry::RedactingWriter::new(std::io::stderr()))
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // Help and version are successes; a bad invocation is the user's error.
            return if error.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // `berth serve` drains its jobs on SIGTERM/SIGINT itself (a grace period, then kills);
    // every other command stops its component at once.
    if !matches!(cli.command, cli::Command::Serve(_)) {
        cli::signals::install();
    }
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(cli::terminal_stderr(), "berth: error: {error:#}");
            cli::exit_code_for(&error)
        }
    }
}

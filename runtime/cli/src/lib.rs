//! The `berth` command line: argument parsing and dispatch to one module per command group.
//!
//! Exit codes follow the common interface end to end: 0 success, 1 user error (bad input,
//! bad invocation, a component's user error), 2 application error.

pub mod action;
pub mod component;
pub mod config;
pub mod exec;
pub mod file;
pub mod image;
pub mod job;
pub mod oauth;
pub mod remote;
pub mod run;
pub mod secrets;
pub mod serve;
pub mod signals;
mod storage_url;
pub mod table;
pub mod token;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use berth_job::home::Home;

/// berth runs untrusted data components against a /data folder, sandboxed.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about = None)]
pub struct Cli {
    /// The berth home directory (Storage, images, compiled cache). Default: $XDG_DATA_HOME/berth,
    /// else ~/.local/share/berth
    #[arg(long, global = true, env = "BERTH_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Send the command to this `berth serve` instead of running it on a local home (client
    /// mode), e.g. `http://127.0.0.1:8080`.
    #[arg(long, global = true, env = "BERTH_URL", value_name = "URL")]
    pub url: Option<String>,

    /// The API token for `--url` (`X-StorageApi-Token`).
    #[arg(
        long,
        global = true,
        env = "BERTH_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a component on an existing data folder.
    Exec(exec::ExecArgs),
    /// Run a job: a component with a configuration, from Storage to Storage.
    Run(run::RunArgs),
    /// Run a synchronous action of a component and print its JSON answer.
    Action(action::ActionArgs),
    /// List and show job records.
    #[command(subcommand)]
    Job(job::JobCommand),
    /// Manage component images: pull, push, list, inspect, remove.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Storage tables: import, export, list, show, remove.
    #[command(subcommand)]
    Table(table::TableCommand),
    /// Storage files: upload, list, download, tag.
    #[command(subcommand)]
    File(file::FileCommand),
    /// Component definitions: add, list, show.
    #[command(subcommand)]
    Component(component::ComponentCommand),
    /// Configurations: create, list, show, state.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Run the HTTP server (jobs queue, actions, job logs) on this home.
    Serve(serve::ServeArgs),
    /// API tokens of this home: create, list, revoke.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Show the home: its project id, stack id and master key.
    Info(secrets::InfoArgs),
    /// Encrypt a value (or a JSON document's `#` values) for a component, configuration or project.
    Encrypt(secrets::EncryptArgs),
    /// The master key: rotate.
    #[command(subcommand)]
    Key(secrets::KeyCommand),
    /// OAuth credentials of components: add, list, remove.
    #[command(subcommand)]
    Oauth(oauth::OauthCommand),
}

/// berth's stderr for text that may carry a component's bytes (messages, captured stderr):
/// control characters are shown, not obeyed, when it is a terminal
/// ([`berth_exec::terminal::EscapeControls`]).
pub fn terminal_stderr() -> Box<dyn std::io::Write> {
    use std::io::IsTerminal;
    let stderr = std::io::stderr();
    if stderr.is_terminal() {
        Box::new(berth_exec::terminal::EscapeControls::new(stderr))
    } else {
        Box::new(stderr)
    }
}

/// An error caused by the user's input rather than by berth or a component's bug (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

impl UserError {
    /// A user error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The whole `berth` process: logging, the command line, signals, and failures mapped to exit
/// codes (0 success, 1 user error, 2 application error). The binary is this one call; the
/// process bench starts its own executable as `berth` through it.
pub fn main() -> ExitCode {
    quiet_library_backtraces();
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
    if !matches!(cli.command, Command::Serve(_)) {
        signals::install();
    }
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(terminal_stderr(), "berth: error: {error:#}");
            exit_code_for(&error)
        }
    }
}

/// Sets `RUST_LIB_BACKTRACE=0` unless it is set. With `RUST_BACKTRACE=1` in the environment (as
/// many developers have it), every error value captured a backtrace of the host's stack — and a
/// guest's normal exit reaches berth as an error value (`proc_exit` unwinds out of wasm), so each
/// run of a trivial action paid ~18 µs for a backtrace nobody reads. berth prints errors as their
/// chain of contexts; panics still print their backtrace with `RUST_BACKTRACE=1`, and
/// `RUST_LIB_BACKTRACE=1` brings error backtraces back.
///
/// Must run first in `main`, before any thread starts.
#[allow(
    unsafe_code,
    reason = "std::env::set_var, sound while the process has one thread"
)]
fn quiet_library_backtraces() {
    const VAR: &str = "RUST_LIB_BACKTRACE";
    if std::env::var_os(VAR).is_none() {
        // SAFETY: called first thing in the process's `main`, while it has one thread, so no
        // other thread reads or writes the environment concurrently.
        unsafe { std::env::set_var(VAR, "0") };
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(url) = cli.url.as_deref().filter(|u| !u.trim().is_empty()) {
        return remote::Remote::new(url, cli.token.clone())?.run(cli.command);
    }
    let home = Home::resolve(cli.home.as_deref());
    let url = match &cli.command {
        Command::Serve(args) if args.storage.is_some() => {
            storage_url::checked(args.storage.as_deref().unwrap_or_default(), "--storage")?
        }
        _ => storage_url::from_env()?,
    };
    let on_postgres = url.is_some();
    let node = match &cli.command {
        Command::Serve(args) => args.node.clone(),
        _ => None,
    };
    let home = storage_url::place(home, url.as_deref(), &cli.command, || {
        node.unwrap_or_else(storage_url::default_node_name)
    })?;
    if !on_postgres
        && !matches!(
            cli.command,
            Command::Serve(_) | Command::Exec(_) | Command::Info(_)
        )
        && let Some(server) = berth_server::lock::held_by(home.root())
    {
        // DuckDB lets one process open Storage: say who has it instead of a lock error.
        return Err(UserError::new(format!(
            "The berth home {} is served by `berth serve` at {} (pid {}); run the command through \
             the server with `--url {}` and a token (`--token` or BERTH_TOKEN), or stop the server \
             first.",
            home.root().display(),
            server.url,
            server.pid,
            server.url
        ))
        .into());
    }
    if !matches!(cli.command, Command::Serve(_)) {
        // One-shot commands run a component or a few: the on-demand allocator starts in a tenth
        // of the pooling one's time and instantiates a few microseconds slower, which they never
        // make up. `berth serve` keeps pooling (behind the address-space probe).
        berth_exec::wasm::set_shared_allocator(berth_exec::wasm::Allocator::OnDemand);
    }
    match cli.command {
        Command::Serve(args) => serve::run(&home, args),
        Command::Token(cmd) => token::run(&home, cmd),
        Command::Exec(args) => exec::run(&home, args),
        Command::Table(cmd) => table::run(&home, cmd),
        Command::File(cmd) => file::run(&home, cmd),
        Command::Component(cmd) => component::run(&home, cmd),
        Command::Config(cmd) => config::run(&home, cmd),
        Command::Image(cmd) => image::run(&home, cmd),
        Command::Run(args) => run::run(&home, args),
        Command::Action(args) => action::run(&home, args),
        Command::Job(cmd) => job::run(&home, cmd),
        Command::Info(args) => secrets::info(&home, args),
        Command::Encrypt(args) => secrets::encrypt(&home, args),
        Command::Key(cmd) => secrets::key(&home, cmd),
        Command::Oauth(cmd) => oauth::run(&home, cmd),
    }
}

/// Whether `error` was caused by the user's input (exit 1) rather than by berth (exit 2).
pub fn is_user_error(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<UserError>().is_some())
}

/// The process exit code of a failed command.
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    if is_user_error(error) {
        ExitCode::from(1)
    } else {
        ExitCode::from(2)
    }
}

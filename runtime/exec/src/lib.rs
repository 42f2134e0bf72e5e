//! Running a component against a prepared data folder: the core/adapter seam.
//!
//! An [`Executor`] is one component image made ready to run (a compiled WASI module, or a
//! container image behind Docker). [`Executor::execute`] runs it once against an
//! [`ExecRequest`] — a data folder, an action, an environment and [`Limits`] — and reports how it
//! ended as a [`Termination`] plus the captured output. [`outcome::classify`] then turns that into
//! the common interface's outcome classes, identically for every executor, so staging, state,
//! usage and the job API never need to know which executor ran.
//!
//! The trait is synchronous on purpose: a job runs one component at a time, the CLI has nothing to
//! overlap it with, and adapters that need async I/O (Docker) drive their own runtime inside.
//!
//! This crate is the bottom of berth's host: it must not depend on Storage, on OCI registries or
//! on the command line, so that a service which only wants "run this component on this folder
//! with these limits" embeds it alone. Features:
//! - `docker`: the Docker adapter ([`docker`], through bollard); off by default, so the WASI
//!   executor alone pulls in neither bollard nor tokio's networking;
//! - `testing`: shared test support for berth's own tests and benches.
//!
//! # Embedding berth
//!
//! ```no_run
//! use std::path::Path;
//! use berth_exec::wasm::{EngineOptions, WasmEngine};
//! use berth_exec::{ExecRequest, Executor, JobEnvironment, Limits, StdoutMode, classify};
//!
//! # fn main() -> Result<(), berth_exec::ExecError> {
//! let engine = WasmEngine::new(&EngineOptions::with_cache_dir("/var/cache/berth"))?;
//! let component = engine.load(Path::new("multiplier.wasm"), "acme.multiplier")?;
//! let limits = Limits { memory_bytes: 64_000_000, ..Limits::for_action("info") };
//! let request = ExecRequest {
//!     data_dir: "/srv/jobs/42/data".into(),
//!     action: "info".into(),
//!     env: JobEnvironment::local("acme.multiplier", "42").to_vars(),
//!     limits: limits.clone(),
//!     stdout: StdoutMode::Capture,
//!     cancel: None,
//!     output_filter: None,
//! };
//! let result = component.execute(&request)?;
//! let outcome = classify(&result, "acme.multiplier", limits.timeout, limits.memory_bytes);
//! println!("{outcome:?}\n{}", result.stdout.text());
//! # Ok(()) }
//! ```
//!
//! `runtime/exec/examples/embed.rs` is the same as a program (`cargo run -p berth-exec --example
//! embed -- MODULE DATA_DIR [ACTION]`).

mod cancel;
pub mod compiled_cache;
#[cfg(feature = "docker")]
pub mod docker;
pub mod environment;
pub mod outcome;
pub mod output;
pub mod shutdown;
pub mod terminal;
#[cfg(feature = "testing")]
pub mod testing;
pub mod wasm;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use cancel::Cancel;
pub use environment::JobEnvironment;
pub use outcome::{Outcome, classify, format_memory, is_cancellation};
pub use output::{
    CapturedOutput, LiveOutput, OutputCapture, OutputFilter, OutputStream, StreamFilter,
};

/// Default process timeout of the `run` action (the component's `process_timeout` default).
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(3600);
/// Every action other than `run` must answer within this time (seed 003).
pub const SYNC_ACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Default memory limit (the component's `memory` default, 256 MB).
pub const DEFAULT_MEMORY_BYTES: u64 = 256 * 1000 * 1000;
/// Default cap on captured stdout and on captured stderr, each.
pub const DEFAULT_OUTPUT_CAP_BYTES: usize = 4 * 1024 * 1024;

/// The action every job runs unless told otherwise.
pub const RUN_ACTION: &str = "run";

/// The sandbox limits of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit; exceeding it is the timeout user error.
    pub timeout: Duration,
    /// Memory limit in bytes; exceeding it is the out-of-memory user error.
    pub memory_bytes: u64,
    /// How much of stdout and of stderr (each) is kept; the rest is cut with a marker.
    pub output_cap_bytes: usize,
}

impl Limits {
    /// The defaults for `action`: 3600 s for `run`, 30 s for any other action; 256 MB; 4 MiB of
    /// output each.
    pub fn for_action(action: &str) -> Self {
        Self {
            timeout: if action == RUN_ACTION {
                DEFAULT_RUN_TIMEOUT
            } else {
                SYNC_ACTION_TIMEOUT
            },
            memory_bytes: DEFAULT_MEMORY_BYTES,
            output_cap_bytes: DEFAULT_OUTPUT_CAP_BYTES,
        }
    }
}

/// Where the component's output goes while it runs, besides the capture.
#[derive(Debug, Clone, Default)]
pub enum StdoutMode {
    /// Only captured (synchronous actions: stdout is the answer).
    #[default]
    Capture,
    /// Captured, and stdout streamed to the host's stdout as it is written (`berth run`).
    Stream,
    /// Captured, and both streams handed to a [`LiveOutput`] as they are written (a server
    /// storing a job's log while it runs).
    Live(Arc<dyn LiveOutput>),
}

/// One execution of a component.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// Host path of the job's data folder; the component sees it as `/data`.
    pub data_dir: PathBuf,
    /// The action being executed (`run` or a synchronous action name).
    pub action: String,
    /// The complete environment of the component, nothing else is visible to it.
    pub env: Vec<(String, String)>,
    /// The sandbox limits.
    pub limits: Limits,
    /// Whether stdout is streamed while the component runs.
    pub stdout: StdoutMode,
    /// Stops the run from outside when set (a killed job, a shutdown); `None`: only the limits
    /// end it.
    pub cancel: Option<Cancel>,
    /// Rewrites stdout and stderr before they are streamed or captured (berth's jobs hide
    /// secrets with it); `None` keeps the output as written.
    pub output_filter: Option<Arc<dyn OutputFilter>>,
}

impl ExecRequest {
    /// Puts the request's output filter, if any, in front of the captures of stdout and stderr
    /// (every executor calls this right after making them).
    pub fn filter_output(&self, stdout: &OutputCapture, stderr: &OutputCapture) {
        if let Some(filter) = &self.output_filter {
            stdout.set_filter(filter.stream());
            stderr.set_filter(filter.stream());
        }
    }
}

/// How an execution ended, before classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Termination {
    /// The component exited with this code (0 included).
    Exited(i32),
    /// The wall-clock limit passed.
    TimedOut,
    /// The component needed more memory than its limit allowed.
    OutOfMemory,
    /// The component crashed (a trap, a killed process) with this description.
    Crashed(String),
    /// The run was stopped through its [`Cancel`] (or the executor's own cancel handle).
    Cancelled,
}

/// What an execution produced.
#[derive(Debug, Clone)]
pub struct ExecResult {
    /// How it ended.
    pub termination: Termination,
    /// Captured stdout (cut to the cap with a marker).
    pub stdout: CapturedOutput,
    /// Captured stderr (cut to the cap with a marker).
    pub stderr: CapturedOutput,
    /// Wall-clock time of the execution itself.
    pub duration: Duration,
}

/// Why an execution could not take place at all (as opposed to a component that failed).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The data folder is missing or unusable.
    #[error("data folder {path}: {reason}")]
    DataDir {
        /// The host path of the data folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The component image could not be loaded, compiled or instantiated.
    #[error("component {component}: {source:#}")]
    Component {
        /// The component image's name.
        component: String,
        /// The underlying failure.
        source: anyhow::Error,
    },
    /// The executor's own machinery failed (engine, runtime, daemon).
    #[error("executor {executor}: {source:#}")]
    Executor {
        /// Which executor.
        executor: &'static str,
        /// The underlying failure.
        source: anyhow::Error,
    },
}

/// One component image, ready to run any number of times.
pub trait Executor: Send + Sync {
    /// A short human name of the component image (used in messages).
    fn component_name(&self) -> &str;

    /// Runs the component once. `Ok` means it ran (whatever its exit); `Err` means it could not
    /// be run at all.
    fn execute(&self, request: &ExecRequest) -> Result<ExecResult, ExecError>;
}

//! Shared test support (the `testing` feature): a temp data folder per test, one engine per test
//! binary, a [`Run`] builder that runs a guest and classifies the result, and a watchdog
//! ([`within`]) that fails a test whose run does not return instead of letting it hang. Used by
//! this crate's integration tests, by the other crates' tests and by the benches; not part of the
//! API an embedder should use.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use crate::wasm::{Allocator, EngineOptions, WasmEngine};
use crate::{
    Cancel, ExecRequest, ExecResult, Executor, JobEnvironment, Limits, Outcome, StdoutMode,
    classify,
};
use tempfile::TempDir;

/// The engine shared by every test in this binary (its cache lives in a temp dir).
pub fn engine() -> &'static WasmEngine {
    static ENGINE: OnceLock<(WasmEngine, TempDir)> = OnceLock::new();
    let (engine, _) = ENGINE.get_or_init(|| {
        let cache = TempDir::new().expect("temp dir for the compiled cache");
        let engine = WasmEngine::new(&EngineOptions {
            allocator: Allocator::Auto,
            cache_dir: cache.path().to_path_buf(),
        })
        .expect("engine");
        (engine, cache)
    });
    engine
}

/// A data folder holding `config.json` with `config`.
pub fn data_dir(config: &serde_json::Value) -> TempDir {
    let dir = TempDir::new().expect("temp data dir");
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
    dir
}

/// A data folder with a minimal `run` config.
pub fn run_data_dir() -> TempDir {
    data_dir(&serde_json::json!({"parameters": {}, "action": "run"}))
}

/// One run's setup: a module file, a data folder, the action, extra environment and limits.
#[derive(Debug)]
pub struct Run<'a> {
    /// Path of the module file.
    pub module: &'a str,
    /// The data folder.
    pub data_dir: &'a Path,
    /// The action (`run` by default).
    pub action: &'a str,
    /// Variables added to the test environment.
    pub env: Vec<(&'a str, &'a str)>,
    /// The sandbox limits (the `run` defaults unless changed).
    pub limits: Limits,
    /// Stops the run when set.
    pub cancel: Option<Cancel>,
    /// The output filter (none unless set).
    pub output_filter: Option<std::sync::Arc<dyn crate::OutputFilter>>,
}

impl<'a> Run<'a> {
    /// A `run` of `module` on `data_dir` with the default limits.
    pub fn new(module: &'a str, data_dir: &'a Path) -> Self {
        Self {
            module,
            data_dir,
            action: "run",
            env: Vec::new(),
            limits: Limits::for_action("run"),
            cancel: None,
            output_filter: None,
        }
    }

    /// Adds `key=value` to the environment.
    pub fn env(mut self, key: &'a str, value: &'a str) -> Self {
        self.env.push((key, value));
        self
    }

    /// Runs `action` instead of `run` (with that action's default timeout).
    pub fn action(mut self, action: &'a str) -> Self {
        self.action = action;
        self.limits.timeout = Limits::for_action(action).timeout;
        self
    }

    /// Sets the wall-clock limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// Sets the memory limit in decimal megabytes.
    pub fn memory_mb(mut self, mb: u64) -> Self {
        self.limits.memory_bytes = mb * 1_000_000;
        self
    }

    /// Lets `cancel` stop the run.
    pub fn cancel(mut self, cancel: &Cancel) -> Self {
        self.cancel = Some(cancel.clone());
        self
    }

    /// Passes stdout and stderr through `filter`.
    pub fn filter(mut self, filter: std::sync::Arc<dyn crate::OutputFilter>) -> Self {
        self.output_filter = Some(filter);
        self
    }

    /// Sets the cap on captured stdout and stderr, each.
    pub fn output_cap(mut self, bytes: usize) -> Self {
        self.limits.output_cap_bytes = bytes;
        self
    }

    /// Runs the guest and classifies the result. The run must return within its own timeout
    /// plus [`WATCHDOG_MARGIN`], or the test fails (see [`within`]).
    pub fn run(self) -> (ExecResult, Outcome) {
        let name = module_name(self.module);
        let component = engine()
            .load(Path::new(self.module), &name)
            .expect("guest loads");
        let mut env = JobEnvironment::local(&name, "test-config").to_vars();
        env.extend(self.env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let request = ExecRequest {
            data_dir: self.data_dir.to_path_buf(),
            action: self.action.to_owned(),
            env,
            limits: self.limits.clone(),
            output_filter: self.output_filter.clone(),
            stdout: StdoutMode::Capture,
            cancel: self.cancel.clone(),
        };
        let deadline = self.limits.timeout.saturating_add(WATCHDOG_MARGIN);
        let what = format!(
            "{name} ({}, timeout {:?})",
            self.action, self.limits.timeout
        );
        let result =
            within(deadline, &what, move || component.execute(&request)).expect("guest runs");
        let outcome = classify(
            &result,
            &name,
            self.limits.timeout,
            self.limits.memory_bytes,
        );
        (result, outcome)
    }
}

/// How long past its own timeout a run may take before the watchdog fails the test: generous,
/// so that only a run that no longer ends at all (a broken timeout) trips it.
pub const WATCHDOG_MARGIN: Duration = Duration::from_secs(60);

/// Runs `work` on a thread of its own and returns its result, or panics (failing the calling
/// test) when it has not returned after `deadline`: a regression that makes a run hang fails the
/// test instead of hanging the suite. The abandoned thread ends with the test process. A panic in
/// `work` is passed on to the caller.
pub fn within<T: Send + 'static>(
    deadline: Duration,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name(format!("watched: {what}"))
        .spawn(move || {
            let value = work();
            // The receiver is gone only when the watchdog already failed the test.
            let _ = done.send(());
            value
        })
        .expect("spawning the watched thread");
    match finished.recv_timeout(deadline) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(RecvTimeoutError::Timeout) => {
            panic!("watchdog: {what} has not returned after {deadline:?}")
        }
    }
}

/// The component name of a module path: its file stem.
pub fn module_name(module: &str) -> String {
    PathBuf::from(module)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

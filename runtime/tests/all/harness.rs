//! Shared test harness: a temp data folder per test, one engine per test binary, and helpers
//! that run a guest and classify the result.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use berth_runtime::exec::wasm::{Allocator, EngineOptions, WasmEngine};
use berth_runtime::exec::{
    ExecRequest, ExecResult, Executor, JobEnvironment, Limits, Outcome, StdoutMode, classify,
};
use tempfile::TempDir;

/// The engine shared by every test in this binary (its cache lives in a temp dir).
pub(crate) fn engine() -> &'static WasmEngine {
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
pub(crate) fn data_dir(config: &serde_json::Value) -> TempDir {
    let dir = TempDir::new().expect("temp data dir");
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
    dir
}

/// A data folder with a minimal `run` config.
pub(crate) fn run_data_dir() -> TempDir {
    data_dir(&serde_json::json!({"parameters": {}, "action": "run"}))
}

/// One run's setup.
pub(crate) struct Run<'a> {
    pub(crate) module: &'a str,
    pub(crate) data_dir: &'a Path,
    pub(crate) action: &'a str,
    pub(crate) env: Vec<(&'a str, &'a str)>,
    pub(crate) limits: Limits,
}

impl<'a> Run<'a> {
    pub(crate) fn new(module: &'a str, data_dir: &'a Path) -> Self {
        Self {
            module,
            data_dir,
            action: "run",
            env: Vec::new(),
            limits: Limits::for_action("run"),
        }
    }

    pub(crate) fn env(mut self, key: &'a str, value: &'a str) -> Self {
        self.env.push((key, value));
        self
    }

    pub(crate) fn action(mut self, action: &'a str) -> Self {
        self.action = action;
        self.limits.timeout = Limits::for_action(action).timeout;
        self
    }

    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    pub(crate) fn memory_mb(mut self, mb: u64) -> Self {
        self.limits.memory_bytes = mb * 1_000_000;
        self
    }

    pub(crate) fn output_cap(mut self, bytes: usize) -> Self {
        self.limits.output_cap_bytes = bytes;
        self
    }

    /// Runs the guest and classifies the result.
    pub(crate) fn run(self) -> (ExecResult, Outcome) {
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
            stdout: StdoutMode::Capture,
        };
        let result = component.execute(&request).expect("guest runs");
        let outcome = classify(
            &result,
            &name,
            self.limits.timeout,
            self.limits.memory_bytes,
        );
        (result, outcome)
    }
}

pub(crate) fn module_name(module: &str) -> String {
    PathBuf::from(module)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The `berth` binary built for these tests.
pub(crate) fn berth() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .env_remove("BERTH_HOME")
        .env_remove("RUST_BACKTRACE");
    command
}

//! Shared setup of the Docker executor tests: fixture images, a data folder with its private
//! scratch parent, a unique run id per case, and one call that runs a fixture and classifies it.
//!
//! Every Docker test starts with `let Some(mut case) = Case::new("name") else { return };`, which
//! skips (or, with `BERTH_REQUIRE_DOCKER=1`, fails) when no daemon answers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_exec::docker::fixture::{containers_labelled, docker_available, scratch_image};
use berth_exec::docker::{DockerExecutor, DockerOptions, LABEL_RUN_ID};
use berth_exec::testing::{WATCHDOG_MARGIN, within};
use berth_exec::{
    ExecRequest, ExecResult, Executor, JobEnvironment, Limits, Outcome, StdoutMode, classify,
};
use tempfile::TempDir;

/// The workspace package holding the fixture binaries.
pub(crate) const FIXTURES: &str = "docker-fixtures";

/// One test case: a data folder, a folder for the private `/tmp`s, and a unique run id.
pub(crate) struct Case {
    pub(crate) data: TempDir,
    pub(crate) scratch: TempDir,
    pub(crate) run_id: String,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) limits: Limits,
}

impl Case {
    /// `None` (after a skip line) when Docker is unavailable and not required.
    pub(crate) fn new(test: &str) -> Option<Self> {
        if !docker_available(test) {
            return None;
        }
        let data = TempDir::new().expect("temp data dir");
        for sub in ["in/tables", "in/files", "out/tables", "out/files"] {
            std::fs::create_dir_all(data.path().join(sub)).unwrap();
        }
        std::fs::write(data.path().join("config.json"), br#"{"parameters":{}}"#).unwrap();
        let env = JobEnvironment::local(test, "test-config");
        let run_id = format!("{test}-{}", std::process::id());
        Some(Self {
            data,
            scratch: TempDir::new().expect("temp scratch parent"),
            run_id,
            env: env.to_vars(),
            limits: Limits {
                timeout: Duration::from_secs(60),
                memory_bytes: 256 * 1_000_000,
                output_cap_bytes: 1 << 20,
            },
        })
    }

    /// Options labelled with this case's run id, with private `/tmp`s under `self.scratch`.
    pub(crate) fn options(&self) -> DockerOptions {
        DockerOptions {
            scratch_parent: Some(self.scratch.path().to_path_buf()),
            ..Default::default()
        }
        .with_job("test-job", &self.run_id)
    }

    pub(crate) fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.limits.timeout = timeout;
        self
    }

    pub(crate) fn memory_mb(&mut self, mb: u64) -> &mut Self {
        self.limits.memory_bytes = mb * 1_000_000;
        self
    }

    pub(crate) fn request(&self) -> ExecRequest {
        ExecRequest {
            data_dir: self.data.path().to_path_buf(),
            action: "run".to_owned(),
            env: self.env.clone(),
            limits: self.limits.clone(),
            output_filter: None,
            stdout: StdoutMode::Capture,
            cancel: None,
        }
    }

    /// Connects an executor for fixture `bin` with `options`.
    pub(crate) fn executor(&self, bin: &str, options: DockerOptions) -> DockerExecutor {
        DockerExecutor::connect(&fixture(bin), options).expect("docker executor connects")
    }

    /// Runs fixture `bin` with this case's options and classifies the result.
    pub(crate) fn run(&self, bin: &str) -> (ExecResult, Outcome) {
        self.run_with(bin, self.options())
    }

    /// Runs fixture `bin` with `options` and classifies the result. The run must return within
    /// its timeout plus the watchdog's margin, or the test fails instead of hanging.
    pub(crate) fn run_with(&self, bin: &str, options: DockerOptions) -> (ExecResult, Outcome) {
        let executor = self.executor(bin, options);
        let name = executor.component_name().to_owned();
        let request = self.request();
        let deadline = self.limits.timeout.saturating_add(WATCHDOG_MARGIN);
        let result = within(deadline, &format!("container {bin}"), move || {
            executor.execute(&request)
        })
        .expect("container runs");
        let outcome = classify(
            &result,
            &name,
            self.limits.timeout,
            self.limits.memory_bytes,
        );
        (result, outcome)
    }

    /// Asserts that nothing of this case is left: no container with its run id, no private
    /// `/tmp` folder.
    pub(crate) fn assert_clean(&self) {
        let left = containers_labelled(LABEL_RUN_ID, &self.run_id).expect("listing containers");
        assert!(left.is_empty(), "containers left behind: {left:?}");
        let tmps: Vec<PathBuf> = std::fs::read_dir(self.scratch.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(
            tmps.is_empty(),
            "private /tmp folders left behind: {tmps:?}"
        );
    }

    pub(crate) fn out_file(&self, name: &str) -> PathBuf {
        self.data.path().join("out/files").join(name)
    }
}

/// The image tag of fixture binary `bin` (built on first use).
pub(crate) fn fixture(bin: &str) -> String {
    scratch_image(FIXTURES, bin).unwrap_or_else(|err| panic!("fixture image {bin}: {err:#}"))
}

/// Gives `path` and everything under it to `uid:gid`.
pub(crate) fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid, gid);
        }
    }
}

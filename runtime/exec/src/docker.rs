//! The Docker executor: a component that is a container image, delegated to a Docker daemon
//! under the same job contract as a WASI module.
//!
//! The sandbox keeps the promises of the common interface (§7.3), each tested in
//! `runtime/exec/tests/all/docker_*.rs` and `runtime/cli/tests/all/hostile_*.rs`:
//! - the job's data folder is bind-mounted read-write at `/data`; `/tmp` is a tmpfs no larger
//!   than the memory limit (what it holds counts against that limit); the image's root
//!   filesystem is read-only; nothing else of the host is mounted;
//! - no network (`network_mode: none`) unless the component definition allows it;
//! - memory limit with swap equal to it; a CPU limit ([`DEFAULT_CPUS`] unless set); a pids limit
//!   ([`DEFAULT_PIDS_LIMIT`], so a fork bomb stops there); `nofile` ([`DEFAULT_NOFILE`]);
//! - every capability dropped and `no-new-privileges`; Docker keeps no log of the output (the
//!   `none` log driver: berth reads the attach stream);
//! - the container never runs as root unless the component definition asks for it (feature
//!   `container-root-user`, which gets back only [`ROOT_CAPABILITIES`]): it runs as the invoking
//!   uid:gid, or — when berth itself runs as root — as [`DEFAULT_CONTAINER_USER`], the data
//!   folder handed to that user for the run; after a root container or such a handover
//!   everything under `/data` is handed back (`chown -R` + `chmod u+rwX`, from the host, which
//!   therefore needs root or CAP_CHOWN);
//! - the environment is exactly the request's (plus the image's own `ENV`), never the host's;
//! - labels carry the job and run ids ([`LABEL_JOB_ID`], [`LABEL_RUN_ID`]) and the owning berth
//!   process (`owner`), so a job's containers can be found and stopped, and containers of a berth
//!   process that died are removed the next time a Docker executor connects;
//! - the container is always removed (force), also after a timeout, a cancellation, a shutdown
//!   ([`crate::shutdown`]) or an error.
//!
//! [`DockerExecutor::connect`] reaches the daemon (a short timeout, one clear error naming the
//! socket or `DOCKER_HOST`) and pulls the image when it is missing; each [`Executor::execute`]
//! then runs one container (the `container` submodule owns the lifecycle) and reports a faithful
//! [`Termination`]; classification is shared with the WASI executor ([`super::outcome`]). The
//! trait is synchronous, so the executor owns a small current-thread tokio runtime that drives
//! bollard.

mod client;
mod container;
#[cfg(any(test, feature = "testing"))]
pub mod fixture;
mod image;
pub mod owner;
mod ownership;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use anyhow::Context;
use bollard::Docker;

use super::{Cancel, ExecError, ExecRequest, ExecResult, Executor, Termination};
pub use client::DaemonAddress;
pub use ownership::HostUser;

/// The executor name used in [`ExecError::Executor`].
pub const EXECUTOR_NAME: &str = "docker";
/// The URL scheme that selects this executor on the command line (`docker://IMAGE[:TAG]`).
pub const SCHEME: &str = "docker://";
/// Label carrying the job id.
pub const LABEL_JOB_ID: &str = "com.berth.job-id";
/// Label carrying the run id.
pub const LABEL_RUN_ID: &str = "com.berth.run-id";
/// Label set on every container berth creates (value `"docker"`), to find leftovers.
pub const LABEL_MANAGED: &str = "com.berth.executor";
/// The most processes (and threads) a container may run unless [`DockerOptions::pids_limit`]
/// says otherwise.
pub const DEFAULT_PIDS_LIMIT: i64 = 512;
/// CPUs a container may use unless [`DockerOptions::cpus`] says otherwise.
pub const DEFAULT_CPUS: f64 = 2.0;
/// The `nofile` ulimit (soft and hard) unless [`DockerOptions::nofile`] says otherwise.
pub const DEFAULT_NOFILE: u64 = 8192;
/// Who a container runs as when berth itself runs as root (and no other user is given):
/// `nobody:nogroup`.
pub const DEFAULT_CONTAINER_USER: HostUser = HostUser {
    uid: 65534,
    gid: 65534,
};
/// The capabilities a root component (`container-root-user`) gets back after all are dropped:
/// enough to own and reach its files, nothing that reaches the host.
pub const ROOT_CAPABILITIES: [&str; 5] = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"];

/// How a container image is run, beyond the per-run [`ExecRequest`]: what the component
/// definition and the job say.
#[derive(Debug, Clone, Default)]
pub struct DockerOptions {
    /// Whether the component definition allows network (`network: bridge`); otherwise the
    /// container gets `network_mode: none`.
    pub network: bool,
    /// Whether the component definition asks for root (`container-root-user`): the container runs
    /// as the image's user and the files are handed back to [`Self::host_user`] afterwards.
    pub run_as_root: bool,
    /// CPU limit in CPUs (`--cpus`); `None`: [`DEFAULT_CPUS`].
    pub cpus: Option<f64>,
    /// Pids limit; `None`: [`DEFAULT_PIDS_LIMIT`].
    pub pids_limit: Option<i64>,
    /// `nofile` ulimit; `None`: [`DEFAULT_NOFILE`].
    pub nofile: Option<u64>,
    /// Who the container runs as when the files' owner ([`Self::host_user`]) is root; `None`:
    /// [`DEFAULT_CONTAINER_USER`].
    pub container_user: Option<HostUser>,
    /// Extra container labels, e.g. [`LABEL_JOB_ID`] and [`LABEL_RUN_ID`] (see [`Self::with_job`]).
    pub labels: BTreeMap<String, String>,
    /// Whose files these are: the uid:gid the container runs as (unless root) and to which files
    /// are handed back. `None`: the invoking user.
    pub host_user: Option<HostUser>,
    /// The daemon to use instead of `DOCKER_HOST` / the default socket.
    pub host: Option<String>,
    /// Unused since `/tmp` became a tmpfs (kept so existing callers compile); nothing is created
    /// on the host for `/tmp` any more.
    pub scratch_parent: Option<PathBuf>,
}

impl DockerOptions {
    /// Adds the job-id and run-id labels.
    pub fn with_job(mut self, job_id: &str, run_id: &str) -> Self {
        self.labels
            .insert(LABEL_JOB_ID.to_owned(), job_id.to_owned());
        self.labels
            .insert(LABEL_RUN_ID.to_owned(), run_id.to_owned());
        self
    }

    fn user(&self) -> HostUser {
        self.host_user.unwrap_or_else(HostUser::current)
    }
}

/// One container image behind a reachable Docker daemon, ready to run any number of times.
#[derive(Debug)]
pub struct DockerExecutor {
    image: image::ImageRef,
    options: DockerOptions,
    docker: Docker,
    runtime: tokio::runtime::Runtime,
    /// Sticky: once set, this executor's runs stop and later ones do not start.
    cancel: Cancel,
}

impl DockerExecutor {
    /// Connects to the daemon and makes sure `image` (`[docker://]NAME[:TAG|@DIGEST]`) is present,
    /// pulling it when missing (with a progress bar on a terminal).
    ///
    /// Errors: an unreachable daemon is [`ExecError::Executor`] naming the address; an image that
    /// cannot be pulled is [`ExecError::Component`].
    pub fn connect(image: &str, options: DockerOptions) -> Result<Self, ExecError> {
        let image = image::ImageRef::parse(image).map_err(|source| ExecError::Component {
            component: image.to_owned(),
            source,
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("starting the Docker client's runtime")
            .map_err(executor_error)?;
        let address = DaemonAddress::resolve(options.host.as_deref());
        let docker = run_blocking(&runtime, client::connect(&address)).map_err(executor_error)?;
        run_blocking(&runtime, owner::reap_orphans(&docker));
        run_blocking(&runtime, image::ensure_present(&docker, &image)).map_err(|source| {
            ExecError::Component {
                component: image.to_string(),
                source,
            }
        })?;
        Ok(Self {
            image,
            options,
            docker,
            runtime,
            cancel: Cancel::new(),
        })
    }

    /// A handle that stops this executor's running container, and every later run of it (the
    /// run ends as [`Termination::Cancelled`]). A request's own [`ExecRequest::cancel`] stops
    /// just that run.
    pub fn cancel_handle(&self) -> Cancel {
        self.cancel.clone()
    }

    /// The options the executor was connected with.
    pub fn options(&self) -> &DockerOptions {
        &self.options
    }
}

impl Executor for DockerExecutor {
    fn component_name(&self) -> &str {
        self.image.as_str()
    }

    fn execute(&self, request: &ExecRequest) -> Result<ExecResult, ExecError> {
        let data_dir = request
            .data_dir
            .canonicalize()
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| ExecError::DataDir {
                path: request.data_dir.clone(),
                reason: "does not exist or is not a folder".to_owned(),
            })?;
        let owner = self.options.user();
        let run_user = if self.options.run_as_root {
            None
        } else if owner.uid == 0 {
            Some(
                self.options
                    .container_user
                    .unwrap_or(DEFAULT_CONTAINER_USER),
            )
        } else {
            Some(owner)
        };
        // berth runs as root: the data folder goes to the unprivileged user for the run.
        let handed_over = run_user.filter(|u| *u != owner);
        if let Some(user) = handed_over {
            ownership::hand_back(&data_dir, user).map_err(executor_error)?;
        }
        let spec = container::RunSpec {
            image: self.image.as_str(),
            data_dir: &data_dir,
            request,
            options: &self.options,
            run_user,
        };
        let cancelled = [Some(&self.cancel), request.cancel.as_ref()];
        let result = if cancelled.iter().flatten().any(|c| c.is_cancelled()) {
            Ok(container::cancelled_before_start())
        } else {
            run_blocking(
                &self.runtime,
                container::run(&self.docker, &spec, cancelled),
            )
        };
        let handed_back = if self.options.run_as_root || handed_over.is_some() {
            ownership::hand_back(&data_dir, owner)
        } else {
            Ok(())
        };
        let result = result.map_err(executor_error)?;
        handed_back.map_err(executor_error)?;
        Ok(result)
    }
}

/// Drives `future` on `runtime`, from a fresh thread when the caller is itself inside a tokio
/// runtime (where `block_on` would panic).
fn run_blocking<F>(runtime: &tokio::runtime::Runtime, future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime.block_on(future);
    }
    std::thread::scope(
        |scope| match scope.spawn(|| runtime.block_on(future)).join() {
            Ok(output) => output,
            Err(panic) => std::panic::resume_unwind(panic),
        },
    )
}

fn executor_error(source: anyhow::Error) -> ExecError {
    ExecError::Executor {
        executor: EXECUTOR_NAME,
        source,
    }
}

/// Whether `termination` is what a run stopped by a cancellation (or a [`crate::shutdown`])
/// reports.
pub fn is_cancellation(termination: &Termination) -> bool {
    crate::outcome::is_cancellation(termination)
}

//! One container run: create, attach, wait, start, enforce the limits, inspect, remove.
//!
//! The order matters (wasmtime-notes §11):
//! - output is attached and a `next-exit` wait is sent *before* start, as `docker run` does, so
//!   neither the output nor the exit of a very short run is missed. bollard's streams are lazy
//!   and cannot tell when the daemon registered the wait, so a second, `not-running` wait is sent
//!   after start; whichever answers first ends the run (without `auto_remove` the exited
//!   container stays until removed, so that second wait cannot miss it);
//! - a non-zero exit arrives from bollard as `DockerContainerWaitError { code }`, not as `Ok`;
//! - the outcome is read with an inspect: `State.OOMKilled` is checked before the exit code;
//! - the timeout and a cancellation stop the container (SIGTERM, a short grace, then SIGKILL);
//! - the container is removed with `force` whatever happened, and never with `auto_remove`,
//!   which races with wait and attach.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType, ResourcesUlimits,
};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, KillContainerOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::{Stream, StreamExt};
use tokio::task::JoinHandle;

use super::owner::Owner;
use super::{
    DEFAULT_CPUS, DEFAULT_NOFILE, DEFAULT_PIDS_LIMIT, DockerOptions, HostUser, LABEL_MANAGED,
    ROOT_CAPABILITIES,
};
use crate::cancel::until_cancelled;
use crate::output::captures;
use crate::shutdown::CANCELLED;
use crate::{Cancel, ExecRequest, ExecResult, OutputCapture, Termination};

/// Grace between SIGTERM and SIGKILL when a container is stopped.
const STOP_GRACE_SECS: i32 = 1;

/// How long to wait for the exit after a stop, and for the output to drain after the exit.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

/// The exit code of a process killed by SIGKILL; without our own timeout or cancellation the
/// common interface reads it as "possibly out of memory" (§7.1).
const SIGKILL_EXIT: i64 = 128 + 9;

/// Everything one run needs besides the daemon.
pub(super) struct RunSpec<'a> {
    /// The image reference.
    pub(super) image: &'a str,
    /// The canonical host path of the data folder (mounted at `/data`).
    pub(super) data_dir: &'a Path,
    /// The execution request (env, limits, stdout mode).
    pub(super) request: &'a ExecRequest,
    /// The executor's options (network, cpus, labels).
    pub(super) options: &'a DockerOptions,
    /// The user the container runs as; `None` keeps the image's user (root components).
    pub(super) run_user: Option<HostUser>,
}

/// The result reported for a run cancelled before its container was created.
pub(super) fn cancelled_before_start() -> ExecResult {
    ExecResult {
        termination: Termination::Cancelled,
        stdout: Default::default(),
        stderr: Default::default(),
        duration: Duration::ZERO,
    }
}

/// Runs one container to its end and removes it.
pub(super) async fn run(
    docker: &Docker,
    spec: &RunSpec<'_>,
    cancelled: [Option<&Cancel>; 2],
) -> Result<ExecResult> {
    let name = format!("berth-{}", uuid::Uuid::new_v4().simple());
    let created = docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(&name).build()),
            create_body(spec),
        )
        .await
        .with_context(|| format!("creating a container of {}", spec.image))?;
    for warning in created.warnings.iter().filter(|w| !w.is_empty()) {
        tracing::debug!(container = %name, "docker: {warning}");
    }
    let outcome = drive(docker, &created.id, spec, cancelled).await;
    let removed = docker
        .remove_container(
            &created.id,
            Some(
                RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build(),
            ),
        )
        .await;
    match (outcome, removed) {
        (Ok(result), Ok(())) => Ok(result),
        (Ok(_), Err(err)) => Err(err).with_context(|| format!("removing container {name}")),
        (Err(err), removed) => {
            if let Err(remove_err) = removed {
                tracing::warn!(container = %name, "container not removed: {remove_err}");
            }
            Err(err)
        }
    }
}

/// The container's configuration: mounts, network, limits, user, labels and env — hardened by
/// default (see the [`super`] docs): every capability dropped (a root component gets back only
/// [`ROOT_CAPABILITIES`]), no new privileges, a pids limit, a read-only root filesystem with a
/// size-limited `/tmp` tmpfs, no log retention, a CPU limit and a `nofile` ulimit.
pub(super) fn create_body(spec: &RunSpec<'_>) -> ContainerCreateBody {
    let bind = |source: &Path, target: &str| Mount {
        source: Some(source.to_string_lossy().into_owned()),
        target: Some(target.to_owned()),
        typ: Some(MountType::BIND),
        read_only: Some(false),
        ..Default::default()
    };
    let limits = &spec.request.limits;
    let memory = i64::try_from(limits.memory_bytes).ok().filter(|m| *m > 0);
    let mut labels: HashMap<String, String> = spec
        .options
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.insert(LABEL_MANAGED.to_owned(), super::EXECUTOR_NAME.to_owned());
    labels.extend(Owner::current().labels());
    // /tmp lives in memory: what the component keeps there counts against its memory limit,
    // so the tmpfs is never larger than that limit.
    let tmp_size = memory.unwrap_or(crate::DEFAULT_MEMORY_BYTES as i64);
    let tmpfs = HashMap::from([(
        "/tmp".to_owned(),
        format!("rw,nosuid,nodev,size={tmp_size},mode=1777"),
    )]);
    let nofile = i64::try_from(spec.options.nofile.unwrap_or(DEFAULT_NOFILE)).unwrap_or(i64::MAX);
    let cpus = spec.options.cpus.unwrap_or(DEFAULT_CPUS);
    ContainerCreateBody {
        image: Some(spec.image.to_owned()),
        env: Some(
            spec.request
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        user: spec.run_user.map(|u| u.docker_user()),
        labels: Some(labels),
        attach_stdin: Some(false),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        open_stdin: Some(false),
        host_config: Some(HostConfig {
            mounts: Some(vec![bind(spec.data_dir, "/data")]),
            tmpfs: Some(tmpfs),
            readonly_rootfs: Some(true),
            network_mode: Some(
                if spec.options.network {
                    "bridge"
                } else {
                    "none"
                }
                .to_owned(),
            ),
            memory,
            memory_swap: memory,
            nano_cpus: Some(cpus)
                .filter(|c| *c > 0.0)
                .map(|c| (c * 1e9).round() as i64),
            pids_limit: Some(spec.options.pids_limit.unwrap_or(DEFAULT_PIDS_LIMIT)),
            cap_drop: Some(vec!["ALL".to_owned()]),
            cap_add: spec
                .run_user
                .is_none()
                .then(|| ROOT_CAPABILITIES.iter().map(|c| (*c).to_owned()).collect()),
            security_opt: Some(vec!["no-new-privileges".to_owned()]),
            ulimits: Some(vec![ResourcesUlimits {
                name: Some("nofile".to_owned()),
                soft: Some(nofile),
                hard: Some(nofile),
            }]),
            // berth reads the output from the attach stream; Docker keeps no copy of it.
            log_config: Some(HostConfigLogConfig {
                typ: Some("none".to_owned()),
                config: None,
            }),
            auto_remove: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// How the wait for the container ended.
enum Ending {
    /// The container exited by itself (the exit code from the wait, when it gave one).
    Exited(Option<i64>),
    /// The timeout passed; the container was stopped.
    TimedOut,
    /// The job was cancelled (or the process shuts down, with the reason); the container was
    /// stopped.
    Cancelled(Option<String>),
}

/// Attaches, waits, starts and follows one created container until it ends.
async fn drive(
    docker: &Docker,
    id: &str,
    spec: &RunSpec<'_>,
    cancelled: [Option<&Cancel>; 2],
) -> Result<ExecResult> {
    let (stdout, stderr) = captures(&spec.request.stdout, spec.request.limits.output_cap_bytes);
    spec.request.filter_output(&stdout, &stderr);

    let wait_before_start = AbortOnDrop(tokio::spawn(wait_exit(
        docker.clone(),
        id.to_owned(),
        "next-exit",
    )));
    // Attached before the start, the stream alone carries every byte. `logs` would also replay
    // the log file, and the daemon subscribes the stream before that replay: output written in
    // between arrived twice (seen as a doubled stdout under load).
    let attached = docker
        .attach_container(
            id,
            Some(
                AttachContainerOptionsBuilder::new()
                    .stream(true)
                    // Attached before the start, nothing is missed; with the `none` log driver
                    // there is nothing to replay either.
                    .logs(false)
                    .stdout(true)
                    .stderr(true)
                    .build(),
            ),
        )
        .await
        .context("attaching to the container's output")?;
    let mut pump = AbortOnDrop(tokio::spawn(pump_output(
        attached.output,
        stdout.clone(),
        stderr.clone(),
    )));

    let started = Instant::now();
    docker
        .start_container(id, None)
        .await
        .context("starting the container")?;
    let mut exited: Pin<Box<dyn Future<Output = Result<Option<i64>>> + Send>> =
        Box::pin(first_exit(
            wait_before_start,
            wait_exit(docker.clone(), id.to_owned(), "not-running"),
        ));

    let ending = tokio::select! {
        code = &mut exited => Ending::Exited(code?),
        () = tokio::time::sleep(spec.request.limits.timeout) => Ending::TimedOut,
        () = until_cancelled(cancelled[0]) => Ending::Cancelled(None),
        () = until_cancelled(cancelled[1]) => Ending::Cancelled(None),
        why = crate::shutdown::wait() => Ending::Cancelled(Some(why)),
    };
    let mut duration = started.elapsed();
    if !matches!(ending, Ending::Exited(_)) {
        stop(docker, id).await;
        duration = started.elapsed();
        match tokio::time::timeout(SETTLE_TIMEOUT, &mut exited).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::debug!(container = id, "wait after stop: {err:#}"),
            Err(_) => tracing::warn!(container = id, "no exit within {SETTLE_TIMEOUT:?} of stop"),
        }
    }
    if tokio::time::timeout(SETTLE_TIMEOUT, &mut pump.0)
        .await
        .is_err()
    {
        tracing::warn!(
            container = id,
            "output did not drain within {SETTLE_TIMEOUT:?}"
        );
    }

    let state = docker
        .inspect_container(id, None)
        .await
        .context("inspecting the exited container")?
        .state
        .unwrap_or_default();
    let termination = match ending {
        Ending::TimedOut => Termination::TimedOut,
        Ending::Cancelled(None) => Termination::Cancelled,
        Ending::Cancelled(Some(why)) => Termination::Crashed(format!(
            "{CANCELLED}: berth received {why} and stopped the container"
        )),
        Ending::Exited(waited) => {
            let code = state.exit_code.or(waited).unwrap_or(-1);
            if state.oom_killed == Some(true) || code == SIGKILL_EXIT {
                Termination::OutOfMemory
            } else {
                match i32::try_from(code) {
                    Ok(code) => Termination::Exited(code),
                    Err(_) => Termination::Crashed(format!("exit status {code} out of range")),
                }
            }
        }
    };
    Ok(ExecResult {
        termination,
        stdout: stdout.finish(),
        stderr: stderr.finish(),
        duration,
    })
}

/// Waits for the container under `condition`; the exit code when the daemon gave one.
async fn wait_exit(docker: Docker, id: String, condition: &'static str) -> Result<Option<i64>> {
    let options = WaitContainerOptionsBuilder::new()
        .condition(condition)
        .build();
    let mut stream = docker.wait_container(&id, Some(options));
    match stream.next().await {
        Some(Ok(response)) => Ok(Some(response.status_code)),
        // bollard turns a non-zero exit into this error; it is an ordinary exit here.
        Some(Err(DockerError::DockerContainerWaitError { code, .. })) => Ok(Some(code)),
        Some(Err(err)) => {
            Err(err).with_context(|| format!("waiting for the container ({condition})"))
        }
        None => Ok(None),
    }
}

/// The first of the two waits to report an exit. An error from one wait defers to the other.
async fn first_exit(
    mut before: AbortOnDrop<Result<Option<i64>>>,
    after: impl Future<Output = Result<Option<i64>>>,
) -> Result<Option<i64>> {
    let before_result = async {
        match (&mut before.0).await {
            Ok(Ok(code)) => Ok(code),
            Ok(Err(err)) => Err(err),
            Err(join) => Err(anyhow::Error::new(join).context("the wait task failed")),
        }
    };
    tokio::pin!(before_result, after);
    tokio::select! {
        result = &mut before_result => match result {
            Ok(code) => Ok(code),
            Err(_) => after.await,
        },
        result = &mut after => match result {
            Ok(code) => Ok(code),
            Err(err) => before_result.await.map_err(|_| err),
        },
    }
}

/// Copies the attached output into the two captures until the container's streams close.
async fn pump_output(
    mut output: Pin<Box<dyn Stream<Item = Result<LogOutput, DockerError>> + Send>>,
    stdout: OutputCapture,
    stderr: OutputCapture,
) {
    while let Some(item) = output.next().await {
        match item {
            Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                stdout.write(&message);
            }
            Ok(LogOutput::StdErr { message }) => stderr.write(&message),
            Ok(LogOutput::StdIn { .. }) => {}
            Err(err) => {
                tracing::warn!("container output stream failed: {err}");
                break;
            }
        }
    }
}

/// Stops the container: SIGTERM, a short grace, SIGKILL; a direct kill when the stop fails.
async fn stop(docker: &Docker, id: &str) {
    let options = StopContainerOptionsBuilder::new()
        .t(STOP_GRACE_SECS)
        .build();
    if let Err(err) = docker.stop_container(id, Some(options)).await {
        tracing::debug!(container = id, "stop failed, killing: {err}");
        let kill = KillContainerOptionsBuilder::new().signal("KILL").build();
        if let Err(err) = docker.kill_container(id, Some(kill)).await {
            tracing::warn!(container = id, "kill failed: {err}");
        }
    }
}

/// A spawned task that is aborted when its handle is dropped (an early `?` leaves no task
/// behind).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

//! Heartbeats of a job run outside `berth serve` on Storage several nodes share: `berth run` with
//! `BERTH_STORAGE_URL`. The nodes' sweep ends any `processing` job whose heartbeat expired (its
//! runner presumed gone), so a job run by the CLI stamps its own while it runs, under the CLI
//! process's node name, and stops when a kill through any node asks it to (or when the sweep
//! ended it after all: then its last record is refused by the database).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use berth_exec::Cancel;
use berth_postgres::{Heartbeat, PgError};
use berth_storage::JobStatus;

use crate::home::SharedStorage;

/// How old a running job's last heartbeat may get before a node ends it (`berth serve
/// --node-expiry`'s default).
pub const DEFAULT_NODE_EXPIRY: Duration = Duration::from_secs(30);

/// The environment variable setting the expiry (seconds) for `berth serve` and for the
/// heartbeats of `berth run`; every process on one database should agree on it.
pub const NODE_EXPIRY_ENV: &str = "BERTH_NODE_EXPIRY";

/// The expiry `BERTH_NODE_EXPIRY` sets, else [`DEFAULT_NODE_EXPIRY`] (a value that is not a
/// positive number of seconds is refused with a warning).
pub fn node_expiry() -> Duration {
    let Some(value) = std::env::var_os(NODE_EXPIRY_ENV) else {
        return DEFAULT_NODE_EXPIRY;
    };
    let text = value.to_string_lossy();
    match text
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
    {
        Some(expiry) if !expiry.is_zero() => expiry,
        _ => {
            tracing::warn!(
                "{NODE_EXPIRY_ENV}={text:?} is not a positive number of seconds; using {}",
                DEFAULT_NODE_EXPIRY.as_secs()
            );
            DEFAULT_NODE_EXPIRY
        }
    }
}

/// How often a runner stamps its jobs for heartbeats that expire after `expiry`: four times
/// per expiry, so one late or lost stamp never lets a live job expire.
pub fn interval(expiry: Duration) -> Duration {
    (expiry / 4).max(Duration::from_millis(100))
}

/// A thread stamping one job's heartbeat until dropped.
#[derive(Debug)]
pub struct Beating {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Beating {
    /// Starts stamping job `id` on `shared` every `interval`; a kill (or the job being lost)
    /// cancels `cancel`.
    pub fn start(shared: &SharedStorage, id: &str, cancel: Cancel, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, id, stopping) = (shared.clone(), id.to_owned(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("berth-heartbeat".into())
            .spawn(move || beat(&shared, &id, &cancel, &stopping, interval))
            .ok();
        Self { stop, thread }
    }
}

impl Drop for Beating {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Acts on a heartbeat's `answer` for job `id`, run by `node` with `cancel`: a kill or the job
/// being no longer this node's cancels the run (each said once in the log); a job recorded but not
/// started yet, or one this node just ended, needs nothing said. Shared by `berth serve`'s nodes
/// and a CLI run on shared Storage.
pub fn act_on(answer: Result<Heartbeat, PgError>, node: &str, id: &str, cancel: &Cancel) {
    match answer {
        Ok(Heartbeat::Run) => {}
        Ok(Heartbeat::Stop) => {
            if !cancel.is_cancelled() {
                tracing::info!("job {id} was killed: stopping it");
                cancel.cancel();
            }
        }
        // Recorded, not yet started (the runner saves `processing` as it enters its first
        // stage): nothing to stamp yet.
        Ok(Heartbeat::Lost {
            status: JobStatus::Created | JobStatus::Waiting,
            ..
        }) => {}
        // Ended on this node: either its runner recorded the end as the heartbeat ran (the usual
        // case), or the sweep ended it because this node was late (the sweeping node says so).
        // Cancelling is right for the second and harmless for the first.
        Ok(Heartbeat::Lost {
            status,
            node: Some(holder),
        }) if holder == node && status.is_terminal() => cancel.cancel(),
        Ok(Heartbeat::Lost {
            status,
            node: other,
        }) => {
            if !cancel.is_cancelled() {
                tracing::warn!(
                    "job {id} is no longer this node's (it is {status}{}): stopping it",
                    other.map(|n| format!(" on node {n}")).unwrap_or_default()
                );
                cancel.cancel();
            }
        }
        // The job ends as this heartbeat runs; its runner records it.
        Err(e) => tracing::error!("heartbeat of job {id}: {e}"),
    }
}

fn beat(shared: &SharedStorage, id: &str, cancel: &Cancel, stop: &AtomicBool, interval: Duration) {
    while !stop.load(Ordering::SeqCst) {
        let answer = shared
            .pool
            .get()
            .and_then(|mut db| db.heartbeat(&shared.node, id));
        act_on(answer, &shared.node, id, cancel);
        let until = Instant::now() + interval;
        while !stop.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::park_timeout(until.saturating_duration_since(Instant::now()));
        }
    }
}

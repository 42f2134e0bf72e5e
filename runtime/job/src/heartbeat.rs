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
use berth_postgres::Heartbeat;
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

fn beat(shared: &SharedStorage, id: &str, cancel: &Cancel, stop: &AtomicBool, interval: Duration) {
    while !stop.load(Ordering::SeqCst) {
        let answer = shared
            .pool
            .get()
            .and_then(|mut db| db.heartbeat(&shared.node, id));
        match answer {
            Ok(Heartbeat::Run) => {}
            Ok(Heartbeat::Stop) => cancel.cancel(),
            // Recorded, not yet started (the runner saves `processing` as it enters its first
            // stage): nothing to stamp yet.
            Ok(Heartbeat::Lost {
                status: JobStatus::Created | JobStatus::Waiting,
                ..
            }) => {}
            Ok(Heartbeat::Lost { status, node }) => {
                if !status.is_terminal() || node.as_deref() != Some(shared.node.as_str()) {
                    tracing::warn!("job {id} is no longer this process's (it is {status})");
                }
                cancel.cancel();
            }
            Err(e) => tracing::error!("heartbeat of job {id}: {e}"),
        }
        let until = Instant::now() + interval;
        while !stop.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::park_timeout(until.saturating_duration_since(Instant::now()));
        }
    }
}

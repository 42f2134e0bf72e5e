//! The workers that run queued jobs: a dispatcher thread takes jobs from the queue in Storage as
//! workers free up (at most `--workers` at once; jobs of one configuration one at a time, see
//! [`berth_job::queue`]), and each job runs on a thread of its own with a [`Cancel`] the kill route
//! and the shutdown can set.
//!
//! Claiming a job and registering its [`Cancel`] happen under one lock, and a kill takes the same
//! lock around its status change, so a kill never falls between a job starting and it becoming
//! cancellable.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_exec::Cancel;
use berth_job::home::Home;
use berth_job::queue::{self, ClaimedJob, Killed};
use berth_job::run_recorded;
use berth_storage::StorageError;

use crate::events::{EventWriter, JobLog};
use crate::wake::Wake;

/// How often the dispatcher looks at the queue without being woken.
const POLL: Duration = Duration::from_millis(500);

/// The running jobs and the dispatcher.
#[derive(Debug, Clone)]
pub(crate) struct Workers {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    home: Home,
    /// The server's URL (`KBC_URL` of components with `forward_token`).
    url: String,
    size: usize,
    events: EventWriter,
    /// Running jobs by id; the lock also orders claims against kills.
    running: Mutex<HashMap<String, Cancel>>,
    /// Set to wake the dispatcher (a job was queued, a worker finished, shutdown).
    wake: Wake,
    accepting: AtomicBool,
    metrics: crate::state::Metrics,
}

impl Workers {
    /// Starts the dispatcher with `size` workers.
    pub(crate) fn start(
        home: &Home,
        url: &str,
        size: usize,
        events: &EventWriter,
        metrics: &crate::state::Metrics,
    ) -> Self {
        let workers = Self {
            inner: Arc::new(Inner {
                home: home.clone(),
                url: url.to_owned(),
                size: size.max(1),
                events: events.clone(),
                running: Mutex::new(HashMap::new()),
                wake: Wake::default(),
                accepting: AtomicBool::new(true),
                metrics: metrics.clone(),
            }),
        };
        let dispatcher = workers.clone();
        std::thread::Builder::new()
            .name("berth-dispatcher".into())
            .spawn(move || dispatcher.dispatch())
            .expect("starting the dispatcher");
        workers
    }

    /// Wakes the dispatcher (a job was queued).
    pub(crate) fn notify(&self) {
        self.inner.wake.set();
    }

    /// How many jobs run now.
    pub(crate) fn running(&self) -> usize {
        self.lock_running().len()
    }

    /// The running jobs and their cancels.
    pub(crate) fn running_jobs(&self) -> Vec<(String, Cancel)> {
        self.lock_running()
            .iter()
            .map(|(id, cancel)| (id.clone(), cancel.clone()))
            .collect()
    }

    /// False once the server is shutting down.
    pub(crate) fn accepting(&self) -> bool {
        self.inner.accepting.load(Ordering::SeqCst)
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cancel>> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Kills job `id`: a waiting job is cancelled at once, a running one stopped by its worker.
    pub(crate) fn kill(&self, id: &str) -> Result<Killed, StorageError> {
        let running = self.lock_running();
        let killed = queue::kill(&self.inner.home, id)?;
        if killed == Killed::Terminating
            && let Some(cancel) = running.get(id)
        {
            cancel.cancel();
        }
        Ok(killed)
    }

    fn dispatch(&self) {
        while self.inner.accepting.load(Ordering::SeqCst) {
            while self.running() < self.inner.size && self.inner.accepting.load(Ordering::SeqCst) {
                match self.claim() {
                    Ok(Some((claimed, cancel))) => self.spawn(claimed, cancel),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::error!("taking a job from the queue: {e:#}");
                        break;
                    }
                }
            }
            self.inner.wake.wait(POLL);
        }
    }

    /// Claims the next job and registers its cancel under the running lock.
    fn claim(&self) -> anyhow::Result<Option<(ClaimedJob, Cancel)>> {
        let mut running = self.lock_running();
        let mut queue = self.inner.home.open_queue()?;
        let Some(claimed) = queue::claim(queue.as_mut())? else {
            return Ok(None);
        };
        let cancel = Cancel::new();
        running.insert(claimed.record.id.clone(), cancel.clone());
        Ok(Some((claimed, cancel)))
    }

    fn spawn(&self, claimed: ClaimedJob, cancel: Cancel) {
        let workers = self.clone();
        let id = claimed.record.id.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("berth-job-{id}"))
            .spawn(move || {
                let id = claimed.record.id.clone();
                workers.run(claimed, cancel);
                workers.lock_running().remove(&id);
                workers.notify();
            });
        if let Err(e) = spawned {
            tracing::error!("starting a worker for job {id}: {e}");
            self.lock_running().remove(&id);
        }
    }

    fn run(&self, claimed: ClaimedJob, cancel: Cancel) {
        let log = JobLog::new(&claimed.record.id, &self.inner.events);
        log.log(
            "info",
            format!("Running component {}", claimed.job.component),
        );
        let mut request = claimed.job.to_request();
        request.cancel = Some(cancel);
        request.live_output = Some(log.clone());
        request.server_url = Some(self.inner.url.clone());
        let started = Instant::now();
        let id = claimed.record.id.clone();
        match run_recorded(&self.inner.home, claimed.record, &request, log.as_ref()) {
            Ok(run) => {
                self.inner
                    .metrics
                    .job_finished(run.record.executor, started.elapsed());
            }
            Err(e) => {
                tracing::error!("job {id} could not be recorded: {e:#}");
                log.log("error", format!("The job could not be recorded: {e:#}"));
            }
        }
    }

    /// Stops taking jobs, lets running ones finish for up to `grace`, then stops the rest and
    /// waits for them to record themselves `terminated`.
    pub(crate) fn shutdown(&self, grace: Duration) {
        self.inner.accepting.store(false, Ordering::SeqCst);
        self.notify();
        let deadline = Instant::now() + grace;
        while self.running() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let still: Vec<String> = {
            let running = self.lock_running();
            running.keys().cloned().collect()
        };
        for id in &still {
            tracing::warn!("stopping job {id} at shutdown");
            if let Err(e) = self.kill(id) {
                tracing::error!("stopping job {id}: {e}");
            }
        }
        while self.running() > 0 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

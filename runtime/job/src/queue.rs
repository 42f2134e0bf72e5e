//! The durable job queue that `berth serve` runs from (reference §9.1, §9.2).
//!
//! A job is submitted as a [`QueuedJob`] — what the caller asked for — and recorded in Storage as
//! `waiting`, with its [`JobRecord`]. Workers [`claim`] jobs one at a time: the oldest waiting job
//! whose configuration has no other job running (jobs of one configuration run in order, since
//! their state depends on each other). A kill moves a waiting job to `cancelled` at once and a
//! processing one to `terminating`; the worker running it stops the component and ends it
//! `terminated`. After a crash, [`recover`] ends every job that was `processing` as an error — it
//! is never run again silently, because components have side effects — while `waiting` jobs stay
//! queued.
//!
//! The queue itself is any [`JobQueue`] backend (the embedded Storage, or PostgreSQL from
//! `berth-postgres`): [`enqueue`], [`claim`], [`kill_in`], [`store_record`],
//! [`interrupted_jobs`] and [`end_interrupted`] take `&mut dyn JobQueue`. What also needs the
//! catalog stays on the embedded [`Storage`] for now: [`QueuedJob::validate`] (and so
//! [`submit`]) reads components and configurations, and [`recover`] revokes the interrupted
//! jobs' tokens; [`kill`] and [`recover`] open the home's Storage.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use berth_exec::environment::new_run_id;
use berth_storage::{
    Catalog, JobFilter, JobQueue, JobStatus, NewJob, Storage, StorageError, StoredJob,
};

use crate::JobRequest;
use crate::config::ConfigSource;
use crate::home::Home;
use crate::record::{JobRecord, JobStore, now_text, parse};

/// How a queued job runs (reference §9.2 `mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum JobMode {
    /// A normal run.
    #[default]
    Run,
    /// A run even when the configuration is disabled.
    ForceRun,
    /// Debug mode (§9.3).
    Debug,
}

/// What a caller asked to run, as stored with the job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QueuedJob {
    /// The component.
    pub component: String,
    /// A stored configuration (also the default bucket and state when `config_data` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// A whole configuration given with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub config_data: Option<Value>,
    /// Rows to run (even disabled ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_row_ids: Vec<String>,
    /// run, forceRun or debug.
    #[serde(default)]
    pub mode: JobMode,
    /// Another tag of the component's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Values of the configuration's variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub variable_values_data: Option<Value>,
    /// A row of the configuration's variables configuration holding the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_values_id: Option<String>,
}

/// Why a job cannot be queued (user errors: the request is at fault).
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The request breaks a rule; the message is the reference's where it gives one.
    #[error("{0}")]
    Invalid(String),
    /// Something named in the request does not exist.
    #[error("{0}")]
    NotFound(String),
    /// berth failed to record the job.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl QueuedJob {
    /// Checks the request against Storage the way the runner API does before queueing.
    pub fn validate(&self, storage: &dyn Catalog) -> Result<(), SubmitError> {
        if self.config.is_none() && self.config_data.is_none() {
            return Err(SubmitError::Invalid(
                "Specify 'config' or 'configData'.".to_owned(),
            ));
        }
        if let Some(data) = &self.config_data
            && !data.is_object()
        {
            return Err(SubmitError::Invalid(
                "'configData' must be a JSON object.".to_owned(),
            ));
        }
        crate::variables::check_job_values(crate::variables::JobValues {
            data: self.variable_values_data.as_ref(),
            values_id: self.variable_values_id.as_deref(),
        })
        .map_err(SubmitError::Invalid)?;
        if !self.config_row_ids.is_empty() && self.config.is_none() {
            return Err(SubmitError::Invalid(
                "Specify both 'row' and 'config'.".to_owned(),
            ));
        }
        match storage.component(&self.component) {
            Ok(_) => {}
            Err(StorageError::ComponentNotFound { .. }) => {
                return Err(SubmitError::NotFound(format!(
                    "Component \"{}\" not found.",
                    self.component
                )));
            }
            Err(e) => return Err(SubmitError::Internal(e.into())),
        }
        if let (Some(config), None) = (&self.config, &self.config_data) {
            match storage.config(&self.component, config) {
                Ok(_) => {}
                Err(StorageError::ConfigNotFound { .. }) => {
                    return Err(SubmitError::NotFound(format!(
                        "Configuration \"{config}\" of component \"{}\" not found.",
                        self.component
                    )));
                }
                Err(e) => return Err(SubmitError::Internal(e.into())),
            }
        }
        Ok(())
    }

    /// The job request this queued job runs as.
    pub fn to_request(&self) -> JobRequest {
        let source = match (&self.config_data, &self.config) {
            (Some(data), _) => ConfigSource::Data(data.clone()),
            (None, Some(config)) => ConfigSource::Stored(config.clone()),
            (None, None) => ConfigSource::Data(Value::Object(Default::default())),
        };
        let mut request = JobRequest::new(&self.component, source);
        request.config_id = self.config.clone();
        request.row_ids = self.config_row_ids.clone();
        request.tag = self.tag.clone();
        request.variable_values_data = self.variable_values_data.clone();
        request.variable_values_id = self.variable_values_id.clone();
        match self.mode {
            JobMode::Run => {}
            JobMode::ForceRun => request.force_run = true,
            JobMode::Debug => request.mode = crate::RunMode::Debug,
        }
        request
    }
}

/// Validates `job` against the home's Storage and records it as `waiting`; returns the job.
pub fn submit(
    home: &Home,
    job: &QueuedJob,
    token_id: Option<&str>,
) -> Result<StoredJob, SubmitError> {
    let opened =
        |e: StorageError| SubmitError::Internal(anyhow::Error::new(e).context("opening Storage"));
    job.validate(home.open_storage().map_err(opened)?.as_ref())?;
    enqueue(home.open_queue().map_err(opened)?.as_mut(), job, token_id)
}

/// Records `job`, which the caller validated ([`QueuedJob::validate`]), as `waiting` in `queue`;
/// returns the job as stored.
pub fn enqueue(
    queue: &mut dyn JobQueue,
    job: &QueuedJob,
    token_id: Option<&str>,
) -> Result<StoredJob, SubmitError> {
    let request = serde_json::to_value(job).context("serialising the job request")?;
    let mut attempt = 0;
    loop {
        let id = new_run_id();
        let mut record = JobRecord::new(&id, &id, &job.component);
        record.status = JobStatus::Waiting;
        record.config_id = job.config.clone();
        if let [row] = job.config_row_ids.as_slice() {
            record.row_id = Some(row.clone());
        }
        let inserted = queue.insert_job(&NewJob {
            id: id.clone(),
            component_id: job.component.clone(),
            config_id: job.config.clone(),
            status: JobStatus::Waiting,
            token_id: token_id.map(str::to_owned),
            request: request.clone(),
            record: serde_json::to_value(&record).context("serialising the job record")?,
        });
        attempt += 1;
        match inserted {
            // Another process (a node sharing the queue) made the same id in the same
            // millisecond: a new id.
            Err(_) if attempt < 5 && queue.job(&id).is_ok() => continue,
            inserted => {
                return inserted
                    .with_context(|| format!("queueing job {id}"))
                    .map_err(SubmitError::from);
            }
        }
    }
}

/// A job a worker took from the queue: its record (now `processing`) and what to run.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    /// The record.
    pub record: JobRecord,
    /// What was asked for.
    pub job: QueuedJob,
}

/// Takes the next job that may start (see the module docs); `None` when none may.
pub fn claim(queue: &mut dyn JobQueue) -> Result<Option<ClaimedJob>> {
    let Some(stored) = queue
        .claim_next_job()
        .context("taking a job from the queue")?
    else {
        return Ok(None);
    };
    let job: QueuedJob = serde_json::from_value(stored.request.clone())
        .with_context(|| format!("reading the request of job {}", stored.id))?;
    let mut record = parse(&stored)?;
    record.status = JobStatus::Processing;
    Ok(Some(ClaimedJob { record, job }))
}

/// What a kill did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    /// The job had not started: it is `cancelled`.
    Cancelled,
    /// The job is running: it is `terminating` until its worker stops it.
    Terminating,
    /// The job was already over (or already terminating) in this status; nothing changed.
    Unchanged(JobStatus),
}

/// Kills job `id` (see the module docs) in the home's Storage.
pub fn kill(home: &Home, id: &str) -> Result<Killed, StorageError> {
    kill_in(home.open_queue()?.as_mut(), &JobStore::new(home), id)
}

/// Kills job `id` (see the module docs) in `queue`, mirroring the changed record in `mirror`.
pub fn kill_in(
    queue: &mut dyn JobQueue,
    mirror: &JobStore,
    id: &str,
) -> Result<Killed, StorageError> {
    if let Ok(previous) = queue.transition_job(
        id,
        &[JobStatus::Created, JobStatus::Waiting],
        JobStatus::Cancelled,
    )? {
        let mut record = parse(&queue.job(id)?).map_err(internal(id))?;
        record.status = JobStatus::Cancelled;
        record.finished = Some(now_text());
        record.result.message = format!("The job was cancelled while {previous}.");
        store_record(queue, mirror, &record)?;
        return Ok(Killed::Cancelled);
    }
    match queue.transition_job(id, &[JobStatus::Processing], JobStatus::Terminating)? {
        Ok(_) => {
            let mut record = parse(&queue.job(id)?).map_err(internal(id))?;
            record.status = JobStatus::Terminating;
            store_record(queue, mirror, &record)?;
            Ok(Killed::Terminating)
        }
        Err(current) => Ok(Killed::Unchanged(current)),
    }
}

fn internal(id: &str) -> impl FnOnce(anyhow::Error) -> StorageError + '_ {
    move |source| StorageError::Database {
        stage: "reading a job record",
        subject: id.to_owned(),
        source,
    }
}

/// Stores `record` as the new version of its job in `queue` (its status too) and mirrors it in
/// `mirror` (a failed mirror is logged, not returned: the queue holds the record).
pub fn store_record(
    queue: &mut dyn JobQueue,
    mirror: &JobStore,
    record: &JobRecord,
) -> Result<(), StorageError> {
    let json = serde_json::to_value(record).map_err(|e| internal(&record.id)(e.into()))?;
    queue.update_job(&record.id, record.status, &json)?;
    if let Err(e) = mirror.save_mirror(record) {
        tracing::warn!("mirroring job record {}: {e:#}", record.id);
    }
    Ok(())
}

/// The message of a job that was processing when its server stopped.
pub const INTERRUPTED_MESSAGE: &str = "berth serve stopped while this job was processing; it was \
    not run again, because components have side effects.";

/// After a crash or restart: every job that was `processing` ends as an error saying so, every
/// `terminating` one as `terminated`, and the tokens forwarded to them are revoked. Returns the
/// ids changed. `waiting` jobs stay queued.
///
/// Only for a home whose Storage is its own: on a Storage several nodes share (PostgreSQL) the
/// other nodes' jobs are running, and jobs whose node stopped end when their heartbeats expire
/// (the server's sweep), so this changes nothing there.
pub fn recover(home: &Home) -> Result<Vec<String>> {
    if home.shared_storage().is_some() {
        return Ok(Vec::new());
    }
    let mirror = JobStore::new(home);
    let mut storage = Storage::open(home.storage()).context("opening Storage")?;
    let mut changed = Vec::new();
    for job in interrupted_jobs(&storage)? {
        end_interrupted(&mut storage, &mirror, &job)?;
        // A token forwarded to the interrupted component ends with its job.
        storage
            .revoke_job_tokens(&job.id)
            .with_context(|| format!("revoking the tokens of job {}", job.id))?;
        changed.push(job.id);
    }
    Ok(changed)
}

/// The jobs of `queue` that are `processing` or `terminating`, newest first: after a restart of
/// the only node running them, jobs whose runner is gone.
///
/// Only for a queue one node runs: on a queue several nodes share (PostgreSQL) this lists the
/// other nodes' running jobs too; there, jobs whose node stopped are found by their expired
/// heartbeats (`berth_postgres::PgStorage::sweep_expired`), never by this.
pub fn interrupted_jobs(queue: &dyn JobQueue) -> Result<Vec<StoredJob>> {
    let filter = JobFilter {
        statuses: vec![JobStatus::Processing, JobStatus::Terminating],
        limit: Some(usize::MAX >> 1),
        ..JobFilter::default()
    };
    queue.jobs(&filter).context("listing running jobs")
}

/// Ends `job`, whose runner is gone: `processing` as an error saying the server stopped,
/// `terminating` as `terminated`; stored in `queue` and mirrored in `mirror`.
pub fn end_interrupted(queue: &mut dyn JobQueue, mirror: &JobStore, job: &StoredJob) -> Result<()> {
    let record = ended(parse(job)?, job.status, INTERRUPTED_MESSAGE);
    store_record(queue, mirror, &record).with_context(|| format!("recovering job {}", job.id))
}

/// `record` of a job that was `status` when its runner went away, ended: a `terminating` one
/// `terminated` (it was asked to stop), anything else an application error saying `message`.
fn ended(mut record: JobRecord, status: JobStatus, message: &str) -> JobRecord {
    record.finished = Some(now_text());
    if status == JobStatus::Terminating {
        record.status = JobStatus::Terminated;
        record.result.message = crate::runner::TERMINATED_MESSAGE.to_owned();
    } else {
        record.status = JobStatus::Error;
        record.result.message = message.to_owned();
        record.result.error_type = Some("application".to_owned());
        record.result.exit_code = Some(2);
    }
    record
}

/// The record of `job`, which the sweep of a Storage several nodes share ends as `to` because its
/// node stopped sending heartbeats (`message` says so): as [`end_interrupted`] ends a job of a
/// stopped server. A record that cannot be read keeps its fields, with the status and message
/// set.
pub fn swept_record(job: &StoredJob, to: JobStatus, message: &str) -> Value {
    let status = if to == JobStatus::Terminated {
        JobStatus::Terminating
    } else {
        JobStatus::Processing
    };
    match parse(job) {
        Ok(record) => serde_json::to_value(ended(record, status, message))
            .unwrap_or_else(|_| job.record.clone()),
        Err(_) => {
            let mut record = job.record.clone();
            if let Some(fields) = record.as_object_mut() {
                fields.insert("status".into(), Value::from(to.as_str()));
                fields.insert("result".into(), serde_json::json!({"message": message}));
            }
            record
        }
    }
}

/// Job `id`'s record.
pub fn load(home: &Home, id: &str) -> Result<Option<JobRecord>> {
    JobStore::new(home).load(id)
}

//! Jobs: the durable queue and the record of every job, and each job's event log.
//!
//! A job row holds the columns the queue needs (status, component, configuration, order) and two
//! JSON documents that `berth-job` owns: the request (what to run) and the record (how it went).
//! Storage enforces only the queue's rules: [`Storage::claim_next_job`] takes the oldest
//! `waiting` job whose configuration has no job `processing` or `terminating` — jobs of one
//! configuration run one at a time, in the order they were queued (their state depends on each
//! other) — and marks it `processing` in the same transaction. Jobs without a configuration id
//! (`configData` alone) never wait for each other.
//!
//! Statuses are reference §9.2's: `created`, `waiting`, `processing`, `success`, `error`,
//! `warning`, `terminating`, `cancelled`, `terminated`.

use std::fmt;
use std::str::FromStr;

use duckdb::{OptionalExt, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::db::{from_micros, rfc3339, to_micros};
use super::{Storage, StorageError};

/// Where a job is in its life (reference §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Recorded, not yet queued.
    Created,
    /// Queued: waits for a worker (and for earlier jobs of its configuration).
    Waiting,
    /// Running.
    Processing,
    /// Finished successfully.
    Success,
    /// Finished with an error.
    Error,
    /// Finished, but a child part failed.
    Warning,
    /// Asked to stop; still stopping.
    Terminating,
    /// Stopped before it started.
    Cancelled,
    /// Stopped while it ran.
    Terminated,
}

impl JobStatus {
    /// Every status, in life order.
    pub const ALL: [JobStatus; 9] = [
        Self::Created,
        Self::Waiting,
        Self::Processing,
        Self::Success,
        Self::Error,
        Self::Warning,
        Self::Terminating,
        Self::Cancelled,
        Self::Terminated,
    ];

    /// The status as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Waiting => "waiting",
            Self::Processing => "processing",
            Self::Success => "success",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Terminating => "terminating",
            Self::Cancelled => "cancelled",
            Self::Terminated => "terminated",
        }
    }

    /// Whether the job is over (success, error, warning, cancelled, terminated).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Success | Self::Error | Self::Warning | Self::Cancelled | Self::Terminated
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = StorageError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| StorageError::InvalidOption {
                subject: "job".into(),
                option: "status",
                reason: format!(
                    "\"{text}\" is not one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                ),
            })
    }
}

/// A job to record.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The job id.
    pub id: String,
    /// The component.
    pub component_id: String,
    /// The configuration id, when the job has one (it orders jobs of the same configuration).
    pub config_id: Option<String>,
    /// `waiting` for a queued job, `processing` for one that runs at once.
    pub status: JobStatus,
    /// The token that created the job, if any.
    pub token_id: Option<String>,
    /// What to run (owned by `berth-job`).
    pub request: Value,
    /// How it went so far (owned by `berth-job`).
    pub record: Value,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredJob {
    /// The job id.
    pub id: String,
    /// Queue order: larger is later.
    pub seq: u64,
    /// The component.
    pub component_id: String,
    /// The configuration id, if any.
    pub config_id: Option<String>,
    /// Where the job is.
    pub status: JobStatus,
    /// When it was recorded.
    pub created: OffsetDateTime,
    /// When it started processing.
    pub started: Option<OffsetDateTime>,
    /// When it reached a terminal status.
    pub finished: Option<OffsetDateTime>,
    /// The token that created it.
    pub token_id: Option<String>,
    /// What to run.
    pub request: Value,
    /// How it went.
    pub record: Value,
}

/// Which jobs to list (every given criterion must hold), newest first.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this component's jobs.
    pub component_id: Option<String>,
    /// Only this configuration's jobs.
    pub config_id: Option<String>,
    /// Only jobs in one of these statuses (all when empty).
    pub statuses: Vec<JobStatus>,
    /// At most this many (default 100).
    pub limit: Option<usize>,
    /// Skip this many of the newest first.
    pub offset: usize,
}

/// One entry of a job's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobEvent {
    /// 1, 2, 3, … within the job; `?since=N` returns the events after N.
    pub seq: u64,
    /// When it was logged.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub time: OffsetDateTime,
    /// `info`, `warn` or `error` (stdout lines are info, stderr error).
    pub level: String,
    /// The text.
    pub message: String,
}

/// The default number of jobs a listing returns.
pub const DEFAULT_JOB_LIMIT: usize = 100;

const JOB_COLUMNS: &str = "id, seq, component_id, config_id, status, created, started, finished, token_id, request, record";

fn job_from_row(row: &duckdb::Row<'_>) -> duckdb::Result<(StoredJobRaw, String, String)> {
    Ok((
        StoredJobRaw {
            id: row.get(0)?,
            seq: row.get(1)?,
            component_id: row.get(2)?,
            config_id: row.get(3)?,
            status: row.get(4)?,
            created: row.get(5)?,
            started: row.get(6)?,
            finished: row.get(7)?,
            token_id: row.get(8)?,
        },
        row.get(9)?,
        row.get(10)?,
    ))
}

struct StoredJobRaw {
    id: String,
    seq: i64,
    component_id: String,
    config_id: Option<String>,
    status: String,
    created: i64,
    started: Option<i64>,
    finished: Option<i64>,
    token_id: Option<String>,
}

fn to_stored(
    (raw, request, record): (StoredJobRaw, String, String),
) -> Result<StoredJob, StorageError> {
    let parse = |text: &str, what: &str| {
        serde_json::from_str(text).map_err(|e| StorageError::Database {
            stage: "reading a job",
            subject: raw.id.clone(),
            source: anyhow::anyhow!("the stored {what} is not JSON: {e}"),
        })
    };
    Ok(StoredJob {
        seq: u64::try_from(raw.seq).unwrap_or(0),
        status: raw.status.parse()?,
        created: from_micros(raw.created),
        started: raw.started.map(from_micros),
        finished: raw.finished.map(from_micros),
        request: parse(&request, "request")?,
        record: parse(&record, "record")?,
        id: raw.id,
        component_id: raw.component_id,
        config_id: raw.config_id,
        token_id: raw.token_id,
    })
}

impl Storage {
    /// Records a new job.
    pub fn insert_job(&mut self, job: &NewJob) -> Result<StoredJob, StorageError> {
        let time = to_micros(self.clock.now());
        let started = (job.status == JobStatus::Processing).then_some(time);
        self.conn
            .execute(
                "INSERT INTO berth_jobs (id, seq, component_id, config_id, status, created, \
                 started, finished, token_id, request, record) \
                 VALUES (?, nextval('berth_job_seq'), ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                params![
                    job.id,
                    job.component_id,
                    job.config_id,
                    job.status.as_str(),
                    time,
                    started,
                    job.token_id,
                    job.request.to_string(),
                    job.record.to_string(),
                ],
            )
            .map_err(StorageError::db("recording a job", &job.id))?;
        self.job(&job.id)
    }

    /// Replaces the record of job `id` and sets its status (stamping `started` when it starts
    /// processing and `finished` when it reaches a terminal status). A `terminating` job stays
    /// `terminating` when the update says `processing` (a kill is not undone by the running job
    /// saving its progress).
    pub fn update_job(
        &mut self,
        id: &str,
        status: JobStatus,
        record: &Value,
    ) -> Result<(), StorageError> {
        let time = to_micros(self.clock.now());
        let changed = crate::db::retry_conflicts(|| {
            self.conn
                .execute(
                    "UPDATE berth_jobs SET \
                 status = CASE WHEN status = 'terminating' AND ? = 'processing' \
                     THEN status ELSE ? END, \
                 record = ?, \
                 started = CASE WHEN ? AND started IS NULL THEN ? ELSE started END, \
                 finished = CASE WHEN ? THEN ? ELSE NULL END WHERE id = ?",
                    params![
                        status.as_str(),
                        status.as_str(),
                        record.to_string(),
                        status == JobStatus::Processing,
                        time,
                        status.is_terminal(),
                        time,
                        id,
                    ],
                )
                .map_err(StorageError::db("updating a job", id))
        })?;
        if changed == 0 {
            return Err(StorageError::JobNotFound { id: id.to_owned() });
        }
        Ok(())
    }

    /// Moves job `id` to `to` only when its status is one of `from` (a compare-and-set: a kill
    /// racing the job's own end changes at most one of them). Returns the status it had.
    pub fn transition_job(
        &mut self,
        id: &str,
        from: &[JobStatus],
        to: JobStatus,
    ) -> Result<Result<JobStatus, JobStatus>, StorageError> {
        crate::db::retry_conflicts(|| self.try_transition_job(id, from, to))
    }

    /// One attempt of [`Storage::transition_job`].
    fn try_transition_job(
        &mut self,
        id: &str,
        from: &[JobStatus],
        to: JobStatus,
    ) -> Result<Result<JobStatus, JobStatus>, StorageError> {
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", id))?;
        let current: Option<String> = tx
            .query_row(
                "SELECT status FROM berth_jobs WHERE id = ?",
                params![id],
                |row| row.get(0),
            )
            .optional()
            .map_err(StorageError::db("reading a job", id))?;
        let current: JobStatus = current
            .ok_or_else(|| StorageError::JobNotFound { id: id.to_owned() })?
            .parse()?;
        if !from.contains(&current) {
            return Ok(Err(current));
        }
        let time = to_micros(self.clock.now());
        tx.execute(
            "UPDATE berth_jobs SET status = ?, \
             finished = CASE WHEN ? THEN ? ELSE finished END WHERE id = ?",
            params![to.as_str(), to.is_terminal(), time, id],
        )
        .map_err(StorageError::db("updating a job", id))?;
        tx.commit()
            .map_err(StorageError::db("committing a job update", id))?;
        Ok(Ok(current))
    }

    /// The job `id`.
    pub fn job(&self, id: &str) -> Result<StoredJob, StorageError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM berth_jobs WHERE id = ?"),
                params![id],
                job_from_row,
            )
            .optional()
            .map_err(StorageError::db("reading a job", id))?
            .ok_or_else(|| StorageError::JobNotFound { id: id.to_owned() })?;
        to_stored(row)
    }

    /// Jobs matching `filter`, newest first.
    pub fn jobs(&self, filter: &JobFilter) -> Result<Vec<StoredJob>, StorageError> {
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM berth_jobs WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        if let Some(component) = &filter.component_id {
            sql.push_str(" AND component_id = ?");
            args.push(component.clone());
        }
        if let Some(config) = &filter.config_id {
            sql.push_str(" AND config_id = ?");
            args.push(config.clone());
        }
        if !filter.statuses.is_empty() {
            sql.push_str(" AND status IN (");
            sql.push_str(&vec!["?"; filter.statuses.len()].join(", "));
            sql.push(')');
            args.extend(filter.statuses.iter().map(|s| s.as_str().to_owned()));
        }
        // DuckDB refuses a LIMIT or OFFSET beyond BIGINT; none can be reached anyway.
        let bigint = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let limit = bigint(filter.limit.unwrap_or(DEFAULT_JOB_LIMIT));
        sql.push_str(&format!(
            " ORDER BY seq DESC LIMIT {limit} OFFSET {}",
            bigint(filter.offset)
        ));
        let mut statement = self
            .conn
            .prepare(&sql)
            .map_err(StorageError::db("listing jobs", "jobs"))?;
        let rows = statement
            .query_map(duckdb::params_from_iter(args.iter()), job_from_row)
            .map_err(StorageError::db("listing jobs", "jobs"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StorageError::db("listing jobs", "jobs"))?;
        rows.into_iter().map(to_stored).collect()
    }

    /// Takes the next job to run: the oldest `waiting` job whose configuration has no job
    /// `processing` or `terminating`, marked `processing` in the same transaction. `None` when
    /// nothing can start now.
    pub fn claim_next_job(&mut self) -> Result<Option<StoredJob>, StorageError> {
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", "job queue"))?;
        let next: Option<String> = tx
            .query_row(
                "SELECT id FROM berth_jobs AS j WHERE j.status = 'waiting' AND NOT EXISTS ( \
                   SELECT 1 FROM berth_jobs AS p \
                   WHERE p.status IN ('processing', 'terminating') \
                     AND p.component_id = j.component_id AND p.config_id = j.config_id) \
                 ORDER BY j.seq LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(StorageError::db("reading the job queue", "job queue"))?;
        let Some(id) = next else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE berth_jobs SET status = 'processing', started = ? WHERE id = ?",
            params![to_micros(self.clock.now()), id],
        )
        .map_err(StorageError::db("claiming a job", &id))?;
        tx.commit()
            .map_err(StorageError::db("committing a job claim", &id))?;
        self.job(&id).map(Some)
    }

    /// How many jobs are in each status (statuses without jobs are left out).
    pub fn job_counts(&self) -> Result<Vec<(JobStatus, u64)>, StorageError> {
        let mut statement = self
            .conn
            .prepare("SELECT status, count(*) FROM berth_jobs GROUP BY status ORDER BY status")
            .map_err(StorageError::db("counting jobs", "jobs"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(StorageError::db("counting jobs", "jobs"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StorageError::db("counting jobs", "jobs"))?;
        rows.into_iter()
            .map(|(status, n)| Ok((status.parse()?, u64::try_from(n).unwrap_or(0))))
            .collect()
    }

    /// Appends `events` (level, message) to job `id`'s log.
    pub fn add_job_events(
        &mut self,
        id: &str,
        events: &[(&str, &str)],
    ) -> Result<(), StorageError> {
        if events.is_empty() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", id))?;
        let last: i64 = tx
            .query_row(
                "SELECT coalesce(max(seq), 0) FROM berth_job_events WHERE job_id = ?",
                params![id],
                |row| row.get(0),
            )
            .map_err(StorageError::db("reading a job's events", id))?;
        let time = to_micros(self.clock.now());
        {
            let mut appender = tx
                .appender("berth_job_events")
                .map_err(StorageError::db("appending job events", id))?;
            for (n, (level, message)) in events.iter().enumerate() {
                let seq = last + 1 + i64::try_from(n).unwrap_or(i64::MAX - last - 1);
                appender
                    .append_row(params![id, seq, time, level, message])
                    .map_err(StorageError::db("appending job events", id))?;
            }
            appender
                .flush()
                .map_err(StorageError::db("appending job events", id))?;
        }
        tx.commit()
            .map_err(StorageError::db("committing job events", id))?;
        Ok(())
    }

    /// Job `id`'s events after `since` (0: from the start), oldest first, at most `limit`.
    pub fn job_events(
        &self,
        id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<JobEvent>, StorageError> {
        // DuckDB refuses a LIMIT beyond BIGINT.
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT seq, time, level, message FROM berth_job_events \
                 WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT {limit}"
            ))
            .map_err(StorageError::db("reading a job's events", id))?;
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        statement
            .query_map(params![id, since], |row| {
                Ok(JobEvent {
                    seq: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                    time: from_micros(row.get(1)?),
                    level: row.get(2)?,
                    message: row.get(3)?,
                })
            })
            .map_err(StorageError::db("reading a job's events", id))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StorageError::db("reading a job's events", id))
    }
}

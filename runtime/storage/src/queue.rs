//! The job queue as an interface: [`JobQueue`], what every backend of the durable job queue does
//! (the embedded [`Storage`] here, PostgreSQL in `berth-postgres`), so the code that queues, runs
//! and kills jobs (`berth_job::queue`) works on whichever one `berth serve` was started with.
//!
//! The rules every backend keeps (the shared behaviour suite in `berth-postgres`'s tests holds
//! each backend to them):
//!
//! - [`JobQueue::claim_next_job`] takes the oldest `waiting` job whose configuration has no job
//!   `processing` or `terminating` and marks it `processing` in the same transaction: jobs of one
//!   configuration run one at a time, in queue order; jobs without a configuration never wait
//!   for each other;
//! - [`JobQueue::transition_job`] is a compare-and-set on the status (a kill racing the job's own
//!   end changes at most one of them);
//! - [`JobQueue::update_job`] never turns a `terminating` job back into `processing`;
//! - listings are newest first; events are numbered 1, 2, 3, … per job.
//!
//! Errors are [`StorageError`]s whichever the backend, so callers keep telling the caller's
//! mistakes ([`StorageError::JobNotFound`], [`StorageError::is_user_error`]) from failures of the
//! database ([`StorageError::Database`], which carries the backend's own error as its source).
//!
//! The trait is object safe: code that must not care which backend it has takes
//! `&mut dyn JobQueue`.

use serde_json::Value;

use crate::{JobEvent, JobFilter, JobStatus, NewJob, Storage, StorageError, StoredJob};

/// The durable job queue and each job's event log (see the module docs for the rules).
///
/// Each method is one transaction. A value is one connection, serving one thread at a time;
/// [`JobQueue::connect_again`] opens another to the same queue for another thread.
pub trait JobQueue {
    /// Records a new job.
    fn insert_job(&mut self, job: &NewJob) -> Result<StoredJob, StorageError>;

    /// Replaces the record of job `id` and sets its status (stamping `started` when it starts
    /// processing and `finished` when it reaches a terminal status). A `terminating` job stays
    /// `terminating` when the update says `processing`. [`StorageError::JobNotFound`] when there
    /// is no such job.
    fn update_job(
        &mut self,
        id: &str,
        status: JobStatus,
        record: &Value,
    ) -> Result<(), StorageError>;

    /// Moves job `id` to `to` only when its status is one of `from`: `Ok(previous status)` when
    /// it moved, `Err(current status)` when it did not. [`StorageError::JobNotFound`] when there
    /// is no such job.
    fn transition_job(
        &mut self,
        id: &str,
        from: &[JobStatus],
        to: JobStatus,
    ) -> Result<Result<JobStatus, JobStatus>, StorageError>;

    /// The job `id` ([`StorageError::JobNotFound`] when there is none).
    fn job(&self, id: &str) -> Result<StoredJob, StorageError>;

    /// Jobs matching `filter`, newest first.
    fn jobs(&self, filter: &JobFilter) -> Result<Vec<StoredJob>, StorageError>;

    /// Takes the next job to run (see the module docs), marked `processing`; `None` when nothing
    /// can start now. A backend shared by several nodes records which node took it (the node the
    /// value was opened for).
    fn claim_next_job(&mut self) -> Result<Option<StoredJob>, StorageError>;

    /// How many jobs are in each status, ordered by the status's name (statuses without jobs are
    /// left out).
    fn job_counts(&self) -> Result<Vec<(JobStatus, u64)>, StorageError>;

    /// Appends `events` (level, message) to job `id`'s log, numbered after the last one.
    fn add_job_events(&mut self, id: &str, events: &[(&str, &str)]) -> Result<(), StorageError>;

    /// Job `id`'s events after `since` (0: from the start), oldest first, at most `limit`; empty
    /// for a job without events or without a record.
    fn job_events(&self, id: &str, since: u64, limit: usize)
    -> Result<Vec<JobEvent>, StorageError>;

    /// Another connection to the same queue (for another thread).
    fn connect_again(&self) -> Result<Box<dyn JobQueue + Send>, StorageError>;
}

impl JobQueue for Storage {
    fn insert_job(&mut self, job: &NewJob) -> Result<StoredJob, StorageError> {
        Storage::insert_job(self, job)
    }

    fn update_job(
        &mut self,
        id: &str,
        status: JobStatus,
        record: &Value,
    ) -> Result<(), StorageError> {
        Storage::update_job(self, id, status, record)
    }

    fn transition_job(
        &mut self,
        id: &str,
        from: &[JobStatus],
        to: JobStatus,
    ) -> Result<Result<JobStatus, JobStatus>, StorageError> {
        Storage::transition_job(self, id, from, to)
    }

    fn job(&self, id: &str) -> Result<StoredJob, StorageError> {
        Storage::job(self, id)
    }

    fn jobs(&self, filter: &JobFilter) -> Result<Vec<StoredJob>, StorageError> {
        Storage::jobs(self, filter)
    }

    fn claim_next_job(&mut self) -> Result<Option<StoredJob>, StorageError> {
        Storage::claim_next_job(self)
    }

    fn job_counts(&self) -> Result<Vec<(JobStatus, u64)>, StorageError> {
        Storage::job_counts(self)
    }

    fn add_job_events(&mut self, id: &str, events: &[(&str, &str)]) -> Result<(), StorageError> {
        Storage::add_job_events(self, id, events)
    }

    fn job_events(
        &self,
        id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<JobEvent>, StorageError> {
        Storage::job_events(self, id, since, limit)
    }

    fn connect_again(&self) -> Result<Box<dyn JobQueue + Send>, StorageError> {
        Ok(Box::new(self.try_clone()?))
    }
}

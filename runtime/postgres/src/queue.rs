//! The queue on PostgreSQL behind the interface every backend shares: [`PgNode`] (a connection
//! working for one named node) implements [`berth_storage::JobQueue`], so code written against
//! that trait (`berth_job::queue`, the shared behaviour suite) runs on PostgreSQL unchanged.
//!
//! The interface's claim takes no arguments; on PostgreSQL a claim records which node took the
//! job (its heartbeats and the sweep depend on it), so the node's name travels with the value
//! ([`PgStorage::for_node`]). The node-only operations (heartbeats, updates only the holding node
//! may make, the sweep, listening) stay [`PgStorage`] methods, reachable through
//! [`PgNode::queue_mut`].
//!
//! Errors cross the interface as [`StorageError`]s (see `From<PgError> for StorageError` in
//! the `error` module): an unknown job is still [`StorageError::JobNotFound`], and a database
//! failure a [`StorageError::Database`] naming the stage and subject, the driver's error its
//! source.

use berth_storage::{JobQueue, StorageError};
use serde_json::Value;

use crate::{JobEvent, JobFilter, JobStatus, NewJob, PgStorage, StoredJob};

/// A connection to the queue working for node `node`: what [`JobQueue`] needs on PostgreSQL.
#[derive(Debug)]
pub struct PgNode {
    queue: PgStorage,
    node: String,
}

impl PgStorage {
    /// This connection, working for node `node` (the name claims record; unique per running
    /// `berth serve` process, as heartbeats and the sweep tell nodes apart by it).
    pub fn for_node(self, node: impl Into<String>) -> PgNode {
        PgNode {
            queue: self,
            node: node.into(),
        }
    }
}

impl PgNode {
    /// The node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The connection, for what only PostgreSQL has (heartbeats, the sweep, listening).
    pub fn queue(&self) -> &PgStorage {
        &self.queue
    }

    /// The connection, for what only PostgreSQL has (heartbeats, the sweep, listening).
    pub fn queue_mut(&mut self) -> &mut PgStorage {
        &mut self.queue
    }

    /// The connection, without the node.
    pub fn into_queue(self) -> PgStorage {
        self.queue
    }
}

impl JobQueue for PgNode {
    fn insert_job(&mut self, job: &NewJob) -> Result<StoredJob, StorageError> {
        Ok(self.queue.insert_job(job)?)
    }

    fn update_job(
        &mut self,
        id: &str,
        status: JobStatus,
        record: &Value,
    ) -> Result<(), StorageError> {
        Ok(self
            .queue
            .update_job_as(Some(&self.node), id, status, record)?)
    }

    fn transition_job(
        &mut self,
        id: &str,
        from: &[JobStatus],
        to: JobStatus,
    ) -> Result<Result<JobStatus, JobStatus>, StorageError> {
        Ok(self.queue.transition_job(id, from, to)?)
    }

    fn job(&self, id: &str) -> Result<StoredJob, StorageError> {
        Ok(self.queue.job(id)?)
    }

    fn jobs(&self, filter: &JobFilter) -> Result<Vec<StoredJob>, StorageError> {
        Ok(self.queue.jobs(filter)?)
    }

    fn claim_next_job(&mut self) -> Result<Option<StoredJob>, StorageError> {
        Ok(self.queue.claim_next_job(&self.node)?)
    }

    fn job_counts(&self) -> Result<Vec<(JobStatus, u64)>, StorageError> {
        Ok(self.queue.job_counts()?)
    }

    fn add_job_events(&mut self, id: &str, events: &[(&str, &str)]) -> Result<(), StorageError> {
        Ok(self.queue.add_job_events(id, events)?)
    }

    fn job_events(
        &self,
        id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<JobEvent>, StorageError> {
        Ok(self.queue.job_events(id, since, limit)?)
    }

    fn connect_again(&self) -> Result<Box<dyn JobQueue + Send>, StorageError> {
        Ok(Box::new(
            self.queue.try_clone()?.for_node(self.node.clone()),
        ))
    }
}

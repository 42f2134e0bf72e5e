//! What several nodes need beyond the queue's rules: a heartbeat per running job, written by the
//! node that runs it (and answering whether a kill from another node asks it to stop); updates
//! that only the node holding a job may make; and the sweep that ends jobs whose node stopped.
//!
//! A node that stops sending heartbeats — killed, cut off, its machine gone — leaves its jobs
//! `processing`. Any node may run [`PgStorage::sweep_expired`]: a job whose last heartbeat is older
//! than the expiry ends as `error` (a `terminating` one as `terminated`, since it was asked to
//! stop), with a message saying the node stopped. It is never run again: components have side
//! effects, and the vanished node may have run part or all of it. If that node was only slow and
//! comes back, its next heartbeat answers [`Heartbeat::Lost`] and its updates through
//! [`PgStorage::update_claimed_job`] are refused, so it cannot overwrite the sweep's verdict.

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::jobs::{JOB_COLUMNS, notify, stored};
use crate::{JobStatus, PgError, PgStorage, StoredJob};

/// What a heartbeat tells the node that runs the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heartbeat {
    /// Keep running it.
    Run,
    /// A kill asked for the job to stop (it is `terminating`): stop the component and end the
    /// job `terminated`.
    Stop,
    /// The job is no longer this node's: the sweep ended it (the node's heartbeats were late),
    /// or it is over. Stop working on it and do not record anything for it.
    Lost {
        /// Its status now.
        status: JobStatus,
        /// The node the database has for it, if any.
        node: Option<String>,
    },
}

/// A job the sweep ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SweptJob {
    /// The job as it is now (`error`, or `terminated` if it was `terminating`).
    pub job: StoredJob,
    /// The node that had it (`None` for a job recorded `processing` that never sent a heartbeat).
    pub node: Option<String>,
    /// Its last heartbeat.
    pub last_heartbeat: OffsetDateTime,
}

/// The message of a job whose node stopped sending heartbeats.
pub fn node_stopped_message(node: Option<&str>, last_heartbeat: OffsetDateTime) -> String {
    let node = node.map_or_else(|| "the node".to_owned(), |n| format!("node \"{n}\""));
    let last = last_heartbeat
        .format(&Rfc3339)
        .unwrap_or_else(|_| last_heartbeat.to_string());
    format!(
        "The job was running on {node}, which stopped sending heartbeats (last at {last}); it \
         was not run again, because components have side effects."
    )
}

impl PgStorage {
    /// Node `node` says it still runs job `id`: stamps the heartbeat and answers whether to go
    /// on. A job recorded `processing` without a node (it runs in the process that recorded it)
    /// becomes this node's.
    pub fn heartbeat(&mut self, node: &str, id: &str) -> Result<Heartbeat, PgError> {
        let mut client = self.client();
        // The stamp and the look at a job it missed are two statements: a job that started
        // between them (its runner saved `processing` after the stamp's snapshot) is stamped
        // again rather than reported lost.
        for _ in 0..3 {
            let beat = client
                .query_opt(
                    "UPDATE berth_jobs SET heartbeat = clock_timestamp(), node_id = $2 \
                     WHERE id = $1 AND (node_id = $2 OR node_id IS NULL) \
                       AND status IN ('processing', 'terminating') \
                     RETURNING status",
                    &[&id, &node],
                )
                .map_err(PgError::db("recording a heartbeat", id))?;
            if let Some(row) = beat {
                let status: String = row.get(0);
                return Ok(match status.parse()? {
                    JobStatus::Terminating => Heartbeat::Stop,
                    _ => Heartbeat::Run,
                });
            }
            let row = client
                .query_opt(
                    "SELECT status, node_id FROM berth_jobs WHERE id = $1",
                    &[&id],
                )
                .map_err(PgError::db("reading a job", id))?
                .ok_or_else(|| PgError::job_not_found(id))?;
            let status: String = row.get(0);
            let status: JobStatus = status.parse()?;
            let holder: Option<String> = row.get(1);
            let ours = holder.as_deref().is_none_or(|holder| holder == node);
            if !(ours && matches!(status, JobStatus::Processing | JobStatus::Terminating)) {
                return Ok(Heartbeat::Lost {
                    status,
                    node: holder,
                });
            }
        }
        // Changing under every look (never seen in practice): report it running.
        Ok(Heartbeat::Run)
    }

    /// Like [`PgStorage::update_job`], but only while node `node` holds job `id` (it is
    /// `processing` or `terminating` on this node): `Ok(previous status)` when it was updated,
    /// `Err(current status)` when the job is no longer this node's (the sweep ended it).
    pub fn update_claimed_job(
        &mut self,
        node: &str,
        id: &str,
        status: JobStatus,
        record: &Value,
    ) -> Result<Result<JobStatus, JobStatus>, PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        let row = tx
            .query_opt(
                "SELECT status, node_id FROM berth_jobs WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .map_err(PgError::db("reading a job", id))?
            .ok_or_else(|| PgError::job_not_found(id))?;
        let current: String = row.get(0);
        let current: JobStatus = current.parse()?;
        let holder: Option<String> = row.get(1);
        let held = matches!(current, JobStatus::Processing | JobStatus::Terminating)
            && holder.as_deref() == Some(node);
        if !held {
            return Ok(Err(current));
        }
        tx.execute(
            "UPDATE berth_jobs SET \
               status = CASE WHEN status = 'terminating' AND $1 = 'processing' \
                 THEN status ELSE $1 END, \
               record = $2, \
               heartbeat = clock_timestamp(), \
               finished = CASE WHEN $3 THEN clock_timestamp() END \
             WHERE id = $4",
            &[&status.as_str(), record, &status.is_terminal(), &id],
        )
        .map_err(PgError::db("updating a job", id))?;
        if status.is_terminal() {
            notify(&mut tx, id)?;
        }
        tx.commit()
            .map_err(PgError::db("committing a job update", id))?;
        Ok(Ok(current))
    }

    /// Ends every running job whose last heartbeat is older than `expiry` (see the module
    /// docs): `processing` ones as `error`, `terminating` ones as `terminated`, each with the
    /// record `end` returns for it (given the job as it was, its new status and
    /// [`node_stopped_message`]), all in one transaction. Several nodes may sweep at once: each
    /// job is ended by one of them. Returns the jobs it ended.
    pub fn sweep_expired(
        &mut self,
        expiry: Duration,
        mut end: impl FnMut(&StoredJob, JobStatus, &str) -> Value,
    ) -> Result<Vec<SweptJob>, PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", "job sweep"))?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS}, node_id, heartbeat FROM berth_jobs \
                     WHERE status IN ('processing', 'terminating') \
                       AND coalesce(heartbeat, started, created) \
                           < clock_timestamp() - make_interval(secs => $1) \
                     ORDER BY seq FOR UPDATE SKIP LOCKED"
                ),
                &[&expiry.as_secs_f64()],
            )
            .map_err(PgError::db("finding expired jobs", "job sweep"))?;
        let mut swept = Vec::with_capacity(rows.len());
        for row in &rows {
            let job = stored(row)?;
            let node: Option<String> = row.get(11);
            let last: Option<OffsetDateTime> = row.get(12);
            let last_heartbeat = last.or(job.started).unwrap_or(job.created);
            let to = if job.status == JobStatus::Terminating {
                JobStatus::Terminated
            } else {
                JobStatus::Error
            };
            let message = node_stopped_message(node.as_deref(), last_heartbeat);
            let record = end(&job, to, &message);
            let ended = tx
                .query_one(
                    &format!(
                        "UPDATE berth_jobs SET status = $1, record = $2, \
                           finished = clock_timestamp() \
                         WHERE id = $3 RETURNING {JOB_COLUMNS}"
                    ),
                    &[&to.as_str(), &record, &job.id],
                )
                .map_err(PgError::db("ending an expired job", &job.id))?;
            swept.push(SweptJob {
                job: stored(&ended)?,
                node,
                last_heartbeat,
            });
        }
        if !swept.is_empty() {
            notify(&mut tx, "job sweep")?;
        }
        tx.commit()
            .map_err(PgError::db("committing the job sweep", "job sweep"))?;
        Ok(swept)
    }
}

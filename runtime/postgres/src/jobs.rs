//! Jobs: recording, updating (with the compare-and-set kills use), reading, listing and
//! counting — the embedded queue's rules (`berth_storage`'s `jobs` module), on PostgreSQL.
//!
//! A job that reaches a terminal status may free its configuration for the next waiting job, so
//! the statements that end jobs (and those that queue them) `NOTIFY` [`CHANNEL`] in the same
//! transaction: waiting nodes wake when it commits.

use postgres::Row;
use postgres::types::ToSql;
use serde_json::Value;

use berth_storage::DEFAULT_JOB_LIMIT;

use crate::{CHANNEL, JobFilter, JobStatus, NewJob, PgError, PgStorage, StoredJob};

/// The columns [`stored`] reads, in order.
pub(crate) const JOB_COLUMNS: &str = "id, seq, component_id, config_id, status, created, started, \
     finished, token_id, request, record";

/// A job row (selected with [`JOB_COLUMNS`]) as a [`StoredJob`].
pub(crate) fn stored(row: &Row) -> Result<StoredJob, PgError> {
    let id: String = row.get(0);
    let read = |e| PgError::db("reading a job", &id)(e);
    let status: String = row.try_get(4).map_err(read)?;
    Ok(StoredJob {
        seq: u64::try_from(row.try_get::<_, i64>(1).map_err(read)?).unwrap_or(0),
        component_id: row.try_get(2).map_err(read)?,
        config_id: row.try_get(3).map_err(read)?,
        status: status.parse()?,
        created: row.try_get(5).map_err(read)?,
        started: row.try_get(6).map_err(read)?,
        finished: row.try_get(7).map_err(read)?,
        token_id: row.try_get(8).map_err(read)?,
        request: row.try_get(9).map_err(read)?,
        record: row.try_get(10).map_err(read)?,
        id,
    })
}

/// Announces that a job was queued or ended (delivered when the transaction commits).
pub(crate) fn notify(tx: &mut postgres::Transaction<'_>, subject: &str) -> Result<(), PgError> {
    tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])
        .map_err(PgError::db("announcing a queue change", subject))?;
    Ok(())
}

impl PgStorage {
    /// Records a new job (a `waiting` one wakes listening nodes). A job recorded `processing`
    /// runs at once in the recording process: it has no node until that process's first
    /// [`PgStorage::heartbeat`].
    pub fn insert_job(&mut self, job: &NewJob) -> Result<StoredJob, PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", &job.id))?;
        let processing = job.status == JobStatus::Processing;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO berth_jobs (id, component_id, config_id, status, created, \
                     started, finished, token_id, request, record, heartbeat) \
                     VALUES ($1, $2, $3, $4, clock_timestamp(), \
                       CASE WHEN $5 THEN clock_timestamp() END, \
                       CASE WHEN $6 THEN clock_timestamp() END, $7, $8, $9, \
                       CASE WHEN $5 THEN clock_timestamp() END) \
                     RETURNING {JOB_COLUMNS}"
                ),
                &[
                    &job.id,
                    &job.component_id,
                    &job.config_id,
                    &job.status.as_str(),
                    &processing,
                    &job.status.is_terminal(),
                    &job.token_id,
                    &job.request,
                    &job.record,
                ],
            )
            .map_err(PgError::db("recording a job", &job.id))?;
        if job.status == JobStatus::Waiting {
            notify(&mut tx, &job.id)?;
        }
        tx.commit()
            .map_err(PgError::db("committing a job", &job.id))?;
        stored(&row)
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
    ) -> Result<(), PgError> {
        self.update_job_as(None, id, status, record)
    }

    /// [`PgStorage::update_job`] made by node `node` (when given): a job a node claimed changes
    /// only by that node while it runs the job, so a node whose heartbeats were late cannot
    /// overwrite what the sweep recorded ([`PgError::JobNotHeld`]). Jobs no node claimed
    /// change freely, and so does the record of a `terminating` job that stays `terminating` (a
    /// kill from any node notes itself in the record).
    pub(crate) fn update_job_as(
        &mut self,
        node: Option<&str>,
        id: &str,
        status: JobStatus,
        record: &Value,
    ) -> Result<(), PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        let changed = tx
            .execute(
                "UPDATE berth_jobs SET \
                   status = CASE WHEN status = 'terminating' AND $1 = 'processing' \
                     THEN status ELSE $1 END, \
                   record = $2, \
                   started = CASE WHEN $3 AND started IS NULL THEN clock_timestamp() \
                     ELSE started END, \
                   finished = CASE WHEN $4 THEN clock_timestamp() END \
                 WHERE id = $5 AND ($6::text IS NULL OR node_id IS NULL \
                   OR (node_id = $6 AND status IN ('processing', 'terminating')) \
                   OR (status = 'terminating' AND $1 = 'terminating'))",
                &[
                    &status.as_str(),
                    record,
                    &(status == JobStatus::Processing),
                    &status.is_terminal(),
                    &id,
                    &node,
                ],
            )
            .map_err(PgError::db("updating a job", id))?;
        if changed == 0 {
            let row = tx
                .query_opt(
                    "SELECT status, node_id FROM berth_jobs WHERE id = $1",
                    &[&id],
                )
                .map_err(PgError::db("reading a job", id))?
                .ok_or_else(|| PgError::job_not_found(id))?;
            let current: String = row.get(0);
            return Err(PgError::JobNotHeld {
                id: id.to_owned(),
                status: current.parse()?,
                holder: row.get(1),
            });
        }
        if status.is_terminal() || status == JobStatus::Waiting {
            notify(&mut tx, id)?;
        }
        tx.commit()
            .map_err(PgError::db("committing a job update", id))?;
        Ok(())
    }

    /// Moves job `id` to `to` only when its status is one of `from` (a compare-and-set: a kill
    /// racing the job's own end, or two nodes killing it at once, change at most one of them).
    /// Returns the status it had: `Ok` when it moved, `Err` when it did not.
    ///
    /// Killing a running job from any node is `Processing → Terminating`; the node running it
    /// sees that at its next [`PgStorage::heartbeat`].
    pub fn transition_job(
        &mut self,
        id: &str,
        from: &[JobStatus],
        to: JobStatus,
    ) -> Result<Result<JobStatus, JobStatus>, PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        let current: String = tx
            .query_opt(
                "SELECT status FROM berth_jobs WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .map_err(PgError::db("reading a job", id))?
            .ok_or_else(|| PgError::job_not_found(id))?
            .get(0);
        let current: JobStatus = current.parse()?;
        if !from.contains(&current) {
            return Ok(Err(current));
        }
        tx.execute(
            "UPDATE berth_jobs SET status = $1, \
               finished = CASE WHEN $2 THEN clock_timestamp() ELSE finished END \
             WHERE id = $3",
            &[&to.as_str(), &to.is_terminal(), &id],
        )
        .map_err(PgError::db("updating a job", id))?;
        // A kill wakes the nodes too: the one running the job stops it at once instead of at
        // its next heartbeat.
        if to.is_terminal() || matches!(to, JobStatus::Waiting | JobStatus::Terminating) {
            notify(&mut tx, id)?;
        }
        tx.commit()
            .map_err(PgError::db("committing a job update", id))?;
        Ok(Ok(current))
    }

    /// The job `id`.
    pub fn job(&self, id: &str) -> Result<StoredJob, PgError> {
        let row = self
            .client()
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM berth_jobs WHERE id = $1"),
                &[&id],
            )
            .map_err(PgError::db("reading a job", id))?
            .ok_or_else(|| PgError::job_not_found(id))?;
        stored(&row)
    }

    /// Jobs matching `filter`, newest first.
    pub fn jobs(&self, filter: &JobFilter) -> Result<Vec<StoredJob>, PgError> {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let limit = i64::try_from(filter.limit.unwrap_or(DEFAULT_JOB_LIMIT)).unwrap_or(i64::MAX);
        let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
        let params: [&(dyn ToSql + Sync); 5] = [
            &filter.component_id,
            &filter.config_id,
            &statuses,
            &limit,
            &offset,
        ];
        let rows = self
            .client()
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM berth_jobs \
                     WHERE ($1::text IS NULL OR component_id = $1) \
                       AND ($2::text IS NULL OR config_id = $2) \
                       AND (cardinality($3::text[]) = 0 OR status = ANY($3)) \
                     ORDER BY seq DESC LIMIT $4 OFFSET $5"
                ),
                &params,
            )
            .map_err(PgError::db("listing jobs", "jobs"))?;
        rows.iter().map(stored).collect()
    }

    /// How many jobs are in each status (statuses without jobs are left out).
    pub fn job_counts(&self) -> Result<Vec<(JobStatus, u64)>, PgError> {
        let rows = self
            .client()
            .query(
                "SELECT status, count(*) FROM berth_jobs GROUP BY status ORDER BY status",
                &[],
            )
            .map_err(PgError::db("counting jobs", "jobs"))?;
        rows.iter()
            .map(|row| {
                let status: String = row.get(0);
                let n: i64 = row.get(1);
                Ok((status.parse()?, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }
}

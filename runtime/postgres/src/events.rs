//! Each job's event log: numbered 1, 2, 3, … within the job, appended under a per-job advisory
//! lock so two nodes (the one running the job, another answering a kill) never take one number.
//!
//! PostgreSQL text cannot hold a NUL character, which a component's output may contain: it is
//! stored as U+FFFD (the replacement character) instead of failing the whole append.

use crate::locks::EVENTS_LOCK_CLASS;
use crate::{JobEvent, PgError, PgStorage};

/// `text` with every NUL replaced by U+FFFD.
fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        text.replace('\0', "\u{fffd}").into()
    } else {
        text.into()
    }
}

impl PgStorage {
    /// Appends `events` (level, message) to job `id`'s log.
    pub fn add_job_events(&mut self, id: &str, events: &[(&str, &str)]) -> Result<(), PgError> {
        if events.is_empty() {
            return Ok(());
        }
        let levels: Vec<String> = events.iter().map(|(l, _)| storable(l).into()).collect();
        let messages: Vec<String> = events.iter().map(|(_, m)| storable(m).into()).collect();
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($2, hashtext($1))",
            &[&id, &EVENTS_LOCK_CLASS],
        )
        .map_err(PgError::db("locking a job's events", id))?;
        tx.execute(
            "INSERT INTO berth_job_events (job_id, seq, time, level, message) \
             SELECT $1, last.seq + e.n, clock_timestamp(), e.level, e.message \
             FROM (SELECT coalesce(max(seq), 0) AS seq FROM berth_job_events WHERE job_id = $1) \
               AS last, \
             unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(level, message, n)",
            &[&id, &levels, &messages],
        )
        .map_err(PgError::db("appending job events", id))?;
        tx.commit()
            .map_err(PgError::db("committing job events", id))?;
        Ok(())
    }

    /// Job `id`'s events after `since` (0: from the start), oldest first, at most `limit`.
    pub fn job_events(&self, id: &str, since: u64, limit: usize) -> Result<Vec<JobEvent>, PgError> {
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client()
            .query(
                "SELECT seq, time, level, message FROM berth_job_events \
                 WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&id, &since, &limit],
            )
            .map_err(PgError::db("reading a job's events", id))?;
        Ok(rows
            .iter()
            .map(|row| JobEvent {
                seq: u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                time: row.get(1),
                level: row.get(2),
                message: row.get(3),
            })
            .collect())
    }
}

//! Taking the next job, race-free across nodes.
//!
//! The rule is the embedded queue's: the oldest `waiting` job whose configuration has no job
//! `processing` or `terminating` starts; jobs of one configuration run one at a time, in queue
//! order; jobs without a configuration never wait for each other. With several nodes claiming at
//! once, one transaction:
//!
//! 1. picks a candidate — a waiting job that is the oldest waiting one of its configuration and
//!    whose configuration runs nothing — with `FOR UPDATE SKIP LOCKED`, so nodes never queue up
//!    behind each other's candidate row (they take the next one);
//! 2. for a job with a configuration, takes the transaction-level advisory lock on that
//!    configuration with `pg_try_advisory_xact_lock` (taken by another node: skip to the next
//!    candidate);
//! 3. marks it `processing` (node id, `started`, first heartbeat) with an `UPDATE` whose `WHERE`
//!    checks the rule again. That statement's snapshot is taken after the lock was granted, and
//!    the lock is released only when the holder's transaction has committed, so it sees every
//!    claim of the configuration made before: two nodes can never both find the configuration
//!    idle.
//!
//! The protections overlap on purpose. Since only the oldest waiting job of a configuration is
//! ever a candidate, the row lock of step 1 alone already keeps two nodes from starting two jobs
//! of one configuration as long as only claims change which job that is; the advisory lock and
//! step 3's check also hold when something else changes it at the same moment (an older
//! `created` job being queued, a job put back to `waiting`), and do not lean on how PostgreSQL
//! re-checks a locked row's conditions. The tests show each layer's part: without the oldest-job
//! rule and without the advisory lock, jobs of one configuration overlap in the multi-node runs;
//! without the oldest-job rule alone they no longer overlap (the advisory lock holds) but run out
//! of order; without the advisory lock alone, a node takes a job of a configuration another node
//! is claiming at that moment (`a_configuration_another_node_is_claiming_is_skipped`).

use crate::jobs::{JOB_COLUMNS, stored};
use crate::locks::CONFIG_LOCK_CLASS;
use crate::{PgError, PgStorage, StoredJob};

/// The rule, for the job aliased `j`: no configuration, or the configuration runs nothing and
/// has no older waiting job (two look-ups, each served by a partial index of open jobs only).
const MAY_START: &str = "(j.config_id IS NULL OR ( \
     NOT EXISTS (SELECT 1 FROM berth_jobs AS r \
       WHERE r.component_id = j.component_id AND r.config_id = j.config_id \
         AND r.status IN ('processing', 'terminating')) \
     AND NOT EXISTS (SELECT 1 FROM berth_jobs AS w \
       WHERE w.component_id = j.component_id AND w.config_id = j.config_id \
         AND w.status = 'waiting' AND w.seq < j.seq)))";

/// The configuration's lock object: a hash of the component and configuration ids (a collision
/// only makes two configurations wait for each other's claim, never run together).
pub(crate) const CONFIG_KEY: &str = "hashtext(length($1)::text || ':' || $1 || $2)";

impl PgStorage {
    /// Takes the next job to run for node `node` (see the module docs), marked `processing`
    /// with this node's id and a first heartbeat. `None` when nothing can start now.
    pub fn claim_next_job(&mut self, node: &str) -> Result<Option<StoredJob>, PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", "job queue"))?;
        // Walk the waiting jobs in queue order and stop at the first that may start. Without
        // statistics (a new or freshly emptied table) the planner would rather check every
        // waiting job and sort them, which costs as much as the queue is long on every claim.
        tx.batch_execute("SET LOCAL enable_sort = off")
            .map_err(PgError::db("reading the job queue", "job queue"))?;
        let mut after: i64 = 0;
        loop {
            let candidate = tx
                .query_opt(
                    &format!(
                        "SELECT j.id, j.seq, j.component_id, j.config_id FROM berth_jobs AS j \
                         WHERE j.status = 'waiting' AND j.seq > $1 AND {MAY_START} \
                         ORDER BY j.seq LIMIT 1 FOR UPDATE OF j SKIP LOCKED"
                    ),
                    &[&after],
                )
                .map_err(PgError::db("reading the job queue", "job queue"))?;
            let Some(candidate) = candidate else {
                tx.commit()
                    .map_err(PgError::db("ending a job claim", "job queue"))?;
                return Ok(None);
            };
            let id: String = candidate.get(0);
            after = candidate.get(1);
            let component: String = candidate.get(2);
            let config: Option<String> = candidate.get(3);
            if let Some(config) = &config {
                let locked: bool = tx
                    .query_one(
                        &format!("SELECT pg_try_advisory_xact_lock($3, {CONFIG_KEY})"),
                        &[&component, config, &CONFIG_LOCK_CLASS],
                    )
                    .map_err(PgError::db("locking a configuration", config))?
                    .get(0);
                if !locked {
                    continue;
                }
            }
            let claimed = tx
                .query_opt(
                    &format!(
                        "UPDATE berth_jobs AS j SET status = 'processing', \
                           started = clock_timestamp(), node_id = $2, \
                           heartbeat = clock_timestamp() \
                         WHERE j.id = $1 AND j.status = 'waiting' AND {MAY_START} \
                         RETURNING {JOB_COLUMNS}"
                    ),
                    &[&id, &node],
                )
                .map_err(PgError::db("claiming a job", &id))?;
            if let Some(row) = claimed {
                tx.commit()
                    .map_err(PgError::db("committing a job claim", &id))?;
                return stored(&row).map(Some);
            }
        }
    }
}

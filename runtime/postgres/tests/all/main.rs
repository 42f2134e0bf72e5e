//! berth-postgres against a real PostgreSQL (`.ci/start-postgres.sh`): each test on a fresh
//! database of its own. Skipped with a message when no cluster answers, failing instead when
//! `BERTH_REQUIRE_POSTGRES=1`.
//!
//! `queue_suite` is the job queue's behaviour written once against `berth_storage::JobQueue` and
//! run on both backends (the embedded DuckDB queue and PostgreSQL); the `pg_*` modules hold what
//! only PostgreSQL has.

mod backends;
mod catalog_suite;
mod file_suite;
mod pg_keys;
mod pg_listen;
mod pg_migrate;
mod pg_multinode;
mod pg_nodes;
mod pg_queue;
mod pg_tables;
mod queue_suite;
mod staging_suite;
mod table_suite;
mod token_suite;

use berth_postgres::testing::TestDatabase;
use berth_postgres::{JobStatus, NewJob, PgStorage};
use serde_json::json;

/// A fresh database and a connection to it, or `None` when the test is skipped.
fn fresh(test: &str) -> Option<(TestDatabase, PgStorage)> {
    let db = TestDatabase::create(test)?;
    let queue = PgStorage::connect(db.url()).expect("connecting to the test database");
    Some((db, queue))
}

/// A `waiting` job `id` of `component` (and configuration `config`), as the tests queue them.
fn waiting_job(id: &str, component: &str, config: Option<&str>) -> NewJob {
    NewJob {
        id: id.into(),
        component_id: component.into(),
        config_id: config.map(str::to_owned),
        status: JobStatus::Waiting,
        token_id: Some("1".into()),
        request: json!({"component": component, "config": config}),
        record: json!({"id": id}),
    }
}

/// Queues job `id` of `component` (and configuration `config`).
fn queue(queue: &mut PgStorage, id: &str, component: &str, config: Option<&str>) {
    queue
        .insert_job(&waiting_job(id, component, config))
        .unwrap();
}

/// The id of the job node `node` claims next.
fn claim(queue: &mut PgStorage, node: &str) -> Option<String> {
    queue.claim_next_job(node).unwrap().map(|j| j.id)
}

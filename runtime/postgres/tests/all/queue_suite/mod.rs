//! The job queue's behaviour, one suite for every backend: each case in [`cases`] is written
//! against [`berth_storage::JobQueue`] and runs twice, as `queue_suite::duckdb::<case>` on the
//! embedded Storage (a fresh directory) and as `queue_suite::postgres::<case>` on PostgreSQL (a
//! fresh database of the test cluster, a connection working for node `n`; skipped with a message
//! when no cluster answers, failing when `BERTH_REQUIRE_POSTGRES=1`).
//!
//! What only one backend has stays with that backend: reopening the DuckDB file and tokens in
//! berth-storage's `storage_jobs`; node claim locks, heartbeats, the sweep, LISTEN, migrations and
//! what PostgreSQL text cannot hold in this crate's `pg_*` modules.

mod cases;

use std::any::Any;

use berth_postgres::PgStorage;
use berth_postgres::testing::TestDatabase;
use berth_storage::{JobQueue, Storage};

/// One backend's queue for one test, and what keeps its database alive until the test ends.
pub(crate) struct Backend {
    queue: Box<dyn JobQueue + Send>,
    _keep: Box<dyn Any>,
}

impl Backend {
    /// The embedded queue in a fresh Storage directory.
    fn duckdb() -> Self {
        let dir = tempfile::TempDir::new().expect("creating a Storage directory");
        let storage = Storage::open(dir.path()).expect("opening Storage");
        Self {
            queue: Box::new(storage),
            _keep: Box::new(dir),
        }
    }

    /// The PostgreSQL queue in a fresh database, as node `n`; `None` when the test is skipped.
    fn postgres(test: &str) -> Option<Self> {
        let db = TestDatabase::create(test)?;
        let queue = PgStorage::connect(db.url())
            .expect("connecting to the test database")
            .for_node("n");
        Some(Self {
            queue: Box::new(queue),
            _keep: Box::new(db),
        })
    }
}

/// Instantiates every case for both backends.
macro_rules! suite {
    ($($case:ident),+ $(,)?) => {
        /// The cases on the embedded DuckDB queue.
        mod duckdb {
            $(
                #[test]
                fn $case() {
                    let mut backend = super::Backend::duckdb();
                    super::cases::$case(&mut *backend.queue);
                }
            )+
        }

        /// The cases on the PostgreSQL queue.
        mod postgres {
            $(
                #[test]
                fn $case() {
                    let Some(mut backend) = super::Backend::postgres(stringify!($case)) else {
                        return;
                    };
                    super::cases::$case(&mut *backend.queue);
                }
            )+
        }
    };
}

suite!(
    jobs_of_one_configuration_run_one_at_a_time_in_order,
    a_terminating_job_still_blocks_its_configuration,
    transitions_are_compare_and_set_and_unknown_jobs_are_named,
    listings_are_newest_first_and_filtered,
    events_come_back_in_order_after_since,
    documents_come_back_exactly_as_written,
    a_duplicate_id_is_refused_and_changes_nothing,
    ids_that_look_like_sql_are_just_ids,
    another_connection_sees_committed_jobs,
    concurrent_writes_to_one_job_from_two_connections_all_succeed,
);

//! What the queue does on PostgreSQL beyond the shared suite (`queue_suite`, which holds both
//! backends to the same rules): a configuration another node is claiming, the PostgreSQL API's
//! own error type for unknown jobs (also from the node-only methods), what PostgreSQL text cannot
//! hold (NUL characters in ids and logs), event numbers from several connections, and how its
//! errors cross the backend-neutral interface.

use berth_postgres::testing::hold_config_lock;
use berth_postgres::{JobFilter, JobStatus, NewJob, PgError, PgStorage};
use berth_storage::{JobQueue, StorageError};
use serde_json::json;

use crate::{claim, fresh, queue};

/// A node caught mid-claim of a configuration (holding its claim lock) makes the others skip that
/// configuration — not wait for it, not take its job — and take other work.
#[test]
fn a_configuration_another_node_is_claiming_is_skipped() {
    let Some((db, mut q)) = fresh("a_configuration_another_node_is_claiming_is_skipped") else {
        return;
    };
    queue(&mut q, "1", "c", Some("a"));
    queue(&mut q, "2", "c", Some("b"));
    let mut other = db.client();
    let mut tx = other.transaction().unwrap();
    hold_config_lock(&mut tx, "c", "a");
    assert_eq!(claim(&mut q, "n").as_deref(), Some("2"));
    assert_eq!(claim(&mut q, "n"), None);
    assert_eq!(q.job("1").unwrap().status, JobStatus::Waiting);
    tx.commit().unwrap();
    assert_eq!(claim(&mut q, "n").as_deref(), Some("1"));
}

/// The PostgreSQL API's own methods name an unknown job as a [`PgError::Storage`] user error (the
/// shared suite checks the same through the interface, as a `StorageError`), node-only methods
/// included.
#[test]
fn unknown_jobs_are_named_by_the_postgres_api() {
    let Some((_db, mut q)) = fresh("unknown_jobs_are_named_by_the_postgres_api") else {
        return;
    };
    let not_found = |e: PgError| {
        assert!(
            matches!(e, PgError::Storage(StorageError::JobNotFound { ref id }) if id == "nope"),
            "{e}"
        );
        assert!(e.is_user_error());
        assert_eq!(e.to_string(), "job \"nope\" does not exist");
    };
    not_found(
        q.transition_job("nope", &[JobStatus::Waiting], JobStatus::Cancelled)
            .unwrap_err(),
    );
    not_found(
        q.update_job("nope", JobStatus::Error, &json!({}))
            .unwrap_err(),
    );
    not_found(q.job("nope").unwrap_err());
    not_found(q.heartbeat("n", "nope").unwrap_err());
    not_found(
        q.update_claimed_job("n", "nope", JobStatus::Success, &json!({}))
            .unwrap_err(),
    );
    assert!(q.job_events("nope", 0, 10).unwrap().is_empty());
}

/// A component may print NUL characters; PostgreSQL text cannot hold them, so they are stored as
/// U+FFFD instead of failing the whole append (the embedded queue keeps them as they are).
#[test]
fn nul_characters_in_events_are_stored_replaced() {
    let Some((_db, mut q)) = fresh("nul_characters_in_events_are_stored_replaced") else {
        return;
    };
    queue(&mut q, "1", "c", None);
    q.add_job_events("1", &[("info", "first")]).unwrap();
    q.add_job_events("1", &[("error", "nul\0here"), ("in\0fo", "after")])
        .unwrap();
    let seen: Vec<(u64, String, String)> = q
        .job_events("1", 0, 100)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.level, e.message))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "info".into(), "first".into()),
            (2, "error".into(), "nul\u{fffd}here".into()),
            (3, "in\u{fffd}fo".into(), "after".into()),
        ]
    );
}

/// Several connections append to one job's log at once (the node running it, another answering a
/// kill): each append gets its own contiguous numbers. Only PostgreSQL promises this — its appends
/// take a per-job advisory lock; the embedded queue's log has one writer per job (the server's
/// event writer), so it does not (two DuckDB connections appending at once may take one number).
#[test]
fn events_from_several_connections_get_distinct_numbers() {
    let Some((db, mut q)) = fresh("events_from_several_connections_get_distinct_numbers") else {
        return;
    };
    queue(&mut q, "1", "c", None);
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let url = db.url().to_owned();
            std::thread::spawn(move || {
                let mut q = berth_postgres::PgStorage::connect(&url).unwrap();
                for n in 0..50 {
                    q.add_job_events("1", &[("info", &format!("{w}-{n}")), ("info", "pair")])
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let all = q.job_events("1", 0, 1000).unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=300).collect::<Vec<_>>());
    // Each append is contiguous: a writer's pair is never split by another writer.
    for pair in all.chunks(2) {
        assert_ne!(pair[0].message, "pair");
        assert_eq!(pair[1].message, "pair");
    }
}

/// A NUL in an id cannot be stored in PostgreSQL text: a clear error naming the job, nothing
/// recorded (the embedded queue stores such ids; the shared suite has the refusal of a duplicate
/// id, which both backends make). It is the caller's input, so a user error (it was reported as
/// a database failure before text PostgreSQL cannot hold was told apart).
#[test]
fn ids_postgres_cannot_store_are_refused() {
    let Some((_db, mut q)) = fresh("ids_postgres_cannot_store_are_refused") else {
        return;
    };
    queue(&mut q, "1", "c", Some("a"));
    let err = q
        .insert_job(&NewJob {
            id: "2".into(),
            component_id: "c".into(),
            config_id: Some("a\0b".into()),
            status: JobStatus::Waiting,
            token_id: None,
            request: json!({}),
            record: json!({}),
        })
        .unwrap_err();
    assert!(
        matches!(err, PgError::Storage(StorageError::InvalidOption { .. })),
        "{err}"
    );
    assert!(err.is_user_error());
    assert!(err.to_string().contains("recording a job (2)"), "{err}");
    assert!(
        err.to_string().contains("cannot hold a NUL character"),
        "{err}"
    );
    assert!(matches!(
        q.job("2").unwrap_err(),
        PgError::Storage(StorageError::JobNotFound { .. })
    ));
    // A duplicate id, through this API: a database error naming the stage and the job.
    let err = q
        .insert_job(&NewJob {
            id: "1".into(),
            component_id: "other".into(),
            config_id: None,
            status: JobStatus::Waiting,
            token_id: None,
            request: json!({}),
            record: json!({"second": true}),
        })
        .unwrap_err();
    assert!(matches!(err, PgError::Database { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("recording a job (1)") && text.contains("duplicate key"),
        "{text}"
    );
    assert_eq!(q.jobs(&JobFilter::default()).unwrap().len(), 1);
}

/// Behind the backend-neutral interface a `PgError` becomes a `StorageError` that keeps the line
/// between the caller's mistakes (exit 1) and failures of the database (exit 2), and keeps the
/// stage, the subject and the server's message.
#[test]
fn errors_cross_the_interface_keeping_user_and_database_failures_apart() {
    let invalid = StorageError::from(PgStorage::connect("mysql://u:pw@h/db").unwrap_err());
    assert!(
        matches!(invalid, StorageError::InvalidOption { .. }),
        "{invalid}"
    );
    assert!(invalid.is_user_error());
    assert!(!invalid.to_string().contains("pw"), "{invalid}");

    let unreachable = StorageError::from(
        PgStorage::connect("postgres://berth:s3cret@127.0.0.1:1/db?connect_timeout=2").unwrap_err(),
    );
    assert!(
        matches!(
            unreachable,
            StorageError::Database {
                stage: "connecting to PostgreSQL",
                ..
            }
        ),
        "{unreachable}"
    );
    assert!(!unreachable.is_user_error());
    let text = unreachable.to_string();
    assert!(
        text.contains("postgres://berth:***@127.0.0.1:1/db") && !text.contains("s3cret"),
        "{text}"
    );

    let too_new = StorageError::from(PgError::SchemaTooNew {
        url: "postgres://berth@h/db".into(),
        found: 9,
        known: 1,
    });
    assert!(!too_new.is_user_error());
    assert!(
        too_new
            .to_string()
            .contains("has schema version 9, newer than the 1"),
        "{too_new}"
    );

    let Some((db, q)) = fresh("errors_cross_the_interface") else {
        return;
    };
    let mut node = q.for_node("n");
    queue(node.queue_mut(), "1", "c", None);
    let missing = JobQueue::job(&node, "nope").unwrap_err();
    assert!(
        matches!(missing, StorageError::JobNotFound { .. }),
        "{missing}"
    );
    assert!(missing.is_user_error());
    let duplicate =
        JobQueue::insert_job(&mut node, &crate::waiting_job("1", "c", None)).unwrap_err();
    assert!(!duplicate.is_user_error());
    let text = format!("{duplicate}");
    assert!(
        text.starts_with("storage database error while recording a job (1): PostgreSQL: db error:")
            && text.contains("duplicate key value violates unique constraint"),
        "{text}"
    );
    // The claim through the interface records the node the value works for.
    assert_eq!(node.node(), "n");
    assert_eq!(
        JobQueue::claim_next_job(&mut node).unwrap().unwrap().id,
        "1"
    );
    let holder: Option<String> = db
        .client()
        .query_one("SELECT node_id FROM berth_jobs WHERE id = '1'", &[])
        .unwrap()
        .get(0);
    assert_eq!(holder.as_deref(), Some("n"));
}

//! The cases of the shared queue suite, each written against `&mut dyn JobQueue` only.

use berth_storage::{JobFilter, JobQueue, JobStatus, NewJob, StorageError};
use serde_json::json;

/// Queues job `id` of `component` (and configuration `config`).
fn queue(q: &mut dyn JobQueue, id: &str, component: &str, config: Option<&str>) {
    q.insert_job(&crate::waiting_job(id, component, config))
        .unwrap();
}

/// The id of the job claimed next.
fn claim(q: &mut dyn JobQueue) -> Option<String> {
    q.claim_next_job().unwrap().map(|j| j.id)
}

pub(super) fn jobs_of_one_configuration_run_one_at_a_time_in_order(q: &mut dyn JobQueue) {
    queue(q, "1", "c", Some("a"));
    queue(q, "2", "c", Some("a"));
    queue(q, "3", "c", Some("b"));
    queue(q, "4", "c", None);
    queue(q, "5", "c", None);
    queue(q, "6", "other", Some("a"));

    assert_eq!(claim(q).as_deref(), Some("1"));
    // 2 waits for 1 (same configuration); the others go.
    assert_eq!(claim(q).as_deref(), Some("3"));
    assert_eq!(claim(q).as_deref(), Some("4"));
    assert_eq!(claim(q).as_deref(), Some("5"));
    assert_eq!(claim(q).as_deref(), Some("6"));
    assert_eq!(claim(q), None);

    let job = q.job("1").unwrap();
    assert_eq!(job.status, JobStatus::Processing);
    assert!(job.started.is_some());
    assert!(job.finished.is_none());
    q.update_job("1", JobStatus::Success, &json!({"id": "1", "done": true}))
        .unwrap();
    assert_eq!(claim(q).as_deref(), Some("2"));
    let done = q.job("1").unwrap();
    assert!(done.finished.is_some());
    assert!(done.finished >= done.started);
    assert_eq!(done.record["done"], true);
}

pub(super) fn a_terminating_job_still_blocks_its_configuration(q: &mut dyn JobQueue) {
    queue(q, "1", "c", Some("a"));
    queue(q, "2", "c", Some("a"));
    assert_eq!(claim(q).as_deref(), Some("1"));
    let before = q
        .transition_job("1", &[JobStatus::Processing], JobStatus::Terminating)
        .unwrap();
    assert_eq!(before, Ok(JobStatus::Processing));
    assert_eq!(claim(q), None);
    // Saving progress as `processing` does not undo the kill.
    q.update_job("1", JobStatus::Processing, &json!({"progress": 1}))
        .unwrap();
    assert_eq!(q.job("1").unwrap().status, JobStatus::Terminating);
    assert_eq!(claim(q), None);
    q.transition_job("1", &[JobStatus::Terminating], JobStatus::Terminated)
        .unwrap()
        .unwrap();
    assert_eq!(claim(q).as_deref(), Some("2"));
}

pub(super) fn transitions_are_compare_and_set_and_unknown_jobs_are_named(q: &mut dyn JobQueue) {
    queue(q, "1", "c", Some("a"));
    // A waiting job killed before it starts is cancelled.
    assert_eq!(
        q.transition_job("1", &[JobStatus::Waiting], JobStatus::Cancelled)
            .unwrap(),
        Ok(JobStatus::Waiting)
    );
    // No longer waiting: a second kill changes nothing and says why.
    assert_eq!(
        q.transition_job("1", &[JobStatus::Waiting], JobStatus::Cancelled)
            .unwrap(),
        Err(JobStatus::Cancelled)
    );
    // A bad transition (a cancelled job "finishing") is refused the same way.
    assert_eq!(
        q.transition_job("1", &[JobStatus::Processing], JobStatus::Success)
            .unwrap(),
        Err(JobStatus::Cancelled)
    );
    assert_eq!(q.job("1").unwrap().status, JobStatus::Cancelled);
    assert_eq!(claim(q), None);
    assert!(q.job("1").unwrap().finished.is_some());

    // An unknown job is the caller's mistake, named, whichever the backend.
    let not_found = |e: StorageError| {
        assert!(
            matches!(e, StorageError::JobNotFound { ref id } if id == "nope"),
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
    // The log of an unknown job is empty.
    assert!(q.job_events("nope", 0, 10).unwrap().is_empty());
}

pub(super) fn listings_are_newest_first_and_filtered(q: &mut dyn JobQueue) {
    for (id, component, config) in [
        ("1", "x", "a"),
        ("2", "y", "a"),
        ("3", "x", "b"),
        ("4", "x", "a"),
    ] {
        queue(q, id, component, Some(config));
    }
    claim(q);
    let ids = |filter: JobFilter| -> Vec<String> {
        q.jobs(&filter).unwrap().into_iter().map(|j| j.id).collect()
    };
    assert_eq!(ids(JobFilter::default()), ["4", "3", "2", "1"]);
    assert_eq!(
        ids(JobFilter {
            component_id: Some("x".into()),
            ..JobFilter::default()
        }),
        ["4", "3", "1"]
    );
    assert_eq!(
        ids(JobFilter {
            component_id: Some("x".into()),
            config_id: Some("a".into()),
            ..JobFilter::default()
        }),
        ["4", "1"]
    );
    assert_eq!(
        ids(JobFilter {
            statuses: vec![JobStatus::Processing],
            ..JobFilter::default()
        }),
        ["1"]
    );
    assert_eq!(
        ids(JobFilter {
            statuses: vec![JobStatus::Processing, JobStatus::Waiting],
            config_id: Some("b".into()),
            ..JobFilter::default()
        }),
        ["3"]
    );
    assert_eq!(
        ids(JobFilter {
            limit: Some(2),
            offset: 1,
            ..JobFilter::default()
        }),
        ["3", "2"]
    );
    // Hostile sizes: a huge limit and an offset past the end.
    assert_eq!(
        ids(JobFilter {
            limit: Some(usize::MAX),
            ..JobFilter::default()
        })
        .len(),
        4
    );
    assert!(
        ids(JobFilter {
            offset: usize::MAX,
            ..JobFilter::default()
        })
        .is_empty()
    );
    let counts = q.job_counts().unwrap();
    assert_eq!(
        counts,
        [(JobStatus::Processing, 1), (JobStatus::Waiting, 3)],
        "{counts:?}"
    );
}

/// (A NUL in a message differs: PostgreSQL text cannot hold one, so that backend stores U+FFFD —
/// `pg_queue::nul_characters_in_events_are_stored_replaced`.)
pub(super) fn events_come_back_in_order_after_since(q: &mut dyn JobQueue) {
    queue(q, "1", "c", None);
    q.add_job_events("1", &[("info", "first"), ("error", "second")])
        .unwrap();
    q.add_job_events("1", &[("warn", "third")]).unwrap();
    q.add_job_events("1", &[]).unwrap();
    let all = q.job_events("1", 0, 100).unwrap();
    let seen: Vec<(u64, &str, &str)> = all
        .iter()
        .map(|e| (e.seq, e.level.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "info", "first"),
            (2, "error", "second"),
            (3, "warn", "third"),
        ]
    );
    let later = q.job_events("1", 2, 100).unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].message, "third");
    assert_eq!(q.job_events("1", 0, 1).unwrap().len(), 1);
    // Hostile sizes: a huge limit, a `since` past every event.
    assert_eq!(q.job_events("1", 0, usize::MAX).unwrap().len(), 3);
    assert!(q.job_events("1", u64::MAX, 10).unwrap().is_empty());
    assert!(q.job_events("other", 0, 100).unwrap().is_empty());
}

pub(super) fn documents_come_back_exactly_as_written(q: &mut dyn JobQueue) {
    // Key order (jsonb would sort it), NUL and other escapes, a big integer, a precise float.
    let request: serde_json::Value = serde_json::from_str(
        r#"{"zeta":1,"alpha":{"b":2,"a":[1,"x"]},"nul":"a\u0000b","big":18446744073709551615,"pi":3.141592653589793,"emoji":"🚢"}"#,
    )
    .unwrap();
    let stored = q
        .insert_job(&NewJob {
            id: "1".into(),
            component_id: "c".into(),
            config_id: None,
            status: JobStatus::Created,
            token_id: None,
            request: request.clone(),
            record: json!({}),
        })
        .unwrap();
    assert_eq!(stored.status, JobStatus::Created);
    assert_eq!(stored.token_id, None);
    let back = q.job("1").unwrap().request;
    assert_eq!(back, request);
    assert_eq!(back.to_string(), request.to_string(), "key order kept");
    // A created job is not claimed until it is queued.
    assert_eq!(claim(q), None);
    q.transition_job("1", &[JobStatus::Created], JobStatus::Waiting)
        .unwrap()
        .unwrap();
    assert_eq!(claim(q).as_deref(), Some("1"));
}

/// (Ids PostgreSQL text cannot hold — a NUL — are refused there only:
/// `pg_queue::ids_postgres_cannot_store_are_refused`.)
pub(super) fn a_duplicate_id_is_refused_and_changes_nothing(q: &mut dyn JobQueue) {
    queue(q, "1", "c", Some("a"));
    // The same id again: refused by the primary key, the first job untouched.
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
    assert!(matches!(err, StorageError::Database { .. }), "{err}");
    assert!(!err.is_user_error());
    let text = err.to_string();
    assert!(
        text.contains("recording a job (1)") && text.to_lowercase().contains("duplicate key"),
        "{text}"
    );
    let first = q.job("1").unwrap();
    assert_eq!(first.component_id, "c");
    assert_eq!(first.record, json!({"id": "1"}));
    assert_eq!(q.jobs(&JobFilter::default()).unwrap().len(), 1);
}

pub(super) fn ids_that_look_like_sql_are_just_ids(q: &mut dyn JobQueue) {
    queue(q, "1", "c", Some("a"));
    let hostile = "x'); DROP TABLE berth_jobs; --";
    queue(q, hostile, hostile, Some(hostile));
    assert_eq!(q.job(hostile).unwrap().config_id.as_deref(), Some(hostile));
    assert_eq!(q.jobs(&JobFilter::default()).unwrap().len(), 2);
    let mine = q
        .jobs(&JobFilter {
            component_id: Some(hostile.into()),
            config_id: Some(hostile.into()),
            ..JobFilter::default()
        })
        .unwrap();
    assert_eq!(mine.len(), 1);
    q.add_job_events(hostile, &[("info", hostile)]).unwrap();
    assert_eq!(q.job_events(hostile, 0, 10).unwrap()[0].message, hostile);
}

pub(super) fn another_connection_sees_committed_jobs(q: &mut dyn JobQueue) {
    let mut other = q.connect_again().unwrap();
    queue(q, "1", "c", None);
    assert_eq!(other.job("1").unwrap().status, JobStatus::Waiting);
    // And the other way round: a claim on the other connection is seen here.
    assert_eq!(claim(&mut *other).as_deref(), Some("1"));
    assert_eq!(q.job("1").unwrap().status, JobStatus::Processing);
    assert_eq!(claim(q), None);
}

/// The worker recording a job's progress and a kill write the same row from two connections at
/// once; every write succeeds (DuckDB's optimistic concurrency fails one of two conflicting
/// writers, which the embedded queue retries; PostgreSQL's row locks order them).
pub(super) fn concurrent_writes_to_one_job_from_two_connections_all_succeed(q: &mut dyn JobQueue) {
    const WRITES: usize = 300;
    queue(q, "1", "c", Some("a"));
    assert_eq!(claim(q).as_deref(), Some("1"));
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let mut q = q.connect_again().unwrap();
            std::thread::spawn(move || {
                for n in 0..WRITES {
                    if writer == 0 {
                        q.update_job("1", JobStatus::Processing, &json!({"n": n}))
                            .unwrap_or_else(|e| panic!("update {n}: {e:#}"));
                    } else {
                        q.transition_job("1", &[JobStatus::Processing], JobStatus::Processing)
                            .unwrap_or_else(|e| panic!("transition {n}: {e:#}"))
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let job = q.job("1").unwrap();
    assert_eq!(job.status, JobStatus::Processing);
    assert_eq!(job.record, json!({"n": WRITES - 1}));
}

//! The embedded queue's rules on PostgreSQL (the same cases as berth-storage's `storage_jobs`),
//! and hostile input: unknown jobs, a refused compare-and-set, ids PostgreSQL cannot store,
//! duplicate ids, NUL characters in logs, documents that must come back exactly.

use berth_postgres::testing::hold_config_lock;
use berth_postgres::{JobFilter, JobStatus, NewJob, PgError};
use berth_storage::StorageError;
use serde_json::json;

use crate::{claim, fresh, queue};

#[test]
fn jobs_of_one_configuration_run_one_at_a_time_in_order() {
    let Some((_db, mut q)) = fresh("jobs_of_one_configuration_run_one_at_a_time_in_order") else {
        return;
    };
    queue(&mut q, "1", "c", Some("a"));
    queue(&mut q, "2", "c", Some("a"));
    queue(&mut q, "3", "c", Some("b"));
    queue(&mut q, "4", "c", None);
    queue(&mut q, "5", "c", None);
    queue(&mut q, "6", "other", Some("a"));

    assert_eq!(claim(&mut q, "n").as_deref(), Some("1"));
    // 2 waits for 1 (same configuration); the others go.
    assert_eq!(claim(&mut q, "n").as_deref(), Some("3"));
    assert_eq!(claim(&mut q, "n").as_deref(), Some("4"));
    assert_eq!(claim(&mut q, "n").as_deref(), Some("5"));
    assert_eq!(claim(&mut q, "n").as_deref(), Some("6"));
    assert_eq!(claim(&mut q, "n"), None);

    let job = q.job("1").unwrap();
    assert_eq!(job.status, JobStatus::Processing);
    assert!(job.started.is_some());
    assert!(job.finished.is_none());
    q.update_job("1", JobStatus::Success, &json!({"id": "1", "done": true}))
        .unwrap();
    assert_eq!(claim(&mut q, "n").as_deref(), Some("2"));
    let done = q.job("1").unwrap();
    assert!(done.finished.is_some());
    assert!(done.finished >= done.started);
    assert_eq!(done.record["done"], true);
}

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

#[test]
fn a_terminating_job_still_blocks_its_configuration() {
    let Some((_db, mut q)) = fresh("a_terminating_job_still_blocks_its_configuration") else {
        return;
    };
    queue(&mut q, "1", "c", Some("a"));
    queue(&mut q, "2", "c", Some("a"));
    assert_eq!(claim(&mut q, "n").as_deref(), Some("1"));
    let before = q
        .transition_job("1", &[JobStatus::Processing], JobStatus::Terminating)
        .unwrap();
    assert_eq!(before, Ok(JobStatus::Processing));
    assert_eq!(claim(&mut q, "n"), None);
    // Saving progress as `processing` does not undo the kill.
    q.update_job("1", JobStatus::Processing, &json!({"progress": 1}))
        .unwrap();
    assert_eq!(q.job("1").unwrap().status, JobStatus::Terminating);
    assert_eq!(claim(&mut q, "n"), None);
    q.transition_job("1", &[JobStatus::Terminating], JobStatus::Terminated)
        .unwrap()
        .unwrap();
    assert_eq!(claim(&mut q, "n").as_deref(), Some("2"));
}

#[test]
fn transitions_are_compare_and_set_and_unknown_jobs_are_named() {
    let Some((_db, mut q)) = fresh("transitions_are_compare_and_set") else {
        return;
    };
    queue(&mut q, "1", "c", Some("a"));
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
    assert_eq!(claim(&mut q, "n"), None);
    assert!(q.job("1").unwrap().finished.is_some());

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
    // The log of an unknown job is empty (as in the embedded queue).
    assert!(q.job_events("nope", 0, 10).unwrap().is_empty());
}

#[test]
fn listings_are_newest_first_and_filtered() {
    let Some((_db, mut q)) = fresh("listings_are_newest_first_and_filtered") else {
        return;
    };
    for (id, component, config) in [
        ("1", "x", "a"),
        ("2", "y", "a"),
        ("3", "x", "b"),
        ("4", "x", "a"),
    ] {
        queue(&mut q, id, component, Some(config));
    }
    claim(&mut q, "n");
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

#[test]
fn events_come_back_in_order_after_since() {
    let Some((_db, mut q)) = fresh("events_come_back_in_order_after_since") else {
        return;
    };
    queue(&mut q, "1", "c", None);
    q.add_job_events("1", &[("info", "first"), ("error", "second")])
        .unwrap();
    q.add_job_events("1", &[("warn", "third")]).unwrap();
    q.add_job_events("1", &[]).unwrap();
    // A component may print NUL bytes; PostgreSQL text cannot hold them.
    q.add_job_events("1", &[("error", "nul\0here")]).unwrap();
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
            (4, "error", "nul\u{fffd}here"),
        ]
    );
    let later = q.job_events("1", 2, 100).unwrap();
    assert_eq!(later.len(), 2);
    assert_eq!(later[0].message, "third");
    assert_eq!(q.job_events("1", 0, 1).unwrap().len(), 1);
    assert!(q.job_events("1", u64::MAX, 10).unwrap().is_empty());
    assert!(q.job_events("other", 0, 100).unwrap().is_empty());
}

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
                let mut q = berth_postgres::PgQueue::connect(&url).unwrap();
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

#[test]
fn documents_come_back_exactly_as_written() {
    let Some((_db, mut q)) = fresh("documents_come_back_exactly_as_written") else {
        return;
    };
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
    assert_eq!(claim(&mut q, "n"), None);
    q.transition_job("1", &[JobStatus::Created], JobStatus::Waiting)
        .unwrap()
        .unwrap();
    assert_eq!(claim(&mut q, "n").as_deref(), Some("1"));
}

#[test]
fn bad_ids_are_refused_and_change_nothing() {
    let Some((_db, mut q)) = fresh("bad_ids_are_refused_and_change_nothing") else {
        return;
    };
    queue(&mut q, "1", "c", Some("a"));
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
    assert!(matches!(err, PgError::Database { .. }), "{err}");
    assert!(!err.is_user_error());
    let text = err.to_string();
    assert!(
        text.contains("recording a job (1)") && text.contains("duplicate key"),
        "{text}"
    );
    let first = q.job("1").unwrap();
    assert_eq!(first.component_id, "c");
    assert_eq!(first.record, json!({"id": "1"}));
    // A NUL in an id cannot be stored in PostgreSQL text: a clear error, nothing recorded.
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
    assert!(err.to_string().contains("recording a job (2)"), "{err}");
    assert!(matches!(
        q.job("2").unwrap_err(),
        PgError::Storage(StorageError::JobNotFound { .. })
    ));
    // Ids that look like SQL are just ids.
    let hostile = "x'); DROP TABLE berth_jobs; --";
    queue(&mut q, hostile, hostile, Some(hostile));
    assert_eq!(q.job(hostile).unwrap().config_id.as_deref(), Some(hostile));
    assert_eq!(q.jobs(&JobFilter::default()).unwrap().len(), 2);
}

/// The worker recording progress and a kill write the same row from two connections at once;
/// PostgreSQL's row locks order them, and every write succeeds.
#[test]
fn concurrent_writes_to_one_job_from_two_connections_all_succeed() {
    let Some((db, mut q)) = fresh("concurrent_writes_to_one_job") else {
        return;
    };
    queue(&mut q, "1", "c", Some("a"));
    assert_eq!(claim(&mut q, "n").as_deref(), Some("1"));
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let url = db.url().to_owned();
            std::thread::spawn(move || {
                let mut q = berth_postgres::PgQueue::connect(&url).unwrap();
                for n in 0..200 {
                    if writer == 0 {
                        q.update_job("1", JobStatus::Processing, &json!({"n": n}))
                            .unwrap();
                    } else {
                        q.transition_job("1", &[JobStatus::Processing], JobStatus::Processing)
                            .unwrap()
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(q.job("1").unwrap().status, JobStatus::Processing);
    assert_eq!(q.job("1").unwrap().record, json!({"n": 199}));
}

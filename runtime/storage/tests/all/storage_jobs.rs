//! Jobs, job events and tokens in Storage: the queue's one-at-a-time rule per configuration, the
//! compare-and-set used by kills, listings and filters, events after `since`, and tokens that are
//! stored as hashes, refused once revoked or expired, and limited to components.

use berth_storage::{JobFilter, JobStatus, NewJob, NewToken, Storage, StorageError, TokenCheck};
use serde_json::json;
use tempfile::TempDir;

fn storage() -> (TempDir, Storage) {
    let dir = TempDir::new().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    (dir, storage)
}

fn queue(storage: &mut Storage, id: &str, component: &str, config: Option<&str>) {
    storage
        .insert_job(&NewJob {
            id: id.into(),
            component_id: component.into(),
            config_id: config.map(str::to_owned),
            status: JobStatus::Waiting,
            token_id: Some("1".into()),
            request: json!({"component": component, "config": config}),
            record: json!({"id": id}),
        })
        .unwrap();
}

fn claim(storage: &mut Storage) -> Option<String> {
    storage.claim_next_job().unwrap().map(|j| j.id)
}

#[test]
fn jobs_of_one_configuration_run_one_at_a_time_in_order() {
    let (_dir, mut storage) = storage();
    queue(&mut storage, "1", "c", Some("a"));
    queue(&mut storage, "2", "c", Some("a"));
    queue(&mut storage, "3", "c", Some("b"));
    queue(&mut storage, "4", "c", None);
    queue(&mut storage, "5", "c", None);
    queue(&mut storage, "6", "other", Some("a"));

    assert_eq!(claim(&mut storage).as_deref(), Some("1"));
    // 2 waits for 1 (same configuration); the others go.
    assert_eq!(claim(&mut storage).as_deref(), Some("3"));
    assert_eq!(claim(&mut storage).as_deref(), Some("4"));
    assert_eq!(claim(&mut storage).as_deref(), Some("5"));
    assert_eq!(claim(&mut storage).as_deref(), Some("6"));
    assert_eq!(claim(&mut storage), None);

    let job = storage.job("1").unwrap();
    assert_eq!(job.status, JobStatus::Processing);
    assert!(job.started.is_some());
    storage
        .update_job("1", JobStatus::Success, &json!({"id": "1", "done": true}))
        .unwrap();
    assert_eq!(claim(&mut storage).as_deref(), Some("2"));
    let done = storage.job("1").unwrap();
    assert!(done.finished.is_some());
    assert_eq!(done.record["done"], true);
}

#[test]
fn a_terminating_job_still_blocks_its_configuration() {
    let (_dir, mut storage) = storage();
    queue(&mut storage, "1", "c", Some("a"));
    queue(&mut storage, "2", "c", Some("a"));
    assert_eq!(claim(&mut storage).as_deref(), Some("1"));
    let before = storage
        .transition_job("1", &[JobStatus::Processing], JobStatus::Terminating)
        .unwrap();
    assert_eq!(before, Ok(JobStatus::Processing));
    assert_eq!(claim(&mut storage), None);
    storage
        .transition_job("1", &[JobStatus::Terminating], JobStatus::Terminated)
        .unwrap()
        .unwrap();
    assert_eq!(claim(&mut storage).as_deref(), Some("2"));
}

#[test]
fn transitions_are_compare_and_set() {
    let (_dir, mut storage) = storage();
    queue(&mut storage, "1", "c", Some("a"));
    // A waiting job killed before it starts is cancelled.
    assert_eq!(
        storage
            .transition_job("1", &[JobStatus::Waiting], JobStatus::Cancelled)
            .unwrap(),
        Ok(JobStatus::Waiting)
    );
    // Then it is no longer waiting: a second kill changes nothing and says why.
    assert_eq!(
        storage
            .transition_job("1", &[JobStatus::Waiting], JobStatus::Cancelled)
            .unwrap(),
        Err(JobStatus::Cancelled)
    );
    assert_eq!(claim(&mut storage), None);
    assert!(storage.job("1").unwrap().finished.is_some());
    let err = storage
        .transition_job("nope", &[JobStatus::Waiting], JobStatus::Cancelled)
        .unwrap_err();
    assert!(matches!(err, StorageError::JobNotFound { .. }), "{err}");
    let err = storage
        .update_job("nope", JobStatus::Error, &json!({}))
        .unwrap_err();
    assert!(matches!(err, StorageError::JobNotFound { .. }), "{err}");
}

#[test]
fn listings_are_newest_first_and_filtered() {
    let (_dir, mut storage) = storage();
    for (id, component, config) in [
        ("1", "x", "a"),
        ("2", "y", "a"),
        ("3", "x", "b"),
        ("4", "x", "a"),
    ] {
        queue(&mut storage, id, component, Some(config));
    }
    claim(&mut storage);
    let ids = |filter: JobFilter| -> Vec<String> {
        storage
            .jobs(&filter)
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect()
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
            limit: Some(2),
            offset: 1,
            ..JobFilter::default()
        }),
        ["3", "2"]
    );
    let counts = storage.job_counts().unwrap();
    assert!(counts.contains(&(JobStatus::Waiting, 3)), "{counts:?}");
    assert!(counts.contains(&(JobStatus::Processing, 1)), "{counts:?}");
    let err = "finished".parse::<JobStatus>().unwrap_err();
    assert!(
        err.to_string()
            .contains("\"finished\" is not one of created, waiting"),
        "{err}"
    );
}

#[test]
fn events_come_back_in_order_after_since() {
    let (_dir, mut storage) = storage();
    queue(&mut storage, "1", "c", None);
    storage
        .add_job_events("1", &[("info", "first"), ("error", "second")])
        .unwrap();
    storage.add_job_events("1", &[("warn", "third")]).unwrap();
    storage.add_job_events("1", &[]).unwrap();
    let all = storage.job_events("1", 0, 100).unwrap();
    let seen: Vec<(u64, &str, &str)> = all
        .iter()
        .map(|e| (e.seq, e.level.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "info", "first"),
            (2, "error", "second"),
            (3, "warn", "third")
        ]
    );
    let later = storage.job_events("1", 2, 100).unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].message, "third");
    assert_eq!(storage.job_events("1", 0, 1).unwrap().len(), 1);
    assert!(storage.job_events("other", 0, 100).unwrap().is_empty());
}

#[test]
fn jobs_survive_reopening_the_storage() {
    let dir = TempDir::new().unwrap();
    {
        let mut storage = Storage::open(dir.path()).unwrap();
        queue(&mut storage, "1", "c", Some("a"));
        storage.add_job_events("1", &[("info", "kept")]).unwrap();
    }
    let mut storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.job("1").unwrap().status, JobStatus::Waiting);
    assert_eq!(storage.job_events("1", 0, 10).unwrap()[0].message, "kept");
    assert_eq!(claim(&mut storage).as_deref(), Some("1"));
}

#[test]
fn a_cloned_connection_sees_committed_jobs() {
    let (_dir, mut storage) = storage();
    let other = storage.try_clone().unwrap();
    queue(&mut storage, "1", "c", None);
    assert_eq!(other.job("1").unwrap().status, JobStatus::Waiting);
}

#[test]
fn tokens_are_hashed_checked_and_revoked() {
    let (dir, mut storage) = storage();
    let (admin, secret) = storage
        .create_token(&NewToken {
            description: "admin".into(),
            admin: true,
            ..NewToken::default()
        })
        .unwrap();
    assert!(secret.starts_with(&format!("{}-", admin.id)), "{secret}");
    assert_eq!(secret.len(), admin.id.len() + 1 + 40);
    assert_eq!(
        storage.check_token(&secret).unwrap(),
        TokenCheck::Valid(admin.clone())
    );
    assert_eq!(storage.check_token("1-nope").unwrap(), TokenCheck::Unknown);
    // Only a hash is stored: the secret appears nowhere in the database file.
    drop(storage);
    let bytes = std::fs::read(dir.path().join("storage.duckdb")).unwrap();
    let needle = secret.as_bytes();
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
    let mut storage = Storage::open(dir.path()).unwrap();

    let (limited, limited_secret) = storage
        .create_token(&NewToken {
            description: "limited".into(),
            read_only: true,
            component_access: Some(vec!["a.b".into()]),
            ..NewToken::default()
        })
        .unwrap();
    assert!(limited.can_use_component("a.b"));
    assert!(!limited.can_use_component("c.d"));
    assert!(admin.can_use_component("c.d"));
    storage.revoke_token(&limited.id).unwrap();
    assert!(matches!(
        storage.check_token(&limited_secret).unwrap(),
        TokenCheck::Revoked(_)
    ));
    let err = storage.revoke_token("999").unwrap_err();
    assert!(matches!(err, StorageError::TokenNotFound { .. }), "{err}");

    let (_, expired) = storage
        .create_token(&NewToken {
            description: "old".into(),
            expires: Some(time::OffsetDateTime::now_utc() - time::Duration::seconds(1)),
            ..NewToken::default()
        })
        .unwrap();
    assert!(matches!(
        storage.check_token(&expired).unwrap(),
        TokenCheck::Expired(_)
    ));

    let (_, job_secret) = storage
        .create_token(&NewToken {
            description: "job 7".into(),
            job_id: Some("7".into()),
            ..NewToken::default()
        })
        .unwrap();
    let listed: Vec<String> = storage
        .tokens()
        .unwrap()
        .into_iter()
        .map(|t| t.description)
        .collect();
    assert_eq!(
        listed,
        ["admin", "limited", "old"],
        "job tokens are not listed"
    );
    let scoped = storage.job_tokens("7").unwrap();
    assert_eq!(scoped.len(), 1);
    assert_eq!(scoped[0].description, "job 7");
    assert!(scoped[0].revoked.is_none());
    assert!(storage.job_tokens("8").unwrap().is_empty());
    storage.revoke_job_tokens("7").unwrap();
    assert!(matches!(
        storage.check_token(&job_secret).unwrap(),
        TokenCheck::Revoked(_)
    ));
    assert!(storage.job_tokens("7").unwrap()[0].revoked.is_some());
}

/// The worker recording a job's progress and a kill request write the same row from two
/// connections at once; DuckDB's optimistic concurrency fails one of them with a write-write
/// conflict, which Storage retries instead of reporting (a kill answered 500 now and then).
#[test]
fn concurrent_writes_to_one_job_from_two_connections_all_succeed() {
    let (dir, mut storage) = storage();
    queue(&mut storage, "1", "c", Some("a"));
    assert_eq!(claim(&mut storage).as_deref(), Some("1"));
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let mut storage = Storage::open(&dir).unwrap();
                for n in 0..300 {
                    let record = json!({"id": "1", "writer": writer, "n": n});
                    if writer == 0 {
                        storage
                            .update_job("1", JobStatus::Processing, &record)
                            .unwrap_or_else(|e| panic!("update {n}: {e:#}"));
                    } else {
                        storage
                            .transition_job("1", &[JobStatus::Processing], JobStatus::Processing)
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
    assert_eq!(storage.job("1").unwrap().status, JobStatus::Processing);
}

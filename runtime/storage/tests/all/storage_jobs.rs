//! Jobs and tokens in the embedded Storage, beyond the queue's shared behaviour: jobs and events
//! survive reopening the database file, statuses parse by name, and tokens are stored as hashes,
//! refused once revoked or expired, and limited to components.
//!
//! The queue's rules (one job at a time per configuration, the compare-and-set kills use,
//! listings, events, concurrent writers) are one suite run on every backend, this one included:
//! berth-postgres's `tests/all/queue_suite` (`queue_suite::duckdb::…`).

use berth_storage::{JobStatus, NewJob, NewToken, Storage, StorageError, TokenCheck};
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
fn an_unknown_status_is_named_with_the_known_ones() {
    let err = "finished".parse::<JobStatus>().unwrap_err();
    assert!(err.is_user_error());
    assert!(
        err.to_string()
            .contains("\"finished\" is not one of created, waiting"),
        "{err}"
    );
    for status in JobStatus::ALL {
        assert_eq!(status.as_str().parse::<JobStatus>().unwrap(), status);
    }
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

/// Token checks and component definitions are served from a read cache (see `db::ReadCache`):
/// a write through any handle of the same database — revoking, creating, updating, deleting —
/// is seen by the next read of every other handle, never a value read before it.
#[test]
fn cached_tokens_and_components_follow_every_write_at_once() {
    use berth_storage::ComponentDefinition;
    let (_dir, mut first) = storage();
    let mut second = first.try_clone().unwrap();
    let (token, secret) = first
        .create_token(&NewToken {
            description: "cached".into(),
            ..NewToken::default()
        })
        .unwrap();
    // Read (and cached) by the first handle, revoked through the second.
    assert!(matches!(
        first.check_token(&secret).unwrap(),
        TokenCheck::Valid(_)
    ));
    assert!(matches!(
        first.check_token(&secret).unwrap(),
        TokenCheck::Valid(_)
    ));
    second.revoke_token(&token.id).unwrap();
    assert!(matches!(
        first.check_token(&secret).unwrap(),
        TokenCheck::Revoked(_)
    ));
    // A job's tokens revoked at the job's end.
    let (job_token, job_secret) = first
        .create_token(&NewToken {
            description: "job".into(),
            job_id: Some("job-1".into()),
            ..NewToken::default()
        })
        .unwrap();
    assert!(matches!(
        first.check_token(&job_secret).unwrap(),
        TokenCheck::Valid(_)
    ));
    second.revoke_job_tokens("job-1").unwrap();
    assert!(
        matches!(first.check_token(&job_secret).unwrap(), TokenCheck::Revoked(ref t) if t.id == job_token.id)
    );
    // An unknown secret stays unknown, and one created afterwards is known at once.
    assert_eq!(first.check_token("77-nope").unwrap(), TokenCheck::Unknown);

    let definition = |image: &str| {
        ComponentDefinition::from_json(&json!({"id": "a.b", "image": image}).to_string()).unwrap()
    };
    second.add_component(&definition("one.wasm")).unwrap();
    assert_eq!(first.component("a.b").unwrap().image, "one.wasm");
    assert_eq!(first.component("a.b").unwrap().image, "one.wasm");
    second.update_component(&definition("two.wasm")).unwrap();
    assert_eq!(first.component("a.b").unwrap().image, "two.wasm");
    second.delete_component("a.b", false).unwrap();
    assert!(matches!(
        first.component("a.b").unwrap_err(),
        StorageError::ComponentNotFound { .. }
    ));
}

//! The master key's side of PostgreSQL Storage: `rewrite_documents` sees every stored document
//! (OAuth credentials included) and stores all of its changes or none, and the master key's lock
//! keeps a rotation and the connections using the key apart (a rotation waits for users, users
//! queue behind a waiting rotation, a connection going back to its pool or releasing it lets
//! go).

use std::sync::mpsc;
use std::time::Duration;

use berth_postgres::testing::TestDatabase;
use berth_postgres::{PgPool, PgStorage};
use berth_storage::{
    Catalog, ComponentDefinition, DocumentKind, NewConfig, NewConfigRow, RewriteError, State,
};
use serde_json::{Value, json};

use crate::fresh;

/// Long enough that a lock that never comes shows up as a failure, not a slow pass.
const WAIT: Duration = Duration::from_secs(30);

/// A component, a configuration with a row, a state and OAuth credentials, each holding "old".
fn documents(storage: &mut PgStorage) {
    let definition = ComponentDefinition::from_json(
        r##"{"id": "c", "image": "x.wasm", "image_parameters": {"#k": "old"}}"##,
    )
    .unwrap();
    storage.add_component(&definition).unwrap();
    let new = NewConfig {
        id: Some("1".into()),
        configuration: json!({"parameters": {"#k": "old"}}),
        rows: vec![NewConfigRow {
            id: Some("r".into()),
            configuration: json!({"parameters": {"#k": "old"}}),
            ..NewConfigRow::default()
        }],
        ..NewConfig::default()
    };
    storage.create_config("c", &new).unwrap();
    let state: State = serde_json::from_value(json!({"component": {"#s": "old"}})).unwrap();
    storage.set_state("c", "1", None, &state).unwrap();
    storage
        .add_oauth_credentials("c", "auth", &json!({"#appSecret": "old"}))
        .unwrap();
}

fn swap(value: &mut Value) -> bool {
    let text = value.to_string();
    if !text.contains("\"old\"") {
        return false;
    }
    *value = serde_json::from_str(&text.replace("\"old\"", "\"new\"")).unwrap();
    true
}

#[test]
fn every_document_is_rewritten_in_one_transaction() {
    let Some((_db, mut storage)) = fresh("every_document_is_rewritten_in_one_transaction") else {
        return;
    };
    documents(&mut storage);

    // A failing rewrite stores nothing, even what it changed before failing.
    let mut calls = 0;
    let err = storage
        .rewrite_documents(|_, value| {
            calls += 1;
            if calls == 4 {
                return Err("stop");
            }
            Ok(swap(value))
        })
        .unwrap_err();
    assert!(matches!(err, RewriteError::Rewrite("stop")));
    assert_eq!(
        storage.component("c").unwrap().image_parameters["#k"],
        "old"
    );

    let mut seen = Vec::new();
    let changed = storage
        .rewrite_documents(|doc, value| {
            seen.push((doc.kind, doc.config_id.map(str::to_owned)));
            Ok::<_, ()>(swap(value))
        })
        .unwrap();
    assert_eq!(changed, 5, "{seen:?}");
    assert_eq!(
        seen,
        [
            (DocumentKind::Component, None),
            (DocumentKind::Configuration, Some("1".into())),
            (DocumentKind::ConfigurationState, Some("1".into())),
            (DocumentKind::Row, Some("1".into())),
            (DocumentKind::RowState, Some("1".into())),
            (DocumentKind::OauthCredentials, Some("auth".into())),
        ]
    );
    assert_eq!(
        storage.component("c").unwrap().image_parameters["#k"],
        "new"
    );
    let config = storage.config("c", "1").unwrap();
    assert_eq!(config.configuration["parameters"]["#k"], "new");
    assert_eq!(config.rows[0].configuration["parameters"]["#k"], "new");
    assert_eq!(config.state.component["#s"], "new");
    let version = config.version;
    assert_eq!(
        storage.oauth_credentials("c", "auth").unwrap().unwrap()["#appSecret"],
        "new"
    );
    // The documents mean what they meant: no new configuration version.
    assert_eq!(storage.config("c", "1").unwrap().version, version);
}

/// How many requests for the master key's lock wait (not granted) now.
fn waiting(db: &TestDatabase) -> i64 {
    db.client()
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND classid = x'62727434'::int::oid AND NOT granted",
            &[],
        )
        .unwrap()
        .get(0)
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Takes the lock on another thread (exclusively for a rotation, else shared) and reports when
/// it has it; the connection is dropped (letting go) when `release` says so.
fn take_on_thread(
    url: String,
    rotation: bool,
) -> (
    mpsc::Receiver<()>,
    mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (got_tx, got_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        let storage = PgStorage::connect(&url).unwrap();
        if rotation {
            storage.hold_keys_for_rotation().unwrap();
        } else {
            storage.hold_keys().unwrap();
        }
        got_tx.send(()).unwrap();
        let _ = release_rx.recv();
        drop(storage);
    });
    (got_rx, release_tx, handle)
}

#[test]
fn a_rotation_waits_for_the_keys_users_and_new_users_wait_for_it() {
    let Some(db) =
        TestDatabase::create("a_rotation_waits_for_the_keys_users_and_new_users_wait_for_it")
    else {
        return;
    };
    let url = db.url().to_owned();
    let pool = PgPool::connect(&url).unwrap();

    // A node uses the key (a pooled connection, as `berth serve` has).
    let user = pool.get().unwrap();
    user.hold_keys().unwrap();
    user.hold_keys().unwrap(); // held once, however often asked
    // A second user is not kept out by the first.
    let (second_got, second_release, second) = take_on_thread(url.clone(), false);
    second_got.recv_timeout(WAIT).expect("users share the lock");
    second_release.send(()).unwrap();
    second.join().unwrap();

    // A rotation waits for the user...
    let (rotation_got, rotation_release, rotation) = take_on_thread(url.clone(), true);
    wait_for("the rotation waits", || waiting(&db) == 1);
    // ...and a user arriving now waits behind the rotation (no stream of users starves it).
    let (late_got, late_release, late) = take_on_thread(url.clone(), false);
    wait_for("the late user waits", || waiting(&db) == 2);
    assert!(rotation_got.try_recv().is_err());

    // The first user's connection goes back to its pool: that lets go, and the rotation runs.
    drop(user);
    assert_eq!(pool.idle(), 1, "the connection went back to the pool");
    rotation_got
        .recv_timeout(WAIT)
        .expect("the rotation gets the lock");
    assert_eq!(waiting(&db), 1, "the late user still waits");
    assert!(late_got.try_recv().is_err());
    rotation_release.send(()).unwrap();
    rotation.join().unwrap();
    late_got
        .recv_timeout(WAIT)
        .expect("the late user gets the lock");
    late_release.send(()).unwrap();
    late.join().unwrap();

    // The pooled connection holds nothing any more: a rotation on it takes the lock at once.
    let reused = pool.get().unwrap();
    reused.hold_keys_for_rotation().unwrap();
    assert_eq!(waiting(&db), 0);
    reused.release_keys().unwrap();

    // A user that is done with the key lets go before its connection is dropped (a job going on
    // to a long input mapping): a waiting rotation goes ahead.
    reused.hold_keys().unwrap();
    let (rotation_got, rotation_release, rotation) = take_on_thread(url.clone(), true);
    wait_for("the rotation waits", || waiting(&db) == 1);
    reused.release_keys().unwrap();
    reused.release_keys().unwrap(); // released once, however often asked
    rotation_got
        .recv_timeout(WAIT)
        .expect("the rotation gets the lock");
    rotation_release.send(()).unwrap();
    rotation.join().unwrap();
}

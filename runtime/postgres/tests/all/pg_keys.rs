//! The master key's side of PostgreSQL Storage: `rewrite_documents` includes OAuth credentials
//! (the rest is `catalog_suite`'s, on both backends), and the master key's lock
//! keeps a rotation and the connections using the key apart (a rotation waits for users, users
//! queue behind a waiting rotation, a connection going back to its pool or releasing it lets
//! go).

use std::sync::mpsc;
use std::time::Duration;

use berth_postgres::testing::TestDatabase;
use berth_postgres::{PgPool, PgStorage};
use berth_storage::{Catalog, ComponentDefinition, DocumentKind, RewriteError};
use serde_json::{Value, json};

use crate::fresh;

/// Long enough that a lock that never comes shows up as a failure, not a slow pass.
const WAIT: Duration = Duration::from_secs(30);

#[test]
fn oauth_credentials_are_rewritten_with_every_other_document() {
    let Some((_db, mut storage)) =
        fresh("oauth_credentials_are_rewritten_with_every_other_document")
    else {
        return;
    };
    let definition = ComponentDefinition::from_json(
        r##"{"id": "c", "image": "x.wasm", "image_parameters": {"#k": "old"}}"##,
    )
    .unwrap();
    storage.add_component(&definition).unwrap();
    storage
        .add_oauth_credentials("c", "auth", &json!({"#appSecret": "old"}))
        .unwrap();
    let swap = |value: &mut Value| {
        let before = value.to_string();
        let after = before.replace("\"old\"", "\"new\"");
        if after == before {
            return false;
        }
        *value = serde_json::from_str(&after).unwrap();
        true
    };

    // Giving up on the credentials (the last document) keeps the component as it was too.
    let err = storage
        .rewrite_documents(&mut |doc, value| {
            if doc.kind == DocumentKind::OauthCredentials {
                return Err("stop".into());
            }
            Ok(swap(value))
        })
        .unwrap_err();
    assert!(matches!(err, RewriteError::Rewrite(_)), "{err}");
    assert_eq!(
        storage.component("c").unwrap().image_parameters["#k"],
        "old"
    );

    let mut seen = Vec::new();
    let changed = storage
        .rewrite_documents(&mut |doc, value| {
            seen.push((
                doc.kind,
                doc.component_id.to_owned(),
                doc.config_id.map(str::to_owned),
            ));
            Ok(swap(value))
        })
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(
        seen,
        [
            (DocumentKind::Component, "c".to_owned(), None),
            (
                DocumentKind::OauthCredentials,
                "c".to_owned(),
                Some("auth".to_owned())
            ),
        ]
    );
    assert_eq!(
        storage.oauth_credentials("c", "auth").unwrap().unwrap()["#appSecret"],
        "new"
    );
    assert_eq!(
        storage.component("c").unwrap().image_parameters["#k"],
        "new"
    );
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

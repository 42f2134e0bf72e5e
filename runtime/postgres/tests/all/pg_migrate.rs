//! Connecting and migrating: malformed and unreachable URLs, re-running the migrations (a
//! no-op), a database migrated by a newer berth (refused, untouched), and several nodes
//! migrating a new database at the same moment (each migration applied once).

use std::sync::{Arc, Barrier};

use berth_postgres::testing::{TestDatabase, with_database};
use berth_postgres::{JobStatus, PgError, PgStorage, SCHEMA_VERSION};

use crate::{claim, queue};

#[test]
fn malformed_and_unreachable_urls_are_refused_clearly() {
    for bad in [
        "",
        "localhost:5432",
        "host=127.0.0.1 user=berth",
        "http://berth@127.0.0.1/db",
        "postgres://berth@127.0.0.1:99999/db",
        "postgres://berth@127.0.0.1:port/db",
        "postgres:///db",
    ] {
        let err = PgStorage::connect(bad).unwrap_err();
        assert!(matches!(err, PgError::InvalidUrl { .. }), "{bad:?}: {err}");
        assert!(err.is_user_error(), "{bad:?}");
        assert!(
            err.to_string().starts_with("invalid PostgreSQL URL"),
            "{err}"
        );
    }
    // Nothing listens on port 1: a connection error naming the URL, its password hidden.
    let err =
        PgStorage::connect("postgres://berth:s3cret@127.0.0.1:1/db?connect_timeout=2").unwrap_err();
    assert!(matches!(err, PgError::Connect { .. }), "{err}");
    assert!(!err.is_user_error());
    let text = err.to_string();
    assert!(
        text.starts_with(
            "cannot connect to PostgreSQL at postgres://berth:***@127.0.0.1:1/db?connect_timeout=2"
        ),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn a_missing_database_is_a_connection_error() {
    let Some(db) = TestDatabase::create("a_missing_database_is_a_connection_error") else {
        return;
    };
    let url = with_database(db.url(), "berth_no_such_database");
    let err = PgStorage::connect(&url).unwrap_err();
    assert!(matches!(err, PgError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("berth_no_such_database"), "{err}");
}

#[test]
fn rerunning_the_migrations_is_a_no_op() {
    let Some(db) = TestDatabase::create("rerunning_the_migrations_is_a_no_op") else {
        return;
    };
    let (mut first, applied) = PgStorage::connect_migrating(db.url()).unwrap();
    assert_eq!(applied, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    queue(&mut first, "1", "c", Some("a"));
    drop(first);
    let (mut again, applied) = PgStorage::connect_migrating(db.url()).unwrap();
    assert!(applied.is_empty(), "{applied:?}");
    assert_eq!(again.job("1").unwrap().status, JobStatus::Waiting);
    assert_eq!(claim(&mut again, "n").as_deref(), Some("1"));
    let rows = db
        .client()
        .query("SELECT version FROM berth_schema ORDER BY version", &[])
        .unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
}

#[test]
fn a_database_migrated_by_a_newer_berth_is_refused_untouched() {
    let Some(db) = TestDatabase::create("a_database_migrated_by_a_newer_berth") else {
        return;
    };
    let mut q = PgStorage::connect(db.url()).unwrap();
    queue(&mut q, "1", "c", None);
    drop(q);
    let future = SCHEMA_VERSION + 1;
    db.client()
        .execute(
            "INSERT INTO berth_schema (version, name) VALUES ($1, 'from the future')",
            &[&future],
        )
        .unwrap();
    let err = PgStorage::connect(db.url()).unwrap_err();
    match &err {
        PgError::SchemaTooNew { found, known, .. } => {
            assert_eq!((*found, *known), (future, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other}"),
    }
    assert!(!err.is_user_error());
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "has schema version {future}, newer than the {SCHEMA_VERSION} this berth knows"
        )) && text.contains("upgrade berth on this node"),
        "{text}"
    );
    // Untouched: the future version and the job are still there.
    let mut client = db.client();
    let max: i32 = client
        .query_one("SELECT max(version) FROM berth_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(max, future);
    let jobs: i64 = client
        .query_one("SELECT count(*) FROM berth_jobs", &[])
        .unwrap()
        .get(0);
    assert_eq!(jobs, 1);
}

/// Several nodes starting at once against a new database: the migration lock lets one apply
/// the schema; the others wait and find nothing to do (none fails on "already exists").
#[test]
fn nodes_starting_together_migrate_once() {
    let Some(db) = TestDatabase::create("nodes_starting_together_migrate_once") else {
        return;
    };
    let nodes = 4;
    let barrier = Arc::new(Barrier::new(nodes));
    let starts: Vec<_> = (0..nodes)
        .map(|_| {
            let url = db.url().to_owned();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                PgStorage::connect_migrating(&url).map(|(_, applied)| applied)
            })
        })
        .collect();
    let mut applied: Vec<Vec<i32>> = starts
        .into_iter()
        .map(|s| s.join().unwrap().unwrap_or_else(|e| panic!("{e}")))
        .collect();
    applied.sort();
    let mut expected = vec![Vec::new(); nodes - 1];
    expected.push((1..=SCHEMA_VERSION).collect());
    assert_eq!(applied, expected);
}

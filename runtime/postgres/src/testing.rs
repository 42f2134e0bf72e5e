//! Shared test support (the `testing` feature): a fresh database per test on the test cluster
//! (`.ci/start-postgres.sh`), dropped when the test ends, so tests run in parallel. When the
//! cluster is unreachable a test is skipped with a message, or fails loudly when
//! `BERTH_REQUIRE_POSTGRES=1`. Used by this crate's tests and the benches.

use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::{Client, NoTls, Transaction};

/// The cluster `.ci/start-postgres.sh` starts, unless `BERTH_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_URL: &str = "postgres://berth@127.0.0.1:5439/postgres";

/// A database of its own for one test, dropped (with its connections) when this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

/// The test cluster's URL (`BERTH_TEST_POSTGRES_URL`, else [`DEFAULT_URL`]).
pub fn cluster_url() -> String {
    std::env::var("BERTH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// True when `BERTH_REQUIRE_POSTGRES=1`: a missing cluster fails tests instead of skipping them.
pub fn required() -> bool {
    std::env::var("BERTH_REQUIRE_POSTGRES").as_deref() == Ok("1")
}

impl TestDatabase {
    /// Creates a fresh database for `test`; `None` (after printing a skip line) when the
    /// cluster is unreachable, a panic instead when [`required`].
    pub fn create(test: &str) -> Option<Self> {
        let admin_url = cluster_url();
        let mut admin = match Client::connect(&admin_url, NoTls) {
            Ok(client) => client,
            Err(e) => {
                let mut cause = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(inner) = source {
                    cause = format!("{cause}: {inner}");
                    source = inner.source();
                }
                let message = format!(
                    "{test}: no PostgreSQL at {admin_url} (BERTH_TEST_POSTGRES_URL): {cause}; start one with .ci/start-postgres.sh"
                );
                if required() {
                    panic!("{message} (BERTH_REQUIRE_POSTGRES=1)");
                }
                eprintln!("SKIPPED {message}");
                return None;
            }
        };
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "berth_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("{test}: creating database {name}: {e}"));
        let url = with_database(&admin_url, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// The URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A plain client on this test's database (for what the queue API does not expose).
    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connecting to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = Client::connect(&self.admin_url, NoTls).and_then(|mut admin| {
            admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
        });
        if let Err(e) = dropped {
            eprintln!("dropping test database {}: {e}", self.name);
        }
    }
}

/// `url` with its database (the path) replaced by `name`, options kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    format!("{scheme}://{authority}/{name}{query}")
}

/// Takes, in `tx`, the advisory lock a node holds while it claims a job of `component`'s
/// configuration `config` (until `tx` ends): a test's stand-in for another node caught mid-claim.
pub fn hold_config_lock(tx: &mut Transaction<'_>, component: &str, config: &str) {
    tx.execute(
        &format!(
            "SELECT pg_advisory_xact_lock($3, {})",
            crate::claim::CONFIG_KEY
        ),
        &[&component, &config, &crate::locks::CONFIG_LOCK_CLASS],
    )
    .expect("taking a configuration's claim lock");
}

//! Versioned schema migrations, applied when a node connects.
//!
//! Each migration is a SQL file compiled into the binary with its version; `berth_schema` records
//! the versions applied. [`migrate`] runs in one transaction under a transaction-level advisory
//! lock, so several nodes starting at once against a new database apply each migration exactly
//! once (the others wait, then find nothing to do), and a failed migration leaves the database as
//! it was (PostgreSQL's DDL is transactional). A database whose newest version is above what this
//! binary knows was migrated by a newer berth: it is refused, untouched.
//!
//! Hand-written rather than `refinery`: refinery takes no lock across processes (two nodes
//! starting together race on the same migration), and this is a few dozen lines with no
//! dependencies beyond the driver.

use postgres::Client;

use crate::PgError;
use crate::locks::MIGRATION_LOCK;

/// One migration: its version (1, 2, 3, … with no gaps), its name, its SQL.
pub(crate) struct Migration {
    pub(crate) version: i32,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// Every migration this binary knows, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "jobs",
        sql: include_str!("migrations/0001_jobs.sql"),
    },
    Migration {
        version: 2,
        name: "tables",
        sql: include_str!("migrations/0002_tables.sql"),
    },
    Migration {
        version: 3,
        name: "files",
        sql: include_str!("migrations/0003_files.sql"),
    },
    Migration {
        version: 4,
        name: "tokens",
        sql: include_str!("migrations/0004_tokens.sql"),
    },
    Migration {
        version: 5,
        name: "catalog",
        sql: include_str!("migrations/0005_catalog.sql"),
    },
    Migration {
        version: 6,
        name: "table metadata",
        sql: include_str!("migrations/0006_table_metadata.sql"),
    },
    Migration {
        version: 7,
        name: "oauth credentials",
        sql: include_str!("migrations/0007_oauth.sql"),
    },
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Brings the database to [`SCHEMA_VERSION`]; returns the versions it applied (none when the
/// database was already there).
pub(crate) fn migrate(client: &mut Client, url: &str) -> Result<Vec<i32>, PgError> {
    let mut tx = client
        .transaction()
        .map_err(PgError::db("starting the migration", url))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&MIGRATION_LOCK.0, &MIGRATION_LOCK.1],
    )
    .map_err(PgError::db("locking the schema for migration", url))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS berth_schema ( \
             version integer PRIMARY KEY, \
             name text NOT NULL, \
             applied timestamptz NOT NULL DEFAULT clock_timestamp())",
    )
    .map_err(PgError::db("creating the schema version table", url))?;
    let current: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM berth_schema", &[])
        .map_err(PgError::db("reading the schema version", url))?
        .get(0);
    if current > SCHEMA_VERSION {
        return Err(PgError::SchemaTooNew {
            url: url.to_owned(),
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(migration.sql)
            .map_err(PgError::db("applying a migration", migration.name))?;
        tx.execute(
            "INSERT INTO berth_schema (version, name) VALUES ($1, $2)",
            &[&migration.version, &migration.name],
        )
        .map_err(PgError::db("recording a migration", migration.name))?;
        applied.push(migration.version);
    }
    tx.commit()
        .map_err(PgError::db("committing the migration", url))?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_without_gaps() {
        for (n, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                usize::try_from(migration.version).unwrap(),
                n + 1,
                "{}",
                migration.name
            );
            assert!(!migration.sql.trim().is_empty(), "{}", migration.name);
        }
    }
}

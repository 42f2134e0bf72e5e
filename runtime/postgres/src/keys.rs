//! The master key's side of Storage on PostgreSQL: the lock that keeps a key rotation apart from
//! the nodes' use of the key, and rewriting every stored document in one transaction (what a
//! rotation re-encrypts): component definitions, configurations, rows, their states and OAuth
//! credentials. Storage knows nothing of ciphers; the caller's function does the re-encrypting.
//!
//! On one machine the embedded Storage's file lock keeps a rotation and every other berth process
//! apart. Nodes sharing a database have no such lock, so they take one in the database: a
//! session-level advisory lock ([`crate::locks::KEYS_LOCK`]) that a connection holds shared from
//! the moment it reads the key to encrypt a document it stores (or to decrypt what it read) until
//! it goes back to its pool, and that a rotation holds exclusively from before it writes the new
//! key until it has promoted it. PostgreSQL queues a shared request behind a waiting exclusive
//! one, so a steady stream of writers cannot starve a rotation; a rotation that dies loses its
//! session and with it the lock.

use std::cell::Cell;

use berth_storage::{DocumentKind, DocumentRewrite, RewriteError, StorageError, StoredDocument};
use postgres::GenericClient;
use serde_json::Value;

use crate::locks::KEYS_LOCK;
use crate::{PgError, PgStorage};

/// Whether a connection holds the master key's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum KeysHeld {
    /// Not held.
    #[default]
    No,
    /// Held shared: using the key.
    Shared,
    /// Held exclusively: rotating it.
    Exclusive,
}

impl PgStorage {
    /// Waits for a master-key rotation in progress to finish, then keeps rotations out until
    /// this connection goes back to its pool (or is closed). Holding it twice is holding it once.
    pub fn hold_keys(&self) -> Result<(), PgError> {
        self.take_keys_lock(KeysHeld::Shared)
    }

    /// Waits until no connection uses the master key (each finishes what it holds the lock
    /// for), then keeps every other connection from using it until this one is dropped: what a
    /// rotation holds from before it writes the new key until it has promoted it.
    pub fn hold_keys_for_rotation(&self) -> Result<(), PgError> {
        self.take_keys_lock(KeysHeld::Exclusive)
    }

    /// Lets go of the master key's lock now rather than when the connection goes back to its
    /// pool (a no-op when it is not held).
    pub fn release_keys(&self) -> Result<(), PgError> {
        release(&mut *self.client(), &self.keys).map_err(PgError::db(
            "releasing the master key's lock",
            "the master key",
        ))
    }

    fn take_keys_lock(&self, mode: KeysHeld) -> Result<(), PgError> {
        let held = &self.keys;
        if held.get() == mode || held.get() == KeysHeld::Exclusive {
            return Ok(());
        }
        let sql = match mode {
            KeysHeld::Exclusive => "SELECT pg_advisory_lock($1, $2)",
            _ => "SELECT pg_advisory_lock_shared($1, $2)",
        };
        self.client()
            .execute(sql, &[&KEYS_LOCK.0, &KEYS_LOCK.1])
            .map_err(PgError::db(
                "waiting for a master-key rotation to finish",
                "the master key",
            ))?;
        held.set(mode);
        Ok(())
    }

    /// [`berth_storage::Catalog::rewrite_documents`]: component definitions, configurations,
    /// rows, their states and OAuth credentials, in one transaction whose rows stay locked until
    /// it ends (a concurrent change of one of them waits rather than being overwritten).
    pub(crate) fn rewrite_all_documents(
        &mut self,
        rewrite: &mut DocumentRewrite<'_>,
    ) -> Result<usize, RewriteError> {
        let storage = |e: PgError| RewriteError::Storage(StorageError::from(e));
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", "stored documents"))
            .map_err(storage)?;
        let mut changed = 0;
        for source in SOURCES {
            let rows = tx
                .query(&source.select(), &[])
                .map_err(PgError::db(source.reading, "all of them"))
                .map_err(storage)?;
            for row in rows {
                let keys: Vec<String> = (0..source.keys.len()).map(|i| row.get(i)).collect();
                let subject = keys.join("/");
                for (offset, (kind, column)) in source.documents.iter().enumerate() {
                    let mut value: Value = row.get(source.keys.len() + offset);
                    let doc = Source::describe(*kind, &keys);
                    if !rewrite(&doc, &mut value).map_err(RewriteError::Rewrite)? {
                        continue;
                    }
                    let key_refs: Vec<&(dyn postgres::types::ToSql + Sync)> = keys
                        .iter()
                        .map(|k| k as &(dyn postgres::types::ToSql + Sync))
                        .chain(std::iter::once(&value as _))
                        .collect();
                    tx.execute(&source.update(column), &key_refs)
                        .map_err(PgError::db(source.storing, &subject))
                        .map_err(storage)?;
                    changed += 1;
                }
            }
        }
        tx.commit()
            .map_err(PgError::db("committing the rewrite", "stored documents"))
            .map_err(storage)?;
        Ok(changed)
    }
}

/// Releases the master key's lock `held` by `client` (a no-op when it is not held): before the
/// connection goes back to a pool, or when the caller is done with the key.
pub(crate) fn release(
    client: &mut impl GenericClient,
    held: &Cell<KeysHeld>,
) -> Result<(), postgres::Error> {
    let mode = held.replace(KeysHeld::No);
    if mode == KeysHeld::No {
        return Ok(());
    }
    client
        .execute(unlock_sql(mode), &[&KEYS_LOCK.0, &KEYS_LOCK.1])
        .map(drop)
}

/// The statement that releases the lock held in `mode` (held, not `No`).
fn unlock_sql(mode: KeysHeld) -> &'static str {
    match mode {
        KeysHeld::Exclusive => "SELECT pg_advisory_unlock($1, $2)",
        _ => "SELECT pg_advisory_unlock_shared($1, $2)",
    }
}

/// One table of stored documents: its key columns and its document columns.
struct Source {
    table: &'static str,
    keys: &'static [&'static str],
    documents: &'static [(DocumentKind, &'static str)],
    order: &'static str,
    reading: &'static str,
    storing: &'static str,
}

const SOURCES: [Source; 4] = [
    Source {
        table: "berth_components",
        keys: &["id"],
        documents: &[(DocumentKind::Component, "definition")],
        order: "id",
        reading: "reading components",
        storing: "storing the component",
    },
    Source {
        table: "berth_configs",
        keys: &["component_id", "id"],
        documents: &[
            (DocumentKind::Configuration, "configuration"),
            (DocumentKind::ConfigurationState, "state"),
        ],
        order: "component_id, id",
        reading: "reading configurations",
        storing: "storing the configuration",
    },
    Source {
        table: "berth_config_rows",
        keys: &["component_id", "config_id", "id"],
        documents: &[
            (DocumentKind::Row, "configuration"),
            (DocumentKind::RowState, "state"),
        ],
        order: "component_id, config_id, position",
        reading: "reading configuration rows",
        storing: "storing a configuration row",
    },
    Source {
        table: "berth_oauth_credentials",
        keys: &["component_id", "id"],
        documents: &[(DocumentKind::OauthCredentials, "credentials")],
        order: "component_id, id",
        reading: "reading OAuth credentials",
        storing: "storing OAuth credentials",
    },
];

impl Source {
    fn select(&self) -> String {
        let documents: Vec<&str> = self.documents.iter().map(|(_, c)| *c).collect();
        format!(
            "SELECT {}, {} FROM {} ORDER BY {} FOR UPDATE",
            self.keys.join(", "),
            documents.join(", "),
            self.table,
            self.order
        )
    }

    fn update(&self, column: &str) -> String {
        let matches: Vec<String> = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, key)| format!("{key} = ${}", i + 1))
            .collect();
        format!(
            "UPDATE {} SET {column} = ${} WHERE {}",
            self.table,
            self.keys.len() + 1,
            matches.join(" AND ")
        )
    }

    /// What the document at `keys` is, for the rewrite function: the key columns are the
    /// component, then the configuration (or the credentials' id), then the row, as far as the
    /// table has them.
    fn describe<'a>(kind: DocumentKind, keys: &'a [String]) -> StoredDocument<'a> {
        let key = |i: usize| keys.get(i).map(String::as_str);
        StoredDocument {
            kind,
            component_id: &keys[0],
            config_id: key(1),
            row_id: key(2),
        }
    }
}

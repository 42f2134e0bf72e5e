//! The DuckDB database behind Storage: opening it (waiting briefly while another process holds
//! it), the catalog schema, and the time representation shared by every catalog table.
//!
//! Table data lives in schema `data`, one DuckDB table per Storage table, named by the full table
//! id; every column is `VARCHAR` plus the hidden `_timestamp` (microseconds since the Unix epoch,
//! UTC) that records when the row was last written. The catalog tables in `main` hold table
//! columns and primary keys, table and column metadata, files, components, configurations and rows, jobs
//! and their events, and API tokens (hashes only).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::sleep;
use std::time::{Duration, Instant};

use duckdb::Connection;
use sha2::Digest;
use time::OffsetDateTime;

use super::StorageError;

/// The database file inside the Storage directory.
pub(crate) const DB_FILE: &str = "storage.duckdb";

/// How long `open` waits for another process to release the database.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(10);

const SCHEMA: &str = r#"
CREATE SCHEMA IF NOT EXISTS data;
CREATE TABLE IF NOT EXISTS berth_tables (
    id VARCHAR PRIMARY KEY,
    columns VARCHAR NOT NULL,
    primary_key VARCHAR NOT NULL,
    created BIGINT NOT NULL,
    last_import BIGINT NOT NULL,
    last_change BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS berth_table_metadata (
    table_id VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (table_id, provider, key)
);
CREATE TABLE IF NOT EXISTS berth_column_metadata (
    table_id VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (table_id, column_name, provider, key)
);
CREATE SEQUENCE IF NOT EXISTS berth_file_ids START 1;
CREATE TABLE IF NOT EXISTS berth_files (
    id BIGINT PRIMARY KEY,
    name VARCHAR NOT NULL,
    tags VARCHAR NOT NULL,
    created BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    is_public BOOLEAN NOT NULL,
    is_permanent BOOLEAN NOT NULL,
    is_encrypted BOOLEAN NOT NULL,
    run_id VARCHAR
);
CREATE TABLE IF NOT EXISTS berth_components (
    id VARCHAR PRIMARY KEY,
    definition VARCHAR NOT NULL,
    updated BIGINT NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS berth_config_ids START 1;
CREATE TABLE IF NOT EXISTS berth_configs (
    component_id VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    configuration VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    created BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (component_id, id)
);
CREATE TABLE IF NOT EXISTS berth_config_rows (
    component_id VARCHAR NOT NULL,
    config_id VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    position BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    configuration VARCHAR NOT NULL,
    is_disabled BOOLEAN NOT NULL,
    state VARCHAR NOT NULL,
    PRIMARY KEY (component_id, config_id, id)
);
-- Added with the Storage API shape (issue 17): a configuration's `isDisabled`, a row's
-- `description`; older homes get them on open.
ALTER TABLE berth_configs ADD COLUMN IF NOT EXISTS is_disabled BOOLEAN DEFAULT false;
ALTER TABLE berth_config_rows ADD COLUMN IF NOT EXISTS description VARCHAR DEFAULT '';
CREATE SEQUENCE IF NOT EXISTS berth_job_seq START 1;
CREATE TABLE IF NOT EXISTS berth_jobs (
    id VARCHAR PRIMARY KEY,
    seq BIGINT NOT NULL,
    component_id VARCHAR NOT NULL,
    config_id VARCHAR,
    status VARCHAR NOT NULL,
    created BIGINT NOT NULL,
    started BIGINT,
    finished BIGINT,
    token_id VARCHAR,
    request VARCHAR NOT NULL,
    record VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS berth_job_events (
    job_id VARCHAR NOT NULL,
    seq BIGINT NOT NULL,
    time BIGINT NOT NULL,
    level VARCHAR NOT NULL,
    message VARCHAR NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS berth_token_ids START 1;
CREATE TABLE IF NOT EXISTS berth_tokens (
    id VARCHAR PRIMARY KEY,
    hash VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    is_admin BOOLEAN NOT NULL,
    read_only BOOLEAN NOT NULL,
    component_access VARCHAR,
    created BIGINT NOT NULL,
    expires BIGINT,
    revoked BIGINT,
    job_id VARCHAR
);
"#;

/// One open database file, shared by every [`crate::Storage`] connection of this process.
///
/// The first open in a process opens the file (waiting briefly while another process holds it)
/// and applies the catalog schema; later opens of the same directory, while any connection is
/// alive, clone a connection from this one. The file is released when the last [`Arc`] drops.
pub(crate) struct Database {
    path: PathBuf,
    /// The connection new ones are cloned from (DuckDB connections are `Send`, not `Sync`).
    root: Mutex<Connection>,
    /// Connections of dropped [`crate::Storage`] handles, reused by the next ones: a new DuckDB
    /// connection costs a client context, and a reused one keeps its cache of prepared
    /// statements (a server opens Storage for every request).
    idle: Mutex<Vec<Connection>>,
    /// Token checks and component definitions read by every request (see [`ReadCache`]).
    pub(crate) cache: ReadCache,
}

/// Token records and component definitions as last read, for the lookups every server request
/// makes (a DuckDB point query costs ~0.6 ms of CPU even prepared).
///
/// This process is the only writer of the database file while it is open (DuckDB locks it), and
/// every write of tokens or components goes through [`crate::Storage`], which calls
/// [`ReadCache::invalidate`] after committing. An entry is tagged with the generation read
/// *before* its query and used only while the generation is unchanged, so a read racing a write
/// is never kept. Unknown tokens are not cached (a flood of made-up tokens must not grow it); the
/// cache is cleared when it reaches [`ReadCache::CAPACITY`] entries.
#[derive(Default)]
pub(crate) struct ReadCache {
    generation: std::sync::atomic::AtomicU64,
    tokens: Mutex<HashMap<String, (u64, crate::TokenInfo)>>,
    components: Mutex<HashMap<String, (u64, crate::ComponentDefinition)>>,
}

impl ReadCache {
    /// Entries kept per kind before the cache starts over.
    const CAPACITY: usize = 1024;

    /// The generation to tag a read with, taken before the read.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Forgets everything read so far; called after a committed write of tokens or components.
    pub(crate) fn invalidate(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The token whose secret hashes to `hash`, if read at the current generation.
    pub(crate) fn token(&self, hash: &str) -> Option<crate::TokenInfo> {
        lookup(&self.tokens, hash, self.generation())
    }

    /// Keeps `token`, read at `generation`.
    pub(crate) fn keep_token(&self, hash: &str, generation: u64, token: &crate::TokenInfo) {
        keep(&self.tokens, hash, generation, token);
    }

    /// The component `id`, if read at the current generation.
    pub(crate) fn component(&self, id: &str) -> Option<crate::ComponentDefinition> {
        lookup(&self.components, id, self.generation())
    }

    /// Keeps `component`, read at `generation`.
    pub(crate) fn keep_component(
        &self,
        id: &str,
        generation: u64,
        component: &crate::ComponentDefinition,
    ) {
        keep(&self.components, id, generation, component);
    }
}

fn lookup<T: Clone>(map: &Mutex<HashMap<String, (u64, T)>>, key: &str, current: u64) -> Option<T> {
    let map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match map.get(key) {
        Some((generation, value)) if *generation == current => Some(value.clone()),
        _ => None,
    }
}

fn keep<T: Clone>(map: &Mutex<HashMap<String, (u64, T)>>, key: &str, generation: u64, value: &T) {
    let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if map.len() >= ReadCache::CAPACITY {
        map.clear();
    }
    map.insert(key.to_owned(), (generation, value.clone()));
}

/// How many idle connections a database keeps for reuse.
const IDLE_CONNECTIONS: usize = 16;

/// A connection of a [`Database`], given back to it for reuse when dropped.
pub(crate) struct PooledConnection {
    /// Present until dropped.
    conn: Option<Connection>,
    database: Arc<Database>,
}

impl std::ops::Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.database.give_back(conn);
        }
    }
}

/// The databases open in this process, by canonical Storage directory.
fn open_databases() -> &'static Mutex<HashMap<PathBuf, Weak<Database>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<Database>>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

impl Database {
    /// The database of `dir`: the one already open in this process, or a newly opened one
    /// (waiting up to `wait` while another process holds the file).
    pub(crate) fn open(dir: &Path, wait: Duration) -> Result<Arc<Self>, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(StorageError::io("creating the storage directory", dir))?;
        let key = dir
            .canonicalize()
            .map_err(StorageError::io("resolving the storage directory", dir))?;
        // Held while opening, so two threads opening the same directory share one database.
        let mut open = open_databases()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(database) = open.get(&key).and_then(Weak::upgrade) {
            return Ok(database);
        }
        open.retain(|_, database| database.strong_count() > 0);
        let database = Arc::new(Self {
            path: dir.join(DB_FILE),
            root: Mutex::new(open_file(dir, wait)?),
            idle: Mutex::new(Vec::new()),
            cache: ReadCache::default(),
        });
        open.insert(key, Arc::downgrade(&database));
        Ok(database)
    }

    /// A connection to this database: an idle one, or a new one.
    pub(crate) fn connect(self: &Arc<Self>) -> Result<PooledConnection, StorageError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self
                .root
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .try_clone()
                .map_err(StorageError::db(
                    "opening a connection",
                    self.path.display(),
                ))?,
        };
        Ok(PooledConnection {
            conn: Some(conn),
            database: Arc::clone(self),
        })
    }

    /// Takes back the connection of a dropped handle for reuse; one inside a transaction (a
    /// handle dropped mid-way, by a panic) is closed instead, which rolls the transaction back.
    fn give_back(&self, conn: Connection) {
        if !conn.is_autocommit() {
            return;
        }
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(conn);
        }
    }
}

/// Opens (creating if needed) the database file in `dir` and applies the catalog schema.
fn open_file(dir: &Path, wait: Duration) -> Result<Connection, StorageError> {
    let path = dir.join(DB_FILE);
    let started = Instant::now();
    let conn = loop {
        match Connection::open_with_flags(&path, connection_config(&path)?) {
            Ok(conn) => break conn,
            Err(err) if is_lock_error(&err) => {
                if started.elapsed() >= wait {
                    return Err(StorageError::Locked {
                        path,
                        message: err.to_string(),
                    });
                }
                sleep(Duration::from_millis(100));
            }
            Err(err) => {
                return Err(StorageError::db("opening the database", path.display())(
                    err,
                ));
            }
        }
    };
    apply_schema(&conn).map_err(StorageError::db("creating the catalog", path.display()))?;
    Ok(conn)
}

/// How every connection is opened.
fn connection_config(path: &Path) -> Result<duckdb::Config, StorageError> {
    // One DuckDB thread, from the start (no worker threads started and stopped again). Loads
    // are appender-bound and the CSV parser already runs on its own thread; with more DuckDB
    // threads, row groups are compressed by background tasks that compete with it, and a 64 MB
    // full import took 2.4 s instead of 1.1 s on two cores (incremental with a primary key:
    // 2.5 s instead of 1.5 s; exports unchanged).
    duckdb::Config::default()
        .threads(1)
        .map_err(StorageError::db("configuring the database", path.display()))
}

/// Applies [`SCHEMA`] unless the database holds this very schema's sha256 (stored when it was
/// applied): one read instead of some twenty statements on every open (a few milliseconds of
/// every `berth` command).
/// [`SCHEMA`] is idempotent, so a digest that differs for any reason only means applying it
/// again; all of it happens in one transaction.
fn apply_schema(conn: &Connection) -> duckdb::Result<()> {
    let stored: Option<String> = conn
        .query_row("SELECT digest FROM berth_schema", [], |row| row.get(0))
        .ok();
    let digest = hex::encode(sha2::Sha256::digest(SCHEMA));
    if stored.as_deref() == Some(digest.as_str()) {
        return Ok(());
    }
    conn.execute_batch(&format!(
        "BEGIN TRANSACTION;
         {SCHEMA}
         CREATE TABLE IF NOT EXISTS berth_schema (digest VARCHAR NOT NULL);
         DELETE FROM berth_schema;
         INSERT INTO berth_schema VALUES ('{digest}');
         COMMIT;"
    ))
}

/// How often a write that met another connection's concurrent write is tried in all.
const CONFLICT_ATTEMPTS: u32 = 20;

/// Runs `attempt` again while DuckDB reports a write-write conflict: its concurrency control
/// is optimistic, so when two connections of this process update the same row at once (a kill
/// request and the worker recording the job's progress), one of them fails instead of waiting.
/// The whole transaction is retried after a short pause; every other outcome is returned as is.
pub(crate) fn retry_conflicts<T>(
    mut attempt: impl FnMut() -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let mut tried = 1;
    loop {
        match attempt() {
            Err(error) if tried < CONFLICT_ATTEMPTS && is_write_conflict(&error) => {
                tried += 1;
                sleep(Duration::from_millis(5 * u64::from(tried)));
            }
            outcome => return outcome,
        }
    }
}

/// Whether `error` is DuckDB's write-write conflict between two transactions.
fn is_write_conflict(error: &StorageError) -> bool {
    match error {
        StorageError::Database { source, .. } => {
            let message = format!("{source:#}");
            message.contains("Conflict on") || message.contains("write-write conflict")
        }
        _ => false,
    }
}

fn is_lock_error(err: &duckdb::Error) -> bool {
    let message = err.to_string();
    message.contains("Could not set lock") || message.contains("Conflicting lock")
}

/// Microseconds since the Unix epoch, the unit of every stored time.
pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// The inverse of [`to_micros`].
pub(crate) fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Serde helper writing times as RFC 3339 strings (`#[serde(with = "rfc3339")]`).
pub(crate) mod rfc3339 {
    use serde::Serializer;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Serializes a time as RFC 3339.
    pub(crate) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    /// Serializes an optional time as RFC 3339 or `null`.
    pub(crate) fn serialize_option<S: Serializer>(
        t: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => serialize(t, s),
            None => s.serialize_none(),
        }
    }
}

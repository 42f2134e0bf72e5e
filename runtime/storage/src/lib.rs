//! Embedded default Storage: tables, files, components and configurations in one directory.
//!
//! Storage is what components read from and write to (seed 000: "Storage … is used to store all
//! data in your projects: data in tables, file uploads, configurations"). berth keeps it in a
//! directory (the berth home's `storage/`):
//!
//! - `storage.duckdb`: one DuckDB database holding table data (schema `data`, every value
//!   `VARCHAR`, plus a hidden per-row `_timestamp`) and the catalog of tables, table metadata,
//!   files, component definitions, configurations, rows and their state;
//! - `files/<id>`: the content of uploaded files.
//!
//! Every write is one DuckDB transaction, so a failed operation changes nothing and a process
//! killed mid-import leaves the table as it was. DuckDB lets one process open the database at a
//! time; [`Storage::open`] waits up to ten seconds for another process to finish.
//!
//! This crate knows nothing of components being run: no executors, no data folders, no images.
//! Staging (`berth-staging`) moves data between it and a job's data folder.
//!
//! ```no_run
//! use berth_storage::{ImportOptions, Storage, TableId};
//! # fn main() -> Result<(), berth_storage::StorageError> {
//! let mut storage = Storage::open(".berth/storage")?;
//! let id = TableId::parse("in.c-main.customers")?;
//! storage.import_csv(&id, "customers.csv".as_ref(), &ImportOptions::default())?;
//! # Ok(()) }
//! ```

mod batch;
mod catalog;
mod clock;
mod column_metadata;
mod components;
mod configs;
mod csv_guard;
mod csv_read;
mod csv_write;
mod db;
mod documents;
mod error;
mod export;
mod file_data;
mod file_query;
mod files;
mod import;
mod input;
mod jobs;
mod limits;
mod queue;
mod table_data;
mod table_id;
mod tables;
mod token_store;
mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use batch::{BatchError, TableLoad};
pub use catalog::Catalog;
pub use clock::Clock;
pub use column_metadata::{
    ColumnMetadata, ColumnMetadataMap, check_column_metadata, column_named, columns_to_add,
};
pub use components::{
    ComponentDefinition, ConfigurationFormat, DataTypesSupport, DefinitionShape, Network,
    OutputScope, ParsedDefinition, StagingStorage,
};
pub use configs::{
    Config, ConfigRow, ConfigUpdate, FileState, NewConfig, NewConfigRow, NewId, RowUpdate,
    SourceTag, State, StateInput, StateStorage, TableState, TagMatch, choose_id, repeated_row,
    validate_config_id, validate_configuration,
};
pub use csv_guard::{DEFAULT_MAX_FIELD_BYTES, FieldLimit};
pub use csv_read::{CsvDialect, CsvInput, CsvSource};
pub use csv_write::write_row as write_csv_row;
pub use documents::{DocumentKind, DocumentRewrite, RewriteError, RewriteFailure, StoredDocument};
pub use error::StorageError;
pub use export::{ExportOptions, ExportPlan, ExportReport};
pub use file_data::FileData;
pub use file_query::{FileFacts, FileQuery, MAX_QUERY_DEPTH, QueryError};
pub use files::{DEFAULT_LIST_LIMIT, FileFilter, FileId, FileInfo, FileMatcher, FileUpload};
pub use import::{
    DeleteFilter, ExistingTable, ImportOptions, ImportPlan, ImportReport, WhereFilter,
    WhereOperator,
};
pub use input::{InputReader, OpenInput};
pub use jobs::{DEFAULT_JOB_LIMIT, JobEvent, JobFilter, JobStatus, NewJob, StoredJob};
pub use limits::{ByteSize, LimitOverrides};
pub use queue::JobQueue;
pub use table_data::TableData;
pub use table_id::{Stage, TableId, validate_column_list};
pub use tables::{MetadataEntry, TableInfo, check_metadata};
pub use token_store::TokenStore;
pub use tokens::{NewToken, TokenCheck, TokenInfo, new_secret, secret_hash};

/// Everything a Storage backend does — tables, files, tokens, the catalog — whichever it is: the
/// embedded [`Storage`] here, or PostgreSQL (`berth-postgres`). Staging and the CLI's Storage
/// commands take `dyn Backend`, so they work on either.
pub trait Backend: TableData + FileData + TokenStore + Catalog {}

impl<T: TableData + FileData + TokenStore + Catalog + ?Sized> Backend for T {}

/// An open embedded Storage: one connection to the database of a Storage directory.
///
/// Methods that change data take `&mut self` and run in one database transaction each.
///
/// DuckDB lets one process open a database file at a time. Within a process, [`Storage::open`]
/// on a directory that is already open returns another connection to the same database (so a job
/// holding Storage and a record being saved never lock each other out); the database closes, and
/// other processes may open it, when the last connection is dropped.
pub struct Storage {
    dir: PathBuf,
    /// Given back to the database for reuse when the handle is dropped.
    conn: db::PooledConnection,
    clock: Clock,
    database: Arc<db::Database>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("dir", &self.dir).finish()
    }
}

impl Storage {
    /// Opens the Storage in `dir`, creating the directory and database on first use; waits up
    /// to ten seconds while another process holds it.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StorageError> {
        Self::open_waiting(dir, db::LOCK_WAIT)
    }

    /// Like [`Storage::open`], waiting at most `wait` for another process
    /// ([`StorageError::Locked`] after that; `Duration::ZERO` tries once).
    pub fn open_waiting(dir: impl AsRef<Path>, wait: Duration) -> Result<Self, StorageError> {
        let dir = dir.as_ref().to_path_buf();
        let database = db::Database::open(&dir, wait)?;
        let conn = database.connect()?;
        Ok(Self {
            dir,
            conn,
            clock: Clock::System,
            database,
        })
    }

    /// Sets where this handle reads the time it stamps on what it writes (the system clock
    /// unless set).
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// The Storage directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Another connection to the same database (for another thread); the same as opening the
    /// directory again in this process.
    pub fn try_clone(&self) -> Result<Self, StorageError> {
        Ok(Self {
            dir: self.dir.clone(),
            conn: self.database.connect()?,
            clock: self.clock,
            database: Arc::clone(&self.database),
        })
    }
}

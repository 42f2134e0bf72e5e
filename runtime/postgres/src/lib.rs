//! berth's Storage on PostgreSQL, shared by several runner nodes: the job queue and job events,
//! tables, files, API tokens and the catalog (components, configurations, rows, state).
//!
//! The embedded Storage (`berth-storage`) keeps everything in one DuckDB file: one process, one
//! machine. This crate holds the same job queue in a PostgreSQL database that several nodes share,
//! with the same rules (jobs of one configuration run one at a time, in the order they were
//! queued; a kill is a compare-and-set on the status; a job whose runner vanished ends as an error
//! and is never run again) and what several nodes need on top:
//!
//! - claims with `SELECT … FOR UPDATE SKIP LOCKED` plus a transaction-level advisory lock on the
//!   configuration ([`PgStorage::claim_next_job`], module `claim`);
//! - `LISTEN/NOTIFY`, so an idle node wakes when a job is queued or a configuration frees up
//!   ([`WorkListener::wait_for_work`]);
//! - a heartbeat per running job, written by the node that runs it, which also tells the node
//!   when a kill from another node asks it to stop ([`PgStorage::heartbeat`]);
//! - a sweep any node can run that ends jobs whose heartbeat expired ([`PgStorage::sweep_expired`]).
//!
//! The job types are `berth-storage`'s ([`NewJob`], [`StoredJob`], [`JobStatus`], [`JobFilter`],
//! [`JobEvent`]), and the methods shared with the embedded queue sit behind its interface,
//! [`berth_storage::JobQueue`], implemented by [`PgNode`] (a connection working for one named
//! node: [`PgStorage::for_node`]).
//!
//! Tables ([`berth_storage::TableData`], modules `tables`, `table_import`, `table_export`) keep
//! the embedded Storage's rules, decided in `berth-storage` so both backends refuse the same
//! input with the same messages: `COPY` in and out, a unique index per primary key with
//! `INSERT … ON CONFLICT`, one transaction per import. Files ([`berth_storage::FileData`],
//! module `files`) keep their content as large objects, written and unlinked with the catalog
//! row. Tokens ([`berth_storage::TokenStore`], module `tokens`) keep only secrets' hashes and
//! judge expiry by the database server's clock. The catalog ([`berth_storage::Catalog`], module
//! `catalog`) locks a configuration for each change and counts its version. A [`PgPool`] keeps
//! connections for a process that opens Storage often (`berth serve` on a home put on PostgreSQL
//! by `berth_job::home::Home::on_postgres`). OAuth credentials (module `oauth`) are stored as
//! written. A master-key rotation rewrites every stored document in one transaction and keeps the
//! nodes' use of the key out meanwhile with a lock in the database (module `keys`).
//!
//! The client is the synchronous `postgres` crate, matching berth's synchronous Storage API. It
//! runs its own small tokio runtime: call it from plain threads (as `berth serve` calls Storage,
//! from blocking threads), never from inside an async task.
//!
//! Times (created, started, finished, heartbeats) are the database server's clock, so nodes whose
//! clocks drift still agree on which heartbeat expired.
//!
//! ```no_run
//! use berth_postgres::PgStorage;
//! # fn main() -> Result<(), berth_postgres::PgError> {
//! let mut queue = PgStorage::connect("postgres://berth@127.0.0.1:5432/berth")?;
//! if let Some(job) = queue.claim_next_job("node-a")? {
//!     println!("running {}", job.id);
//! }
//! # Ok(()) }
//! ```

mod catalog;
mod claim;
mod connect;
mod error;
mod events;
mod files;
mod jobs;
mod keys;
mod listen;
mod locks;
mod migrate;
mod nodes;
mod oauth;
mod pool;
mod queue;
mod table_export;
mod table_import;
mod table_metadata;
mod tables;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;

use std::cell::RefCell;

pub use berth_storage::{JobEvent, JobFilter, JobStatus, NewJob, StoredJob};
pub use error::PgError;
pub use listen::WorkListener;
pub use migrate::SCHEMA_VERSION;
pub use nodes::{Heartbeat, SweptJob, node_stopped_message};
pub use pool::PgPool;
pub use queue::PgNode;

/// The `NOTIFY` channel a job being queued, killed or ending is announced on.
pub(crate) const CHANNEL: &str = "berth_jobs";

/// One connection to a berth database on PostgreSQL, its schema migrated.
///
/// Each method is one transaction. A connection serves one thread at a time (like an embedded
/// `Storage` handle); open one per thread with [`PgStorage::connect`] or [`PgStorage::try_clone`].
pub struct PgStorage {
    target: connect::Target,
    /// `None` only while the value is dropped (its connection going back to its pool).
    client: RefCell<Option<postgres::Client>>,
    /// The pool the connection returns to when this value is dropped, if it came from one.
    pool: Option<pool::Shared>,
    /// Where imports read the time they stamp on rows (the database server's clock unless set).
    clock: berth_storage::Clock,
    /// Whether this connection holds the master key's lock (module `keys`).
    keys: std::cell::Cell<keys::KeysHeld>,
}

impl std::fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStorage")
            .field("url", &self.target.shown())
            .finish()
    }
}

impl PgStorage {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`)
    /// and brings its schema to [`SCHEMA_VERSION`] (a no-op when it is there already; refused
    /// with [`PgError::SchemaTooNew`] when a newer berth migrated it).
    pub fn connect(url: &str) -> Result<Self, PgError> {
        let target = connect::Target::parse(url)?;
        let mut client = target.connect()?;
        migrate::migrate(&mut client, target.shown())?;
        Ok(Self::over(target, client, None))
    }

    /// Like [`PgStorage::connect`], returning the schema versions this call applied (empty when
    /// the database was already migrated).
    pub fn connect_migrating(url: &str) -> Result<(Self, Vec<i32>), PgError> {
        let target = connect::Target::parse(url)?;
        let mut client = target.connect()?;
        let applied = migrate::migrate(&mut client, target.shown())?;
        Ok((Self::over(target, client, None), applied))
    }

    fn over(target: connect::Target, client: postgres::Client, pool: Option<pool::Shared>) -> Self {
        Self {
            target,
            client: RefCell::new(Some(client)),
            pool,
            clock: berth_storage::Clock::System,
            keys: std::cell::Cell::default(),
        }
    }

    /// Sets the time imports stamp on the rows they write (`_timestamp`, which `changedSince`
    /// filters read): the database server's clock with [`berth_storage::Clock::System`] (the
    /// default), or always one time with [`berth_storage::Clock::Fixed`], as the embedded
    /// Storage's `set_clock`.
    pub fn set_clock(&mut self, clock: berth_storage::Clock) {
        self.clock = clock;
    }

    /// The fixed time imports stamp, in microseconds since the epoch, if one is set.
    fn fixed_micros(&self) -> Option<i64> {
        match self.clock {
            berth_storage::Clock::System => None,
            berth_storage::Clock::Fixed(_) => Some(tables::to_micros(self.clock.now())),
        }
    }

    /// Another connection to the same database (for another thread).
    pub fn try_clone(&self) -> Result<Self, PgError> {
        Ok(Self::over(
            self.target.clone(),
            self.target.connect()?,
            None,
        ))
    }

    /// A connection that listens for work (see [`WorkListener`]).
    pub fn listener(&self) -> Result<WorkListener, PgError> {
        WorkListener::new(self.target.connect()?, self.target.shown())
    }

    /// The database URL, its password hidden.
    pub fn url(&self) -> &str {
        self.target.shown()
    }

    /// The connection, for one method's use.
    fn client(&self) -> std::cell::RefMut<'_, postgres::Client> {
        std::cell::RefMut::map(self.client.borrow_mut(), |client| {
            client
                .as_mut()
                .expect("a PgStorage has its connection until it is dropped")
        })
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        let Some(mut client) = self.client.get_mut().take() else {
            return;
        };
        // A connection whose lock could not be released is closed (the server releases it).
        if keys::release(&mut client, &self.keys).is_ok()
            && let Some(pool) = &self.pool
        {
            pool.give_back(client);
        }
    }
}

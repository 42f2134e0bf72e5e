//! A pool of connections to one berth database, for a process that opens Storage many times
//! (`berth serve`: every request and every job stage opens it, as on the embedded backend).
//!
//! Connecting to PostgreSQL costs a TCP handshake, authentication and a backend process start —
//! milliseconds, against microseconds for reusing one. [`PgPool::get`] hands out a
//! [`PgStorage`] over an idle connection when there is one (else a new connection), and dropping
//! that value gives the connection back. The schema is migrated once, when the pool is made.
//!
//! A connection comes back only in a clean state: every [`PgStorage`] method is one transaction
//! that either commits or rolls back (the driver rolls a dropped transaction back), and a closed
//! connection (the server restarted, the network failed) is dropped instead of kept. At most
//! [`MAX_IDLE`] connections wait; the rest close.

use std::sync::{Arc, Mutex};

use postgres::Client;

use crate::connect::Target;
use crate::{PgError, PgStorage, migrate};

/// How many idle connections a pool keeps.
pub(crate) const MAX_IDLE: usize = 16;

/// A pool of connections to one berth database (cheap to clone: clones share the pool).
#[derive(Clone)]
pub struct PgPool {
    shared: Shared,
}

/// What a pool's clones and the connections it lent share.
#[derive(Clone)]
pub(crate) struct Shared(Arc<Inner>);

struct Inner {
    target: Target,
    idle: Mutex<Vec<Client>>,
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPool")
            .field("url", &self.shared.0.target.shown())
            .finish()
    }
}

impl PgPool {
    /// Connects to the database at `url` and brings its schema to [`crate::SCHEMA_VERSION`]
    /// (see [`PgStorage::connect`]); the connection stays in the pool.
    pub fn connect(url: &str) -> Result<Self, PgError> {
        let target = Target::parse(url)?;
        let mut client = target.connect()?;
        migrate::migrate(&mut client, target.shown())?;
        Ok(Self {
            shared: Shared(Arc::new(Inner {
                target,
                idle: Mutex::new(vec![client]),
            })),
        })
    }

    /// A connection: an idle one, or a new one when none waits.
    pub fn get(&self) -> Result<PgStorage, PgError> {
        let inner = &self.shared.0;
        let idle = inner.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let client = match idle {
            Some(client) => client,
            None => inner.target.connect()?,
        };
        Ok(PgStorage::over(
            inner.target.clone(),
            client,
            Some(self.shared.clone()),
        ))
    }

    /// The database URL, its password hidden.
    pub fn url(&self) -> &str {
        self.shared.0.target.shown()
    }

    /// How many connections wait in the pool now.
    pub fn idle(&self) -> usize {
        self.shared
            .0
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

impl Shared {
    /// Takes `client` back, unless it is closed or enough connections wait already.
    pub(crate) fn give_back(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        let mut idle = self.0.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(client);
        }
    }
}

//! `BERTH_STORAGE_URL` (and `berth serve --storage`): which Storage the CLI works on. Unset (or
//! empty), the home's embedded Storage; `postgres://…` (or `postgresql://…`), a berth database on
//! PostgreSQL, shared with other nodes.
//!
//! On PostgreSQL the home is put on the database ([`Home::on_postgres`]) before the command
//! runs, so the command opens Storage as it would the embedded one: `berth serve` (a node of
//! several sharing the queue), `berth run`, `berth action`, `berth job` (the shared queue's
//! records and logs), `berth oauth` (credentials in the database), `berth key rotate` (every
//! cipher in the database, the nodes held off by a lock there) and Storage's commands (`berth
//! table|file|token|component|config …`); `exec`, `image` and `encrypt` open no Storage. `berth
//! run` records its job in the shared queue and stamps its heartbeat while it runs
//! ([`berth_job::heartbeat`]), so the nodes' sweep leaves it alone and a kill through any node
//! stops it.

use berth_job::home::Home;
use berth_postgres::PgPool;
use berth_storage::Backend;

use crate::table::storage_error;
use crate::{Command, UserError};

/// The Storage the table, file, token, component and config commands work on: the home's, which
/// [`place`] put on PostgreSQL when `BERTH_STORAGE_URL` names a database.
pub(crate) fn open(home: &Home) -> anyhow::Result<Box<dyn Backend>> {
    Ok(home.open_storage().map_err(storage_error)?)
}

/// The environment variable naming the Storage.
pub(crate) const VAR: &str = "BERTH_STORAGE_URL";

/// `home`, on the PostgreSQL database `url` names (when one does and `command` uses Storage),
/// working as node `node`. An unreachable database is an application error.
pub(crate) fn place(
    home: Home,
    url: Option<&str>,
    command: &Command,
    node: impl FnOnce() -> String,
) -> anyhow::Result<Home> {
    let Some(url) = url else {
        return Ok(home);
    };
    // These use no Storage: `exec` and `image` run and pull images, `encrypt` needs the key.
    if matches!(
        command,
        Command::Exec(_) | Command::Image(_) | Command::Encrypt(_)
    ) {
        return Ok(home);
    }
    let pool = PgPool::connect(url).map_err(|e| storage_error(e.into()))?;
    Ok(home.on_postgres(pool, node()))
}

/// The PostgreSQL URL in `BERTH_STORAGE_URL`, `None` when it is unset or empty; a URL of another
/// kind is the user's error.
pub(crate) fn from_env() -> Result<Option<String>, UserError> {
    match std::env::var_os(VAR) {
        Some(url) => checked(&url.to_string_lossy(), VAR),
        None => Ok(None),
    }
}

/// `url` (from `source`) when it names a PostgreSQL database, `None` when it is empty.
pub(crate) fn checked(url: &str, source: &str) -> Result<Option<String>, UserError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(None);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Some(url.to_owned()));
    }
    Err(UserError::new(format!(
        "{source} must be a PostgreSQL URL (postgres://user@host:port/database) or empty for the \
         home's embedded Storage; it starts with \"{}\"",
        url.split("://").next().unwrap_or_default()
    )))
}

/// A name for this process as a node: the machine's host name and the process id (unique among
/// the nodes running at one time, which is what claims and heartbeats need).
pub(crate) fn default_node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "berth".to_owned());
    format!("{host}-{}", std::process::id())
}

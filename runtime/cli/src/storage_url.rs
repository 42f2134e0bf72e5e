//! `BERTH_STORAGE_URL`: which Storage the CLI works on. Unset (or empty), the home's embedded
//! Storage; `postgres://…` (or `postgresql://…`), a berth database on PostgreSQL, shared with
//! other nodes.
//!
//! PostgreSQL holds tables, files, tokens and the catalog (components, configurations, rows,
//! state), and the job queue, but the commands that run components (`run`, `action`, `job`,
//! `serve`) and OAuth credentials are not wired to it yet. So with the variable set only the
//! commands that need no more than that run: `berth table|file|token|component|config …`, and
//! those that open no Storage at all (`exec`, `image`). The others are refused with a message saying so, rather than quietly working on
//! the embedded Storage the user asked not to use.

use berth_job::home::Home;
use berth_postgres::PgStorage;
use berth_storage::{Backend, Storage};

use crate::table::storage_error;
use crate::{Command, UserError};

/// The Storage the table, file, token, component and config commands work on: PostgreSQL when
/// `BERTH_STORAGE_URL` names a database, otherwise the home's embedded Storage.
pub(crate) fn open(home: &Home) -> anyhow::Result<Box<dyn Backend>> {
    match from_env()? {
        Some(url) => Ok(Box::new(
            PgStorage::connect(&url).map_err(|e| storage_error(e.into()))?,
        )),
        None => Ok(Box::new(
            Storage::open(home.storage()).map_err(storage_error)?,
        )),
    }
}

/// The environment variable naming the Storage.
pub(crate) const VAR: &str = "BERTH_STORAGE_URL";

/// The PostgreSQL URL in `BERTH_STORAGE_URL`, `None` when it is unset or empty; a URL of another
/// kind is the user's error.
pub(crate) fn from_env() -> Result<Option<String>, UserError> {
    let Some(url) = std::env::var_os(VAR) else {
        return Ok(None);
    };
    let url = url.to_string_lossy().trim().to_owned();
    if url.is_empty() {
        return Ok(None);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Some(url));
    }
    Err(UserError::new(format!(
        "{VAR} must be a PostgreSQL URL (postgres://user@host:port/database) or empty for the \
         home's embedded Storage; it starts with \"{}\"",
        url.split("://").next().unwrap_or_default()
    )))
}

/// Refuses a command that needs more of Storage than PostgreSQL holds yet.
pub(crate) fn check_command(command: &Command) -> Result<(), UserError> {
    if matches!(
        command,
        Command::Table(_)
            | Command::File(_)
            | Command::Token(_)
            | Command::Component(_)
            | Command::Config(_)
            | Command::Exec(_)
            | Command::Image(_)
    ) {
        return Ok(());
    }
    Err(UserError::new(format!(
        "{VAR} names a PostgreSQL database, which serves Storage's commands only so far (`berth \
         table|file|token|component|config …`); running components (`run`, `action`, `job`, \
         `serve`) and OAuth credentials still need the home's embedded Storage (unset {VAR} to \
         use it)"
    )))
}

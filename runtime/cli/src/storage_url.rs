//! `BERTH_STORAGE_URL`: which Storage the CLI works on. Unset (or empty), the home's embedded
//! Storage; `postgres://…` (or `postgresql://…`), a berth database on PostgreSQL, shared with
//! other nodes.
//!
//! PostgreSQL holds tables (and the job queue) so far, not yet components, configurations,
//! files, tokens or jobs' records. So with the variable set only the commands that need no
//! more than that run: `berth table …`, and those that open no Storage at all (`exec`,
//! `image`). The others are refused with a message saying so, rather than quietly working on
//! the embedded Storage the user asked not to use.

use crate::{Command, UserError};

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
        Command::Table(_) | Command::Exec(_) | Command::Image(_)
    ) {
        return Ok(());
    }
    Err(UserError::new(format!(
        "{VAR} names a PostgreSQL database, which holds tables only so far: `berth table …` works \
         on it; this command still needs the home's embedded Storage (unset {VAR} to use it)"
    )))
}

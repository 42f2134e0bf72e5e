//! The state files (reference §5; seed 003 "State File"): the stored component state goes to
//! `in/state.json` (`{}` when there is none); `out/state.json` comes back as a
//! [`StateUpdate`] — missing or 0-byte clears the state, `{}` stores an empty object, invalid JSON
//! is a user error naming the file. Persisting happens only after a fully successful job that ran
//! a stored configuration, together with the input-mapping state.

use std::fs;

use berth_host_api::DataDir;
use berth_host_api::state::{FileState, StateUpdate, StoredState, TableState, read_out_state};
use serde::{Deserialize, Serialize};

use super::out_dir::OutDir;
use super::{Stage, StagingError};
use berth_storage::Backend;

/// What a job did to the stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateChange {
    /// The component's state was replaced.
    Updated,
    /// The component left no (or an empty) `out/state.json`: the state was removed.
    Cleared,
    /// Nothing was stored: the job failed, or it ran without a stored configuration.
    Untouched,
}

/// Reads the stored state of a configuration (or row), validated strictly as the runner does at
/// job start (a document edited outside berth may carry unknown keys).
pub fn load_stored(
    storage: &dyn Backend,
    component_id: &str,
    config_id: &str,
    row_id: Option<&str>,
) -> Result<StoredState, StagingError> {
    let subject = format!("{component_id}/{config_id}");
    let state = storage
        .state(component_id, config_id, row_id)
        .map_err(|e| StagingError::storage(Stage::State, &subject, e))?;
    let value =
        serde_json::to_value(&state).map_err(|e| StagingError::app(Stage::State, &subject, e))?;
    StoredState::from_value(value)
        .map_err(|e| StagingError::user(Stage::State, &subject, e.to_string()))
}

/// Writes `in/state.json` (`in/state.yml` for a YAML component): the component part of
/// `stored`, `{}` when empty.
pub fn write_in_state(data: &DataDir, stored: &StoredState) -> Result<(), StagingError> {
    let shown = format!("in/{}", data.format.file_name("state"));
    let text = crate::format::encode(data.format, &stored.in_state())
        .map_err(|e| StagingError::app(Stage::State, &shown, anyhow::anyhow!(e)))?;
    fs::write(data.in_state(), text).map_err(|e| StagingError::app(Stage::State, &shown, e))
}

/// Reads `out/state.json` (`out/state.yml` for a YAML component; through [`OutDir`], within
/// `limits.state_bytes`): missing or blank → clear; invalid content → a user error naming the
/// file.
pub fn read_out(out: &OutDir) -> Result<StateUpdate, StagingError> {
    let limit = out.limits().state_bytes;
    let name = out.format().file_name("state");
    let shown = format!("out/{name}");
    let bytes = out.read_file(&name, limit, "state_bytes", Stage::State)?;
    let user = |message: String| StagingError::user(Stage::State, &shown, message);
    let json = bytes
        .as_deref()
        .map(|b| crate::format::to_json(out.format(), "file", &shown, b))
        .transpose()
        .map_err(user)?;
    read_out_state(json.as_deref()).map_err(|e| user(e.to_string()))
}

/// Stores `previous` with the component state replaced by `update` and the input-mapping state
/// replaced by this run's; other root keys (`data_app`) are kept.
pub fn persist(
    storage: &mut dyn Backend,
    ids: (&str, &str, Option<&str>),
    previous: &StoredState,
    update: StateUpdate,
    tables: Vec<TableState>,
    files: Vec<FileState>,
) -> Result<StateChange, StagingError> {
    let (component_id, config_id, row_id) = ids;
    let subject = format!("{component_id}/{config_id}");
    let change = match update {
        StateUpdate::Clear => StateChange::Cleared,
        StateUpdate::Set(_) => StateChange::Updated,
    };
    let mut next = previous.clone();
    next.apply(update);
    next.storage.input.tables = tables;
    next.storage.input.files = files;
    storage
        .set_state(component_id, config_id, row_id, &next)
        .map_err(|e| StagingError::storage(Stage::State, &subject, e))?;
    Ok(change)
}

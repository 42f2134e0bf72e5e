//! The state file (reference §5; seed 003 "State File"): what a component hands to its next run.
//!
//! - `in/state.json` holds the component's previous state, a JSON object (`{}` when there is none):
//!   [`read_in_state`].
//! - `out/state.json` is what the component leaves: [`read_out_state`]. Seed 003: "A missing or an
//!   empty file will remove the state value", so a missing or 0-byte (or whitespace-only) file is
//!   [`StateUpdate::Clear`]; `{}` and `[]` are an empty state object; non-empty invalid JSON is an
//!   error naming `out/state.json`.
//! - The runner stores the state nested, as [`StoredState`]:
//!   `{"component": {...}, "storage": {"input": {"tables": [...], "files": [...]}}, "data_app": ...}`,
//!   validated strictly (`Invalid state: Unrecognized option "X" under "state". ...`).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::ContractError;
use crate::config::{SOURCE_TAG_SHAPE, SourceTag};
use crate::paths::{IN_STATE, OUT_STATE};
use crate::shape::{self, PathStyle, Shape, field, leaf};

/// What `out/state.json` asks the runner to do with the stored component state.
#[derive(Debug, Clone, PartialEq)]
pub enum StateUpdate {
    /// The file is missing or empty: remove the state.
    Clear,
    /// Store this value (`{}` for a file holding `{}` or `[]`).
    Set(Value),
}

/// Whether `bytes` count as an empty file (no bytes, or only whitespace).
fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

fn parse_state(file: &str, bytes: &[u8]) -> Result<Value, ContractError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ContractError::Json {
        file: file.to_owned(),
        message: e.to_string(),
    })?;
    Ok(match value {
        Value::Array(a) if a.is_empty() => Value::Object(Map::new()),
        other => other,
    })
}

/// Reads `in/state.json` (`None` when the file is missing): missing, blank, `[]` → `{}`.
pub fn read_in_state(bytes: Option<&[u8]>) -> Result<Value, ContractError> {
    match bytes {
        None => Ok(Value::Object(Map::new())),
        Some(b) if is_blank(b) => Ok(Value::Object(Map::new())),
        Some(b) => parse_state(IN_STATE, b),
    }
}

/// Reads `out/state.json` (`None` when the file is missing).
///
/// ```
/// use berth_host_api::state::{read_out_state, StateUpdate};
/// assert_eq!(read_out_state(None).unwrap(), StateUpdate::Clear);
/// assert_eq!(read_out_state(Some(b"")).unwrap(), StateUpdate::Clear);
/// assert_eq!(read_out_state(Some(b"[]")).unwrap(), StateUpdate::Set(serde_json::json!({})));
/// assert!(read_out_state(Some(b"{")).unwrap_err().to_string().contains("out/state.json"));
/// ```
pub fn read_out_state(bytes: Option<&[u8]>) -> Result<StateUpdate, ContractError> {
    match bytes {
        None => Ok(StateUpdate::Clear),
        Some(b) if is_blank(b) => Ok(StateUpdate::Clear),
        Some(b) => parse_state(OUT_STATE, b).map(StateUpdate::Set),
    }
}

/// The state as the runner stores it with the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredState {
    /// The component's own state (the content of `in/state.json`); `[]` after a clear.
    #[serde(default = "empty_object")]
    pub component: Value,
    /// Input-mapping state for adaptive loads.
    #[serde(default)]
    pub storage: StateStorage,
    /// Data-app state, preserved as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_app: Option<Value>,
}

/// `state.storage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateStorage {
    /// `state.storage.input`.
    #[serde(default)]
    pub input: StateInput,
}

/// `state.storage.input`: the last import of each input table and file mapping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateInput {
    /// One entry per input table.
    #[serde(default)]
    pub tables: Vec<TableState>,
    /// One entry per input file mapping.
    #[serde(default)]
    pub files: Vec<FileState>,
}

/// The last import of an input table: `{source, lastImportDate}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableState {
    /// The table id.
    pub source: String,
    /// When the table was last exported.
    #[serde(rename = "lastImportDate")]
    pub last_import_date: String,
}

/// The last import of an input file mapping: `{tags: [{name, match}], lastImportId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// The mapping's source tags.
    pub tags: Vec<SourceTag>,
    /// The highest file id downloaded.
    #[serde(rename = "lastImportId", deserialize_with = "string_or_number")]
    pub last_import_id: String,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "invalid type: {other}, expected a string or a number"
        ))),
    }
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl Default for StoredState {
    fn default() -> Self {
        Self {
            component: empty_object(),
            storage: StateStorage::default(),
            data_app: None,
        }
    }
}

const STYLE: PathStyle = PathStyle {
    root: "state",
    prefixed: true,
};

impl StoredState {
    /// Reads a stored state strictly: unknown or missing keys fail with `Invalid state: ...`.
    pub fn from_json(text: &str) -> Result<Self, ContractError> {
        let value = shape::parse_json("state", text).map_err(|e| ContractError::State(e.into()))?;
        Self::from_value(value)
    }

    /// [`StoredState::from_json`] for an already parsed value.
    pub fn from_value(mut value: Value) -> Result<Self, ContractError> {
        let wrap = |e: ContractError| ContractError::State(Box::new(e));
        shape::prepare(&mut value, &STORED_STATE, STYLE, true).map_err(wrap)?;
        shape::deserialize(value, STYLE).map_err(wrap)
    }

    /// The content the runner writes to `in/state.json`: the component state, `{}` when it is
    /// empty, `null` or `[]`.
    pub fn in_state(&self) -> Value {
        match &self.component {
            Value::Null => empty_object(),
            Value::Array(a) if a.is_empty() => empty_object(),
            other => other.clone(),
        }
    }

    /// Applies what `out/state.json` said: [`StateUpdate::Clear`] stores `[]` (the reference
    /// runner's "no state"), [`StateUpdate::Set`] stores the value. Other keys are kept.
    pub fn apply(&mut self, update: StateUpdate) {
        self.component = match update {
            StateUpdate::Clear => Value::Array(Vec::new()),
            StateUpdate::Set(v) => v,
        };
    }

    /// The stored state as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        // Serialising these plain structs cannot fail: every map key is a string.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

static TABLE_STATE: Shape = Shape::Object(&[leaf("source"), leaf("lastImportDate")]);
static FILE_STATE: Shape = Shape::Object(&[
    field("tags", Shape::ArrayOf(SOURCE_TAG_SHAPE)),
    leaf("lastImportId"),
]);
static STATE_INPUT: Shape = Shape::Object(&[
    field("tables", Shape::ArrayOf(&TABLE_STATE)),
    field("files", Shape::ArrayOf(&FILE_STATE)),
]);
static STATE_STORAGE: Shape = Shape::Object(&[field("input", Shape::Ref(&STATE_INPUT))]);
static STORED_STATE: Shape = Shape::Object(&[
    leaf("component"),
    field("storage", Shape::Ref(&STATE_STORAGE)),
    leaf("data_app"),
]);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::testing::assert_shape;
    use serde_json::json;

    #[test]
    fn shapes_match_structs() {
        assert_shape::<StoredState>(&STORED_STATE);
        assert_shape::<StateStorage>(&STATE_STORAGE);
        assert_shape::<StateInput>(&STATE_INPUT);
        assert_shape::<TableState>(&TABLE_STATE);
        assert_shape::<FileState>(&FILE_STATE);
    }

    #[test]
    fn in_state_defaults() {
        assert_eq!(read_in_state(None).unwrap(), json!({}));
        assert_eq!(read_in_state(Some(b"  \n")).unwrap(), json!({}));
        assert_eq!(read_in_state(Some(b"[]")).unwrap(), json!({}));
        assert_eq!(read_in_state(Some(br#"{"a":1}"#)).unwrap(), json!({"a": 1}));
    }

    #[test]
    fn stored_state_round_trip_and_strictness() {
        let text = r#"{"component":{"a":1},"storage":{"input":{"tables":[{"source":"in.c-a.b","lastImportDate":"2024-01-01"}],"files":[{"tags":[{"name":"x","match":"include"}],"lastImportId":5}]}},"data_app":{"k":1}}"#;
        let mut s = StoredState::from_json(text).unwrap();
        assert_eq!(s.storage.input.files[0].last_import_id, "5");
        s.apply(StateUpdate::Clear);
        assert_eq!(s.in_state(), json!({}));
        assert_eq!(s.data_app, Some(json!({"k": 1})));
        let err = StoredState::from_json(r#"{"X":1}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Invalid state: Unrecognized option "X" under "state". Available options are "component", "data_app", "storage"."#
        );
        let err = StoredState::from_json(r#"{"storage":{"input":{"tables":[{"source":"a"}]}}}"#)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Invalid state: The child config "lastImportDate" under "state.storage.input.tables.0" must be configured."#
        );
    }
}

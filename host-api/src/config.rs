//! `config.json` (reference §1.1, §1.2; seed 003): the root keys, the `storage` mapping and the
//! two ways to read it.
//!
//! - [`ConfigFile::from_json_strict`] is the runner's check of what people wrote: an unknown key
//!   anywhere in the known tree is an error naming its path
//!   (`Unrecognized option "foo" under "storage.input.tables.0". Available options are ...`),
//!   a wrong type names its path, and the cross-field rules of §1.2 are enforced.
//! - [`ConfigFile::from_json_lenient`] is what components use: unknown keys are ignored (seed 003:
//!   validation outside `parameters` "must always be forward compatible – i.e. benevolent"), types
//!   are still checked, and the cross-field rules are left to the runner.
//!
//! Both read in two stages: serde fills the raw structs below (defaults injected, PHP's `[]`
//! accepted for empty objects, `use_view` folded into `load_type`), then
//! [`ConfigFile::validate`] applies the rules. Serialising with [`ConfigFile::to_json_pretty`]
//! writes every defaulted key, so a runner hands the component a normalised file.
//!
//! ```
//! use berth_host_api::ConfigFile;
//! let cfg = ConfigFile::from_json_strict(r#"{"parameters": {"multiplier": 2}}"#).unwrap();
//! assert_eq!(cfg.action, "run");
//! assert_eq!(cfg.parameters["multiplier"], 2);
//! let err = ConfigFile::from_json_strict(r#"{"foo": 1}"#).unwrap_err();
//! assert!(err.to_string().starts_with(r#"Unrecognized option "foo" under "root"."#));
//! ```

mod common;
mod input;
mod output;

pub use common::{
    DataType, DeduplicationStrategy, DeleteWhere, MetadataItem, Operator, SchemaColumn, TypeSpec,
    ValuesFromStorage, ValuesFromWorkspace, WhereFilter,
};
pub use input::{
    ColumnType, DEFAULT_FILE_LIMIT, FileSource, InputFile, InputTable, LoadType, SourceTag,
    TagMatch,
};
pub use output::{OutputFile, OutputTable, TableFiles};

pub(crate) use common::{
    COLUMN_METADATA, DELETE_WHERE, METADATA, SCHEMA, opt_delete_where_operator,
};
pub(crate) use input::SOURCE_TAG_SHAPE;
pub(crate) use output::{TableRules, validate_table_rules};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::ContractError;
use crate::shape::{self, PLAIN, Shape, de, field, leaf};

/// The action every job runs unless told otherwise: `run`.
pub const DEFAULT_ACTION: &str = "run";

/// The file name used in JSON syntax errors: `config.json`.
const FILE: &str = "config.json";

/// The whole `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigFile {
    /// Input and output mapping.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub storage: Storage,
    /// The component's own configuration, passed through untouched; `{}` when absent or empty.
    #[serde(default = "empty_object", deserialize_with = "parameters")]
    pub parameters: Value,
    /// Parameters shared by every configuration of the component (image + stack parameters);
    /// `{}` when absent, `null` or `[]`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub image_parameters: Map<String, Value>,
    /// OAuth credentials, workspace credentials, backend context, app-proxy settings.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub authorization: Authorization,
    /// The action to execute; default `run`.
    #[serde(default = "default_action", deserialize_with = "action")]
    pub action: String,
    /// Runtime options (`process_timeout`, `image_tag`, `safe`, `backend`, ...); the runner removes
    /// it before writing config.json.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// Processors `{before: [], after: []}`, kept opaque; the runner removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processors: Option<Value>,
    /// Artifacts options, kept opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Value>,
    /// The variables configuration id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables_id: Option<String>,
    /// The variable values row id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables_values_id: Option<String>,
    /// The shared code configuration id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_code_id: Option<String>,
    /// Shared code row ids; always written, `[]` by default.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub shared_code_row_ids: Vec<String>,
}

impl Default for ConfigFile {
    fn default() -> Self {
        Self {
            storage: Storage::default(),
            parameters: empty_object(),
            image_parameters: Map::new(),
            authorization: Authorization::default(),
            action: default_action(),
            runtime: None,
            processors: None,
            artifacts: None,
            variables_id: None,
            variables_values_id: None,
            shared_code_id: None,
            shared_code_row_ids: Vec::new(),
        }
    }
}

/// `storage`: the input and output mapping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Storage {
    /// `storage.input`.
    #[serde(
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "StorageInput::is_empty"
    )]
    pub input: StorageInput,
    /// `storage.output`.
    #[serde(
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "StorageOutput::is_empty"
    )]
    pub output: StorageOutput,
}

/// `storage.input`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageInput {
    /// Tables exported to `in/tables`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub tables: Vec<InputTable>,
    /// Files downloaded to `in/files`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub files: Vec<InputFile>,
    /// Read-only access to all project storage (workspaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_storage_access: Option<bool>,
}

impl StorageInput {
    /// Whether nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.files.is_empty() && self.read_only_storage_access.is_none()
    }
}

/// `storage.output`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageOutput {
    /// How `out/tables` entries are loaded.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub tables: Vec<OutputTable>,
    /// How `out/files` entries are uploaded.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub files: Vec<OutputFile>,
    /// The bucket that completes bare table names.
    #[serde(
        default,
        deserialize_with = "de::empty_string_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_bucket: Option<String>,
    /// File-storage-only mode settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_files: Option<TableFiles>,
    /// `authoritative`, `hints` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type_support: Option<DataTypeSupport>,
    /// `none`, `non-destructive` or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_modifications: Option<TableModifications>,
    /// Values loaded as NULL (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_values_as_null: Option<Value>,
}

impl StorageOutput {
    /// Whether nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.files.is_empty()
            && self.default_bucket.is_none()
            && self.table_files.is_none()
            && self.data_type_support.is_none()
            && self.table_modifications.is_none()
            && self.treat_values_as_null.is_none()
    }
}

/// How native data types are used on output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataTypeSupport {
    /// Types are enforced.
    Authoritative,
    /// Types are hints.
    Hints,
    /// No native types.
    None,
}

/// Which changes to existing tables output mapping may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableModifications {
    /// No structure changes.
    None,
    /// Only additive changes.
    NonDestructive,
    /// Any change.
    All,
}

/// `authorization`: kept mostly opaque; the runner decides what reaches the component.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Authorization {
    /// `{id, version, credentials}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_api: Option<Value>,
    /// Workspace credentials, injected by the runner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<Value>,
    /// The backend context (from `runtime.backend.context`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// `{auth_providers: [], auth_rules: []}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_proxy: Option<Value>,
}

impl Authorization {
    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// `runtime`: an object with free keys; [`Runtime::process_timeout`] and [`Runtime::image_tag`]
/// read the two the runner needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Runtime(pub Map<String, Value>);

impl Runtime {
    /// `runtime.process_timeout` when it is a positive integer.
    pub fn process_timeout(&self) -> Option<u64> {
        self.0
            .get("process_timeout")
            .and_then(Value::as_u64)
            .filter(|t| *t > 0)
    }

    /// `runtime.image_tag` when it is a non-empty string.
    pub fn image_tag(&self) -> Option<&str> {
        self.0
            .get("image_tag")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    }

    fn validate(&self) -> Result<(), ContractError> {
        match self.0.get("process_timeout") {
            None | Some(Value::Null) => Ok(()),
            Some(v) if v.as_u64().is_some_and(|t| t > 0) => Ok(()),
            Some(v) => Err(ContractError::Invalid {
                path: "runtime.process_timeout".to_owned(),
                message: format!(
                    "The value {v} is too small or not an integer; it must be an integer greater than 0."
                ),
            }),
        }
    }
}

impl ConfigFile {
    /// Reads config.json as the runner does: unknown keys, wrong types and broken rules are
    /// errors naming the path.
    pub fn from_json_strict(text: &str) -> Result<Self, ContractError> {
        Self::from_value_strict(shape::parse_json(FILE, text)?)
    }

    /// [`ConfigFile::from_json_strict`] for an already parsed value.
    pub fn from_value_strict(value: Value) -> Result<Self, ContractError> {
        let config = Self::read(value, true)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads config.json as a component does: unknown keys are ignored, types are checked, the
    /// cross-field rules are not.
    pub fn from_json_lenient(text: &str) -> Result<Self, ContractError> {
        Self::from_value_lenient(shape::parse_json(FILE, text)?)
    }

    /// [`ConfigFile::from_json_lenient`] for an already parsed value.
    pub fn from_value_lenient(value: Value) -> Result<Self, ContractError> {
        Self::read(value, false)
    }

    fn read(mut value: Value, strict: bool) -> Result<Self, ContractError> {
        if matches!(&value, Value::Array(a) if a.is_empty()) {
            value = empty_object();
        }
        shape::prepare(&mut value, &ROOT, PLAIN, strict)?;
        let mut config: Self = shape::deserialize(value, PLAIN)?;
        for table in &mut config.storage.input.tables {
            table.normalize();
        }
        Ok(config)
    }

    /// The cross-field rules of reference §1.2 for every mapping item, plus `runtime`.
    pub fn validate(&self) -> Result<(), ContractError> {
        for (i, t) in self.storage.input.tables.iter().enumerate() {
            t.validate(&format!("storage.input.tables.{i}"))?;
        }
        for (i, f) in self.storage.input.files.iter().enumerate() {
            f.validate(&format!("storage.input.files.{i}"))?;
        }
        for (i, t) in self.storage.output.tables.iter().enumerate() {
            t.validate(&format!("storage.output.tables.{i}"))?;
        }
        for (i, f) in self.storage.output.files.iter().enumerate() {
            f.validate(&format!("storage.output.files.{i}"))?;
        }
        if let Some(runtime) = &self.runtime {
            runtime.validate()?;
        }
        Ok(())
    }

    /// Whether the action is `run` (as opposed to a synchronous action).
    pub fn is_run(&self) -> bool {
        self.action == DEFAULT_ACTION
    }

    /// The normalised file, pretty-printed, every defaulted key written.
    pub fn to_json_pretty(&self) -> String {
        // Serialising these plain structs cannot fail: every map key is a string.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The normalised file as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

fn default_action() -> String {
    DEFAULT_ACTION.to_owned()
}

/// `parameters`: `null`, `[]` and absent all become `{}`.
fn parameters<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => empty_object(),
        Value::Array(a) if a.is_empty() => empty_object(),
        other => other,
    })
}

/// `action`: `null` and `""` become `run`.
fn action<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .filter(|a| !a.is_empty())
        .unwrap_or_else(default_action))
}

static STORAGE_INPUT: Shape = Shape::Object(&[
    field("tables", Shape::ArrayOf(&input::INPUT_TABLE)),
    field("files", Shape::ArrayOf(&input::INPUT_FILE)),
    leaf("read_only_storage_access"),
]);

static STORAGE_OUTPUT: Shape = Shape::Object(&[
    field("tables", Shape::ArrayOf(&output::OUTPUT_TABLE)),
    field("files", Shape::ArrayOf(&output::OUTPUT_FILE)),
    leaf("default_bucket"),
    field("table_files", Shape::Ref(&output::TABLE_FILES)),
    leaf("data_type_support"),
    leaf("table_modifications"),
    leaf("treat_values_as_null"),
]);

static STORAGE: Shape = Shape::Object(&[
    field("input", Shape::Ref(&STORAGE_INPUT)),
    field("output", Shape::Ref(&STORAGE_OUTPUT)),
]);

static AUTHORIZATION: Shape = Shape::Object(&[
    leaf("oauth_api"),
    leaf("workspace"),
    leaf("context"),
    leaf("app_proxy"),
]);

static ROOT: Shape = Shape::Object(&[
    field("storage", Shape::Ref(&STORAGE)),
    leaf("parameters"),
    field("image_parameters", Shape::MapOf(&Shape::Opaque)),
    field("authorization", Shape::Ref(&AUTHORIZATION)),
    leaf("action"),
    field("runtime", Shape::MapOf(&Shape::Opaque)),
    leaf("processors"),
    leaf("artifacts"),
    leaf("variables_id"),
    leaf("variables_values_id"),
    leaf("shared_code_id"),
    leaf("shared_code_row_ids"),
]);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::testing::assert_shape;

    #[test]
    fn shapes_match_structs() {
        assert_shape::<ConfigFile>(&ROOT);
        assert_shape::<Storage>(&STORAGE);
        assert_shape::<StorageInput>(&STORAGE_INPUT);
        assert_shape::<StorageOutput>(&STORAGE_OUTPUT);
        assert_shape::<Authorization>(&AUTHORIZATION);
    }

    #[test]
    fn lenient_ignores_unknown_keys_strict_names_them() {
        let text = r#"{"storage":{"input":{"tables":[{"source":"a","foo":1}]}},"new_key":true}"#;
        let cfg = ConfigFile::from_json_lenient(text).unwrap();
        assert_eq!(cfg.storage.input.tables[0].source, "a");
        let err = ConfigFile::from_json_strict(text).unwrap_err();
        assert_eq!(err.path(), Some("root"));
    }

    #[test]
    fn php_empty_arrays_are_empty_objects() {
        let cfg = ConfigFile::from_json_strict(
            r#"{"parameters":[],"image_parameters":[],"authorization":[],"storage":[]}"#,
        )
        .unwrap();
        assert_eq!(cfg, ConfigFile::default());
        assert_eq!(
            ConfigFile::from_json_lenient("[]").unwrap(),
            ConfigFile::default()
        );
    }

    #[test]
    fn runtime_accessors() {
        let cfg = ConfigFile::from_json_strict(
            r#"{"runtime":{"process_timeout":60,"image_tag":"1.2","safe":true}}"#,
        )
        .unwrap();
        let rt = cfg.runtime.unwrap();
        assert_eq!(rt.process_timeout(), Some(60));
        assert_eq!(rt.image_tag(), Some("1.2"));
        let err = ConfigFile::from_json_strict(r#"{"runtime":{"process_timeout":0}}"#).unwrap_err();
        assert_eq!(err.path(), Some("runtime.process_timeout"));
    }
}

//! Manifests: the `<data file>.manifest` JSON next to each table or file in `in/` and `out/`
//! (reference §2.2–§2.5).
//!
//! - Input manifests ([`InputTableManifest`], [`InputFileManifest`]) are written by the runner and
//!   read by components, so reading them is lenient: unknown keys are ignored.
//! - Output manifests ([`OutputTableManifest`], [`OutputFileManifest`]) are written by components
//!   and read by the runner, so reading them is strict: invalid JSON (a 0-byte file included), an
//!   unknown key or a wrong type fails with
//!   `Failed to parse manifest file "<path>" as "json": <reason>`.
//!   Every key is an `Option`, so the runner can tell which keys a manifest set when it merges the
//!   manifest with the mapping (§2.7).
//!
//! ```
//! use berth_host_api::OutputTableManifest;
//! let err = OutputTableManifest::from_json("out/tables/a.csv.manifest", r#"{"primary_key": "Id"}"#)
//!     .unwrap_err();
//! assert!(err.to_string().starts_with(
//!     r#"Failed to parse manifest file "out/tables/a.csv.manifest" as "json": Invalid type for path "primary_key"."#
//! ));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ContractError;
use crate::config::{
    COLUMN_METADATA, DELETE_WHERE, DeduplicationStrategy, DeleteWhere, METADATA, MetadataItem,
    Operator, SCHEMA, SchemaColumn, TableRules, opt_delete_where_operator, validate_table_rules,
};
use crate::shape::{self, PLAIN, Shape, de, field, leaf};

/// `in/tables/<destination>.manifest`: what the runner knows about an exported table (§2.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputTableManifest {
    /// The table id, e.g. `in.c-main.test` (required).
    pub id: String,
    /// The table's Storage API URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The table name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Primary key columns.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub primary_key: Vec<String>,
    /// Distribution key columns.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub distribution_key: Vec<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last change time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change_date: Option<String>,
    /// Last import time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_import_date: Option<String>,
    /// Description; only written when non-empty.
    #[serde(
        default,
        deserialize_with = "de::empty_string_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// S3 staging section (only for S3 staging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<Value>,
    /// ABS staging section (only for ABS staging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs: Option<Value>,
    /// The exported columns, in file order.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub columns: Vec<String>,
    /// Table metadata.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub metadata: Vec<StoredMetadata>,
    /// Metadata per exported column.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub column_metadata: BTreeMap<String, Vec<StoredMetadata>>,
    /// Native-types definition, in the order of `columns`, when the table has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<SchemaColumn>>,
}

/// A metadata entry as Storage returns it: `{id, key, value, provider, timestamp}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredMetadata {
    /// The metadata id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// The key.
    pub key: String,
    /// The value.
    #[serde(default)]
    pub value: Value,
    /// Who wrote it (`system`, a component id, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// When it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// `in/files/<id>_<name>.manifest`: what the runner knows about a downloaded file (§2.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputFileManifest {
    /// The file id (required).
    pub id: u64,
    /// The original file name.
    #[serde(default)]
    pub name: String,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Whether the file is public.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_public: bool,
    /// Whether the file is stored encrypted.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_encrypted: bool,
    /// Whether the file is sliced (then it is a directory of slices).
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_sliced: bool,
    /// The file's tags.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub tags: Vec<String>,
    /// Days until the file expires; `null` reads as 0.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub max_age_days: u64,
    /// Size in bytes.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub size_bytes: u64,
}

/// `out/tables/<name>.manifest`: how the component wants a table loaded (§2.4), legacy and
/// native-types keys alike. Every key is optional; an absent key leaves the decision to the
/// mapping or the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputTableManifest {
    /// The Storage table id, `stage.bucket.table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Column names: the CSV has no header row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Append instead of replacing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<bool>,
    /// Primary key columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Vec<String>>,
    /// Distribution key columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_key: Option<Vec<String>>,
    /// CSV delimiter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// CSV enclosure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enclosure: Option<String>,
    /// Table metadata `[{key, value}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Vec<MetadataItem>>,
    /// Column metadata `{column: [{key, value}]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_metadata: Option<BTreeMap<String, Vec<MetadataItem>>>,
    /// Legacy delete filter column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_where_column: Option<String>,
    /// Legacy delete filter values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_where_values: Option<Vec<Value>>,
    /// Legacy delete filter operator.
    #[serde(
        default,
        deserialize_with = "opt_delete_where_operator",
        skip_serializing_if = "Option::is_none"
    )]
    pub delete_where_operator: Option<Operator>,
    /// Structured delete rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_where: Option<Vec<DeleteWhere>>,
    /// Load even when the job fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_always: Option<bool>,
    /// Tags of the uploaded staging file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Native-types marker (`out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_type: Option<String>,
    /// With `columns`/`schema`: the file has a header row to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_header: Option<bool>,
    /// Table description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Native-types table metadata `{key: value}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_metadata: Option<Map<String, Value>>,
    /// Native-types column definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<SchemaColumn>>,
    /// `insert` or `upsert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deduplication_strategy: Option<DeduplicationStrategy>,
    /// Workspace unload strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unload_strategy: Option<String>,
}

/// `out/files/<name>.manifest`: properties of an uploaded file (§2.5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputFileManifest {
    /// Tags of the uploaded file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Whether the file is public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_public: Option<bool>,
    /// Whether the file is kept forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_permanent: Option<bool>,
    /// Whether the file is stored encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_encrypted: Option<bool>,
    /// Whether project members are notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
}

/// Reads a manifest of type `T` along `shape`; `strict` rejects unknown keys.
fn read<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    shape: &Shape,
    strict: bool,
) -> Result<T, ContractError> {
    let mut value = shape::parse_json(file, text)?;
    shape::prepare(&mut value, shape, PLAIN, strict)?;
    shape::deserialize(value, PLAIN)
}

fn pretty<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs cannot fail: every map key is a string.
    serde_json::to_string_pretty(value).unwrap_or_default()
}

impl InputTableManifest {
    /// Reads an input table manifest leniently (unknown keys ignored); `file` names it in errors.
    pub fn from_json(file: &str, text: &str) -> Result<Self, ContractError> {
        read(file, text, &INPUT_TABLE_MANIFEST, false)
    }

    /// The manifest as pretty JSON, keys in the order of reference §2.2.
    pub fn to_json_pretty(&self) -> String {
        pretty(self)
    }
}

impl InputFileManifest {
    /// Reads an input file manifest leniently (unknown keys ignored); `file` names it in errors.
    pub fn from_json(file: &str, text: &str) -> Result<Self, ContractError> {
        read(file, text, &INPUT_FILE_MANIFEST, false)
    }

    /// The manifest as pretty JSON, keys in the order of reference §2.3.
    pub fn to_json_pretty(&self) -> String {
        pretty(self)
    }
}

impl OutputTableManifest {
    /// Reads an output table manifest strictly. Any problem — invalid JSON, a 0-byte file, an
    /// unknown key, a wrong type, a broken rule — is
    /// `Failed to parse manifest file "<file>" as "json": <reason>`.
    pub fn from_json(file: &str, text: &str) -> Result<Self, ContractError> {
        let manifest: Self =
            read(file, text, &OUTPUT_TABLE_MANIFEST, true).map_err(|e| e.in_manifest(file))?;
        manifest.validate().map_err(|e| e.in_manifest(file))?;
        Ok(manifest)
    }

    /// The mutual exclusions of reference §1.2 (`schema` vs `columns`/`primary_key`/...,
    /// `description` vs `table_metadata.KBC.description`, legacy vs structured delete filters).
    pub fn validate(&self) -> Result<(), ContractError> {
        let empty: &[String] = &[];
        validate_table_rules(
            "root",
            &TableRules {
                schema: self.schema.as_deref(),
                columns: self.columns.as_deref().unwrap_or(empty),
                metadata: self.metadata.as_ref().is_some_and(|m| !m.is_empty()),
                column_metadata: self.column_metadata.as_ref().is_some_and(|m| !m.is_empty()),
                primary_key: self.primary_key.as_deref().unwrap_or(empty),
                distribution_key: self.distribution_key.as_deref().unwrap_or(empty),
                description: self.description.is_some(),
                table_metadata: self.table_metadata.as_ref(),
                delete_where_column: self.delete_where_column.as_deref(),
                delete_where_values: self.delete_where_values.as_deref().unwrap_or(&[]),
                delete_where: self.delete_where.as_deref(),
            },
        )
    }

    /// The manifest as pretty JSON; absent keys are not written.
    pub fn to_json_pretty(&self) -> String {
        pretty(self)
    }
}

impl OutputFileManifest {
    /// Reads an output file manifest strictly, like [`OutputTableManifest::from_json`].
    pub fn from_json(file: &str, text: &str) -> Result<Self, ContractError> {
        read(file, text, &OUTPUT_FILE_MANIFEST, true).map_err(|e| e.in_manifest(file))
    }

    /// The manifest as pretty JSON; absent keys are not written.
    pub fn to_json_pretty(&self) -> String {
        pretty(self)
    }
}

static STORED_METADATA: Shape = Shape::Object(&[
    leaf("id"),
    leaf("key"),
    leaf("value"),
    leaf("provider"),
    leaf("timestamp"),
]);

static INPUT_TABLE_MANIFEST: Shape = Shape::Object(&[
    leaf("id"),
    leaf("uri"),
    leaf("name"),
    leaf("primary_key"),
    leaf("distribution_key"),
    leaf("created"),
    leaf("last_change_date"),
    leaf("last_import_date"),
    leaf("description"),
    leaf("s3"),
    leaf("abs"),
    leaf("columns"),
    field("metadata", Shape::ArrayOf(&STORED_METADATA)),
    field(
        "column_metadata",
        Shape::MapOf(&Shape::ArrayOf(&STORED_METADATA)),
    ),
    field("schema", Shape::Ref(&SCHEMA)),
]);

static INPUT_FILE_MANIFEST: Shape = Shape::Object(&[
    leaf("id"),
    leaf("name"),
    leaf("created"),
    leaf("is_public"),
    leaf("is_encrypted"),
    leaf("is_sliced"),
    leaf("tags"),
    leaf("max_age_days"),
    leaf("size_bytes"),
]);

static OUTPUT_TABLE_MANIFEST: Shape = Shape::Object(&[
    leaf("destination"),
    leaf("columns"),
    leaf("incremental"),
    leaf("primary_key"),
    leaf("distribution_key"),
    leaf("delimiter"),
    leaf("enclosure"),
    field("metadata", Shape::Ref(&METADATA)),
    field("column_metadata", Shape::Ref(&COLUMN_METADATA)),
    leaf("delete_where_column"),
    leaf("delete_where_values"),
    leaf("delete_where_operator"),
    field("delete_where", Shape::Ref(&DELETE_WHERE)),
    leaf("write_always"),
    leaf("tags"),
    leaf("manifest_type"),
    leaf("has_header"),
    leaf("description"),
    leaf("table_metadata"),
    field("schema", Shape::Ref(&SCHEMA)),
    leaf("deduplication_strategy"),
    leaf("unload_strategy"),
]);

static OUTPUT_FILE_MANIFEST: Shape = Shape::Object(&[
    leaf("tags"),
    leaf("is_public"),
    leaf("is_permanent"),
    leaf("is_encrypted"),
    leaf("notify"),
]);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::testing::assert_shape;

    #[test]
    fn shapes_match_structs() {
        assert_shape::<InputTableManifest>(&INPUT_TABLE_MANIFEST);
        assert_shape::<StoredMetadata>(&STORED_METADATA);
        assert_shape::<InputFileManifest>(&INPUT_FILE_MANIFEST);
        assert_shape::<OutputTableManifest>(&OUTPUT_TABLE_MANIFEST);
        assert_shape::<OutputFileManifest>(&OUTPUT_FILE_MANIFEST);
    }

    #[test]
    fn output_manifest_is_absent_aware() {
        let m = OutputTableManifest::from_json("m", r#"{"incremental": false}"#).unwrap();
        assert_eq!(m.incremental, Some(false));
        assert_eq!(m.primary_key, None);
        assert_eq!(m.to_json_pretty(), "{\n  \"incremental\": false\n}");
    }

    #[test]
    fn empty_output_manifest_is_invalid() {
        let err = OutputFileManifest::from_json("out/files/a.manifest", "").unwrap_err();
        assert!(
            err.to_string().starts_with(
                r#"Failed to parse manifest file "out/files/a.manifest" as "json": EOF"#
            ),
            "{err}"
        );
    }

    #[test]
    fn input_manifest_is_lenient() {
        let m = InputTableManifest::from_json(
            "in/tables/a.csv.manifest",
            r#"{"id": "in.c-a.b", "columns": ["a"], "column_metadata": [], "future": 1}"#,
        )
        .unwrap();
        assert_eq!(m.columns, ["a"]);
    }
}

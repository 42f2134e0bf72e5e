//! Output mapping items of `config.json`: `storage.output.tables[]`, `storage.output.files[]` and
//! `storage.output.table_files`, with every key and default of reference §1.2 and their rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{
    COLUMN_METADATA, DELETE_WHERE, DeduplicationStrategy, DeleteWhere, METADATA, MetadataItem,
    Operator, SCHEMA, SchemaColumn, yes,
};
use crate::ContractError;
use crate::shape::{Shape, de, field, leaf};

/// One `storage.output.tables[]` item: how `out/tables/<source>` is loaded into Storage.
///
/// Example: `{"source": "data.csv", "destination": "out.c-main.data", "incremental": true,
/// "primary_key": ["id"]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputTable {
    /// The file (or sliced directory) under `out/tables`. Optional (seed 003): when unset, the
    /// file is named after the destination table; see [`OutputTable::effective_source`].
    #[serde(
        default,
        deserialize_with = "de::empty_string_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub source: Option<String>,
    /// The Storage table id, `stage.bucket.table` (required).
    pub destination: String,
    /// Append instead of replacing the table; default `false`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub incremental: bool,
    /// Primary key columns; default `[]`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub primary_key: Vec<String>,
    /// Column names; setting them means the CSV has no header row. Default `[]`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub columns: Vec<String>,
    /// Distribution key columns; default `[]`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub distribution_key: Vec<String>,
    /// Legacy delete filter column.
    #[serde(
        default,
        deserialize_with = "de::empty_string_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub delete_where_column: Option<String>,
    /// Legacy delete filter values; default `[]`, required when the column is set.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub delete_where_values: Vec<Value>,
    /// Legacy delete filter operator, `eq` (default) or `ne`; `""`/`null` read as `eq`.
    #[serde(default, deserialize_with = "super::common::delete_where_operator")]
    pub delete_where_operator: Operator,
    /// Structured delete rules (cannot be combined with `delete_where_column`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_where: Option<Vec<DeleteWhere>>,
    /// CSV delimiter; default `,`.
    #[serde(default = "comma")]
    pub delimiter: String,
    /// CSV enclosure; default `"`.
    #[serde(default = "quote")]
    pub enclosure: String,
    /// Table metadata `[{key, value}]`; default `[]`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub metadata: Vec<MetadataItem>,
    /// Column metadata `{column: [{key, value}]}`; default empty.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub column_metadata: BTreeMap<String, Vec<MetadataItem>>,
    /// Load this table even when the job fails; default `false`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub write_always: bool,
    /// Tags of the uploaded staging file; default `[]`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub tags: Vec<String>,
    /// Native-types manifest marker (`out` / `output`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_type: Option<String>,
    /// With `columns` or `schema`: the file has a header row to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_header: Option<bool>,
    /// Table description (becomes `KBC.description`).
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

pub(crate) fn comma() -> String {
    ",".to_owned()
}

pub(crate) fn quote() -> String {
    "\"".to_owned()
}

impl OutputTable {
    /// The file under `out/tables`: `source`, else `<destination>.csv` (seed 003: "the CSV file
    /// is expected to have the same name as the destination table").
    pub fn effective_source(&self) -> String {
        self.source
            .clone()
            .unwrap_or_else(|| format!("{}.csv", self.destination))
    }

    /// The cross-field rules of an output table; `path` is e.g. `storage.output.tables.0`.
    pub fn validate(&self, path: &str) -> Result<(), ContractError> {
        if self.destination.is_empty() {
            return Err(ContractError::EmptyValue {
                path: format!("{path}.destination"),
                got: "\"\"".to_owned(),
            });
        }
        validate_table_rules(
            path,
            &TableRules {
                schema: self.schema.as_deref(),
                columns: &self.columns,
                metadata: !self.metadata.is_empty(),
                column_metadata: !self.column_metadata.is_empty(),
                primary_key: &self.primary_key,
                distribution_key: &self.distribution_key,
                description: self.description.is_some(),
                table_metadata: self.table_metadata.as_ref(),
                delete_where_column: self.delete_where_column.as_deref(),
                delete_where_values: &self.delete_where_values,
                delete_where: self.delete_where.as_deref(),
            },
        )
    }
}

/// The keys the output-table rules look at; shared by mapping items and output manifests.
pub(crate) struct TableRules<'a> {
    pub(crate) schema: Option<&'a [SchemaColumn]>,
    pub(crate) columns: &'a [String],
    pub(crate) metadata: bool,
    pub(crate) column_metadata: bool,
    pub(crate) primary_key: &'a [String],
    pub(crate) distribution_key: &'a [String],
    pub(crate) description: bool,
    pub(crate) table_metadata: Option<&'a Map<String, Value>>,
    pub(crate) delete_where_column: Option<&'a str>,
    pub(crate) delete_where_values: &'a [Value],
    pub(crate) delete_where: Option<&'a [DeleteWhere]>,
}

/// The mutual exclusions of reference §1.2 for an output table node.
pub(crate) fn validate_table_rules(path: &str, t: &TableRules<'_>) -> Result<(), ContractError> {
    let invalid = |message: String| ContractError::Invalid {
        path: path.to_owned(),
        message,
    };
    if t.schema.is_some() {
        for (key, set) in [
            ("columns", !t.columns.is_empty()),
            ("metadata", t.metadata),
            ("column_metadata", t.column_metadata),
            ("primary_key", !t.primary_key.is_empty()),
            ("distribution_key", !t.distribution_key.is_empty()),
        ] {
            if set {
                return Err(invalid(format!(
                    "Only one of \"schema\" or \"{key}\" can be defined."
                )));
            }
        }
    }
    if t.description
        && t.table_metadata
            .is_some_and(|m| m.contains_key("KBC.description"))
    {
        return Err(invalid(
            r#"Only one of "description" or "table_metadata.KBC.description" can be defined."#
                .to_owned(),
        ));
    }
    if t.delete_where_column.is_some() && t.delete_where_values.is_empty() {
        return Err(invalid(
            r#"When "delete_where_column" is set, "delete_where_values" must be provided."#
                .to_owned(),
        ));
    }
    if let Some(rules) = t.delete_where {
        if t.delete_where_column.is_some() {
            return Err(invalid(
                r#"The "delete_where" and "delete_where_column" parameters cannot be used together."#
                    .to_owned(),
            ));
        }
        for (i, rule) in rules.iter().enumerate() {
            let rule_path = format!("{path}.delete_where.{i}");
            if rule.changed_since.is_none()
                && rule.changed_until.is_none()
                && rule.where_filters.is_empty()
            {
                return Err(ContractError::Invalid {
                    path: rule_path,
                    message: r#"At least one of "changed_since", "changed_until" or "where_filters" must be defined."#
                        .to_owned(),
                });
            }
            for (j, filter) in rule.where_filters.iter().enumerate() {
                if filter.value_source_count() != 1 {
                    return Err(ContractError::Invalid {
                        path: format!("{rule_path}.where_filters.{j}"),
                        message: r#"Exactly one of "values_from_set", "values_from_workspace" or "values_from_storage" must be defined."#
                            .to_owned(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// One `storage.output.files[]` item: properties of an uploaded `out/files/<source>`.
///
/// Example: `{"source": "image.jpg", "is_public": true, "tags": ["image"]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFile {
    /// The file under `out/files` (required).
    pub source: String,
    /// Tags of the uploaded file; default `[]`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub tags: Vec<String>,
    /// Whether the file is public; default `false`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_public: bool,
    /// Whether the file is kept forever (else it expires after 15 days); default `false`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_permanent: bool,
    /// Whether the file is stored encrypted; default `true`.
    #[serde(default = "yes")]
    pub is_encrypted: bool,
    /// Whether project members are notified; default `false`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub notify: bool,
}

impl OutputFile {
    /// An output file mapping for `source` with every default.
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            tags: Vec::new(),
            is_public: false,
            is_permanent: false,
            is_encrypted: true,
            notify: false,
        }
    }

    /// The rules of an output file; `path` is e.g. `storage.output.files.0`.
    pub fn validate(&self, path: &str) -> Result<(), ContractError> {
        if self.source.is_empty() {
            return Err(ContractError::EmptyValue {
                path: format!("{path}.source"),
                got: "\"\"".to_owned(),
            });
        }
        Ok(())
    }
}

/// `storage.output.table_files`: how tables are uploaded as plain files in file-storage-only mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableFiles {
    /// Tags of the uploaded files; default `[]`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub tags: Vec<String>,
    /// Whether the files are kept forever; default `true`.
    #[serde(default = "yes")]
    pub is_permanent: bool,
}

pub(crate) static OUTPUT_TABLE: Shape = Shape::Object(&[
    leaf("source"),
    leaf("destination"),
    leaf("incremental"),
    leaf("primary_key"),
    leaf("columns"),
    leaf("distribution_key"),
    leaf("delete_where_column"),
    leaf("delete_where_values"),
    leaf("delete_where_operator"),
    field("delete_where", Shape::Ref(&DELETE_WHERE)),
    leaf("delimiter"),
    leaf("enclosure"),
    field("metadata", Shape::Ref(&METADATA)),
    field("column_metadata", Shape::Ref(&COLUMN_METADATA)),
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

pub(crate) static OUTPUT_FILE: Shape = Shape::Object(&[
    leaf("source"),
    leaf("tags"),
    leaf("is_public"),
    leaf("is_permanent"),
    leaf("is_encrypted"),
    leaf("notify"),
]);

pub(crate) static TABLE_FILES: Shape = Shape::Object(&[leaf("tags"), leaf("is_permanent")]);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::testing::assert_shape;

    #[test]
    fn shapes_match_structs() {
        assert_shape::<OutputTable>(&OUTPUT_TABLE);
        assert_shape::<OutputFile>(&OUTPUT_FILE);
        assert_shape::<TableFiles>(&TABLE_FILES);
    }

    #[test]
    fn source_defaults_to_destination_csv() {
        let t: OutputTable = serde_json::from_str(r#"{"destination":"out.c-main.data"}"#).unwrap();
        assert_eq!(t.effective_source(), "out.c-main.data.csv");
        assert_eq!(t.delimiter, ",");
        assert_eq!(t.enclosure, "\"");
    }
}

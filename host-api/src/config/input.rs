//! Input mapping items of `config.json`: `storage.input.tables[]` and `storage.input.files[]`,
//! with every key and default of reference §1.2 and their cross-field rules.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::common::{Operator, yes};
use crate::ContractError;
use crate::shape::{Shape, de, field, leaf};

/// The default number of files one input file mapping downloads when `limit` is not set
/// (seed 003: "the results of a file mapping are limited to 10 files").
pub const DEFAULT_FILE_LIMIT: u64 = 10;

/// One `storage.input.tables[]` item: a Storage table exported to `in/tables/<destination>`.
///
/// Example: `{"source": "in.c-main.test", "destination": "source.csv", "where_column": "Status",
/// "where_values": ["Closed"]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputTable {
    /// The Storage table id, e.g. `in.c-main.test` (required, non-empty).
    pub source: String,
    /// The branch to read the table from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_branch_id: Option<Value>,
    /// The file name under `in/tables`; defaults to `source` (no `.csv` added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Only rows changed in the last N days; an integer or an integer string (`"2"`), `null` = 0.
    #[serde(
        default,
        deserialize_with = "days",
        skip_serializing_if = "Option::is_none"
    )]
    pub days: Option<u64>,
    /// Only rows changed since this time (any strtotime form, or `adaptive`); `null` = `""`.
    #[serde(
        default,
        deserialize_with = "de::empty_string_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub changed_since: Option<String>,
    /// The columns to export; `[]` = all.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub columns: Vec<String>,
    /// Column types for workspace loads; `[]` by default.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub column_types: Vec<ColumnType>,
    /// Filter column.
    #[serde(
        default,
        deserialize_with = "de::empty_string_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub where_column: Option<String>,
    /// Filter values (scalars); `[]` by default.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub where_values: Vec<Value>,
    /// `eq` (IN, default) or `ne` (NOT IN); `""` and `null` read as `eq`.
    #[serde(default, deserialize_with = "super::common::where_operator")]
    pub where_operator: Operator,
    /// At most this many rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Overwrite an existing workspace table; default `false`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub overwrite: bool,
    /// Legacy: `true` becomes `load_type: VIEW` when `load_type` is unset; never written back.
    #[serde(default, skip_serializing)]
    pub use_view: Option<bool>,
    /// Workspace load type: `COPY`, `CLONE`, `VIEW` or `AUTO` (case-insensitive on input).
    #[serde(
        default,
        deserialize_with = "load_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub load_type: Option<LoadType>,
    /// Keep the `_timestamp` column in workspace loads; default `true`.
    #[serde(default = "yes")]
    pub keep_internal_timestamp_column: bool,
    /// The export file type; dropped when empty.
    #[serde(
        default,
        deserialize_with = "de::empty_string_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub file_type: Option<String>,
}

/// One `column_types[]` entry of an input table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnType {
    /// The source column (required).
    pub source: String,
    /// The type, e.g. `VARCHAR`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// The destination column name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The length, e.g. `"255"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Value>,
    /// Whether nulls are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// Whether empty strings become nulls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert_empty_values_to_null: Option<bool>,
    /// The column compression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Value>,
}

/// How a table is loaded into a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LoadType {
    /// Copy the data.
    Copy,
    /// Clone the table.
    Clone,
    /// Create a view.
    View,
    /// Let the backend choose.
    Auto,
}

impl InputTable {
    /// The file name under `in/tables`: `destination`, else the table id itself.
    pub fn effective_destination(&self) -> &str {
        self.destination.as_deref().unwrap_or(&self.source)
    }

    /// The exported columns: `columns`, else the `source` of each `column_types` entry.
    pub fn effective_columns(&self) -> Vec<String> {
        if self.columns.is_empty() {
            self.column_types.iter().map(|c| c.source.clone()).collect()
        } else {
            self.columns.clone()
        }
    }

    /// Applies the legacy `use_view` (→ `load_type: VIEW` when unset) and drops it.
    pub(crate) fn normalize(&mut self) {
        if self.use_view.take() == Some(true) && self.load_type.is_none() {
            self.load_type = Some(LoadType::View);
        }
    }

    /// The cross-field rules of an input table; `path` is e.g. `storage.input.tables.0`.
    pub fn validate(&self, path: &str) -> Result<(), ContractError> {
        let invalid = |message: String| ContractError::Invalid {
            path: path.to_owned(),
            message,
        };
        if self.source.is_empty() {
            return Err(ContractError::EmptyValue {
                path: format!("{path}.source"),
                got: "\"\"".to_owned(),
            });
        }
        if self.days.unwrap_or(0) != 0 && self.changed_since.is_some() {
            return Err(invalid(
                r#"Cannot set both parameters "days" and "changed_since"."#.to_owned(),
            ));
        }
        let has_column = self
            .where_column
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty());
        if has_column && self.where_values.is_empty() {
            return Err(invalid(
                r#"When "where_column" is set, "where_values" must be provided."#.to_owned(),
            ));
        }
        if !has_column && !self.where_values.is_empty() {
            return Err(invalid(
                r#"When "where_values" is set, non-empty string in "where_column" must be provided."#
                    .to_owned(),
            ));
        }
        if !self.columns.is_empty() && !self.column_types.is_empty() {
            let typed: Vec<&str> = self
                .column_types
                .iter()
                .map(|c| c.source.as_str())
                .collect();
            let surplus = |a: &[&str], b: &[&str]| -> Vec<String> {
                a.iter()
                    .filter(|x| !b.contains(x))
                    .map(|x| format!("\"{x}\""))
                    .collect()
            };
            let columns: Vec<&str> = self.columns.iter().map(String::as_str).collect();
            for (name, extra) in [
                ("columns", surplus(&columns, &typed)),
                ("column_types", surplus(&typed, &columns)),
            ] {
                if !extra.is_empty() {
                    return Err(invalid(format!(
                        "Both \"columns\" and \"column_types\" are set, \"{name}\" field contains surplus columns: {}.",
                        extra.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }
}

/// `days`: an integer, an integer-valued string (seed 003 has `"days": "2"`) or `null`.
fn days<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => Ok(s.trim().parse().ok()),
        Some(other) => Err(serde::de::Error::custom(format!(
            "invalid type: {other}, expected a non-negative integer"
        ))),
    }
}

/// `load_type`: upper-cased, then one of `COPY`, `CLONE`, `VIEW`, `AUTO`.
fn load_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LoadType>, D::Error> {
    let Some(raw) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    match raw.to_uppercase().as_str() {
        "" => Ok(None),
        "COPY" => Ok(Some(LoadType::Copy)),
        "CLONE" => Ok(Some(LoadType::Clone)),
        "VIEW" => Ok(Some(LoadType::View)),
        "AUTO" => Ok(Some(LoadType::Auto)),
        _ => Err(serde::de::Error::custom(format!(
            "unknown variant `{raw}`, expected one of `COPY`, `CLONE`, `VIEW`, `AUTO`"
        ))),
    }
}

/// One `storage.input.files[]` item: Storage files downloaded to `in/files/<id>_<name>`.
///
/// Example: `{"tags": ["fooBar"], "filter_by_run_id": true}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    /// Files carrying all these tags; removed when empty.
    #[serde(
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
    /// `source.tags`: include/exclude tag filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<FileSource>,
    /// An Elasticsearch query; removed when empty.
    #[serde(
        default,
        deserialize_with = "de::empty_string_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub query: Option<String>,
    /// Explicit file ids; removed when empty.
    #[serde(
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub file_ids: Vec<Value>,
    /// At most this many files; when unset the project default of 10 applies (seed 003), and
    /// that value is what serialising writes.
    #[serde(default, serialize_with = "file_limit")]
    pub limit: Option<u64>,
    /// Overwrite existing files; default `true` (`false` is rejected for local mapping).
    #[serde(default = "yes")]
    pub overwrite: bool,
    /// Deprecated: tags added to the files after a successful run; removed when empty.
    #[serde(
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub processed_tags: Vec<String>,
    /// Only files created since this time, or `adaptive`.
    #[serde(
        default,
        deserialize_with = "de::empty_string_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub changed_since: Option<String>,
    /// Only files uploaded by a job with the same or a parent run id (seed 003); default `false`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub filter_by_run_id: bool,
}

/// `source` of an input file mapping: `{tags: [{name, match}]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileSource {
    /// Tag filters.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub tags: Vec<SourceTag>,
}

/// One `source.tags[]` filter (also the shape of a file state's tags, reference §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceTag {
    /// The tag (required, non-empty).
    pub name: String,
    /// `include` (default) or `exclude`.
    #[serde(default, rename = "match")]
    pub match_kind: TagMatch,
}

/// Whether a source tag must be present or absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagMatch {
    /// The file must carry the tag.
    #[default]
    Include,
    /// The file must not carry the tag.
    Exclude,
}

fn file_limit<S: Serializer>(limit: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(limit.unwrap_or(DEFAULT_FILE_LIMIT))
}

impl InputFile {
    /// The number of files to download: `limit`, else 10.
    pub fn effective_limit(&self) -> u64 {
        self.limit.unwrap_or(DEFAULT_FILE_LIMIT)
    }

    /// The cross-field rules of an input file mapping; `path` is e.g. `storage.input.files.0`.
    ///
    /// `limit` may accompany `file_ids`: serialising always writes the effective limit, so a
    /// normalised file must still pass.
    pub fn validate(&self, path: &str) -> Result<(), ContractError> {
        let invalid = |message: &str| ContractError::Invalid {
            path: path.to_owned(),
            message: message.to_owned(),
        };
        let source_tags = self.source.as_ref().is_some_and(|s| !s.tags.is_empty());
        if let Some(source) = &self.source {
            for (i, tag) in source.tags.iter().enumerate() {
                if tag.name.is_empty() {
                    return Err(ContractError::EmptyValue {
                        path: format!("{path}.source.tags.{i}.name"),
                        got: "\"\"".to_owned(),
                    });
                }
            }
        }
        if self.tags.is_empty() && !source_tags && self.query.is_none() && self.file_ids.is_empty()
        {
            return Err(invalid(
                r#"At least one of "tags", "source.tags", "query" or "file_ids" parameters must be defined."#,
            ));
        }
        if !self.tags.is_empty() && source_tags {
            return Err(invalid(
                r#"Both "tags" and "source.tags" cannot be defined."#,
            ));
        }
        if self.query.is_some() && self.changed_since.is_some() {
            return Err(invalid(
                r#"The "query" and "changed_since" parameters cannot be used together."#,
            ));
        }
        if !self.file_ids.is_empty()
            && (!self.tags.is_empty()
                || self.source.is_some()
                || self.query.is_some()
                || self.changed_since.is_some()
                || self.filter_by_run_id)
        {
            return Err(invalid(
                r#"The "file_ids" parameter can only be combined with "overwrite" and "processed_tags"."#,
            ));
        }
        if !self.overwrite {
            return Err(invalid("Overwrite cannot be turned off for local mapping."));
        }
        Ok(())
    }
}

pub(crate) static COLUMN_TYPE: Shape = Shape::Object(&[
    leaf("source"),
    leaf("type"),
    leaf("destination"),
    leaf("length"),
    leaf("nullable"),
    leaf("convert_empty_values_to_null"),
    leaf("compression"),
]);

pub(crate) static INPUT_TABLE: Shape = Shape::Object(&[
    leaf("source"),
    leaf("source_branch_id"),
    leaf("destination"),
    leaf("days"),
    leaf("changed_since"),
    leaf("columns"),
    field("column_types", Shape::ArrayOf(&COLUMN_TYPE)),
    leaf("where_column"),
    leaf("where_values"),
    leaf("where_operator"),
    leaf("limit"),
    leaf("overwrite"),
    leaf("use_view"),
    leaf("load_type"),
    leaf("keep_internal_timestamp_column"),
    leaf("file_type"),
]);

static SOURCE_TAG: Shape = Shape::Object(&[leaf("name"), leaf("match")]);
static FILE_SOURCE: Shape = Shape::Object(&[field("tags", Shape::ArrayOf(&SOURCE_TAG))]);

pub(crate) static INPUT_FILE: Shape = Shape::Object(&[
    leaf("tags"),
    field("source", Shape::Ref(&FILE_SOURCE)),
    leaf("query"),
    leaf("file_ids"),
    leaf("limit"),
    leaf("overwrite"),
    leaf("processed_tags"),
    leaf("changed_since"),
    leaf("filter_by_run_id"),
]);

/// The shape of a file state's tag list entry (shared with the state file).
pub(crate) static SOURCE_TAG_SHAPE: &Shape = &SOURCE_TAG;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::testing::assert_shape;

    #[test]
    fn shapes_match_structs() {
        assert_shape::<InputTable>(&INPUT_TABLE);
        assert_shape::<ColumnType>(&COLUMN_TYPE);
        assert_shape::<InputFile>(&INPUT_FILE);
        assert_shape::<FileSource>(&FILE_SOURCE);
        assert_shape::<SourceTag>(&SOURCE_TAG);
    }

    #[test]
    fn days_accepts_integer_strings() {
        let t: InputTable = serde_json::from_str(r#"{"source":"a","days":"2"}"#).unwrap();
        assert_eq!(t.days, Some(2));
        let t: InputTable = serde_json::from_str(r#"{"source":"a","days":null}"#).unwrap();
        assert_eq!(t.days, None);
        assert!(serde_json::from_str::<InputTable>(r#"{"source":"a","days":"x"}"#).is_err());
    }

    #[test]
    fn use_view_becomes_load_type() {
        let mut t: InputTable = serde_json::from_str(r#"{"source":"a","use_view":true}"#).unwrap();
        t.normalize();
        assert_eq!(t.load_type, Some(LoadType::View));
        assert_eq!(t.use_view, None);
    }

    #[test]
    fn file_limit_defaults_to_ten() {
        let f: InputFile = serde_json::from_str(r#"{"tags":["a"]}"#).unwrap();
        assert_eq!(f.effective_limit(), 10);
        assert_eq!(serde_json::to_value(&f).unwrap()["limit"], 10);
    }
}

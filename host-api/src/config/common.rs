//! Types shared by the mapping items of `config.json` and the manifests: the `eq`/`ne` operator,
//! metadata entries, `delete_where` rules and native-types `schema` columns (reference §1.2).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::shape::{Shape, field, leaf};

/// The comparison of a `where_*` / `delete_where_*` filter: `eq` (IN) or `ne` (NOT IN).
///
/// `""` and `null` read as `eq`; anything else fails with `Invalid operator in where_operator "x"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operator {
    /// Keep (or delete) rows whose column value is in the list.
    #[default]
    Eq,
    /// Keep (or delete) rows whose column value is not in the list.
    Ne,
}

impl Operator {
    /// `eq` or `ne`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
        }
    }

    /// Parses an operator as the key `key` would: `eq`, `ne`, `""` or absent (→ `eq`).
    pub fn parse(value: Option<&str>, key: &str) -> Result<Self, String> {
        match value {
            None | Some("") | Some("eq") => Ok(Self::Eq),
            Some("ne") => Ok(Self::Ne),
            Some(other) => Err(format!("Invalid operator in {key} \"{other}\"")),
        }
    }
}

fn operator_named<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Operator, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    Operator::parse(raw.as_deref(), key).map_err(serde::de::Error::custom)
}

/// Deserialises `where_operator`.
pub(crate) fn where_operator<'de, D: Deserializer<'de>>(d: D) -> Result<Operator, D::Error> {
    operator_named(d, "where_operator")
}

/// Deserialises `delete_where_operator`.
pub(crate) fn delete_where_operator<'de, D: Deserializer<'de>>(d: D) -> Result<Operator, D::Error> {
    operator_named(d, "delete_where_operator")
}

/// Deserialises an optional `delete_where_operator` (manifests: absent stays `None`).
pub(crate) fn opt_delete_where_operator<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Operator>, D::Error> {
    delete_where_operator(d).map(Some)
}

/// Deserialises the `operator` of a `delete_where` filter.
pub(crate) fn filter_operator<'de, D: Deserializer<'de>>(d: D) -> Result<Operator, D::Error> {
    operator_named(d, "operator")
}

/// One `{key, value}` metadata entry of an output table or column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataItem {
    /// The metadata key, e.g. `KBC.description`.
    pub key: String,
    /// The value (a scalar).
    pub value: Value,
}

/// One `delete_where[]` rule: rows changed in a time window and/or matching filters are deleted
/// before the load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeleteWhere {
    /// Delete rows changed since this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_since: Option<String>,
    /// Delete rows changed until this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_until: Option<String>,
    /// Column filters, AND-ed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub where_filters: Vec<WhereFilter>,
}

/// One filter of a `delete_where[]` rule; exactly one value source must be set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhereFilter {
    /// The column compared.
    pub column: String,
    /// `eq` (IN) or `ne` (NOT IN); default `eq`.
    #[serde(default, deserialize_with = "filter_operator")]
    pub operator: Operator,
    /// Literal values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_from_set: Option<Vec<Value>>,
    /// Values read from a workspace table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_from_workspace: Option<ValuesFromWorkspace>,
    /// Values read from a Storage table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_from_storage: Option<ValuesFromStorage>,
}

impl WhereFilter {
    /// How many value sources are set (the rule is: exactly one).
    pub fn value_source_count(&self) -> usize {
        usize::from(self.values_from_set.is_some())
            + usize::from(self.values_from_workspace.is_some())
            + usize::from(self.values_from_storage.is_some())
    }
}

/// `values_from_workspace` of a delete filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValuesFromWorkspace {
    /// The workspace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// The workspace table (required).
    pub table: String,
    /// The column holding the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

/// `values_from_storage` of a delete filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValuesFromStorage {
    /// The bucket id (required).
    pub bucket_id: String,
    /// The table name (required).
    pub table: String,
    /// The column holding the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

/// One native-types `schema[]` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaColumn {
    /// The column name (required).
    pub name: String,
    /// The column's types, per backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataType>,
    /// Whether the column accepts nulls; default `true`.
    #[serde(default = "yes")]
    pub nullable: bool,
    /// Whether the column is part of the primary key; default `false`.
    #[serde(default)]
    pub primary_key: bool,
    /// Whether the column is part of the distribution key; default `false`.
    #[serde(default)]
    pub distribution_key: bool,
    /// A description of the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Column metadata `{key: value}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// The `data_type` of a schema column: a backend-neutral `base` type and per-backend types.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataType {
    /// The backend-neutral type, e.g. `{"type": "STRING"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<TypeSpec>,
    /// The Snowflake type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snowflake: Option<TypeSpec>,
    /// The BigQuery type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bigquery: Option<TypeSpec>,
    /// The Synapse type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synapse: Option<TypeSpec>,
    /// The Exasol type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exasol: Option<TypeSpec>,
    /// The Teradata type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teradata: Option<TypeSpec>,
}

/// One type of a column: `{type, length?, default?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeSpec {
    /// The type name, e.g. `VARCHAR` (required).
    #[serde(rename = "type")]
    pub type_name: String,
    /// The length or precision, e.g. `"255"` or `"38,0"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Value>,
    /// The default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// How an incremental load treats duplicate primary keys: `insert` or `upsert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeduplicationStrategy {
    /// Insert every row.
    Insert,
    /// Update rows with an existing primary key.
    Upsert,
}

pub(crate) fn yes() -> bool {
    true
}

pub(crate) static METADATA_ITEM: Shape = Shape::Object(&[leaf("key"), leaf("value")]);
pub(crate) static METADATA: Shape = Shape::ArrayOf(&METADATA_ITEM);
pub(crate) static COLUMN_METADATA: Shape = Shape::MapOf(&METADATA);

static VALUES_FROM_WORKSPACE: Shape =
    Shape::Object(&[leaf("workspace_id"), leaf("table"), leaf("column")]);
static VALUES_FROM_STORAGE: Shape =
    Shape::Object(&[leaf("bucket_id"), leaf("table"), leaf("column")]);
static WHERE_FILTER: Shape = Shape::Object(&[
    leaf("column"),
    leaf("operator"),
    leaf("values_from_set"),
    field("values_from_workspace", Shape::Ref(&VALUES_FROM_WORKSPACE)),
    field("values_from_storage", Shape::Ref(&VALUES_FROM_STORAGE)),
]);
static DELETE_WHERE_ITEM: Shape = Shape::Object(&[
    leaf("changed_since"),
    leaf("changed_until"),
    field("where_filters", Shape::ArrayOf(&WHERE_FILTER)),
]);
pub(crate) static DELETE_WHERE: Shape = Shape::ArrayOf(&DELETE_WHERE_ITEM);

static TYPE_SPEC: Shape = Shape::Object(&[leaf("type"), leaf("length"), leaf("default")]);
static DATA_TYPE: Shape = Shape::Object(&[
    field("base", Shape::Ref(&TYPE_SPEC)),
    field("snowflake", Shape::Ref(&TYPE_SPEC)),
    field("bigquery", Shape::Ref(&TYPE_SPEC)),
    field("synapse", Shape::Ref(&TYPE_SPEC)),
    field("exasol", Shape::Ref(&TYPE_SPEC)),
    field("teradata", Shape::Ref(&TYPE_SPEC)),
]);
static SCHEMA_COLUMN: Shape = Shape::Object(&[
    leaf("name"),
    field("data_type", Shape::Ref(&DATA_TYPE)),
    leaf("nullable"),
    leaf("primary_key"),
    leaf("distribution_key"),
    leaf("description"),
    leaf("metadata"),
]);
pub(crate) static SCHEMA: Shape = Shape::ArrayOf(&SCHEMA_COLUMN);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::testing::assert_shape;

    #[test]
    fn shapes_match_structs() {
        assert_shape::<MetadataItem>(&METADATA_ITEM);
        assert_shape::<ValuesFromWorkspace>(&VALUES_FROM_WORKSPACE);
        assert_shape::<ValuesFromStorage>(&VALUES_FROM_STORAGE);
        assert_shape::<WhereFilter>(&WHERE_FILTER);
        assert_shape::<DeleteWhere>(&DELETE_WHERE_ITEM);
        assert_shape::<TypeSpec>(&TYPE_SPEC);
        assert_shape::<DataType>(&DATA_TYPE);
        assert_shape::<SchemaColumn>(&SCHEMA_COLUMN);
    }

    #[test]
    fn operator_parsing() {
        assert_eq!(Operator::parse(None, "where_operator"), Ok(Operator::Eq));
        assert_eq!(
            Operator::parse(Some(""), "where_operator"),
            Ok(Operator::Eq)
        );
        assert_eq!(
            Operator::parse(Some("ne"), "where_operator"),
            Ok(Operator::Ne)
        );
        assert_eq!(
            Operator::parse(Some("x"), "where_operator").unwrap_err(),
            r#"Invalid operator in where_operator "x""#
        );
    }
}

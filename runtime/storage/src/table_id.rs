//! Table ids (`stage.c-bucket.table`) and column names: parsing and the naming rules Storage
//! enforces before anything touches the database.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::StorageError;

/// Longest table name (the part after the bucket), as in Keboola Storage.
const MAX_TABLE_NAME: usize = 96;
/// Longest column name, as in Keboola Storage.
const MAX_COLUMN_NAME: usize = 64;
/// The hidden per-row change-time column; no user column may use the name.
pub(crate) const TIMESTAMP_COLUMN: &str = "_timestamp";

/// A bucket stage: `in` or `out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Input buckets (`in.c-…`).
    In,
    /// Output buckets (`out.c-…`).
    Out,
}

impl Stage {
    /// `in` or `out`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

impl FromStr for Stage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in" => Ok(Self::In),
            "out" => Ok(Self::Out),
            other => Err(format!("stage must be \"in\" or \"out\", not \"{other}\"")),
        }
    }
}

/// A validated Storage table id, `stage.c-bucket.table` (e.g. `in.c-main.customers`).
///
/// This corresponds to Keboola's table id: the bucket id (`stage.c-bucket`) plus the table name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TableId {
    stage: Stage,
    bucket: String,
    table: String,
}

impl TableId {
    /// Parses and validates `stage.c-bucket.table`.
    pub fn parse(id: &str) -> Result<Self, StorageError> {
        let invalid = |reason: String| StorageError::InvalidTableId {
            id: id.to_owned(),
            reason,
        };
        let parts: Vec<&str> = id.split('.').collect();
        let [stage, bucket, table] = parts.as_slice() else {
            return Err(invalid(
                "expected three dot-separated parts, \"stage.c-bucket.table\"".into(),
            ));
        };
        let stage: Stage = stage.parse().map_err(invalid)?;
        let Some(bucket_name) = bucket.strip_prefix("c-") else {
            return Err(invalid(format!(
                "bucket \"{bucket}\" must start with \"c-\""
            )));
        };
        check_name("bucket", bucket_name, MAX_TABLE_NAME).map_err(invalid)?;
        check_name("table", table, MAX_TABLE_NAME).map_err(invalid)?;
        Ok(Self {
            stage,
            bucket: (*bucket).to_owned(),
            table: (*table).to_owned(),
        })
    }

    /// The stage (`in` or `out`).
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The bucket part including the `c-` prefix, e.g. `c-main`.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The bucket id, e.g. `in.c-main`.
    pub fn bucket_id(&self) -> String {
        format!("{}.{}", self.stage.as_str(), self.bucket)
    }

    /// The table name, e.g. `customers`.
    pub fn name(&self) -> &str {
        &self.table
    }
}

fn check_name(what: &str, name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} name is empty"));
    }
    if name.len() > max {
        return Err(format!("{what} name is longer than {max} characters"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "{what} name \"{name}\" contains \"{bad}\"; only alphanumeric characters, dash and underscore are allowed"
        ));
    }
    Ok(())
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.stage.as_str(), self.bucket, self.table)
    }
}

impl FromStr for TableId {
    type Err = StorageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TableId {
    type Error = StorageError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TableId> for String {
    fn from(id: TableId) -> Self {
        id.to_string()
    }
}

/// Checks one column name: non-empty, at most 64 characters, ASCII letters, digits and
/// underscores only, and not the reserved `_timestamp`.
pub(crate) fn validate_column_name(table: &TableId, column: &str) -> Result<(), StorageError> {
    let invalid = |reason: &str| StorageError::InvalidColumnName {
        table: table.to_string(),
        column: column.to_owned(),
        reason: reason.to_owned(),
    };
    if column.is_empty() {
        return Err(invalid("the name is empty"));
    }
    if column.len() > MAX_COLUMN_NAME {
        return Err(invalid("the name is longer than 64 characters"));
    }
    if !column
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(invalid(
            "only alphanumeric characters and underscores are allowed",
        ));
    }
    if column.eq_ignore_ascii_case(TIMESTAMP_COLUMN) {
        return Err(invalid(
            "\"_timestamp\" is reserved for the row change time",
        ));
    }
    Ok(())
}

/// Checks a list of column names and that no two differ only in letter case.
/// Checks a list of column names for table `table`: each name is valid, none appears twice
/// (ignoring case).
pub fn validate_column_list(table: &TableId, columns: &[String]) -> Result<(), StorageError> {
    let mut seen = std::collections::HashSet::new();
    for column in columns {
        validate_column_name(table, column)?;
        if !seen.insert(column.to_ascii_lowercase()) {
            return Err(StorageError::InvalidColumnName {
                table: table.to_string(),
                column: column.clone(),
                reason: "the column appears more than once".into(),
            });
        }
    }
    Ok(())
}

/// Quotes an SQL identifier for DuckDB.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_ids() {
        let id = TableId::parse("in.c-main.my_table-1").unwrap();
        assert_eq!(id.stage(), Stage::In);
        assert_eq!(id.bucket(), "c-main");
        assert_eq!(id.bucket_id(), "in.c-main");
        assert_eq!(id.name(), "my_table-1");
        assert_eq!(id.to_string(), "in.c-main.my_table-1");
    }

    #[test]
    fn rejects_invalid_ids() {
        for (id, needle) in [
            ("in.c-main", "three dot-separated parts"),
            ("in.c-main.a.b", "three dot-separated parts"),
            ("raw.c-main.t", "stage must be"),
            ("in.main.t", "must start with \"c-\""),
            ("in.c-.t", "bucket name is empty"),
            ("in.c-main.", "table name is empty"),
            ("in.c-main.a b", "contains \" \""),
        ] {
            let err = TableId::parse(id).unwrap_err().to_string();
            assert!(err.contains(needle), "{id}: {err}");
            assert!(err.contains(id), "{id}: {err}");
        }
    }

    #[test]
    fn validates_column_names() {
        let t = TableId::parse("in.c-a.b").unwrap();
        assert!(validate_column_name(&t, "id_1").is_ok());
        assert!(validate_column_name(&t, "").is_err());
        assert!(validate_column_name(&t, "a b").is_err());
        assert!(validate_column_name(&t, "_TIMESTAMP").is_err());
        let dup = validate_column_list(&t, &["a".into(), "A".into()]).unwrap_err();
        assert!(dup.to_string().contains("more than once"), "{dup}");
    }
}

//! Input table mapping (reference §1.2 "Input table", §4.1, §2.2): each `storage.input.tables[]`
//! item is exported from Storage to `in/tables/<destination>` as RFC 4180 CSV (header, every value
//! quoted) with a manifest next to it.
//!
//! - `destination` defaults to the table id, no `.csv` added;
//! - `columns` (or the sources of `column_types`) select and order the columns;
//! - `where_column` + `where_values` + `where_operator` filter rows (`eq` = IN, `ne` = NOT IN);
//! - `days: N` means rows changed in the last N days, `changed_since` any time berth parses,
//!   `changed_since: adaptive` the rows changed since the `lastImportDate` stored for that table
//!   (everything when there is none);
//! - `limit` caps the rows.
//!
//! Each export records `{source, lastImportDate}` for the input-mapping state (§5).

use std::fs;

use berth_host_api::config::{DataType, InputTable, SchemaColumn, TypeSpec};
use berth_host_api::manifest::{InputTableManifest, StoredMetadata};
use berth_host_api::state::TableState;
use berth_host_api::{DataDir, Operator};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::{Stage, StagingError, is_plain_file_name, parse_changed_since, scalar_text};
use berth_storage::{Backend, ExportOptions, MetadataEntry, TableId, TableInfo, WhereOperator};

/// The special `changed_since` value that reads from the stored `lastImportDate`.
pub const ADAPTIVE: &str = "adaptive";

/// One exported input table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StagedTable {
    /// The table id.
    pub source: String,
    /// The file name under `in/tables`.
    pub destination: String,
    /// Rows written.
    pub rows: u64,
    /// Columns written, in order.
    pub columns: Vec<String>,
    /// Size of the CSV file in bytes.
    pub bytes: u64,
}

/// What input table staging produced: the tables and the input-mapping state to store.
#[derive(Debug, Clone, Default)]
pub struct StagedTables {
    /// One entry per mapping item, in mapping order.
    pub tables: Vec<StagedTable>,
    /// `{source, lastImportDate}` per exported table.
    pub state: Vec<TableState>,
}

/// Exports every item of `mapping` into `data`'s `in/tables`. `previous` is the stored
/// input-mapping state (for `adaptive`); `now` anchors relative times.
pub fn stage_input_tables(
    storage: &dyn Backend,
    data: &DataDir,
    mapping: &[InputTable],
    previous: &[TableState],
    now: OffsetDateTime,
    mut on_table: impl FnMut(&StagedTable),
) -> Result<StagedTables, StagingError> {
    let mut staged = StagedTables::default();
    for item in mapping {
        let table = stage_one(storage, data, item, previous, now)?;
        on_table(&table.0);
        staged.state.retain(|s| s.source != table.1.source);
        staged.state.push(table.1);
        staged.tables.push(table.0);
    }
    Ok(staged)
}

fn stage_one(
    storage: &dyn Backend,
    data: &DataDir,
    item: &InputTable,
    previous: &[TableState],
    now: OffsetDateTime,
) -> Result<(StagedTable, TableState), StagingError> {
    let user = |message: String| StagingError::user(Stage::InputMapping, &item.source, message);
    let id = TableId::parse(&item.source).map_err(|e| user(e.to_string()))?;
    let info = storage
        .table(&id)
        .map_err(|e| StagingError::storage(Stage::InputMapping, &item.source, e))?;
    let destination = item.effective_destination();
    if !is_plain_file_name(destination) {
        return Err(user(format!(
            "Invalid destination \"{destination}\" of input table \"{}\": it must be a file name.",
            item.source
        )));
    }
    let options = export_options(item, previous, now)?;
    let path = data.in_tables().join(destination);
    let report = storage
        .export_csv_to_path(&id, &path, &options)
        .map_err(|e| StagingError::storage(Stage::InputMapping, &item.source, e))?;
    let manifest = manifest_for(&info, &report.columns);
    let manifest_path = berth_host_api::paths::manifest_for(&path);
    let text = crate::format::encode(data.format, &manifest)
        .map_err(|e| StagingError::app(Stage::InputMapping, destination, anyhow::anyhow!(e)))?;
    fs::write(&manifest_path, text)
        .map_err(|e| StagingError::app(Stage::InputMapping, destination, e))?;
    let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let table = StagedTable {
        source: item.source.clone(),
        destination: destination.to_owned(),
        rows: report.rows,
        columns: report.columns,
        bytes,
    };
    let state = TableState {
        source: item.source.clone(),
        last_import_date: format_time(info.last_import_date),
    };
    Ok((table, state))
}

/// The Storage export options of one mapping item.
pub fn export_options(
    item: &InputTable,
    previous: &[TableState],
    now: OffsetDateTime,
) -> Result<ExportOptions, StagingError> {
    let user = |message: String| StagingError::user(Stage::InputMapping, &item.source, message);
    let changed_since = match (item.days.unwrap_or(0), item.changed_since.as_deref()) {
        (days, _) if days > 0 => {
            let days = i64::try_from(days).unwrap_or(i64::MAX / 86_400_000);
            Some(
                now.checked_sub(Duration::days(days))
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            )
        }
        (_, None) => None,
        (_, Some(ADAPTIVE)) => match previous.iter().find(|s| s.source == item.source) {
            None => None,
            Some(state) => {
                let last =
                    OffsetDateTime::parse(&state.last_import_date, &Rfc3339).map_err(|_| {
                        user(format!(
                            "Invalid lastImportDate value \"{}\" of table \"{}\".",
                            state.last_import_date, item.source
                        ))
                    })?;
                // Strictly after the last import: its own rows carry exactly that time.
                Some(last + Duration::MICROSECOND)
            }
        },
        (_, Some(text)) => Some(parse_changed_since(text, now).ok_or_else(|| {
            user(format!(
                "Invalid changed_since value \"{text}\" of table \"{}\".",
                item.source
            ))
        })?),
    };
    Ok(ExportOptions {
        columns: item.effective_columns(),
        where_column: item
            .where_column
            .clone()
            .filter(|_| !item.where_values.is_empty()),
        where_operator: match item.where_operator {
            Operator::Eq => WhereOperator::Eq,
            Operator::Ne => WhereOperator::Ne,
        },
        where_values: item.where_values.iter().map(scalar_text).collect(),
        changed_since,
        changed_until: None,
        limit: item.limit,
    })
}

/// The manifest of an exported table (reference §2.2).
fn manifest_for(info: &TableInfo, columns: &[String]) -> InputTableManifest {
    let description = info
        .metadata
        .iter()
        .find(|m| m.key == "KBC.description")
        .map(|m| m.value.clone())
        .filter(|d| !d.is_empty());
    InputTableManifest {
        id: info.id.to_string(),
        uri: None,
        name: Some(info.id.name().to_owned()),
        primary_key: info.primary_key.clone(),
        distribution_key: Vec::new(),
        created: Some(format_time(info.created)),
        last_change_date: Some(format_time(info.last_change_date)),
        last_import_date: Some(format_time(info.last_import_date)),
        description,
        s3: None,
        abs: None,
        columns: columns.to_vec(),
        metadata: info.metadata.iter().map(stored_metadata).collect(),
        column_metadata: columns
            .iter()
            .filter_map(|c| {
                let entries = info.column_metadata.get(c)?;
                Some((c.clone(), entries.iter().map(stored_metadata).collect()))
            })
            .collect(),
        schema: schema_for(info, columns),
    }
}

fn stored_metadata(m: &MetadataEntry) -> StoredMetadata {
    StoredMetadata {
        id: None,
        key: m.key.clone(),
        value: serde_json::Value::String(m.value.clone()),
        provider: Some(m.provider.clone()),
        timestamp: Some(format_time(m.updated)),
    }
}

/// The native-types `schema` of an input manifest (reference §2.2), in the order of `columns`:
/// given when the table has a definition — berth keeps one as the `KBC.datatype.*` column
/// metadata a component wrote with a `schema` — and absent otherwise. Columns without a stored
/// type get no `data_type`.
fn schema_for(info: &TableInfo, columns: &[String]) -> Option<Vec<SchemaColumn>> {
    let value = |column: &str, key: &str| {
        info.column_metadata
            .get(column)?
            .iter()
            .rev()
            .find(|m| m.key == key)
            .map(|m| m.value.clone())
    };
    let typed = columns
        .iter()
        .any(|c| value(c, "KBC.datatype.basetype").is_some());
    if !typed {
        return None;
    }
    let schema = columns
        .iter()
        .map(|c| {
            let base = value(c, "KBC.datatype.basetype").map(|type_name| TypeSpec {
                type_name,
                length: value(c, "KBC.datatype.length").map(serde_json::Value::String),
                default: value(c, "KBC.datatype.default").map(serde_json::Value::String),
            });
            SchemaColumn {
                name: c.clone(),
                nullable: value(c, "KBC.datatype.nullable").is_none_or(|v| v == "1"),
                data_type: base.map(|base| DataType {
                    base: Some(base),
                    ..DataType::default()
                }),
                primary_key: info.primary_key.contains(c),
                distribution_key: false,
                description: value(c, "KBC.description").filter(|d| !d.is_empty()),
                metadata: None,
            }
        })
        .collect();
    Some(schema)
}

/// RFC 3339 with the stored (microsecond) precision.
pub fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

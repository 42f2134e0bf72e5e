//! Column metadata: Keboola's `{provider, key, value}` entries per column of a table — a
//! component's `column_metadata`, and the native types of a `schema` kept as `KBC.datatype.*` —
//! stored with the table so that the next component's input manifest carries them.
//!
//! Entries follow the column, not the load: a column named by metadata that the table does not
//! have is added (empty in every row), as Keboola's output mapping does (reference §3.4), and a
//! table's entries go when the table goes.

use std::collections::BTreeMap;

use duckdb::{Connection, params};

use super::db::{from_micros, to_micros};
use super::import::add_column;
use super::table_id::validate_column_list;
use super::tables::{MetadataEntry, require_entry, write_entry};
use super::{Storage, StorageError, TableId};

/// One column metadata entry to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMetadata {
    /// The column (matched to the table's columns ignoring case).
    pub column: String,
    /// Who sets it (`system`, or a component id).
    pub provider: String,
    /// The key, e.g. `KBC.datatype.basetype`.
    pub key: String,
    /// The value.
    pub value: String,
}

/// The column metadata of a table by column name; columns without entries are absent.
pub type ColumnMetadataMap = BTreeMap<String, Vec<MetadataEntry>>;

/// Reads a table's column metadata, each column's entries ordered by provider and key.
pub(crate) fn read(conn: &Connection, id: &TableId) -> Result<ColumnMetadataMap, StorageError> {
    let failed = || StorageError::db("reading column metadata", id);
    let mut stmt = conn
        .prepare(
            "SELECT column_name, provider, key, value, updated FROM berth_column_metadata \
             WHERE table_id = ? ORDER BY column_name, provider, key",
        )
        .map_err(failed())?;
    let rows = stmt
        .query_map(params![id.to_string()], |row| {
            Ok((
                row.get::<_, String>(0)?,
                MetadataEntry {
                    provider: row.get(1)?,
                    key: row.get(2)?,
                    value: row.get(3)?,
                    updated: from_micros(row.get(4)?),
                },
            ))
        })
        .map_err(failed())?;
    let mut map = ColumnMetadataMap::new();
    for row in rows {
        let (column, entry) = row.map_err(failed())?;
        map.entry(column).or_default().push(entry);
    }
    Ok(map)
}

/// Writes entries inside the caller's transaction, adding the columns the table lacks.
/// `updated` is the time in microseconds.
pub(crate) fn write(
    tx: &Connection,
    id: &TableId,
    entries: &[ColumnMetadata],
    updated: i64,
) -> Result<(), StorageError> {
    if entries.is_empty() {
        return Ok(());
    }
    check_column_metadata(id, entries)?;
    let mut entry = require_entry(tx, id)?;
    let added = columns_to_add(&entry.columns, entries);
    if !added.is_empty() {
        validate_column_list(id, &added)?;
        for column in &added {
            add_column(tx, id, column)?;
        }
        entry.columns.extend(added);
        write_entry(tx, id, &entry)?;
    }
    for item in entries {
        let column = column_named(&entry.columns, &item.column);
        tx.execute(
            "INSERT OR REPLACE INTO berth_column_metadata \
             (table_id, column_name, provider, key, value, updated) VALUES (?, ?, ?, ?, ?, ?)",
            params![
                id.to_string(),
                column,
                item.provider,
                item.key,
                item.value,
                updated
            ],
        )
        .map_err(StorageError::db("writing column metadata", id))?;
    }
    Ok(())
}

/// Removes every entry of a table (inside the caller's transaction).
pub(crate) fn remove(tx: &Connection, id: &TableId) -> Result<(), StorageError> {
    tx.execute(
        "DELETE FROM berth_column_metadata WHERE table_id = ?",
        params![id.to_string()],
    )
    .map_err(StorageError::db("removing column metadata", id))?;
    Ok(())
}

/// The columns `entries` name that a table with `columns` lacks (compared ignoring case, each
/// once, in the order first named): what setting them adds to the table.
pub fn columns_to_add(columns: &[String], entries: &[ColumnMetadata]) -> Vec<String> {
    let mut added: Vec<String> = Vec::new();
    for item in entries {
        let known = columns
            .iter()
            .chain(added.iter())
            .any(|c| c.eq_ignore_ascii_case(&item.column));
        if !known {
            added.push(item.column.clone());
        }
    }
    added
}

/// The table's own spelling of column `name` (matched ignoring case), or `name` itself.
pub fn column_named<'a>(columns: &'a [String], name: &'a str) -> &'a str {
    columns
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
        .map_or(name, String::as_str)
}

/// Checks column metadata entries before they are set on table `id`: column, provider and key
/// are non-empty (the rule every Storage backend applies).
pub fn check_column_metadata(id: &TableId, entries: &[ColumnMetadata]) -> Result<(), StorageError> {
    let invalid = |option: &'static str, reason: String| StorageError::InvalidOption {
        subject: format!("table \"{id}\""),
        option,
        reason,
    };
    for item in entries {
        if item.column.is_empty() {
            return Err(invalid(
                "column metadata",
                format!("the key \"{}\" names an empty column", item.key),
            ));
        }
        if item.provider.is_empty() {
            return Err(invalid(
                "metadata provider",
                format!("the provider of column \"{}\" is empty", item.column),
            ));
        }
        if item.key.is_empty() {
            return Err(invalid(
                "metadata key",
                format!("a key of column \"{}\" is empty", item.column),
            ));
        }
    }
    Ok(())
}

impl Storage {
    /// Sets (inserts or replaces) column metadata on a table in one transaction; a column the
    /// table lacks is added, empty in every row.
    pub fn set_column_metadata(
        &mut self,
        id: &TableId,
        entries: &[ColumnMetadata],
    ) -> Result<(), StorageError> {
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", id))?;
        write(&tx, id, entries, to_micros(self.clock.now()))?;
        tx.commit().map_err(StorageError::db("committing", id))
    }

    /// A table's column metadata by column name.
    pub fn column_metadata(&self, id: &TableId) -> Result<ColumnMetadataMap, StorageError> {
        require_entry(&self.conn, id)?;
        read(&self.conn, id)
    }
}

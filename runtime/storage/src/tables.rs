//! The table catalog: describing, listing and removing tables, primary keys and table metadata
//! (column metadata has its own module).
//! Loading and reading rows live in `import` and `export`.

use duckdb::{Connection, OptionalExt, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::column_metadata::{self, ColumnMetadataMap};
use super::db::{from_micros, rfc3339, to_micros};
use super::table_id::{quote_ident, validate_column_list};
use super::{Storage, StorageError, TableId};

/// What Storage knows about a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableInfo {
    /// The table id.
    pub id: TableId,
    /// Column names in table order (the hidden `_timestamp` is not listed).
    pub columns: Vec<String>,
    /// Primary key columns; empty when the table has none.
    pub primary_key: Vec<String>,
    /// Table metadata entries.
    pub metadata: Vec<MetadataEntry>,
    /// Column metadata entries by column (columns without entries are absent).
    pub column_metadata: ColumnMetadataMap,
    /// Number of rows.
    pub rows: u64,
    /// When the table was created.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created: OffsetDateTime,
    /// When data was last imported (Keboola's `lastImportDate`).
    #[serde(serialize_with = "rfc3339::serialize")]
    pub last_import_date: OffsetDateTime,
    /// When rows last changed (imports and deletes; Keboola's `lastChangeDate`).
    #[serde(serialize_with = "rfc3339::serialize")]
    pub last_change_date: OffsetDateTime,
}

/// One table metadata entry, as Keboola's table metadata `{provider, key, value, timestamp}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetadataEntry {
    /// Who set it (`system`, or a component id).
    pub provider: String,
    /// The key, e.g. `KBC.description`.
    pub key: String,
    /// The value.
    pub value: String,
    /// When it was last set.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub updated: OffsetDateTime,
}

/// A catalog row as stored.
#[derive(Debug, Clone)]
pub(crate) struct CatalogEntry {
    pub(crate) columns: Vec<String>,
    pub(crate) primary_key: Vec<String>,
    pub(crate) created: i64,
    pub(crate) last_import: i64,
    pub(crate) last_change: i64,
}

/// The DuckDB name of a table's data, schema-qualified and quoted.
pub(crate) fn data_table(id: &TableId) -> String {
    format!("data.{}", quote_ident(&id.to_string()))
}

fn parse_list(id: &TableId, what: &'static str, text: &str) -> Result<Vec<String>, StorageError> {
    serde_json::from_str(text).map_err(|err| StorageError::Database {
        stage: "reading the table catalog",
        subject: format!("{id} {what}"),
        source: err.into(),
    })
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// Reads a table's catalog entry, `None` when the table does not exist.
pub(crate) fn catalog_entry(
    conn: &Connection,
    id: &TableId,
) -> Result<Option<CatalogEntry>, StorageError> {
    let row = conn
        .query_row(
            "SELECT columns, primary_key, created, last_import, last_change FROM berth_tables WHERE id = ?",
            params![id.to_string()],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()
        .map_err(StorageError::db("reading the table catalog", id))?;
    let Some((columns, primary_key, created, last_import, last_change)) = row else {
        return Ok(None);
    };
    Ok(Some(CatalogEntry {
        columns: parse_list(id, "columns", &columns)?,
        primary_key: parse_list(id, "primary key", &primary_key)?,
        created,
        last_import,
        last_change,
    }))
}

/// Like [`catalog_entry`] but a missing table is an error.
pub(crate) fn require_entry(conn: &Connection, id: &TableId) -> Result<CatalogEntry, StorageError> {
    catalog_entry(conn, id)?.ok_or_else(|| StorageError::TableNotFound { id: id.to_string() })
}

/// Writes a table's catalog entry (insert or replace).
pub(crate) fn write_entry(
    conn: &Connection,
    id: &TableId,
    entry: &CatalogEntry,
) -> Result<(), StorageError> {
    conn.execute(
        "INSERT OR REPLACE INTO berth_tables (id, columns, primary_key, created, last_import, last_change) VALUES (?, ?, ?, ?, ?, ?)",
        params![
            id.to_string(),
            to_json(&entry.columns),
            to_json(&entry.primary_key),
            entry.created,
            entry.last_import,
            entry.last_change
        ],
    )
    .map_err(StorageError::db("writing the table catalog", id))?;
    Ok(())
}

/// Normalises a primary key as the output mapping does: trims names, drops empty ones and
/// duplicates.
pub(crate) fn normalize_primary_key(primary_key: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in primary_key {
        let name = name.trim();
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out
}

/// Checks that every primary key column exists in `columns`.
pub(crate) fn check_primary_key(
    id: &TableId,
    primary_key: &[String],
    columns: &[String],
) -> Result<(), StorageError> {
    for column in primary_key {
        if !columns.contains(column) {
            return Err(StorageError::UnknownColumn {
                table: id.to_string(),
                option: "primary key",
                column: column.clone(),
                available: columns.join(", "),
            });
        }
    }
    Ok(())
}

/// Fails with [`StorageError::DuplicatePrimaryKey`] when `table` has two rows with the same key.
pub(crate) fn check_unique(
    conn: &Connection,
    id: &TableId,
    table_sql: &str,
    primary_key: &[String],
) -> Result<(), StorageError> {
    if primary_key.is_empty() {
        return Ok(());
    }
    let key = primary_key
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let duplicates: i64 = conn
        .query_row(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM {table_sql} GROUP BY {key} HAVING count(*) > 1 LIMIT 1)"
            ),
            [],
            |row| row.get(0),
        )
        .map_err(StorageError::db("checking primary key uniqueness", id))?;
    if duplicates > 0 {
        return Err(StorageError::DuplicatePrimaryKey {
            table: id.to_string(),
            primary_key: primary_key.join(", "),
        });
    }
    Ok(())
}

pub(crate) fn row_count(conn: &Connection, id: &TableId) -> Result<u64, StorageError> {
    let rows: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM {}", data_table(id)),
            [],
            |row| row.get(0),
        )
        .map_err(StorageError::db("counting rows", id))?;
    Ok(u64::try_from(rows).unwrap_or(0))
}

fn metadata(conn: &Connection, id: &TableId) -> Result<Vec<MetadataEntry>, StorageError> {
    let mut stmt = conn
        .prepare(
            "SELECT provider, key, value, updated FROM berth_table_metadata WHERE table_id = ? ORDER BY provider, key",
        )
        .map_err(StorageError::db("reading table metadata", id))?;
    let rows = stmt
        .query_map(params![id.to_string()], |row| {
            Ok(MetadataEntry {
                provider: row.get(0)?,
                key: row.get(1)?,
                value: row.get(2)?,
                updated: from_micros(row.get(3)?),
            })
        })
        .map_err(StorageError::db("reading table metadata", id))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(StorageError::db("reading table metadata", id))
}

fn info(conn: &Connection, id: &TableId, entry: CatalogEntry) -> Result<TableInfo, StorageError> {
    Ok(TableInfo {
        id: id.clone(),
        rows: row_count(conn, id)?,
        metadata: metadata(conn, id)?,
        column_metadata: column_metadata::read(conn, id)?,
        columns: entry.columns,
        primary_key: entry.primary_key,
        created: from_micros(entry.created),
        last_import_date: from_micros(entry.last_import),
        last_change_date: from_micros(entry.last_change),
    })
}

/// Checks metadata entries of one provider before they are set on table `id`: the provider and
/// every key are non-empty (the rule every Storage backend applies).
pub fn check_metadata(
    id: &TableId,
    provider: &str,
    entries: &[(String, String)],
) -> Result<(), StorageError> {
    if provider.is_empty() {
        return Err(StorageError::InvalidOption {
            subject: format!("table \"{id}\""),
            option: "metadata provider",
            reason: "the provider is empty".into(),
        });
    }
    if let Some((key, _)) = entries.iter().find(|(key, _)| key.is_empty()) {
        return Err(StorageError::InvalidOption {
            subject: format!("table \"{id}\""),
            option: "metadata key",
            reason: format!("the key \"{key}\" is empty"),
        });
    }
    Ok(())
}

impl Storage {
    /// Describes one table. This corresponds to Keboola's "table detail".
    pub fn table(&self, id: &TableId) -> Result<TableInfo, StorageError> {
        let entry = require_entry(&self.conn, id)?;
        info(&self.conn, id, entry)
    }

    /// True when the table exists.
    pub fn table_exists(&self, id: &TableId) -> Result<bool, StorageError> {
        Ok(catalog_entry(&self.conn, id)?.is_some())
    }

    /// Describes every table, ordered by id.
    pub fn list_tables(&self) -> Result<Vec<TableInfo>, StorageError> {
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM berth_tables ORDER BY id")
                .map_err(StorageError::db("listing tables", "all tables"))?;
            let rows = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(StorageError::db("listing tables", "all tables"))?;
            rows.collect::<Result<_, _>>()
                .map_err(StorageError::db("listing tables", "all tables"))?
        };
        ids.iter()
            .map(|id| {
                let id = TableId::parse(id)?;
                self.table(&id)
            })
            .collect()
    }

    /// Removes a table, its rows and its metadata.
    pub fn remove_table(&mut self, id: &TableId) -> Result<(), StorageError> {
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", id))?;
        require_entry(&tx, id)?;
        tx.execute_batch(&format!("DROP TABLE {}", data_table(id)))
            .map_err(StorageError::db("dropping the table", id))?;
        tx.execute(
            "DELETE FROM berth_tables WHERE id = ?",
            params![id.to_string()],
        )
        .map_err(StorageError::db("removing the table from the catalog", id))?;
        tx.execute(
            "DELETE FROM berth_table_metadata WHERE table_id = ?",
            params![id.to_string()],
        )
        .map_err(StorageError::db("removing table metadata", id))?;
        column_metadata::remove(&tx, id)?;
        tx.commit().map_err(StorageError::db("committing", id))
    }

    /// Sets (inserts or replaces) metadata entries of one provider on a table.
    pub fn set_table_metadata(
        &mut self,
        id: &TableId,
        provider: &str,
        entries: &[(String, String)],
    ) -> Result<(), StorageError> {
        check_metadata(id, provider, entries)?;
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", id))?;
        require_entry(&tx, id)?;
        let updated = to_micros(self.clock.now());
        for (key, value) in entries {
            tx.execute(
                "INSERT OR REPLACE INTO berth_table_metadata (table_id, provider, key, value, updated) VALUES (?, ?, ?, ?, ?)",
                params![id.to_string(), provider, key, value, updated],
            )
            .map_err(StorageError::db("writing table metadata", id))?;
        }
        tx.commit().map_err(StorageError::db("committing", id))
    }

    /// The metadata entries of a table, ordered by provider and key.
    pub fn table_metadata(&self, id: &TableId) -> Result<Vec<MetadataEntry>, StorageError> {
        require_entry(&self.conn, id)?;
        metadata(&self.conn, id)
    }

    /// Replaces a table's primary key (empty removes it). Fails when a column does not exist or
    /// the existing rows are not unique under the new key.
    pub fn set_primary_key(
        &mut self,
        id: &TableId,
        primary_key: &[String],
    ) -> Result<(), StorageError> {
        let primary_key = normalize_primary_key(primary_key);
        validate_column_list(id, &primary_key)?;
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", id))?;
        let mut entry = require_entry(&tx, id)?;
        check_primary_key(id, &primary_key, &entry.columns)?;
        check_unique(&tx, id, &data_table(id), &primary_key)?;
        entry.primary_key = primary_key;
        write_entry(&tx, id, &entry)?;
        tx.commit().map_err(StorageError::db("committing", id))
    }
}

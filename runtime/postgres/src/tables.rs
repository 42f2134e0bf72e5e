//! Storage tables on PostgreSQL: the catalog (`berth_tables`), describing, listing and removing
//! tables, and [`TableData`] for [`PgStorage`] — the embedded Storage's table rules (decided in
//! `berth-storage`: [`berth_storage::ImportPlan`], [`berth_storage::ExportPlan`]), stored here.
//!
//! A table's rows live in `berth_data.<data name>` (see the `0002_tables` migration): the data
//! name is generated (`t1`, `t2`, …) and its columns are positional (`c1`, `c2`, … in the
//! catalog's order), so no table id or column name ever becomes an identifier.

use std::io::Write;
use std::path::Path;

use postgres::GenericClient;
use time::OffsetDateTime;

use berth_storage::{
    BatchError, ColumnMetadata, ColumnMetadataMap, ExportOptions, ExportReport, ImportOptions,
    ImportReport, MetadataEntry, StorageError, TableData, TableId, TableInfo, TableLoad,
};

use crate::locks::TABLE_LOCK_CLASS;
use crate::table_metadata::{read_column_metadata, read_metadata};
use crate::{PgError, PgStorage};

/// A table's catalog entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The name of its data table in schema `berth_data`.
    pub(crate) data_name: String,
    pub(crate) columns: Vec<String>,
    pub(crate) primary_key: Vec<String>,
    pub(crate) created: i64,
    pub(crate) last_import: i64,
    pub(crate) last_change: i64,
}

impl Entry {
    /// The data table, schema-qualified (the generated name needs no quoting).
    pub(crate) fn data_table(&self) -> String {
        format!("berth_data.{}", self.data_name)
    }

    /// The data column holding table column `column` (`None` when the table has no such
    /// column).
    pub(crate) fn data_column(&self, column: &str) -> Option<String> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(data_column)
    }
}

/// The data column of the table column at `index`.
pub(crate) fn data_column(index: usize) -> String {
    format!("c{}", index + 1)
}

/// The data columns of `columns` of `entry`, comma-separated (each must be one of its columns).
pub(crate) fn data_columns(entry: &Entry, columns: &[String]) -> String {
    columns
        .iter()
        .filter_map(|c| entry.data_column(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Table `id`'s catalog entry, `None` when there is no such table.
pub(crate) fn entry(
    client: &mut impl GenericClient,
    id: &TableId,
) -> Result<Option<Entry>, PgError> {
    let row = client
        .query_opt(
            "SELECT data_name, columns, primary_key, created, last_import, last_change \
             FROM berth_tables WHERE id = $1",
            &[&id.to_string()],
        )
        .map_err(PgError::db("reading the table catalog", id))?;
    Ok(row.map(|row| Entry {
        data_name: row.get(0),
        columns: row.get(1),
        primary_key: row.get(2),
        created: row.get(3),
        last_import: row.get(4),
        last_change: row.get(5),
    }))
}

/// Like [`entry`], failing with [`StorageError::TableNotFound`] when there is no such table.
pub(crate) fn require_entry(
    client: &mut impl GenericClient,
    id: &TableId,
) -> Result<Entry, PgError> {
    entry(client, id)?.ok_or_else(|| StorageError::TableNotFound { id: id.to_string() }.into())
}

/// Writes table `id`'s catalog entry (created or replaced).
pub(crate) fn write_entry(
    client: &mut impl GenericClient,
    id: &TableId,
    entry: &Entry,
) -> Result<(), PgError> {
    client
        .execute(
            "INSERT INTO berth_tables \
               (id, data_name, columns, primary_key, created, last_import, last_change) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET columns = EXCLUDED.columns, \
               primary_key = EXCLUDED.primary_key, last_import = EXCLUDED.last_import, \
               last_change = EXCLUDED.last_change",
            &[
                &id.to_string(),
                &entry.data_name,
                &entry.columns,
                &entry.primary_key,
                &entry.created,
                &entry.last_import,
                &entry.last_change,
            ],
        )
        .map_err(PgError::db("writing the table catalog", id))?;
    Ok(())
}

/// Takes table `id`'s lock until the transaction ends: imports into one table and its removal
/// take turns, whichever node runs them.
pub(crate) fn lock_table(client: &mut impl GenericClient, id: &TableId) -> Result<(), PgError> {
    client
        .execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&TABLE_LOCK_CLASS, &id.to_string()],
        )
        .map_err(PgError::db("locking the table", id))?;
    Ok(())
}

/// Adds the data column for table column number `index` (0-based), empty in every row (the
/// catalog entry is the caller's to update).
pub(crate) fn add_column(
    client: &mut impl GenericClient,
    id: &TableId,
    entry: &Entry,
    index: usize,
) -> Result<(), PgError> {
    client
        .batch_execute(&format!(
            "ALTER TABLE {} ADD COLUMN {} {DATA_TYPE} NOT NULL DEFAULT ''",
            entry.data_table(),
            data_column(index)
        ))
        .map_err(PgError::db("adding a column", id))
}

/// The type of every data column: text compared byte by byte (as the embedded Storage compares
/// it, whatever the database's locale), which also sorts and groups keys several times faster
/// than a locale's collation.
pub(crate) const DATA_TYPE: &str = "text COLLATE \"C\"";

/// The rows of a data table.
pub(crate) fn row_count(
    client: &mut impl GenericClient,
    id: &TableId,
    entry: &Entry,
) -> Result<u64, PgError> {
    let rows: i64 = client
        .query_one(&format!("SELECT count(*) FROM {}", entry.data_table()), &[])
        .map_err(PgError::db("counting rows", id))?
        .get(0);
    Ok(u64::try_from(rows).unwrap_or(0))
}

/// The database server's clock in microseconds since the epoch (what rows are stamped with, so
/// every node stamps by the same clock).
pub(crate) fn now_micros(client: &mut impl GenericClient, id: &TableId) -> Result<i64, PgError> {
    Ok(client
        .query_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
            &[],
        )
        .map_err(PgError::db("reading the clock", id))?
        .get(0))
}

/// Microseconds since the epoch as a time.
pub(crate) fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A time as microseconds since the epoch.
pub(crate) fn to_micros(time: OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

fn info(client: &mut impl GenericClient, id: &TableId, entry: Entry) -> Result<TableInfo, PgError> {
    Ok(TableInfo {
        id: id.clone(),
        rows: row_count(client, id, &entry)?,
        metadata: read_metadata(client, id)?,
        column_metadata: read_column_metadata(client, id)?,
        created: from_micros(entry.created),
        last_import_date: from_micros(entry.last_import),
        last_change_date: from_micros(entry.last_change),
        columns: entry.columns,
        primary_key: entry.primary_key,
    })
}

impl PgStorage {
    /// Describes one table ([`StorageError::TableNotFound`] when there is none).
    pub fn table(&self, id: &TableId) -> Result<TableInfo, PgError> {
        let mut client = self.client();
        let entry = require_entry(&mut *client, id)?;
        info(&mut *client, id, entry)
    }

    /// Every table, ordered by id.
    pub fn list_tables(&self) -> Result<Vec<TableInfo>, PgError> {
        let ids: Vec<String> = self
            .client()
            .query("SELECT id FROM berth_tables ORDER BY id COLLATE \"C\"", &[])
            .map_err(PgError::db("listing tables", "all tables"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        ids.iter()
            .map(|id| self.table(&TableId::parse(id)?))
            .collect()
    }

    /// Removes a table and its rows.
    pub fn remove_table(&mut self, id: &TableId) -> Result<(), PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        lock_table(&mut tx, id)?;
        let entry = require_entry(&mut tx, id)?;
        tx.batch_execute(&format!("DROP TABLE {}", entry.data_table()))
            .map_err(PgError::db("dropping the table", id))?;
        tx.execute("DELETE FROM berth_tables WHERE id = $1", &[&id.to_string()])
            .map_err(PgError::db("removing the table from the catalog", id))?;
        tx.commit()
            .map_err(PgError::db("committing the removal", id))
    }
}

impl TableData for PgStorage {
    fn import_csv(
        &mut self,
        id: &TableId,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, StorageError> {
        Ok(PgStorage::import_csv(self, id, path, options)?)
    }

    fn export_csv(
        &self,
        id: &TableId,
        out: &mut dyn Write,
        options: &ExportOptions,
    ) -> Result<ExportReport, StorageError> {
        Ok(PgStorage::export_csv(self, id, out, options)?)
    }

    fn table(&self, id: &TableId) -> Result<TableInfo, StorageError> {
        Ok(PgStorage::table(self, id)?)
    }

    fn list_tables(&self) -> Result<Vec<TableInfo>, StorageError> {
        Ok(PgStorage::list_tables(self)?)
    }

    fn remove_table(&mut self, id: &TableId) -> Result<(), StorageError> {
        Ok(PgStorage::remove_table(self, id)?)
    }

    fn load_tables(
        &mut self,
        loads: &[TableLoad],
        on_loaded: &mut dyn FnMut(usize, &ImportReport),
    ) -> Result<Vec<ImportReport>, BatchError> {
        PgStorage::load_tables(self, loads, on_loaded)
    }

    fn set_table_metadata(
        &mut self,
        id: &TableId,
        provider: &str,
        entries: &[(String, String)],
    ) -> Result<(), StorageError> {
        Ok(PgStorage::set_table_metadata(self, id, provider, entries)?)
    }

    fn table_metadata(&self, id: &TableId) -> Result<Vec<MetadataEntry>, StorageError> {
        Ok(PgStorage::table_metadata(self, id)?)
    }

    fn set_column_metadata(
        &mut self,
        id: &TableId,
        entries: &[ColumnMetadata],
    ) -> Result<(), StorageError> {
        Ok(PgStorage::set_column_metadata(self, id, entries)?)
    }

    fn column_metadata(&self, id: &TableId) -> Result<ColumnMetadataMap, StorageError> {
        Ok(PgStorage::column_metadata(self, id)?)
    }
}

//! Table data as an interface: [`TableData`], what every Storage backend does with tables (the
//! embedded [`Storage`] here, PostgreSQL in `berth-postgres`), so the same behaviour suite holds
//! each of them to the same rules.
//!
//! The rules are decided once, in this crate, whichever the backend: [`crate::ImportPlan`]
//! (dialect, column names, columns an existing table requires, primary key) and
//! [`crate::ExportPlan`] (columns, where filter) carry them and their error texts, and
//! [`crate::CsvSource`] reads and checks every record. A backend only stores:
//!
//! - an import is all-or-nothing: a failure leaves the table as it was;
//! - a full load replaces the rows, an incremental one appends; with a primary key, one row per
//!   key stays, the file's last (an upserted row moves to the end of the table's order);
//! - columns the file adds are appended, empty in earlier rows;
//! - a batch of loads ([`TableData::load_tables`], a job's output mapping) is one transaction
//!   with the tables' metadata: all of it or none;
//! - exports write RFC 4180 with a header, every value enclosed in `"`, rows in insertion order,
//!   byte for byte the same on every backend.

use std::io::Write;
use std::path::Path;

use crate::{
    BatchError, ColumnMetadata, ColumnMetadataMap, ExportOptions, ExportReport, ImportOptions,
    ImportReport, MetadataEntry, Storage, StorageError, TableId, TableInfo, TableLoad,
};

/// Tables: loading CSV files into them, reading them out, describing and removing them.
pub trait TableData {
    /// Loads a CSV file into a table, creating the table when it does not exist (see
    /// [`Storage::import_csv`]).
    fn import_csv(
        &mut self,
        id: &TableId,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, StorageError>;

    /// Writes a table (or the selected part of it) as CSV to `out` (see [`Storage::export_csv`]).
    fn export_csv(
        &self,
        id: &TableId,
        out: &mut dyn Write,
        options: &ExportOptions,
    ) -> Result<ExportReport, StorageError>;

    /// Writes a table (or the selected part of it) as CSV to a file, replacing it, and syncs
    /// it; a failed export removes the partial file.
    fn export_csv_to_path(
        &self,
        id: &TableId,
        path: &Path,
        options: &ExportOptions,
    ) -> Result<ExportReport, StorageError> {
        let mut file = std::fs::File::create(path).map_err(|source| StorageError::Io {
            stage: "creating the export file",
            path: path.to_path_buf(),
            source,
        })?;
        let result = self.export_csv(id, &mut file, options).and_then(|report| {
            file.sync_all()
                .map_err(StorageError::io("writing the export file", path))?;
            Ok(report)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    /// Describes one table ([`StorageError::TableNotFound`] when there is none).
    fn table(&self, id: &TableId) -> Result<TableInfo, StorageError>;

    /// Every table, ordered by id.
    fn list_tables(&self) -> Result<Vec<TableInfo>, StorageError>;

    /// Removes a table, its rows and its metadata.
    fn remove_table(&mut self, id: &TableId) -> Result<(), StorageError>;

    /// Loads every table of `loads` in one transaction, with their metadata: either all of them
    /// change, or none ([`BatchError`] names the load that failed). `on_loaded` is called after
    /// each load, before the commit.
    fn load_tables(
        &mut self,
        loads: &[TableLoad],
        on_loaded: &mut dyn FnMut(usize, &ImportReport),
    ) -> Result<Vec<ImportReport>, BatchError>;

    /// Sets (inserts or replaces) metadata entries of one provider on a table.
    fn set_table_metadata(
        &mut self,
        id: &TableId,
        provider: &str,
        entries: &[(String, String)],
    ) -> Result<(), StorageError>;

    /// A table's metadata, ordered by provider and key.
    fn table_metadata(&self, id: &TableId) -> Result<Vec<MetadataEntry>, StorageError>;

    /// Sets column metadata on a table; a column the table lacks is added, empty in every row.
    fn set_column_metadata(
        &mut self,
        id: &TableId,
        entries: &[ColumnMetadata],
    ) -> Result<(), StorageError>;

    /// A table's column metadata by column name.
    fn column_metadata(&self, id: &TableId) -> Result<ColumnMetadataMap, StorageError>;
}

impl TableData for Storage {
    fn import_csv(
        &mut self,
        id: &TableId,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, StorageError> {
        Storage::import_csv(self, id, path, options)
    }

    fn export_csv(
        &self,
        id: &TableId,
        out: &mut dyn Write,
        options: &ExportOptions,
    ) -> Result<ExportReport, StorageError> {
        Storage::export_csv(self, id, out, options)
    }

    fn table(&self, id: &TableId) -> Result<TableInfo, StorageError> {
        Storage::table(self, id)
    }

    fn list_tables(&self) -> Result<Vec<TableInfo>, StorageError> {
        Storage::list_tables(self)
    }

    fn remove_table(&mut self, id: &TableId) -> Result<(), StorageError> {
        Storage::remove_table(self, id)
    }

    fn load_tables(
        &mut self,
        loads: &[TableLoad],
        on_loaded: &mut dyn FnMut(usize, &ImportReport),
    ) -> Result<Vec<ImportReport>, BatchError> {
        Storage::load_tables(self, loads, on_loaded)
    }

    fn set_table_metadata(
        &mut self,
        id: &TableId,
        provider: &str,
        entries: &[(String, String)],
    ) -> Result<(), StorageError> {
        Storage::set_table_metadata(self, id, provider, entries)
    }

    fn table_metadata(&self, id: &TableId) -> Result<Vec<MetadataEntry>, StorageError> {
        Storage::table_metadata(self, id)
    }

    fn set_column_metadata(
        &mut self,
        id: &TableId,
        entries: &[ColumnMetadata],
    ) -> Result<(), StorageError> {
        Storage::set_column_metadata(self, id, entries)
    }

    fn column_metadata(&self, id: &TableId) -> Result<ColumnMetadataMap, StorageError> {
        Storage::column_metadata(self, id)
    }
}

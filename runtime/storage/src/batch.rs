//! Loading several tables all-or-nothing: one DuckDB transaction around every load of a job's
//! output mapping, so an error in any table — or a process killed mid-load (`kill -9`) — leaves
//! every table exactly as it was. The per-table work is [`Storage::import_csv`]'s.

use std::path::PathBuf;

use duckdb::params;

use super::column_metadata::{self, ColumnMetadata};
use super::csv_read::CsvInput;
use super::db::to_micros;
use super::import::import_in;
use super::{ImportOptions, ImportReport, OpenInput, Storage, StorageError, TableId};

/// One table of a batch.
#[derive(Debug, Clone)]
pub struct TableLoad {
    /// The destination table (created when missing).
    pub table: TableId,
    /// The CSV file to load (with `open`, only its name in messages).
    pub path: PathBuf,
    /// The file already opened by the caller; read instead of opening `path`.
    pub open: Option<OpenInput>,
    /// How to load it.
    pub options: ImportOptions,
    /// Metadata `(provider, key, value)` set on the table after the load.
    pub metadata: Vec<(String, String, String)>,
    /// Metadata set only when the load created the table (`KBC.createdBy.*`).
    pub metadata_if_created: Vec<(String, String, String)>,
    /// Column metadata set after the load (a column it names that the table lacks is added).
    pub column_metadata: Vec<ColumnMetadata>,
}

/// The load of a batch that failed; nothing of the batch was kept.
#[derive(Debug, thiserror::Error)]
#[error("table \"{table}\": {source}")]
pub struct BatchError {
    /// The index of the failed load in the batch.
    pub index: usize,
    /// Its table.
    pub table: TableId,
    /// Why it failed (boxed: Storage errors are large).
    #[source]
    pub source: Box<StorageError>,
}

impl Storage {
    /// Loads every table of `loads` in one transaction: either all of them change, or none.
    /// `on_loaded` is called after each load (before the commit) with its index and report.
    pub fn load_tables(
        &mut self,
        loads: &[TableLoad],
        mut on_loaded: impl FnMut(usize, &ImportReport),
    ) -> Result<Vec<ImportReport>, BatchError> {
        let fail = |index: usize, table: &TableId| {
            let table = table.clone();
            move |source| BatchError {
                index,
                table,
                source: Box::new(source),
            }
        };
        let Some(first) = loads.first() else {
            return Ok(Vec::new());
        };
        let tx = self.conn.transaction().map_err(|e| {
            fail(0, &first.table)(StorageError::db("starting a transaction", &first.table)(e))
        })?;
        let mut reports = Vec::with_capacity(loads.len());
        for (index, load) in loads.iter().enumerate() {
            let input = match &load.open {
                Some(open) => CsvInput::Open(open),
                None => CsvInput::Path(&load.path),
            };
            let now = self.clock.now();
            let report = import_in(&tx, &load.table, &load.path, input, &load.options, now)
                .map_err(fail(index, &load.table))?;
            let updated = to_micros(now);
            let extra = if report.created {
                load.metadata_if_created.as_slice()
            } else {
                &[]
            };
            for (provider, key, value) in load.metadata.iter().chain(extra) {
                tx.execute(
                    "INSERT OR REPLACE INTO berth_table_metadata (table_id, provider, key, value, updated) VALUES (?, ?, ?, ?, ?)",
                    params![load.table.to_string(), provider, key, value, updated],
                )
                .map_err(|e| fail(index, &load.table)(StorageError::db("writing table metadata", &load.table)(e)))?;
            }
            column_metadata::write(&tx, &load.table, &load.column_metadata, updated)
                .map_err(fail(index, &load.table))?;
            on_loaded(index, &report);
            reports.push(report);
        }
        tx.commit().map_err(|e| {
            fail(loads.len() - 1, &loads[loads.len() - 1].table)(StorageError::db(
                "committing the output tables",
                "all tables",
            )(e))
        })?;
        Ok(reports)
    }
}

//! Reading tables out as CSV: column selection, `where_column` + `where_operator` +
//! `where_values`, `changed_since`/`changed_until` on the hidden row change time, and `limit`
//! (Keboola's table export options). Rows come out in insertion order.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel};

use duckdb::params_from_iter;
use serde::Serialize;
use time::OffsetDateTime;

use super::csv_write::{write_batch, write_row};
use super::db::to_micros;
use super::import::{WhereFilter, WhereOperator, where_conditions};
use super::table_id::quote_ident;
use super::tables::{data_table, require_entry};
use super::{Storage, StorageError, TableData, TableId};
use duckdb::arrow::record_batch::RecordBatch;

/// Which rows and columns to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Columns to export, in this order; empty exports all columns.
    pub columns: Vec<String>,
    /// Filter column; requires `where_values`.
    pub where_column: Option<String>,
    /// `eq` (in the values) or `ne` (not in the values).
    pub where_operator: WhereOperator,
    /// Filter values.
    pub where_values: Vec<String>,
    /// Only rows changed at or after this time (the mapping's `changed_since` / `days`).
    pub changed_since: Option<OffsetDateTime>,
    /// Only rows changed before this time.
    pub changed_until: Option<OffsetDateTime>,
    /// At most this many rows.
    pub limit: Option<u64>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Rows written (the header not counted).
    pub rows: u64,
    /// The header: the exported columns in order.
    pub columns: Vec<String>,
}

/// A resolved export query: SQL with `?` placeholders plus their values.
struct Query {
    columns: Vec<String>,
    select: String,
    params: Vec<String>,
}

/// What an export reads, checked against the table's columns: the rules every Storage backend
/// shares (and their error texts). Rows come out in insertion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPlan {
    /// The columns, in the order they are written.
    pub columns: Vec<String>,
    /// Only rows matching this filter.
    pub filter: Option<WhereFilter>,
    /// Only rows changed at or after this time.
    pub changed_since: Option<OffsetDateTime>,
    /// Only rows changed before this time.
    pub changed_until: Option<OffsetDateTime>,
    /// At most this many rows.
    pub limit: Option<u64>,
}

impl ExportPlan {
    /// Checks `options` against a table whose columns are `table_columns`.
    pub fn prepare(
        id: &TableId,
        table_columns: &[String],
        options: &ExportOptions,
    ) -> Result<Self, StorageError> {
        let columns = if options.columns.is_empty() {
            table_columns.to_vec()
        } else {
            for column in &options.columns {
                if !table_columns.iter().any(|c| c == column) {
                    return Err(StorageError::UnknownColumn {
                        table: id.to_string(),
                        option: "columns",
                        column: column.clone(),
                        available: table_columns.join(", "),
                    });
                }
            }
            options.columns.clone()
        };
        let filter = match (&options.where_column, options.where_values.is_empty()) {
            (Some(column), _) if column.is_empty() && !options.where_values.is_empty() => {
                return Err(where_error(
                    id,
                    "when where_values is set, where_column must be a non-empty column name",
                ));
            }
            (Some(column), false) => {
                let filter = WhereFilter {
                    column: column.clone(),
                    operator: options.where_operator,
                    values: options.where_values.clone(),
                };
                filter.check(id, table_columns, "where_column")?;
                Some(filter)
            }
            (Some(column), true) if !column.is_empty() => {
                return Err(where_error(
                    id,
                    "when where_column is set, where_values must be provided",
                ));
            }
            (None, false) => {
                return Err(where_error(
                    id,
                    "when where_values is set, where_column must be a non-empty column name",
                ));
            }
            _ => None,
        };
        Ok(Self {
            columns,
            filter,
            changed_since: options.changed_since,
            changed_until: options.changed_until,
            limit: options.limit,
        })
    }
}

fn build_query(
    storage: &Storage,
    id: &TableId,
    options: &ExportOptions,
) -> Result<Query, StorageError> {
    let entry = require_entry(&storage.conn, id)?;
    let plan = ExportPlan::prepare(id, &entry.columns, options)?;
    let mut params = Vec::new();
    let mut conditions = where_conditions(
        id,
        &entry.columns,
        "where_column",
        plan.filter.as_slice(),
        &mut params,
    )?;
    if let Some(since) = plan.changed_since {
        conditions.push(format!("_timestamp >= {}", to_micros(since)));
    }
    if let Some(until) = plan.changed_until {
        conditions.push(format!("_timestamp < {}", to_micros(until)));
    }
    let mut select = format!(
        "SELECT {} FROM {}",
        plan.columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", "),
        data_table(id)
    );
    if !conditions.is_empty() {
        select.push_str(" WHERE ");
        select.push_str(&conditions.join(" AND "));
    }
    if let Some(limit) = plan.limit {
        select.push_str(&format!(" LIMIT {limit}"));
    }
    Ok(Query {
        columns: plan.columns,
        select,
        params,
    })
}

fn where_error(id: &TableId, reason: &str) -> StorageError {
    StorageError::InvalidOption {
        subject: format!("table \"{id}\""),
        option: "where filter",
        reason: reason.to_owned(),
    }
}

impl Storage {
    /// Writes a table (or the selected part of it) as CSV to `out`.
    ///
    /// This corresponds to Keboola's table export: RFC 4180, a header line, every value
    /// enclosed in `"`, rows ended by `\n`.
    pub fn export_csv(
        &self,
        id: &TableId,
        out: &mut dyn Write,
        options: &ExportOptions,
    ) -> Result<ExportReport, StorageError> {
        let query = build_query(self, id, options)?;
        let write_err = |source| StorageError::Io {
            stage: "writing the CSV export",
            path: "<output>".into(),
            source,
        };
        let mut out = BufWriter::with_capacity(1 << 18, out);
        write_row(&mut out, &query.columns).map_err(write_err)?;
        let mut stmt = self
            .conn
            .prepare(&query.select)
            .map_err(StorageError::db("exporting the table", id))?;
        let batches = stmt
            .stream_arrow(params_from_iter(query.params.iter()))
            .map_err(StorageError::db("exporting the table", id))?;
        let batches =
            batches.map(|batch| batch.map_err(StorageError::db("exporting the table", id)));
        let rows = write_pipelined(&mut out, batches, write_err)?;
        out.flush().map_err(write_err)?;
        Ok(ExportReport {
            rows,
            columns: query.columns,
        })
    }

    /// Writes a table (or the selected part of it) as CSV to a file, replacing it; the same bytes
    /// as [`Storage::export_csv`]. A failed export removes the partial file.
    pub fn export_csv_to_path(
        &self,
        id: &TableId,
        path: &Path,
        options: &ExportOptions,
    ) -> Result<ExportReport, StorageError> {
        <Self as TableData>::export_csv_to_path(self, id, path, options)
    }
}

/// Writes `batches` as CSV rows to `out`, formatting them on a second thread while this one
/// pulls the next batch from DuckDB (the scan and the formatting each take about half of an
/// export); returns the rows written. Formatted blocks come back in order, and their buffers go
/// back to the formatter for reuse, so memory stays at a few batches whatever the table's size.
fn write_pipelined(
    out: &mut impl Write,
    batches: impl Iterator<Item = Result<RecordBatch, StorageError>>,
    write_err: impl Fn(io::Error) -> StorageError,
) -> Result<u64, StorageError> {
    let (to_format, unformatted) = sync_channel::<RecordBatch>(2);
    let (done, formatted) = channel::<io::Result<(Vec<u8>, u64)>>();
    let (recycle, recycled) = channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for batch in unformatted {
                let mut block = recycled.try_recv().unwrap_or_default();
                block.clear();
                let formatted = write_batch(&mut block, &batch).map(|rows| (block, rows));
                if done.send(formatted).is_err() {
                    break;
                }
            }
        });
        let mut rows = 0;
        let mut write_block = |block: io::Result<(Vec<u8>, u64)>| -> Result<(), StorageError> {
            let (block, n) = block.map_err(&write_err)?;
            out.write_all(&block).map_err(&write_err)?;
            rows += n;
            let _ = recycle.send(block);
            Ok(())
        };
        for batch in batches {
            if to_format.send(batch?).is_err() {
                break;
            }
            while let Ok(block) = formatted.try_recv() {
                write_block(block)?;
            }
        }
        drop(to_format);
        for block in formatted {
            write_block(block)?;
        }
        Ok(rows)
    })
}

//! Loading CSV files into tables: full loads replace the rows, incremental loads append, and with
//! a primary key both keep one row per key (the last one in the file wins over existing rows and
//! earlier duplicates). `delete_where` filters run before the load, only on an existing table.
//!
//! The whole import is one DuckDB transaction, so a failure (or a killed process) leaves the
//! table as it was. Parsing runs on a separate thread that feeds Arrow batches to the appender.

use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc::sync_channel;

use duckdb::{Connection, params_from_iter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::csv_guard::DEFAULT_MAX_FIELD_BYTES;
use super::csv_read::{CsvDialect, CsvInput, CsvSource};
use super::db::to_micros;
use super::table_id::{quote_ident, validate_column_list};
use super::tables::{
    CatalogEntry, catalog_entry, check_primary_key, check_unique, data_table,
    normalize_primary_key, row_count, write_entry,
};
use super::{Storage, StorageError, TableId};

/// How to load a CSV file into a table (Keboola's output mapping load options).
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Append (upsert with a primary key) instead of replacing the rows.
    pub incremental: bool,
    /// Primary key columns. Empty keeps the table's key (none for a new table); a different
    /// non-empty key replaces it.
    pub primary_key: Vec<String>,
    /// Delimiter and enclosure.
    pub dialect: CsvDialect,
    /// Non-empty means the file is headless and these are its columns.
    pub columns: Vec<String>,
    /// Rows to delete before the load (only when the table exists).
    pub delete_where: Vec<DeleteFilter>,
    /// The longest field the file may hold; `None`: [`DEFAULT_MAX_FIELD_BYTES`] (16 MiB).
    pub max_field_bytes: Option<u64>,
}

impl WhereFilter {
    /// Checks the filter against a table's `columns`: the column exists and values are given
    /// (`option` names the option in the error).
    pub fn check(
        &self,
        id: &TableId,
        columns: &[String],
        option: &'static str,
    ) -> Result<(), StorageError> {
        if !columns.contains(&self.column) {
            return Err(StorageError::UnknownColumn {
                table: id.to_string(),
                option,
                column: self.column.clone(),
                available: columns.join(", "),
            });
        }
        if self.values.is_empty() {
            return Err(StorageError::InvalidOption {
                subject: format!("table \"{id}\""),
                option,
                reason: format!("no values given for column \"{}\"", self.column),
            });
        }
        Ok(())
    }
}

/// `eq` (value in the list) or `ne` (value not in the list).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WhereOperator {
    /// The value is one of the given values (SQL `IN`).
    #[default]
    Eq,
    /// The value is none of the given values (SQL `NOT IN`).
    Ne,
}

impl FromStr for WhereOperator {
    type Err = String;

    /// `eq`, `ne`, or empty for `eq`, as the mapping accepts.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "eq" | "" => Ok(Self::Eq),
            "ne" => Ok(Self::Ne),
            other => Err(format!(
                "invalid operator \"{other}\"; expected \"eq\" or \"ne\""
            )),
        }
    }
}

/// One column condition: `column` compared with `values` by `operator`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhereFilter {
    /// The column.
    pub column: String,
    /// `eq` or `ne`.
    pub operator: WhereOperator,
    /// The values (must not be empty).
    pub values: Vec<String>,
}

/// One `delete_where` rule: rows matching every given condition are deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteFilter {
    /// Only rows changed at or after this time.
    pub changed_since: Option<OffsetDateTime>,
    /// Only rows changed before this time.
    pub changed_until: Option<OffsetDateTime>,
    /// Column conditions, AND-ed.
    pub where_filters: Vec<WhereFilter>,
}

impl DeleteFilter {
    /// Checks the rule against a table's `columns`: it has at least one condition, and every
    /// where filter names an existing column and gives values.
    pub fn check(&self, id: &TableId, columns: &[String]) -> Result<(), StorageError> {
        for filter in &self.where_filters {
            filter.check(id, columns, "delete_where")?;
        }
        if self.changed_since.is_none()
            && self.changed_until.is_none()
            && self.where_filters.is_empty()
        {
            return Err(StorageError::InvalidOption {
                subject: format!("table \"{id}\""),
                option: "delete_where",
                reason:
                    "a rule needs at least one of changed_since, changed_until or where_filters"
                        .into(),
            });
        }
        Ok(())
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The table.
    pub table: TableId,
    /// True when the import created the table.
    pub created: bool,
    /// Rows read from the file.
    pub rows_imported: u64,
    /// Rows removed by `delete_where` and, for a full load, the rows replaced.
    pub rows_deleted: u64,
    /// Columns the file added to an existing table.
    pub columns_added: Vec<String>,
    /// Rows in the table after the import.
    pub rows: u64,
}

/// Builds `cond AND cond …` for a list of where filters, pushing bound values to `params`.
pub(crate) fn where_conditions(
    id: &TableId,
    columns: &[String],
    option: &'static str,
    filters: &[WhereFilter],
    params: &mut Vec<String>,
) -> Result<Vec<String>, StorageError> {
    let mut out = Vec::new();
    for filter in filters {
        filter.check(id, columns, option)?;
        let marks = vec!["?"; filter.values.len()].join(", ");
        let op = match filter.operator {
            WhereOperator::Eq => "IN",
            WhereOperator::Ne => "NOT IN",
        };
        out.push(format!("{} {op} ({marks})", quote_ident(&filter.column)));
        params.extend(filter.values.iter().cloned());
    }
    Ok(out)
}

fn delete_where(
    conn: &Connection,
    id: &TableId,
    columns: &[String],
    filters: &[DeleteFilter],
) -> Result<u64, StorageError> {
    let mut deleted = 0u64;
    for filter in filters {
        filter.check(id, columns)?;
        let mut params = Vec::new();
        let mut conditions = where_conditions(
            id,
            columns,
            "delete_where",
            &filter.where_filters,
            &mut params,
        )?;
        if let Some(since) = filter.changed_since {
            conditions.push(format!("_timestamp >= {}", to_micros(since)));
        }
        if let Some(until) = filter.changed_until {
            conditions.push(format!("_timestamp < {}", to_micros(until)));
        }
        let sql = format!(
            "DELETE FROM {} WHERE {}",
            data_table(id),
            conditions.join(" AND ")
        );
        let n = conn
            .execute(&sql, params_from_iter(params.iter()))
            .map_err(StorageError::db("deleting rows (delete_where)", id))?;
        deleted += n as u64;
    }
    Ok(deleted)
}

fn create_table(conn: &Connection, table_sql: &str, columns: &[String]) -> duckdb::Result<()> {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| format!("{} VARCHAR NOT NULL DEFAULT ''", quote_ident(c)))
        .collect();
    // `_timestamp` first: columns added later by ALTER TABLE go to the end, so the physical
    // order stays `_timestamp` + the catalog's column order, which is what batches carry.
    conn.execute_batch(&format!(
        "CREATE TABLE {table_sql} (_timestamp BIGINT NOT NULL, {})",
        cols.join(", ")
    ))
}

/// Streams the file through the appender into `data.<table>`; returns the rows read.
fn append(
    conn: &Connection,
    id: &TableId,
    table: &str,
    source: CsvSource,
    order: &[usize],
    timestamp: i64,
) -> Result<u64, StorageError> {
    let (sink, batches) = sync_channel(8);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || source.produce(order, timestamp, &sink));
        let appended = (|| -> duckdb::Result<()> {
            let mut appender = conn.appender_to_db(table, "data")?;
            for batch in batches.iter() {
                appender.append_record_batch(batch)?;
            }
            appender.flush()
        })();
        // Hanging up stops the producer if the appender failed first.
        drop(batches);
        let produced = producer.join().map_err(|_| StorageError::Database {
            stage: "reading the CSV file",
            subject: id.to_string(),
            source: anyhow::anyhow!("the CSV reader thread panicked"),
        })?;
        let rows = produced?;
        appended.map_err(StorageError::db("appending rows", id))?;
        Ok(rows)
    })
}

/// Keeps the last row (in insertion order) of each primary key in `table_sql`.
fn deduplicate(
    conn: &Connection,
    id: &TableId,
    table_sql: &str,
    primary_key: &[String],
) -> Result<(), StorageError> {
    if check_unique(conn, id, table_sql, primary_key).is_ok() {
        return Ok(());
    }
    let key = key_list(primary_key);
    let scratch = data_table(&scratch_id(id));
    // (`rowid` is aliased in a subquery: DuckDB fails on it used directly in a window.)
    conn.execute_batch(&format!(
        "CREATE TABLE {scratch} AS SELECT * EXCLUDE (_r, _n) FROM ( \
           SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY _r DESC) AS _n \
           FROM (SELECT *, rowid AS _r FROM {table_sql})) \
         WHERE _n = 1 ORDER BY _r;
         DELETE FROM {table_sql};
         INSERT INTO {table_sql} SELECT * FROM {scratch};
         DROP TABLE {scratch};"
    ))
    .map_err(StorageError::db("removing duplicate primary keys", id))
}

fn key_list(primary_key: &[String]) -> String {
    primary_key
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A table id for scratch tables that live only inside one transaction.
fn scratch_id(id: &TableId) -> TableId {
    let name = format!("__scratch-{}", uuid::Uuid::new_v4().simple());
    TableId::parse(&format!("{}.{}", id.bucket_id(), name)).unwrap_or_else(|_| id.clone())
}

/// Completes an upsert after the file's rows were appended to the table itself: for every key
/// that now appears more than once, only the newest row (the file's last) is kept. Measured
/// about 15 % faster than loading a staging table and merging it.
fn upsert_in_place(
    conn: &Connection,
    id: &TableId,
    table_sql: &str,
    primary_key: &[String],
) -> Result<(), StorageError> {
    let key = key_list(primary_key);
    let scratch = data_table(&scratch_id(id));
    let matches = primary_key
        .iter()
        .map(|c| format!("t.{0} = d.{0}", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    conn.execute_batch(&format!(
        "CREATE TABLE {scratch} AS SELECT {key}, max(_r) AS _keep \
           FROM (SELECT {key}, rowid AS _r FROM {table_sql}) GROUP BY {key} HAVING count(*) > 1;
         DELETE FROM {table_sql} AS t USING {scratch} AS d WHERE {matches} AND t.rowid <> d._keep;
         DROP TABLE {scratch};"
    ))
    .map_err(StorageError::db("merging rows by primary key", id))
}

/// Adds `column` to table `id`'s data, empty in every existing row (the catalog entry is the
/// caller's to update).
pub(super) fn add_column(tx: &Connection, id: &TableId, column: &str) -> Result<(), StorageError> {
    tx.execute_batch(&format!(
        "ALTER TABLE {} ADD COLUMN {} VARCHAR NOT NULL DEFAULT ''",
        data_table(id),
        quote_ident(column)
    ))
    .map_err(StorageError::db("adding a column", id))
}

/// The body of [`Storage::import_csv`] inside a transaction the caller owns, so that several
/// loads can share one transaction (`batch`). Nothing is committed here.
pub(super) fn import_in(
    tx: &Connection,
    id: &TableId,
    path: &Path,
    input: CsvInput<'_>,
    options: &ImportOptions,
    now: OffsetDateTime,
) -> Result<ImportReport, StorageError> {
    let existing = catalog_entry(tx, id)?;
    let (plan, source) = ImportPlan::prepare(
        id,
        path,
        input,
        options,
        existing.as_ref().map(|e| ExistingTable {
            columns: &e.columns,
            primary_key: &e.primary_key,
        }),
    )?;
    let ImportPlan {
        columns,
        added,
        primary_key,
        key_changed,
        upsert,
        order,
    } = plan;
    let timestamp = to_micros(now);

    let table_sql = data_table(id);
    let mut rows_deleted = 0;
    match &existing {
        None => create_table(tx, &table_sql, &columns)
            .map_err(StorageError::db("creating the table", id))?,
        Some(entry) => {
            for column in &added {
                add_column(tx, id, column)?;
            }
            rows_deleted += delete_where(tx, id, &entry.columns, &options.delete_where)?;
            if !options.incremental {
                let n = tx
                    .execute(&format!("DELETE FROM {table_sql}"), [])
                    .map_err(StorageError::db("replacing the rows", id))?;
                rows_deleted += n as u64;
            }
        }
    }

    let rows_imported = if upsert {
        if key_changed {
            // The existing rows must already be unique under a new key.
            check_unique(tx, id, &table_sql, &primary_key)?;
        }
        let rows = append(tx, id, &id.to_string(), source, &order, timestamp)?;
        upsert_in_place(tx, id, &table_sql, &primary_key)?;
        rows
    } else {
        let rows = append(tx, id, &id.to_string(), source, &order, timestamp)?;
        if !primary_key.is_empty() {
            // A new table or a full load: only the file's own duplicates can collide.
            deduplicate(tx, id, &table_sql, &primary_key)?;
        }
        rows
    };

    let entry = CatalogEntry {
        columns,
        primary_key,
        created: existing.as_ref().map_or(timestamp, |e| e.created),
        last_import: timestamp,
        last_change: timestamp,
    };
    write_entry(tx, id, &entry)?;
    let rows = row_count(tx, id)?;
    Ok(ImportReport {
        table: id.clone(),
        created: existing.is_none(),
        rows_imported,
        rows_deleted,
        columns_added: if existing.is_some() {
            added
        } else {
            Vec::new()
        },
        rows,
    })
}

impl Storage {
    /// Loads a CSV file into a table, creating the table when it does not exist.
    ///
    /// This corresponds to Keboola's "load data into table" (`incremental`, `primaryKey`,
    /// `delimiter`, `enclosure`, `columns`, and the output mapping's `delete_where`). Column
    /// names are checked; the file's columns must include every column of an existing table, and
    /// new ones are added. Nothing changes unless the whole import succeeds.
    pub fn import_csv(
        &mut self,
        id: &TableId,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, StorageError> {
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", id))?;
        let report = import_in(
            &tx,
            id,
            path,
            CsvInput::Path(path),
            options,
            self.clock.now(),
        )?;
        tx.commit()
            .map_err(StorageError::db("committing the import", id))?;
        Ok(report)
    }

    /// Deletes rows matching `filters` (each rule AND-ed inside, rules applied in turn) and
    /// returns how many were deleted. This corresponds to Keboola's "delete table rows".
    pub fn delete_rows(
        &mut self,
        id: &TableId,
        filters: &[DeleteFilter],
    ) -> Result<u64, StorageError> {
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", id))?;
        let Some(mut entry) = catalog_entry(&tx, id)? else {
            return Err(StorageError::TableNotFound { id: id.to_string() });
        };
        let deleted = delete_where(&tx, id, &entry.columns, filters)?;
        entry.last_change = to_micros(self.clock.now());
        write_entry(&tx, id, &entry)?;
        tx.commit()
            .map_err(StorageError::db("committing the delete", id))?;
        Ok(deleted)
    }
}

/// An existing table as an import sees it.
#[derive(Debug, Clone, Copy)]
pub struct ExistingTable<'a> {
    /// Its columns, in order.
    pub columns: &'a [String],
    /// Its primary key (empty: none).
    pub primary_key: &'a [String],
}

/// What an import will do, decided before any row is read from the options, the file's header
/// and the table as it is: the rules every Storage backend shares (and their error texts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    /// The table's columns after the import: the existing ones, then those the file adds.
    pub columns: Vec<String>,
    /// Columns the file adds to an existing table (all of them for a new table are in
    /// `columns`, not here).
    pub added: Vec<String>,
    /// The primary key after the import: the requested one, or the table's when none is asked.
    pub primary_key: Vec<String>,
    /// The table exists and the import sets a different key (its rows must be unique under it).
    pub key_changed: bool,
    /// Rows are merged by primary key into an existing table (incremental, with a key).
    pub upsert: bool,
    /// For each column of `columns`, its index in the file's header.
    pub order: Vec<usize>,
}

impl ImportPlan {
    /// Checks the options and opens the file (`path`, named so in messages): the dialect, the
    /// column names, that the file has every column of an existing table, the primary key.
    pub fn prepare(
        id: &TableId,
        path: &Path,
        input: CsvInput<'_>,
        options: &ImportOptions,
        existing: Option<ExistingTable<'_>>,
    ) -> Result<(Self, CsvSource), StorageError> {
        options
            .dialect
            .validate()
            .map_err(|reason| StorageError::InvalidOption {
                subject: format!("table \"{id}\""),
                option: "CSV dialect",
                reason,
            })?;
        validate_column_list(id, &options.columns)?;
        let requested_key = normalize_primary_key(&options.primary_key);
        let source = CsvSource::open(
            id,
            path,
            input,
            options.dialect,
            &options.columns,
            options.max_field_bytes.unwrap_or(DEFAULT_MAX_FIELD_BYTES),
        )?;
        validate_column_list(id, &source.header)?;
        let mut columns = match existing {
            Some(table) => {
                let missing: Vec<&str> = table
                    .columns
                    .iter()
                    .filter(|c| !source.header.contains(c))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    return Err(StorageError::MissingColumns {
                        table: id.to_string(),
                        missing: missing.join(", "),
                        expected: table.columns.join(", "),
                    });
                }
                table.columns.to_vec()
            }
            None => source.header.clone(),
        };
        let added: Vec<String> = source
            .header
            .iter()
            .filter(|c| !columns.contains(c))
            .cloned()
            .collect();
        columns.extend(added.iter().cloned());
        validate_column_list(id, &columns)?;
        let old_key = existing.map(|t| t.primary_key).unwrap_or_default();
        let primary_key = if requested_key.is_empty() {
            old_key.to_vec()
        } else {
            requested_key
        };
        check_primary_key(id, &primary_key, &columns)?;
        let order: Vec<usize> = columns
            .iter()
            .map(|c| source.header.iter().position(|h| h == c).unwrap_or(0))
            .collect();
        let plan = Self {
            key_changed: existing.is_some() && primary_key != old_key,
            upsert: existing.is_some() && options.incremental && !primary_key.is_empty(),
            columns,
            added,
            primary_key,
            order,
        };
        Ok((plan, source))
    }
}

//! Loading CSV files into tables on PostgreSQL, in one transaction: the file is read and checked
//! by `berth-storage` ([`ImportPlan`], [`berth_storage::CsvSource`]) and streamed into the table
//! with `COPY … FROM STDIN` while PostgreSQL ingests it (two processes, two cores).
//!
//! - without a primary key the rows are copied straight into the data table;
//! - with one, they are copied into a temporary table and inserted from there, the file's last
//!   row of each key only, with `INSERT … ON CONFLICT` on the key's unique index: an existing
//!   row is replaced and moves to the end of the table's order, as on the embedded backend.
//!
//! PostgreSQL `text` cannot hold a NUL character: a file with one is refused, naming the line.

use std::io::{BufWriter, Write};
use std::path::Path;

use postgres::Transaction;
use postgres::error::SqlState;
use postgres::types::ToSql;

use berth_storage::{
    BatchError, CsvInput, CsvSource, DeleteFilter, ExistingTable, ImportOptions, ImportPlan,
    ImportReport, StorageError, TableId, TableLoad, WhereOperator, write_csv_row,
};

use crate::table_metadata::{write_column_metadata, write_metadata};
use crate::tables::{
    DATA_TYPE, Entry, add_column, data_column, data_columns, entry, lock_table, now_micros,
    row_count, to_micros, write_entry,
};
use crate::{PgError, PgStorage};

impl PgStorage {
    /// Loads a CSV file into a table, creating the table when it does not exist: the embedded
    /// Storage's `import_csv`, with the same options, rules and errors. Nothing changes unless
    /// the whole import succeeds.
    pub fn import_csv(
        &mut self,
        id: &TableId,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, PgError> {
        let fixed_time = self.fixed_micros();
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        lock_table(&mut tx, id)?;
        without_jit(&mut tx, id)?;
        let (report, _) = import_in(&mut tx, id, path, CsvInput::Path(path), options, fixed_time)?;
        tx.commit()
            .map_err(PgError::db("committing the import", id))?;
        Ok(report)
    }

    /// Loads every table of `loads` in one transaction, with their metadata: either all of them
    /// change, or none. The tables are locked up front, in the order of their ids, so two nodes
    /// loading overlapping batches take turns instead of deadlocking.
    pub fn load_tables(
        &mut self,
        loads: &[TableLoad],
        on_loaded: &mut dyn FnMut(usize, &ImportReport),
    ) -> Result<Vec<ImportReport>, BatchError> {
        let fail = |index: usize, table: &TableId| {
            let table = table.clone();
            move |source: PgError| BatchError {
                index,
                table,
                source: Box::new(source.into()),
            }
        };
        let Some(first) = loads.first() else {
            return Ok(Vec::new());
        };
        let fixed_time = self.fixed_micros();
        let mut client = self.client();
        let mut tx = client.transaction().map_err(|e| {
            fail(0, &first.table)(PgError::db("starting a transaction", &first.table)(e))
        })?;
        let mut tables: Vec<&TableId> = loads.iter().map(|load| &load.table).collect();
        tables.sort_by_key(|id| id.to_string());
        tables.dedup();
        for table in tables {
            lock_table(&mut tx, table).map_err(fail(0, table))?;
        }
        without_jit(&mut tx, &first.table).map_err(fail(0, &first.table))?;
        let mut reports = Vec::with_capacity(loads.len());
        for (index, load) in loads.iter().enumerate() {
            let input = match &load.open {
                Some(open) => CsvInput::Open(open),
                None => CsvInput::Path(&load.path),
            };
            let (report, entry) = import_in(
                &mut tx,
                &load.table,
                &load.path,
                input,
                &load.options,
                fixed_time,
            )
            .map_err(fail(index, &load.table))?;
            let extra = if report.created {
                load.metadata_if_created.as_slice()
            } else {
                &[]
            };
            for (provider, key, value) in load.metadata.iter().chain(extra) {
                write_metadata(
                    &mut tx,
                    &load.table,
                    provider,
                    &[(key.clone(), value.clone())],
                )
                .map_err(fail(index, &load.table))?;
            }
            write_column_metadata(&mut tx, &load.table, entry, &load.column_metadata)
                .map_err(fail(index, &load.table))?;
            on_loaded(index, &report);
            reports.push(report);
        }
        let last = &loads[loads.len() - 1].table;
        tx.commit().map_err(|e| {
            fail(loads.len() - 1, last)(PgError::db("committing the output tables", "all tables")(
                e,
            ))
        })?;
        Ok(reports)
    }
}

/// Turns PostgreSQL's JIT off for the rest of the transaction: a load's statements are simple
/// scans, sorts and inserts over many rows, and compiling them (on by default for costly plans)
/// takes longer than it saves. Once per transaction, however many tables it loads.
fn without_jit(tx: &mut Transaction<'_>, id: &TableId) -> Result<(), PgError> {
    tx.batch_execute("SET LOCAL jit = off")
        .map_err(PgError::db("configuring the import", id))
}

/// The body of an import inside a transaction the caller owns (and whose table lock it took,
/// JIT turned off);
/// returns the report and the table's catalog entry as written. Nothing is committed here.
fn import_in(
    tx: &mut Transaction<'_>,
    id: &TableId,
    path: &Path,
    input: CsvInput<'_>,
    options: &ImportOptions,
    fixed_time: Option<i64>,
) -> Result<(ImportReport, Entry), PgError> {
    let timestamp = match fixed_time {
        Some(micros) => micros,
        None => now_micros(tx, id)?,
    };
    let existing = entry(tx, id)?;
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
    let mut rows_deleted = 0;
    let entry = match &existing {
        None => create_table(tx, id, &plan, timestamp)?,
        Some(old) => {
            let entry = Entry {
                columns: plan.columns.clone(),
                ..old.clone()
            };
            for index in old.columns.len()..plan.columns.len() {
                add_column(tx, id, &entry, index)?;
            }
            rows_deleted += delete_where(tx, id, old, &options.delete_where)?;
            if !options.incremental {
                rows_deleted += row_count(tx, id, &entry)?;
                tx.batch_execute(&format!("TRUNCATE {}", entry.data_table()))
                    .map_err(PgError::db("replacing the rows", id))?;
            }
            entry
        }
    };
    if existing.is_none() || plan.key_changed {
        set_primary_key(tx, id, &entry, &plan.primary_key)?;
    }
    let rows_imported = if plan.primary_key.is_empty() {
        copy_rows(tx, id, path, &entry, source, &plan, Some(timestamp))?
    } else {
        merge_rows(tx, id, path, &entry, source, &plan, timestamp)?
    };
    let entry = Entry {
        primary_key: plan.primary_key.clone(),
        last_import: timestamp,
        last_change: timestamp,
        ..entry
    };
    write_entry(tx, id, &entry)?;
    let rows = row_count(tx, id, &entry)?;
    let report = ImportReport {
        table: id.clone(),
        created: existing.is_none(),
        rows_imported,
        rows_deleted,
        columns_added: if existing.is_some() {
            plan.added
        } else {
            Vec::new()
        },
        rows,
    };
    Ok((report, entry))
}

/// Creates the data table of a new table and returns its entry (written later).
fn create_table(
    tx: &mut Transaction<'_>,
    id: &TableId,
    plan: &ImportPlan,
    timestamp: i64,
) -> Result<Entry, PgError> {
    let number: i64 = tx
        .query_one("SELECT nextval('berth_table_names')", &[])
        .map_err(PgError::db("naming the table", id))?
        .get(0);
    let entry = Entry {
        data_name: format!("t{number}"),
        columns: plan.columns.clone(),
        primary_key: Vec::new(),
        created: timestamp,
        last_import: timestamp,
        last_change: timestamp,
    };
    tx.batch_execute(&format!(
        "CREATE TABLE {table} (_seq bigint GENERATED BY DEFAULT AS IDENTITY, \
           _timestamp bigint NOT NULL, {columns}); \
         CREATE INDEX {name}_seq ON {table} (_seq);",
        table = entry.data_table(),
        name = entry.data_name,
        columns = column_definitions(plan.columns.len(), " DEFAULT ''")
    ))
    .map_err(PgError::db("creating the table", id))?;
    Ok(entry)
}

/// The definitions of data columns `c1` … `c<count>`, each followed by `extra`.
fn column_definitions(count: usize, extra: &str) -> String {
    (0..count)
        .map(|i| format!("{} {DATA_TYPE} NOT NULL{extra}", data_column(i)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Makes `primary_key` the table's unique index (none when empty), replacing the old one;
/// [`StorageError::DuplicatePrimaryKey`] when the rows are not unique under it.
fn set_primary_key(
    tx: &mut Transaction<'_>,
    id: &TableId,
    entry: &Entry,
    primary_key: &[String],
) -> Result<(), PgError> {
    tx.batch_execute(&format!(
        "DROP INDEX IF EXISTS berth_data.{}_key",
        entry.data_name
    ))
    .map_err(PgError::db("dropping the primary key", id))?;
    if primary_key.is_empty() {
        return Ok(());
    }
    let created = tx.batch_execute(&format!(
        "CREATE UNIQUE INDEX {}_key ON {} ({})",
        entry.data_name,
        entry.data_table(),
        data_columns(entry, primary_key)
    ));
    match created {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            Err(StorageError::DuplicatePrimaryKey {
                table: id.to_string(),
                primary_key: primary_key.join(", "),
            }
            .into())
        }
        Err(e) => Err(key_error(id, "setting the primary key", e)),
    }
}

/// A key too long for PostgreSQL's index is the data's fault (a user error naming the limit);
/// anything else is the database's.
fn key_error(id: &TableId, stage: &'static str, error: postgres::Error) -> PgError {
    if error.code() == Some(&SqlState::PROGRAM_LIMIT_EXCEEDED) {
        return StorageError::InvalidOption {
            subject: format!("table \"{id}\""),
            option: "primary key",
            reason: "a key value is too long for PostgreSQL's index (keys up to about 2,700 \
                     bytes fit); shorten the key's values or choose another key"
                .into(),
        }
        .into();
    }
    PgError::db(stage, id)(error)
}

/// Streams the file's rows with `COPY` into `table` (the data table when `timestamp` is given,
/// stamped with it; otherwise the load table, whose columns are just the data); returns the
/// rows read.
fn copy_into(
    tx: &mut Transaction<'_>,
    id: &TableId,
    path: &Path,
    copy: &str,
    mut source: CsvSource,
    order: &[usize],
    timestamp: Option<i64>,
) -> Result<u64, PgError> {
    let writer = tx
        .copy_in(copy)
        .map_err(PgError::db("starting to copy rows", id))?;
    let mut writer = BufWriter::with_capacity(1 << 18, writer);
    let stamp = timestamp.map(|t| format!("{t},"));
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    let sent = |e: std::io::Error| StorageError::Io {
        stage: "copying rows to PostgreSQL",
        path: path.to_path_buf(),
        source: e,
    };
    while source.read_record(&mut record)? {
        if memchr::memchr(0, record.as_slice().as_bytes()).is_some() {
            let field = record.iter().position(|f| f.contains('\0')).unwrap_or(0);
            return Err(StorageError::Csv {
                table: id.to_string(),
                path: path.to_path_buf(),
                line: record.position().map_or(0, csv::Position::line),
                message: format!(
                    "field {} holds a NUL character, which PostgreSQL text cannot store",
                    field + 1
                ),
            }
            .into());
        }
        if let Some(stamp) = &stamp {
            writer.write_all(stamp.as_bytes()).map_err(sent)?;
        }
        let fields: Vec<&str> = order.iter().map(|&i| &record[i]).collect();
        write_csv_row(&mut writer, &fields).map_err(sent)?;
        rows += 1;
    }
    let writer = writer.into_inner().map_err(|e| sent(e.into_error()))?;
    writer.finish().map_err(PgError::db("copying rows", id))?;
    Ok(rows)
}

/// Copies the rows straight into the data table.
fn copy_rows(
    tx: &mut Transaction<'_>,
    id: &TableId,
    path: &Path,
    entry: &Entry,
    source: CsvSource,
    plan: &ImportPlan,
    timestamp: Option<i64>,
) -> Result<u64, PgError> {
    let copy = format!(
        "COPY {} (_timestamp, {}) FROM STDIN (FORMAT csv)",
        entry.data_table(),
        data_columns(entry, &plan.columns)
    );
    copy_into(tx, id, path, &copy, source, &plan.order, timestamp)
}

/// Copies the rows into a load table, then inserts each key's last row into the data table,
/// replacing the row an existing key had.
fn merge_rows(
    tx: &mut Transaction<'_>,
    id: &TableId,
    path: &Path,
    entry: &Entry,
    source: CsvSource,
    plan: &ImportPlan,
    timestamp: i64,
) -> Result<u64, PgError> {
    let columns = data_columns(entry, &plan.columns);
    tx.batch_execute(&format!(
        "CREATE TEMPORARY TABLE berth_load (_line bigint GENERATED ALWAYS AS IDENTITY, {}) \
         ON COMMIT DROP",
        column_definitions(plan.columns.len(), "")
    ))
    .map_err(PgError::db("creating the load table", id))?;
    let copy = format!("COPY berth_load ({columns}) FROM STDIN (FORMAT csv)");
    let rows = copy_into(tx, id, path, &copy, source, &plan.order, None)?;
    let key = data_columns(entry, &plan.primary_key);
    let updates: Vec<String> = (0..plan.columns.len())
        .map(|i| format!("{0} = EXCLUDED.{0}", data_column(i)))
        .collect();
    tx.execute(
        &format!(
            "INSERT INTO {table} (_timestamp, {columns}) \
             SELECT $1, {columns} FROM \
               (SELECT DISTINCT ON ({key}) * FROM berth_load ORDER BY {key}, _line DESC) last \
             ORDER BY _line \
             ON CONFLICT ({key}) DO UPDATE SET _seq = EXCLUDED._seq, \
               _timestamp = EXCLUDED._timestamp, {updates}",
            table = entry.data_table(),
            updates = updates.join(", ")
        ),
        &[&timestamp],
    )
    .map_err(|e| key_error(id, "merging rows by primary key", e))?;
    tx.batch_execute("DROP TABLE berth_load")
        .map_err(PgError::db("dropping the load table", id))?;
    Ok(rows)
}

/// Deletes the rows each `delete_where` rule matches; returns how many.
fn delete_where(
    tx: &mut Transaction<'_>,
    id: &TableId,
    entry: &Entry,
    rules: &[DeleteFilter],
) -> Result<u64, PgError> {
    let mut deleted = 0;
    for rule in rules {
        rule.check(id, &entry.columns)?;
        let mut conditions = Vec::new();
        let mut values: Vec<Vec<String>> = Vec::new();
        for filter in &rule.where_filters {
            values.push(filter.values.clone());
            let column = entry.data_column(&filter.column).unwrap_or_default();
            let n = values.len();
            conditions.push(match filter.operator {
                WhereOperator::Eq => format!("{column} = ANY(${n})"),
                WhereOperator::Ne => format!("NOT ({column} = ANY(${n}))"),
            });
        }
        if let Some(since) = rule.changed_since {
            conditions.push(format!("_timestamp >= {}", to_micros(since)));
        }
        if let Some(until) = rule.changed_until {
            conditions.push(format!("_timestamp < {}", to_micros(until)));
        }
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        deleted += tx
            .execute(
                &format!(
                    "DELETE FROM {} WHERE {}",
                    entry.data_table(),
                    conditions.join(" AND ")
                ),
                &params,
            )
            .map_err(PgError::db("deleting rows (delete_where)", id))?;
    }
    Ok(deleted)
}

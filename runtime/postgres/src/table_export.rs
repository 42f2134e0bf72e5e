//! Reading tables out as CSV on PostgreSQL: `COPY (SELECT …) TO STDOUT` with every value
//! quoted, streamed to the caller's writer, rows in insertion order — byte for byte what the
//! embedded Storage writes for the same table and options (checked by `berth-storage`'s
//! [`ExportPlan`]).
//!
//! `COPY` takes no parameters, so filter values become SQL literals here: escape strings
//! (`E'…'`, backslashes and quotes doubled), whatever `standard_conforming_strings` says.

use std::io::{self, Read, Write};

use berth_storage::{
    ExportOptions, ExportPlan, ExportReport, StorageError, TableId, WhereOperator, write_csv_row,
};

use crate::tables::{require_entry, to_micros};
use crate::{PgError, PgStorage};

impl PgStorage {
    /// Writes a table (or the selected part of it) as CSV to `out`: the embedded Storage's
    /// `export_csv`, with the same options, bytes and errors.
    pub fn export_csv(
        &self,
        id: &TableId,
        out: &mut dyn Write,
        options: &ExportOptions,
    ) -> Result<ExportReport, PgError> {
        let mut client = self.client();
        let entry = require_entry(&mut *client, id)?;
        let plan = ExportPlan::prepare(id, &entry.columns, options)?;
        let mut conditions = Vec::new();
        if let Some(filter) = &plan.filter {
            let mut values = Vec::with_capacity(filter.values.len());
            for value in &filter.values {
                values.push(literal(id, value)?);
            }
            let column = entry.data_column(&filter.column).unwrap_or_default();
            let values = values.join(", ");
            conditions.push(match filter.operator {
                WhereOperator::Eq => format!("{column} IN ({values})"),
                WhereOperator::Ne => format!("{column} NOT IN ({values})"),
            });
        }
        if let Some(since) = plan.changed_since {
            conditions.push(format!("_timestamp >= {}", to_micros(since)));
        }
        if let Some(until) = plan.changed_until {
            conditions.push(format!("_timestamp < {}", to_micros(until)));
        }
        let mut select = format!(
            "SELECT {} FROM {}",
            crate::tables::data_columns(&entry, &plan.columns),
            entry.data_table()
        );
        if !conditions.is_empty() {
            select.push_str(" WHERE ");
            select.push_str(&conditions.join(" AND "));
        }
        select.push_str(" ORDER BY _seq");
        if let Some(limit) = plan.limit {
            select.push_str(&format!(" LIMIT {limit}"));
        }
        let write_err = |source| StorageError::Io {
            stage: "writing the CSV export",
            path: "<output>".into(),
            source,
        };
        write_csv_row(out, &plan.columns).map_err(write_err)?;
        let mut reader = client
            .copy_out(&format!(
                "COPY ({select}) TO STDOUT (FORMAT csv, FORCE_QUOTE *)"
            ))
            .map_err(PgError::db("exporting the table", id))?;
        let mut rows = RowCounter::default();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(StorageError::Database {
                        stage: "exporting the table",
                        subject: id.to_string(),
                        source: anyhow::Error::new(e).context("PostgreSQL"),
                    }
                    .into());
                }
            };
            rows.count(&buffer[..n]);
            out.write_all(&buffer[..n]).map_err(write_err)?;
        }
        out.flush().map_err(write_err)?;
        Ok(ExportReport {
            rows: rows.rows,
            columns: plan.columns,
        })
    }
}

/// `value` as an SQL escape-string literal; a NUL (which no PostgreSQL text holds) is refused.
fn literal(id: &TableId, value: &str) -> Result<String, PgError> {
    if value.contains('\0') {
        return Err(StorageError::InvalidOption {
            subject: format!("table \"{id}\""),
            option: "where_values",
            reason: "a value holds a NUL character, which PostgreSQL text cannot hold".into(),
        }
        .into());
    }
    Ok(format!(
        "E'{}'",
        value.replace('\\', "\\\\").replace('\'', "''")
    ))
}

/// Counts the rows of CSV output in which every value is quoted: a newline ends a row unless it
/// is inside quotes (a doubled quote toggles twice, so it changes nothing).
#[derive(Debug, Default)]
struct RowCounter {
    rows: u64,
    in_quotes: bool,
}

impl RowCounter {
    fn count(&mut self, mut bytes: &[u8]) {
        while let Some(at) = memchr::memchr2(b'"', b'\n', bytes) {
            if bytes[at] == b'"' {
                self.in_quotes = !self.in_quotes;
            } else if !self.in_quotes {
                self.rows += 1;
            }
            bytes = &bytes[at + 1..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_end_at_newlines_outside_quotes_across_chunks() {
        let mut counter = RowCounter::default();
        let output = b"\"a\",\"x\ny\"\n\"say \"\"hi\"\"\",\"\"\n\"\",\"\n\"\n";
        for chunk in output.chunks(3) {
            counter.count(chunk);
        }
        assert_eq!(counter.rows, 3);
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        let id = TableId::parse("in.c-a.b").unwrap();
        assert_eq!(
            literal(&id, r"it's a \ path").unwrap(),
            r"E'it''s a \\ path'"
        );
        assert!(literal(&id, "nul\0").is_err());
    }
}

//! Reading import CSV files: the dialect (delimiter, enclosure), the header (or the given
//! columns of a headless file) and a producer that turns records into Arrow batches for the
//! DuckDB appender, validating row width and UTF-8 and naming the line of any bad record.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use duckdb::arrow::array::{ArrayRef, Int64Array, StringBuilder};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;

use super::csv_guard::FieldLimit;
use super::input::OpenInput;
use super::{StorageError, TableId};

/// Rows per Arrow batch (DuckDB's vector size, so the appender never re-slices).
pub(crate) const BATCH_ROWS: usize = 2048;

/// A CSV dialect: RFC 4180 with a configurable delimiter and enclosure, no escape character
/// (an enclosure inside an enclosed value is doubled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvDialect {
    /// The field delimiter, `,` by default.
    pub delimiter: u8,
    /// The enclosure (quote) character, `"` by default; `None` disables quoting.
    pub enclosure: Option<u8>,
}

impl Default for CsvDialect {
    fn default() -> Self {
        Self {
            delimiter: b',',
            enclosure: Some(b'"'),
        }
    }
}

impl CsvDialect {
    /// Builds a dialect from the strings a manifest or the command line carries: the delimiter
    /// must be one ASCII character (`\t` is accepted for a tab); the enclosure one ASCII
    /// character or empty for none.
    pub fn from_strs(delimiter: &str, enclosure: &str) -> Result<Self, String> {
        let delimiter = match delimiter {
            "\\t" | "tab" => b'\t',
            d => one_ascii("delimiter", d)?,
        };
        let enclosure = match enclosure {
            "" => None,
            e => Some(one_ascii("enclosure", e)?),
        };
        let dialect = Self {
            delimiter,
            enclosure,
        };
        dialect.validate()?;
        Ok(dialect)
    }

    /// Checks the delimiter and enclosure can work together.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if matches!(self.delimiter, b'\n' | b'\r') {
            return Err("the delimiter cannot be a line break".into());
        }
        if let Some(enclosure) = self.enclosure {
            if matches!(enclosure, b'\n' | b'\r') {
                return Err("the enclosure cannot be a line break".into());
            }
            if enclosure == self.delimiter {
                return Err("the delimiter and the enclosure must differ".into());
            }
        }
        Ok(())
    }
}

fn one_ascii(what: &str, value: &str) -> Result<u8, String> {
    match value.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(format!(
            "the {what} must be a single ASCII character, not \"{value}\""
        )),
    }
}

/// Where an import reads its CSV from: a path Storage opens, or a file the caller opened.
#[derive(Debug, Clone, Copy)]
pub enum CsvInput<'a> {
    /// Opened here.
    Path(&'a Path),
    /// Opened by the caller (`path` only names it in messages).
    Open(&'a OpenInput),
}

/// An opened import file with its column names known: the records of a CSV file as every
/// Storage backend reads them (the same dialect, limits, checks and error texts).
pub struct CsvSource {
    reader: csv::Reader<FieldLimit<Box<dyn Read + Send>>>,
    /// Column names: the header line, or the given columns of a headless file.
    pub(crate) header: Vec<String>,
    path: PathBuf,
    table: TableId,
}

impl CsvSource {
    /// Opens `input` (named `path` in messages); with `columns` non-empty the file is headless
    /// and those are its columns. No field may be longer than `max_field_bytes`.
    pub(crate) fn open(
        table: &TableId,
        path: &Path,
        input: CsvInput<'_>,
        dialect: CsvDialect,
        columns: &[String],
        max_field_bytes: u64,
    ) -> Result<Self, StorageError> {
        let file: Box<dyn Read + Send> = match input {
            CsvInput::Path(path) => {
                Box::new(File::open(path).map_err(|source| StorageError::ReadInput {
                    what: "CSV file",
                    path: path.to_path_buf(),
                    source,
                })?)
            }
            CsvInput::Open(open) => Box::new(open.reader()),
        };
        let file = FieldLimit::new(file, dialect, max_field_bytes);
        let headless = !columns.is_empty();
        let mut builder = csv::ReaderBuilder::new();
        builder
            .delimiter(dialect.delimiter)
            .has_headers(!headless)
            .flexible(true)
            .buffer_capacity(1 << 20);
        match dialect.enclosure {
            Some(quote) => builder.quote(quote).double_quote(true),
            None => builder.quoting(false),
        };
        let mut reader = builder.from_reader(file);
        let header = if headless {
            columns.to_vec()
        } else {
            let header = reader
                .headers()
                .map_err(|err| csv_error(table, path, err))?;
            if header.is_empty() {
                return Err(StorageError::Csv {
                    table: table.to_string(),
                    path: path.to_path_buf(),
                    line: 1,
                    message: "the file is empty; expected a header line (or give the columns of a headless file)".into(),
                });
            }
            header.iter().map(str::to_owned).collect()
        };
        Ok(Self {
            reader,
            header,
            path: path.to_path_buf(),
            table: table.clone(),
        })
    }

    /// Reads the next record into `record`; false at the end of the file. A record must have
    /// as many fields as the header and be valid UTF-8; an error names the line.
    pub fn read_record(&mut self, record: &mut csv::StringRecord) -> Result<bool, StorageError> {
        match self.reader.read_record(record) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(err) => return Err(csv_error(&self.table, &self.path, err)),
        }
        let width = self.header.len();
        if record.len() != width {
            let line = record.position().map_or(0, csv::Position::line);
            return Err(StorageError::Csv {
                table: self.table.to_string(),
                path: self.path.clone(),
                line,
                message: format!(
                    "the row has {} fields, expected {width} ({})",
                    record.len(),
                    self.header.join(", ")
                ),
            });
        }
        Ok(true)
    }

    /// The file's column names: its header line, or the given columns of a headless file.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Reads every record and sends Arrow batches: the `_timestamp` column set to `timestamp`,
    /// then the columns in `order` (indexes into the header, one per table column).
    /// Returns the number of rows read. Stops early, without error, when the receiver hangs up.
    pub(crate) fn produce(
        mut self,
        order: &[usize],
        timestamp: i64,
        sink: &SyncSender<RecordBatch>,
    ) -> Result<u64, StorageError> {
        let mut fields = vec![Field::new("_timestamp", DataType::Int64, false)];
        fields.extend((0..order.len()).map(|i| Field::new(format!("c{i}"), DataType::Utf8, false)));
        let schema = Arc::new(Schema::new(fields));
        let mut record = csv::StringRecord::new();
        let mut builders = new_builders(order.len(), 64);
        let mut rows_in_batch = 0usize;
        let mut total = 0u64;
        while self.read_record(&mut record)? {
            for (builder, &index) in builders.iter_mut().zip(order) {
                builder.append_value(&record[index]);
            }
            rows_in_batch += 1;
            if rows_in_batch == BATCH_ROWS {
                let avg = record.as_slice().len() / order.len().max(1) + 1;
                let full = std::mem::replace(&mut builders, new_builders(order.len(), avg));
                if !send(&schema, full, rows_in_batch, timestamp, sink) {
                    return Ok(total);
                }
                total += rows_in_batch as u64;
                rows_in_batch = 0;
            }
        }
        if rows_in_batch > 0 {
            send(&schema, builders, rows_in_batch, timestamp, sink);
            total += rows_in_batch as u64;
        }
        Ok(total)
    }
}

fn csv_error(table: &TableId, path: &Path, err: csv::Error) -> StorageError {
    let line = err.position().map_or(0, csv::Position::line);
    match err.into_kind() {
        csv::ErrorKind::Io(source) => StorageError::ReadInput {
            what: "CSV file",
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::Utf8 { err, .. } => StorageError::Csv {
            table: table.to_string(),
            path: path.to_path_buf(),
            line,
            message: format!("field {} is not valid UTF-8", err.field() + 1),
        },
        other => StorageError::Csv {
            table: table.to_string(),
            path: path.to_path_buf(),
            line,
            message: format!("{other:?}"),
        },
    }
}

fn new_builders(columns: usize, avg_len: usize) -> Vec<StringBuilder> {
    (0..columns)
        .map(|_| StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * avg_len))
        .collect()
}

/// Finishes the builders into a batch and sends it; false when the receiver is gone.
fn send(
    schema: &Arc<Schema>,
    builders: Vec<StringBuilder>,
    rows: usize,
    timestamp: i64,
    sink: &SyncSender<RecordBatch>,
) -> bool {
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_value(timestamp, rows))];
    arrays.extend(
        builders
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef),
    );
    match RecordBatch::try_new(schema.clone(), arrays) {
        Ok(batch) => sink.send(batch).is_ok(),
        Err(_) => false,
    }
}

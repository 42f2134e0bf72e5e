//! Tables: CSV files in `in/tables` (with their manifests) and the writer for `out/tables`.
//!
//! Input tables are RFC 4180 CSV with a header row, `,` delimiter and `"` enclosure. Output tables
//! are written with [`OutputTableWriter`], which also writes the `.manifest` next to the CSV
//! (destination, primary key, incremental, headless columns, delete filters ...).

use std::fs::File;
use std::path::{Path, PathBuf};

use berth_host_api::paths::manifest_for;
use berth_host_api::{InputTableManifest, Operator, OutputTableManifest};
use csv::StringRecord;
use serde_json::Value;

use crate::{Context, Error, Result};

/// One entry of `in/tables`: its name, its path and its manifest (if present).
#[derive(Debug, Clone)]
pub struct InputTable {
    /// The file name under `in/tables` (the mapping's destination), e.g. `source.csv`.
    pub name: String,
    /// The full path.
    pub path: PathBuf,
    /// The parsed `<name>.manifest`, when there is one.
    pub manifest: Option<InputTableManifest>,
}

impl InputTable {
    /// Reads `path` and its manifest; `name` is the file name.
    fn open(path: PathBuf) -> Result<Self> {
        let (name, manifest) = crate::input_entry::open(&path, InputTableManifest::from_json)?;
        Ok(Self {
            name,
            path,
            manifest,
        })
    }

    /// The Storage table id from the manifest, if known.
    pub fn table_id(&self) -> Option<&str> {
        self.manifest.as_ref().map(|m| m.id.as_str())
    }

    /// Opens the CSV: [`Records::headers`] and an iterator over the data rows.
    pub fn records(&self) -> Result<Records> {
        if self.path.is_dir() {
            return Err(Error::user(format!(
                "Input table \"{}\" is a sliced directory; only single CSV files are supported.",
                self.name
            )));
        }
        let file = File::open(&self.path).map_err(|e| Error::io("Cannot open", &self.path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(file);
        let headers = reader
            .headers()
            .map_err(|e| csv_error(&self.name, e))?
            .clone();
        Ok(Records {
            table: self.name.clone(),
            headers,
            inner: reader.into_records(),
        })
    }

    /// The header row.
    pub fn headers(&self) -> Result<StringRecord> {
        Ok(self.records()?.headers)
    }
}

fn csv_error(table: &str, source: csv::Error) -> Error {
    // A malformed CSV is the user's data: report it as a user error naming the table and row.
    match source.kind() {
        csv::ErrorKind::Io(_) => Error::Csv {
            context: format!("Cannot read table \"{table}\""),
            source,
        },
        _ => Error::User(format!("Table \"{table}\" is not valid CSV: {source}")),
    }
}

/// The rows of an input table: an iterator of `Result<StringRecord>` with the header at hand.
pub struct Records {
    table: String,
    headers: StringRecord,
    inner: csv::StringRecordsIntoIter<File>,
}

impl Records {
    /// The header row.
    pub fn headers(&self) -> &StringRecord {
        &self.headers
    }

    /// The index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The table's file name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

impl Iterator for Records {
    type Item = Result<StringRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|r| r.map_err(|e| csv_error(&self.table, e)))
    }
}

impl Context {
    /// Every table in `in/tables` (manifests excluded), sorted by name.
    pub fn input_tables(&self) -> Result<Vec<InputTable>> {
        crate::input_entry::list(&self.data_dir().in_tables())?
            .into_iter()
            .map(InputTable::open)
            .collect()
    }

    /// The input table named `name`: a file name under `in/tables` (the mapping's destination),
    /// or the Storage id of a mapped table. Missing is a user error.
    pub fn input_table(&self, name: &str) -> Result<InputTable> {
        let dir = self.data_dir().in_tables();
        let by_source = self
            .config()
            .storage
            .input
            .tables
            .iter()
            .find(|t| t.source == name)
            .map(|t| t.effective_destination().to_owned());
        for candidate in std::iter::once(name.to_owned()).chain(by_source) {
            let path = dir.join(&candidate);
            if path.exists() && !candidate.contains('/') {
                return InputTable::open(path);
            }
        }
        Err(Error::user(format!(
            "Input table \"{name}\" not found in in/tables."
        )))
    }

    /// Starts an output table `out/tables/<name>`; configure it, write rows, then
    /// [`OutputTableWriter::finish`].
    pub fn output_table(&self, name: &str) -> OutputTableWriter {
        OutputTableWriter::new(self.data_dir().out_tables().join(name), name)
    }
}

/// Writes one CSV into `out/tables` and, on [`finish`](Self::finish), its manifest.
///
/// The file is created on the first [`write_record`](Self::write_record) (or at `finish`, for an
/// empty table). Set the options first.
#[derive(Debug)]
pub struct OutputTableWriter {
    name: String,
    path: PathBuf,
    manifest: OutputTableManifest,
    header: Option<Vec<String>>,
    delimiter: u8,
    enclosure: u8,
    writer: Option<csv::Writer<File>>,
}

impl OutputTableWriter {
    fn new(path: PathBuf, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            path,
            manifest: OutputTableManifest::default(),
            header: None,
            delimiter: b',',
            enclosure: b'"',
            writer: None,
        }
    }

    /// The Storage table id, `stage.bucket.table`.
    pub fn destination(mut self, table_id: impl Into<String>) -> Self {
        self.manifest.destination = Some(table_id.into());
        self
    }

    /// Primary key columns.
    pub fn primary_key<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.manifest.primary_key = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Append to the table instead of replacing it.
    pub fn incremental(mut self, incremental: bool) -> Self {
        self.manifest.incremental = Some(incremental);
        self
    }

    /// A headless CSV: no header row is written, the column names go to the manifest.
    pub fn columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.manifest.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// A header row written before the first record (instead of writing it yourself).
    pub fn header<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.header = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Load the table even when the job fails.
    pub fn write_always(mut self, write_always: bool) -> Self {
        self.manifest.write_always = Some(write_always);
        self
    }

    /// The CSV delimiter (an ASCII byte); default `,`.
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        if delimiter != b',' {
            self.manifest.delimiter = Some(char::from(delimiter).to_string());
        }
        self
    }

    /// The CSV enclosure (an ASCII byte); default `"`.
    pub fn enclosure(mut self, enclosure: u8) -> Self {
        self.enclosure = enclosure;
        if enclosure != b'"' {
            self.manifest.enclosure = Some(char::from(enclosure).to_string());
        }
        self
    }

    /// Delete the destination's rows whose `column` matches `values` (with `operator`) before the
    /// load (legacy `delete_where_*`).
    pub fn delete_where<I, V>(
        mut self,
        column: impl Into<String>,
        values: I,
        operator: Operator,
    ) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        self.manifest.delete_where_column = Some(column.into());
        self.manifest.delete_where_values = Some(values.into_iter().map(Into::into).collect());
        self.manifest.delete_where_operator = Some(operator);
        self
    }

    /// Full control over the manifest (e.g. metadata or a native-types schema).
    pub fn manifest_mut(&mut self) -> &mut OutputTableManifest {
        &mut self.manifest
    }

    /// The path of the CSV being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&mut self) -> Result<&mut csv::Writer<File>> {
        if self.writer.is_none() {
            let file =
                File::create(&self.path).map_err(|e| Error::io("Cannot create", &self.path, e))?;
            let mut writer = csv::WriterBuilder::new()
                .delimiter(self.delimiter)
                .quote(self.enclosure)
                .from_writer(file);
            if let Some(header) = &self.header {
                writer
                    .write_record(header)
                    .map_err(|e| write_error(&self.name, e))?;
            }
            self.writer = Some(writer);
        }
        // Set just above when it was missing.
        self.writer
            .as_mut()
            .ok_or_else(|| Error::application("output table writer vanished"))
    }

    /// Writes one row.
    pub fn write_record<I, T>(&mut self, record: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let name = self.name.clone();
        self.writer()?
            .write_record(record)
            .map_err(|e| write_error(&name, e))
    }

    /// Flushes the CSV and writes `<name>.manifest` (only when some option was set).
    pub fn finish(mut self) -> Result<PathBuf> {
        let path = self.path.clone();
        self.writer()?
            .flush()
            .map_err(|e| Error::io("Cannot write", &path, e))?;
        if self.manifest != OutputTableManifest::default() {
            let manifest_path = manifest_for(&self.path);
            std::fs::write(&manifest_path, self.manifest.to_json_pretty())
                .map_err(|e| Error::io("Cannot write", &manifest_path, e))?;
        }
        Ok(self.path)
    }
}

fn write_error(table: &str, source: csv::Error) -> Error {
    Error::Csv {
        context: format!("Cannot write table \"{table}\""),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_host_api::{ConfigFile, DataDir};

    fn setup(config: &str) -> (tempfile::TempDir, Context) {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.create_layout().unwrap();
        let ctx = Context::new(data, ConfigFile::from_json_lenient(config).unwrap());
        (dir, ctx)
    }

    #[test]
    fn reads_tables_with_manifests() {
        let (_dir, ctx) = setup(
            r#"{"storage":{"input":{"tables":[{"source":"in.c-a.b","destination":"b.csv"}]}}}"#,
        );
        let tables = ctx.data_dir().in_tables();
        std::fs::write(
            tables.join("b.csv"),
            "\"id\",\"v\"\n\"1\",\"x\"\n\"2\",\"y\"\n",
        )
        .unwrap();
        std::fs::write(
            tables.join("b.csv.manifest"),
            r#"{"id":"in.c-a.b","columns":["id","v"]}"#,
        )
        .unwrap();
        std::fs::write(tables.join("a.csv"), "a\n1\n").unwrap();
        let all = ctx.input_tables().unwrap();
        assert_eq!(
            all.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["a.csv", "b.csv"]
        );
        assert!(all[0].manifest.is_none());
        let b = ctx.input_table("in.c-a.b").unwrap();
        assert_eq!(b.table_id(), Some("in.c-a.b"));
        let records = b.records().unwrap();
        assert_eq!(records.column_index("v"), Some(1));
        let rows: Vec<StringRecord> = records.collect::<Result<_>>().unwrap();
        assert_eq!(&rows[1][1], "y");
        assert!(ctx.input_table("nope.csv").unwrap_err().is_user());
    }

    #[test]
    fn malformed_csv_is_a_user_error() {
        let (_dir, ctx) = setup("{}");
        std::fs::write(ctx.data_dir().in_tables().join("t.csv"), "a,b\n1\n").unwrap();
        let t = ctx.input_table("t.csv").unwrap();
        let err = t.records().unwrap().next().unwrap().unwrap_err();
        assert!(err.is_user(), "{err}");
        assert!(err.to_string().contains("t.csv"));
    }

    #[test]
    fn writes_table_and_manifest() {
        let (_dir, ctx) = setup("{}");
        let mut w = ctx
            .output_table("out.csv")
            .destination("out.c-a.out")
            .primary_key(["id"])
            .incremental(true)
            .header(["id", "v"]);
        w.write_record(["1", "a,b"]).unwrap();
        let path = w.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "id,v\n1,\"a,b\"\n");
        let manifest = std::fs::read_to_string(manifest_for(&path)).unwrap();
        let parsed = OutputTableManifest::from_json("m", &manifest).unwrap();
        assert_eq!(parsed.primary_key, Some(vec!["id".to_owned()]));
        assert_eq!(parsed.incremental, Some(true));
    }

    #[test]
    fn headless_table_with_dialect() {
        let (_dir, ctx) = setup("{}");
        let mut w = ctx
            .output_table("h.csv")
            .columns(["a", "b"])
            .delimiter(b'\t')
            .write_always(true)
            .delete_where("a", ["x"], Operator::Ne);
        w.write_record(["1", "2"]).unwrap();
        let path = w.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\t2\n");
        let m = OutputTableManifest::from_json(
            "m",
            &std::fs::read_to_string(manifest_for(&path)).unwrap(),
        )
        .unwrap();
        assert_eq!(m.delimiter.as_deref(), Some("\t"));
        assert_eq!(m.columns, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(m.delete_where_operator, Some(Operator::Ne));
    }

    #[test]
    fn empty_table_without_options_has_no_manifest() {
        let (_dir, ctx) = setup("{}");
        let path = ctx.output_table("e.csv").finish().unwrap();
        assert!(path.exists());
        assert!(!manifest_for(&path).exists());
    }
}

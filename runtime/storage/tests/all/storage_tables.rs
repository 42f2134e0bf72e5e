//! Storage tables: import/export round trips, incremental loads, delete_where, export filters,
//! and every error message, against real DuckDB files in temp dirs.

use std::path::{Path, PathBuf};

use berth_storage::{
    Clock, ColumnMetadata, CsvDialect, DeleteFilter, ExportOptions, ImportOptions, Storage,
    StorageError, TableId, WhereFilter, WhereOperator,
};
use tempfile::TempDir;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn storage() -> (TempDir, Storage) {
    let dir = TempDir::new().unwrap();
    let storage = Storage::open(dir.path().join("storage")).unwrap();
    (dir, storage)
}

fn id(text: &str) -> TableId {
    TableId::parse(text).unwrap()
}

fn write(dir: &TempDir, name: &str, content: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn export(storage: &Storage, table: &TableId, options: &ExportOptions) -> String {
    let mut out = Vec::new();
    storage.export_csv(table, &mut out, options).unwrap();
    String::from_utf8(out).unwrap()
}

fn export_all(storage: &Storage, table: &TableId) -> String {
    export(storage, table, &ExportOptions::default())
}

fn import(storage: &mut Storage, table: &TableId, path: &Path, options: &ImportOptions) {
    storage.import_csv(table, path, options).unwrap();
}

fn import_err(
    storage: &mut Storage,
    table: &TableId,
    path: &Path,
    options: &ImportOptions,
) -> StorageError {
    storage.import_csv(table, path, options).unwrap_err()
}

#[test]
fn round_trip_quoting_newlines_and_utf8() {
    let (dir, mut storage) = storage();
    let t = id("in.c-main.quotes");
    let csv = "id,text,note\n\
               1,plain,\n\
               2,\"with \"\"quotes\"\"\",\"a,b\"\n\
               3,\"line1\nline2\",\"crlf\r\ninside\"\n\
               4,Příliš žluťoučký 🐎,\"\"\r\n\
               5,  spaces  ,'single'\n";
    let path = write(&dir, "q.csv", csv);
    let report = storage
        .import_csv(&t, &path, &ImportOptions::default())
        .unwrap();
    assert_eq!(report.rows_imported, 5);
    assert!(report.created);
    let expected = "\"id\",\"text\",\"note\"\n\
                    \"1\",\"plain\",\"\"\n\
                    \"2\",\"with \"\"quotes\"\"\",\"a,b\"\n\
                    \"3\",\"line1\nline2\",\"crlf\r\ninside\"\n\
                    \"4\",\"Příliš žluťoučký 🐎\",\"\"\n\
                    \"5\",\"  spaces  \",\"'single'\"\n";
    assert_eq!(export_all(&storage, &t), expected);
    // The path export (DuckDB COPY) writes the same bytes.
    let out = dir.path().join("out.csv");
    let report = storage
        .export_csv_to_path(&t, &out, &ExportOptions::default())
        .unwrap();
    assert_eq!(report.rows, 5);
    assert_eq!(report.columns, ["id", "text", "note"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
    // Exported CSV imports back to the same table.
    let t2 = id("out.c-copy.quotes");
    import(&mut storage, &t2, &out, &ImportOptions::default());
    assert_eq!(export_all(&storage, &t2), expected);
}

#[test]
fn custom_delimiter_and_enclosure() {
    let (dir, mut storage) = storage();
    let t = id("in.c-main.tabs");
    let path = write(&dir, "t.tsv", "a\tb\n'x\t1'\t'it''s'\nplain\t\"q\"\n");
    let options = ImportOptions {
        dialect: CsvDialect::from_strs("\\t", "'").unwrap(),
        ..ImportOptions::default()
    };
    import(&mut storage, &t, &path, &options);
    assert_eq!(
        export_all(&storage, &t),
        "\"a\",\"b\"\n\"x\t1\",\"it's\"\n\"plain\",\"\"\"q\"\"\"\n"
    );
    // No enclosure: quotes are data.
    let t2 = id("in.c-main.raw");
    let path = write(&dir, "r.csv", "a;b\n\"x;y\n");
    let options = ImportOptions {
        dialect: CsvDialect::from_strs(";", "").unwrap(),
        ..ImportOptions::default()
    };
    import(&mut storage, &t2, &path, &options);
    assert_eq!(export_all(&storage, &t2), "\"a\",\"b\"\n\"\"\"x\",\"y\"\n");
}

#[test]
fn dialect_errors() {
    for (d, e, needle) in [
        (",,", "\"", "the delimiter must be a single ASCII character"),
        ("§", "\"", "the delimiter must be a single ASCII character"),
        (",", "ab", "the enclosure must be a single ASCII character"),
        (",", ",", "must differ"),
        ("\n", "\"", "line break"),
    ] {
        let err = CsvDialect::from_strs(d, e).unwrap_err();
        assert!(err.contains(needle), "{d:?} {e:?}: {err}");
    }
}

#[test]
fn empty_table_and_headless_file() {
    let (dir, mut storage) = storage();
    let t = id("in.c-main.empty");
    let path = write(&dir, "e.csv", "a,b\n");
    import(&mut storage, &t, &path, &ImportOptions::default());
    assert_eq!(storage.table(&t).unwrap().rows, 0);
    assert_eq!(export_all(&storage, &t), "\"a\",\"b\"\n");
    let out = dir.path().join("e-out.csv");
    storage
        .export_csv_to_path(&t, &out, &ExportOptions::default())
        .unwrap();
    assert_eq!(std::fs::read_to_string(out).unwrap(), "\"a\",\"b\"\n");

    let h = id("out.c-main.headless");
    let path = write(&dir, "h.csv", "1,one\n2,\"two, too\"\n");
    let options = ImportOptions {
        columns: vec!["id".into(), "name".into()],
        ..ImportOptions::default()
    };
    import(&mut storage, &h, &path, &options);
    assert_eq!(
        export_all(&storage, &h),
        "\"id\",\"name\"\n\"1\",\"one\"\n\"2\",\"two, too\"\n"
    );
    // A headless empty file is an empty load.
    let path = write(&dir, "h0.csv", "");
    import(&mut storage, &h, &path, &options);
    assert_eq!(storage.table(&h).unwrap().rows, 0);
}

#[test]
fn full_load_replaces_and_incremental_appends() {
    let (dir, mut storage) = storage();
    let t = id("in.c-main.loads");
    import(
        &mut storage,
        &t,
        &write(&dir, "1.csv", "id,v\n1,a\n2,b\n"),
        &ImportOptions::default(),
    );
    import(
        &mut storage,
        &t,
        &write(&dir, "2.csv", "id,v\n3,c\n"),
        &ImportOptions::default(),
    );
    assert_eq!(export_all(&storage, &t), "\"id\",\"v\"\n\"3\",\"c\"\n");
    let inc = ImportOptions {
        incremental: true,
        ..ImportOptions::default()
    };
    // Columns in another order and a new column: matched by name, the new one added.
    let report = storage
        .import_csv(&t, &write(&dir, "3.csv", "extra,v,id\nx,d,4\n"), &inc)
        .unwrap();
    assert_eq!(report.columns_added, ["extra"]);
    assert_eq!(report.rows, 2);
    assert_eq!(
        export_all(&storage, &t),
        "\"id\",\"v\",\"extra\"\n\"3\",\"c\",\"\"\n\"4\",\"d\",\"x\"\n"
    );
    let info = storage.table(&t).unwrap();
    assert_eq!(info.columns, ["id", "v", "extra"]);
    assert!(info.last_import_date >= info.created);
}

#[test]
fn incremental_upsert_by_primary_key() {
    let (dir, mut storage) = storage();
    let t = id("out.c-main.pk");
    let options = ImportOptions {
        primary_key: vec!["id".into(), " ".into()],
        ..ImportOptions::default()
    };
    import(
        &mut storage,
        &t,
        &write(&dir, "1.csv", "id,v\n1,a\n2,b\n2,b2\n"),
        &options,
    );
    // Full load with duplicate keys keeps the last row.
    assert_eq!(
        export_all(&storage, &t),
        "\"id\",\"v\"\n\"1\",\"a\"\n\"2\",\"b2\"\n"
    );
    assert_eq!(storage.table(&t).unwrap().primary_key, ["id"]);
    let inc = ImportOptions {
        incremental: true,
        ..ImportOptions::default()
    };
    import(
        &mut storage,
        &t,
        &write(&dir, "2.csv", "id,v\n2,B\n3,c\n3,C\n"),
        &inc,
    );
    let out = export_all(&storage, &t);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["\"1\",\"a\"", "\"2\",\"B\"", "\"3\",\"C\"", "\"id\",\"v\""]
    );
    // Composite key.
    let c = id("out.c-main.composite");
    let options = ImportOptions {
        primary_key: vec!["a".into(), "b".into()],
        incremental: true,
        ..ImportOptions::default()
    };
    import(
        &mut storage,
        &c,
        &write(&dir, "c1.csv", "a,b,v\n1,1,x\n1,2,y\n"),
        &options,
    );
    import(
        &mut storage,
        &c,
        &write(&dir, "c2.csv", "a,b,v\n1,2,Y\n2,1,z\n"),
        &options,
    );
    assert_eq!(storage.table(&c).unwrap().rows, 3);
    let only = ExportOptions {
        where_column: Some("v".into()),
        where_values: vec!["Y".into()],
        ..ExportOptions::default()
    };
    assert_eq!(
        export(&storage, &c, &only),
        "\"a\",\"b\",\"v\"\n\"1\",\"2\",\"Y\"\n"
    );
}

#[test]
fn changing_the_primary_key_checks_uniqueness() {
    let (dir, mut storage) = storage();
    let t = id("out.c-main.rekey");
    import(
        &mut storage,
        &t,
        &write(&dir, "1.csv", "id,g\n1,x\n2,x\n"),
        &ImportOptions::default(),
    );
    let err = storage.set_primary_key(&t, &["g".into()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "table \"out.c-main.rekey\": cannot set primary key (g): the rows contain duplicate values"
    );
    storage.set_primary_key(&t, &["id".into()]).unwrap();
    assert_eq!(storage.table(&t).unwrap().primary_key, ["id"]);
    let inc = ImportOptions {
        incremental: true,
        primary_key: vec!["g".into()],
        ..ImportOptions::default()
    };
    let err = import_err(&mut storage, &t, &write(&dir, "2.csv", "id,g\n3,y\n"), &inc);
    assert!(
        matches!(err, StorageError::DuplicatePrimaryKey { .. }),
        "{err}"
    );
    assert_eq!(storage.table(&t).unwrap().primary_key, ["id"]);
    assert_eq!(storage.table(&t).unwrap().rows, 2);
}

#[test]
fn delete_where_runs_before_the_load() {
    let (dir, mut storage) = storage();
    let t = id("out.c-main.leads");
    import(
        &mut storage,
        &t,
        &write(&dir, "1.csv", "id,status\n1,Open\n2,Closed\n3,Lost\n"),
        &ImportOptions::default(),
    );
    let options = ImportOptions {
        incremental: true,
        delete_where: vec![DeleteFilter {
            where_filters: vec![WhereFilter {
                column: "status".into(),
                operator: WhereOperator::Eq,
                values: vec!["Closed".into(), "Lost".into()],
            }],
            ..DeleteFilter::default()
        }],
        ..ImportOptions::default()
    };
    let report = storage
        .import_csv(&t, &write(&dir, "2.csv", "id,status\n4,Closed\n"), &options)
        .unwrap();
    assert_eq!(report.rows_deleted, 2);
    assert_eq!(
        export_all(&storage, &t),
        "\"id\",\"status\"\n\"1\",\"Open\"\n\"4\",\"Closed\"\n"
    );
    // ne deletes everything else.
    let ne = vec![DeleteFilter {
        where_filters: vec![WhereFilter {
            column: "status".into(),
            operator: WhereOperator::Ne,
            values: vec!["Open".into()],
        }],
        ..DeleteFilter::default()
    }];
    assert_eq!(storage.delete_rows(&t, &ne).unwrap(), 1);
    assert_eq!(
        export_all(&storage, &t),
        "\"id\",\"status\"\n\"1\",\"Open\"\n"
    );
    // A time window: rows changed since the future: none.
    let future = vec![DeleteFilter {
        changed_since: Some(OffsetDateTime::now_utc() + Duration::hours(1)),
        ..DeleteFilter::default()
    }];
    assert_eq!(storage.delete_rows(&t, &future).unwrap(), 0);
    let past = vec![DeleteFilter {
        changed_until: Some(OffsetDateTime::now_utc() + Duration::hours(1)),
        ..DeleteFilter::default()
    }];
    assert_eq!(storage.delete_rows(&t, &past).unwrap(), 1);
    // Errors name the table and the column.
    let bad = vec![DeleteFilter {
        where_filters: vec![WhereFilter {
            column: "nope".into(),
            operator: WhereOperator::Eq,
            values: vec!["x".into()],
        }],
        ..DeleteFilter::default()
    }];
    assert_eq!(
        storage.delete_rows(&t, &bad).unwrap_err().to_string(),
        "table \"out.c-main.leads\": delete_where column \"nope\" does not exist (columns: id, status)"
    );
    let empty = vec![DeleteFilter::default()];
    assert!(
        storage
            .delete_rows(&t, &empty)
            .unwrap_err()
            .to_string()
            .contains("needs at least one of changed_since, changed_until or where_filters")
    );
}

#[test]
fn export_filters() {
    let (dir, mut storage) = storage();
    let t = id("in.c-main.filters");
    import(
        &mut storage,
        &t,
        &write(&dir, "1.csv", "id,status,x\n1,a,p\n2,b,q\n3,a,r\n4,c,s\n"),
        &ImportOptions::default(),
    );
    let columns = ExportOptions {
        columns: vec!["x".into(), "id".into()],
        ..ExportOptions::default()
    };
    assert_eq!(
        export(&storage, &t, &columns),
        "\"x\",\"id\"\n\"p\",\"1\"\n\"q\",\"2\"\n\"r\",\"3\"\n\"s\",\"4\"\n"
    );
    let eq = ExportOptions {
        where_column: Some("status".into()),
        where_values: vec!["a".into(), "c".into()],
        ..ExportOptions::default()
    };
    assert_eq!(
        export(&storage, &t, &eq),
        "\"id\",\"status\",\"x\"\n\"1\",\"a\",\"p\"\n\"3\",\"a\",\"r\"\n\"4\",\"c\",\"s\"\n"
    );
    let ne = ExportOptions {
        where_operator: WhereOperator::Ne,
        ..eq.clone()
    };
    assert_eq!(
        export(&storage, &t, &ne),
        "\"id\",\"status\",\"x\"\n\"2\",\"b\",\"q\"\n"
    );
    let limit = ExportOptions {
        limit: Some(2),
        ..ExportOptions::default()
    };
    assert_eq!(
        export(&storage, &t, &limit),
        "\"id\",\"status\",\"x\"\n\"1\",\"a\",\"p\"\n\"2\",\"b\",\"q\"\n"
    );
    // Path export with a filter containing a quote (inlined as an SQL literal).
    import(
        &mut storage,
        &t,
        &write(&dir, "2.csv", "id,status,x\n1,it's,p\n2,b,q\n"),
        &ImportOptions::default(),
    );
    let out = dir.path().join("f.csv");
    let quoted = ExportOptions {
        where_column: Some("status".into()),
        where_values: vec!["it's".into()],
        limit: Some(5),
        ..ExportOptions::default()
    };
    let report = storage.export_csv_to_path(&t, &out, &quoted).unwrap();
    assert_eq!(report.rows, 1);
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        "\"id\",\"status\",\"x\"\n\"1\",\"it's\",\"p\"\n"
    );
}

#[test]
fn changed_since_selects_recently_written_rows() {
    let (dir, mut storage) = storage();
    let t = id("in.c-main.changes");
    // Rows written at chosen times: no sleeping, and the bounds can be tested exactly.
    let first = datetime!(2024-03-01 10:00:00.000001 UTC);
    let second = first + Duration::minutes(2);
    storage.set_clock(Clock::Fixed(first));
    import(
        &mut storage,
        &t,
        &write(&dir, "1.csv", "id\n1\n2\n"),
        &ImportOptions::default(),
    );
    storage.set_clock(Clock::Fixed(second));
    let inc = ImportOptions {
        incremental: true,
        primary_key: vec!["id".into()],
        ..ImportOptions::default()
    };
    import(&mut storage, &t, &write(&dir, "2.csv", "id\n2\n3\n"), &inc);
    let info = storage.table(&t).unwrap();
    assert_eq!((info.created, info.last_import_date), (first, second));

    let rows = |options: ExportOptions| -> Vec<String> {
        let out = export(&storage, &t, &options);
        let mut lines: Vec<String> = out.lines().skip(1).map(str::to_owned).collect();
        lines.sort();
        lines
    };
    let since = |at| ExportOptions {
        changed_since: Some(at),
        ..ExportOptions::default()
    };
    let until = |at| ExportOptions {
        changed_until: Some(at),
        ..ExportOptions::default()
    };
    let between = first + Duration::minutes(1);
    assert_eq!(rows(since(between)), ["\"2\"", "\"3\""]);
    assert_eq!(rows(until(between)), ["\"1\""]);
    // changed_since includes its instant, changed_until excludes it.
    assert_eq!(rows(since(second)), ["\"2\"", "\"3\""]);
    assert_eq!(
        rows(since(second + Duration::MICROSECOND)),
        Vec::<String>::new()
    );
    assert_eq!(rows(until(second)), ["\"1\""]);
    assert_eq!(rows(until(first)), Vec::<String>::new());
    assert_eq!(rows(until(first + Duration::MICROSECOND)), ["\"1\""]);
}

#[test]
fn catalog_metadata_listing_removal_and_reopen() {
    let (dir, mut storage) = storage();
    let a = id("in.c-main.a");
    let b = id("out.c-other.b");
    import(
        &mut storage,
        &b,
        &write(&dir, "b.csv", "x\n1\n"),
        &ImportOptions::default(),
    );
    import(
        &mut storage,
        &a,
        &write(&dir, "a.csv", "y\n1\n2\n"),
        &ImportOptions::default(),
    );
    storage
        .set_table_metadata(
            &a,
            "system",
            &[("KBC.createdBy.component.id".into(), "ex".into())],
        )
        .unwrap();
    storage
        .set_table_metadata(&a, "ex", &[("KBC.description".into(), "rows".into())])
        .unwrap();
    let listed: Vec<String> = storage
        .list_tables()
        .unwrap()
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(listed, ["in.c-main.a", "out.c-other.b"]);
    let info = storage.table(&a).unwrap();
    assert_eq!(info.rows, 2);
    assert_eq!(info.metadata.len(), 2);
    assert_eq!(info.metadata[0].provider, "ex");
    assert_eq!(info.metadata[0].value, "rows");
    storage.remove_table(&b).unwrap();
    assert!(!storage.table_exists(&b).unwrap());
    drop(storage);
    let storage = Storage::open(dir.path().join("storage")).unwrap();
    assert_eq!(storage.list_tables().unwrap().len(), 1);
    assert_eq!(export_all(&storage, &a), "\"y\"\n\"1\"\n\"2\"\n");
    assert_eq!(storage.table_metadata(&a).unwrap().len(), 2);
}

#[test]
fn column_metadata_is_kept_per_column_and_removed_with_the_table() {
    let (dir, mut storage) = storage();
    let t = id("in.c-main.cols");
    import(
        &mut storage,
        &t,
        &write(&dir, "t.csv", "Id,name\n1,a\n"),
        &ImportOptions::default(),
    );
    let entry = |column: &str, provider: &str, key: &str, value: &str| ColumnMetadata {
        column: column.into(),
        provider: provider.into(),
        key: key.into(),
        value: value.into(),
    };
    storage
        .set_column_metadata(
            &t,
            &[
                // Matched to the table's column ignoring case.
                entry("id", "ex", "KBC.datatype.basetype", "INTEGER"),
                entry("name", "ex", "KBC.description", "who"),
                // A column the table lacks is added, empty in every row.
                entry("extra", "ex", "k", "v"),
            ],
        )
        .unwrap();
    storage
        .set_column_metadata(&t, &[entry("Id", "ex", "KBC.datatype.basetype", "BIGINT")])
        .unwrap();
    let info = storage.table(&t).unwrap();
    assert_eq!(info.columns, ["Id", "name", "extra"]);
    assert_eq!(
        export_all(&storage, &t),
        "\"Id\",\"name\",\"extra\"\n\"1\",\"a\",\"\"\n"
    );
    let ids = &info.column_metadata["Id"];
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].value, "BIGINT");
    assert_eq!(info.column_metadata["extra"][0].key, "k");

    // Bad entries are refused and change nothing.
    for (bad, expected) in [
        (entry("", "ex", "k", "v"), "empty column"),
        (
            entry("name", "", "k", "v"),
            "provider of column \"name\" is empty",
        ),
        (
            entry("name", "ex", "", "v"),
            "a key of column \"name\" is empty",
        ),
        (entry("_time stamp", "ex", "k", "v"), "_time stamp"),
    ] {
        let message = storage
            .set_column_metadata(&t, &[entry("name", "ex", "fine", "1"), bad])
            .unwrap_err()
            .to_string();
        assert!(message.contains(expected), "{message}");
    }
    assert_eq!(storage.column_metadata(&t).unwrap(), info.column_metadata);
    let missing = storage
        .set_column_metadata(&id("in.c-main.none"), &[entry("a", "ex", "k", "v")])
        .unwrap_err();
    assert!(
        matches!(missing, StorageError::TableNotFound { .. }),
        "{missing}"
    );

    storage.remove_table(&t).unwrap();
    import(
        &mut storage,
        &t,
        &write(&dir, "t.csv", "Id\n1\n"),
        &ImportOptions::default(),
    );
    assert!(storage.column_metadata(&t).unwrap().is_empty());
}

#[test]
fn error_messages() {
    let (dir, mut storage) = storage();
    let t = id("in.c-main.errors");
    let good = write(&dir, "good.csv", "id,name\n1,a\n");
    import(&mut storage, &t, &good, &ImportOptions::default());
    let message = |err: StorageError| err.to_string();

    // Bad table id.
    assert_eq!(
        message(TableId::parse("in.main.t").unwrap_err()),
        "invalid table id \"in.main.t\": bucket \"main\" must start with \"c-\""
    );
    // Unknown table: show, export, remove.
    let missing = id("in.c-main.missing");
    let expected = "table \"in.c-main.missing\" does not exist";
    assert_eq!(message(storage.table(&missing).unwrap_err()), expected);
    let mut sink = Vec::new();
    assert_eq!(
        message(
            storage
                .export_csv(&missing, &mut sink, &ExportOptions::default())
                .unwrap_err()
        ),
        expected
    );
    assert_eq!(
        message(storage.remove_table(&missing).unwrap_err()),
        expected
    );
    assert!(storage.table(&missing).unwrap_err().is_user_error());

    // Wrong number of fields names the line (the second record starts on line 4).
    let bad = write(&dir, "bad.csv", "id,name\n1,\"multi\nline\"\n2,b,extra\n");
    let err = import_err(&mut storage, &t, &bad, &ImportOptions::default());
    assert_eq!(
        message(err),
        format!(
            "table \"in.c-main.errors\": CSV file {}, line 4: the row has 3 fields, expected 2 (id, name)",
            bad.display()
        )
    );
    // Invalid UTF-8.
    let latin1 = dir.path().join("latin1.csv");
    std::fs::write(&latin1, b"id,name\n1,caf\xe9\n").unwrap();
    let err = message(import_err(
        &mut storage,
        &t,
        &latin1,
        &ImportOptions::default(),
    ));
    assert!(err.ends_with("line 2: field 2 is not valid UTF-8"), "{err}");
    // Empty file without columns.
    let empty = write(&dir, "empty.csv", "");
    let err = message(import_err(
        &mut storage,
        &t,
        &empty,
        &ImportOptions::default(),
    ));
    assert!(
        err.contains("line 1: the file is empty; expected a header line"),
        "{err}"
    );
    // Missing file.
    let err = message(import_err(
        &mut storage,
        &t,
        &dir.path().join("nope.csv"),
        &ImportOptions::default(),
    ));
    assert!(err.starts_with("cannot read CSV file "), "{err}");
    // Primary key column that does not exist.
    let pk = ImportOptions {
        primary_key: vec!["nope".into()],
        ..ImportOptions::default()
    };
    assert_eq!(
        message(import_err(&mut storage, &t, &good, &pk)),
        "table \"in.c-main.errors\": primary key column \"nope\" does not exist (columns: id, name)"
    );
    // Header names.
    let err = message(import_err(
        &mut storage,
        &t,
        &write(&dir, "h1.csv", "id,na me\n1,2\n"),
        &ImportOptions::default(),
    ));
    assert_eq!(
        err,
        "table \"in.c-main.errors\": invalid column name \"na me\": only alphanumeric characters and underscores are allowed"
    );
    let err = message(import_err(
        &mut storage,
        &t,
        &write(&dir, "h2.csv", "id,ID\n1,2\n"),
        &ImportOptions::default(),
    ));
    assert!(
        err.ends_with("invalid column name \"ID\": the column appears more than once"),
        "{err}"
    );
    let err = message(import_err(
        &mut storage,
        &t,
        &write(&dir, "h3.csv", "id,_timestamp\n1,2\n"),
        &ImportOptions::default(),
    ));
    assert!(err.contains("reserved"), "{err}");
    // Missing columns on an existing table.
    let err = message(import_err(
        &mut storage,
        &t,
        &write(&dir, "m.csv", "id\n1\n"),
        &ImportOptions::default(),
    ));
    assert_eq!(
        err,
        "table \"in.c-main.errors\": some columns are missing in the CSV file; missing: name; expected: id, name"
    );
    // Export options.
    let unknown = ExportOptions {
        columns: vec!["nope".into()],
        ..ExportOptions::default()
    };
    assert_eq!(
        message(storage.export_csv(&t, &mut sink, &unknown).unwrap_err()),
        "table \"in.c-main.errors\": columns column \"nope\" does not exist (columns: id, name)"
    );
    let where_unknown = ExportOptions {
        where_column: Some("nope".into()),
        where_values: vec!["1".into()],
        ..ExportOptions::default()
    };
    assert_eq!(
        message(
            storage
                .export_csv(&t, &mut sink, &where_unknown)
                .unwrap_err()
        ),
        "table \"in.c-main.errors\": where_column column \"nope\" does not exist (columns: id, name)"
    );
    let no_values = ExportOptions {
        where_column: Some("id".into()),
        ..ExportOptions::default()
    };
    assert_eq!(
        message(storage.export_csv(&t, &mut sink, &no_values).unwrap_err()),
        "table \"in.c-main.errors\": invalid where filter: when where_column is set, where_values must be provided"
    );
    let no_column = ExportOptions {
        where_values: vec!["1".into()],
        ..ExportOptions::default()
    };
    assert!(
        message(storage.export_csv(&t, &mut sink, &no_column).unwrap_err())
            .contains("where_column must be a non-empty")
    );
    assert_eq!(
        "xx".parse::<WhereOperator>().unwrap_err(),
        "invalid operator \"xx\"; expected \"eq\" or \"ne\""
    );

    // None of the failed imports changed the table.
    assert_eq!(export_all(&storage, &t), "\"id\",\"name\"\n\"1\",\"a\"\n");
    let info = storage.table(&t).unwrap();
    assert_eq!(info.columns, ["id", "name"]);
    assert!(info.primary_key.is_empty());
}

#[test]
fn a_failed_import_changes_nothing() {
    let (dir, mut storage) = storage();
    let t = id("in.c-main.atomic");
    import(
        &mut storage,
        &t,
        &write(&dir, "1.csv", "id,v\n1,a\n"),
        &ImportOptions::default(),
    );
    // Many good rows, then a bad one far past the first appended batches.
    let mut csv = String::from("id,v,new_col\n");
    for i in 0..10_000 {
        csv.push_str(&format!("{i},v{i},n\n"));
    }
    csv.push_str("oops\n");
    let bad = write(&dir, "2.csv", &csv);
    for incremental in [false, true] {
        for primary_key in [vec![], vec!["id".to_owned()]] {
            let options = ImportOptions {
                incremental,
                primary_key,
                delete_where: vec![DeleteFilter {
                    where_filters: vec![WhereFilter {
                        column: "id".into(),
                        operator: WhereOperator::Eq,
                        values: vec!["1".into()],
                    }],
                    ..DeleteFilter::default()
                }],
                ..ImportOptions::default()
            };
            let err = import_err(&mut storage, &t, &bad, &options);
            assert!(err.to_string().contains("line 10002"), "{err}");
            let info = storage.table(&t).unwrap();
            assert_eq!(info.columns, ["id", "v"]);
            assert!(info.primary_key.is_empty());
            assert_eq!(export_all(&storage, &t), "\"id\",\"v\"\n\"1\",\"a\"\n");
        }
    }
    // A new table is not created by a failed import.
    let fresh = id("in.c-main.fresh");
    import_err(&mut storage, &fresh, &bad, &ImportOptions::default());
    assert!(!storage.table_exists(&fresh).unwrap());
}

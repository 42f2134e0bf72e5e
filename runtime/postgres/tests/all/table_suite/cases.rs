//! The cases of the shared table suite, each written against `&mut dyn TableData` only.

use berth_storage::{
    ColumnMetadata, CsvDialect, DeleteFilter, ExportOptions, ImportOptions, ImportReport,
    StorageError, TableId, TableLoad, WhereFilter, WhereOperator,
};

use crate::backends::Backend;

fn id(text: &str) -> TableId {
    TableId::parse(text).unwrap()
}

/// Loads `content` into `table` with `options`.
fn load(t: &mut Backend, table: &TableId, content: &str, options: &ImportOptions) -> ImportReport {
    let path = t.write("load.csv", content);
    t.storage.import_csv(table, &path, options).unwrap()
}

/// Loads `content`, expecting the import to fail; returns the error.
fn refused(
    t: &mut Backend,
    table: &TableId,
    content: &str,
    options: &ImportOptions,
) -> StorageError {
    let path = t.write("refused.csv", content);
    t.storage.import_csv(table, &path, options).unwrap_err()
}

/// The table as exported with `options`.
fn export_with(t: &Backend, table: &TableId, options: &ExportOptions) -> String {
    let mut out = Vec::new();
    let report = t.storage.export_csv(table, &mut out, options).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        report.rows as usize,
        text.matches("\"\n").count() - 1,
        "the report counts the rows written (no value here ends a line with a quote)"
    );
    text
}

/// The whole table as exported.
fn export(t: &Backend, table: &TableId) -> String {
    export_with(t, table, &ExportOptions::default())
}

fn with_key(key: &[&str], incremental: bool) -> ImportOptions {
    ImportOptions {
        primary_key: key.iter().map(|k| (*k).to_owned()).collect(),
        incremental,
        ..ImportOptions::default()
    }
}

fn incremental() -> ImportOptions {
    ImportOptions {
        incremental: true,
        ..ImportOptions::default()
    }
}

pub(super) fn a_full_load_creates_the_table_and_exports_it_byte_for_byte(t: &mut Backend) {
    let table = id("in.c-main.customers");
    let report = load(
        t,
        &table,
        "id,name,note\n1,Ann,\"says \"\"hi\"\", twice\"\n2,Bøb,\"two\nlines\"\n3,,'single' \\ back\n",
        &ImportOptions::default(),
    );
    assert!(report.created);
    assert_eq!(
        (report.rows_imported, report.rows_deleted, report.rows),
        (3, 0, 3)
    );
    assert!(report.columns_added.is_empty());
    assert_eq!(
        export(t, &table),
        "\"id\",\"name\",\"note\"\n\"1\",\"Ann\",\"says \"\"hi\"\", twice\"\n\"2\",\"Bøb\",\"two\nlines\"\n\"3\",\"\",\"'single' \\ back\"\n"
    );
    let info = t.storage.table(&table).unwrap();
    assert_eq!(info.columns, ["id", "name", "note"]);
    assert!(info.primary_key.is_empty());
    assert_eq!(info.rows, 3);
    assert_eq!(info.created, info.last_import_date);
}

pub(super) fn a_full_load_replaces_rows_and_an_incremental_one_appends(t: &mut Backend) {
    let table = id("in.c-main.t");
    load(t, &table, "a\n1\n2\n", &ImportOptions::default());
    let full = load(t, &table, "a\n3\n", &ImportOptions::default());
    assert!(!full.created);
    assert_eq!(
        (full.rows_imported, full.rows_deleted, full.rows),
        (1, 2, 1)
    );
    let appended = load(t, &table, "a\n4\n3\n", &incremental());
    assert_eq!(
        (appended.rows_imported, appended.rows_deleted, appended.rows),
        (2, 0, 3)
    );
    assert_eq!(export(t, &table), "\"a\"\n\"3\"\n\"4\"\n\"3\"\n");
}

pub(super) fn a_primary_key_keeps_the_last_row_and_upserted_rows_move_to_the_end(t: &mut Backend) {
    let table = id("in.c-main.by-key");
    // The file's own duplicates: the last row of a key stays, where it stood.
    let created = load(
        t,
        &table,
        "id,v\n1,first\n2,two\n1,second\n3,three\n",
        &with_key(&["id"], false),
    );
    assert_eq!((created.rows_imported, created.rows), (4, 3));
    assert_eq!(
        export(t, &table),
        "\"id\",\"v\"\n\"2\",\"two\"\n\"1\",\"second\"\n\"3\",\"three\"\n"
    );
    // An upsert (the table's key is kept when none is given): replaced rows move to the end,
    // in the file's order; the file's duplicates again leave their last row.
    let upsert = load(
        t,
        &table,
        "id,v\n3,THREE\n4,four\n2,TWO\n4,FOUR\n",
        &incremental(),
    );
    assert_eq!((upsert.rows_imported, upsert.rows), (4, 4));
    assert_eq!(
        export(t, &table),
        "\"id\",\"v\"\n\"1\",\"second\"\n\"3\",\"THREE\"\n\"2\",\"TWO\"\n\"4\",\"FOUR\"\n"
    );
    assert_eq!(t.storage.table(&table).unwrap().primary_key, ["id"]);
    // A key of two columns.
    let pair = id("in.c-main.pair");
    load(
        t,
        &pair,
        "a,b,v\n1,x,1\n1,y,2\n",
        &with_key(&["a", "b"], false),
    );
    load(t, &pair, "a,b,v\n1,x,3\n2,x,4\n", &incremental());
    assert_eq!(
        export(t, &pair),
        "\"a\",\"b\",\"v\"\n\"1\",\"y\",\"2\"\n\"1\",\"x\",\"3\"\n\"2\",\"x\",\"4\"\n"
    );
}

pub(super) fn new_columns_are_added_and_missing_ones_refused(t: &mut Backend) {
    let table = id("in.c-main.wide");
    load(t, &table, "a,b\n1,2\n", &ImportOptions::default());
    // The file may order its columns as it likes and add new ones.
    let added = load(t, &table, "c,b,a\n30,20,10\n", &incremental());
    assert_eq!(added.columns_added, ["c"]);
    assert_eq!(
        export(t, &table),
        "\"a\",\"b\",\"c\"\n\"1\",\"2\",\"\"\n\"10\",\"20\",\"30\"\n"
    );
    let error = refused(t, &table, "a\n5\n", &incremental());
    assert!(
        matches!(error, StorageError::MissingColumns { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "table \"in.c-main.wide\": some columns are missing in the CSV file; missing: b, c; expected: a, b, c"
    );
    assert_eq!(t.storage.table(&table).unwrap().rows, 2);
}

pub(super) fn a_bad_row_changes_nothing(t: &mut Backend) {
    let table = id("in.c-main.safe");
    load(t, &table, "a,b\n1,2\n3,4\n", &with_key(&["a"], false));
    let before = export(t, &table);
    // A full load, an upsert and an added column: each fails at line 4 and leaves no trace.
    for (content, options) in [
        ("a,b\n5,6\n7,8\n9\n", ImportOptions::default()),
        ("a,b\n1,6\n7,8\n9\n", incremental()),
        ("a,b,c\n1,6,x\n7,8,y\n9,1\n", incremental()),
    ] {
        let error = refused(t, &table, content, &options);
        assert!(
            matches!(error, StorageError::Csv { line: 4, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("the row has"), "{error}");
        assert_eq!(export(t, &table), before);
        assert_eq!(t.storage.table(&table).unwrap().columns, ["a", "b"]);
    }
    // A file that is not CSV at all.
    let error = refused(t, &table, "", &ImportOptions::default());
    assert!(error.to_string().contains("the file is empty"), "{error}");
    // A new table that fails is not created.
    let fresh = id("in.c-main.never");
    refused(t, &fresh, "a\n1\n2,3\n", &ImportOptions::default());
    assert!(matches!(
        t.storage.table(&fresh).unwrap_err(),
        StorageError::TableNotFound { .. }
    ));
}

pub(super) fn delete_where_removes_matching_rows_before_the_load(t: &mut Backend) {
    let table = id("in.c-main.orders");
    load(
        t,
        &table,
        "id,status\n1,open\n2,closed\n3,lost\n4,open\n",
        &ImportOptions::default(),
    );
    let rule = |operator, values: &[&str]| DeleteFilter {
        where_filters: vec![WhereFilter {
            column: "status".into(),
            operator,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }],
        ..DeleteFilter::default()
    };
    let options = ImportOptions {
        delete_where: vec![rule(WhereOperator::Eq, &["open", "nothing"])],
        ..incremental()
    };
    let report = load(t, &table, "id,status\n5,new\n", &options);
    assert_eq!((report.rows_deleted, report.rows), (2, 3));
    let options = ImportOptions {
        delete_where: vec![rule(WhereOperator::Ne, &["new"])],
        ..incremental()
    };
    let report = load(t, &table, "id,status\n6,newer\n", &options);
    assert_eq!((report.rows_deleted, report.rows), (2, 2));
    assert_eq!(
        export(t, &table),
        "\"id\",\"status\"\n\"5\",\"new\"\n\"6\",\"newer\"\n"
    );
    // A rule without conditions, and one on a column the table lacks, are refused.
    let options = ImportOptions {
        delete_where: vec![DeleteFilter::default()],
        ..incremental()
    };
    let error = refused(t, &table, "id,status\n7,x\n", &options);
    assert!(
        error
            .to_string()
            .contains("a rule needs at least one of changed_since, changed_until or where_filters"),
        "{error}"
    );
    let mut unknown = rule(WhereOperator::Eq, &["x"]);
    unknown.where_filters[0].column = "nope".into();
    let options = ImportOptions {
        delete_where: vec![unknown],
        ..incremental()
    };
    let error = refused(t, &table, "id,status\n7,x\n", &options);
    assert!(
        matches!(error, StorageError::UnknownColumn { .. }),
        "{error:?}"
    );
    assert_eq!(t.storage.table(&table).unwrap().rows, 2);
}

pub(super) fn exports_select_columns_rows_and_a_limit(t: &mut Backend) {
    let table = id("in.c-main.people");
    load(
        t,
        &table,
        "id,name,city\n1,Ann,Praha\n2,O'Brien,Brno\n3,back\\slash,Praha\n4,Dee,Ostrava\n",
        &ImportOptions::default(),
    );
    let options = |column: &str, operator, values: &[&str]| ExportOptions {
        columns: vec!["name".into(), "id".into()],
        where_column: Some(column.into()),
        where_operator: operator,
        where_values: values.iter().map(|v| (*v).to_owned()).collect(),
        ..ExportOptions::default()
    };
    assert_eq!(
        export_with(
            t,
            &table,
            &options("name", WhereOperator::Eq, &["O'Brien", "back\\slash"])
        ),
        "\"name\",\"id\"\n\"O'Brien\",\"2\"\n\"back\\slash\",\"3\"\n"
    );
    assert_eq!(
        export_with(t, &table, &options("city", WhereOperator::Ne, &["Praha"])),
        "\"name\",\"id\"\n\"O'Brien\",\"2\"\n\"Dee\",\"4\"\n"
    );
    let limited = ExportOptions {
        limit: Some(2),
        ..ExportOptions::default()
    };
    assert_eq!(
        export_with(t, &table, &limited),
        "\"id\",\"name\",\"city\"\n\"1\",\"Ann\",\"Praha\"\n\"2\",\"O'Brien\",\"Brno\"\n"
    );
    // Rows changed since a moment after the first load: only the later load's.
    let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let since = ExportOptions {
        changed_since: Some(later),
        ..ExportOptions::default()
    };
    assert_eq!(export_with(t, &table, &since), "\"id\",\"name\",\"city\"\n");
    let mut sink = Vec::new();
    let unknown = ExportOptions {
        columns: vec!["nope".into()],
        ..ExportOptions::default()
    };
    let error = t
        .storage
        .export_csv(&table, &mut sink, &unknown)
        .unwrap_err();
    assert!(
        matches!(error, StorageError::UnknownColumn { .. }),
        "{error:?}"
    );
    let no_column = ExportOptions {
        where_values: vec!["x".into()],
        ..ExportOptions::default()
    };
    let error = t
        .storage
        .export_csv(&table, &mut sink, &no_column)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("when where_values is set, where_column must be a non-empty column name"),
        "{error}"
    );
}

pub(super) fn a_new_key_needs_unique_rows(t: &mut Backend) {
    let table = id("in.c-main.dupes");
    load(t, &table, "id,v\n1,a\n1,b\n", &ImportOptions::default());
    let error = refused(t, &table, "id,v\n2,c\n", &with_key(&["id"], true));
    assert!(
        matches!(error, StorageError::DuplicatePrimaryKey { .. }),
        "{error:?}"
    );
    let info = t.storage.table(&table).unwrap();
    assert!(info.primary_key.is_empty());
    assert_eq!(info.rows, 2);
    // A full load replaces the rows first, so the new key holds.
    load(t, &table, "id,v\n2,c\n2,d\n", &with_key(&["id"], false));
    assert_eq!(export(t, &table), "\"id\",\"v\"\n\"2\",\"d\"\n");
    assert_eq!(t.storage.table(&table).unwrap().primary_key, ["id"]);
    // A key naming a column the file lacks.
    let error = refused(t, &table, "id,v\n3,e\n", &with_key(&["nope"], true));
    assert!(
        matches!(error, StorageError::UnknownColumn { .. }),
        "{error:?}"
    );
}

pub(super) fn missing_tables_are_named_and_removed_ones_are_gone(t: &mut Backend) {
    let missing = id("in.c-main.missing");
    let mut sink = Vec::new();
    for error in [
        t.storage
            .export_csv(&missing, &mut sink, &ExportOptions::default())
            .unwrap_err(),
        t.storage.table(&missing).unwrap_err(),
        t.storage.remove_table(&missing).unwrap_err(),
    ] {
        assert!(
            matches!(error, StorageError::TableNotFound { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("in.c-main.missing"), "{error}");
    }
    for name in ["out.c-b.z", "in.c-a.y", "in.c-a.x"] {
        load(t, &id(name), "a\n1\n", &ImportOptions::default());
    }
    let listed: Vec<String> = t
        .storage
        .list_tables()
        .unwrap()
        .iter()
        .map(|info| info.id.to_string())
        .collect();
    assert_eq!(listed, ["in.c-a.x", "in.c-a.y", "out.c-b.z"]);
    t.storage.remove_table(&id("in.c-a.y")).unwrap();
    assert!(matches!(
        t.storage.table(&id("in.c-a.y")).unwrap_err(),
        StorageError::TableNotFound { .. }
    ));
    // Loading it again starts a new table.
    let again = load(t, &id("in.c-a.y"), "b\n2\n", &ImportOptions::default());
    assert!(again.created);
    assert_eq!(export(t, &id("in.c-a.y")), "\"b\"\n\"2\"\n");
}

pub(super) fn a_headless_file_in_another_dialect(t: &mut Backend) {
    let table = id("in.c-main.headless");
    let options = ImportOptions {
        columns: vec!["x".into(), "y".into()],
        dialect: CsvDialect {
            delimiter: b';',
            enclosure: Some(b'\''),
        },
        ..ImportOptions::default()
    };
    let report = load(t, &table, "1;'a;b'\n2;'it''s'\n", &options);
    assert_eq!(report.rows, 2);
    assert_eq!(
        export(t, &table),
        "\"x\",\"y\"\n\"1\",\"a;b\"\n\"2\",\"it's\"\n"
    );
    let bad = ImportOptions {
        dialect: CsvDialect {
            delimiter: b'"',
            enclosure: Some(b'"'),
        },
        ..ImportOptions::default()
    };
    let error = refused(t, &table, "x,y\n", &bad);
    assert!(
        matches!(error, StorageError::InvalidOption { .. }),
        "{error:?}"
    );
}

fn column_entry(column: &str, key: &str, value: &str) -> ColumnMetadata {
    ColumnMetadata {
        column: column.into(),
        provider: "system".into(),
        key: key.into(),
        value: value.into(),
    }
}

fn triple(provider: &str, key: &str, value: &str) -> (String, String, String) {
    (provider.into(), key.into(), value.into())
}

pub(super) fn metadata_and_column_metadata_are_kept_and_checked(t: &mut Backend) {
    let table = id("in.c-main.meta");
    load(t, &table, "Id,name\n1,a\n", &ImportOptions::default());
    t.storage
        .set_table_metadata(
            &table,
            "user",
            &[("b".into(), "2".into()), ("a".into(), "1".into())],
        )
        .unwrap();
    t.storage
        .set_table_metadata(&table, "system", &[("a".into(), "x".into())])
        .unwrap();
    t.storage
        .set_table_metadata(&table, "user", &[("b".into(), "two".into())])
        .unwrap();
    let entries: Vec<(String, String, String)> = t
        .storage
        .table_metadata(&table)
        .unwrap()
        .into_iter()
        .map(|m| (m.provider, m.key, m.value))
        .collect();
    assert_eq!(
        entries,
        [
            triple("system", "a", "x"),
            triple("user", "a", "1"),
            triple("user", "b", "two")
        ]
    );
    let error = t
        .storage
        .set_table_metadata(&table, "", &[("a".into(), "1".into())])
        .unwrap_err();
    assert!(
        error.to_string().contains("the provider is empty"),
        "{error}"
    );
    // Column metadata follows the table's spelling of a column and adds a column it lacks.
    t.storage
        .set_column_metadata(
            &table,
            &[
                column_entry("id", "KBC.datatype.basetype", "INTEGER"),
                column_entry("extra", "KBC.description", "new"),
            ],
        )
        .unwrap();
    let columns = t.storage.column_metadata(&table).unwrap();
    let keys: Vec<(&str, &str)> = columns
        .iter()
        .flat_map(|(column, entries)| {
            entries
                .iter()
                .map(move |m| (column.as_str(), m.key.as_str()))
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("Id", "KBC.datatype.basetype"),
            ("extra", "KBC.description")
        ]
    );
    assert_eq!(
        export(t, &table),
        "\"Id\",\"name\",\"extra\"\n\"1\",\"a\",\"\"\n"
    );
    let error = t
        .storage
        .set_column_metadata(&table, &[column_entry("", "k", "v")])
        .unwrap_err();
    assert!(
        error.to_string().contains("names an empty column"),
        "{error}"
    );
    let info = t.storage.table(&table).unwrap();
    assert_eq!(info.metadata.len(), 3);
    assert_eq!(info.column_metadata.len(), 2);
    // Metadata goes with its table.
    t.storage.remove_table(&table).unwrap();
    load(t, &table, "Id\n2\n", &ImportOptions::default());
    assert!(t.storage.table_metadata(&table).unwrap().is_empty());
    assert!(t.storage.column_metadata(&table).unwrap().is_empty());
    let missing = id("in.c-main.missing");
    assert!(matches!(
        t.storage.table_metadata(&missing).unwrap_err(),
        StorageError::TableNotFound { .. }
    ));
}

pub(super) fn a_batch_loads_every_table_or_none(t: &mut Backend) {
    let existing = id("out.c-main.existing");
    let fresh = id("out.c-main.fresh");
    load(t, &existing, "id,v\n1,old\n", &with_key(&["id"], false));
    let before = export(t, &existing);
    let batch = |t: &Backend, second: &str| {
        vec![
            TableLoad {
                table: fresh.clone(),
                path: t.write("fresh.csv", "a\n1\n2\n"),
                open: None,
                options: ImportOptions::default(),
                metadata: vec![triple("system", "KBC.lastUpdatedBy.component.id", "c")],
                metadata_if_created: vec![triple("system", "KBC.createdBy.component.id", "c")],
                column_metadata: vec![column_entry("a", "KBC.datatype.basetype", "STRING")],
            },
            TableLoad {
                table: existing.clone(),
                path: t.write("existing.csv", second),
                open: None,
                options: incremental(),
                metadata: vec![triple("system", "KBC.lastUpdatedBy.component.id", "c")],
                metadata_if_created: vec![triple("system", "KBC.createdBy.component.id", "c")],
                column_metadata: Vec::new(),
            },
        ]
    };
    // The second load fails: the first one's new table is not kept either.
    let loads = batch(t, "id,v\n2\n");
    let mut seen = Vec::new();
    let error = t
        .storage
        .load_tables(&loads, &mut |index, _| seen.push(index))
        .unwrap_err();
    assert_eq!(error.index, 1);
    assert_eq!(error.table, existing);
    assert!(
        error.to_string().contains("the row has 1 fields"),
        "{error}"
    );
    assert_eq!(
        seen,
        [0],
        "the first load finished before the second failed"
    );
    assert!(matches!(
        t.storage.table(&fresh).unwrap_err(),
        StorageError::TableNotFound { .. }
    ));
    assert_eq!(export(t, &existing), before);
    assert!(t.storage.table_metadata(&existing).unwrap().is_empty());
    // Both good: both loaded, with their metadata; `metadata_if_created` only on the new one.
    let loads = batch(t, "id,v\n1,new\n2,two\n");
    let mut seen = Vec::new();
    let reports = t
        .storage
        .load_tables(&loads, &mut |index, report| seen.push((index, report.rows)))
        .unwrap();
    assert_eq!(seen, [(0, 2), (1, 2)]);
    assert_eq!(reports.len(), 2);
    assert!(reports[0].created && !reports[1].created);
    let keys = |t: &Backend, table: &TableId| -> Vec<String> {
        t.storage
            .table_metadata(table)
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect()
    };
    assert_eq!(
        keys(t, &fresh),
        [
            "KBC.createdBy.component.id",
            "KBC.lastUpdatedBy.component.id"
        ]
    );
    assert_eq!(keys(t, &existing), ["KBC.lastUpdatedBy.component.id"]);
    assert_eq!(t.storage.column_metadata(&fresh).unwrap().len(), 1);
    assert_eq!(
        export(t, &existing),
        "\"id\",\"v\"\n\"1\",\"new\"\n\"2\",\"two\"\n"
    );
    assert!(
        t.storage
            .load_tables(&[], &mut |_, _| {})
            .unwrap()
            .is_empty()
    );
}

//! Tables on PostgreSQL, what the shared `table_suite` cannot say for both backends: text that
//! PostgreSQL cannot hold, names it would truncate, key values its index cannot hold, and two
//! nodes loading one table at once.

use berth_postgres::PgStorage;
use berth_storage::{ExportOptions, ImportOptions, StorageError, TableId};

use crate::fresh;

fn export(storage: &PgStorage, table: &TableId) -> String {
    let mut out = Vec::new();
    storage
        .export_csv(table, &mut out, &ExportOptions::default())
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_nul_character_is_refused_naming_its_line_and_field() {
    let Some((_db, mut storage)) = fresh("a_nul_character_is_refused_naming_its_line_and_field")
    else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let table = TableId::parse("in.c-main.t").unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "a,b\n1,2\n").unwrap();
    storage
        .import_csv(&table, &good, &ImportOptions::default())
        .unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n3,4\n5,x\0y\n").unwrap();
    let error = StorageError::from(
        storage
            .import_csv(&table, &bad, &ImportOptions::default())
            .unwrap_err(),
    );
    assert!(
        matches!(error, StorageError::Csv { line: 3, .. }),
        "{error:?}"
    );
    assert!(error.is_user_error());
    assert!(
        error
            .to_string()
            .contains("field 2 holds a NUL character, which PostgreSQL text cannot store"),
        "{error}"
    );
    assert_eq!(export(&storage, &table), "\"a\",\"b\"\n\"1\",\"2\"\n");
}

#[test]
fn long_ids_and_column_names_are_kept_whole() {
    let Some((_db, mut storage)) = fresh("long_ids_and_column_names_are_kept_whole") else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    // Two ids and two column names alike in their first 63 bytes (PostgreSQL's identifier limit).
    let prefix = "x".repeat(90);
    let first = TableId::parse(&format!("in.c-main.{prefix}-1")).unwrap();
    let second = TableId::parse(&format!("in.c-main.{prefix}-2")).unwrap();
    let column = |n: u32| format!("{}{n}", "c".repeat(63));
    let path = dir.path().join("t.csv");
    std::fs::write(&path, format!("{},{}\n1,2\n", column(1), column(2))).unwrap();
    storage
        .import_csv(&first, &path, &ImportOptions::default())
        .unwrap();
    std::fs::write(&path, format!("{}\n3\n", column(3))).unwrap();
    storage
        .import_csv(&second, &path, &ImportOptions::default())
        .unwrap();
    assert_eq!(
        export(&storage, &first),
        format!("\"{}\",\"{}\"\n\"1\",\"2\"\n", column(1), column(2))
    );
    assert_eq!(
        export(&storage, &second),
        format!("\"{}\"\n\"3\"\n", column(3))
    );
    assert_eq!(storage.list_tables().unwrap().len(), 2);
}

#[test]
fn a_key_too_long_for_the_index_is_a_clear_user_error() {
    let Some((_db, mut storage)) = fresh("a_key_too_long_for_the_index_is_a_clear_user_error")
    else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let table = TableId::parse("in.c-main.keys").unwrap();
    let path = dir.path().join("t.csv");
    // Pseudo-random letters, so PostgreSQL cannot compress the value under the index's limit.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let long: String = (0..20_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + u8::try_from(state % 26).unwrap())
        })
        .collect();
    std::fs::write(&path, format!("id,v\nshort,1\n{long},2\n")).unwrap();
    let keyed = ImportOptions {
        primary_key: vec!["id".into()],
        ..ImportOptions::default()
    };
    let error = StorageError::from(storage.import_csv(&table, &path, &keyed).unwrap_err());
    assert!(error.is_user_error(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("too long for PostgreSQL's index"),
        "{error}"
    );
    assert!(matches!(
        storage.table(&table).unwrap_err(),
        berth_postgres::PgError::Storage(StorageError::TableNotFound { .. })
    ));
}

#[test]
fn two_nodes_loading_one_table_take_turns() {
    let Some((db, mut first)) = fresh("two_nodes_loading_one_table_take_turns") else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let table = TableId::parse("in.c-main.shared").unwrap();
    let header = dir.path().join("header.csv");
    std::fs::write(&header, "n\n").unwrap();
    first
        .import_csv(&table, &header, &ImportOptions::default())
        .unwrap();
    let rows: String = (0..2000).map(|i| format!("{i}\n")).collect();
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, format!("n\n{rows}")).unwrap();
    let incremental = ImportOptions {
        incremental: true,
        ..ImportOptions::default()
    };
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let url = db.url().to_owned();
            let (table, path, incremental) = (&table, &path, &incremental);
            scope.spawn(move || {
                let mut node = PgStorage::connect(&url).unwrap();
                for _ in 0..5 {
                    node.import_csv(table, path, incremental).unwrap();
                }
            });
        }
    });
    assert_eq!(first.table(&table).unwrap().rows, 2 * 5 * 2000);
}

/// Text PostgreSQL cannot hold, in any document's name, is refused as the caller's input by the
/// driver-level mapping (`PgError::db`), naming what was being stored.
#[test]
fn a_nul_in_a_name_is_a_user_error_wherever_it_is_stored() {
    use berth_storage::{Catalog, ComponentDefinition, NewConfig, NewToken, TokenStore};
    let Some((_db, mut storage)) = fresh("a_nul_in_a_name_is_a_user_error_wherever_it_is_stored")
    else {
        return;
    };
    let definition = ComponentDefinition::from_json(r#"{"id": "a.b", "image": "x.wasm"}"#).unwrap();
    storage.add_component(&definition).unwrap();
    let config = NewConfig {
        name: "nul\0name".into(),
        configuration: serde_json::json!({"parameters": {}}),
        ..NewConfig::default()
    };
    let token = NewToken {
        description: "nul\0description".into(),
        ..NewToken::default()
    };
    for error in [
        storage.create_config("a.b", &config).unwrap_err(),
        TokenStore::create_token(&mut storage, &token).unwrap_err(),
    ] {
        assert!(error.is_user_error(), "{error:?}");
        assert!(error.to_string().contains("cannot hold a NUL"), "{error}");
    }
    assert!(storage.list_configs("a.b").unwrap().is_empty());
}

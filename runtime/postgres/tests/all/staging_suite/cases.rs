//! The cases of the staging suite: berth-staging driven against `&mut dyn Backend` only.

use berth_host_api::DataDir;
use berth_host_api::config::{InputFile, InputTable};
use berth_staging::JobIds;
use berth_staging::input_files::{stage_input_files, tag_processed};
use berth_staging::input_tables::stage_input_tables;
use berth_storage::{ExportOptions, FileFilter, FileUpload, ImportOptions, TableId, TableLoad};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::backends::Backend;

fn data_dir(b: &Backend) -> DataDir {
    let data = DataDir::new(b.path("data"));
    data.create_layout().unwrap();
    data
}

fn ids() -> JobIds {
    JobIds {
        component_id: "acme.writer".into(),
        config_id: Some("1".into()),
        row_id: None,
        run_id: "100".into(),
    }
}

fn read(data: &DataDir, relative: &str) -> String {
    std::fs::read_to_string(data.root.join(relative)).unwrap()
}

pub(super) fn input_tables_are_staged_with_columns_filters_and_manifests(b: &mut Backend) {
    let source = TableId::parse("in.c-main.source").unwrap();
    let csv = b.write(
        "source.csv",
        "id,name,status\n1,a,open\n2,\"b \"\"q\"\"\",closed\n3,c,open\n",
    );
    b.storage
        .import_csv(&source, &csv, &ImportOptions::default())
        .unwrap();
    let data = data_dir(b);
    let mapping: Vec<InputTable> = serde_json::from_value(json!([
        {"source": "in.c-main.source"},
        {"source": "in.c-main.source", "destination": "open.csv", "columns": ["name", "id"],
         "where_column": "status", "where_values": ["open"]},
    ]))
    .unwrap();
    let staged = stage_input_tables(
        &*b.storage,
        &data,
        &mapping,
        &[],
        OffsetDateTime::now_utc(),
        |_| {},
    )
    .unwrap();
    assert_eq!(staged.tables.len(), 2);
    assert_eq!(
        read(&data, "in/tables/in.c-main.source"),
        "\"id\",\"name\",\"status\"\n\"1\",\"a\",\"open\"\n\"2\",\"b \"\"q\"\"\",\"closed\"\n\"3\",\"c\",\"open\"\n"
    );
    assert_eq!(
        read(&data, "in/tables/open.csv"),
        "\"name\",\"id\"\n\"a\",\"1\"\n\"c\",\"3\"\n"
    );
    let manifest: Value =
        serde_json::from_str(&read(&data, "in/tables/open.csv.manifest")).unwrap();
    assert_eq!(manifest["id"], "in.c-main.source");
    assert_eq!(manifest["columns"], json!(["name", "id"]));
    // A missing source is the configuration's mistake, named.
    let missing: Vec<InputTable> =
        serde_json::from_value(json!([{"source": "in.c-main.nope"}])).unwrap();
    let error = stage_input_tables(
        &*b.storage,
        &data,
        &missing,
        &[],
        OffsetDateTime::now_utc(),
        |_| {},
    )
    .unwrap_err();
    assert!(error.is_user_error(), "{error}");
    assert!(error.to_string().contains("in.c-main.nope"), "{error}");
}

pub(super) fn input_files_are_staged_by_tags_and_marked_processed(b: &mut Backend) {
    let upload = |b: &mut Backend, name: &str, content: &[u8], tags: &[&str]| {
        let path = b.write(name, content);
        b.storage
            .upload_file(
                &path,
                &FileUpload {
                    tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                    ..FileUpload::default()
                },
            )
            .unwrap()
    };
    let wanted = upload(b, "report.bin", &[0, 1, 2, 255], &["daily"]);
    upload(b, "other.txt", b"no", &["weekly"]);
    let data = data_dir(b);
    let mapping: Vec<InputFile> = serde_json::from_value(json!([
        {"tags": ["daily"], "processed_tags": ["done"]}
    ]))
    .unwrap();
    let staged = stage_input_files(
        &*b.storage,
        &data,
        &mapping,
        &[],
        &ids(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_eq!(staged.files.len(), 1);
    assert_eq!(
        std::fs::read(data.root.join(format!("in/files/{wanted}_report.bin"))).unwrap(),
        [0, 1, 2, 255]
    );
    tag_processed(&mut *b.storage, &mapping, &staged).unwrap();
    assert_eq!(b.storage.file(wanted).unwrap().tags, ["daily", "done"]);
}

pub(super) fn output_tables_and_files_load_back_all_or_nothing(b: &mut Backend) {
    // What the output mapping hands Storage after planning: one batch of loads with metadata
    // (berth-staging's `load_output_tables`), and the uploads of `out/files`.
    let table = TableId::parse("out.c-main.result").unwrap();
    let loads = vec![TableLoad {
        table: table.clone(),
        path: b.write("result.csv", "id,v\n1,x\n"),
        open: None,
        options: ImportOptions::default(),
        metadata: vec![(
            "system".into(),
            "KBC.lastUpdatedBy.component.id".into(),
            "acme.writer".into(),
        )],
        metadata_if_created: Vec::new(),
        column_metadata: Vec::new(),
    }];
    b.storage.load_tables(&loads, &mut |_, _| {}).unwrap();
    let mut out = Vec::new();
    b.storage
        .export_csv(&table, &mut out, &ExportOptions::default())
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "\"id\",\"v\"\n\"1\",\"x\"\n"
    );
    let file = b.write("out.txt", "artifact");
    let opened = berth_storage::OpenInput::new(std::fs::File::open(&file).unwrap(), 1 << 20);
    let id = b
        .storage
        .upload_open(&file, &opened, &FileUpload::default())
        .unwrap();
    let listed = b.storage.list_files(&FileFilter::default()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].size_bytes, 8);
}

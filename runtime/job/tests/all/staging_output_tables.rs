//! Output table mapping through whole jobs (reference §2.4–§2.7, §3; §11 items 1–30): what the
//! `write_outputs` guest leaves in `out/tables`, with manifests and mappings, ends up in Storage —
//! or fails with the reference's message and changes nothing.
//!
//! These tests pin Keboola's destination rules (manifest destinations, file names, default
//! buckets), so their writer component opts out of berth's output scope (`"output_scope":
//! "any"`); `output_scope.rs` tests the scope itself.

use berth_storage::ImportOptions;
use components_artifacts as guests;
use serde_json::{Value, json};

use berth_job::testing::{Env, csv, writes};

fn env() -> Env {
    let env = Env::new();
    env.component(
        "acme.writer",
        guests::WRITE_OUTPUTS,
        json!({"output_scope": "any"}),
    );
    env
}

fn run(env: &Env, files: &[(&str, &str)], output: Value) -> berth_job::testing::Job {
    env.run_data("acme.writer", writes(files, 0, json!({"output": output})))
}

#[test]
fn a_source_without_csv_extension_loads_to_the_mapped_destination() {
    let env = env();
    run(
        &env,
        &[("out/tables/table31", "Id,Name\n1,a\n")],
        json!({"tables": [{"source": "table31", "destination": "out.c-main.table31"}]}),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.table31").unwrap(),
        csv(&[&["Id", "Name"], &["1", "a"]])
    );
}

#[test]
fn source_defaults_to_the_destination_name_as_csv_file() {
    let env = env();
    run(
        &env,
        &[("out/tables/out.c-main.data.csv", "a\n1\n")],
        json!({"tables": [{"destination": "out.c-main.data"}]}),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.data").unwrap(),
        csv(&[&["a"], &["1"]])
    );
}

#[test]
fn an_empty_headered_file_fails_with_no_data() {
    let env = env();
    let job = run(
        &env,
        &[("out/tables/empty.csv", "")],
        json!({"tables": [{"source": "empty.csv", "destination": "out.c-main.empty"}]}),
    );
    assert_eq!(
        job.assert_error("user"),
        r#"Failed to load table "out.c-main.empty": There are no data in import file"#
    );
}

#[test]
fn mapping_destination_wins_over_the_manifest_and_the_manifest_pk_applies() {
    let env = env();
    run(
        &env,
        &[
            ("out/tables/table.csv", "Id,Name\n1,a\n"),
            (
                "out/tables/table.csv.manifest",
                r#"{"destination": "out.c-main.from-manifest", "primary_key": ["Id"]}"#,
            ),
        ],
        json!({"tables": [{"source": "table.csv", "destination": "out.c-main.from-mapping"}]}),
    )
    .assert_success();
    assert!(env.table("out.c-main.from-manifest").is_none());
    assert_eq!(env.primary_key("out.c-main.from-mapping"), ["Id"]);
}

#[test]
fn an_invalid_manifest_names_the_file_and_the_path() {
    let env = env();
    let job = run(
        &env,
        &[
            ("out/tables/table.csv", "Id\n1\n"),
            ("out/tables/table.csv.manifest", r#"{"primary_key": "Id"}"#),
        ],
        json!({"tables": [{"source": "table.csv", "destination": "out.c-main.t"}]}),
    );
    let message = job.assert_error("user");
    assert!(message.starts_with(r#"Failed to parse manifest file "out/tables/table.csv.manifest" as "json": Invalid type for path "primary_key""#), "{message}");
    let job = run(
        &env,
        &[
            ("out/tables/t.csv", "a\n1\n"),
            ("out/tables/t.csv.manifest", r#"{"invalid": "true"}"#),
        ],
        json!({}),
    );
    assert!(
        job.assert_error("user")
            .contains(r#"Unrecognized option "invalid""#)
    );
}

#[test]
fn manifest_delimiter_and_enclosure_are_honoured() {
    let env = env();
    run(
        &env,
        &[
            ("out/tables/t.csv", "'Id'\t'Name'\n'1'\t'test''s'\n"),
            (
                "out/tables/t.csv.manifest",
                r#"{"destination": "out.c-main.dialect", "delimiter": "\t", "enclosure": "'"}"#,
            ),
        ],
        json!({}),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.dialect").unwrap(),
        csv(&[&["Id", "Name"], &["1", "test's"]])
    );
}

#[test]
fn an_orphaned_manifest_fails() {
    let env = env();
    let job = run(&env, &[("out/tables/table.csv.manifest", "{}")], json!({}));
    assert_eq!(
        job.assert_error("user"),
        r#"Found orphaned table manifest: "table.csv.manifest""#
    );
}

#[test]
fn missing_mapped_sources_are_listed() {
    let env = env();
    let job = run(
        &env,
        &[],
        json!({"tables": [{"source": "table81.csv", "destination": "out.c-main.a"}, {"source": "b.csv", "destination": "out.c-main.b"}]}),
    );
    assert_eq!(
        job.assert_error("user"),
        r#"Table sources not found: "table81.csv", "b.csv""#
    );
}

#[test]
fn the_default_bucket_completes_file_and_manifest_names() {
    let env = env();
    run(
        &env,
        &[
            ("out/tables/table71.csv", "Id,Name\n1,a\n"),
            ("out/tables/table71.csv.manifest", "{}"),
            ("out/tables/pk.csv", "Id,Name\n1,a\n"),
            ("out/tables/pk.csv.manifest", r#"{"primary_key": ["Id"]}"#),
            ("out/tables/named.csv", "x\n1\n"),
            (
                "out/tables/named.csv.manifest",
                r#"{"destination": "renamed"}"#,
            ),
        ],
        json!({"default_bucket": "out.c-bucket"}),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-bucket.table71").unwrap(),
        csv(&[&["Id", "Name"], &["1", "a"]])
    );
    assert_eq!(env.primary_key("out.c-bucket.pk"), ["Id"]);
    assert!(env.table("out.c-bucket.renamed").is_some());
}

#[test]
fn a_component_default_bucket_is_named_after_component_and_configuration() {
    let env = Env::new();
    env.component(
        "keboola.ex-db.x",
        guests::WRITE_OUTPUTS,
        json!({"default_bucket": true}),
    )
    .config(
        "keboola.ex-db.x",
        "cfg9",
        writes(&[("out/tables/data.csv", "a\n1\n")], 0, json!({})),
    );
    env.run_stored("keboola.ex-db.x", "cfg9").assert_success();
    assert!(env.table("in.c-keboola-ex-db-x-cfg9.data").is_some());
    let job = env.run_data(
        "keboola.ex-db.x",
        writes(&[("out/tables/data.csv", "a\n1\n")], 0, json!({})),
    );
    assert_eq!(
        job.assert_error("user"),
        "Configuration ID not set, but is required for default_bucket option."
    );
}

#[test]
fn destinations_resolve_by_precedence_and_bare_names_fail() {
    let env = env();
    let job = run(
        &env,
        &[("out/tables/in.c-main.named.csv", "a\n1\n")],
        json!({}),
    );
    job.assert_success();
    assert!(
        job.record()
            .warnings
            .iter()
            .any(|w| w.contains("falling back to the source name"))
    );
    assert!(env.table("in.c-main.named").is_some());
    for (files, output) in [
        (
            vec![("out/tables/table.csv", "a\n1\n")],
            json!({"tables": [{"source": "table.csv", "destination": "table"}], "default_bucket": "out.c-x"}),
        ),
        (
            vec![
                ("out/tables/table.csv", "a\n1\n"),
                (
                    "out/tables/table.csv.manifest",
                    r#"{"destination": "table"}"#,
                ),
            ],
            json!({}),
        ),
        (vec![("out/tables/table.csv", "a\n1\n")], json!({})),
    ] {
        let job = run(&env, &files, output);
        assert_eq!(
            job.assert_error("user"),
            r#"Failed to resolve destination for output table "table.csv"."#
        );
    }
    // `x.csv.gz` without a name keeps its suffix: stage x, bucket csv, table gz — not a table id.
    let job = run(&env, &[("out/tables/x.csv.gz", "a\n1\n")], json!({}));
    assert_eq!(
        job.assert_error("user"),
        r#"Failed to resolve valid destination. "x.csv.gz" is not a valid table ID."#
    );
}

#[test]
fn an_empty_string_primary_key_is_no_primary_key() {
    let env = env();
    run(&env, &[("out/tables/t.csv", "a\n1\n")], json!({"tables": [{"source": "t.csv", "destination": "out.c-main.t", "primary_key": [""]}]}))
        .assert_success();
    assert!(env.primary_key("out.c-main.t").is_empty());
}

#[test]
fn column_mismatches_of_several_tables_are_reported_together_and_nothing_loads() {
    let env = env();
    env.import("out.c-main.one", "a,b\n1,2\n")
        .import("out.c-main.two", "c,d\n1,2\n");
    let job = run(
        &env,
        &[
            ("out/tables/one.csv", "x\n1\n"),
            ("out/tables/two.csv", "y\n1\n"),
            ("out/tables/three.csv", "z\n1\n"),
        ],
        json!({"tables": [
            {"source": "one.csv", "destination": "out.c-main.one"},
            {"source": "two.csv", "destination": "out.c-main.two"},
            {"source": "three.csv", "destination": "out.c-main.three"}]}),
    );
    let message = job.assert_error("user");
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 2, "{message}");
    assert!(lines[0].starts_with(r#"Failed to load table "out.c-main.one": Some columns are missing in the csv file. Missing columns: a,b."#), "{message}");
    assert!(lines[1].contains(r#""out.c-main.two""#));
    assert!(env.table("out.c-main.three").is_none(), "nothing is loaded");
}

#[test]
fn a_failure_in_one_table_leaves_every_table_and_file_as_it_was() {
    let env = env();
    env.import("out.c-main.first", "id,v\n1,old\n");
    let job = run(
        &env,
        &[
            ("out/tables/first.csv", "id,v\n1,new\n2,new\n"),
            ("out/tables/second.csv", "id,v\n1,x\n2\n"),
            ("out/files/report.txt", "r"),
        ],
        json!({"tables": [
            {"source": "first.csv", "destination": "out.c-main.first"},
            {"source": "second.csv", "destination": "out.c-main.second"}]}),
    );
    let message = job.assert_error("user");
    assert!(
        message.starts_with(r#"Failed to load table "out.c-main.second""#),
        "{message}"
    );
    assert_eq!(
        env.table("out.c-main.first").unwrap(),
        csv(&[&["id", "v"], &["1", "old"]])
    );
    assert!(
        env.table("out.c-main.second").is_none(),
        "a fresh table is not left behind"
    );
    let files = env.storage().list_files(&Default::default()).unwrap();
    assert!(
        files.is_empty(),
        "uploaded files are removed again: {files:?}"
    );
}

#[test]
fn write_always_tables_load_when_the_component_fails() {
    let env = env();
    let storage = json!({"output": {"tables": [
        {"source": "table0.csv", "destination": "out.c-main.table1"},
        {"source": "table.csv", "destination": "out.c-main.table2", "write_always": true},
        {"source": "absent.csv", "destination": "out.c-main.absent"}],
        "files": [{"source": "f.txt", "tags": ["x"]}]}});
    let files = [
        ("out/tables/table0.csv", "a\n1\n"),
        ("out/tables/table.csv", "a\n2\n"),
        ("out/tables/stray.csv", "a\n3\n"),
        ("out/tables/manifested.csv", "a\n4\n"),
        (
            "out/tables/manifested.csv.manifest",
            r#"{"destination": "out.c-main.manifested", "write_always": true}"#,
        ),
        ("out/files/f.txt", "f"),
    ];
    let job = env.run_data("acme.writer", writes(&files, 1, storage));
    assert_eq!(job.assert_error("user"), "component failed on purpose");
    assert!(env.table("out.c-main.table1").is_none());
    assert_eq!(
        env.table("out.c-main.table2").unwrap(),
        csv(&[&["a"], &["2"]])
    );
    assert!(
        env.table("out.c-main.manifested").is_some(),
        "write_always from the manifest"
    );
    assert!(env.table("out.c-bucket.stray").is_none());
    assert!(
        env.storage()
            .list_files(&Default::default())
            .unwrap()
            .is_empty(),
        "no files on failure"
    );
}

#[test]
fn an_output_mapping_error_still_loads_write_always_tables_and_keeps_the_original_error() {
    let env = env();
    let storage = json!({"output": {"tables": [
        {"source": "non-existent.csv", "destination": "out.c-main.x"},
        {"source": "always.csv", "destination": "out.c-main.always", "write_always": true}]}});
    let job = env.run_data(
        "acme.writer",
        writes(&[("out/tables/always.csv", "a\n1\n")], 0, storage),
    );
    assert_eq!(
        job.assert_error("user"),
        r#"Table sources not found: "non-existent.csv""#
    );
    assert!(env.table("out.c-main.always").is_some());
    // The write_always source itself missing: the job fails and no table is created.
    let storage = json!({"output": {"tables": [{"source": "gone.csv", "destination": "out.c-main.gone", "write_always": true}]}});
    let job = env.run_data("acme.writer", writes(&[], 0, storage));
    assert_eq!(
        job.assert_error("user"),
        r#"Table sources not found: "gone.csv""#
    );
    assert!(env.table("out.c-main.gone").is_none());
}

#[test]
fn one_source_may_load_into_two_destinations() {
    let env = env();
    run(
        &env,
        &[("out/tables/t.csv", "a\n1\n")],
        json!({"tables": [
        {"source": "t.csv", "destination": "out.c-main.one"},
        {"source": "t.csv", "destination": "out.c-main.two"}]}),
    )
    .assert_success();
    assert!(env.table("out.c-main.one").is_some() && env.table("out.c-main.two").is_some());
}

#[test]
fn a_timestamp_column_is_rejected() {
    let env = env();
    let job = run(
        &env,
        &[("out/tables/t.csv", "1,2\n")],
        json!({"tables": [
        {"source": "t.csv", "destination": "out.c-main.t", "columns": ["id", "_TimeStamp"]}]}),
    );
    assert_eq!(
        job.assert_error("user"),
        r#"Failed to process mapping for table t.csv: System columns "_timestamp" cannot be imported to the table."#
    );
}

#[test]
fn headless_files_take_their_columns_from_the_mapping_or_manifest() {
    let env = env();
    run(
        &env,
        &[
            ("out/tables/h.csv", "1,a\n2,b\n"),
            ("out/tables/h.csv.manifest", r#"{"columns": ["a", "b"]}"#),
            ("out/tables/empty.csv", ""),
        ],
        json!({"tables": [
            {"source": "h.csv", "destination": "out.c-main.h", "columns": ["Id", "Name"]},
            {"source": "empty.csv", "destination": "out.c-main.empty", "columns": ["Id"]}]}),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.h").unwrap(),
        csv(&[&["Id", "Name"], &["1", "a"], &["2", "b"]])
    );
    assert_eq!(env.table("out.c-main.empty").unwrap(), csv(&[&["Id"]]));
}

#[test]
fn a_headless_file_with_reordered_columns_loads_by_name() {
    let env = env();
    env.import_with(
        "out.c-main.r",
        "id,name\n1,a\n",
        ImportOptions {
            primary_key: vec!["id".into()],
            ..Default::default()
        },
    );
    run(&env, &[("out/tables/r.csv", "b,2\n")], json!({"tables": [
        {"source": "r.csv", "destination": "out.c-main.r", "columns": ["name", "id"], "incremental": true}]}))
    .assert_success();
    assert_eq!(
        env.table("out.c-main.r").unwrap(),
        csv(&[&["id", "name"], &["1", "a"], &["2", "b"]])
    );
}

#[test]
fn has_header_with_columns_skips_the_header_line() {
    let env = env();
    run(&env, &[("out/tables/t.csv", "x,y\n1,2\n")], json!({"tables": [
        {"source": "t.csv", "destination": "out.c-main.t", "columns": ["a", "b"], "has_header": true}]}))
    .assert_success();
    assert_eq!(
        env.table("out.c-main.t").unwrap(),
        csv(&[&["a", "b"], &["1", "2"]])
    );
}

#[test]
fn incremental_loads_upsert_by_primary_key_and_full_loads_replace() {
    let env = env();
    env.import_with(
        "out.c-main.t",
        "id,v\n1,old\n2,old\n",
        ImportOptions {
            primary_key: vec!["id".into()],
            ..Default::default()
        },
    );
    let mapping = |incremental: bool| json!({"tables": [{"source": "t.csv", "destination": "out.c-main.t", "incremental": incremental, "primary_key": ["id"]}]});
    run(
        &env,
        &[("out/tables/t.csv", "id,v\n2,new\n3,new\n")],
        mapping(true),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.t").unwrap(),
        csv(&[&["id", "v"], &["1", "old"], &["2", "new"], &["3", "new"]])
    );
    run(
        &env,
        &[("out/tables/t.csv", "id,v\n9,only\n")],
        mapping(false),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.t").unwrap(),
        csv(&[&["id", "v"], &["9", "only"]])
    );
}

#[test]
fn the_primary_key_changes_and_whitespace_is_trimmed() {
    let env = env();
    env.import_with(
        "out.c-main.t",
        "id,v\n1,a\n",
        ImportOptions {
            primary_key: vec!["id".into()],
            ..Default::default()
        },
    );
    run(
        &env,
        &[("out/tables/t.csv", "id,v\n1,a\n")],
        json!({"tables": [
        {"source": "t.csv", "destination": "out.c-main.t", "primary_key": [" id ", " v"]}]}),
    )
    .assert_success();
    assert_eq!(env.primary_key("out.c-main.t"), ["id", "v"]);
}

#[test]
fn delete_where_removes_rows_before_an_incremental_load() {
    let env = env();
    env.import("out.c-main.t", "id,status\n1,open\n2,closed\n3,closed\n");
    run(&env, &[("out/tables/t.csv", "id,status\n4,open\n")], json!({"tables": [
        {"source": "t.csv", "destination": "out.c-main.t", "incremental": true,
         "delete_where_column": "status", "delete_where_values": ["closed"], "delete_where_operator": "eq"}]}))
    .assert_success();
    assert_eq!(
        env.table("out.c-main.t").unwrap(),
        csv(&[&["id", "status"], &["1", "open"], &["4", "open"]])
    );
    run(&env, &[("out/tables/t.csv", "id,status\n5,x\n")], json!({"tables": [
        {"source": "t.csv", "destination": "out.c-main.t", "incremental": true,
         "delete_where": [{"where_filters": [{"column": "id", "operator": "ne", "values_from_set": ["4"]}]}]}]}))
    .assert_success();
    assert_eq!(
        env.table("out.c-main.t").unwrap(),
        csv(&[&["id", "status"], &["4", "open"], &["5", "x"]])
    );
}

#[test]
fn mapping_columns_override_manifest_columns() {
    let env = env();
    run(
        &env,
        &[("out/tables/t.csv", "1,x\n"), ("out/tables/t.csv.manifest", r#"{"columns": ["a", "b"]}"#)],
        json!({"tables": [{"source": "t.csv", "destination": "out.c-main.t", "columns": ["Id", "Name"]}]}),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.t").unwrap(),
        csv(&[&["Id", "Name"], &["1", "x"]])
    );
}

#[test]
fn sliced_tables_need_columns_and_concatenate_their_slices() {
    let env = env();
    let job = run(
        &env,
        &[("out/tables/table/part1", "1,a\n")],
        json!({"tables": [{"source": "table", "destination": "out.c-main.s"}]}),
    );
    assert_eq!(
        job.assert_error("user"),
        r#"Sliced file "table" columns specification missing."#
    );
    run(
        &env,
        &[("out/tables/table/part1", "1,a\n2,b"), ("out/tables/table/part2", "3,c\n")],
        json!({"tables": [{"source": "table", "destination": "out.c-main.s", "columns": ["id", "name"]}]}),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.s").unwrap(),
        csv(&[&["id", "name"], &["1", "a"], &["2", "b"], &["3", "c"]])
    );
}

#[test]
fn an_empty_sliced_directory_creates_or_empties_a_table() {
    let env = env();
    let write = json!({"parameters": {"write": [{"path": "out/tables/empty", "dir": true}, {"path": "out/tables/one/slice", "text": ""}]},
        "storage": {"output": {"tables": [
            {"source": "empty", "destination": "out.c-main.empty", "columns": ["a"]},
            {"source": "one", "destination": "out.c-main.existing", "columns": ["a"]}]}}});
    env.import("out.c-main.existing", "a\n1\n2\n");
    env.run_data("acme.writer", write).assert_success();
    assert_eq!(env.table("out.c-main.empty").unwrap(), csv(&[&["a"]]));
    assert_eq!(env.table("out.c-main.existing").unwrap(), csv(&[&["a"]]));
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn gzipped_files_and_slices_are_decompressed() {
    let env = env();
    let config = json!({"parameters": {"write": [
            {"path": "out/tables/data.csv.gz", "bytes": gzip("id,v\n1,a\n")},
            {"path": "out/tables/mytable.csv.gz/part1", "bytes": gzip("1,x\n")},
            {"path": "out/tables/mytable.csv.gz/part2", "bytes": gzip("2,y\n")}]},
        "storage": {"output": {"tables": [
            {"source": "data.csv.gz", "destination": "out.c-main.gz"},
            {"source": "mytable.csv.gz", "destination": "out.c-main.sliced", "columns": ["id", "v"]}]}}});
    env.run_data("acme.writer", config).assert_success();
    assert_eq!(
        env.table("out.c-main.gz").unwrap(),
        csv(&[&["id", "v"], &["1", "a"]])
    );
    assert_eq!(
        env.table("out.c-main.sliced").unwrap(),
        csv(&[&["id", "v"], &["1", "x"], &["2", "y"]])
    );
}

#[test]
fn new_columns_are_added_to_an_existing_table() {
    let env = env();
    env.import("out.c-main.t", "id\n1\n");
    run(
        &env,
        &[("out/tables/t.csv", "id,extra\n2,e\n")],
        json!({"tables": [
        {"source": "t.csv", "destination": "out.c-main.t", "incremental": true}]}),
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.t").unwrap(),
        csv(&[&["id", "extra"], &["1", ""], &["2", "e"]])
    );
}

#[test]
fn column_names_are_webalized_with_a_warning() {
    let env = env();
    let job = run(
        &env,
        &[("out/tables/t.csv", "1,2\n")],
        json!({"tables": [
        {"source": "t.csv", "destination": "out.c-main.t", "columns": ["první sloupec", "OID"]}]}),
    );
    job.assert_success();
    assert_eq!(
        env.table("out.c-main.t").unwrap(),
        csv(&[&["prvni_sloupec", "OID_"], &["1", "2"]])
    );
    assert!(
        job.record().warnings.contains(
            &r#"Column name "první sloupec" was webalized to "prvni_sloupec""#.to_owned()
        )
    );
}

#[test]
fn metadata_and_system_metadata_are_set() {
    let env = env();
    env.config("acme.writer", "cfg", writes(
        &[("out/tables/t.csv", "a\n1\n")],
        0,
        json!({"output": {"tables": [{"source": "t.csv", "destination": "out.c-main.t", "description": "a table",
            "metadata": [{"key": "k", "value": "v"}]}]}}),
    ));
    env.run_stored("acme.writer", "cfg").assert_success();
    let metadata = env
        .storage()
        .table_metadata(&"out.c-main.t".parse().unwrap())
        .unwrap();
    let get = |provider: &str, key: &str| {
        metadata
            .iter()
            .find(|m| m.provider == provider && m.key == key)
            .map(|m| m.value.clone())
    };
    assert_eq!(get("acme.writer", "k").as_deref(), Some("v"));
    assert_eq!(
        get("acme.writer", "KBC.description").as_deref(),
        Some("a table")
    );
    assert_eq!(
        get("system", "KBC.createdBy.component.id").as_deref(),
        Some("acme.writer")
    );
    assert_eq!(
        get("system", "KBC.createdBy.configuration.id").as_deref(),
        Some("cfg")
    );
    assert_eq!(
        get("system", "KBC.lastUpdatedBy.component.id").as_deref(),
        Some("acme.writer")
    );
}

#[test]
fn a_column_name_longer_than_64_characters_is_rejected() {
    let env = env();
    let header = format!("{}\n1\n", "a".repeat(65));
    let job = run(
        &env,
        &[("out/tables/t.csv", header.as_str())],
        json!({"tables": [{"source": "t.csv", "destination": "out.c-main.t"}]}),
    );
    let message = job.assert_error("user");
    assert!(message.contains("longer than 64 characters"), "{message}");
    assert!(env.table("out.c-main.t").is_none());
}

#[test]
fn symbolic_links_never_carry_host_files_into_storage() {
    let env = env();
    // A file outside the data folder: <home>/tmp/secret.csv, the job folder being <home>/tmp/job-*/.
    std::fs::create_dir_all(env.root().join("tmp")).unwrap();
    std::fs::write(env.root().join("tmp/secret.csv"), "secret\nleaked\n").unwrap();
    let link = |path: &str, target: &str, output: Value| json!({"parameters": {"write": [{"path": path, "symlink": target}]}, "storage": {"output": output}});
    let job = env.run_data(
        "acme.writer",
        link(
            "out/tables/leak.csv",
            "../../../../secret.csv",
            json!({"tables": [{"source": "leak.csv", "destination": "out.c-main.leak"}]}),
        ),
    );
    assert_eq!(
        job.assert_error("user"),
        r#""out/tables/leak.csv" is a symbolic link; components must write regular files and folders."#,
        "a link is refused, naming it"
    );
    let job = env.run_data(
        "acme.writer",
        link(
            "out/tables",
            "../../..",
            json!({"tables": [{"source": "secret.csv", "destination": "out.c-main.leak"}]}),
        ),
    );
    assert_eq!(
        job.assert_error("user"),
        r#""out/tables" is a symbolic link; components must write regular files and folders."#
    );
    let job = env.run_data(
        "acme.writer",
        link("out/state.json", "../../../../secret.csv", json!({})),
    );
    assert!(job.assert_error("user").contains("symbolic link"));
    assert!(env.table("out.c-main.leak").is_none());
}

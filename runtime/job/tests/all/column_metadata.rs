//! Column metadata through a chain of components (reference §2.2, §2.4, §3.4, §3.7): what one
//! component says of its columns — `column_metadata`, or a new-style `schema` with native types —
//! is stored with the table and handed to the next component in its input manifest
//! (`column_metadata`, and a `schema` when the table has types), so types survive the chain.

use components_artifacts as guests;
use serde_json::{Value, json};

use berth_job::testing::{Env, writes};

fn env() -> Env {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}))
        .component("acme.reader", guests::WRITE_OUTPUTS, json!({}));
    env
}

/// Runs `acme.writer` with `files` written and `t.csv` mapped to `out.c-main.t`.
fn write(env: &Env, files: &[(&str, &str)]) -> berth_job::testing::Job {
    env.run_data(
        "acme.writer",
        writes(
            files,
            0,
            json!({"output": {"tables": [{"source": "t.csv", "destination": "out.c-main.t"}]}}),
        ),
    )
}

/// The input manifest `acme.reader` gets for `out.c-main.t` with `columns` selected (all when
/// empty).
fn read_manifest(env: &Env, columns: &[&str]) -> Value {
    let job = env.run_data(
        "acme.reader",
        json!({"storage": {"input": {"tables": [
            {"source": "out.c-main.t", "destination": "t.csv", "columns": columns}]}}}),
    );
    job.assert_success();
    job.json("in/tables/t.csv.manifest")
}

fn entry<'a>(manifest: &'a Value, column: &str, key: &str) -> Option<&'a Value> {
    manifest["column_metadata"][column]
        .as_array()?
        .iter()
        .find(|m| m["key"] == key)
}

const SCHEMA_MANIFEST: &str = r#"{
  "manifest_type": "out",
  "has_header": true,
  "schema": [
    {"name": "id", "primary_key": true, "nullable": false,
     "data_type": {"base": {"type": "INTEGER"}}, "description": "the key"},
    {"name": "price", "data_type": {"base": {"type": "NUMERIC", "length": "12,2", "default": "0"}},
     "metadata": {"unit": "EUR"}},
    {"name": "note"}
  ]
}"#;

#[test]
fn schema_types_are_stored_and_given_back_in_the_next_input_manifest() {
    let env = env();
    write(
        &env,
        &[
            ("out/tables/t.csv", "id,price,note\n1,9.50,x\n"),
            ("out/tables/t.csv.manifest", SCHEMA_MANIFEST),
        ],
    )
    .assert_success();

    let stored = env
        .storage()
        .column_metadata(&"out.c-main.t".parse().unwrap())
        .unwrap();
    let get = |column: &str, key: &str| {
        stored
            .get(column)
            .and_then(|entries| entries.iter().find(|m| m.key == key))
            .map(|m| (m.provider.clone(), m.value.clone()))
    };
    let by_writer = |value: &str| Some(("acme.writer".to_owned(), value.to_owned()));
    assert_eq!(get("id", "KBC.datatype.basetype"), by_writer("INTEGER"));
    assert_eq!(get("id", "KBC.datatype.nullable"), by_writer(""));
    assert_eq!(get("id", "KBC.description"), by_writer("the key"));
    assert_eq!(get("price", "KBC.datatype.length"), by_writer("12,2"));
    assert_eq!(get("price", "KBC.datatype.default"), by_writer("0"));
    assert_eq!(get("price", "KBC.datatype.nullable"), by_writer("1"));
    assert_eq!(get("price", "unit"), by_writer("EUR"));
    assert!(!stored.contains_key("note"), "{stored:?}");

    let manifest = read_manifest(&env, &[]);
    assert_eq!(
        manifest["schema"],
        json!([
            {"name": "id", "data_type": {"base": {"type": "INTEGER"}}, "nullable": false,
             "primary_key": true, "distribution_key": false, "description": "the key"},
            {"name": "price", "data_type": {"base": {"type": "NUMERIC", "length": "12,2", "default": "0"}},
             "nullable": true, "primary_key": false, "distribution_key": false},
            {"name": "note", "nullable": true, "primary_key": false, "distribution_key": false}
        ])
    );
    let unit = entry(&manifest, "price", "unit").expect("price's unit");
    assert_eq!(unit["value"], "EUR");
    assert_eq!(unit["provider"], "acme.writer");
    assert!(unit["timestamp"].is_string());
    assert_eq!(manifest["column_metadata"].get("note"), None);

    // Only the selected columns' metadata and schema, in the selection's order.
    let manifest = read_manifest(&env, &["price", "note"]);
    assert_eq!(manifest["columns"], json!(["price", "note"]));
    let names: Vec<&Value> = manifest["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, [&json!("price"), &json!("note")]);
    assert_eq!(manifest["column_metadata"].get("id"), None);
}

#[test]
fn legacy_column_metadata_is_stored_merged_with_the_mapping_and_untyped_tables_get_no_schema() {
    let env = env();
    let manifest = r#"{"column_metadata": {"a": [{"key": "k", "value": "manifest"}, {"key": "n", "value": 7}]}}"#;
    let job = env.run_data(
        "acme.writer",
        writes(
            &[
                ("out/tables/t.csv", "a,b\n1,2\n"),
                ("out/tables/t.csv.manifest", manifest),
            ],
            0,
            json!({"output": {"tables": [{"source": "t.csv", "destination": "out.c-main.t",
                "column_metadata": {"a": [{"key": "k", "value": "mapping"}],
                                    "b": [{"key": "KBC.description", "value": "second"}]}}]}}),
        ),
    );
    job.assert_success();
    let manifest = read_manifest(&env, &[]);
    assert_eq!(entry(&manifest, "a", "k").unwrap()["value"], "mapping");
    assert_eq!(entry(&manifest, "a", "n").unwrap()["value"], "7");
    assert_eq!(
        entry(&manifest, "b", "KBC.description").unwrap()["value"],
        "second"
    );
    assert_eq!(manifest.get("schema"), None, "{manifest}");
}

#[test]
fn a_column_named_only_by_column_metadata_is_added_to_the_table() {
    let env = env();
    let manifest = r#"{"column_metadata": {"later": [{"key": "k", "value": "v"}]}}"#;
    write(
        &env,
        &[
            ("out/tables/t.csv", "a\n1\n"),
            ("out/tables/t.csv.manifest", manifest),
        ],
    )
    .assert_success();
    assert_eq!(
        env.table("out.c-main.t").unwrap(),
        "\"a\",\"later\"\n\"1\",\"\"\n"
    );
    let manifest = read_manifest(&env, &[]);
    assert_eq!(entry(&manifest, "later", "k").unwrap()["value"], "v");
}

#[test]
fn column_metadata_of_a_failed_job_is_not_kept() {
    let env = env();
    // The second table's file is malformed: nothing of the job may stay, metadata included.
    let job = env.run_data(
        "acme.writer",
        writes(
            &[
                ("out/tables/t.csv", "id,price,note\n1,9.50,x\n"),
                ("out/tables/t.csv.manifest", SCHEMA_MANIFEST),
                ("out/tables/u.csv", "a,b\n1\n"),
            ],
            0,
            json!({"output": {"tables": [
                {"source": "t.csv", "destination": "out.c-main.t"},
                {"source": "u.csv", "destination": "out.c-main.u"}]}}),
        ),
    );
    job.assert_error("user");
    assert!(env.table("out.c-main.t").is_none());
    // A later successful load of the same table starts with no column metadata.
    write(&env, &[("out/tables/t.csv", "id\n1\n")]).assert_success();
    let stored = env
        .storage()
        .column_metadata(&"out.c-main.t".parse().unwrap())
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
}

#[test]
fn malformed_column_metadata_names_the_file() {
    let env = env();
    let bad = [
        r#"{"column_metadata": {"a": [{"value": "no key"}]}}"#,
        r#"{"column_metadata": {"a": {"key": "k", "value": "v"}}}"#,
        r#"{"schema": [{"name": "a", "data_type": {"base": {"length": "1"}}}]}"#,
        r#"{"schema": [{"name": "a"}], "column_metadata": {"a": []}}"#,
    ];
    for manifest in bad {
        let job = write(
            &env,
            &[
                ("out/tables/t.csv", "a\n1\n"),
                ("out/tables/t.csv.manifest", manifest),
            ],
        );
        let message = job.assert_error("user");
        assert!(message.contains("t.csv"), "{manifest}: {message}");
        assert!(env.table("out.c-main.t").is_none(), "{manifest}");
    }
}

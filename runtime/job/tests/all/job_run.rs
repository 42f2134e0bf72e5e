//! `run_job` end to end: a table through a component and back, the normalised config.json, the
//! KBC_* environment, job records, configuration errors and the data folder's lifetime.

use berth_job::record::TableMove;
use berth_job::{ConfigSource, JobRequest, JobStatus, JobStore};
use berth_staging::Stage;
use berth_staging::state::StateChange;
use components_artifacts as guests;
use serde_json::json;

use berth_job::testing::{Env, csv};

#[test]
fn a_job_moves_a_table_from_storage_through_the_component_and_back() {
    let env = Env::new();
    env.import("in.c-main.source", "id,name\n1,alpha\n2,beta\n3,gamma\n")
        .component("acme.pass", guests::PASS_THROUGH, json!({}))
        .config(
            "acme.pass",
            "cfg1",
            json!({"storage": {
                "input": {"tables": [{"source": "in.c-main.source", "destination": "data.csv",
                    "where_column": "id", "where_values": ["1", "3"]}]},
                "output": {"tables": [{"source": "data.csv", "destination": "out.c-main.copy",
                    "incremental": true, "primary_key": ["id"]}]}}}),
        );
    let job = env.run_stored("acme.pass", "cfg1");
    job.assert_success();
    let record = job.record();
    assert_eq!(record.result.message, "Component processing finished.");
    assert_eq!(record.result.exit_code, Some(0));
    assert_eq!(record.result.component_exit_code, Some(0));
    assert_eq!(
        record.input.tables,
        [TableMove {
            table: "in.c-main.source".into(),
            file: "data.csv".into(),
            rows: 2,
            table_rows: None
        }]
    );
    assert_eq!(record.output.tables[0].table, "out.c-main.copy");
    assert_eq!(record.output.tables[0].rows, 2);
    assert_eq!(record.output.tables[0].table_rows, Some(2));
    assert_eq!(
        env.table("out.c-main.copy").unwrap(),
        csv(&[&["id", "name"], &["1", "alpha"], &["3", "gamma"]])
    );
    assert_eq!(env.primary_key("out.c-main.copy"), ["id"]);
    // No out/state.json: the component state is cleared; the input-mapping state is stored.
    assert_eq!(record.state, Some(StateChange::Cleared));
    let state = env.state("acme.pass", "cfg1");
    assert_eq!(state["component"], json!([]));
    assert_eq!(
        state["storage"]["input"]["tables"][0]["source"],
        "in.c-main.source"
    );
    assert!(state["storage"]["input"]["tables"][0]["lastImportDate"].is_string());

    // The record on disk is the returned one.
    let stored = JobStore::new(&env.home).load(&record.id).unwrap().unwrap();
    assert_eq!(&stored, record);
}

#[test]
fn the_component_gets_a_normalised_config_and_the_whole_environment() {
    let env = Env::new();
    env.component(
        "acme.writer",
        guests::WRITE_OUTPUTS,
        json!({"image_parameters": {"name": "app", "token": "default"},
               "stack_parameters": {"berth.local": {"token": "local", "url": "http://x/"}}}),
    )
    .config_with_rows(
        "acme.writer",
        "cfg",
        json!({"parameters": {"dump_env": true, "copy_config": true, "level": 1},
               "image_parameters": {"ignored": true},
               "runtime": {"process_timeout": 60}}),
        vec![("row7", json!({"parameters": {"level": 2}}))],
    );
    let mut request = JobRequest::new("acme.writer", ConfigSource::Stored("cfg".into()));
    request.row_ids = vec!["row7".into()];
    let job = env.run(request);
    job.assert_success();
    let config = job.json("out/seen/config.json");
    assert_eq!(config["action"], "run");
    assert_eq!(
        config["parameters"]["level"], 2,
        "the row is merged over the configuration"
    );
    assert_eq!(
        config["image_parameters"],
        json!({"name": "app", "token": "local", "url": "http://x/"})
    );
    assert!(config.get("runtime").is_none(), "runtime is not passed on");
    assert_eq!(config["storage"], json!({}));
    assert_eq!(config["shared_code_row_ids"], json!([]));
    assert_eq!(job.json("out/seen/state.json"), json!({}));
    let vars = job.json("out/env.json");
    let record = job.record();
    assert_eq!(vars["KBC_RUNID"], record.run_id.as_str());
    assert_eq!(vars["KBC_COMPONENTID"], "acme.writer");
    assert_eq!(vars["KBC_CONFIGID"], "cfg");
    assert_eq!(vars["KBC_CONFIGROWID"], "row7");
    assert_eq!(vars["KBC_COMPONENT_RUN_MODE"], "run");
    assert_eq!(vars["KBC_DATADIR"], "/data/");
    assert!(vars["KBC_STACKID"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        vars["KBC_PROJECT_FEATURE_GATES"]
            .as_str()
            .unwrap()
            .contains("queuev2")
    );
    assert_eq!(record.row_id.as_deref(), Some("row7"));
}

#[test]
fn every_job_gets_its_own_run_id_and_a_parent_run_prefixes_it() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let a = env.run_data("acme.writer", json!({}));
    let b = env.run_data("acme.writer", json!({}));
    assert_ne!(a.record().run_id, b.record().run_id);
    let mut request = JobRequest::new(
        "acme.writer",
        ConfigSource::Data(json!({"parameters": {"dump_env": true}})),
    );
    request.parent_run_id = Some("1000".into());
    let child = env.run(request);
    assert_eq!(child.record().run_id, format!("1000.{}", child.record().id));
    assert_eq!(
        child.json("out/env.json")["KBC_RUNID"],
        child.record().run_id.as_str()
    );
    // Without a configuration the config id is a digest of the parameters.
    assert_eq!(
        child.json("out/env.json")["KBC_CONFIGID"]
            .as_str()
            .unwrap()
            .len(),
        40
    );
    let records = JobStore::new(&env.home).list().unwrap();
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.status == JobStatus::Success));
}

#[test]
fn an_unknown_key_in_the_configuration_is_a_user_error() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let job = env.run_data(
        "acme.writer",
        json!({"storage": {"input": {"tables": [{"source": "in.c-a.b", "foo": 1}]}}}),
    );
    let message = job.assert_error("user");
    assert!(
        message.starts_with(
            r#"Error in configuration: Unrecognized option "foo" under "storage.input.tables.0"."#
        ),
        "{message}"
    );
    assert_eq!(job.record().result.error_stage, Some(Stage::Configuration));
    assert_eq!(job.record().result.exit_code, Some(1));
}

#[test]
fn input_mapping_validation_errors_use_the_reference_texts() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    for (item, expected) in [
        (
            json!({"source": "in.c-a.b", "where_column": "x"}),
            r#"When "where_column" is set, "where_values" must be provided."#,
        ),
        (
            json!({"source": "in.c-a.b", "where_values": ["x"]}),
            r#"When "where_values" is set, non-empty string in "where_column" must be provided."#,
        ),
        (
            json!({"source": "in.c-a.b", "where_operator": "gt", "where_column": "x", "where_values": [1]}),
            r#"Invalid operator in where_operator "gt""#,
        ),
    ] {
        let job = env.run_data(
            "acme.writer",
            json!({"storage": {"input": {"tables": [item]}}}),
        );
        let message = job.assert_error("user");
        assert!(message.contains(expected), "{message}");
    }
    let job = env.run_data(
        "acme.writer",
        json!({"storage": {"input": {"files": [{}]}}}),
    );
    assert!(job.assert_error("user").contains(
        r#"At least one of "tags", "source.tags", "query" or "file_ids" parameters must be defined."#
    ));
    let job = env.run_data(
        "acme.writer",
        json!({"storage": {"input": {"files": [{"tags": ["a"], "source": {"tags": [{"name": "b"}]}}]}}}),
    );
    assert!(
        job.assert_error("user")
            .contains(r#"Both "tags" and "source.tags" cannot be defined."#)
    );
}

#[test]
fn unknown_component_configuration_row_and_table_are_user_errors() {
    let env = Env::new();
    let job = env.run_data("acme.missing", json!({}));
    let message = job.assert_error("user");
    assert!(
        message.contains(r#"component "acme.missing" does not exist"#),
        "{message}"
    );
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}))
        .config("acme.writer", "cfg", json!({}));
    let message = env.run_stored("acme.writer", "nope").assert_error("user");
    assert!(
        message.contains(r#"configuration "nope" of component "acme.writer" does not exist"#),
        "{message}"
    );
    let mut request = JobRequest::new("acme.writer", ConfigSource::Stored("cfg".into()));
    request.row_ids = vec!["r9".into()];
    assert_eq!(
        env.run(request).assert_error("user"),
        r#"None of rows "r9" was found."#
    );
    let job = env.run_data(
        "acme.writer",
        json!({"storage": {"input": {"tables": [{"source": "in.c-main.nothing"}]}}}),
    );
    let message = job.assert_error("user");
    assert!(
        message.contains(r#"table "in.c-main.nothing" does not exist"#),
        "{message}"
    );
    assert_eq!(job.record().result.error_stage, Some(Stage::InputMapping));
}

#[test]
fn component_exit_codes_map_to_user_and_application_errors() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let job = env.run_data(
        "acme.writer",
        json!({"parameters": {"exit_code": 1, "message": "Bad parameter."}}),
    );
    assert_eq!(job.assert_error("user"), "Bad parameter.");
    assert_eq!(job.record().result.component_exit_code, Some(1));
    assert_eq!(job.record().state, Some(StateChange::Untouched));
    let job = env.run_data(
        "acme.writer",
        json!({"parameters": {"exit_code": 2, "message": "crash"}}),
    );
    assert!(job.assert_error("application").contains("crash"));
    assert_eq!(job.record().result.exit_code, Some(2));
}

#[test]
fn the_data_folder_is_removed_unless_kept() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let mut request = JobRequest::new("acme.writer", ConfigSource::Data(json!({})));
    request.keep_data = false;
    let run = berth_job::run_job(&env.home, &request, &berth_job::NoProgress).unwrap();
    assert!(run.data_dir.is_none());
    let leftovers: Vec<_> = std::fs::read_dir(env.root().join("tmp")).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let kept = env.run_data("acme.writer", json!({}));
    assert!(kept.data().join("config.json").is_file());
    assert!(kept.data().join("in/user").is_dir());
}

#[test]
fn a_configuration_with_rows_runs_every_enabled_row_and_stores_state_only_when_all_succeed() {
    let env = Env::new();
    let row = |table: &str, exit_code: i32| {
        json!({"parameters": {"dump_env": true, "exit_code": exit_code, "write": [
                {"path": format!("out/tables/{table}.csv"), "text": "a\n1\n"},
                {"path": "out/state.json", "text": format!("{{\"row\": \"{table}\"}}")}]},
            "storage": {"output": {"tables": [{"source": format!("{table}.csv"), "destination": format!("out.c-main.{table}")}]}}})
    };
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}))
        .config_with_rows(
            "acme.writer",
            "ok",
            json!({}),
            vec![("r1", row("one", 0)), ("r2", row("two", 0))],
        )
        .config_with_rows(
            "acme.writer",
            "bad",
            json!({}),
            vec![("r1", row("three", 0)), ("r2", row("four", 1))],
        );
    let job = env.run_stored("acme.writer", "ok");
    job.assert_success();
    assert_eq!(job.record().output.tables.len(), 2);
    assert!(env.table("out.c-main.one").is_some() && env.table("out.c-main.two").is_some());
    let envs: Vec<serde_json::Value> = ["r1", "r2"]
        .iter()
        .map(|r| {
            serde_json::from_str(
                &std::fs::read_to_string(job.data().join(format!("row-{r}/data/out/env.json")))
                    .unwrap(),
            )
            .unwrap()
        })
        .collect();
    assert_eq!(envs[0]["KBC_CONFIGROWID"], "r1");
    assert_eq!(envs[1]["KBC_CONFIGROWID"], "r2");
    let storage = env.storage();
    assert_eq!(
        storage
            .state("acme.writer", "ok", Some("r2"))
            .unwrap()
            .component,
        json!({"row": "two"})
    );
    drop(storage);

    let job = env.run_stored("acme.writer", "bad");
    job.assert_error("user");
    assert!(
        env.table("out.c-main.three").is_some(),
        "the first row's output is loaded"
    );
    let storage = env.storage();
    assert_eq!(
        storage
            .state("acme.writer", "bad", Some("r1"))
            .unwrap()
            .component,
        json!({}),
        "no state is stored for any row when one fails"
    );
}

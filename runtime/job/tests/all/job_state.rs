//! State and usage through whole jobs (reference §5, §6; seed 003; §11 items 60–65, 68, 79):
//! the state is kept, cleared or left untouched exactly as the seed says, and `out/usage.json` is
//! read even after a failure and validated strictly.

use berth_job::{ConfigSource, JobRequest};
use berth_staging::Stage;
use berth_staging::state::StateChange;
use berth_storage::State;
use components_artifacts as guests;
use serde_json::{Value, json};

use berth_job::testing::{Env, writes};

fn env() -> Env {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    env
}

/// Runs configuration `cfg` (stored once) with the document writing `files` and exiting with
/// `exit_code` given inline: the stored configuration supplies the state (reference §9.2).
fn run(env: &Env, files: &[(&str, &str)], exit_code: i32) -> berth_job::testing::Job {
    let mut config = writes(files, exit_code, json!({}));
    config["parameters"]["copy_config"] = json!(true);
    if env.storage().config("acme.writer", "cfg").is_err() {
        env.config("acme.writer", "cfg", json!({}));
    }
    let mut request = JobRequest::new("acme.writer", ConfigSource::Data(config));
    request.config_id = Some("cfg".to_owned());
    env.run(request)
}

fn component_state(env: &Env) -> Value {
    env.state("acme.writer", "cfg")["component"].clone()
}

#[test]
fn state_round_trips_into_the_next_job() {
    let env = env();
    let job = run(
        &env,
        &[(
            "out/state.json",
            r#"{"time": {"previousStart": 1587980435}}"#,
        )],
        0,
    );
    job.assert_success();
    assert_eq!(
        job.json("out/seen/state.json"),
        json!({}),
        "no state at first"
    );
    assert_eq!(job.record().state, Some(StateChange::Updated));
    assert_eq!(
        component_state(&env),
        json!({"time": {"previousStart": 1587980435}})
    );
    let next = run(&env, &[("out/state.json", "{}")], 0);
    assert_eq!(
        next.json("out/seen/state.json"),
        json!({"time": {"previousStart": 1587980435}})
    );
    assert_eq!(
        component_state(&env),
        json!({}),
        "{{}} is stored as an empty object"
    );
}

#[test]
fn a_missing_or_empty_state_file_clears_the_state() {
    let env = env();
    run(&env, &[("out/state.json", r#"{"a": 1}"#)], 0).assert_success();
    let job = run(&env, &[], 0);
    assert_eq!(job.record().state, Some(StateChange::Cleared));
    assert_eq!(component_state(&env), json!([]));
    run(&env, &[("out/state.json", r#"{"a": 1}"#)], 0).assert_success();
    let job = run(&env, &[("out/state.json", "")], 0);
    assert_eq!(job.record().state, Some(StateChange::Cleared));
    assert_eq!(component_state(&env), json!([]));
    // A cleared state reaches the next job as {}.
    assert_eq!(run(&env, &[], 0).json("out/seen/state.json"), json!({}));
}

#[test]
fn an_invalid_state_file_is_a_user_error_naming_it_and_changes_nothing() {
    let env = env();
    run(&env, &[("out/state.json", r#"{"a": 1}"#)], 0).assert_success();
    let job = run(&env, &[("out/state.json", "{not json")], 0);
    let message = job.assert_error("user");
    assert!(message.contains("out/state.json"), "{message}");
    assert_eq!(job.record().result.error_stage, Some(Stage::State));
    assert_eq!(component_state(&env), json!({"a": 1}));
}

#[test]
fn a_failed_component_or_output_mapping_leaves_the_state_untouched() {
    let env = env();
    run(&env, &[("out/state.json", r#"{"a": 1}"#)], 0).assert_success();
    let job = run(&env, &[("out/state.json", r#"{"a": 2}"#)], 1);
    job.assert_error("user");
    assert_eq!(job.record().state, Some(StateChange::Untouched));
    assert_eq!(component_state(&env), json!({"a": 1}));
    let job = run(
        &env,
        &[
            ("out/state.json", r#"{"a": 3}"#),
            ("out/tables/x.csv.manifest", "{}"),
        ],
        0,
    );
    job.assert_error("user");
    assert_eq!(component_state(&env), json!({"a": 1}));
}

#[test]
fn no_state_is_stored_without_a_stored_configuration() {
    let env = env();
    let job = env.run_data(
        "acme.writer",
        writes(&[("out/state.json", r#"{"a": 1}"#)], 0, json!({})),
    );
    job.assert_success();
    assert_eq!(job.record().state, Some(StateChange::Untouched));
}

#[test]
fn other_state_keys_are_preserved() {
    let env = env();
    env.config(
        "acme.writer",
        "cfg",
        writes(&[("out/state.json", r#"{"b": 2}"#)], 0, json!({})),
    );
    let state = State {
        data_app: Some(json!({"keep": true})),
        component: json!({"b": 1}),
        ..State::default()
    };
    env.storage()
        .set_state("acme.writer", "cfg", None, &state)
        .unwrap();
    env.run_stored("acme.writer", "cfg").assert_success();
    let stored = env.state("acme.writer", "cfg");
    assert_eq!(stored["data_app"], json!({"keep": true}));
    assert_eq!(stored["component"], json!({"b": 2}));
}

#[test]
fn usage_is_recorded_with_the_job_even_when_the_component_fails() {
    let env = env();
    let usage = r#"[{"metric": "API calls", "value": 150}, {"metric": "rows", "value": 0}]"#;
    let job = env.run_data(
        "acme.writer",
        writes(&[("out/usage.json", usage)], 0, json!({})),
    );
    job.assert_success();
    assert_eq!(job.record().usage.len(), 2);
    assert_eq!(job.record().usage[0].metric, "API calls");
    assert_eq!(job.record().usage[0].value, json!(150));
    let job = env.run_data(
        "acme.writer",
        writes(&[("out/usage.json", usage)], 1, json!({})),
    );
    job.assert_error("user");
    assert_eq!(job.record().usage.len(), 2);
    let job = env.run_data(
        "acme.writer",
        writes(&[("out/usage.json", "[]")], 0, json!({})),
    );
    job.assert_success();
    assert!(job.record().usage.is_empty());
}

#[test]
fn a_malformed_usage_file_fails_the_job_but_write_always_tables_still_load() {
    let env = env();
    let job = env.run_data(
        "acme.writer",
        writes(
            &[("out/usage.json", r#"[{"random": "API calls", "value": 150}]"#), ("out/tables/a.csv", "x\n1\n")],
            0,
            json!({"output": {"tables": [{"source": "a.csv", "destination": "out.c-main.always", "write_always": true}]}}),
        ),
    );
    let message = job.assert_error("application");
    assert!(
        message.contains(r#"Failed to store Job usage: "#),
        "{message}"
    );
    assert!(
        message.contains(r#"Unrecognized option "random" under "usage.0""#),
        "{message}"
    );
    assert_eq!(job.record().result.error_stage, Some(Stage::Usage));
    assert_eq!(job.record().result.exit_code, Some(2));
    assert!(env.table("out.c-main.always").is_some());
}

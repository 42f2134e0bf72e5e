//! What a component definition's fields do to a whole job: `configurationSchema` checked when the
//! job starts (stored configuration or `configData`, as `berth run` and `berth serve` submit
//! them), `dataTypesConfiguration.dataTypesSupport` as `KBC_DATA_TYPE_SUPPORT`, and the stored
//! configuration's version as `KBC_CONFIGVERSION`.

use berth_storage::ConfigUpdate;
use components_artifacts as guests;
use serde_json::json;

use berth_job::testing::Env;

fn schema() -> serde_json::Value {
    json!({"type": "object", "required": ["level"], "properties": {
        "level": {"type": "integer", "minimum": 1},
        "dump_env": {"type": "boolean"}}})
}

#[test]
fn a_configuration_breaking_the_schema_fails_at_job_start_naming_the_path() {
    let env = Env::new();
    env.component(
        "acme.writer",
        guests::WRITE_OUTPUTS,
        json!({"configuration_schema": schema()}),
    )
    // Stored without the check (as `--no-validate` or an older schema would leave it).
    .config("acme.writer", "bad", json!({"parameters": {"level": 0}}))
    .config("acme.writer", "good", json!({"parameters": {"level": 1}}));
    let job = env.run_stored("acme.writer", "bad");
    assert_eq!(
        job.assert_error("user"),
        "The configuration does not match the component's configurationSchema: parameters.level: 0 is less than the minimum of 1"
    );
    assert!(
        !job.data().join("config.json").exists(),
        "nothing was staged or run"
    );
    env.run_stored("acme.writer", "good").assert_success();
    // configData (berth run --config-data, POST /jobs configData) is checked the same way.
    let job = env.run_data("acme.writer", json!({"parameters": {"dump_env": "yes"}}));
    let message = job.assert_error("user");
    assert!(
        message.contains(r#"parameters: "level" is a required property"#)
            && message.contains(r#"parameters.dump_env: "yes" is not of type "boolean""#),
        "{message}"
    );
}

#[test]
fn a_row_job_checks_the_merged_parameters_and_the_row_schema() {
    let env = Env::new();
    env.component(
        "acme.writer",
        guests::WRITE_OUTPUTS,
        json!({"configuration_schema": schema(),
               "configuration_row_schema": {"type": "object", "required": ["table"]}}),
    )
    .config_with_rows(
        "acme.writer",
        "cfg",
        json!({"parameters": {"level": 1}}),
        vec![
            ("ok", json!({"parameters": {"table": "t"}})),
            ("bad", json!({"parameters": {"level": "high"}})),
        ],
    );
    let mut request =
        berth_job::JobRequest::new("acme.writer", berth_job::ConfigSource::Stored("cfg".into()));
    request.row_ids = vec!["bad".into()];
    let message = env.run(request).assert_error("user");
    assert!(
        message.contains(r#"parameters.level: "high" is not of type "integer""#)
            && message.contains(r#"parameters: "table" is a required property"#),
        "{message}"
    );
    let mut request =
        berth_job::JobRequest::new("acme.writer", berth_job::ConfigSource::Stored("cfg".into()));
    request.row_ids = vec!["ok".into()];
    env.run(request).assert_success();
}

#[test]
fn data_types_support_and_config_version_reach_the_environment() {
    let env = Env::new();
    env.component(
        "acme.typed",
        guests::WRITE_OUTPUTS,
        json!({"data_types_support": "authoritative"}),
    )
    .component("acme.plain", guests::WRITE_OUTPUTS, json!({}))
    .config(
        "acme.typed",
        "cfg",
        json!({"parameters": {"dump_env": true}}),
    );
    let version = || {
        env.storage()
            .config("acme.typed", "cfg")
            .unwrap()
            .version
            .to_string()
    };
    assert_eq!(version(), "1");
    let job = env.run_stored("acme.typed", "cfg");
    job.assert_success();
    let vars = job.json("out/env.json");
    assert_eq!(vars["KBC_DATA_TYPE_SUPPORT"], "authoritative");
    assert_eq!(vars["KBC_CONFIGVERSION"], "1");
    env.storage()
        .update_config(
            "acme.typed",
            "cfg",
            &ConfigUpdate {
                name: Some("renamed".into()),
                ..ConfigUpdate::default()
            },
        )
        .unwrap();
    // (Storing the state after a run is a new version too.)
    let before = version();
    assert_ne!(before, "1");
    let job = env.run_stored("acme.typed", "cfg");
    assert_eq!(
        job.json("out/env.json")["KBC_CONFIGVERSION"],
        before.as_str()
    );
    // Without native types (the default) the variable is unset; configData has no version.
    let job = env.run_data("acme.plain", json!({"parameters": {"dump_env": true}}));
    let vars = job.json("out/env.json");
    assert!(vars.get("KBC_DATA_TYPE_SUPPORT").is_none(), "{vars}");
    assert_eq!(vars["KBC_CONFIGVERSION"], "");
}

#[test]
fn network_bridge_is_refused_for_a_wasi_component() {
    let env = Env::new();
    env.component(
        "acme.net",
        guests::WRITE_OUTPUTS,
        json!({"network": "bridge"}),
    )
    .component(
        "acme.offline",
        guests::WRITE_OUTPUTS,
        json!({"network": "no-internet"}),
    );
    let message = env.run_data("acme.net", json!({})).assert_error("user");
    assert!(
        message.contains(r#"network "bridge" is not available to WASI components"#),
        "{message}"
    );
    // no-internet on WASI is the same as none: no sockets, and the job runs.
    env.run_data("acme.offline", json!({})).assert_success();
}

#[test]
fn network_no_internet_is_refused_for_a_container_and_nothing_runs() {
    use berth_exec::docker::fixture::{docker_available, scratch_image};
    if !docker_available("network_no_internet_is_refused_for_a_container_and_nothing_runs") {
        return;
    }
    let image = scratch_image("test-programs", "write_outputs")
        .unwrap_or_else(|e| panic!("write_outputs image: {e:#}"));
    let env = Env::new();
    env.component(
        "acme.offline",
        &format!("docker://{image}"),
        json!({"network": "no-internet"}),
    );
    let job = env.run_data(
        "acme.offline",
        json!({"parameters": {"write": [{"path": "out/tables/t.csv", "text": "a\n1\n"}]},
               "storage": {"output": {"tables": [{"source": "t.csv", "destination": "out.c-main.t"}]}}}),
    );
    let message = job.assert_error("user");
    assert!(
        message.contains(r#"network "no-internet" is not available to containers yet"#),
        "{message}"
    );
    assert!(
        env.table("out.c-main.t").is_none(),
        "the component never ran"
    );
}

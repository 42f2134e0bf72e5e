//! Variables and shared code (reference §10) through `run_job`: values from each source in the
//! reference's priority order, the reference's error texts, JSON-safe rendering, the values used
//! in the job record, and shared code rows spliced into lists of scalars.

use berth_job::variables::VariableValue;
use berth_job::{ConfigSource, JobRequest};
use components_artifacts as guests;
use serde_json::{Value, json};

use berth_job::testing::Env;

/// A home with `keboola.variables` (`vars`: `city`, `n`; value rows `v1` Prague/1 and `v2`
/// Brno/2), `keboola.shared-code` (`sc`, row `q`) and `acme.main` with configuration `cfg`
/// (`configuration` over the variables reference).
fn env_with(configuration: Value) -> Env {
    let env = Env::new();
    env.component("keboola.variables", guests::WRITE_OUTPUTS, json!({}))
        .component("keboola.shared-code", guests::WRITE_OUTPUTS, json!({}))
        .component("acme.main", guests::WRITE_OUTPUTS, json!({}));
    env.config_with_rows(
        "keboola.variables",
        "vars",
        json!({"variables": [{"name": "city", "type": "string"}, {"name": "n", "type": "string"}]}),
        vec![
            ("v1", json!({"values": [{"name": "city", "value": "Prague"}, {"name": "n", "value": "1"}]})),
            ("v2", json!({"values": [{"name": "city", "value": "Brno"}, {"name": "n", "value": "2"}]})),
        ],
    );
    env.config_with_rows(
        "keboola.shared-code",
        "sc",
        json!({}),
        vec![(
            "q",
            json!({"code_content": ["SELECT '{{city}}';", "SELECT 2;"]}),
        )],
    );
    env.config("acme.main", "cfg", configuration);
    env
}

fn templated() -> Value {
    json!({
        "variables_id": "vars",
        "variables_values_id": "v1",
        "parameters": {"copy_config": true, "greeting": "Hello {{ city }}", "n": "{{n}}"}
    })
}

fn request() -> JobRequest {
    JobRequest::new("acme.main", ConfigSource::Stored("cfg".into()))
}

fn values(pairs: &[(&str, &str)]) -> Vec<VariableValue> {
    pairs
        .iter()
        .map(|(n, v)| VariableValue {
            name: n.to_string(),
            value: v.to_string(),
        })
        .collect()
}

#[test]
fn the_configurations_own_values_row_is_the_last_source() {
    let env = env_with(templated());
    let job = env.run(request());
    job.assert_success();
    let seen = job.json("out/seen/config.json");
    assert_eq!(seen["parameters"]["greeting"], "Hello Prague");
    assert_eq!(seen["parameters"]["n"], "1");
    assert_eq!(seen["variables_id"], "vars");
    assert_eq!(
        job.record().variables,
        values(&[("city", "Prague"), ("n", "1")])
    );
}

#[test]
fn the_jobs_values_id_beats_the_configuration_and_values_data_beats_both() {
    let env = env_with(templated());
    let mut by_id = request();
    by_id.variable_values_id = Some("v2".into());
    let job = env.run(by_id);
    job.assert_success();
    assert_eq!(
        job.json("out/seen/config.json")["parameters"]["greeting"],
        "Hello Brno"
    );

    let mut by_data = request();
    by_data.variable_values_data = Some(json!({"values": [
        {"name": "city", "value": "Ostrava \"east\""}, {"name": "n", "value": 3}]}));
    let job = env.run(by_data);
    job.assert_success();
    let seen = job.json("out/seen/config.json");
    assert_eq!(
        seen["parameters"]["greeting"], "Hello Ostrava \"east\"",
        "a value is escaped inside its JSON string"
    );
    assert_eq!(seen["parameters"]["n"], "3");
    assert_eq!(
        job.record().variables,
        values(&[("city", "Ostrava \"east\""), ("n", "3")])
    );
}

#[test]
fn the_reference_error_texts() {
    let env = env_with(templated());
    let mut both = request();
    both.variable_values_id = Some("v2".into());
    both.variable_values_data = Some(json!({"values": []}));
    assert_eq!(
        env.run(both).assert_error("user"),
        "Only one of variableValuesId and variableValuesData can be entered."
    );

    let mut missing = request();
    missing.variable_values_data = Some(json!({"values": [{"name": "city", "value": "x"}]}));
    assert_eq!(
        env.run(missing).assert_error("user"),
        "No value provided for variable \"n\"."
    );

    let mut empty = request();
    empty.variable_values_data = Some(json!({"values": [
        {"name": "", "value": "x"}, {"name": "city", "value": "x"}, {"name": "n", "value": "x"}]}));
    assert_eq!(
        env.run(empty).assert_error("user"),
        "Variable name cannot be empty."
    );

    let env = env_with(json!({"variables_id": "vars", "variables_values_id": "v1",
                              "parameters": {"token": "{{ vault.api_token }}"}}));
    assert_eq!(
        env.run(request()).assert_error("user"),
        "Missing values for placeholders: vault.api_token"
    );

    let env = env_with(json!({"variables_id": "nope", "parameters": {}}));
    let message = env.run(request()).assert_error("user");
    assert!(message.contains("\"nope\""), "{message}");
}

#[test]
fn without_variables_id_nothing_is_rendered() {
    let env = env_with(json!({"parameters": {"copy_config": true, "greeting": "Hello {{city}}"}}));
    let mut with_values = request();
    with_values.variable_values_data = Some(json!({"values": [{"name": "city", "value": "x"}]}));
    let job = env.run(with_values);
    job.assert_success();
    assert_eq!(
        job.json("out/seen/config.json")["parameters"]["greeting"],
        "Hello {{city}}"
    );
    assert!(job.record().variables.is_empty());
}

#[test]
fn shared_code_rows_are_spliced_into_lists_of_scalars_then_rendered() {
    let env = env_with(json!({
        "variables_id": "vars",
        "variables_values_id": "v2",
        "shared_code_id": "sc",
        "shared_code_row_ids": ["q"],
        "parameters": {"copy_config": true, "queries": ["BEGIN;", "{{ q }}", "COMMIT;"], "single": "{{q}}"}
    }));
    let job = env.run(request());
    job.assert_success();
    let seen = job.json("out/seen/config.json");
    assert_eq!(
        seen["parameters"]["queries"],
        json!(["BEGIN;", "SELECT 'Brno';", "SELECT 2;", "COMMIT;"])
    );
    assert_eq!(
        seen["parameters"]["single"], "",
        "not a list: rendered as an unknown variable"
    );
    assert_eq!(seen["shared_code_row_ids"], json!(["q"]));
}

#[test]
fn a_missing_shared_code_row_is_a_user_error() {
    let env = env_with(
        json!({"shared_code_id": "sc", "shared_code_row_ids": ["zz"],
                              "parameters": {"q": ["{{zz}}"]}}),
    );
    let message = env.run(request()).assert_error("user");
    assert!(message.contains("Shared code row \"zz\""), "{message}");
}

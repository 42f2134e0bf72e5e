//! Issue 14's configuration features through the real `berth run`: variable values from
//! `--variable NAME=VALUE` and `--variable-values-id`, the reference's text for both, and a
//! processor logged as `Running processor <id>`.

use std::process::Output;
use std::time::Duration;

use components_artifacts as guests;
use serde_json::{Value, json};

use crate::support::{berth, output_within};
use berth_job::testing::Env;

fn berth_in(env: &Env, args: &[&str]) -> Output {
    let mut command = berth();
    command.arg("--home").arg(env.root()).args(args);
    output_within(&mut command, Duration::from_secs(120))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn last_record(env: &Env) -> Value {
    let ls = berth_in(env, &["job", "ls", "--json"]);
    let records: Vec<Value> = serde_json::from_slice(&ls.stdout).unwrap();
    records[0].clone()
}

fn env() -> Env {
    let env = Env::new();
    env.component("keboola.variables", guests::WRITE_OUTPUTS, json!({}))
        .component("acme.main", guests::WRITE_OUTPUTS, json!({}))
        .component("acme.proc", guests::PASS_THROUGH, json!({}));
    env.config_with_rows(
        "keboola.variables",
        "vars",
        json!({"variables": [{"name": "city", "type": "string"}]}),
        vec![(
            "v1",
            json!({"values": [{"name": "city", "value": "Prague"}]}),
        )],
    );
    env.config(
        "acme.main",
        "cfg",
        json!({"variables_id": "vars",
               "parameters": {"write": [{"path": "out/tables/t.csv", "text": "city\n{{city}}\n"}]},
               "processors": {"after": [{"definition": {"component": "acme.proc"}}]},
               "storage": {"output": {"tables": [{"source": "t.csv", "destination": "out.c-main.t"}]}}}),
    );
    env
}

#[test]
fn berth_run_takes_variable_values_from_flags() {
    let env = env();
    let out = berth_in(
        &env,
        &[
            "run",
            "acme.main",
            "--config",
            "cfg",
            "--variable",
            "city=Brno",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Running processor acme.proc"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(env.table("out.c-main.t").unwrap(), "\"city\"\n\"Brno\"\n");
    assert_eq!(
        last_record(&env)["variables"],
        json!([{"name": "city", "value": "Brno"}])
    );

    let out = berth_in(
        &env,
        &[
            "run",
            "acme.main",
            "--config",
            "cfg",
            "--variable-values-id",
            "v1",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(env.table("out.c-main.t").unwrap(), "\"city\"\n\"Prague\"\n");

    let out = berth_in(&env, &["run", "acme.main", "--config", "cfg"]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        all.contains("No value provided for variable \"city\"."),
        "{all}"
    );

    let out = berth_in(
        &env,
        &["run", "acme.main", "--config", "cfg", "--variable", "city"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("expected NAME=VALUE"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn berth_run_with_config_and_config_data_runs_the_data_under_the_configurations_state() {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}));
    env.config("acme.main", "cfg", json!({}));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("config.json");
    std::fs::write(
        &data,
        json!({"parameters": {"write": [{"path": "out/state.json", "text": "{\"ran\": \"data\"}"}]}})
            .to_string(),
    )
    .unwrap();
    let out = berth_in(
        &env,
        &[
            "run",
            "acme.main",
            "--config",
            "cfg",
            "--config-data",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        env.state("acme.main", "cfg")["component"],
        json!({"ran": "data"})
    );
    assert_eq!(last_record(&env)["config_id"], "cfg");
}

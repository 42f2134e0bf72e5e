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

#[test]
fn berth_oauth_add_ls_rm_and_a_run_that_uses_the_credentials() {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds.json");
    std::fs::write(&creds, json!({"#token": "oauth-secret-42"}).to_string()).unwrap();
    let out = berth_in(
        &env,
        &[
            "oauth",
            "add",
            "acme.main",
            "--file",
            creds.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();
    let ls = berth_in(&env, &["oauth", "ls", "--json"]);
    let listed: Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(listed, json!([{"component": "acme.main", "id": id}]));

    env.config(
        "acme.main",
        "cfg",
        json!({"parameters": {"copy_config": true}, "authorization": {"oauth_api": {"id": id}}}),
    );
    let out = berth_in(
        &env,
        &["run", "acme.main", "--config", "cfg", "--keep-data"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let kept = text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("data folder kept: ").map(str::to_owned))
        .unwrap();
    let seen =
        std::fs::read_to_string(std::path::Path::new(&kept).join("out/seen/config.json")).unwrap();
    // The kept data folder is redacted; the component got the credentials (not the id).
    assert!(seen.contains("\"credentials\""), "{seen}");
    assert!(!seen.contains(&id), "{seen}");
    let _ = std::fs::remove_dir_all(std::path::Path::new(&kept).parent().unwrap());

    let out = berth_in(&env, &["oauth", "rm", "acme.main", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = berth_in(&env, &["oauth", "rm", "acme.main", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("were not found"),
        "{}",
        text(&out.stderr)
    );
    let out = berth_in(
        &env,
        &[
            "oauth",
            "add",
            "acme.nope",
            "--file",
            creds.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
}

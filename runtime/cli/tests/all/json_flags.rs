//! `--json` is accepted by every command that prints data, and what it prints is one JSON
//! document (a line per event for `job logs`).

use std::process::Output;

use berth_job::testing::Env;
use components_artifacts as guests;
use serde_json::{Value, json};

use crate::support::berth;

fn run(env: &Env, args: &[&str]) -> Output {
    berth()
        .env("BERTH_HOME", env.root())
        .env_remove("BERTH_URL")
        .args(args)
        .output()
        .unwrap()
}

/// Runs `berth ARGS` and parses its stdout as one JSON document.
#[track_caller]
fn json_of(env: &Env, args: &[&str]) -> Value {
    let output = run(env, args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "berth {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn every_command_that_prints_data_takes_json() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    env.component(
        "acme.answer",
        guests::ACTION_ANSWER,
        json!({"synchronous_actions": ["hello"]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let csv = path("t.csv", "id\n1\n");
    let config = path(
        "config.json",
        &json!({"parameters": {"print": ["hi"]}}).to_string(),
    );
    let empty = path("empty.json", "{}");

    assert_eq!(
        json_of(&env, &["table", "import", "in.c-a.t", &csv, "--json"])["rows"],
        1
    );
    assert_eq!(
        json_of(&env, &["table", "ls", "--json"])[0]["id"],
        "in.c-a.t"
    );
    assert_eq!(
        json_of(&env, &["table", "show", "in.c-a.t", "--json"])["rows"],
        1
    );
    let file = json_of(&env, &["file", "upload", &csv, "--tag", "a", "--json"]);
    assert_eq!(file["name"], "t.csv");
    let id = file["id"].to_string();
    assert_eq!(
        json_of(&env, &["file", "tag", &id, "b", "--json"])["tags"],
        json!(["a", "b"])
    );
    assert_eq!(
        json_of(&env, &["file", "ls", "--json"])[0]["id"],
        file["id"]
    );
    assert_eq!(
        json_of(&env, &["component", "show", "acme.writer", "--json"])["id"],
        "acme.writer"
    );
    assert_eq!(
        json_of(&env, &["component", "ls", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let created = json_of(
        &env,
        &[
            "config",
            "create",
            "acme.writer",
            "--file",
            &config,
            "--id",
            "c1",
            "--json",
        ],
    );
    assert_eq!(created, json!({"id": "c1"}));
    let updated = json_of(
        &env,
        &[
            "config",
            "update",
            "acme.writer",
            "c1",
            "--name",
            "renamed",
            "--json",
        ],
    );
    assert_eq!(updated["id"], "c1");
    assert!(updated["version"].as_u64().unwrap() >= 2, "{updated}");
    assert_eq!(
        json_of(&env, &["config", "ls", "acme.writer", "--json"])[0]["id"],
        "c1"
    );
    assert_eq!(
        json_of(&env, &["config", "show", "acme.writer", "c1", "--json"])["name"],
        "renamed"
    );
    assert!(json_of(&env, &["config", "state", "acme.writer", "c1", "--json"]).is_object());
    let record = json_of(&env, &["run", "acme.writer", "--config", "c1", "--json"]);
    assert_eq!(record["status"], "success", "{record}");
    let job_id = record["id"].as_str().unwrap().to_owned();
    assert_eq!(json_of(&env, &["job", "ls", "--json"])[0]["id"], job_id);
    assert_eq!(
        json_of(&env, &["job", "show", &job_id, "--json"])["id"],
        job_id
    );
    let logs = run(&env, &["job", "logs", &job_id, "--json"]);
    for line in String::from_utf8_lossy(&logs.stdout).lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
    assert_eq!(
        json_of(
            &env,
            &[
                "action",
                "acme.answer",
                "hello",
                "--config-data",
                &empty,
                "--json"
            ]
        ),
        json!({"hello": "world"})
    );
    let token = json_of(&env, &["token", "create", "--description", "d", "--json"]);
    assert!(token["secret"].is_string());
    assert_eq!(
        json_of(&env, &["token", "ls", "--json"])[0]["id"],
        token["id"]
    );
    let info = json_of(&env, &["info", "--json"]);
    assert_eq!(info["projectId"], "1");
    assert!(info["server"].is_null());
    assert!(json_of(&env, &["image", "ls", "--json"]).is_array());
}

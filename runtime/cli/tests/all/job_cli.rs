//! `berth run`, `berth action` and `berth job` as the outside world uses them: the real binary,
//! its summary, `--json` records and exit codes 0, 1 and 2.

use std::process::Output;
use std::time::Duration;

use components_artifacts as guests;
use serde_json::{Value, json};

use crate::support::{berth, output_within};
use berth_job::testing::{Env, writes};

/// Runs `berth` on `env`'s home; a run that has not ended after two minutes fails the test.
fn berth_in(env: &Env, args: &[&str]) -> Output {
    let mut command = berth();
    command.arg("--home").arg(env.root()).args(args);
    output_within(&mut command, Duration::from_secs(120))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn berth_run_prints_a_summary_and_exits_by_outcome() {
    let env = Env::new();
    env.import("in.c-main.source", "id,name\n1,a\n2,b\n")
        .component("acme.pass", guests::PASS_THROUGH, json!({}))
        .config(
            "acme.pass",
            "cfg",
            json!({"storage": {
                "input": {"tables": [{"source": "in.c-main.source", "destination": "data.csv"}]},
                "output": {"tables": [{"source": "data.csv", "destination": "out.c-main.copy"}]}}}),
        );
    let out = berth_in(&env, &["run", "acme.pass", "--config", "cfg"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("pass_through: copied data.csv"),
        "the component's output streams: {stdout}"
    );
    assert!(
        stdout.contains("in.c-main.source -> in/tables/data.csv: 2 rows"),
        "{stdout}"
    );
    assert!(
        stdout.contains("out/tables/data.csv -> out.c-main.copy: 2 rows"),
        "{stdout}"
    );
    assert!(stdout.contains("state: cleared"), "{stdout}");
    assert!(stdout.contains(": success in "), "{stdout}");

    let ls = berth_in(&env, &["job", "ls", "--json"]);
    assert_eq!(ls.status.code(), Some(0));
    let records: Vec<Value> = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(records.len(), 1);
    let id = records[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(records[0]["status"], "success");
    assert_eq!(records[0]["component_id"], "acme.pass");
    assert_eq!(records[0]["config_id"], "cfg");
    let show = berth_in(&env, &["job", "show", &id]);
    let shown = text(&show.stdout);
    assert!(
        shown.contains("status:        success")
            && shown.contains("Component processing finished."),
        "{shown}"
    );
    let table = berth_in(&env, &["job", "ls"]);
    assert!(text(&table.stdout).contains(&id));
    assert_eq!(
        berth_in(&env, &["job", "show", "nope"]).status.code(),
        Some(1)
    );
}

#[test]
fn berth_run_with_config_data_and_failures() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    let run = |config: Value| {
        std::fs::write(&file, config.to_string()).unwrap();
        berth_in(
            &env,
            &[
                "run",
                "acme.writer",
                "--config-data",
                file.to_str().unwrap(),
            ],
        )
    };
    assert_eq!(run(json!({})).status.code(), Some(0));
    let user = run(writes(&[], 1, json!({})));
    assert_eq!(user.status.code(), Some(1));
    assert!(text(&user.stdout).contains("component failed on purpose"));
    assert_eq!(run(writes(&[], 2, json!({}))).status.code(), Some(2));
    let unknown = run(json!({"unknown": 1}));
    assert_eq!(unknown.status.code(), Some(1));
    let said = format!("{}{}", text(&unknown.stdout), text(&unknown.stderr));
    assert!(
        said.contains(r#"Unrecognized option "unknown" under "root""#),
        "{said}"
    );
    let bad = berth_in(
        &env,
        &[
            "run",
            "acme.writer",
            "--config-data",
            "/nonexistent/berth.json",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("/nonexistent/berth.json"),
        "{}",
        text(&bad.stderr)
    );
    let neither = berth_in(&env, &["run", "acme.writer"]);
    assert_eq!(
        neither.status.code(),
        Some(1),
        "a bad invocation is the user's error"
    );
    assert!(
        text(&neither.stderr).contains("--config"),
        "{}",
        text(&neither.stderr)
    );
}

#[test]
fn berth_run_keep_data_prints_the_kept_folder() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}))
        .config("acme.writer", "c", json!({}));
    let out = berth_in(
        &env,
        &["run", "acme.writer", "--config", "c", "--keep-data"],
    );
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("data folder kept: "))
        .expect(&stdout);
    let dir = std::path::PathBuf::from(line.trim_start_matches("data folder kept: "));
    assert!(dir.join("config.json").is_file());
}

#[test]
fn berth_action_runs_listed_actions_only() {
    let env = Env::new();
    env.component(
        "acme.actions",
        guests::ACTION_ANSWER,
        json!({"synchronous_actions": ["hello", "garbage", "fail"]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(
        &file,
        r#"{"storage": {"input": {"tables": [{"source": "in.c-a.missing"}]}}}"#,
    )
    .unwrap();
    let action = |name: &str| {
        berth_in(
            &env,
            &[
                "action",
                "acme.actions",
                name,
                "--config-data",
                file.to_str().unwrap(),
            ],
        )
    };
    let out = action("hello");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!({"hello": "world"})
    );
    let garbage = action("garbage");
    assert_eq!(garbage.status.code(), Some(1));
    assert!(text(&garbage.stderr).contains("Decoding JSON response from component failed"));
    let fail = action("fail");
    assert_eq!(fail.status.code(), Some(1));
    assert!(
        text(&fail.stderr).contains("the fail action always fails"),
        "{}",
        text(&fail.stderr)
    );
    let unlisted = action("silent");
    assert_eq!(unlisted.status.code(), Some(1));
    assert!(text(&unlisted.stderr).contains(r#"Action "silent" is not allowed"#));
    let run = action("run");
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).contains(r#"The "run" action cannot be run as a synchronous action"#),
        "{}",
        text(&run.stderr)
    );
    assert!(
        berth_in(&env, &["job", "ls", "--json"])
            .stdout
            .starts_with(b"[]"),
        "actions are not jobs"
    );
}

/// `berth action` gives a synchronous action the default 30 seconds (reference §1.4): a guest that
/// sleeps for an hour is stopped then, and the message says so.
#[test]
fn berth_action_has_thirty_seconds() {
    let env = Env::new();
    env.component(
        "acme.sleeper",
        guests::SLEEP_FOREVER,
        json!({"synchronous_actions": ["hello"]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, "{}").unwrap();
    let out = berth_in(
        &env,
        &[
            "action",
            "acme.sleeper",
            "hello",
            "--config-data",
            file.to_str().unwrap(),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("exceeded the timeout of 30 seconds."),
        "{stderr}"
    );
}

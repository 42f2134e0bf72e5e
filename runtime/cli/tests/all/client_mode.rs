//! Client mode through the real binary against a real `berth serve`: with `--url` (or
//! `BERTH_URL`) and a token, the Storage commands, jobs and actions go through the server and
//! print what the local commands print (checked by running the local command on the same home
//! once the server is stopped); a read-only token is refused with exit 1 and the server's text;
//! an unreachable server exits 2 saying so; commands without a route refuse `--url`.

use std::path::Path;
use std::process::Output;

use berth_job::testing::Env;
use components_artifacts as guests;
use serde_json::{Value, json};

use crate::serve_cli::{Served, curl};
use crate::support::berth;

/// Runs `berth ARGS` through the server.
fn remote(served: &Served, token: &str, args: &[&str]) -> Output {
    berth()
        .env("BERTH_URL", &served.url)
        .env("BERTH_TOKEN", token)
        .env_remove("BERTH_HOME")
        .args(args)
        .output()
        .unwrap()
}

/// Runs `berth ARGS` on the home itself.
fn local(env: &Env, args: &[&str]) -> Output {
    berth()
        .env("BERTH_HOME", env.root())
        .env_remove("BERTH_URL")
        .args(args)
        .output()
        .unwrap()
}

#[track_caller]
fn ok(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stop(served: Served) {
    served.signal("TERM");
    assert!(served.wait().success());
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn tables_and_files_round_trip_through_the_server() {
    let env = Env::new();
    let served = Served::start(&env, 1, true);
    let token = served.token.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // More than the server's JSON body limit, streamed both ways.
    let mut csv = String::from("id,name\n");
    let mut n = 0;
    while csv.len() < 17 << 20 {
        csv.push_str(&format!("{n},row number {n} of the big table\n"));
        n += 1;
    }
    let csv_path = write(dir.path(), "big.csv", &csv);
    let imported = ok(&remote(
        &served,
        &token,
        &[
            "table",
            "import",
            "in.c-a.big",
            &csv_path,
            "--primary-key",
            "id",
        ],
    ));
    assert_eq!(
        imported,
        format!("Imported {n} rows into in.c-a.big ({n} rows in the table)\n")
    );
    let small = write(dir.path(), "small.csv", "id;v\n1;x\n");
    let report = ok(&remote(
        &served,
        &token,
        &[
            "table",
            "import",
            "in.c-a.small",
            &small,
            "--delimiter",
            ";",
            "--json",
        ],
    ));
    assert_eq!(serde_json::from_str::<Value>(&report).unwrap()["rows"], 1);
    let exported = dir.path().join("export.csv");
    ok(&remote(
        &served,
        &token,
        &[
            "table",
            "export",
            "in.c-a.big",
            "-o",
            exported.to_str().unwrap(),
        ],
    ));
    let exported = std::fs::read_to_string(&exported).unwrap();
    assert_eq!(exported.lines().count(), n + 1);
    let to_stdout = ok(&remote(
        &served,
        &token,
        &[
            "table",
            "export",
            "in.c-a.big",
            "--where-column",
            "id",
            "--where-values",
            "7",
        ],
    ));
    assert_eq!(
        to_stdout,
        "\"id\",\"name\"\n\"7\",\"row number 7 of the big table\"\n"
    );

    let content: Vec<u8> = (0..(17usize << 20)).map(|i| (i % 253) as u8).collect();
    let file_path = dir.path().join("blob.bin");
    std::fs::write(&file_path, &content).unwrap();
    let id = ok(&remote(
        &served,
        &token,
        &[
            "file",
            "upload",
            file_path.to_str().unwrap(),
            "--tag",
            "raw",
        ],
    ));
    let id = id.trim().to_owned();
    assert_eq!(
        ok(&remote(&served, &token, &["file", "tag", &id, "done"])),
        "raw,done\n"
    );
    let downloaded = dir.path().join("down.bin");
    ok(&remote(
        &served,
        &token,
        &["file", "download", &id, "-o", downloaded.to_str().unwrap()],
    ));
    assert!(std::fs::read(&downloaded).unwrap() == content);

    ok(&remote(&served, &token, &["table", "rm", "in.c-a.small"]));
    // What the remote commands print is what the local ones print on the same home.
    let reads: [&[&str]; 8] = [
        &["table", "ls"],
        &["table", "ls", "--json"],
        &["table", "show", "in.c-a.big"],
        &["table", "show", "in.c-a.big", "--json"],
        &[
            "table",
            "export",
            "in.c-a.big",
            "--limit",
            "3",
            "--columns",
            "name",
        ],
        &["file", "ls"],
        &["file", "ls", "--tag", "done", "--json"],
        &["file", "download", &id],
    ];
    let remote_out: Vec<String> = reads
        .iter()
        .map(|args| ok(&remote(&served, &token, args)))
        .collect();
    stop(served);
    for (args, remote_out) in reads.iter().zip(&remote_out) {
        assert_eq!(&ok(&local(&env, args)), remote_out, "{args:?}");
    }
    let local_ls = ok(&local(&env, &["table", "ls"]));
    assert!(!local_ls.contains("in.c-a.small"), "{local_ls}");
}

#[test]
fn a_job_runs_through_the_server_with_its_log_and_exit_code() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    env.component(
        "acme.answer",
        guests::ACTION_ANSWER,
        json!({"synchronous_actions": ["hello", "fail"]}),
    );
    let served = Served::start(&env, 2, true);
    let token = served.token.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = |exit_code: i32| {
        json!({"parameters": {
            "print": ["hello from the component"],
            "exit_code": exit_code,
            "message": "failed on purpose"
        }})
        .to_string()
    };
    let good = write(dir.path(), "good.json", &config(0));
    let output = remote(
        &served,
        &token,
        &["run", "acme.writer", "--config-data", &good],
    );
    let stdout = ok(&output);
    assert!(stdout.contains("hello from the component"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("queued on") && stderr.contains("succeeded"),
        "{stderr}"
    );
    for (code, expected) in [(1, 1), (2, 2)] {
        let bad = write(dir.path(), "bad.json", &config(code));
        let output = remote(
            &served,
            &token,
            &["run", "acme.writer", "--config-data", &bad],
        );
        assert_eq!(output.status.code(), Some(expected));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("failed on purpose"), "{stdout}");
    }
    // The jobs it ran, listed and shown through the server.
    let jobs: Vec<Value> =
        serde_json::from_str(&ok(&remote(&served, &token, &["job", "ls", "--json"]))).unwrap();
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[0]["status"], "success");
    let id = jobs[0]["id"].as_str().unwrap();
    let shown = ok(&remote(&served, &token, &["job", "show", id]));
    assert!(shown.contains("status:        success"), "{shown}");
    let logs = ok(&remote(&served, &token, &["job", "logs", id]));
    assert!(logs.contains("hello from the component"), "{logs}");
    // A synchronous action.
    let empty = write(dir.path(), "empty.json", "{}");
    let answer = ok(&remote(
        &served,
        &token,
        &["action", "acme.answer", "hello", "--config-data", &empty],
    ));
    assert_eq!(answer.trim(), r#"{"hello":"world"}"#);
    let failed = remote(
        &served,
        &token,
        &["action", "acme.answer", "fail", "--config-data", &empty],
    );
    assert_eq!(failed.status.code(), Some(1));
    // Encryption through the server.
    let cipher = ok(&remote(
        &served,
        &token,
        &["encrypt", "--component", "acme.writer", "secret"],
    ));
    assert!(cipher.starts_with("KBC::ProjectSecure::"), "{cipher}");
    // Tokens.
    let created = ok(&remote(
        &served,
        &token,
        &[
            "token",
            "create",
            "--description",
            "ci",
            "--read-only",
            "--json",
        ],
    ));
    let created: Value = serde_json::from_str(&created).unwrap();
    let listed = ok(&remote(&served, &token, &["token", "ls"]));
    assert!(
        listed
            .lines()
            .any(|l| l.contains("ci") && l.contains("read") && l.ends_with("valid")),
        "{listed}"
    );
    ok(&remote(
        &served,
        &token,
        &["token", "revoke", created["id"].as_str().unwrap()],
    ));
    stop(served);
}

#[test]
fn refusals_and_failures_are_clear() {
    let env = Env::new();
    env.import("in.c-a.t", "id\n1\n");
    let served = Served::start(&env, 1, true);
    let admin = served.token.clone().unwrap();
    let reader = curl(
        "POST",
        &format!("{}/tokens", served.url),
        &admin,
        Some(json!({"description": "reader", "readOnly": true})),
    )["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "t.csv", "id\n2\n");
    // A read-only token reads, but cannot import: exit 1 with the server's text.
    assert!(ok(&remote(&served, &reader, &["table", "ls"])).contains("in.c-a.t"));
    let refused = remote(&served, &reader, &["table", "import", "in.c-a.t", &csv]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(
            "The token is read-only: it cannot run jobs or actions or change anything. (HTTP 403"
        ),
        "{stderr}"
    );
    // No token, a wrong token.
    let anonymous = berth()
        .env("BERTH_URL", &served.url)
        .args(["table", "ls"])
        .output()
        .unwrap();
    assert_eq!(anonymous.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("Access token must be set"));
    let wrong = remote(&served, "nope", &["table", "ls"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("Invalid access token."));
    // A missing table: the server's 404 text, exit 1.
    let missing = remote(&served, &admin, &["table", "show", "in.c-a.missing"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("in.c-a.missing"));
    // Commands without a route refuse --url.
    for args in [
        &["image", "ls"][..],
        &["info"],
        &["key", "rotate"],
        &["serve"],
    ] {
        let output = remote(&served, &admin, args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("runs locally only"), "{args:?}: {stderr}");
    }
    stop(served);
    // Nothing listens at the URL any more: exit 2, saying so.
    let gone = berth()
        .args(["--url", "http://127.0.0.1:9", "--token", "x", "table", "ls"])
        .output()
        .unwrap();
    assert_eq!(gone.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(
        stderr.contains("cannot reach the berth server at http://127.0.0.1:9"),
        "{stderr}"
    );
    let not_a_url = berth()
        .args(["--url", "localhost:8080", "table", "ls"])
        .output()
        .unwrap();
    assert_eq!(not_a_url.status.code(), Some(1));
}

#[test]
fn configurations_rows_state_components_and_oauth_through_the_server() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let served = Served::start(&env, 1, true);
    let token = served.token.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| ok(&remote(&served, &token, args));

    let doc = write(dir.path(), "config.json", r#"{"parameters": {"a": 1}}"#);
    run(&[
        "config",
        "create",
        "acme.writer",
        "--id",
        "c1",
        "--name",
        "first",
        "--file",
        &doc,
    ]);
    let row_doc = write(dir.path(), "row.json", r#"{"parameters": {"b": 2}}"#);
    let row = run(&[
        "config",
        "row",
        "add",
        "acme.writer",
        "c1",
        "--id",
        "r1",
        "--file",
        &row_doc,
    ]);
    assert_eq!(row.trim(), "r1");
    let updated = run(&[
        "config",
        "row",
        "update",
        "acme.writer",
        "c1",
        "r1",
        "--disabled",
        "true",
    ]);
    assert_eq!(updated.trim(), "Updated row acme.writer/c1/r1 (disabled)");
    run(&[
        "config",
        "row",
        "add",
        "acme.writer",
        "c1",
        "--id",
        "r2",
        "--file",
        &row_doc,
    ]);
    let removed = run(&["config", "row", "rm", "acme.writer", "c1", "r2"]);
    assert_eq!(removed.trim(), "Removed row acme.writer/c1/r2");
    let state = write(dir.path(), "state.json", r#"{"component": {"cursor": 7}}"#);
    let stored = run(&["config", "state", "acme.writer", "c1", "--set", &state]);
    assert_eq!(
        stored.trim(),
        "Stored the state of configuration acme.writer/c1"
    );

    // A definition added again replaces it (the server's POST refuses an existing id; the
    // client falls back to PUT), then it is updated and refused removal while configured.
    let definition = write(
        dir.path(),
        "acme.other.json",
        &json!({"id": "acme.other", "image": guests::WRITE_OUTPUTS}).to_string(),
    );
    assert_eq!(
        run(&["component", "add", "--file", &definition]).trim(),
        "Added component acme.other"
    );
    assert_eq!(
        run(&["component", "add", "--file", &definition]).trim(),
        "Updated component acme.other"
    );
    assert_eq!(
        run(&["component", "update", "--file", &definition]).trim(),
        "Updated component acme.other"
    );
    let refused = remote(&served, &token, &["component", "rm", "acme.writer"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert_eq!(
        run(&["component", "rm", "acme.other"]).trim(),
        "Removed component acme.other"
    );

    let credentials = write(
        dir.path(),
        "oauth.json",
        r##"{"#access_token": "tok-secret-1"}"##,
    );
    let oauth_id = run(&[
        "oauth",
        "add",
        "acme.writer",
        "--file",
        &credentials,
        "--id",
        "o1",
    ]);
    assert_eq!(oauth_id.trim(), "o1");
    let listed = run(&["oauth", "ls", "acme.writer"]);
    assert!(
        listed.contains("acme.writer") && listed.contains("o1"),
        "{listed}"
    );
    assert!(!listed.contains("tok-secret-1"), "{listed}");

    stop(served);
    // What the server stored is what the local commands see.
    let config: Value =
        serde_json::from_str(&ok(&local(&env, &["config", "show", "acme.writer", "c1"]))).unwrap();
    let rows = config["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{config}");
    assert_eq!(rows[0]["id"], "r1");
    assert_eq!(rows[0]["is_disabled"], true, "{config}");
    assert_eq!(config["state"]["component"]["cursor"], 7, "{config}");
    assert!(ok(&local(&env, &["component", "ls"])).contains("acme.writer"));
    assert!(!ok(&local(&env, &["component", "ls"])).contains("acme.other"));
    assert!(ok(&local(&env, &["oauth", "ls"])).contains("o1"));
    let removed = ok(&local(&env, &["oauth", "rm", "acme.writer", "o1"]));
    assert!(
        removed.contains("removed OAuth credentials o1"),
        "{removed}"
    );
}

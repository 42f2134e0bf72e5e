//! `berth exec` as scripts use it: the real binary, its streams and its exit codes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use components_artifacts as guests;

use crate::support::{berth, output_within};
use berth_exec::testing::{data_dir, run_data_dir};

/// Runs `berth exec`; a run that has not ended after two minutes fails the test.
fn exec(module: &str, dir: &Path, home: &Path, extra: &[&str]) -> Output {
    let mut command = berth();
    command
        .arg("--home")
        .arg(home)
        .arg("exec")
        .arg(module)
        .arg("--data-dir")
        .arg(dir)
        .args(extra);
    output_within(&mut command, Duration::from_secs(120))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                into.insert(format!("{name}/"), Vec::new());
                walk(root, &path, into);
            } else {
                into.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

#[test]
fn exit_codes_follow_the_outcome_class() {
    let home = tempfile::TempDir::new().unwrap();
    for (code, expected) in [("0", 0), ("1", 1), ("2", 2), ("42", 2), ("255", 2)] {
        let dir = run_data_dir();
        let out = exec(
            guests::EXIT_WITH,
            dir.path(),
            home.path(),
            &["--env", &format!("CODE={code}"), "--env", "MESSAGE=boom"],
        );
        assert_eq!(out.status.code(), Some(expected), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("exit_with: about to exit"),
            "stdout streams"
        );
    }
}

#[test]
fn the_outcome_is_reported_on_stderr() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = run_data_dir();
    let out = exec(
        guests::EXIT_WITH,
        dir.path(),
        home.path(),
        &["--env", "CODE=1", "--env", "MESSAGE=Bad parameter x."],
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("user error"), "{stderr}");
    assert!(stderr.contains("Bad parameter x."), "{stderr}");
}

#[test]
fn nothing_is_written_into_the_data_folder_but_what_the_component_writes() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = run_data_dir();
    let before = snapshot(dir.path());
    let out = exec(guests::EXIT_WITH, dir.path(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn an_action_prints_its_json_answer() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = data_dir(&serde_json::json!({"action": "hello", "parameters": {}}));
    let out = exec(guests::ACTION_ANSWER, dir.path(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer, serde_json::json!({"hello": "world"}));
}

#[test]
fn the_action_flag_overrides_config_json() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = run_data_dir();
    let out = exec(
        guests::ACTION_ANSWER,
        dir.path(),
        home.path(),
        &["--action", "hello"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer, serde_json::json!({"hello": "world"}));
}

#[test]
fn an_empty_or_non_json_answer_is_a_user_error() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = run_data_dir();
    let out = exec(
        guests::ACTION_ANSWER,
        dir.path(),
        home.path(),
        &["--action", "silent"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("No response from component."));
    let out = exec(
        guests::ACTION_ANSWER,
        dir.path(),
        home.path(),
        &["--action", "garbage"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Decoding JSON response from component failed"));
    assert!(out.stdout.is_empty(), "a rejected answer is not printed");
}

#[test]
fn the_timeout_flag_limits_the_run() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = run_data_dir();
    let out = exec(
        guests::SPIN_FOREVER,
        dir.path(),
        home.path(),
        &["--timeout", "1"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("exceeded the timeout of 1 seconds."));
}

/// Without `--timeout`, a synchronous action has the default 30 seconds (reference §1.4): a guest
/// that sleeps for an hour is stopped then, and the message says so.
#[test]
fn an_action_without_the_timeout_flag_has_thirty_seconds() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = data_dir(&serde_json::json!({"action": "hello", "parameters": {}}));
    let out = exec(guests::SLEEP_FOREVER, dir.path(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Running sleep_forever exceeded the timeout of 30 seconds."),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_memory_flag_limits_the_run() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = run_data_dir();
    let args = ["--memory", "64", "--env", "ALLOC_MB=100"];
    let out = exec(guests::ALLOC_ABORT, dir.path(), home.path(), &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Component out of memory (exceeded 64M)"));
}

#[test]
fn bad_invocations_are_user_errors() {
    let home = tempfile::TempDir::new().unwrap();
    let empty = tempfile::TempDir::new().unwrap();
    let out = exec(guests::EXIT_WITH, empty.path(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("must hold config.json"));

    let dir = run_data_dir();
    let out = exec("/nonexistent/module.wasm", dir.path(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("/nonexistent/module.wasm"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(dir.path().join("config.json"), "{not json").unwrap();
    let out = exec(guests::EXIT_WITH, dir.path(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("config.json"));

    let out = berth().arg("exec").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a usage error is the user's");
}

#[test]
fn a_module_that_is_not_wasm_is_an_application_error() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = run_data_dir();
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, b"not a module").unwrap();
    let out = exec(bogus.to_str().unwrap(), dir.path(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn a_registry_reference_runs_like_a_local_module() {
    let Some(registry) = berth_image::testing::registry("exec_registry_reference") else {
        return;
    };
    let home = tempfile::TempDir::new().unwrap();
    let reference = format!(
        "{registry}/{}:v1",
        berth_image::testing::unique_repo("exec-exit-with")
    );
    let push = berth()
        .arg("--home")
        .arg(home.path())
        .args(["image", "push", guests::EXIT_WITH, &reference])
        .output()
        .unwrap();
    assert_eq!(push.status.code(), Some(0), "{}", text(&push.stderr));

    // A fresh home: the reference is pulled, resolved to a digest and run under WASI.
    let fresh = tempfile::TempDir::new().unwrap();
    for (code, expected) in [("0", 0), ("1", 1), ("3", 2)] {
        let dir = run_data_dir();
        let out = exec(
            &reference,
            dir.path(),
            fresh.path(),
            &["--env", &format!("CODE={code}")],
        );
        assert_eq!(out.status.code(), Some(expected), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("exit_with: about to exit"));
    }

    let missing = format!("{registry}/berth-no-such-repo-{}:v1", std::process::id());
    let dir = run_data_dir();
    let out = exec(&missing, dir.path(), fresh.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a missing repository is the user's error"
    );
}

#[test]
fn a_docker_reference_runs_under_docker_with_the_same_exit_codes() {
    use berth_exec::docker::fixture::{docker_available, scratch_image};
    if !docker_available("exec_docker_reference") {
        return;
    }
    let image = scratch_image("docker-fixtures", "exit_code").expect("fixture image");
    let home = tempfile::TempDir::new().unwrap();
    for (code, expected) in [("0", 0), ("1", 1), ("2", 2)] {
        let dir = run_data_dir();
        let out = exec(
            &format!("docker://{image}"),
            dir.path(),
            home.path(),
            &["--env", &format!("EXIT_CODE={code}")],
        );
        assert_eq!(out.status.code(), Some(expected), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("exit_code: stdout line"));
    }
}

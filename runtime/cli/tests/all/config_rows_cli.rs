//! `berth config row add|update|rm`, `berth config state --set`, `berth component update|rm`:
//! what they print, what they store (`#` values encrypted), and malformed input refused with
//! exit 1 and nothing changed.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use tempfile::TempDir;

fn berth(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("BERTH_HOME")
        .output()
        .unwrap()
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = berth(home, args);
    assert!(
        out.status.success(),
        "berth {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(home: &Path, args: &[&str], needle: &str) {
    let out = berth(home, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "berth {args:?}: {stderr}");
    assert!(stderr.contains(needle), "berth {args:?}: {stderr}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn show(home: &Path) -> Value {
    serde_json::from_str(&ok(home, &["config", "show", "acme.ex", "c1"])).unwrap()
}

/// A home with component `acme.ex` and its configuration `c1` (no rows).
fn home() -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    let def = write(
        dir.path(),
        "def.json",
        &json!({"id": "acme.ex", "image": "ex.wasm"}).to_string(),
    );
    ok(&home, &["component", "add", "--file", &def]);
    let config = write(dir.path(), "config.json", r#"{"parameters": {"x": 1}}"#);
    ok(
        &home,
        &[
            "config", "create", "acme.ex", "--id", "c1", "--file", &config,
        ],
    );
    (dir, home)
}

#[test]
fn config_rows_are_added_updated_and_removed() {
    let (dir, home) = home();
    let row = write(
        dir.path(),
        "row.json",
        r##"{"parameters": {"#token": "row-secret-1"}}"##,
    );
    let generated = ok(
        &home,
        &["config", "row", "add", "acme.ex", "c1", "--file", &row],
    );
    let generated = generated.trim();
    assert!(!generated.is_empty());
    assert_eq!(
        ok(
            &home,
            &[
                "config",
                "row",
                "add",
                "acme.ex",
                "c1",
                "--file",
                &row,
                "--id",
                "r2",
                "--name",
                "Second",
                "--disabled",
            ],
        )
        .trim(),
        "r2"
    );
    let shown = show(&home);
    assert_eq!(shown["rows"][0]["id"], generated);
    assert_eq!(shown["rows"][1]["id"], "r2");
    assert_eq!(shown["rows"][1]["is_disabled"], true);
    assert_eq!(shown["version"], 3);
    let text = shown.to_string();
    assert!(text.contains("KBC::ProjectSecure::"), "{text}");
    assert!(
        !text.contains("row-secret-1"),
        "a row's # value stored in clear: {text}"
    );

    let updated = ok(
        &home,
        &[
            "config",
            "row",
            "update",
            "acme.ex",
            "c1",
            "r2",
            "--disabled",
            "false",
            "--name",
            "Renamed",
        ],
    );
    assert_eq!(updated.trim(), "Updated row acme.ex/c1/r2");
    let shown = show(&home);
    assert_eq!(shown["rows"][1]["is_disabled"], false);
    assert_eq!(shown["rows"][1]["name"], "Renamed");

    // Malformed and unknown input: exit 1, a message naming the problem, nothing changed.
    let before = show(&home);
    let not_json = write(dir.path(), "broken.json", "{\"parameters\": ");
    let not_object = write(dir.path(), "list.json", "[1]");
    fails(
        &home,
        &["config", "row", "add", "acme.ex", "c1", "--file", &not_json],
        "row configuration",
    );
    fails(
        &home,
        &[
            "config",
            "row",
            "add",
            "acme.ex",
            "c1",
            "--file",
            &not_object,
        ],
        "must be a JSON object",
    );
    fails(
        &home,
        &[
            "config", "row", "add", "acme.ex", "c1", "--file", &row, "--id", "r2",
        ],
        "row \"r2\" of configuration \"c1\" of component \"acme.ex\" already exists",
    );
    fails(
        &home,
        &[
            "config", "row", "add", "acme.ex", "c1", "--file", &row, "--id", "a b",
        ],
        "invalid row id",
    );
    fails(
        &home,
        &["config", "row", "update", "acme.ex", "c1", "r2"],
        "nothing to change",
    );
    fails(
        &home,
        &[
            "config",
            "row",
            "update",
            "acme.ex",
            "c1",
            "r2",
            "--disabled",
            "maybe",
        ],
        "maybe",
    );
    fails(
        &home,
        &[
            "config", "row", "update", "acme.ex", "c1", "nope", "--name", "x",
        ],
        "row \"nope\" of configuration \"c1\" of component \"acme.ex\" does not exist",
    );
    fails(
        &home,
        &["config", "row", "rm", "acme.ex", "c9", "r2"],
        "configuration \"c9\" of component \"acme.ex\" does not exist",
    );
    fails(
        &home,
        &["config", "row", "rm", "acme.other", "c1", "r2"],
        "component \"acme.other\" does not exist",
    );
    assert_eq!(
        show(&home),
        before,
        "a refused command changed the configuration"
    );

    assert_eq!(
        ok(&home, &["config", "row", "rm", "acme.ex", "c1", "r2"]).trim(),
        "Removed row acme.ex/c1/r2"
    );
    let shown = show(&home);
    assert_eq!(shown["rows"].as_array().unwrap().len(), 1);
}

#[test]
fn config_state_is_replaced_with_secrets_encrypted() {
    let (dir, home) = home();
    let state = write(
        dir.path(),
        "state.json",
        r##"{"component": {"cursor": 7, "#session": "state-secret-1"}}"##,
    );
    ok(
        &home,
        &["config", "state", "acme.ex", "c1", "--set", &state],
    );
    let stored: Value =
        serde_json::from_str(&ok(&home, &["config", "state", "acme.ex", "c1"])).unwrap();
    assert_eq!(stored["component"]["cursor"], 7);
    let text = stored.to_string();
    assert!(text.contains("KBC::ProjectSecure::"), "{text}");
    assert!(!text.contains("state-secret-1"), "{text}");

    let before = show(&home);
    let unknown = write(
        dir.path(),
        "unknown.json",
        r#"{"component": {}, "colour": 1}"#,
    );
    fails(
        &home,
        &["config", "state", "acme.ex", "c1", "--set", &unknown],
        "Unrecognized option \"colour\"",
    );
    fails(
        &home,
        &[
            "config", "state", "acme.ex", "c1", "--row", "nope", "--set", &state,
        ],
        "row \"nope\"",
    );
    assert_eq!(show(&home), before);
}

#[test]
fn components_are_updated_and_removed() {
    let (dir, home) = home();
    let changed = write(
        dir.path(),
        "changed.json",
        &json!({"id": "acme.ex", "image": "ex.wasm", "name": "Renamed",
                "image_parameters": {"#key": "component-secret-1"}})
        .to_string(),
    );
    assert_eq!(
        ok(&home, &["component", "update", "--file", &changed]).trim(),
        "Updated component acme.ex"
    );
    let shown = ok(&home, &["component", "show", "acme.ex"]);
    assert!(shown.contains("Renamed"), "{shown}");
    assert!(shown.contains("KBC::ComponentSecure::"), "{shown}");
    assert!(!shown.contains("component-secret-1"), "{shown}");

    let unknown = write(
        dir.path(),
        "unknown.json",
        &json!({"id": "acme.new", "image": "x.wasm"}).to_string(),
    );
    fails(
        &home,
        &["component", "update", "--file", &unknown],
        "component \"acme.new\" does not exist",
    );
    let malformed = write(dir.path(), "malformed.json", r#"{"id": "acme.ex"}"#);
    fails(
        &home,
        &["component", "update", "--file", &malformed],
        "missing field `image`",
    );

    fails(
        &home,
        &["component", "rm", "acme.ex"],
        "component \"acme.ex\" has 1 configuration(s) (c1); remove them first, or force the removal",
    );
    assert!(
        show(&home)["id"] == "c1",
        "a refused rm deleted the configuration"
    );
    assert_eq!(
        ok(&home, &["component", "rm", "acme.ex", "--force"]).trim(),
        "Removed component acme.ex and its 1 configuration(s)"
    );
    fails(
        &home,
        &["component", "show", "acme.ex"],
        "component \"acme.ex\" does not exist",
    );
    fails(
        &home,
        &["component", "rm", "acme.ex"],
        "component \"acme.ex\" does not exist",
    );
}

#[test]
fn a_disabled_configuration_is_refused_by_run_unless_forced() {
    let (_dir, home) = home();
    fails(
        &home,
        &["config", "update", "acme.ex", "c1"],
        "nothing to change (give --file, --name, --description or --disabled)",
    );
    fails(
        &home,
        &["config", "update", "acme.ex", "c1", "--disabled", "maybe"],
        "invalid value 'maybe'",
    );
    ok(
        &home,
        &["config", "update", "acme.ex", "c1", "--disabled", "true"],
    );
    assert_eq!(show(&home)["is_disabled"], json!(true));
    let out = berth(&home, &["run", "acme.ex", "--config", "c1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("error (user error in configuration): Configuration \"c1\" of component \"acme.ex\" is disabled. Enable it, or run it with mode \"forceRun\" (berth run --force)."),
        "{stdout}"
    );
    // Forced, the job gets past the check (and fails later: the image does not exist).
    let out = berth(&home, &["run", "acme.ex", "--config", "c1", "--force"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert!(!text.contains("is disabled"), "{text}");
    assert!(text.contains("ex.wasm"), "{text}");
    ok(
        &home,
        &["config", "update", "acme.ex", "c1", "--disabled", "false"],
    );
    assert_eq!(show(&home)["is_disabled"], json!(false));
}

//! The storage commands of the `berth` binary: `table`, `file`, `component`, `config`, their
//! output (plain and `--json`) and exit codes (1 for bad input).

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

fn fails(home: &Path, args: &[&str], code: i32, needle: &str) {
    let out = berth(home, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "berth {args:?}: {stderr}");
    assert!(stderr.contains(needle), "berth {args:?}: {stderr}");
}

#[test]
fn table_commands() {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "id;name\n1;'a;b'\n2;x\n").unwrap();
    let csv_arg = csv.to_str().unwrap();
    let out = ok(
        &home,
        &[
            "table",
            "import",
            "in.c-main.t",
            csv_arg,
            "--delimiter",
            ";",
            "--enclosure",
            "'",
            "--primary-key",
            "id",
        ],
    );
    assert!(out.contains("Imported 2 rows into in.c-main.t"), "{out}");
    assert_eq!(
        ok(&home, &["table", "export", "in.c-main.t"]),
        "\"id\",\"name\"\n\"1\",\"a;b\"\n\"2\",\"x\"\n"
    );
    let more = dir.path().join("more.csv");
    std::fs::write(&more, "id,name\n2,y\n3,z\n").unwrap();
    let report: Value = serde_json::from_str(&ok(
        &home,
        &[
            "table",
            "import",
            "in.c-main.t",
            more.to_str().unwrap(),
            "--incremental",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(report["rows"], 3);
    assert_eq!(
        ok(
            &home,
            &[
                "table",
                "export",
                "in.c-main.t",
                "--columns",
                "name",
                "--where-column",
                "id",
                "--where-values",
                "2,3",
                "--limit",
                "1"
            ]
        ),
        "\"name\"\n\"y\"\n"
    );
    assert_eq!(
        ok(
            &home,
            &[
                "table",
                "export",
                "in.c-main.t",
                "--where-column",
                "id",
                "--where-values",
                "2,3",
                "--where-operator",
                "ne"
            ]
        ),
        "\"id\",\"name\"\n\"1\",\"a;b\"\n"
    );
    let out_file = dir.path().join("out.csv");
    ok(
        &home,
        &[
            "table",
            "export",
            "in.c-main.t",
            "--output",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "\"id\",\"name\"\n\"1\",\"a;b\"\n\"2\",\"y\"\n\"3\",\"z\"\n"
    );
    let listed: Value = serde_json::from_str(&ok(&home, &["table", "ls", "--json"])).unwrap();
    assert_eq!(listed[0]["id"], "in.c-main.t");
    assert_eq!(listed[0]["rows"], 3);
    assert_eq!(listed[0]["primary_key"], json!(["id"]));
    assert!(ok(&home, &["table", "ls"]).starts_with("in.c-main.t\t3 rows"));
    let shown: Value =
        serde_json::from_str(&ok(&home, &["table", "show", "in.c-main.t", "--json"])).unwrap();
    assert_eq!(shown["columns"], json!(["id", "name"]));
    assert!(ok(&home, &["table", "show", "in.c-main.t"]).contains("primary key:      id"));

    // Errors exit 1 and name the subject.
    fails(
        &home,
        &["table", "show", "in.c-main.nope"],
        1,
        "table \"in.c-main.nope\" does not exist",
    );
    fails(
        &home,
        &["table", "export", "bad-id"],
        1,
        "invalid table id \"bad-id\"",
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,name\n1\n").unwrap();
    fails(
        &home,
        &["table", "import", "in.c-main.t", bad.to_str().unwrap()],
        1,
        "line 2: the row has 1 fields, expected 2",
    );
    fails(
        &home,
        &[
            "table",
            "import",
            "in.c-main.t",
            csv_arg,
            "--delimiter",
            "ab",
        ],
        1,
        "single ASCII character",
    );
    fails(
        &home,
        &[
            "table",
            "export",
            "in.c-main.t",
            "--where-operator",
            "gt",
            "--where-column",
            "id",
            "--where-values",
            "1",
        ],
        1,
        "invalid operator \"gt\"",
    );
    ok(&home, &["table", "rm", "in.c-main.t"]);
    fails(&home, &["table", "rm", "in.c-main.t"], 1, "does not exist");
}

#[test]
fn file_commands() {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    let zip = dir.path().join("fooBar.zip");
    std::fs::write(&zip, "zip!").unwrap();
    let txt = dir.path().join("notes.txt");
    std::fs::write(&txt, "notes").unwrap();
    let id1 = ok(
        &home,
        &[
            "file",
            "upload",
            zip.to_str().unwrap(),
            "--tag",
            "docker-demo",
            "--tag",
            "toprocess",
            "--public",
        ],
    );
    let id2 = ok(
        &home,
        &[
            "file",
            "upload",
            txt.to_str().unwrap(),
            "--tag",
            "toprocess",
            "--permanent",
        ],
    );
    assert_eq!(id1.trim(), "1");
    assert_eq!(id2.trim(), "2");
    let listed: Value = serde_json::from_str(&ok(
        &home,
        &["file", "ls", "--json", "--query", "name:.zip"],
    ))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["name"], "fooBar.zip");
    assert_eq!(listed[0]["is_public"], true);
    let plain = ok(&home, &["file", "ls", "--tag", "toprocess"]);
    assert_eq!(plain.lines().count(), 2);
    assert!(plain.starts_with("2\tnotes.txt"), "{plain}");
    assert_eq!(
        ok(&home, &["file", "tag", "2", "downloaded"]).trim(),
        "toprocess,downloaded"
    );
    let left = ok(
        &home,
        &[
            "file",
            "ls",
            "--query",
            "tags: toprocess AND NOT tags: downloaded",
        ],
    );
    assert!(left.starts_with("1\tfooBar.zip"), "{left}");
    assert_eq!(left.lines().count(), 1);
    assert_eq!(ok(&home, &["file", "download", "1"]), "zip!");
    let out = dir.path().join("copy.txt");
    ok(
        &home,
        &["file", "download", "2", "--output", out.to_str().unwrap()],
    );
    assert_eq!(std::fs::read_to_string(out).unwrap(), "notes");
    fails(
        &home,
        &["file", "download", "9"],
        1,
        "file 9 does not exist",
    );
    fails(
        &home,
        &["file", "ls", "--query", "name:(zip"],
        1,
        "at character 10",
    );
    fails(
        &home,
        &["file", "tag", "x", "t"],
        1,
        "invalid file id \"x\"",
    );
}

#[test]
fn component_and_config_commands() {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    let def = dir.path().join("def.json");
    std::fs::write(
        &def,
        json!({"id": "acme.ex", "image": "ex.wasm", "image_parameters": {"a": 1}}).to_string(),
    )
    .unwrap();
    assert_eq!(
        ok(
            &home,
            &["component", "add", "--file", def.to_str().unwrap()]
        )
        .trim(),
        "Added component acme.ex"
    );
    assert_eq!(
        ok(
            &home,
            &["component", "add", "--file", def.to_str().unwrap()]
        )
        .trim(),
        "Updated component acme.ex"
    );
    let shown: Value = serde_json::from_str(&ok(&home, &["component", "show", "acme.ex"])).unwrap();
    assert_eq!(shown["memory"], "256m");
    assert_eq!(shown["network"], "none");
    let listed: Value = serde_json::from_str(&ok(&home, &["component", "ls", "--json"])).unwrap();
    assert_eq!(listed[0]["id"], "acme.ex");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"id": "x", "image": "y", "colour": 1}"#).unwrap();
    // Unknown keys are ignored (reference §10), each named in a warning.
    let out = berth(
        &home,
        &["component", "add", "--file", bad.to_str().unwrap()],
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        r#"warning: component definition (berth's shape): unknown key "colour" ignored"#
    );
    // The Developer Portal's component detail is accepted too.
    let portal = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../storage/tests/fixtures/developer-portal-ex-generic.json");
    let out = berth(
        &home,
        &["component", "add", "--file", portal.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Added component keboola.ex-generic-v2"
    );
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            r#"warning: component definition (Developer Portal shape): unknown key "data.inject_environment" ignored"#,
            r#"warning: component definition (Developer Portal shape): unknown key "sourceCodeUrl" ignored"#,
        ]
    );
    let shown: Value =
        serde_json::from_str(&ok(&home, &["component", "show", "keboola.ex-generic-v2"])).unwrap();
    assert_eq!(shown["memory"], "512m");
    assert_eq!(shown["network"], "bridge");
    assert_eq!(shown["data_types_support"], "hints");
    assert!(shown["image"].as_str().unwrap().ends_with("keboola.ex-generic-v2@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"));
    fails(
        &home,
        &["component", "show", "nope"],
        1,
        "component \"nope\" does not exist",
    );

    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"parameters": {"x": 1}}"#).unwrap();
    let generated = ok(
        &home,
        &[
            "config",
            "create",
            "acme.ex",
            "--file",
            config.to_str().unwrap(),
        ],
    );
    assert!(generated.trim().parse::<u64>().is_ok(), "{generated}");
    assert_eq!(
        ok(
            &home,
            &[
                "config",
                "create",
                "acme.ex",
                "--file",
                config.to_str().unwrap(),
                "--id",
                "main",
                "--name",
                "Main"
            ]
        )
        .trim(),
        "main"
    );
    let shown: Value =
        serde_json::from_str(&ok(&home, &["config", "show", "acme.ex", "main"])).unwrap();
    assert_eq!(shown["name"], "Main");
    assert_eq!(shown["configuration"], json!({"parameters": {"x": 1}}));
    let listed: Value =
        serde_json::from_str(&ok(&home, &["config", "ls", "acme.ex", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let state: Value =
        serde_json::from_str(&ok(&home, &["config", "state", "acme.ex", "main"])).unwrap();
    assert_eq!(
        state,
        json!({"component": {}, "storage": {"input": {"tables": [], "files": []}}})
    );
    fails(
        &home,
        &[
            "config",
            "create",
            "acme.ex",
            "--file",
            config.to_str().unwrap(),
            "--id",
            "main",
        ],
        1,
        "already exists",
    );
    fails(
        &home,
        &["config", "state", "acme.ex", "nope"],
        1,
        "configuration \"nope\" of component \"acme.ex\" does not exist",
    );
    fails(
        &home,
        &["config", "ls", "nope"],
        1,
        "component \"nope\" does not exist",
    );
    let not_json = dir.path().join("x.json");
    std::fs::write(&not_json, "{").unwrap();
    fails(
        &home,
        &[
            "config",
            "create",
            "acme.ex",
            "--file",
            not_json.to_str().unwrap(),
        ],
        1,
        "is not valid JSON",
    );
}

#[test]
fn config_create_checks_the_configuration_schema_unless_told_not_to() {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    let def = dir.path().join("def.json");
    std::fs::write(
        &def,
        json!({"id": "acme.ex", "image": "ex.wasm", "configuration_schema": {
            "type": "object", "required": ["url"],
            "properties": {"url": {"type": "string"}, "pages": {"type": "integer"}}}})
        .to_string(),
    )
    .unwrap();
    ok(
        &home,
        &["component", "add", "--file", def.to_str().unwrap()],
    );
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"parameters": {"pages": "all"}}"#).unwrap();
    let file = config.to_str().unwrap();
    fails(
        &home,
        &["config", "create", "acme.ex", "--file", file, "--id", "c1"],
        1,
        r#"The configuration does not match the component's configurationSchema: parameters: "url" is a required property; parameters.pages: "all" is not of type "integer" (store it anyway with --no-validate)"#,
    );
    fails(&home, &["config", "show", "acme.ex", "c1"], 1, "c1");
    ok(
        &home,
        &[
            "config",
            "create",
            "acme.ex",
            "--file",
            file,
            "--id",
            "c1",
            "--no-validate",
        ],
    );
    let good = dir.path().join("good.json");
    std::fs::write(&good, r#"{"parameters": {"url": "https://x"}}"#).unwrap();
    ok(
        &home,
        &[
            "config",
            "update",
            "acme.ex",
            "c1",
            "--file",
            good.to_str().unwrap(),
        ],
    );
    fails(
        &home,
        &["config", "update", "acme.ex", "c1", "--file", file],
        1,
        "parameters.pages",
    );
}

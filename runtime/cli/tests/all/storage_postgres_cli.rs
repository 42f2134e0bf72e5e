//! `BERTH_STORAGE_URL`: the table and file commands of the `berth` binary on PostgreSQL (a fresh database
//! of the test cluster per test; skipped with a message when no cluster answers, failing when
//! `BERTH_REQUIRE_POSTGRES=1`), every Storage command reaching for the database, and bad URLs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use berth_postgres::testing::TestDatabase;
use serde_json::Value;
use tempfile::TempDir;

fn berth(home: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("BERTH_HOME")
        .env("BERTH_STORAGE_URL", url)
        .output()
        .unwrap()
}

fn ok(home: &Path, url: &str, args: &[&str]) -> String {
    let out = berth(home, url, args);
    assert!(
        out.status.success(),
        "berth {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(home: &Path, url: &str, args: &[&str], code: i32, needle: &str) {
    let out = berth(home, url, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "berth {args:?}: {stderr}");
    assert!(stderr.contains(needle), "berth {args:?}: {stderr}");
}

/// A fresh database, and a directory with a `home` in it that must stay empty; `None` when the
/// test is skipped.
fn fresh(test: &str) -> Option<(TestDatabase, TempDir, PathBuf)> {
    let db = TestDatabase::create(test)?;
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    Some((db, dir, home))
}

#[test]
fn table_commands_work_on_postgres_and_leave_the_home_alone() {
    let Some((db, dir, home)) = fresh("table_commands_work_on_postgres_and_leave_the_home_alone")
    else {
        return;
    };
    let url = db.url();
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "id,name\n1,Ann\n2,\"say \"\"hi\"\"\"\n").unwrap();
    let out = ok(
        &home,
        url,
        &[
            "table",
            "import",
            "in.c-main.t",
            csv.to_str().unwrap(),
            "--primary-key",
            "id",
        ],
    );
    assert!(out.contains("Imported 2 rows into in.c-main.t"), "{out}");
    std::fs::write(&csv, "id,name\n1,Bea\n3,Cy\n").unwrap();
    let report: Value = serde_json::from_str(&ok(
        &home,
        url,
        &[
            "table",
            "import",
            "in.c-main.t",
            csv.to_str().unwrap(),
            "--incremental",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(report["rows"], 3);
    let expected = "\"id\",\"name\"\n\"2\",\"say \"\"hi\"\"\"\n\"1\",\"Bea\"\n\"3\",\"Cy\"\n";
    assert_eq!(
        ok(&home, url, &["table", "export", "in.c-main.t"]),
        expected
    );
    let file = dir.path().join("out.csv");
    ok(
        &home,
        url,
        &[
            "table",
            "export",
            "in.c-main.t",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
    let listed = ok(&home, url, &["table", "ls"]);
    assert!(
        listed.starts_with("in.c-main.t\t3 rows\tid,name\tprimary key: id"),
        "{listed}"
    );
    let shown: Value =
        serde_json::from_str(&ok(&home, url, &["table", "show", "in.c-main.t", "--json"])).unwrap();
    assert_eq!(shown["primary_key"], serde_json::json!(["id"]));
    // A bad row is the user's error, and changes nothing.
    std::fs::write(&csv, "id,name\n4\n").unwrap();
    fails(
        &home,
        url,
        &["table", "import", "in.c-main.t", csv.to_str().unwrap()],
        1,
        "the row has 1 fields",
    );
    assert_eq!(
        ok(&home, url, &["table", "export", "in.c-main.t"]),
        expected
    );
    ok(&home, url, &["table", "rm", "in.c-main.t"]);
    fails(
        &home,
        url,
        &["table", "show", "in.c-main.t"],
        1,
        "in.c-main.t",
    );
    // Nothing went to the home's embedded Storage.
    assert!(!home.join("storage").exists());
}

#[test]
fn file_commands_work_on_postgres() {
    let Some((db, dir, home)) = fresh("file_commands_work_on_postgres") else {
        return;
    };
    let url = db.url();
    let source = dir.path().join("report.csv");
    std::fs::write(&source, "a,b\n1,2\n").unwrap();
    let id = ok(
        &home,
        url,
        &["file", "upload", source.to_str().unwrap(), "--tag", "daily"],
    );
    let id = id.trim();
    let listed = ok(&home, url, &["file", "ls", "--tag", "daily"]);
    assert_eq!(listed, format!("{id}\treport.csv\t8 bytes\tdaily\n"));
    assert_eq!(ok(&home, url, &["file", "download", id]), "a,b\n1,2\n");
    let copy = dir.path().join("copy.csv");
    ok(
        &home,
        url,
        &["file", "download", id, "-o", copy.to_str().unwrap()],
    );
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), "a,b\n1,2\n");
    assert_eq!(
        ok(&home, url, &["file", "tag", id, "sales"]),
        "daily,sales\n"
    );
    fails(&home, url, &["file", "download", "999"], 1, "999");
    assert!(!home.join("storage").exists());
}

#[test]
fn token_commands_work_on_postgres() {
    let Some((db, dir, home)) = fresh("token_commands_work_on_postgres") else {
        return;
    };
    let url = db.url();
    let created: Value = serde_json::from_str(&ok(
        &home,
        url,
        &[
            "token",
            "create",
            "--description",
            "ci",
            "--read-only",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(created["id"], "1");
    assert!(created["secret"].as_str().unwrap().starts_with("1-"));
    ok(&home, url, &["token", "revoke", "1"]);
    // An unknown token is the user's mistake (exit 1), on either backend.
    fails(
        &home,
        url,
        &["token", "revoke", "999"],
        1,
        "token \"999\" does not exist",
    );
    let embedded = dir.path().join("embedded");
    fails(
        &embedded,
        "",
        &["token", "revoke", "999"],
        1,
        "token \"999\" does not exist",
    );
    let listed = ok(&home, url, &["token", "ls"]);
    assert!(
        listed.lines().nth(1).unwrap().ends_with("revoked"),
        "{listed}"
    );
    assert!(!home.join("storage").exists());
}

#[test]
fn component_and_config_commands_work_on_postgres() {
    let Some((db, dir, home)) = fresh("component_and_config_commands_work_on_postgres") else {
        return;
    };
    let url = db.url();
    let definition = dir.path().join("def.json");
    std::fs::write(&definition, r#"{"id": "acme.ex", "image": "ex.wasm"}"#).unwrap();
    let added = ok(
        &home,
        url,
        &["component", "add", "--file", definition.to_str().unwrap()],
    );
    assert_eq!(added.trim(), "Added component acme.ex");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r##"{"parameters": {"x": 1, "#password": "secret"}}"##,
    )
    .unwrap();
    let id = ok(
        &home,
        url,
        &[
            "config",
            "create",
            "acme.ex",
            "--file",
            config.to_str().unwrap(),
            "--id",
            "main",
        ],
    );
    assert_eq!(id.trim(), "main");
    let shown: Value =
        serde_json::from_str(&ok(&home, url, &["config", "show", "acme.ex", "main"])).unwrap();
    assert_eq!(shown["configuration"]["parameters"]["x"], 1);
    // `#` values are encrypted before they reach PostgreSQL, as before the embedded Storage.
    let stored = shown["configuration"]["parameters"]["#password"]
        .as_str()
        .unwrap();
    assert!(stored.starts_with("KBC::ProjectSecure::"), "{stored}");
    let listed: Value =
        serde_json::from_str(&ok(&home, url, &["config", "ls", "acme.ex", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    fails(
        &home,
        url,
        &["config", "show", "acme.ex", "nope"],
        1,
        "nope",
    );
    // `berth info` names the database instead of a Storage directory.
    let info: Value = serde_json::from_str(&ok(&home, url, &["info", "--json"])).unwrap();
    assert!(
        info["storage"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("postgres://")),
        "{info}"
    );
    // OAuth credentials go to the database too (every node reads them), encrypted.
    let credentials = dir.path().join("credentials.json");
    std::fs::write(&credentials, r##"{"#token": "t0k3n", "user": "ann"}"##).unwrap();
    let add = [
        "oauth",
        "add",
        "acme.ex",
        "--file",
        credentials.to_str().unwrap(),
        "--id",
        "main-auth",
    ];
    assert_eq!(ok(&home, url, &add).trim(), "main-auth");
    fails(&home, url, &add, 1, "already exist");
    let stored: String = db
        .client()
        .query_one(
            "SELECT credentials::text FROM berth_oauth_credentials WHERE id = 'main-auth'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        stored.contains("KBC::ProjectSecure::") && !stored.contains("t0k3n"),
        "{stored}"
    );
    let listed = ok(&home, url, &["oauth", "ls"]);
    assert!(listed.contains("main-auth"), "{listed}");
    ok(&home, url, &["oauth", "rm", "acme.ex", "main-auth"]);
    fails(
        &home,
        url,
        &["oauth", "rm", "acme.ex", "main-auth"],
        1,
        "not found",
    );
    // The embedded Storage was not touched (the home keeps only its secrets' key).
    assert!(!home.join("storage").exists());
    assert!(!home.join("oauth").exists());
}

#[test]
fn every_storage_command_reaches_for_the_database_and_encrypt_needs_none() {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    // A database that does not answer: the commands that use Storage say so (the database's
    // failure, not the user's); none falls back to the embedded Storage the user asked not to use.
    let url = "postgres://berth@127.0.0.1:1/nowhere";
    for args in [
        &["serve", "--listen", "127.0.0.1:0"][..],
        &["action", "keboola.ex-db", "test", "--config", "1"],
        &["job", "ls"],
        &["oauth", "ls"],
        &["run", "keboola.ex-db", "--config", "1"],
        &["info"],
        &["key", "rotate"],
    ] {
        fails(&home, url, args, 2, "127.0.0.1:1");
    }
    assert!(!home.join("storage").exists());
    // `berth encrypt` needs the home's key only.
    let cipher = ok(
        &home,
        url,
        &[
            "encrypt",
            "--component",
            "keboola.ex-db",
            "--component-only",
            "s3cret",
        ],
    );
    assert!(cipher.starts_with("KBC::ComponentSecure::"), "{cipher}");
    assert!(!home.join("storage").exists());
}

#[test]
fn bad_or_unreachable_storage_urls_are_named() {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    fails(
        &home,
        "mysql://root@localhost/db",
        &["table", "ls"],
        1,
        "BERTH_STORAGE_URL must be a PostgreSQL URL",
    );
    // Nothing listens on port 1: the database's failure, not the user's.
    fails(
        &home,
        "postgres://berth@127.0.0.1:1/nowhere",
        &["table", "ls"],
        2,
        "127.0.0.1",
    );
    // An empty variable means the embedded Storage.
    assert_eq!(ok(&home, "", &["table", "ls"]), "");
}

//! Secrets through the real `berth` binary: `berth info`, `berth encrypt`, configurations stored
//! as ciphers, nothing of a secret in the streamed output, the summary or the logs (and a property
//! test: whatever a component does with a secret of 4+ characters, no sink shows it), debug mode,
//! and `berth key rotate` killed with SIGKILL at every step leaving every cipher readable.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use berth_secrets::redact::forms;
use components_artifacts as guests;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::berth;
use berth_job::testing::Env;

/// `berth` on `env`'s home (and its database, when it is on PostgreSQL).
fn berth_on(env: &Env) -> std::process::Command {
    let mut command = berth();
    command.arg("--home").arg(env.root());
    if let Some(url) = env.database_url() {
        command.env("BERTH_STORAGE_URL", url);
    }
    command
}

fn berth_in(env: &Env, args: &[&str]) -> Output {
    berth_on(env).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn info_shows_the_home_project_stack_and_key() {
    let env = Env::new();
    std::fs::write(
        env.root().join("settings.toml"),
        "[project]\nid = \"321\"\nstack_id = \"stack.example\"\n",
    )
    .unwrap();
    let out = ok(&berth_in(&env, &["info"]));
    assert!(
        out.contains(&format!("home:        {}", env.root().display())),
        "{out}"
    );
    assert!(out.contains("project id:  321"), "{out}");
    assert!(out.contains("stack id:    stack.example"), "{out}");
    assert!(out.contains("(not created yet)"), "{out}");
    assert!(out.contains("server:      none"), "{out}");
    assert!(
        out.contains(&format!("storage:     {}", env.home.storage().display())),
        "{out}"
    );
    ok(&berth_in(&env, &["encrypt", "--component", "c", "x"]));
    let out = ok(&berth_in(&env, &["info"]));
    assert!(out.contains("keys/master.key (key "), "{out}");
}

#[test]
fn encrypt_picks_the_prefix_from_its_options() {
    let env = Env::new();
    for (args, prefix) in [
        (&["--component", "c"][..], "KBC::ProjectSecure::"),
        (
            &["--component", "c", "--component-only"],
            "KBC::ComponentSecure::",
        ),
        (
            &["--component", "c", "--config", "9"],
            "KBC::ConfigSecure::",
        ),
        (&["--project-wide"], "KBC::ProjectWideSecure::"),
        (
            &["--component", "c", "--branch-type", "dev"],
            "KBC::BranchTypeSecure::",
        ),
        (
            &["--component", "c", "--config", "9", "--branch-type", "dev"],
            "KBC::BranchTypeConfigSecure::",
        ),
        (
            &["--project-wide", "--branch-type", "default"],
            "KBC::ProjectWideBranchTypeSecure::",
        ),
    ] {
        let mut all = vec!["encrypt"];
        all.extend(args);
        all.push("my secret");
        let out = ok(&berth_in(&env, &all));
        assert!(out.trim().starts_with(prefix), "{args:?}: {out}");
        assert!(!out.contains("my secret"));
    }
    let doc = env.root().join("doc.json");
    std::fs::write(&doc, r##"{"#a": "one", "b": "two"}"##).unwrap();
    let out = ok(&berth_in(
        &env,
        &[
            "encrypt",
            "--component",
            "c",
            "--json",
            doc.to_str().unwrap(),
        ],
    ));
    let value: Value = serde_json::from_str(&out).unwrap();
    assert!(
        value["#a"]
            .as_str()
            .unwrap()
            .starts_with("KBC::ProjectSecure::")
    );
    assert_eq!(value["b"], "two");
    let refused = berth_in(
        &env,
        &["encrypt", "--component", "c", "KBC::Encrypted==xyz"],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("is not an encrypted value."));
    let refused = berth_in(
        &env,
        &["encrypt", "--component", "c", "--branch-type", "prod", "x"],
    );
    assert_eq!(refused.status.code(), Some(1));
    // There is no way back.
    assert_ne!(berth_in(&env, &["decrypt", "x"]).status.code(), Some(0));
}

#[test]
fn config_create_stores_ciphers() {
    let env = Env::new();
    env.component("acme.echo", guests::SECRETS_ECHO, json!({}));
    let file = env.root().join("config.json");
    std::fs::write(&file, r##"{"parameters": {"#password": "cli-secret-1"}}"##).unwrap();
    let id = ok(&berth_in(
        &env,
        &[
            "config",
            "create",
            "acme.echo",
            "--file",
            file.to_str().unwrap(),
        ],
    ));
    let shown = ok(&berth_in(&env, &["config", "show", "acme.echo", id.trim()]));
    assert!(shown.contains("KBC::ProjectSecure::"), "{shown}");
    assert!(!shown.contains("cli-secret-1"), "{shown}");
}

#[test]
fn config_update_encrypts_and_rm_removes() {
    let env = Env::new();
    env.component("acme.echo", guests::SECRETS_ECHO, json!({}));
    let file = env.root().join("config.json");
    std::fs::write(&file, r#"{"parameters": {"a": 1}}"#).unwrap();
    let path = file.to_str().unwrap();
    ok(&berth_in(
        &env,
        &[
            "config",
            "create",
            "acme.echo",
            "--id",
            "c1",
            "--file",
            path,
        ],
    ));
    std::fs::write(&file, r##"{"parameters": {"#password": "cli-secret-2"}}"##).unwrap();
    let updated = ok(&berth_in(
        &env,
        &[
            "config",
            "update",
            "acme.echo",
            "c1",
            "--file",
            path,
            "--name",
            "New",
        ],
    ));
    assert!(updated.contains("(version 2)"), "{updated}");
    let shown = ok(&berth_in(
        &env,
        &["config", "show", "acme.echo", "c1", "--json"],
    ));
    assert!(shown.contains("KBC::ProjectSecure::"), "{shown}");
    assert!(!shown.contains("cli-secret-2"), "{shown}");
    assert!(shown.contains("\"name\": \"New\""), "{shown}");

    // Nothing to change, a bad document, an unknown configuration: user errors, nothing changed.
    for args in [
        &["config", "update", "acme.echo", "c1"][..],
        &["config", "update", "acme.echo", "nope", "--name", "x"],
        &["config", "rm", "acme.echo", "nope"],
    ] {
        assert_eq!(berth_in(&env, args).status.code(), Some(1), "{args:?}");
    }
    std::fs::write(&file, "[1, 2]").unwrap();
    let refused = berth_in(
        &env,
        &["config", "update", "acme.echo", "c1", "--file", path],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("must be a JSON object"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        ok(&berth_in(&env, &["config", "show", "acme.echo", "c1"])),
        shown,
        "a refused update changed the configuration"
    );

    ok(&berth_in(&env, &["config", "rm", "acme.echo", "c1"]));
    assert_eq!(
        berth_in(&env, &["config", "show", "acme.echo", "c1"])
            .status
            .code(),
        Some(1)
    );
}

/// Every form of `secret` absent from `text`.
fn leaks(secret: &str, text: &[u8]) -> Option<String> {
    forms(secret).into_iter().find(|form| {
        text.windows(form.len().max(1))
            .any(|w| w == form.as_bytes())
    })
}

/// Everything a `berth run` leaves behind that a person or a log can see: its stdout and stderr
/// (the component's streamed output, the summary, the logs), the job records, and the kept data
/// folder's config.json and state files, and the debug archives' config.json and state files.
fn sinks(env: &Env, out: &Output) -> Vec<(String, Vec<u8>)> {
    let mut sinks = vec![
        ("stdout".to_owned(), out.stdout.clone()),
        ("stderr".to_owned(), out.stderr.clone()),
    ];
    for entry in std::fs::read_dir(env.root().join("jobs"))
        .unwrap()
        .flatten()
    {
        sinks.push((
            format!("record {}", entry.path().display()),
            std::fs::read(entry.path()).unwrap(),
        ));
    }
    let stdout = text(&out.stdout);
    if let Some(kept) = stdout
        .lines()
        .find_map(|l| l.strip_prefix("data folder kept: "))
    {
        for file in ["config.json", "in/state.json", "out/state.json"] {
            if let Ok(bytes) = std::fs::read(Path::new(kept).join(file)) {
                sinks.push((format!("kept {file}"), bytes));
            }
        }
    }
    let files = env.root().join("storage/files");
    for entry in std::fs::read_dir(&files).into_iter().flatten().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        if let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
            for i in 0..zip.len() {
                let mut file = zip.by_index(i).unwrap();
                let name = file.name().unwrap().to_string();
                if ["config.json", "in/state.json", "out/state.json"].contains(&name.as_str()) {
                    let mut content = Vec::new();
                    file.read_to_end(&mut content).unwrap();
                    sinks.push((format!("archive {name}"), content));
                }
            }
        }
    }
    sinks
}

#[test]
fn nothing_of_a_secret_reaches_the_output_the_summary_or_the_logs() {
    let env = Env::new();
    env.component("acme.echo", guests::SECRETS_ECHO, json!({}));
    let secret = "Sw0rdfish/\"ü";
    for exit_code in [0, 1, 2] {
        env.config(
            "acme.echo",
            &format!("cfg{exit_code}"),
            json!({"parameters": {"#password": secret, "exit_code": exit_code}}),
        );
        let out = berth()
            .arg("--home")
            .arg(env.root())
            .args([
                "run",
                "acme.echo",
                "--config",
                &format!("cfg{exit_code}"),
                "--keep-data",
            ])
            .env("BERTH_LOG", "debug")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(exit_code), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("plain: [hidden]"),
            "the output streams: {stdout}"
        );
        assert!(stdout.contains("plain split: [hidden]"), "{stdout}");
        for (sink, bytes) in sinks(&env, &out) {
            assert_eq!(leaks(secret, &bytes), None, "{sink} leaks the secret");
        }
    }
}

#[test]
fn debug_runs_list_their_archives() {
    let env = Env::new();
    env.component("acme.echo", guests::SECRETS_ECHO, json!({}));
    env.config(
        "acme.echo",
        "cfg",
        json!({"parameters": {"#password": "dbg-secret"}}),
    );
    let out = ok(&berth_in(
        &env,
        &["run", "acme.echo", "--config", "cfg", "--debug"],
    ));
    assert!(out.contains("debug archives:"), "{out}");
    assert!(
        out.contains("stage_0.zip") && out.contains("stage_output.zip"),
        "{out}"
    );
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("job "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let show = ok(&berth_in(&env, &["job", "show", &id]));
    assert!(show.contains("mode:          debug"), "{show}");
    assert!(show.contains("stage_output.zip"), "{show}");
    let files = ok(&berth_in(&env, &["file", "ls"]));
    assert!(files.contains("stage_0.zip"), "{files}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the component does with a secret of 4+ characters — print it in any form, whole
    /// or in pieces, on either stream, into its state or its error message, exiting 0, 1 or 2 —
    /// no sink holds any form of it.
    #[test]
    fn no_sink_ever_holds_a_secret(
        secret in "[^\\[\\]\u{0}-\u{1f}]{4,16}",
        steps in proptest::collection::vec(
            (0usize..4, 0usize..6, prop_oneof![Just("stdout"), Just("stderr")], 1usize..7),
            1..6,
        ),
        exit in 0i64..3,
        exit_form in 0usize..6,
        debug in any::<bool>(),
    ) {
        prop_assume!(!"[hidden]".contains(secret.as_str()));
        const FORMS: [&str; 6] = ["plain", "base64", "json", "json_ascii", "php", "quoted"];
        let mut script: Vec<Value> = steps
            .iter()
            .map(|&(kind, form, stream, chunk)| match kind {
                0 | 1 => json!({"emit": FORMS[form], "stream": stream, "chunk": chunk}),
                2 => json!({"text": format!("noise {chunk} "), "stream": stream}),
                _ => json!({"state": FORMS[form]}),
            })
            .collect();
        script.push(json!({"exit": exit, "form": FORMS[exit_form]}));
        let env = Env::new();
        env.component("acme.echo", guests::SECRETS_ECHO, json!({}));
        env.config("acme.echo", "cfg", json!({"parameters": {"#secret": secret, "script": script}}));
        let mut args = vec!["run", "acme.echo", "--config", "cfg", "--keep-data"];
        if debug {
            args.push("--debug");
        }
        let out = berth()
            .arg("--home")
            .arg(env.root())
            .args(&args)
            .env("BERTH_LOG", "debug")
            .output()
            .unwrap();
        prop_assert!(out.status.code().is_some(), "berth crashed: {}", text(&out.stderr));
        for (sink, bytes) in sinks(&env, &out) {
            prop_assert_eq!(leaks(&secret, &bytes), None, "{} leaks {:?}", sink, secret);
        }
        // The configuration stays a cipher (what the component chose to keep in its state under
        // keys without `#` is its data, not a secret).
        let stored = env.storage().config("acme.echo", "cfg").unwrap().configuration.to_string();
        prop_assert!(!stored.contains(&secret), "the stored configuration");
    }
}

/// Starts `berth key rotate` stopped at `point` (a test-build failpoint), waits until it says it
/// got there, and kills it with SIGKILL.
fn rotate_and_kill(env: &Env, point: &str) {
    let mut child = berth_on(env)
        .args(["key", "rotate"])
        .env("BERTH_FAILPOINT", format!("rotate:{point}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("failpoint") {
                let _ = tx.send(line);
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let line = loop {
        if let Ok(line) = rx.try_recv() {
            break line;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("berth key rotate ended ({status}) before reaching failpoint {point}");
        }
        assert!(Instant::now() < deadline, "failpoint {point} never reached");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(line.contains(point), "{line}");
    child.kill().unwrap();
    assert_eq!(
        child.wait().unwrap().signal(),
        Some(9),
        "killed with SIGKILL"
    );
}

/// Runs the stored configuration; the component must see every secret in plain text.
#[track_caller]
fn assert_readable(env: &Env) {
    let out = berth_in(
        env,
        &["run", "acme.writer", "--config", "cfg", "--keep-data"],
    );
    let stdout = ok(&out);
    let kept = stdout
        .lines()
        .find_map(|l| l.strip_prefix("data folder kept: "))
        .unwrap();
    let seen: Value = serde_json::from_slice(
        &std::fs::read(Path::new(kept).join("out/seen/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(seen["parameters"]["#password"], "rotate-me-1");
    assert_eq!(seen["parameters"]["nested"]["#token"], "rotate-me-2");
    assert_eq!(seen["image_parameters"]["#image"], "rotate-me-3");
    let state: Value = serde_json::from_slice(
        &std::fs::read(Path::new(kept).join("out/seen/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["#s"], "rotate-me-4");
    std::fs::remove_dir_all(Path::new(kept).parent().unwrap()).unwrap();
}

fn key_id(env: &Env) -> String {
    let info = ok(&berth_in(env, &["info"]));
    info.lines()
        .find_map(|l| l.split("(key ").nth(1))
        .unwrap()
        .trim_end_matches(')')
        .to_owned()
}

#[test]
fn a_rotation_killed_at_any_point_leaves_everything_readable() {
    rotation_killed_at_any_point(Env::new());
}

#[test]
fn a_rotation_on_postgres_killed_at_any_point_leaves_everything_readable() {
    if let Some(env) =
        Env::on_database("a_rotation_on_postgres_killed_at_any_point_leaves_everything_readable")
    {
        rotation_killed_at_any_point(env);
    }
}

/// Kills `berth key rotate` at each of its failpoints twice, checks every secret still reaches
/// the component, then finishes the rotation and checks nothing is left for the old key.
fn rotation_killed_at_any_point(env: Env) {
    env.component(
        "acme.writer",
        guests::WRITE_OUTPUTS,
        json!({"image_parameters": {"#image": "rotate-me-3"}}),
    );
    env.config(
        "acme.writer",
        "cfg",
        json!({"parameters": {
            "copy_config": true,
            "#password": "rotate-me-1",
            "nested": {"#token": "rotate-me-2"},
            "write": [{"path": "out/state.json", "text": "{\"#s\": \"rotate-me-4\"}"}]
        }}),
    );
    // The first run stores the encrypted state; the second sees it.
    ok(&berth_in(&env, &["run", "acme.writer", "--config", "cfg"]));
    assert_readable(&env);
    let mut key = key_id(&env);
    for point in ["key-written", "in-transaction", "committed"] {
        rotate_and_kill(&env, point);
        assert_readable(&env);
        // Killed again at the same point: still readable; then finished for real.
        rotate_and_kill(&env, point);
        assert_readable(&env);
        let out = ok(&berth_in(&env, &["key", "rotate"]));
        assert!(out.contains("finished an interrupted rotation"), "{out}");
        let new_key = key_id(&env);
        assert_ne!(new_key, key, "{point}: the key changed");
        assert!(!env.root().join("keys/master.key.new").exists());
        assert_readable(&env);
        // Every stored cipher is under the new key: nothing is left for the old one.
        let stored =
            serde_json::to_string(&env.storage().config("acme.writer", "cfg").unwrap()).unwrap();
        for cipher in stored.split('"').filter(|s| s.starts_with("KBC::")) {
            assert_eq!(
                berth_secrets::cipher::key_id_of(cipher).as_deref(),
                Some(new_key.as_str()),
                "{point}: {cipher}"
            );
        }
        key = new_key;
    }
    // An uninterrupted rotation.
    let out = ok(&berth_in(&env, &["key", "rotate"]));
    assert!(
        out.contains(&format!("master key rotated: {key} -> ")),
        "{out}"
    );
    assert!(out.contains("ciphers re-encrypted"), "{out}");
    assert_readable(&env);
}

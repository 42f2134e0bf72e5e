//! Hidden everywhere (reference §7.4, §9.3): a component that prints its secrets every way it can
//! leaves no trace of them in the job record (message, warnings), the kept data folder's
//! config.json and state files, the stored state, or the debug archives — and debug mode stores
//! the archives instead of any output.

use std::io::Read;

use berth_job::testing::{Env, Job};
use berth_job::{ConfigSource, JobRequest, RunMode};
use berth_secrets::redact::forms;
use components_artifacts as guests;
use serde_json::json;

const SECRET: &str = "Tr0ub4dor/&3\"é";
const STATE_SECRET: &str = "state-Secret-77";
const IMAGE_SECRET: &str = "image-Secret-55";

fn env() -> Env {
    let env = Env::new();
    env.component(
        "acme.echo",
        guests::SECRETS_ECHO,
        json!({"image_parameters": {"#image": IMAGE_SECRET}}),
    );
    env
}

/// Asserts no form of any secret is in `text`.
#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for secret in [SECRET, STATE_SECRET, IMAGE_SECRET] {
        for form in forms(secret) {
            assert!(!text.contains(&form), "{what} shows {form:?}:\n{text}");
        }
    }
}

fn record_text(job: &Job) -> String {
    serde_json::to_string(job.record()).unwrap()
}

#[test]
fn a_failing_component_leaks_nothing_into_the_record_or_the_kept_folder() {
    for exit_code in [1, 2] {
        let env = env();
        env.config(
            "acme.echo",
            "cfg",
            json!({"parameters": {"#password": SECRET, "exit_code": exit_code}}),
        );
        let job = env.run_stored("acme.echo", "cfg");
        let message = job.assert_error(if exit_code == 1 {
            "user"
        } else {
            "application"
        });
        assert!(message.contains("[hidden]"), "{message}");
        assert_clean("the record", &record_text(&job));
        let stored = std::fs::read_to_string(
            env.root()
                .join("jobs")
                .join(format!("{}.json", job.record().id)),
        )
        .unwrap();
        assert_clean("the stored record", &stored);
        for file in ["config.json", "in/state.json"] {
            assert_clean(file, &job.read(file));
        }
    }
}

#[test]
fn a_successful_component_leaks_nothing_into_warnings_state_or_the_kept_folder() {
    let env = env();
    env.config(
        "acme.echo",
        "cfg",
        json!({"parameters": {"#password": SECRET}}),
    );
    // Seed a state holding a secret of its own.
    let mut storage = env.storage();
    let mut state = storage.state("acme.echo", "cfg", None).unwrap();
    let mut component = json!({"#saved": STATE_SECRET});
    let mut secrets = berth_job::JobSecrets::new(&env.home, "acme.echo", "1", Some("cfg"));
    secrets.encrypt_state(&mut component).unwrap();
    state.component = component;
    storage.set_state("acme.echo", "cfg", None, &state).unwrap();
    drop(storage);

    let job = env.run_stored("acme.echo", "cfg");
    job.assert_success();
    let r = job.record();
    assert!(!r.warnings.is_empty(), "stderr of a success is a warning");
    assert!(r.warnings[0].contains("[hidden]"));
    assert_clean("the record", &record_text(&job));
    for file in ["config.json", "in/state.json", "out/state.json"] {
        assert_clean(file, &job.read(file));
    }
    // The component copied its secrets under `#saved` (encrypted when stored) and under `copy`
    // (its own data: not a `#` key, stored as it is).
    let stored = env.state("acme.echo", "cfg");
    assert!(
        stored["component"]["#saved"]
            .as_str()
            .unwrap()
            .starts_with("KBC::ProjectSecure::")
    );
}

fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut text = String::new();
        if entry.is_file() {
            entry.read_to_string(&mut text).unwrap();
        }
        out.push((entry.name().unwrap().to_string(), text));
    }
    out
}

#[test]
fn debug_mode_archives_the_data_folder_instead_of_output_mapping() {
    let env = env();
    env.import("in.c-main.source", "id,name\n1,a\n");
    env.config(
        "acme.echo",
        "cfg",
        json!({
            "parameters": {"#password": SECRET},
            "storage": {
                "input": {"tables": [{"source": "in.c-main.source", "destination": "source.csv"}]},
                "output": {"tables": [{"source": "out.csv", "destination": "out.c-main.out"}]}
            }
        }),
    );
    let mut request = JobRequest::new("acme.echo", ConfigSource::Stored("cfg".into()));
    request.mode = RunMode::Debug;
    let job = env.run(request);
    job.assert_success();
    let r = job.record();
    assert_eq!(r.mode, RunMode::Debug);
    let names: Vec<&str> = r.debug_archives.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["stage_0.zip", "stage_output.zip"]);
    assert!(r.output.tables.is_empty() && r.output.files.is_empty());
    assert_eq!(
        r.state,
        Some(berth_staging::state::StateChange::Untouched),
        "debug mode never stores state"
    );
    assert!(env.table("out.c-main.out").is_none());
    assert_clean("the record", &record_text(&job));

    let storage = env.storage();
    for archive in &r.debug_archives {
        let info = storage.file(berth_storage::FileId(archive.id)).unwrap();
        assert_eq!(
            info.tags,
            [
                "debug".to_owned(),
                "acme.echo".to_owned(),
                format!("jobId:{}", r.id),
                "rowId:".to_owned()
            ]
        );
        assert!(!info.is_permanent && !info.is_public);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(&archive.name);
        storage.download_file(info.id, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let entries = unzip(&bytes);
        let get = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, t)| t);
        let config = get("config.json").expect("config.json is archived");
        assert!(config.contains("[hidden]"), "{config}");
        assert_eq!(
            get("in/tables/source.csv").map(|t| t.contains("\"1\",\"a\"")),
            Some(true)
        );
        for (name, text) in &entries {
            if ["config.json", "in/state.json", "out/state.json"].contains(&name.as_str()) {
                assert_clean(name, text);
            }
        }
        if archive.name == "stage_output.zip" {
            assert!(get("out/state.json").is_some(), "{entries:?}");
        } else {
            assert!(get("out/state.json").is_none(), "stage_0 is before the run");
        }
    }
}

#[test]
fn debug_mode_of_a_failed_component_keeps_only_the_first_archive() {
    let env = env();
    let mut request = JobRequest::new(
        "acme.echo",
        ConfigSource::Data(json!({"parameters": {"#password": SECRET, "exit_code": 1}})),
    );
    request.mode = RunMode::Debug;
    let job = env.run(request);
    job.assert_error("user");
    let names: Vec<&str> = job
        .record()
        .debug_archives
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["stage_0.zip"]);
    assert_clean("the record", &record_text(&job));
}

#[test]
fn the_docker_executor_hides_secrets_too() {
    use berth_exec::docker::fixture::{docker_available, scratch_image};
    if !docker_available("the_docker_executor_hides_secrets_too") {
        return;
    }
    let image = scratch_image("test-programs", "secrets_echo")
        .unwrap_or_else(|e| panic!("secrets_echo image: {e:#}"));
    let env = Env::new();
    env.component("acme.echo", &format!("docker://{image}"), json!({}));
    env.config(
        "acme.echo",
        "cfg",
        json!({"parameters": {"#password": SECRET, "exit_code": 1}}),
    );
    let job = env.run_stored("acme.echo", "cfg");
    let message = job.assert_error("user");
    assert!(message.contains("failed with [hidden]"), "{message}");
    assert_clean("the record", &record_text(&job));
    assert_clean("the kept config.json", &job.read("config.json"));
}

/// Runs `acme.writer` in debug mode with `write` as its `parameters.write`.
fn debug_run_writing(env: &Env, write: serde_json::Value) -> Job {
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let mut request = JobRequest::new(
        "acme.writer",
        ConfigSource::Data(json!({"parameters": {"write": write}})),
    );
    request.mode = RunMode::Debug;
    env.run(request)
}

#[test]
fn a_debug_archive_never_follows_a_planted_link() {
    let env = env();
    let job = debug_run_writing(
        &env,
        json!([
            {"path": "in/kept.txt", "text": "kept"},
            {"path": "in/escape", "symlink": "../../../../../../../../../../etc/passwd"}
        ]),
    );
    job.assert_success();
    let archive = job
        .record()
        .debug_archives
        .iter()
        .find(|a| a.name == "stage_output.zip")
        .expect("the output archive");
    let storage = env.storage();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stage_output.zip");
    storage
        .download_file(berth_storage::FileId(archive.id), &path)
        .unwrap();
    let entries = unzip(&std::fs::read(&path).unwrap());
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"in/kept.txt"), "{names:?}");
    assert!(
        !names.contains(&"in/escape"),
        "a link is archived: {names:?}"
    );
    assert!(
        entries.iter().all(|(_, text)| !text.contains("root:")),
        "a host file reached the archive"
    );
}

#[test]
fn a_debug_archive_stops_at_the_output_budget() {
    let env = env();
    // A terabyte that costs the component nothing, outside out/ (which the output budget walks).
    let job = debug_run_writing(
        &env,
        json!([{"path": "in/huge.bin", "sparse_size": 1u64 << 40}]),
    );
    let message = job.assert_error("user");
    assert!(
        message.contains("too large for a debug archive")
            && message.contains("in/huge.bin (1099511627776 bytes")
            && message.contains("limit of 10737418240"),
        "{message}"
    );
    let names: Vec<&str> = job
        .record()
        .debug_archives
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["stage_0.zip"],
        "only the archive made before the run"
    );
}

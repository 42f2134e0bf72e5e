//! Which rows and which image a job runs (reference §9.1, §9.2): disabled rows skipped with the
//! reference's log line, listed rows run even when disabled, a configuration whose rows are all
//! disabled runs nothing (`No configurations executed.`), `config` with `configData`, and the
//! image tag (request tag > `runtime.image_tag` > the component's own); a disabled configuration
//! runs only with `forceRun`.

use std::sync::Mutex;

use berth_job::{ConfigSource, JobRequest, Progress, run_job};
use berth_storage::{ConfigUpdate, NewConfig, NewConfigRow};
use components_artifacts as guests;
use serde_json::{Value, json};

use berth_job::testing::{Env, csv};

/// Progress that keeps the job's log lines.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl Progress for Lines {
    fn log_line(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_owned());
    }
}

/// A row writing table `out.c-main.<id>`.
fn row(id: &str, disabled: bool) -> NewConfigRow {
    NewConfigRow {
        id: Some(id.to_owned()),
        name: id.to_owned(),
        description: String::new(),
        configuration: json!({
            "parameters": {"write": [
                {"path": format!("out/tables/out.c-main.{id}.csv"), "text": "a\n1\n"}]},
            "storage": {"output": {"tables": [
                {"source": format!("out.c-main.{id}.csv"), "destination": format!("out.c-main.{id}")}]}}}),
        is_disabled: disabled,
    }
}

fn env_with_rows(rows: Vec<NewConfigRow>) -> Env {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}));
    let new = NewConfig {
        id: Some("cfg".into()),
        name: "cfg".into(),
        configuration: json!({}),
        rows,
        ..NewConfig::default()
    };
    berth_job::secrets::create_config(&env.home, env.storage().as_mut(), "acme.main", new).unwrap();
    env
}

fn request() -> JobRequest {
    JobRequest::new("acme.main", ConfigSource::Stored("cfg".into()))
}

#[test]
fn disabled_rows_are_skipped_with_the_reference_log_line_and_listed_ones_run() {
    let env = env_with_rows(vec![row("r1", false), row("r2", true), row("r3", false)]);
    // The version the job read (storing the rows' state makes a new one).
    let version = env.storage().config("acme.main", "cfg").unwrap().version;
    let lines = Lines::default();
    let run = run_job(&env.home, &request(), &lines).unwrap();
    assert_eq!(run.record.result.message, "Component processing finished.");
    assert!(env.table("out.c-main.r1").is_some() && env.table("out.c-main.r3").is_some());
    assert!(env.table("out.c-main.r2").is_none());
    assert_eq!(
        *lines.0.lock().unwrap(),
        [format!(
            "Skipping disabled configuration: cfg, version: {version}, row: r2"
        )]
    );

    let mut listed = request();
    listed.row_ids = vec!["r2".into()];
    let job = env.run(listed);
    job.assert_success();
    assert_eq!(env.table("out.c-main.r2").unwrap(), csv(&[&["a"], &["1"]]));
}

#[test]
fn a_configuration_whose_rows_are_all_disabled_runs_nothing() {
    let env = env_with_rows(vec![row("r1", true), row("r2", true)]);
    let lines = Lines::default();
    let run = run_job(&env.home, &request(), &lines).unwrap();
    assert_eq!(run.record.status, berth_job::JobStatus::Success);
    assert_eq!(run.record.result.message, "No configurations executed.");
    assert!(run.record.image.is_none(), "no component ran");
    assert!(env.table("out.c-main.r1").is_none());
    assert_eq!(lines.0.lock().unwrap().len(), 2);
}

#[test]
fn a_disabled_configuration_runs_only_with_force_run_and_config_data_is_not_refused() {
    let env = env_with_rows(vec![row("r1", false)]);
    let update = ConfigUpdate {
        is_disabled: Some(true),
        ..ConfigUpdate::default()
    };
    let version = env
        .storage()
        .update_config("acme.main", "cfg", &update)
        .unwrap()
        .version;

    let job = env.run(request());
    let message = job.assert_error("user");
    assert_eq!(
        message,
        "Configuration \"cfg\" of component \"acme.main\" is disabled. Enable it, or run it with mode \"forceRun\" (berth run --force)."
    );
    assert!(env.table("out.c-main.r1").is_none());
    // Listing its rows does not get around it.
    let mut listed = request();
    listed.row_ids = vec!["r1".into()];
    env.run(listed).assert_error("user");
    assert!(env.table("out.c-main.r1").is_none());

    let mut forced = request();
    forced.force_run = true;
    let lines = Lines::default();
    let run = run_job(&env.home, &forced, &lines).unwrap();
    assert_eq!(run.record.result.message, "Component processing finished.");
    assert!(env.table("out.c-main.r1").is_some());
    assert_eq!(
        *lines.0.lock().unwrap(),
        [format!(
            "Force running disabled configuration: cfg, version: {version}"
        )]
    );

    // configData runs the given document; the stored (disabled) one only names bucket and state.
    let mut data = JobRequest::new("acme.main", ConfigSource::Data(json!({})));
    data.config_id = Some("cfg".into());
    env.run(data).assert_success();

    // The queue's mode maps onto the request.
    let queued: berth_job::queue::QueuedJob = serde_json::from_value(
        json!({"component": "acme.main", "config": "cfg", "mode": "forceRun"}),
    )
    .unwrap();
    assert!(queued.to_request().force_run);
}

#[test]
fn config_with_config_data_runs_the_data_under_the_configurations_state() {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}));
    env.config(
        "acme.main",
        "cfg",
        json!({"parameters": {"write": [{"path": "out/state.json", "text": "{\"from\": \"stored\"}"}]}}),
    );
    env.run_stored("acme.main", "cfg").assert_success();
    let mut request = JobRequest::new(
        "acme.main",
        ConfigSource::Data(json!({"parameters": {"copy_config": true, "write": [
            {"path": "out/state.json", "text": "{\"from\": \"data\"}"}]}})),
    );
    request.config_id = Some("cfg".into());
    let job = env.run(request);
    job.assert_success();
    assert_eq!(
        job.json("out/seen/config.json")["parameters"]["copy_config"],
        true,
        "the data ran"
    );
    assert_eq!(job.json("out/seen/state.json"), json!({"from": "stored"}));
    assert_eq!(
        env.state("acme.main", "cfg")["component"],
        json!({"from": "data"})
    );
}

#[test]
fn the_request_tag_beats_the_configurations_image_tag_which_beats_the_components() {
    let Some(registry) = berth_image::testing::registry("image_tag precedence") else {
        return;
    };
    let env = Env::new();
    let repo = berth_image::testing::unique_repo("tagged");
    let store = env.home.image_store().unwrap();
    let options = env.home.pull_options().unwrap();
    let mut pinned = std::collections::BTreeMap::new();
    for (tag, module) in [
        ("v1", guests::WRITE_OUTPUTS),
        ("v2", guests::PASS_THROUGH),
        ("v3", guests::PRINT_ENV),
    ] {
        let berth_image::ImageRef::Registry(target) =
            berth_image::ImageRef::parse(&format!("{registry}/{repo}:{tag}")).unwrap()
        else {
            panic!("a registry reference");
        };
        let report = store
            .push_wasm(std::path::Path::new(module), &target, &options)
            .unwrap();
        pinned.insert(tag, report.digest);
    }
    env.component("acme.tagged", &format!("{registry}/{repo}:v1"), json!({}));
    let ran = |config: Value, tag: Option<&str>| {
        let mut request = JobRequest::new("acme.tagged", ConfigSource::Data(config));
        request.tag = tag.map(str::to_owned);
        let job = env.run(request);
        job.assert_success();
        job.record().image_digest.clone().unwrap()
    };
    assert_eq!(ran(json!({}), None), pinned["v1"], "the component's tag");
    let with_tag = json!({"runtime": {"image_tag": "v2"}});
    assert_eq!(
        ran(with_tag.clone(), None),
        pinned["v2"],
        "the configuration's"
    );
    assert_eq!(ran(with_tag, Some("v3")), pinned["v3"], "the request's");
}

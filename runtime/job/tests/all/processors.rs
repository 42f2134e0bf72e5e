//! Processors (reference §10): before and after the main component, on WASI and on Docker, with
//! the two example processors (`keboola.processor-move-files`, `keboola.processor-create-manifest`)
//! and test programs as spies; the moves between images, what a processor sees, failures, debug
//! mode's `stage_<n>.zip` per image, and the configuration-or-row rule.

use berth_job::record::ProcessorPosition;
use berth_job::{ConfigSource, JobRequest, RunMode};
use components_artifacts as guests;
use serde_json::{Value, json};

use berth_job::testing::{Env, csv};

const MOVE: &str = "keboola.processor-move-files";
const MANIFEST: &str = "keboola.processor-create-manifest";

/// A home with the main component (`acme.main`, pass-through) and the two example processors as
/// `images` (WASI modules or `docker://` images).
fn env_with(move_image: &str, manifest_image: &str) -> Env {
    let env = Env::new();
    env.component("acme.main", guests::PASS_THROUGH, json!({}))
        .component(MOVE, move_image, json!({}))
        .component(MANIFEST, manifest_image, json!({}));
    env
}

/// A raw headless file tagged `raw`, turned into a table by a before-processor, passed through by
/// the main component, and given a manifest by an after-processor.
fn file_to_table_config(env: &Env) -> Value {
    let id = env.upload("raw", "1,alpha\n2,beta\n", &["raw"], None);
    json!({
        "storage": {
            "input": {"files": [{"tags": ["raw"]}]},
            "output": {"tables": [{"source": format!("{id}_raw.csv"), "destination": "out.c-main.raw"}]}
        },
        "processors": {
            "before": [{"definition": {"component": MOVE},
                        "parameters": {"direction": "tables", "addCsvSuffix": true}}],
            "after": [{"definition": {"component": MANIFEST},
                       "parameters": {"columns": ["id", "name"], "primary_key": ["id"]}}]
        }
    })
}

fn assert_file_became_table(env: &Env, job: &berth_job::testing::Job) {
    job.assert_success();
    assert_eq!(
        env.table("out.c-main.raw").unwrap(),
        csv(&[&["id", "name"], &["1", "alpha"], &["2", "beta"]])
    );
    assert_eq!(env.primary_key("out.c-main.raw"), ["id"]);
    let ran: Vec<(&str, ProcessorPosition)> = job
        .record()
        .processors
        .iter()
        .map(|p| (p.component_id.as_str(), p.position))
        .collect();
    assert_eq!(
        ran,
        [
            (MOVE, ProcessorPosition::Before),
            (MANIFEST, ProcessorPosition::After)
        ]
    );
    assert!(job.record().image.as_deref().is_some());
}

#[test]
fn before_and_after_processors_on_wasi_turn_a_file_into_a_table() {
    let env = env_with(
        guests::PROCESSOR_MOVE_FILES,
        guests::PROCESSOR_CREATE_MANIFEST,
    );
    let config = file_to_table_config(&env);
    env.config("acme.main", "cfg", config);
    let job = env.run_stored("acme.main", "cfg");
    assert_file_became_table(&env, &job);
    assert_eq!(
        job.record().processors[0].executor,
        berth_job::launch::ExecutorKind::Wasi
    );
}

#[test]
fn before_and_after_processors_on_docker_turn_a_file_into_a_table() {
    if !berth_exec::docker::fixture::docker_available("processors on docker") {
        return;
    }
    let image = |package: &str, bin: &str| {
        format!(
            "docker://{}",
            berth_exec::docker::fixture::scratch_image(package, bin).expect("processor image")
        )
    };
    let env = env_with(
        &image("processor-move-files", "processor_move_files"),
        &image("processor-create-manifest", "processor_create_manifest"),
    );
    let config = file_to_table_config(&env);
    env.config("acme.main", "cfg", config);
    let job = env.run_stored("acme.main", "cfg");
    assert_file_became_table(&env, &job);
    for p in &job.record().processors {
        assert_eq!(p.executor, berth_job::launch::ExecutorKind::Docker);
    }
}

#[test]
fn a_processor_sees_only_its_own_parameters_image_parameters_and_an_empty_state() {
    let env = Env::new();
    env.component(
        "acme.main",
        guests::WRITE_OUTPUTS,
        json!({"image_parameters": {"main_only": true}}),
    )
    .component(
        "acme.spy",
        guests::WRITE_OUTPUTS,
        json!({"image_parameters": {"spy": 1, "#key": "spy-secret"}}),
    );
    env.config(
        "acme.main",
        "cfg",
        json!({
            "parameters": {"copy_config": true, "write": [{"path": "out/state.json", "text": "{\"k\": 1}"}]},
            "processors": {"before": [{"definition": {"component": "acme.spy"},
                                       "parameters": {"copy_config": true, "dump_env": true}}]}
        }),
    );
    // A first run stores the main component's state; the second shows what the processor sees.
    env.run_stored("acme.main", "cfg").assert_success();
    assert_eq!(env.state("acme.main", "cfg")["component"], json!({"k": 1}));
    let job = env.run_stored("acme.main", "cfg");
    job.assert_success();
    // The processor's out/ became the main component's in/.
    let seen = job.json("in/seen/config.json");
    assert_eq!(
        seen["parameters"],
        json!({"copy_config": true, "dump_env": true})
    );
    assert_eq!(
        seen["image_parameters"],
        json!({"spy": 1, "#key": "spy-secret"}),
        "its own component's image parameters, decrypted for it"
    );
    assert_eq!(seen["action"], "run");
    assert_eq!(seen["storage"], json!({}));
    assert!(seen.get("processors").is_none());
    assert_eq!(job.json("in/seen/state.json"), json!({}), "no main state");
    assert_eq!(job.json("in/env.json")["KBC_COMPONENTID"], "acme.spy");
    // The main component got its own config.json and state back.
    let main = job.json("out/seen/config.json");
    assert_eq!(main["image_parameters"], json!({"main_only": true}));
    assert_eq!(job.json("out/seen/state.json"), json!({"k": 1}));
}

#[test]
fn the_main_components_state_and_usage_survive_the_after_processors() {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}))
        .component("acme.spy", guests::WRITE_OUTPUTS, json!({}));
    env.config(
        "acme.main",
        "cfg",
        json!({
            "parameters": {"write": [
                {"path": "out/state.json", "text": "{\"main\": true}"},
                {"path": "out/usage.json", "text": "[{\"metric\": \"rows\", \"value\": 3}]"},
                {"path": "out/tables/t.csv", "text": "a\n1\n"}]},
            "processors": {"after": [{"definition": {"component": "acme.spy"},
                "parameters": {"copy_config": true, "write": [
                    {"path": "out/state.json", "text": "{\"spy\": true}"},
                    {"path": "out/tables/p.csv", "text": "b\n2\n"}]}}]},
            "storage": {"output": {"tables": [{"source": "p.csv", "destination": "out.c-main.p"}]}}
        }),
    );
    let job = env.run_stored("acme.main", "cfg");
    job.assert_success();
    assert_eq!(
        env.state("acme.main", "cfg")["component"],
        json!({"main": true})
    );
    assert_eq!(job.record().usage.len(), 1);
    assert_eq!(env.table("out.c-main.p").unwrap(), csv(&[&["b"], &["2"]]));
    // The after-processor found the main component's out/ as its in/, its state kept aside.
    assert_eq!(job.read("in/tables/t.csv"), "a\n1\n");
    assert_eq!(job.json("out/seen/state.json"), json!({}));
    assert_eq!(job.json("in/state.json"), json!({}));
}

#[test]
fn a_failing_processor_fails_the_job_under_its_own_name_and_the_rest_does_not_run() {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}))
        .component("acme.bad", guests::WRITE_OUTPUTS, json!({}));
    env.config(
        "acme.main",
        "cfg",
        json!({
            "parameters": {"write": [{"path": "out/tables/t.csv", "text": "a\n1\n"}]},
            "processors": {"before": [{"definition": {"component": "acme.bad"},
                "parameters": {"exit_code": 1, "message": "bad processor input"}}]},
            "storage": {"output": {"tables": [{"source": "t.csv", "destination": "out.c-main.t"}]}}
        }),
    );
    let job = env.run_stored("acme.main", "cfg");
    let message = job.assert_error("user");
    assert!(message.contains("bad processor input"), "{message}");
    assert!(
        job.record().image.is_none(),
        "the main component did not run"
    );
    assert_eq!(job.record().processors.len(), 1);
    assert!(env.table("out.c-main.t").is_none());
}

#[test]
fn an_unknown_processor_fails_before_anything_runs() {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}));
    let job = env.run_data(
        "acme.main",
        json!({"processors": {"after": [{"definition": {"component": "acme.missing"}}]}}),
    );
    let message = job.assert_error("user");
    assert!(message.contains("acme.missing"), "{message}");
    assert!(job.record().image.is_none());
}

#[test]
fn processors_do_not_run_without_input_mapping() {
    let env = Env::new();
    env.component(
        "acme.main",
        guests::WRITE_OUTPUTS,
        json!({"staging_storage": {"input": "none"}}),
    )
    .component("acme.bad", guests::WRITE_OUTPUTS, json!({}));
    let job = env.run_data(
        "acme.main",
        json!({"processors": {"before": [{"definition": {"component": "acme.bad"},
            "parameters": {"exit_code": 1}}]}}),
    );
    job.assert_success();
    assert!(job.record().processors.is_empty());
}

#[test]
fn processors_on_the_configuration_and_its_row_are_refused() {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}))
        .component("acme.p", guests::WRITE_OUTPUTS, json!({}));
    let processors = json!({"after": [{"definition": {"component": "acme.p"}}]});
    env.config_with_rows(
        "acme.main",
        "cfg",
        json!({"processors": processors}),
        vec![("r1", json!({"processors": processors}))],
    );
    let job = env.run_stored("acme.main", "cfg");
    let message = job.assert_error("user");
    assert!(
        message.contains(
            "Processors may be set either in configuration or in configuration row, but not in both places."
        ),
        "{message}"
    );
    // On the row alone they run.
    env.config_with_rows(
        "acme.main",
        "cfg2",
        json!({}),
        vec![("r1", json!({"processors": processors}))],
    );
    let job = env.run_stored("acme.main", "cfg2");
    job.assert_success();
    assert_eq!(job.record().processors.len(), 1);
}

#[test]
fn a_processor_with_an_unknown_key_is_a_configuration_error() {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}));
    let job = env.run_data(
        "acme.main",
        json!({"processors": {"before": [{"definition": {"component": "acme.p"}, "params": {}}]}}),
    );
    let message = job.assert_error("user");
    assert!(message.contains("Error in configuration"), "{message}");
    assert!(message.contains("params"), "{message}");
}

#[test]
fn debug_mode_archives_the_data_folder_before_every_image() {
    let env = env_with(
        guests::PROCESSOR_MOVE_FILES,
        guests::PROCESSOR_CREATE_MANIFEST,
    );
    let config = file_to_table_config(&env);
    env.config("acme.main", "cfg", config);
    let mut request = JobRequest::new("acme.main", ConfigSource::Stored("cfg".into()));
    request.mode = RunMode::Debug;
    let job = env.run(request);
    job.assert_success();
    let names: Vec<&str> = job
        .record()
        .debug_archives
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "stage_0.zip",
            "stage_1.zip",
            "stage_2.zip",
            "stage_output.zip"
        ]
    );
    assert!(env.table("out.c-main.raw").is_none());
}

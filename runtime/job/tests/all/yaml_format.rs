//! Components whose `configuration_format` is `yaml` (reference §1, §2.1): `config.yml`,
//! `in/state.yml` and YAML input manifests in, `out/state.yml`, `out/usage.yml` and YAML output
//! manifests back — never a JSON file beside them, also when a JSON processor runs first — and
//! malformed or hostile YAML refused with the file named.

use berth_host_api::FileFormat;
use components_artifacts as guests;
use serde_json::{Value, json};

use berth_job::testing::Env;

const SOURCE: &str = "in.c-main.source";

fn env() -> Env {
    let env = Env::new();
    env.component(
        "acme.yaml",
        guests::YAML_FILES,
        json!({"configuration_format": "yaml"}),
    )
    .import(SOURCE, "id,name\n1,a\n");
    env
}

fn configuration(parameters: Value) -> Value {
    json!({
        "parameters": parameters,
        "storage": {
            "input": {"tables": [{"source": SOURCE, "destination": "source.csv"}]},
            "output": {"tables": [{"source": "t.csv", "destination": "out.c-main.yaml"}]}
        }
    })
}

/// A YAML file of the kept data folder, as JSON.
fn yaml(job: &berth_job::testing::Job, relative: &str) -> Value {
    let text = job.read(relative);
    let json = berth_staging::format::to_json(FileFormat::Yaml, "file", relative, text.as_bytes())
        .unwrap_or_else(|e| panic!("{relative} is not YAML: {e}\n{text}"));
    serde_json::from_slice(&json).unwrap()
}

#[test]
fn a_yaml_component_gets_yaml_files_and_its_yaml_outputs_are_read() {
    let env = env();
    env.config(
        "acme.yaml",
        "cfg",
        configuration(json!({"greeting": "hi", "#token": "plain-secret"})),
    );
    let job = env.run_stored("acme.yaml", "cfg");
    job.assert_success();

    let config = yaml(&job, "config.yml");
    assert_eq!(config["parameters"]["greeting"], "hi");
    // The kept data folder is redacted after the job, in YAML as in JSON.
    assert_eq!(config["parameters"]["#token"], "[hidden]");
    assert!(!job.read("config.yml").contains("plain-secret"));
    assert_eq!(config["action"], "run");
    assert!(!job.data().join("config.json").exists());
    assert_eq!(yaml(&job, "in/state.yml"), json!({}));
    let manifest = yaml(&job, "in/tables/source.csv.manifest");
    assert_eq!(manifest["id"], SOURCE);
    assert_eq!(manifest["columns"], json!(["id", "name"]));
    assert!(
        !job.read("in/tables/source.csv.manifest")
            .trim_start()
            .starts_with('{'),
        "the input manifest is YAML, not JSON"
    );

    // Output: the YAML manifest's destination, primary key and column metadata.
    assert_eq!(
        env.table("out.c-main.yaml").unwrap(),
        "\"id\",\"name\"\n\"1\",\"a\"\n"
    );
    let table = env
        .storage()
        .table(&"out.c-main.yaml".parse().unwrap())
        .unwrap();
    assert_eq!(table.primary_key, ["id"]);
    assert_eq!(
        table.column_metadata["name"][0].value, "the name",
        "{table:?}"
    );
    // State and usage from their .yml files; "yes" stays a string (YAML 1.2).
    assert_eq!(
        env.state("acme.yaml", "cfg")["component"],
        json!({"runs": 1, "note": "yes"})
    );
    assert_eq!(
        serde_json::to_value(&job.record().usage).unwrap(),
        json!([{"metric": "API calls", "value": 150}])
    );

    // The next run reads the stored state back as YAML.
    let job = env.run_stored("acme.yaml", "cfg");
    job.assert_success();
    assert_eq!(
        yaml(&job, "in/state.yml"),
        json!({"runs": 1, "note": "yes"})
    );
    assert_eq!(env.state("acme.yaml", "cfg")["component"]["runs"], 2);
}

#[test]
fn a_json_processor_before_a_yaml_component_leaves_no_json_configuration_behind() {
    let env = env();
    env.component("acme.json-processor", guests::WRITE_OUTPUTS, json!({}));
    let mut config = configuration(json!({}));
    config["processors"] = json!({"before": [{"definition": {"component": "acme.json-processor"},
        "parameters": {"write": [{"path": "out/tables/extra.csv", "text": "a\n1\n"}]}}]});
    env.config("acme.yaml", "cfg", config);
    // The YAML guest exits 2 if it finds config.json or in/state.json.
    let job = env.run_stored("acme.yaml", "cfg");
    job.assert_success();
    assert!(!job.data().join("config.json").exists());
    assert_eq!(yaml(&job, "config.yml")["parameters"], json!({}));
    assert_eq!(job.record().processors.len(), 1);
}

#[test]
fn malformed_or_hostile_yaml_fails_the_job_naming_the_file_and_keeps_storage_as_it_was() {
    for (marker, expected) in [
        (
            "broken_manifest",
            "Failed to parse manifest file \"out/tables/t.csv.manifest\" as \"yaml\": ",
        ),
        (
            "broken_state",
            "Failed to parse file \"out/state.yml\" as \"yaml\": ",
        ),
        (
            "alias_bomb",
            "Failed to parse file \"out/state.yml\" as \"yaml\": ",
        ),
    ] {
        let env = env();
        env.config("acme.yaml", "cfg", configuration(json!({marker: true})));
        let job = env.run_stored("acme.yaml", "cfg");
        let message = job.assert_error("user");
        assert!(message.starts_with(expected), "{marker}: {message}");
        assert!(env.table("out.c-main.yaml").is_none(), "{marker}");
        assert_eq!(
            env.state("acme.yaml", "cfg")["component"],
            json!({}),
            "{marker}"
        );
    }
    // Usage in the wrong shape: the component broke the contract (an application error).
    let env = env();
    env.config(
        "acme.yaml",
        "cfg",
        configuration(json!({"bad_usage": true})),
    );
    let message = env
        .run_stored("acme.yaml", "cfg")
        .assert_error("application");
    assert!(
        message.contains("Failed to store Job usage: Invalid usage file \"out/usage.yml\": Unrecognized option \"random\""),
        "{message}"
    );
}

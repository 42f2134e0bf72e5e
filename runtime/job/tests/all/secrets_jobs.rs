//! `#` values through whole jobs (reference §8.2, §8.3; seed 003): stored encrypted, plain for the
//! component (config.json, in/state.json, image_parameters), encrypted again in the stored state,
//! and the run-time errors: a plain `#` value, a cipher of another scope, a missing key.

use berth_job::testing::{Env, Job};
use berth_job::{ConfigSource, JobRequest};
use berth_staging::state::StateChange;
use components_artifacts as guests;
use serde_json::{Value, json};

const SECRET: &str = "s3cret-Passw0rd";

fn env() -> Env {
    let env = Env::new();
    env.component(
        "acme.writer",
        guests::WRITE_OUTPUTS,
        json!({"image_parameters": {"#api_key": "image-key-123", "url": "https://x"}}),
    );
    env
}

fn seen_config(job: &Job) -> Value {
    job.json("out/seen/config.json")
}

fn is_cipher(value: &Value, prefix: &str) -> bool {
    value.as_str().is_some_and(|s| s.starts_with(prefix))
}

#[test]
fn stored_configurations_and_rows_are_ciphers_and_the_component_sees_plain_values() {
    let env = env();
    env.config_with_rows(
        "acme.writer",
        "cfg",
        json!({"parameters": {"copy_config": true, "#password": SECRET, "user": "me"}}),
        vec![("r1", json!({"parameters": {"#row_token": "row-secret-1"}}))],
    );
    let stored = env.storage().config("acme.writer", "cfg").unwrap();
    assert!(is_cipher(
        &stored.configuration["parameters"]["#password"],
        "KBC::ProjectSecure::"
    ));
    assert!(is_cipher(
        &stored.rows[0].configuration["parameters"]["#row_token"],
        "KBC::ProjectSecure::"
    ));
    let text = serde_json::to_string(&stored).unwrap();
    assert!(!text.contains(SECRET) && !text.contains("row-secret-1"));
    let definition = env.storage().component("acme.writer").unwrap();
    assert!(is_cipher(
        &definition.image_parameters["#api_key"],
        "KBC::ComponentSecure::"
    ));

    let job = env.run_stored("acme.writer", "cfg");
    job.assert_success();
    let seen = seen_config(&job);
    assert_eq!(seen["parameters"]["#password"], SECRET);
    assert_eq!(seen["parameters"]["#row_token"], "row-secret-1");
    assert_eq!(seen["parameters"]["user"], "me");
    assert_eq!(seen["image_parameters"]["#api_key"], "image-key-123");
    // The kept data folder's own config.json has them hidden.
    let kept = job.json("config.json");
    assert_eq!(kept["parameters"]["#password"], "[hidden]");
    assert_eq!(kept["image_parameters"]["#api_key"], "[hidden]");
    assert_eq!(kept["parameters"]["user"], "me");
}

#[test]
fn config_data_is_encrypted_then_decrypted_for_the_run() {
    let env = env();
    let job = env.run_data(
        "acme.writer",
        json!({"parameters": {"copy_config": true, "#password": SECRET}}),
    );
    job.assert_success();
    assert_eq!(seen_config(&job)["parameters"]["#password"], SECRET);
    // A configData cipher made for this component and project opens too.
    let cipher = match berth_job::secrets::encrypt(
        &env.home,
        &berth_job::secrets::EncryptRequest {
            component_id: Some("acme.writer".into()),
            project_id: Some("1".into()),
            ..Default::default()
        },
        berth_job::secrets::EncryptInput::Text("from-a-cipher".into()),
    )
    .unwrap()
    {
        berth_job::secrets::EncryptInput::Text(c) => c,
        other => panic!("{other:?}"),
    };
    let job = env.run_data(
        "acme.writer",
        json!({"parameters": {"copy_config": true, "#password": cipher}}),
    );
    job.assert_success();
    assert_eq!(
        seen_config(&job)["parameters"]["#password"],
        "from-a-cipher"
    );
}

#[test]
fn state_is_stored_encrypted_and_comes_back_plain() {
    let env = env();
    env.config(
        "acme.writer",
        "cfg",
        json!({"parameters": {"copy_config": true, "write": [
            {"path": "out/state.json", "text": "{\"#refresh\": \"state-secret-9\", \"cursor\": 5, \"nested\": {\"#t\": \"inner-secret\"}}"}
        ]}}),
    );
    let job = env.run_stored("acme.writer", "cfg");
    job.assert_success();
    assert_eq!(job.record().state, Some(StateChange::Updated));
    // Seed 003: state uses KBC::ProjectSecure:: ciphers.
    let stored = env.state("acme.writer", "cfg");
    assert!(is_cipher(
        &stored["component"]["#refresh"],
        "KBC::ProjectSecure::"
    ));
    assert!(is_cipher(
        &stored["component"]["nested"]["#t"],
        "KBC::ProjectSecure::"
    ));
    assert_eq!(stored["component"]["cursor"], 5);
    // The kept out/state.json is redacted.
    assert_eq!(job.json("out/state.json")["#refresh"], "[hidden]");

    let next = env.run_stored("acme.writer", "cfg");
    next.assert_success();
    let seen_state = next.json("out/seen/state.json");
    assert_eq!(seen_state["#refresh"], "state-secret-9");
    assert_eq!(seen_state["nested"]["#t"], "inner-secret");
    // ... while the kept in/state.json shows them hidden.
    assert_eq!(next.json("in/state.json")["#refresh"], "[hidden]");
}

#[test]
fn a_plain_hash_value_at_run_time_is_the_reference_user_error() {
    let env = env();
    env.config_unencrypted(
        "acme.writer",
        "plain",
        json!({"parameters": {"#password": "hunter2"}}),
    );
    let job = env.run_stored("acme.writer", "plain");
    assert_eq!(
        job.assert_error("user"),
        "Invalid cipher text for key #password Value \"hunter2\" is not an encrypted value."
    );
}

#[test]
fn a_cipher_of_another_configuration_is_a_user_error() {
    let env = env();
    let cipher = match berth_job::secrets::encrypt(
        &env.home,
        &berth_job::secrets::EncryptRequest {
            component_id: Some("acme.writer".into()),
            project_id: Some("1".into()),
            config_id: Some("other".into()),
            ..Default::default()
        },
        berth_job::secrets::EncryptInput::Text("x".into()),
    )
    .unwrap()
    {
        berth_job::secrets::EncryptInput::Text(c) => c,
        other => panic!("{other:?}"),
    };
    assert!(cipher.starts_with("KBC::ConfigSecure::"));
    env.config(
        "acme.writer",
        "cfg",
        json!({"parameters": {"#token": cipher}}),
    );
    let job = env.run_stored("acme.writer", "cfg");
    assert_eq!(
        job.assert_error("user"),
        format!("Invalid cipher text for key #token Value \"{cipher}\" is not an encrypted value.")
    );
    // The same cipher opens for its own configuration.
    env.config(
        "acme.writer",
        "other",
        json!({"parameters": {"#token": cipher}}),
    );
    env.run_stored("acme.writer", "other").assert_success();
}

#[test]
fn a_tampered_cipher_is_a_user_error() {
    let env = env();
    env.config(
        "acme.writer",
        "cfg",
        json!({"parameters": {"#token": "abc"}}),
    );
    let mut stored = env.storage().config("acme.writer", "cfg").unwrap();
    let cipher = stored.configuration["parameters"]["#token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Another base64 character near the end (inside the authentication tag).
    let mut chars: Vec<char> = cipher.chars().collect();
    let i = chars.len() - 4;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    stored.configuration["parameters"]["#token"] = json!(tampered);
    env.config_unencrypted("acme.writer", "tampered", stored.configuration);
    let job = env.run_stored("acme.writer", "tampered");
    assert_eq!(
        job.assert_error("user"),
        format!(
            "Invalid cipher text for key #token Value \"{tampered}\" is not an encrypted value."
        )
    );
}

#[test]
fn a_missing_master_key_is_an_application_error() {
    let env = env();
    env.config(
        "acme.writer",
        "cfg",
        json!({"parameters": {"#token": "abc"}}),
    );
    std::fs::remove_file(env.root().join("keys/master.key")).unwrap();
    let job = env.run_stored("acme.writer", "cfg");
    let message = job.assert_error("application");
    assert!(message.contains("master key"), "{message}");
    assert_eq!(message.matches("is missing").count(), 1, "{message}");
    // The component's image parameters are ciphers too.
    let job = env.run_data("acme.writer", json!({"parameters": {}}));
    assert!(job.assert_error("application").contains("master key"));
    // A job without any cipher needs no key.
    env.component("acme.plain", guests::WRITE_OUTPUTS, json!({}));
    env.run_data("acme.plain", json!({"parameters": {"x": 1}}))
        .assert_success();
}

#[test]
fn a_job_request_in_debug_mode_sets_the_run_mode() {
    let env = env();
    let mut request = JobRequest::new(
        "acme.writer",
        ConfigSource::Data(json!({"parameters": {"dump_env": true}})),
    );
    request.mode = berth_job::RunMode::Debug;
    let job = env.run(request);
    job.assert_success();
    assert_eq!(job.json("out/env.json")["KBC_COMPONENT_RUN_MODE"], "debug");
    let normal = env.run_data("acme.writer", json!({"parameters": {"dump_env": true}}));
    assert_eq!(normal.json("out/env.json")["KBC_COMPONENT_RUN_MODE"], "run");
}

#[test]
fn forward_token_outside_a_server_sets_no_token_and_no_url() {
    let env = env();
    env.component(
        "acme.forward",
        guests::WRITE_OUTPUTS,
        json!({"forward_token": true}),
    );
    let job = env.run_data("acme.forward", json!({"parameters": {"dump_env": true}}));
    job.assert_success();
    let seen = job.json("out/env.json");
    assert_eq!(seen["KBC_COMPONENTID"], "acme.forward", "{seen}");
    assert!(seen.get("KBC_TOKEN").is_none(), "{seen}");
    assert!(seen.get("KBC_URL").is_none(), "{seen}");
    // No token was created for the job either.
    let tokens = env.storage().job_tokens(&job.record().id).unwrap();
    assert!(tokens.is_empty(), "{tokens:?}");
}

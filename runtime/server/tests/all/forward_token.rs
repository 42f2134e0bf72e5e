//! `forward_token`: a component that asks for it gets `KBC_URL` (the server's URL) and, as
//! `KBC_TOKEN`, a token created for its job — not the caller's, limited to the component, hidden
//! in the job's log and record, revoked when the job ends. A component without it gets neither.

use berth_storage::{FileFilter, TokenCheck};
use components_artifacts as guests;
use serde_json::{Value, json};

use crate::support::{Server, error_of};

/// The `KBC_*` environment job `id` uploaded as the Storage file `env.json`.
fn uploaded_env(server: &Server, id: &str) -> Value {
    let storage = server.env.storage();
    let files = storage.list_files(&FileFilter::default()).unwrap();
    let file = files
        .iter()
        .find(|f| f.name == "env.json" && f.run_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("job {id} uploaded no env.json: {files:?}"));
    let mut content = Vec::new();
    storage.write_file(file.id, &mut content).unwrap();
    serde_json::from_slice(&content).unwrap()
}

fn dumping_the_environment() -> Value {
    json!({"parameters": {"print_env": true, "dump_env": "out/files/env.json"}})
}

#[test]
fn a_forwarded_token_is_the_jobs_own_hidden_and_revoked_when_the_job_ends() {
    let server = Server::start(1, |env| {
        env.component(
            "acme.forward",
            guests::WRITE_OUTPUTS,
            json!({"forward_token": true}),
        );
    });
    let id =
        server.queue(json!({"component": "acme.forward", "configData": dumping_the_environment()}));
    let job = server.wait(&id);
    assert_eq!(job["status"], "success", "{job}");
    let env = uploaded_env(&server, &id);
    assert_eq!(env["KBC_URL"], server.url.as_str(), "{env}");
    let token = env["KBC_TOKEN"]
        .as_str()
        .expect("KBC_TOKEN is set")
        .to_owned();
    assert_ne!(token, server.token, "the component got the caller's token");

    // Created for this job and this component alone, and revoked once the job ended.
    match server.env.storage().check_token(&token).unwrap() {
        TokenCheck::Revoked(info) => {
            assert_eq!(info.job_id.as_deref(), Some(id.as_str()), "{info:?}");
            assert_eq!(info.component_access, Some(vec!["acme.forward".to_owned()]));
            assert!(!info.admin, "{info:?}");
            assert!(info.revoked >= Some(info.created), "{info:?}");
        }
        other => panic!("the job's token is not revoked: {other:?}"),
    }
    let refused = server
        .anonymous(reqwest::Method::GET, "/v2/storage/tokens/verify")
        .header("x-storageapi-token", &token)
        .send()
        .unwrap();
    assert_eq!(error_of(refused, 401), "The access token was revoked.");

    // Hidden in the log (stdout and stderr lines) and the record; the URL is not a secret.
    let events = server.events(&id);
    assert!(
        events.iter().filter(|e| *e == "KBC_TOKEN=[hidden]").count() == 2,
        "{events:#?}"
    );
    assert!(
        events.contains(&format!("KBC_URL={}", server.url)),
        "{events:#?}"
    );
    let log: String = events.concat();
    assert!(
        !log.contains(&token),
        "the token is in the log: {events:#?}"
    );
    let all: Value = server.get(&format!("/jobs/{id}/events")).json().unwrap();
    assert!(!all.to_string().contains(&token));
    assert!(!server.job(&id).to_string().contains(&token));
}

#[test]
fn without_forward_token_there_is_no_token_and_no_url() {
    let server = Server::start(1, |env| {
        env.component("acme.plain", guests::WRITE_OUTPUTS, json!({}));
    });
    let id =
        server.queue(json!({"component": "acme.plain", "configData": dumping_the_environment()}));
    assert_eq!(server.wait(&id)["status"], "success");
    let env = uploaded_env(&server, &id);
    assert_eq!(env["KBC_COMPONENTID"], "acme.plain", "{env}");
    assert!(env.get("KBC_TOKEN").is_none(), "{env}");
    assert!(env.get("KBC_URL").is_none(), "{env}");
    assert!(
        !server
            .events(&id)
            .iter()
            .any(|e| e.starts_with("KBC_TOKEN"))
    );
}

#[test]
fn the_job_token_is_valid_while_the_job_runs_and_revoked_when_it_is_killed() {
    let server = Server::start(1, |env| {
        env.component(
            "acme.forward",
            guests::WRITE_OUTPUTS,
            json!({"forward_token": true}),
        );
    });
    let id = server.queue(json!({
        "component": "acme.forward",
        "configData": {"parameters": {
            "print_env": true, "print": ["environment printed"], "sleep_ms": 600_000
        }}
    }));
    // The component has printed its environment and sleeps: its token exists and is usable.
    server.wait_for(&id, |j| j["status"] == "processing");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !server
        .events(&id)
        .iter()
        .any(|e| e == "environment printed")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the component never printed its environment"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let events = server.events(&id);
    assert!(
        events.iter().any(|e| e == "KBC_TOKEN=[hidden]"),
        "{events:#?}"
    );
    let tokens = server.env.storage().job_tokens(&id).unwrap();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(
        tokens[0].revoked.is_none() && tokens[0].expires.is_none(),
        "{tokens:?}"
    );
    assert_eq!(
        tokens[0].component_access,
        Some(vec!["acme.forward".to_owned()])
    );
    // A killed job ends too: its token is revoked.
    assert_eq!(
        server.post(&format!("/jobs/{id}/kill"), json!({})).status(),
        202
    );
    assert_eq!(server.wait(&id)["status"], "terminated");
    let tokens = server.env.storage().job_tokens(&id).unwrap();
    assert!(tokens[0].revoked.is_some(), "{tokens:?}");
}

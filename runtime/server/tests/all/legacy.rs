//! The Docker Runner's routes (reference §9.1) and synchronous actions (§1.4): `/{component}/run`
//! and `/run/tag/{tag}` answer 202 `{id, url, status}`, with the reference's error texts; actions
//! answer the component's JSON, a user error is a 400 with the component's message, and they do
//! not wait behind queued jobs.

use std::time::{Duration, Instant};

use components_artifacts as guests;
use serde_json::{Value, json};

use crate::support::{Server, error_of};

#[test]
fn run_routes_queue_jobs() {
    let server = Server::start(1, |env| {
        env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
        env.config("acme.writer", "cfg", json!({}));
    });
    let response = server.post("/acme.writer/run", json!({"config": "cfg"}));
    assert_eq!(response.status(), 202);
    let body: Value = response.json().unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "url", "status"]);
    let job = server.wait(body["id"].as_str().unwrap());
    assert_eq!(job["status"], "success", "{job}");

    let response = server.post("/acme.writer/run/tag/1.2.3", json!({"configData": {}}));
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.job(&id)["tag"], "1.2.3");

    assert_eq!(
        error_of(server.post("/acme.writer/run", json!({})), 400),
        "Specify 'config' or 'configData'."
    );
    assert_eq!(
        error_of(
            server.post("/acme.writer/run", json!({"configData": {}, "row": "1"})),
            400
        ),
        "Specify both 'row' and 'config'."
    );
    assert_eq!(
        error_of(
            server.post("/acme.writer/run", json!({"config": "cfg", "row": ["1"]})),
            400
        ),
        "'row' must be a scalar."
    );
    assert_eq!(
        error_of(server.post("/run", json!({"config": "cfg"})), 400),
        "This api call without component name is not supported, perhaps you wanted to call \
         /{component}/run"
    );
}

fn action_server() -> Server {
    Server::start(1, |env| {
        env.component(
            "acme.actions",
            guests::ACTION_ANSWER,
            json!({"synchronous_actions": ["hello", "fail", "garbage", "silent"]}),
        );
        env.component("acme.slow", guests::WRITE_OUTPUTS, json!({}));
        env.config(
            "acme.slow",
            "slow",
            json!({"parameters": {"sleep_ms": 60000}}),
        );
    })
}

#[test]
fn actions_answer_the_component_json_and_its_errors() {
    let server = action_server();
    let response = server.post("/acme.actions/action/hello", json!({"configData": {}}));
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().unwrap(), json!({"hello": "world"}));

    let message = error_of(
        server.post("/acme.actions/action/fail", json!({"configData": {}})),
        400,
    );
    assert_eq!(message, "the fail action always fails");
    assert_eq!(
        error_of(
            server.post("/acme.actions/action/silent", json!({"configData": {}})),
            400
        ),
        "No response from component."
    );
    let message = error_of(
        server.post("/acme.actions/action/garbage", json!({"configData": {}})),
        400,
    );
    assert!(
        message.starts_with("Decoding JSON response from component failed"),
        "{message}"
    );
    let message = error_of(
        server.post("/acme.actions/action/other", json!({"configData": {}})),
        400,
    );
    assert!(message.contains("is not allowed"), "{message}");
    let message = error_of(
        server.post("/acme.actions/action/run", json!({"configData": {}})),
        400,
    );
    assert!(message.contains("cannot be run synchronously"), "{message}");

    // The sync-actions API shape.
    let response = server.post(
        "/actions",
        json!({"componentId": "acme.actions", "action": "hello", "configData": {}}),
    );
    assert_eq!(response.json::<Value>().unwrap(), json!({"hello": "world"}));
}

#[test]
fn actions_do_not_wait_behind_jobs() {
    let server = action_server();
    // The only worker is busy for a minute.
    let busy = server.queue(json!({"component": "acme.slow", "config": "slow"}));
    server.wait_for(&busy, |j| j["status"] == "processing");
    let started = Instant::now();
    let response = server.post("/acme.actions/action/hello", json!({"configData": {}}));
    assert_eq!(response.status(), 200);
    // Not a timing assertion on speed: the job blocks its worker for 60 s, so an action that
    // waited for the queue could not have answered before it ended.
    assert!(started.elapsed() < Duration::from_secs(50));
    assert_eq!(server.job(&busy)["status"], "processing");
    server.post(&format!("/jobs/{busy}/kill"), json!({}));
}

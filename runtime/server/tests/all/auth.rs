//! Nothing runs anonymously (seeds 001/002): every route but `/health` refuses a missing, unknown,
//! revoked or expired token with 401; a read-only token cannot run jobs or actions (403); a token
//! limited to components gets 403 for the others and does not see their jobs.

use components_artifacts as guests;
use reqwest::Method;
use serde_json::json;

use crate::support::{Server, error_of};

fn server() -> Server {
    Server::start(1, |env| {
        env.component("acme.a", guests::WRITE_OUTPUTS, json!({}));
        env.component("acme.b", guests::WRITE_OUTPUTS, json!({}));
    })
}

#[test]
fn every_route_but_health_needs_a_token() {
    let server = server();
    let health = server.anonymous(Method::GET, "/health").send().unwrap();
    assert_eq!(health.status(), 200);
    for (method, path) in [
        (Method::GET, "/jobs"),
        (Method::POST, "/jobs"),
        (Method::GET, "/jobs/1"),
        (Method::POST, "/jobs/1/kill"),
        (Method::GET, "/jobs/1/events"),
        (Method::GET, "/metrics"),
        (Method::GET, "/tokens"),
        (Method::POST, "/acme.a/run"),
        (Method::POST, "/acme.a/action/info"),
        (Method::GET, "/v2/storage/tokens/verify"),
    ] {
        let response = server.anonymous(method.clone(), path).send().unwrap();
        let message = error_of(response, 401);
        assert!(
            message.contains("Access token must be set"),
            "{method} {path}: {message}"
        );
        let response = server
            .anonymous(method.clone(), path)
            .header("X-StorageApi-Token", "1-not-a-token")
            .send()
            .unwrap();
        assert_eq!(
            error_of(response, 401),
            "Invalid access token.",
            "{method} {path}"
        );
    }
}

#[test]
fn read_only_tokens_read_but_do_not_run() {
    let server = server();
    let job = server.queue(json!({"component": "acme.a", "configData": {}}));
    let reader = server.token(json!({"description": "reader", "readOnly": true}));
    let as_reader = |method: Method, path: &str| {
        server
            .anonymous(method, path)
            .header("X-StorageApi-Token", &reader)
    };
    assert_eq!(
        as_reader(Method::GET, "/jobs").send().unwrap().status(),
        200
    );
    assert_eq!(
        as_reader(Method::GET, &format!("/jobs/{job}"))
            .send()
            .unwrap()
            .status(),
        200
    );
    for (method, path) in [
        (Method::POST, "/jobs".to_owned()),
        (Method::POST, "/acme.a/run".to_owned()),
        (Method::POST, "/acme.a/action/info".to_owned()),
        (Method::POST, format!("/jobs/{job}/kill")),
    ] {
        let response = as_reader(method.clone(), &path)
            .json(&json!({"component": "acme.a", "configData": {}}))
            .send()
            .unwrap();
        let message = error_of(response, 403);
        assert!(message.contains("read-only"), "{method} {path}: {message}");
    }
    // Token management is for admins only.
    assert_eq!(
        error_of(as_reader(Method::GET, "/tokens").send().unwrap(), 403),
        "This call needs an admin token."
    );
}

#[test]
fn component_limited_tokens_see_and_run_only_their_components() {
    let server = server();
    let other = server.queue(json!({"component": "acme.b", "configData": {}}));
    let limited = server.token(json!({"description": "a only", "componentAccess": ["acme.a"]}));
    let send = |method: Method, path: &str, body: serde_json::Value| {
        server
            .anonymous(method, path)
            .header("X-StorageApi-Token", &limited)
            .json(&body)
            .send()
            .unwrap()
    };
    let own = send(
        Method::POST,
        "/jobs",
        json!({"component": "acme.a", "configData": {}}),
    );
    assert_eq!(own.status(), 201);
    let own: serde_json::Value = own.json().unwrap();
    let message = error_of(
        send(
            Method::POST,
            "/jobs",
            json!({"component": "acme.b", "configData": {}}),
        ),
        403,
    );
    assert!(
        message.contains("no access to component \"acme.b\""),
        "{message}"
    );
    error_of(send(Method::GET, &format!("/jobs/{other}"), json!({})), 403);
    let listed: Vec<serde_json::Value> = send(Method::GET, "/jobs", json!({})).json().unwrap();
    let ids: Vec<&str> = listed.iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [own["id"].as_str().unwrap()]);
    // Which token created a job is recorded with it.
    let verify: serde_json::Value = send(Method::GET, "/v2/storage/tokens/verify", json!({}))
        .json()
        .unwrap();
    assert_eq!(own["token"]["id"], verify["id"]);
}

#[test]
fn revoked_and_expired_tokens_are_refused_at_once() {
    let server = server();
    let token = server.token(json!({"description": "short-lived"}));
    let id = token.split('-').next().unwrap().to_owned();
    let with = |t: &str| {
        server
            .anonymous(Method::GET, "/jobs")
            .header("X-StorageApi-Token", t)
            .send()
            .unwrap()
    };
    assert_eq!(with(&token).status(), 200);
    let revoked = server
        .request(Method::DELETE, &format!("/tokens/{id}"))
        .send()
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(error_of(with(&token), 401), "The access token was revoked.");

    // Expiring after zero seconds: expired by the time it is used.
    let expiring = server.token(json!({"description": "expiring", "expiresIn": 0}));
    assert_eq!(error_of(with(&expiring), 401), "The access token expired.");
}

//! `/health` without a token, `/metrics` in Prometheus text, and token management over HTTP.

use components_artifacts as guests;
use serde_json::{Value, json};

use crate::support::{Server, error_of};

#[test]
fn health_and_metrics() {
    let server = Server::start(1, |env| {
        env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    });
    let id = server.queue(json!({"component": "acme.writer", "configData": {}}));
    server.wait(&id);
    let health: Value = server
        .anonymous(reqwest::Method::GET, "/health")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "ok");
    match server.env.database_url() {
        None => {
            assert_eq!(health["storage"], "embedded");
            assert_eq!(health["node"], Value::Null);
        }
        Some(_) => {
            assert_eq!(health["storage"], "postgres");
            assert_eq!(health["node"], "test-node");
        }
    }
    // The job's record is final a moment before its worker lets go of it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.get("/health").json::<Value>().unwrap()["runningJobs"] != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().unwrap();
    for line in [
        "berth_jobs{status=\"success\"} 1",
        "berth_jobs{status=\"waiting\"} 0",
        "berth_queue_depth 0",
        "berth_jobs_running 0",
        "berth_job_duration_seconds_count{executor=\"wasi\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
    }
}

#[test]
fn tokens_are_managed_by_admins() {
    let server = Server::start(1, |_| {});
    let created = server.post(
        "/tokens",
        json!({"description": "ci", "readOnly": true, "componentAccess": ["a.b"]}),
    );
    assert_eq!(created.status(), 201);
    let created: Value = created.json().unwrap();
    assert!(
        created["secret"]
            .as_str()
            .unwrap()
            .starts_with(created["id"].as_str().unwrap())
    );
    let listed: Vec<Value> = server.get("/tokens").json().unwrap();
    let ci = listed.iter().find(|t| t["description"] == "ci").unwrap();
    assert_eq!(ci["read_only"], true);
    assert_eq!(ci["component_access"], json!(["a.b"]));
    assert!(ci.get("secret").is_none(), "secrets are never listed");
    let message = error_of(
        server.post("/tokens", json!({"description": "x", "bogus": 1})),
        400,
    );
    assert!(message.contains("bogus"), "{message}");
    assert_eq!(
        error_of(
            server
                .request(reqwest::Method::DELETE, "/tokens/999")
                .send()
                .unwrap(),
            404
        ),
        "token \"999\" does not exist"
    );
    let verify: Value = server.get("/v2/storage/tokens/verify").json().unwrap();
    assert_eq!(verify["isMasterToken"], true);
}

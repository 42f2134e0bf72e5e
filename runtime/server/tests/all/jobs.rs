//! Queue v2 over HTTP (reference §9.2): a queued job runs and ends `success` with its result and
//! log; errors have the reference's texts; listings filter and page newest first; jobs of one
//! configuration never overlap and run in the order queued while others run beside them; a kill
//! cancels a waiting job and terminates a running one (WASI and Docker).

use components_artifacts as guests;
use serde_json::{Value, json};

use crate::support::{Server, error_of};

fn writer(env: &berth_job::testing::Env) {
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
}

#[test]
fn a_queued_job_runs_and_its_log_has_the_component_output() {
    let server = Server::start(1, writer);
    server.env.config(
        "acme.writer",
        "cfg",
        json!({
            "parameters": {
                "print": ["hello from the component", "second line"],
                "write": [{"path": "out/tables/out.c-main.t.csv", "text": "a\n1\n"}]
            },
            "storage": {"output": {"tables": [{"destination": "out.c-main.t"}]}}
        }),
    );
    let response = server.post(
        "/jobs",
        json!({"component": "acme.writer", "config": "cfg"}),
    );
    assert_eq!(response.status(), 201);
    let created: Value = response.json().unwrap();
    assert!(
        matches!(created["status"].as_str(), Some("waiting" | "processing")),
        "{created}"
    );
    assert_eq!(created["component"], "acme.writer");
    assert_eq!(created["config"], "cfg");
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["url"], format!("{}/jobs/{id}", server.url));

    let job = server.wait(id);
    assert_eq!(job["status"], "success", "{job}");
    assert_eq!(job["result"]["message"], "Component processing finished.");
    assert_eq!(
        job["result"]["output"]["tables"][0]["table"],
        "out.c-main.t"
    );
    assert!(
        job["startTime"].is_string() && job["endTime"].is_string(),
        "{job}"
    );
    assert_eq!(
        server.env.table("out.c-main.t").as_deref(),
        Some("\"a\"\n\"1\"\n")
    );

    let events = server.events(id);
    let at = |needle: &str| {
        events
            .iter()
            .position(|e| e.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in {events:#?}"))
    };
    assert!(at("hello from the component") < at("second line"));
    assert!(at("Running component acme.writer") < at("hello from the component"));
    assert!(at("second line") < at("Job success: Component processing finished."));
    // `since` returns only what came after.
    let all: Vec<Value> = server.get(&format!("/jobs/{id}/events")).json().unwrap();
    let last = all.last().unwrap()["seq"].as_u64().unwrap();
    let later: Vec<Value> = server
        .get(&format!("/jobs/{id}/events?since={}", last - 1))
        .json()
        .unwrap();
    assert_eq!(later.len(), 1);
}

#[test]
fn failures_are_recorded_with_their_class() {
    let server = Server::start(1, writer);
    let id = server.queue(json!({
        "component": "acme.writer",
        "configData": {"parameters": {"exit_code": 1, "message": "bad input"}}
    }));
    let job = server.wait(&id);
    assert_eq!(job["status"], "error");
    assert_eq!(job["result"]["message"], "bad input");
    assert_eq!(job["result"]["error"]["type"], "user");
    assert!(server.events(&id).iter().any(|e| e == "bad input"));
}

#[test]
fn request_errors_have_the_reference_texts() {
    let server = Server::start(1, writer);
    assert_eq!(
        error_of(
            server.post("/jobs", json!({"component": "acme.writer"})),
            400
        ),
        "Specify 'config' or 'configData'."
    );
    assert_eq!(
        error_of(
            server.post(
                "/jobs",
                json!({"component": "acme.writer", "configRowIds": ["1"], "configData": {}})
            ),
            400
        ),
        "Specify both 'row' and 'config'."
    );
    assert_eq!(
        error_of(
            server.post("/jobs", json!({"component": "nope", "configData": {}})),
            404
        ),
        "Component \"nope\" not found."
    );
    assert_eq!(
        error_of(
            server.post(
                "/jobs",
                json!({"component": "acme.writer", "config": "missing"})
            ),
            404
        ),
        "Configuration \"missing\" of component \"acme.writer\" not found."
    );
    let message = error_of(server.post("/jobs", json!({"configData": {}})), 400);
    assert!(message.contains("component"), "{message}");
    assert_eq!(
        error_of(server.get("/jobs/123"), 404),
        "job \"123\" does not exist"
    );
    let message = error_of(server.get("/jobs?status=finished"), 400);
    assert!(message.contains("\"finished\" is not one of"), "{message}");
    assert_eq!(
        error_of(server.get("/jobs?limit=0"), 400),
        "limit must be between 1 and 500."
    );
}

#[test]
fn listings_filter_and_page_newest_first() {
    let server = Server::start(1, |env| {
        writer(env);
        env.config("acme.writer", "a", json!({}));
        env.config("acme.writer", "b", json!({}));
    });
    let first = server.queue(json!({"component": "acme.writer", "config": "a"}));
    let second = server.queue(json!({"component": "acme.writer", "config": "b"}));
    let third = server.queue(json!({"component": "acme.writer", "config": "a"}));
    for id in [&first, &second, &third] {
        server.wait(id);
    }
    let ids = |query: &str| -> Vec<String> {
        let jobs: Vec<Value> = server.get(&format!("/jobs{query}")).json().unwrap();
        jobs.iter()
            .map(|j| j["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(""), [third.as_str(), second.as_str(), first.as_str()]);
    assert_eq!(ids("?config=a"), [third.as_str(), first.as_str()]);
    assert_eq!(ids("?component=acme.writer&config=b"), [second.as_str()]);
    assert_eq!(ids("?status=success&limit=1&offset=1"), [second.as_str()]);
    assert_eq!(ids("?status=waiting,processing"), Vec::<String>::new());
}

#[test]
fn jobs_of_one_configuration_run_one_at_a_time_in_order() {
    let server = Server::start(2, |env| {
        writer(env);
        env.config(
            "acme.writer",
            "same",
            json!({"parameters": {"sleep_ms": 300}}),
        );
        env.config(
            "acme.writer",
            "other",
            json!({"parameters": {"sleep_ms": 300}}),
        );
    });
    let same: Vec<String> = (0..3)
        .map(|_| server.queue(json!({"component": "acme.writer", "config": "same"})))
        .collect();
    let other = server.queue(json!({"component": "acme.writer", "config": "other"}));
    let jobs: Vec<Value> = same.iter().map(|id| server.wait(id)).collect();
    let other = server.wait(&other);
    let span = |job: &Value| {
        (
            job["startTime"].as_str().unwrap().to_owned(),
            job["endTime"].as_str().unwrap().to_owned(),
        )
    };
    for pair in jobs.windows(2) {
        let (_, end) = span(&pair[0]);
        let (start, _) = span(&pair[1]);
        assert!(
            end <= start,
            "jobs of one configuration overlapped: {pair:#?}"
        );
    }
    // The other configuration did not wait for them: it started before the last one did.
    let (other_start, _) = span(&other);
    let (last_start, _) = span(&jobs[2]);
    assert!(other_start < last_start, "{other:#?} {:#?}", jobs[2]);
}

#[test]
fn killing_a_waiting_job_cancels_it() {
    let server = Server::start(1, |env| {
        writer(env);
        env.config(
            "acme.writer",
            "slow",
            json!({"parameters": {"sleep_ms": 60000}}),
        );
    });
    let running = server.queue(json!({"component": "acme.writer", "config": "slow"}));
    server.wait_for(&running, |j| j["status"] == "processing");
    let waiting = server.queue(json!({"component": "acme.writer", "config": "slow"}));
    let killed = server.post(&format!("/jobs/{waiting}/kill"), json!({}));
    assert_eq!(killed.status(), 202);
    let killed: Value = killed.json().unwrap();
    assert_eq!(killed["status"], "cancelled");
    assert_eq!(killed["isFinished"], true);
    let message = error_of(
        server.post(&format!("/jobs/{waiting}/kill"), json!({})),
        400,
    );
    assert!(message.contains("already cancelled"), "{message}");
    // The running job is terminated, not run to its end.
    let killed: Value = server
        .post(&format!("/jobs/{running}/kill"), json!({}))
        .json()
        .unwrap();
    assert!(
        matches!(
            killed["status"].as_str(),
            Some("terminating" | "terminated")
        ),
        "{killed}"
    );
    let job = server.wait(&running);
    assert_eq!(job["status"], "terminated", "{job}");
    assert_eq!(job["result"]["message"], "The job was terminated.");
}

#[test]
fn killing_a_running_wasi_job_stops_the_component() {
    let server = Server::start(1, |env| {
        env.component(
            "acme.spin",
            guests::SPIN_FOREVER,
            json!({"process_timeout": 600}),
        );
    });
    let id = server.queue(json!({"component": "acme.spin", "configData": {}}));
    server.wait_for(&id, |j| j["status"] == "processing");
    assert_eq!(
        server.post(&format!("/jobs/{id}/kill"), json!({})).status(),
        202
    );
    let job = server.wait(&id);
    assert_eq!(job["status"], "terminated", "{job}");
    // Nothing was loaded and no state stored by a terminated job.
    assert_eq!(job["result"]["output"]["tables"], json!([]));
}

#[test]
fn killing_a_running_container_job_stops_and_removes_the_container() {
    use berth_exec::docker::fixture::{docker_available, scratch_image};
    if !docker_available("killing_a_running_container_job") {
        return;
    }
    let image = scratch_image("docker-fixtures", "spin_forever").expect("fixture image");
    let server = Server::start(1, |env| {
        env.component(
            "acme.container",
            &format!("docker://{image}"),
            json!({"process_timeout": 600}),
        );
    });
    let id = server.queue(json!({"component": "acme.container", "configData": {}}));
    server.wait_for(&id, |j| {
        j["status"] == "processing" && j["stage"] == "execution"
    });
    let containers = || -> Vec<String> {
        let output = std::process::Command::new("docker")
            .args(["ps", "-a", "-q", "--filter", &format!("ancestor={image}")])
            .output()
            .expect("docker ps");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    // The container exists while the job runs (wait for its creation).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while containers().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no container was started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        server.post(&format!("/jobs/{id}/kill"), json!({})).status(),
        202
    );
    let job = server.wait(&id);
    assert_eq!(job["status"], "terminated", "{job}");
    assert_eq!(
        containers(),
        Vec::<String>::new(),
        "the container was left behind"
    );
}

#[test]
fn post_jobs_takes_variable_values_and_reports_them_in_the_result() {
    let server = Server::start(1, |env| {
        writer(env);
        env.component("keboola.variables", guests::WRITE_OUTPUTS, json!({}));
    });
    server.env.config_with_rows(
        "keboola.variables",
        "vars",
        json!({"variables": [{"name": "city", "type": "string"}]}),
        vec![(
            "v1",
            json!({"values": [{"name": "city", "value": "Prague"}]}),
        )],
    );
    server.env.config(
        "acme.writer",
        "cfg",
        json!({"variables_id": "vars",
               "parameters": {"write": [{"path": "out/tables/out.c-main.t.csv", "text": "city\n{{city}}\n"}]},
               "storage": {"output": {"tables": [{"source": "out.c-main.t.csv", "destination": "out.c-main.t"}]}}}),
    );
    let response = server.post(
        "/jobs",
        json!({"component": "acme.writer", "config": "cfg",
               "variableValuesData": {"values": [{"name": "city", "value": "Brno"}]}}),
    );
    assert_eq!(response.status(), 201);
    let created: Value = response.json().unwrap();
    let job = server.wait(created["id"].as_str().unwrap());
    assert_eq!(job["status"], "success", "{job}");
    assert_eq!(
        job["result"]["variables"],
        json!([{"name": "city", "value": "Brno"}])
    );
    assert_eq!(
        server.env.table("out.c-main.t").as_deref(),
        Some("\"city\"\n\"Brno\"\n")
    );

    let response = server.post(
        "/jobs",
        json!({"component": "acme.writer", "config": "cfg", "variableValuesId": "v1"}),
    );
    let created: Value = response.json().unwrap();
    let job = server.wait(created["id"].as_str().unwrap());
    assert_eq!(job["status"], "success", "{job}");
    assert_eq!(
        server.env.table("out.c-main.t").as_deref(),
        Some("\"city\"\n\"Prague\"\n")
    );

    assert_eq!(
        error_of(
            server.post(
                "/jobs",
                json!({"component": "acme.writer", "config": "cfg", "variableValuesId": "v1",
                       "variableValuesData": {"values": []}})
            ),
            400
        ),
        "Only one of variableValuesId and variableValuesData can be entered."
    );
}

#[test]
fn oauth_credentials_stored_over_http_reach_a_queued_job() {
    let server = Server::start(1, writer);
    let response = server.post(
        "/oauth/credentials/acme.writer?id=creds1",
        json!({"#token": "http-oauth-secret"}),
    );
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.json::<Value>().unwrap(),
        json!({"component": "acme.writer", "id": "creds1"})
    );
    let listed: Value = server.get("/oauth/credentials").json().unwrap();
    assert_eq!(
        listed,
        json!([{"component": "acme.writer", "id": "creds1"}])
    );
    // Stored encrypted (a file of the home, or a row of the shared database).
    let stored = berth_job::oauth::load(&server.env.home, "acme.writer", "creds1").unwrap();
    let stored = stored.to_string();
    assert!(!stored.contains("http-oauth-secret"), "{stored}");
    assert!(stored.contains("KBC::ProjectSecure::"), "{stored}");

    server.env.config(
        "acme.writer",
        "cfg",
        json!({"parameters": {"copy_config": true},
               "authorization": {"oauth_api": {"id": "creds1"}}}),
    );
    let id = server.queue(json!({"component": "acme.writer", "config": "cfg"}));
    let job = server.wait(&id);
    assert_eq!(job["status"], "success", "{job}");

    assert_eq!(
        error_of(server.post("/oauth/credentials/acme.nope", json!({})), 400),
        "Component \"acme.nope\" not found."
    );
    let deleted = server
        .request(
            reqwest::Method::DELETE,
            "/oauth/credentials/acme.writer/creds1",
        )
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let again = server
        .request(
            reqwest::Method::DELETE,
            "/oauth/credentials/acme.writer/creds1",
        )
        .send()
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[test]
fn result_images_list_every_image_in_order_and_force_run_runs_a_disabled_configuration() {
    let server = Server::start(1, |env| {
        env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}))
            .component("acme.before", guests::PASS_THROUGH, json!({}))
            .component("acme.after", guests::GENERATE_ROWS, json!({}));
    });
    server.env.config(
        "acme.writer",
        "cfg",
        json!({
            "parameters": {},
            "storage": {"output": {"tables": [{"source": "g.csv", "destination": "out.c-main.g"}]}},
            "processors": {
                "before": [{"definition": {"component": "acme.before"}}],
                "after": [{"definition": {"component": "acme.after"}, "parameters": {"rows": 1, "file": "g.csv"}}]
            }
        }),
    );
    let update = berth_storage::ConfigUpdate {
        is_disabled: Some(true),
        ..Default::default()
    };
    server
        .env
        .storage()
        .update_config("acme.writer", "cfg", &update)
        .unwrap();

    let run = |mode: &str| {
        let created: Value = server
            .post(
                "/jobs",
                json!({"component": "acme.writer", "config": "cfg", "mode": mode}),
            )
            .json()
            .unwrap();
        server.wait(created["id"].as_str().unwrap())
    };
    let refused = run("run");
    assert_eq!(refused["status"], "error", "{refused}");
    assert!(
        refused["result"]["message"]
            .as_str()
            .unwrap()
            .contains("is disabled"),
        "{refused}"
    );

    let job = run("forceRun");
    assert_eq!(job["status"], "success", "{job}");
    assert_eq!(job["mode"], "forceRun");
    let images: Vec<&str> = job["result"]["images"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(images.len(), 3, "{job}");
    for (image, guest) in images
        .iter()
        .zip(["pass_through", "write_outputs", "generate_rows"])
    {
        assert!(image.contains(guest), "{images:?}");
    }
}

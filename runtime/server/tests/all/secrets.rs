//! `POST /encrypt` (reference §9.4) and `POST /{component}/debug` (§9.3): ciphers made over HTTP
//! decrypt inside the named component's jobs only and never come back as plain text; a debug job
//! keeps its data folder as `debug` files and loads nothing.

use components_artifacts as guests;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Server, error_of};

const SECRET: &str = "s3cret-over-http";

fn server() -> Server {
    Server::start(1, |env| {
        env.component("acme.echo", guests::SECRETS_ECHO, json!({}));
        env.component("acme.other", guests::SECRETS_ECHO, json!({}));
        env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    })
}

fn encrypt(
    server: &Server,
    query: &str,
    content_type: &str,
    body: &str,
) -> reqwest::blocking::Response {
    server
        .request(Method::POST, &format!("/encrypt{query}"))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .unwrap()
}

#[test]
fn encrypt_makes_ciphers_that_only_the_named_component_reads() {
    let server = server();
    let response = encrypt(&server, "?componentId=acme.echo", "text/plain", SECRET);
    assert_eq!(response.status(), 200);
    let cipher = response.text().unwrap();
    assert!(cipher.starts_with("KBC::ComponentSecure::"), "{cipher}");
    assert!(!cipher.contains(SECRET));

    // JSON: only the `#` scalars change.
    let response = encrypt(
        &server,
        "?componentId=acme.echo",
        "application/json; charset=utf-8",
        &json!({"#password": SECRET, "user": "me", "nested": {"#key": "k"}}).to_string(),
    );
    assert_eq!(response.status(), 200);
    let document: Value = response.json().unwrap();
    assert_eq!(document["user"], "me");
    for value in [&document["#password"], &document["nested"]["#key"]] {
        assert!(
            value
                .as_str()
                .unwrap()
                .starts_with("KBC::ComponentSecure::"),
            "{document}"
        );
    }

    // The component decrypts it; what it prints of it is hidden.
    let config = |cipher: &str| {
        json!({"configData": {"parameters": {
            "#password": cipher,
            "script": [{"emit": "plain", "stream": "stdout", "chunk": 4096}]
        }}})
    };
    let mut body = config(&cipher);
    body["component"] = json!("acme.echo");
    let id = server.queue(body);
    let job = server.wait(&id);
    assert_eq!(job["status"], "success", "{job}");
    let events = server.events(&id).join("\n");
    assert!(events.contains("[hidden]"), "{events}");
    assert!(!events.contains(SECRET), "{events}");

    // Another component cannot.
    let mut body = config(&cipher);
    body["component"] = json!("acme.other");
    let id = server.queue(body);
    let job = server.wait(&id);
    assert_eq!(job["status"], "error", "{job}");
    assert!(!job.to_string().contains(SECRET), "{job}");
}

#[test]
fn encrypt_refuses_what_it_cannot_scope() {
    let server = server();
    assert_eq!(
        error_of(encrypt(&server, "", "text/plain", SECRET), 400),
        "Specify a component id or a project id."
    );
    let message = error_of(
        encrypt(&server, "?componentId=acme.echo", "application/xml", "<a/>"),
        415,
    );
    assert!(message.contains("text/plain"), "{message}");
    let message = error_of(
        encrypt(
            &server,
            "?componentId=acme.echo",
            "application/json",
            "{not json",
        ),
        400,
    );
    assert!(
        message.starts_with("The request body is not JSON"),
        "{message}"
    );
    let anonymous = server
        .anonymous(Method::POST, "/encrypt?componentId=acme.echo")
        .header("content-type", "text/plain")
        .body(SECRET)
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[test]
fn debug_route_keeps_the_data_folder_and_loads_nothing() {
    let server = server();
    let response = server.post(
        "/acme.writer/debug",
        json!({"configData": {
            "parameters": {"dump_env": true},
            "storage": {"output": {"tables": [{"source": "env.json", "destination": "out.c-main.env"}]}}
        }}),
    );
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = server.wait(&id);
    assert_eq!(job["status"], "success", "{job}");
    assert_eq!(job["mode"], "debug", "{job}");
    assert!(
        server.env.table("out.c-main.env").is_none(),
        "debug mode loads nothing"
    );
    let files = server
        .env
        .storage()
        .list_files(&berth_storage::FileFilter::default())
        .unwrap();
    let mut debug: Vec<&str> = files
        .iter()
        .filter(|f| f.tags.iter().any(|t| t == "debug"))
        .map(|f| f.name.as_str())
        .collect();
    debug.sort_unstable();
    assert_eq!(debug, ["stage_0.zip", "stage_output.zip"], "{files:?}");
}

//! Keboola Storage API's shape (`/v2/storage/[branch/{branch}/]components/...`) and berth's own
//! `/components`: JSON and form-encoded bodies, the answers' shape, `#` values encrypted on every
//! write path, every error text, branches, and the token rules.

use components_artifacts as guests;
use reqwest::Method;
use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::support::{Server, error_of};

const BASE: &str = "/v2/storage/branch/default/components";

fn server() -> Server {
    Server::start(1, |env| {
        env.component("acme.a", guests::WRITE_OUTPUTS, json!({}));
        env.component("acme.b", guests::WRITE_OUTPUTS, json!({}));
    })
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Server {
    fn send_json(&self, method: Method, path: &str, body: Value) -> Response {
        self.request(method, path).json(&body).send().unwrap()
    }

    fn send_form(&self, method: Method, path: &str, pairs: &[(&str, &str)]) -> Response {
        self.request(method, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs))
            .send()
            .unwrap()
    }
}

#[track_caller]
fn ok(response: Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let text = response.text().unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

#[test]
fn configurations_rows_and_state_in_json() {
    let server = server();
    let created = ok(
        server.send_json(
            Method::POST,
            &format!("{BASE}/acme.a/configs"),
            json!({"name": "Main", "description": "d", "configurationId": "main",
                   "configuration": {"parameters": {"#password": "json-secret-1", "n": 1}},
                   "state": {"component": {"cursor": 3}}, "changeDescription": "first",
                   "isDisabled": false}),
        ),
        201,
    );
    assert_eq!(created["id"], "main");
    assert_eq!(created["name"], "Main");
    assert_eq!(created["description"], "d");
    assert_eq!(created["changeDescription"], "first");
    assert_eq!(created["isDisabled"], false);
    assert_eq!(created["isDeleted"], false);
    assert_eq!(created["configuration"]["parameters"]["n"], 1);
    assert_eq!(created["state"]["component"]["cursor"], 3);
    assert_eq!(created["rows"], json!([]));
    assert_eq!(created["rowsSortOrder"], json!([]));
    let created_at = created["created"].as_str().unwrap();
    assert!(
        created_at.len() == 24 && created_at.as_bytes()[10] == b'T',
        "Keboola's date shape (2026-01-31T12:00:00+0000): {created_at}"
    );
    let secret = created["configuration"]["parameters"]["#password"]
        .as_str()
        .unwrap();
    assert!(secret.starts_with("KBC::ProjectSecure::"), "{secret}");

    // The plain and the numeric-branch routes name the same configuration.
    for path in [
        "/v2/storage/components/acme.a/configs/main",
        "/v2/storage/branch/1/components/acme.a/configs/main",
    ] {
        assert_eq!(ok(server.get(path), 200)["id"], "main", "{path}");
    }
    let listed = ok(server.get(&format!("{BASE}/acme.a/configs")), 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let updated = ok(
        server.send_json(
            Method::PUT,
            &format!("{BASE}/acme.a/configs/main"),
            json!({"name": "Renamed", "isDisabled": true}),
        ),
        200,
    );
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["isDisabled"], true);
    assert_eq!(updated["description"], "d", "fields not given are kept");
    assert!(
        updated["version"].as_u64() > created["version"].as_u64(),
        "{updated}"
    );

    let row = ok(
        server.send_json(
            Method::POST,
            &format!("{BASE}/acme.a/configs/main/rows"),
            json!({"rowId": "r1", "name": "Row", "isDisabled": true,
                   "configuration": {"parameters": {"#key": "json-secret-2"}}}),
        ),
        201,
    );
    assert_eq!(row["id"], "r1");
    assert_eq!(row["isDisabled"], true);
    assert!(
        row["configuration"]["parameters"]["#key"]
            .as_str()
            .unwrap()
            .starts_with("KBC::ProjectSecure::")
    );
    let generated = ok(
        server.send_json(
            Method::POST,
            &format!("{BASE}/acme.a/configs/main/rows"),
            json!({}),
        ),
        201,
    );
    let generated = generated["id"].as_str().unwrap().to_owned();
    let rows = ok(server.get(&format!("{BASE}/acme.a/configs/main/rows")), 200);
    assert_eq!(rows[0]["id"], "r1");
    assert_eq!(rows[1]["id"], generated.as_str());
    let config = ok(server.get(&format!("{BASE}/acme.a/configs/main")), 200);
    assert_eq!(config["rowsSortOrder"], json!(["r1", generated]));

    let row = ok(
        server.send_json(
            Method::PUT,
            &format!("{BASE}/acme.a/configs/main/rows/r1"),
            json!({"isDisabled": false, "state": {"component": {"#token": "json-secret-3"}}}),
        ),
        200,
    );
    assert_eq!(row["isDisabled"], false);
    assert_eq!(row["name"], "Row");
    assert!(
        row["state"]["component"]["#token"]
            .as_str()
            .unwrap()
            .starts_with("KBC::ProjectSecure::"),
        "{row}"
    );
    assert_eq!(
        ok(
            server.get(&format!("{BASE}/acme.a/configs/main/rows/r1")),
            200
        )["isDisabled"],
        false
    );

    let stated = ok(
        server.send_json(
            Method::PUT,
            &format!("{BASE}/acme.a/configs/main/state"),
            json!({"state": {"component": {"cursor": 9}}}),
        ),
        200,
    );
    assert_eq!(stated["state"]["component"]["cursor"], 9);

    // What the API stored is what the CLI and the runner read.
    let stored = server.env.storage().config("acme.a", "main").unwrap();
    assert_eq!(stored.name, "Renamed");
    assert!(stored.is_disabled);
    assert_eq!(stored.rows.len(), 2);
    assert_eq!(stored.state.component["cursor"], 9);
    let text = serde_json::to_string(&stored).unwrap();
    assert!(
        !text.contains("json-secret"),
        "a # value stored in clear: {text}"
    );

    ok(
        server
            .request(
                Method::DELETE,
                &format!("{BASE}/acme.a/configs/main/rows/r1"),
            )
            .send()
            .unwrap(),
        204,
    );
    ok(
        server
            .request(Method::DELETE, &format!("{BASE}/acme.a/configs/main"))
            .send()
            .unwrap(),
        204,
    );
    assert!(
        ok(server.get(&format!("{BASE}/acme.a/configs")), 200)
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn form_encoded_bodies_as_the_storage_api_takes_them() {
    let server = server();
    let created = ok(
        server.send_form(
            Method::POST,
            &format!("{BASE}/acme.a/configs"),
            &[
                ("name", "From a form"),
                ("configurationId", "f1"),
                (
                    "configuration",
                    r##"{"parameters": {"#password": "form-secret-1", "n": 2}}"##,
                ),
                ("state", r#"{"component": {"cursor": 1}}"#),
                ("isDisabled", "1"),
                ("changeDescription", "by form"),
            ],
        ),
        201,
    );
    assert_eq!(created["id"], "f1");
    assert_eq!(created["isDisabled"], true);
    assert_eq!(created["configuration"]["parameters"]["n"], 2);
    assert_eq!(created["state"]["component"]["cursor"], 1);
    assert!(
        created["configuration"]["parameters"]["#password"]
            .as_str()
            .unwrap()
            .starts_with("KBC::ProjectSecure::")
    );
    let updated = ok(
        server.send_form(
            Method::PUT,
            &format!("{BASE}/acme.a/configs/f1"),
            &[("description", "changed"), ("isDisabled", "False")],
        ),
        200,
    );
    assert_eq!(updated["description"], "changed");
    assert_eq!(updated["isDisabled"], false);
    let row = ok(
        server.send_form(
            Method::POST,
            &format!("{BASE}/acme.a/configs/f1/rows"),
            &[
                ("rowId", "fr"),
                ("configuration", r#"{"parameters": {"x": 1}}"#),
                ("isDisabled", "true"),
            ],
        ),
        201,
    );
    assert_eq!(row["isDisabled"], true);
    let row = ok(
        server.send_form(
            Method::PUT,
            &format!("{BASE}/acme.a/configs/f1/rows/fr"),
            &[("configuration", r#"{"parameters": {"x": 2}}"#)],
        ),
        200,
    );
    assert_eq!(row["configuration"]["parameters"]["x"], 2);
    let stated = ok(
        server.send_form(
            Method::PUT,
            &format!("{BASE}/acme.a/configs/f1/state"),
            &[("state", r##"{"component": {"#s": "form-secret-2"}}"##)],
        ),
        200,
    );
    let text = stated["state"].to_string();
    assert!(text.contains("KBC::ProjectSecure::"), "{text}");
    let stored =
        serde_json::to_string(&server.env.storage().config("acme.a", "f1").unwrap()).unwrap();
    assert!(!stored.contains("form-secret"), "{stored}");
}

#[test]
fn every_error_text() {
    let server = server();
    let configs = format!("{BASE}/acme.a/configs");
    ok(
        server.send_json(
            Method::POST,
            &configs,
            json!({"configurationId": "c1", "configuration": {}}),
        ),
        201,
    );
    ok(
        server.send_json(
            Method::POST,
            &format!("{configs}/c1/rows"),
            json!({"rowId": "r1"}),
        ),
        201,
    );
    let before = ok(server.get(&format!("{configs}/c1")), 200);
    let raw = |method: Method, path: &str, content_type: &str, body: &str| {
        server
            .request(method, path)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .unwrap()
    };
    let json_type = "application/json";
    let form_type = "application/x-www-form-urlencoded";
    let cases: Vec<(Response, u16, &str)> = vec![
        (
            raw(Method::POST, &configs, json_type, "{\"name\": "),
            400,
            "The request body is not valid JSON: ",
        ),
        (
            raw(Method::POST, &configs, json_type, "[1]"),
            400,
            "The request body must be a JSON object.",
        ),
        (
            raw(Method::POST, &configs, "text/plain", "name=x"),
            415,
            "Unsupported content type \"text/plain\": send application/json or application/x-www-form-urlencoded.",
        ),
        (
            raw(Method::POST, &configs, form_type, "configuration=%7Bnope"),
            400,
            "\"configuration\" is not valid JSON: ",
        ),
        (
            raw(Method::POST, &configs, form_type, "configuration=%5B1%5D"),
            400,
            "\"configuration\" must be a JSON object.",
        ),
        (
            raw(
                Method::PUT,
                &format!("{configs}/c1"),
                form_type,
                "isDisabled=maybe",
            ),
            400,
            "\"isDisabled\" must be true or false, not \"maybe\".",
        ),
        (
            raw(
                Method::PUT,
                &format!("{configs}/c1"),
                json_type,
                r#"{"colour": 1}"#,
            ),
            400,
            "Invalid request body: unknown field `colour`",
        ),
        (
            raw(Method::POST, &configs, json_type, r#"{"rowId": "x"}"#),
            400,
            "\"rowId\" cannot be given here.",
        ),
        (
            raw(
                Method::PUT,
                &format!("{configs}/c1"),
                json_type,
                r#"{"configurationId": "c2"}"#,
            ),
            400,
            "\"configurationId\" cannot be given here.",
        ),
        (
            raw(
                Method::POST,
                &configs,
                json_type,
                r#"{"configurationId": "c1"}"#,
            ),
            409,
            "configuration \"c1\" of component \"acme.a\" already exists",
        ),
        (
            raw(
                Method::POST,
                &configs,
                json_type,
                r#"{"configurationId": "a/b"}"#,
            ),
            400,
            "invalid configuration id for configuration \"a/b\" of component \"acme.a\"",
        ),
        (
            raw(
                Method::PUT,
                &format!("{configs}/c1"),
                json_type,
                r#"{"configuration": {"storage": {"nope": 1}}}"#,
            ),
            400,
            "Unrecognized option \"nope\"",
        ),
        (
            raw(
                Method::POST,
                &format!("{configs}/c1/rows"),
                json_type,
                r#"{"rowId": "r1"}"#,
            ),
            409,
            "row \"r1\" of configuration \"c1\" of component \"acme.a\" already exists",
        ),
        (
            raw(Method::PUT, &format!("{configs}/c1/state"), json_type, "{}"),
            400,
            "Give \"state\" (a JSON object).",
        ),
        (
            raw(
                Method::PUT,
                &format!("{configs}/c1/state"),
                json_type,
                r#"{"state": {"colour": 1}}"#,
            ),
            400,
            "Invalid state: Unrecognized option \"colour\"",
        ),
        (
            raw(
                Method::PUT,
                &format!("{configs}/c1/rows/r1"),
                form_type,
                "state=%7B%22colour%22%3A1%7D",
            ),
            400,
            "Invalid state: Unrecognized option \"colour\"",
        ),
        (
            server.get("/v2/storage/components?include=everything"),
            400,
            "Unknown include \"everything\": use configuration, rows or state.",
        ),
        (
            server.get("/v2/storage/branch/42/components/acme.a/configs"),
            404,
            "Branch \"42\" not found: berth has only the default branch (\"default\", id 1).",
        ),
        (
            server.get("/v2/storage/branch/dev/components"),
            404,
            "Branch \"dev\" not found",
        ),
        (
            server.get(&format!("{BASE}/acme.zzz/configs")),
            404,
            "component \"acme.zzz\" does not exist",
        ),
        (
            server.get(&format!("{BASE}/acme.zzz/configs/c1")),
            404,
            "component \"acme.zzz\" does not exist",
        ),
        (
            raw(
                Method::PUT,
                &format!("{BASE}/acme.zzz/configs/c1"),
                json_type,
                r#"{"name": "x"}"#,
            ),
            404,
            "component \"acme.zzz\" does not exist",
        ),
        (
            server.get(&format!("{configs}/c9")),
            404,
            "configuration \"c9\" of component \"acme.a\" does not exist",
        ),
        (
            server
                .request(Method::DELETE, &format!("{configs}/c9"))
                .send()
                .unwrap(),
            404,
            "configuration \"c9\" of component \"acme.a\" does not exist",
        ),
        (
            server.get(&format!("{configs}/c1/rows/r9")),
            404,
            "row \"r9\" of configuration \"c1\" of component \"acme.a\" does not exist",
        ),
        (
            raw(
                Method::PUT,
                &format!("{configs}/c1/rows/r9"),
                json_type,
                r#"{"name": "x"}"#,
            ),
            404,
            "row \"r9\" of configuration \"c1\" of component \"acme.a\" does not exist",
        ),
        (
            server
                .request(Method::DELETE, &format!("{configs}/c1/rows/r9"))
                .send()
                .unwrap(),
            404,
            "row \"r9\" of configuration \"c1\" of component \"acme.a\" does not exist",
        ),
    ];
    for (response, status, needle) in cases {
        let url = response.url().to_string();
        let message = error_of(response, status);
        assert!(message.contains(needle), "{url}: {message}");
    }
    assert_eq!(
        ok(server.get(&format!("{configs}/c1")), 200),
        before,
        "a refused request changed the configuration"
    );
}

#[test]
fn components_with_their_configurations() {
    let server = server();
    ok(
        server.send_json(
            Method::POST,
            &format!("{BASE}/acme.b/configs"),
            json!({"configurationId": "b1", "name": "B", "configuration": {"parameters": {"k": 1}}}),
        ),
        201,
    );
    let listed = ok(server.get("/v2/storage/components"), 200);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme.a", "acme.b"]);
    let b = &listed[1];
    assert_eq!(b["configurations"][0]["id"], "b1");
    assert_eq!(b["configurations"][0]["name"], "B");
    assert!(
        b["configurations"][0].get("configuration").is_none(),
        "without include, no documents: {b}"
    );
    let listed = ok(
        server.get("/v2/storage/branch/default/components?include=configuration,rows,state"),
        200,
    );
    let config = &listed[1]["configurations"][0];
    assert_eq!(config["configuration"]["parameters"]["k"], 1);
    assert_eq!(config["rows"], json!([]));
    assert!(config["state"].is_object(), "{config}");

    let branches = ok(server.get("/v2/storage/dev-branches"), 200);
    assert_eq!(
        branches,
        json!([{"id": 1, "name": "Main", "isDefault": true}])
    );
    let verify = ok(server.get("/v2/storage/tokens/verify"), 200);
    assert_eq!(verify["owner"]["id"], 1);
    assert_eq!(verify["owner"]["defaultBackend"], "duckdb");
    assert_eq!(verify["owner"]["defaultBranchId"], 1);
}

#[test]
fn token_rules() {
    let server = server();
    ok(
        server.send_json(
            Method::POST,
            &format!("{BASE}/acme.a/configs"),
            json!({"configurationId": "c1"}),
        ),
        201,
    );
    let reader = server.token(json!({"description": "reader", "readOnly": true}));
    let limited = server.token(json!({"description": "b only", "componentAccess": ["acme.b"]}));
    let writer = server.token(json!({"description": "writer"}));
    let send = |token: &str, method: Method, path: &str, body: Value| {
        server
            .anonymous(method, path)
            .header("X-StorageApi-Token", token)
            .json(&body)
            .send()
            .unwrap()
    };
    let writes = [
        (Method::POST, format!("{BASE}/acme.a/configs"), json!({})),
        (
            Method::PUT,
            format!("{BASE}/acme.a/configs/c1"),
            json!({"name": "x"}),
        ),
        (
            Method::DELETE,
            format!("{BASE}/acme.a/configs/c1"),
            json!({}),
        ),
        (
            Method::PUT,
            format!("{BASE}/acme.a/configs/c1/state"),
            json!({"state": {}}),
        ),
        (
            Method::POST,
            format!("{BASE}/acme.a/configs/c1/rows"),
            json!({}),
        ),
        (
            Method::PUT,
            format!("{BASE}/acme.a/configs/c1/rows/r"),
            json!({}),
        ),
        (
            Method::DELETE,
            format!("{BASE}/acme.a/configs/c1/rows/r"),
            json!({}),
        ),
    ];
    for (method, path, body) in &writes {
        let message = error_of(send(&reader, method.clone(), path, body.clone()), 403);
        assert!(message.contains("read-only"), "{method} {path}: {message}");
        let message = error_of(send(&limited, method.clone(), path, body.clone()), 403);
        assert_eq!(
            message, "The token has no access to component \"acme.a\".",
            "{method} {path}"
        );
    }
    for path in [
        format!("{BASE}/acme.a/configs"),
        format!("{BASE}/acme.a/configs/c1"),
        format!("{BASE}/acme.a/configs/c1/rows"),
    ] {
        assert_eq!(send(&reader, Method::GET, &path, json!({})).status(), 200);
        assert_eq!(
            error_of(send(&limited, Method::GET, &path, json!({})), 403),
            "The token has no access to component \"acme.a\"."
        );
    }
    // A limited token sees only its components.
    let listed: Value = send(&limited, Method::GET, "/v2/storage/components", json!({}))
        .json()
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], "acme.b");
    let listed: Value = send(&limited, Method::GET, "/components", json!({}))
        .json()
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Component definitions: only admins write.
    let definition = json!({"id": "acme.c", "image": "c.wasm"});
    for (method, path) in [
        (Method::POST, "/components"),
        (Method::PUT, "/components/acme.a"),
        (Method::DELETE, "/components/acme.a"),
    ] {
        assert_eq!(
            error_of(send(&writer, method.clone(), path, definition.clone()), 403),
            "This call needs an admin token.",
            "{method} {path}"
        );
    }
    for (method, path) in [
        (Method::GET, "/v2/storage/components"),
        (Method::POST, "/v2/storage/components/acme.a/configs"),
        (Method::GET, "/v2/storage/dev-branches"),
        (Method::GET, "/components"),
        (Method::POST, "/components"),
    ] {
        let message = error_of(server.anonymous(method.clone(), path).send().unwrap(), 401);
        assert!(
            message.contains("Access token must be set"),
            "{method} {path}: {message}"
        );
    }
}

#[test]
fn component_definitions_over_http() {
    let server = server();
    let created = ok(
        server.post(
            "/components",
            json!({"id": "acme.c", "image": "c.wasm", "image_parameters": {"#key": "def-secret-1"}}),
        ),
        201,
    );
    assert_eq!(created["id"], "acme.c");
    assert!(
        created["image_parameters"]["#key"]
            .as_str()
            .unwrap()
            .starts_with("KBC::ComponentSecure::"),
        "{created}"
    );
    assert_eq!(
        error_of(
            server.post("/components", json!({"id": "acme.c", "image": "c.wasm"})),
            409
        ),
        "component \"acme.c\" already exists (PUT /components/acme.c changes it)"
    );
    // Unknown keys are ignored, as the reference says, and named in a header.
    let response = server.post(
        "/components",
        json!({"id": "acme.d", "image": "d", "colour": 1}),
    );
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["berth-ignored-keys"].to_str().unwrap(),
        "colour"
    );
    let created: Value = response.json().unwrap();
    assert!(created.get("colour").is_none(), "{created}");
    assert_eq!(ok(server.get("/components/acme.c"), 200)["image"], "c.wasm");
    assert_eq!(
        error_of(server.get("/components/acme.zzz"), 404),
        "component \"acme.zzz\" does not exist"
    );

    let put = |path: &str, body: Value| {
        server
            .request(Method::PUT, path)
            .json(&body)
            .send()
            .unwrap()
    };
    let updated = ok(
        put(
            "/components/acme.c",
            json!({"id": "acme.c", "image": "c2.wasm", "name": "C"}),
        ),
        200,
    );
    assert_eq!(updated["image"], "c2.wasm");
    assert_eq!(
        error_of(
            put(
                "/components/acme.c",
                json!({"id": "acme.x", "image": "c.wasm"})
            ),
            400
        ),
        "The definition's id \"acme.x\" is not the component \"acme.c\" of the path."
    );
    assert_eq!(
        error_of(
            put(
                "/components/acme.zzz",
                json!({"id": "acme.zzz", "image": "c.wasm"})
            ),
            404
        ),
        "component \"acme.zzz\" does not exist"
    );

    ok(
        server.send_json(
            Method::POST,
            &format!("{BASE}/acme.c/configs"),
            json!({"configurationId": "c1"}),
        ),
        201,
    );
    let delete = |path: &str| server.request(Method::DELETE, path).send().unwrap();
    assert_eq!(
        error_of(delete("/components/acme.c"), 409),
        "component \"acme.c\" has 1 configuration(s) (c1); remove them first, or force the removal (`berth component rm --force`, `?force=true`) to delete them with it"
    );
    assert_eq!(ok(server.get("/components/acme.c"), 200)["id"], "acme.c");
    let removed = ok(delete("/components/acme.c?force=true"), 200);
    assert_eq!(removed, json!({"id": "acme.c", "removedConfigurations": 1}));
    assert_eq!(
        error_of(delete("/components/acme.c"), 404),
        "component \"acme.c\" does not exist"
    );
}

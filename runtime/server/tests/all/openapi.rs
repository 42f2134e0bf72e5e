//! `GET /openapi.json`: served without a token; it reads back as an OpenAPI 3.1 document
//! (utoipa's own model, plus the structural rules checked here: version, info, every operation
//! with responses, every `{param}` of a path declared, every `$ref` resolved); and its
//! operations are exactly the routes the router registers — read from the router's source
//! (`src/routes.rs`, `src/routes/storage_api.rs`), and each one checked against the live server
//! (it answers, not the router's bare 404/405).

use std::collections::BTreeSet;

use components_artifacts as guests;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::Server;

/// The files whose `.route("PATH", get(..).post(..))` calls build the router.
const ROUTER_SOURCES: [&str; 2] = [
    include_str!("../../src/routes.rs"),
    include_str!("../../src/routes/storage_api.rs"),
];

/// `(METHOD, path)` of every `.route(...)` call in `source`.
fn routes_in(source: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let start = rest.find('"').expect("a route path literal");
        let end = start + 1 + rest[start + 1..].find('"').expect("the literal's end");
        let path = &rest[start + 1..end];
        // The call's text up to its closing parenthesis.
        let mut depth = 1;
        let mut close = end + 1;
        for (i, c) in rest[end + 1..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                close = end + 1 + i;
                break;
            }
        }
        let call = &rest[end + 1..close];
        for method in ["get", "post", "put", "delete", "patch"] {
            let needle = format!("{method}(");
            let found = call.match_indices(&needle).any(|(i, _)| {
                i == 0
                    || !call[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if found {
                out.insert((method.to_uppercase(), path.to_owned()));
            }
        }
        rest = &rest[close..];
    }
    out
}

fn registered() -> BTreeSet<(String, String)> {
    ROUTER_SOURCES.iter().flat_map(|s| routes_in(s)).collect()
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_route_reader_reads_methods_and_paths() {
    let found = routes_in(
        r#"Router::new().route("/a/{id}", get(show).put(update_it).delete(delete_a))
           .route("/b", axum::routing::delete(get_b)) .route(
               "/c",
               post(c),
           )"#,
    );
    let expected: BTreeSet<(String, String)> = [
        ("GET", "/a/{id}"),
        ("PUT", "/a/{id}"),
        ("DELETE", "/a/{id}"),
        ("DELETE", "/b"),
        ("POST", "/c"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(found, expected);
    // The real router: at least the routes every family must have.
    let routes = registered();
    for route in [
        ("GET", "/health"),
        ("POST", "/jobs"),
        ("GET", "/openapi.json"),
        (
            "PUT",
            "/v2/storage/branch/{branch}/components/{component}/configs/{config}/state",
        ),
        ("DELETE", "/components/{id}"),
    ] {
        assert!(
            routes.contains(&(route.0.to_owned(), route.1.to_owned())),
            "{route:?} not read from the router: {routes:?}"
        );
    }
}

#[test]
fn the_document_covers_every_route_and_parses_as_openapi_3() {
    let server = Server::start(1, |env| {
        env.component("acme.a", guests::WRITE_OUTPUTS, json!({}));
    });
    let response = server
        .anonymous(Method::GET, "/openapi.json")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "served without a token");
    let text = response.text().unwrap();

    let _: utoipa::openapi::OpenApi =
        serde_json::from_str(&text).expect("the document reads back as an OpenAPI document");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1."), "{version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with('/'), "{path}");
        let declared_on_path: Vec<&str> = item["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            if !matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch") {
                continue;
            }
            documented.insert((method.to_uppercase(), path.clone()));
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path}: no responses"
            );
            let declared: Vec<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .chain(declared_on_path.iter().copied())
                .collect();
            for segment in path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    assert!(
                        declared.contains(&name),
                        "{method} {path}: path parameter {name} not declared"
                    );
                }
            }
        }
    }
    let routes = registered();
    let missing: Vec<_> = routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes not in the document: {missing:?}; documented but not routed: {extra:?}"
    );

    // Every reference points at a schema the document has.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for reference in all {
        let pointer = reference.trim_start_matches('#');
        assert!(
            doc.pointer(pointer).is_some(),
            "dangling reference {reference}"
        );
    }
    // The token scheme is declared, and /health needs none.
    assert_eq!(
        doc["components"]["securitySchemes"]["storage_api_token"]["name"],
        "X-StorageApi-Token"
    );
    assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([{}]));

    // Each route answers on the live server: a handler's answer, never the router's bare
    // 404 (no such path) or 405 (no such method).
    for (method, path) in &routes {
        let concrete = path
            .replace("{branch}", "default")
            .replace("{component}", "acme.a")
            .replace("{config}", "nope")
            .replace("{row}", "nope")
            .replace("{id}", "nope")
            .replace("{tag}", "latest")
            .replace("{action}", "nope");
        let response = server
            .request(method.parse().unwrap(), &concrete)
            .json(&json!({}))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().unwrap();
        assert_ne!(status, 405, "{method} {concrete}: not routed");
        assert!(
            !(status == 404 && body.is_empty()),
            "{method} {concrete}: the router's 404"
        );
    }
}

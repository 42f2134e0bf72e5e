//! Storage tables and files over real HTTP: round trips with bodies larger than the JSON body
//! limit (16 MiB), streamed in both directions; the home's `[limits]` still bound uploads;
//! read-only tokens read but do not change; errors are clean JSON with clear texts.

use std::io::{Read, Write};

use reqwest::Method;
use reqwest::blocking::Body;
use serde_json::{Value, json};

use crate::support::{Server, error_of};

/// More than the server's JSON body limit.
const LARGE: usize = 17 * 1024 * 1024;

/// A CSV of `id,name,amount` with at least `bytes` bytes, and its row count.
fn large_csv(bytes: usize) -> (Vec<u8>, usize) {
    let mut csv = b"id,name,amount\n".to_vec();
    let mut rows = 0;
    while csv.len() < bytes {
        writeln!(csv, "{rows},name-{rows}-{},{}", "x".repeat(40), rows * 7).unwrap();
        rows += 1;
    }
    (csv, rows)
}

/// A reader that yields `content` in small pieces, so reqwest sends it chunked (no length).
struct Chunked(std::io::Cursor<Vec<u8>>);

impl Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(64 * 1024);
        self.0.read(&mut buf[..n])
    }
}

fn chunked(content: Vec<u8>) -> Body {
    Body::new(Chunked(std::io::Cursor::new(content)))
}

#[test]
fn a_table_larger_than_the_json_limit_round_trips() {
    let server = Server::start(1, |_| {});
    let (csv, rows) = large_csv(LARGE);
    assert!(csv.len() > 16 * 1024 * 1024);
    // Chunked: the server cannot size anything from a Content-Length.
    let imported = server
        .request(Method::POST, "/tables/in.c-big.rows/import?primaryKey=id")
        .header("content-type", "text/csv")
        .body(chunked(csv.clone()))
        .send()
        .unwrap();
    assert_eq!(imported.status(), 201, "{:?}", imported.text());
    let report: Value = imported.json().unwrap();
    assert_eq!(report["rows_imported"], rows);
    assert_eq!(report["rows"], rows);

    let shown: Value = server.get("/tables/in.c-big.rows").json().unwrap();
    assert_eq!(shown["id"], "in.c-big.rows");
    assert_eq!(shown["columns"], json!(["id", "name", "amount"]));
    assert_eq!(shown["primary_key"], json!(["id"]));
    assert_eq!(shown["rows"], rows);
    let listed: Vec<Value> = server.get("/tables").json().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], "in.c-big.rows");

    let export = server.get("/tables/in.c-big.rows/export");
    assert_eq!(export.status(), 200);
    assert_eq!(export.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        export.headers().get("content-length").is_none(),
        "the export is streamed, not buffered and sized"
    );
    let exported = export.bytes().unwrap();
    let mut lines = exported.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    assert_eq!(lines.next().unwrap(), b"\"id\",\"name\",\"amount\"");
    let body: Vec<&[u8]> = lines.collect();
    assert_eq!(body.len(), rows);
    let mut ids: Vec<usize> = body
        .iter()
        .map(|l| {
            let text = std::str::from_utf8(l).unwrap();
            text.split(',')
                .next()
                .unwrap()
                .trim_matches('"')
                .parse()
                .unwrap()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..rows).collect::<Vec<_>>());

    // The CLI's export options: columns, where, limit.
    let some = server
        .get("/tables/in.c-big.rows/export?columns=id,amount&whereColumn=id&whereValues=3&whereValues=5")
        .text()
        .unwrap();
    let mut some_lines: Vec<&str> = some.lines().collect();
    some_lines[1..].sort_unstable();
    assert_eq!(
        some_lines,
        ["\"id\",\"amount\"", "\"3\",\"21\"", "\"5\",\"35\""]
    );
    let limited = server
        .get("/tables/in.c-big.rows/export?limit=2")
        .text()
        .unwrap();
    assert_eq!(limited.lines().count(), 3);

    // Incremental import with a delimiter: upserts by the primary key.
    let upsert = server
        .request(
            Method::POST,
            "/tables/in.c-big.rows/import?incremental=true&delimiter=;",
        )
        .body("id;name;amount\n3;changed;0\n")
        .send()
        .unwrap();
    assert_eq!(upsert.status(), 200, "{:?}", upsert.text());
    assert_eq!(upsert.json::<Value>().unwrap()["rows"], rows);
    let three = server
        .get("/tables/in.c-big.rows/export?whereColumn=id&whereValues=3")
        .text()
        .unwrap();
    assert_eq!(
        three,
        "\"id\",\"name\",\"amount\"\n\"3\",\"changed\",\"0\"\n"
    );

    let removed = server
        .request(Method::DELETE, "/tables/in.c-big.rows")
        .send()
        .unwrap();
    assert_eq!(removed.status(), 204);
    let gone = error_of(server.get("/tables/in.c-big.rows"), 404);
    assert!(gone.contains("in.c-big.rows"), "{gone}");
}

#[test]
fn a_file_larger_than_the_json_limit_round_trips() {
    let server = Server::start(1, |_| {});
    let content: Vec<u8> = (0..LARGE).map(|i| (i * 31 % 251) as u8).collect();
    let uploaded = server
        .request(
            Method::POST,
            "/files?name=big.bin&tag=raw&tag=2026&permanent=true",
        )
        .body(chunked(content.clone()))
        .send()
        .unwrap();
    assert_eq!(uploaded.status(), 201, "{:?}", uploaded.text());
    let file: Value = uploaded.json().unwrap();
    let id = file["id"].as_u64().unwrap();
    assert_eq!(file["name"], "big.bin");
    assert_eq!(file["size_bytes"], LARGE);
    assert_eq!(file["tags"], json!(["raw", "2026"]));
    assert_eq!(file["is_permanent"], true);
    server.env.upload("other.txt", "small", &["other"], None);

    let by_tag: Vec<Value> = server.get("/files?tag=raw").json().unwrap();
    assert_eq!(by_tag.len(), 1);
    assert_eq!(by_tag[0]["id"], id);
    let all: Vec<Value> = server.get("/files").json().unwrap();
    assert_eq!(all.len(), 2);
    let by_query: Vec<Value> = server.get("/files?query=tags:other").json().unwrap();
    assert_eq!(by_query.len(), 1);
    assert_eq!(by_query[0]["name"], "other.txt");
    let shown: Value = server.get(&format!("/files/{id}")).json().unwrap();
    assert_eq!(shown, file);

    let downloaded = server.get(&format!("/files/{id}/download"));
    assert_eq!(downloaded.status(), 200);
    let bytes = downloaded.bytes().unwrap();
    assert_eq!(bytes.len(), content.len());
    assert!(
        bytes[..] == content[..],
        "the download differs from the upload"
    );

    let tagged: Value = server
        .post(
            &format!("/files/{id}/tags"),
            json!({"tags": ["done", "raw"]}),
        )
        .json()
        .unwrap();
    assert_eq!(tagged["tags"], json!(["raw", "2026", "done"]));
    let untagged = server
        .request(Method::DELETE, &format!("/files/{id}/tags/raw"))
        .send()
        .unwrap();
    assert_eq!(untagged.status(), 200);
    assert_eq!(
        untagged.json::<Value>().unwrap()["tags"],
        json!(["2026", "done"])
    );
    assert_eq!(server.env.file_tags(id), ["2026", "done"]);
}

#[test]
fn uploads_obey_the_homes_limits() {
    let server = Server::start(1, |env| {
        std::fs::write(
            env.home.settings_file(),
            "[limits]\noutput_bytes = \"1m\"\ncsv_field_bytes = \"1k\"\n",
        )
        .unwrap();
    });
    let two_mib = vec![b'a'; 2 << 20];
    // Chunked: stopped while streaming.
    let message = error_of(
        server
            .request(Method::POST, "/files?name=big.bin")
            .body(chunked(two_mib.clone()))
            .send()
            .unwrap(),
        413,
    );
    assert_eq!(
        message,
        "The file is larger than the home's limit of 1048576 bytes (output_bytes in the home's \
         [limits])."
    );
    // Sized: refused before reading.
    let message = error_of(
        server
            .request(Method::POST, "/tables/in.c-a.b/import")
            .body(two_mib)
            .send()
            .unwrap(),
        413,
    );
    assert!(message.starts_with("The CSV is larger"), "{message}");
    // The longest CSV field.
    let long_field = format!("a\n{}\n", "x".repeat(2000));
    let message = error_of(
        server
            .request(Method::POST, "/tables/in.c-a.b/import")
            .body(long_field)
            .send()
            .unwrap(),
        400,
    );
    assert!(message.contains("1024"), "{message}");
    // Nothing was stored, and no staged body is left behind.
    assert!(
        server
            .get("/files")
            .json::<Vec<Value>>()
            .unwrap()
            .is_empty()
    );
    assert!(
        server
            .get("/tables")
            .json::<Vec<Value>>()
            .unwrap()
            .is_empty()
    );
    let staged: Vec<_> = std::fs::read_dir(server.env.home.root().join("tmp"))
        .unwrap()
        .collect();
    assert!(staged.is_empty(), "{staged:?}");
}

#[test]
fn read_only_tokens_read_but_do_not_change() {
    let server = Server::start(1, |env| {
        env.import("in.c-a.t", "id\n1\n");
        env.upload("f.txt", "hello", &["t"], None);
    });
    let reader = server.token(json!({"description": "reader", "readOnly": true}));
    let as_reader = |method: Method, path: &str| {
        server
            .anonymous(method, path)
            .header(berth_server::TOKEN_HEADER, &reader)
    };
    for path in [
        "/tables",
        "/tables/in.c-a.t",
        "/tables/in.c-a.t/export",
        "/files",
        "/files/1",
        "/files/1/download",
    ] {
        let response = as_reader(Method::GET, path).send().unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let refused = "The token is read-only: it cannot run jobs or actions or change anything.";
    for (method, path) in [
        (Method::POST, "/tables/in.c-a.t/import"),
        (Method::DELETE, "/tables/in.c-a.t"),
        (Method::POST, "/files?name=x"),
        (Method::POST, "/files/1/tags"),
        (Method::DELETE, "/files/1/tags/t"),
    ] {
        let response = as_reader(method, path)
            .header("content-type", "application/json")
            .body(r#"{"tags":["x"]}"#)
            .send()
            .unwrap();
        assert_eq!(error_of(response, 403), refused, "{path}");
    }
    assert_eq!(server.env.table("in.c-a.t").unwrap(), "\"id\"\n\"1\"\n");
    assert_eq!(server.env.file_tags(1), ["t"]);
    // No token at all.
    let anonymous = server.anonymous(Method::GET, "/tables").send().unwrap();
    error_of(anonymous, 401);
}

#[test]
fn bad_requests_get_clear_errors() {
    let server = Server::start(1, |env| {
        env.import("in.c-a.t", "id\n1\n");
    });
    let message = error_of(server.get("/tables/not-a-table"), 400);
    assert!(message.contains("not-a-table"), "{message}");
    let message = error_of(server.get("/tables/in.c-a.missing/export"), 404);
    assert!(message.contains("in.c-a.missing"), "{message}");
    let message = error_of(server.get("/tables/in.c-a.t/export?columns=nope"), 400);
    assert!(message.contains("nope"), "{message}");
    let message = error_of(server.get("/tables/in.c-a.t/export?limit=-1"), 400);
    assert_eq!(
        message,
        "The query parameter \"limit\" must be a non-negative number, not \"-1\"."
    );
    let message = error_of(
        server.get("/tables/in.c-a.t/export?whereColumn=id&whereValues=1&whereOperator=lt"),
        400,
    );
    assert!(message.contains("\"lt\""), "{message}");
    let message = error_of(
        server
            .request(Method::POST, "/tables/in.c-a.t/import?delimiter=;;")
            .body("id\n2\n")
            .send()
            .unwrap(),
        400,
    );
    assert!(message.contains("delimiter"), "{message}");
    let message = error_of(
        server
            .request(Method::POST, "/tables/in.c-a.t/import?incremental=maybe")
            .body("id\n2\n")
            .send()
            .unwrap(),
        400,
    );
    assert!(message.contains("incremental"), "{message}");
    let message = error_of(
        server
            .request(Method::POST, "/tables/in.c-a.t/import")
            .body("id,id\n2,2\n")
            .send()
            .unwrap(),
        400,
    );
    assert!(!message.is_empty());
    assert_eq!(server.env.table("in.c-a.t").unwrap(), "\"id\"\n\"1\"\n");
    let message = error_of(
        server
            .request(Method::POST, "/files")
            .body("x")
            .send()
            .unwrap(),
        400,
    );
    assert_eq!(
        message,
        "Name the file: the query parameter \"name\" is missing."
    );
    error_of(server.get("/files/0"), 400);
    error_of(server.get("/files/99"), 404);
    error_of(server.get("/files/99/download"), 404);
    let message = error_of(server.post("/files/99/tags", json!({"tags": []})), 400);
    assert_eq!(message, "Give at least one tag (\"tags\").");
}

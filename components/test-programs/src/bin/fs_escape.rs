//! Tries every way out of /data it knows and reports each attempt as one JSON object on stdout:
//! `{"attempt": "ok: …" | "error: …"}`. The host test asserts that every attempt failed and that
//! the control read inside /data worked.
use std::collections::BTreeMap;
use std::fs;

fn attempt(result: std::io::Result<String>) -> String {
    match result {
        Ok(what) => format!("ok: {what}"),
        Err(error) => format!("error: {error}"),
    }
}

fn main() {
    let mut report = BTreeMap::new();
    report.insert(
        "control_config",
        attempt(fs::read_to_string("/data/config.json").map(|s| format!("{} bytes", s.len()))),
    );
    report.insert("etc_passwd", attempt(fs::read_to_string("/etc/passwd")));
    report.insert(
        "dotdot_traversal",
        attempt(fs::read_to_string("/data/../../../../etc/passwd")),
    );
    report.insert(
        "relative_traversal",
        attempt(fs::read_to_string("../etc/passwd")),
    );
    report.insert(
        "symlink_out",
        attempt(fs::read_to_string("/data/in/link-to-outside")),
    );
    report.insert(
        "symlink_dir_out",
        attempt(fs::read_to_string("/data/in/dir-link/secret.txt")),
    );
    report.insert(
        "write_outside",
        attempt(fs::write("/tmp/escaped.txt", "x").map(|()| "written".to_owned())),
    );
    report.insert(
        "list_root",
        attempt(fs::read_dir("/").map(|d| format!("{} entries", d.count()))),
    );
    let fields: Vec<String> = report
        .iter()
        .map(|(k, v)| format!("{:?}:{:?}", k, v))
        .collect();
    println!("{{{}}}", fields.join(","));
}

//! A configuration author's worst: a file query nested far past the parser's limit, a
//! configuration nested past serde_json's recursion limit, a configuration file larger than the
//! limit. Each: exit 1 naming the limit, bounded memory and time, Storage unchanged.

use berth_job::testing::Env;
use components_artifacts as guests;
use serde_json::json;

use crate::hostile_output::snapshot;
use crate::hostile_support::{Measured, measure};
use crate::support::berth;

fn run_data(env: &Env, document: &str) -> Measured {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, document).unwrap();
    let before = snapshot(env);
    let mut command = berth();
    command
        .arg("--home")
        .arg(env.root())
        .args(["run", "acme.writer", "--config-data"])
        .arg(&path);
    let m = measure(command);
    assert_eq!(snapshot(env), before, "Storage changed: {m:#?}");
    m
}

#[test]
fn hostile_configurations_are_refused_by_their_limits() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let query = format!("{}tags:x{}", "(".repeat(200_000), ")".repeat(200_000));
    let deep_query = json!({"storage": {"input": {"files": [{"query": query}]}}});
    run_data(&env, &deep_query.to_string()).assert_refused(
        "file query nested 200,000 levels",
        1,
        &["nests deeper than 64 levels"],
    );
    let deep_json = format!(
        "{{\"parameters\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    run_data(&env, &deep_json).assert_refused(
        "configuration nested 100,000 levels",
        1,
        &["recursion limit exceeded"],
    );
    let huge = format!(
        "{{\"parameters\": {{\"x\": \"{}\"}}}}",
        "x".repeat((16 << 20) + 1)
    );
    run_data(&env, &huge).assert_refused(
        "configuration of 16 MiB",
        1,
        &["larger than the limit of 16777216 bytes"],
    );
}

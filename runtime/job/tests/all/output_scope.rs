//! Output scope (seeds 001/002): a job writes only the tables its configuration's output mapping
//! names, plus its default bucket; a manifest or file name pointing anywhere else fails the job
//! with a user error naming the table, and nothing is loaded. `"output_scope": "any"` on the
//! component definition restores Keboola's behaviour.

use components_artifacts as guests;
use serde_json::json;

use berth_job::testing::{Env, writes};

#[test]
fn a_manifest_destination_outside_the_mapping_fails_and_loads_nothing() {
    let env = Env::new();
    env.import("out.c-victim.accounts", "id,owner\n1,alice\n");
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let job = env.run_data(
        "acme.writer",
        writes(
            &[
                ("out/tables/ok.csv", "a\n1\n"),
                ("out/tables/evil.csv", "id,owner\n1,mallory\n"),
                (
                    "out/tables/evil.csv.manifest",
                    r#"{"destination": "out.c-victim.accounts"}"#,
                ),
            ],
            0,
            json!({"output": {"tables": [{"source": "ok.csv", "destination": "out.c-main.ok"}]}}),
        ),
    );
    let message = job.assert_error("user");
    assert!(
        message.starts_with(
            r#"Output table "out.c-victim.accounts" (from "evil.csv") is not in the configuration's output mapping"#
        ),
        "{message}"
    );
    // Nothing loaded: neither the mapped table nor the victim changed.
    assert!(env.table("out.c-main.ok").is_none());
    assert_eq!(
        env.table("out.c-victim.accounts").unwrap(),
        berth_job::testing::csv(&[&["id", "owner"], &["1", "alice"]])
    );
}

#[test]
fn a_file_named_after_a_table_is_refused_without_a_mapping() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let job = env.run_data(
        "acme.writer",
        writes(
            &[("out/tables/in.c-main.named.csv", "a\n1\n")],
            0,
            json!({}),
        ),
    );
    let message = job.assert_error("user");
    assert!(message.contains(r#""in.c-main.named""#), "{message}");
    assert!(env.table("in.c-main.named").is_none());
}

#[test]
fn the_component_default_bucket_is_in_scope_and_other_buckets_are_not() {
    let env = Env::new();
    env.component(
        "acme.ex-db",
        guests::WRITE_OUTPUTS,
        json!({"default_bucket": true}),
    )
    .config(
        "acme.ex-db",
        "cfg1",
        writes(&[("out/tables/data.csv", "a\n1\n")], 0, json!({})),
    )
    .config(
        "acme.ex-db",
        "cfg2",
        writes(
            &[
                ("out/tables/data.csv", "a\n1\n"),
                (
                    "out/tables/data.csv.manifest",
                    r#"{"destination": "in.c-acme-ex-db-cfg1.data"}"#,
                ),
            ],
            0,
            json!({}),
        ),
    );
    env.run_stored("acme.ex-db", "cfg1").assert_success();
    assert!(env.table("in.c-acme-ex-db-cfg1.data").is_some());
    // Another configuration's bucket is not this job's default bucket.
    let message = env.run_stored("acme.ex-db", "cfg2").assert_error("user");
    assert!(
        message.contains(r#""in.c-acme-ex-db-cfg1.data""#)
            && message.contains(r#"the bucket "in.c-acme-ex-db-cfg2""#),
        "{message}"
    );
}

#[test]
fn the_configured_default_bucket_is_in_scope() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    env.run_data(
        "acme.writer",
        writes(
            &[("out/tables/t.csv", "a\n1\n")],
            0,
            json!({"output": {"default_bucket": "out.c-mine"}}),
        ),
    )
    .assert_success();
    assert!(env.table("out.c-mine.t").is_some());
}

#[test]
fn output_scope_any_writes_where_the_manifest_points() {
    let env = Env::new();
    env.component(
        "acme.trusted",
        guests::WRITE_OUTPUTS,
        json!({"output_scope": "any"}),
    );
    env.run_data(
        "acme.trusted",
        writes(
            &[
                ("out/tables/t.csv", "a\n1\n"),
                (
                    "out/tables/t.csv.manifest",
                    r#"{"destination": "out.c-anywhere.t"}"#,
                ),
            ],
            0,
            json!({}),
        ),
    )
    .assert_success();
    assert!(env.table("out.c-anywhere.t").is_some());
}

#[test]
fn write_always_tables_of_a_failed_job_are_scoped_too() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let job = env.run_data(
        "acme.writer",
        writes(
            &[
                ("out/tables/t.csv", "a\n1\n"),
                (
                    "out/tables/t.csv.manifest",
                    r#"{"destination": "out.c-else.t", "write_always": true}"#,
                ),
            ],
            1,
            json!({}),
        ),
    );
    job.assert_error("user");
    assert!(env.table("out.c-else.t").is_none());
}

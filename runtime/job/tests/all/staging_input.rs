//! Input mapping through whole jobs (reference §1.2, §2.2, §2.3, §4; §11 items 46–54): every
//! input-table key, adaptive loads, and file selection by tags, source tags, query, ids, limit,
//! run id, with `processed_tags` added only after a successful job. The `write_outputs` guest
//! runs with the data folder kept, so the tests read `in/` as the component saw it.

use berth_job::{ConfigSource, JobRequest};
use berth_storage::Clock;
use components_artifacts as guests;
use serde_json::{Value, json};
use time::macros::datetime;

use berth_job::testing::{Env, csv};

const SOURCE: &str = "in.c-main.source";

fn env() -> Env {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}))
        .import(SOURCE, "id,name,status\n1,a,open\n2,b,closed\n3,c,open\n");
    env
}

fn with_input(tables: Value, files: Value) -> Value {
    json!({"storage": {"input": {"tables": tables, "files": files}}})
}

#[test]
fn a_table_is_exported_as_quoted_csv_with_a_manifest_under_its_id() {
    let env = env();
    let job = env.run_data(
        "acme.writer",
        with_input(json!([{"source": SOURCE}]), json!([])),
    );
    job.assert_success();
    assert_eq!(
        job.read("in/tables/in.c-main.source"),
        csv(&[
            &["id", "name", "status"],
            &["1", "a", "open"],
            &["2", "b", "closed"],
            &["3", "c", "open"]
        ])
    );
    let manifest = job.json("in/tables/in.c-main.source.manifest");
    assert_eq!(manifest["id"], SOURCE);
    assert_eq!(manifest["name"], "source");
    assert_eq!(manifest["columns"], json!(["id", "name", "status"]));
    assert_eq!(manifest["primary_key"], json!([]));
    assert!(manifest["last_import_date"].is_string());
}

#[test]
fn columns_filters_and_limit_select_what_is_exported() {
    let env = env();
    let job = env.run_data(
        "acme.writer",
        with_input(
            json!([
                {"source": SOURCE, "destination": "cols.csv", "columns": ["status", "id"]},
                {"source": SOURCE, "destination": "eq.csv", "where_column": "status", "where_values": ["open"]},
                {"source": SOURCE, "destination": "ne.csv", "where_column": "status", "where_values": ["open"], "where_operator": "ne"},
                {"source": SOURCE, "destination": "limit.csv", "limit": 1},
                {"source": SOURCE, "destination": "typed.csv", "column_types": [{"source": "name", "type": "VARCHAR"}]},
                {"source": SOURCE, "destination": "days.csv", "days": 2},
                {"source": SOURCE, "destination": "future.csv", "changed_since": "+1 day"}]),
            json!([]),
        ),
    );
    job.assert_success();
    assert_eq!(
        job.read("in/tables/cols.csv"),
        csv(&[
            &["status", "id"],
            &["open", "1"],
            &["closed", "2"],
            &["open", "3"]
        ])
    );
    assert_eq!(
        job.read("in/tables/eq.csv"),
        csv(&[
            &["id", "name", "status"],
            &["1", "a", "open"],
            &["3", "c", "open"]
        ])
    );
    assert_eq!(
        job.read("in/tables/ne.csv"),
        csv(&[&["id", "name", "status"], &["2", "b", "closed"]])
    );
    assert_eq!(job.read("in/tables/limit.csv").lines().count(), 2);
    assert_eq!(
        job.read("in/tables/typed.csv"),
        csv(&[&["name"], &["a"], &["b"], &["c"]])
    );
    assert_eq!(
        job.read("in/tables/days.csv").lines().count(),
        4,
        "imported just now: within 2 days"
    );
    assert_eq!(
        job.read("in/tables/future.csv"),
        csv(&[&["id", "name", "status"]])
    );
    assert_eq!(job.record().input.tables[2].rows, 1);
}

#[test]
fn an_unparsable_changed_since_is_a_user_error() {
    let env = env();
    let job = env.run_data(
        "acme.writer",
        with_input(
            json!([{"source": SOURCE, "changed_since": "-1 light year"}]),
            json!([]),
        ),
    );
    assert!(
        job.assert_error("user")
            .contains(r#"Invalid changed_since value "-1 light year""#)
    );
}

#[test]
fn adaptive_input_exports_only_rows_changed_since_the_last_job() {
    // The table's rows are written at chosen times, so the test needs no sleep between loads.
    let first = datetime!(2024-03-01 10:00 UTC);
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}))
        .import_at(
            SOURCE,
            "id,name,status\n1,a,open\n2,b,closed\n3,c,open\n",
            Default::default(),
            Clock::Fixed(first),
        );
    env.config(
        "acme.writer",
        "cfg",
        with_input(
            json!([{"source": SOURCE, "destination": "t.csv", "changed_since": "adaptive"}]),
            json!([]),
        ),
    );
    let first_job = env.run_stored("acme.writer", "cfg");
    first_job.assert_success();
    assert_eq!(
        first_job.record().input.tables[0].rows,
        3,
        "no state yet: the whole table"
    );
    let state = env.state("acme.writer", "cfg");
    assert_eq!(state["storage"]["input"]["tables"][0]["source"], SOURCE);
    assert_eq!(
        state["storage"]["input"]["tables"][0]["lastImportDate"],
        "2024-03-01T10:00:00Z"
    );
    // One microsecond after the last import is already "since".
    env.import_at(
        SOURCE,
        "id,name,status\n4,d,new\n",
        berth_storage::ImportOptions {
            incremental: true,
            ..Default::default()
        },
        Clock::Fixed(first + time::Duration::MICROSECOND),
    );
    let second = env.run_stored("acme.writer", "cfg");
    second.assert_success();
    assert_eq!(
        second.read("in/tables/t.csv"),
        csv(&[&["id", "name", "status"], &["4", "d", "new"]])
    );
    let third = env.run_stored("acme.writer", "cfg");
    assert_eq!(third.record().input.tables[0].rows, 0);
}

#[test]
fn files_are_selected_by_tags_source_tags_query_and_ids() {
    let env = env();
    let a = env.upload("a.txt", "A", &["alpha", "common"], None);
    let b = env.upload("b.txt", "B", &["beta", "common"], None);
    let c = env.upload("c.zip", "C", &["alpha", "done"], None);
    let job = env.run_data(
        "acme.writer",
        with_input(json!([]), json!([{"tags": ["alpha"]}])),
    );
    job.assert_success();
    assert_eq!(job.read(&format!("in/files/{a}_a.txt")), "A");
    let manifest = job.json(&format!("in/files/{c}_c.zip.manifest"));
    assert_eq!(manifest["id"], c);
    assert_eq!(manifest["name"], "c.zip");
    assert_eq!(manifest["tags"], json!(["alpha", "done"]));
    assert_eq!(manifest["size_bytes"], 1);
    assert_eq!(job.record().input.files.len(), 2);

    let ids = |files: Value| -> Vec<u64> {
        let job = env.run_data("acme.writer", with_input(json!([]), files));
        job.assert_success();
        let mut ids: Vec<u64> = job.record().input.files.iter().map(|f| f.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(
            json!([{"source": {"tags": [{"name": "common"}, {"name": "beta", "match": "exclude"}]}}])
        ),
        [a]
    );
    assert_eq!(ids(json!([{"query": "name:c.zip"}])), [c]);
    assert_eq!(
        ids(
            json!([{"query": "tags:alpha", "source": {"tags": [{"name": "done", "match": "exclude"}]}}])
        ),
        [a]
    );
    assert_eq!(ids(json!([{"file_ids": [b, c]}])), [b, c]);
    assert_eq!(
        ids(json!([{"tags": ["common"], "limit": 1}])),
        [b],
        "newest first"
    );
}

#[test]
fn a_file_mapping_downloads_ten_files_unless_told_otherwise() {
    let env = env();
    for i in 0..12 {
        env.upload(&format!("f{i}.txt"), "x", &["many"], None);
    }
    let job = env.run_data(
        "acme.writer",
        with_input(json!([]), json!([{"tags": ["many"]}])),
    );
    assert_eq!(job.record().input.files.len(), 10);
    let job = env.run_data(
        "acme.writer",
        with_input(json!([]), json!([{"tags": ["many"], "limit": 12}])),
    );
    assert_eq!(job.record().input.files.len(), 12);
}

#[test]
fn processed_tags_are_added_only_after_a_successful_job() {
    let env = env();
    let id = env.upload("a.txt", "A", &["toprocess"], None);
    let files = json!([{"query": "tags:toprocess AND NOT tags:downloaded", "processed_tags": ["downloaded"]}]);
    let mut failing = with_input(json!([]), files.clone());
    failing["parameters"] = json!({"exit_code": 1});
    env.run_data("acme.writer", failing).assert_error("user");
    assert!(!env.file_tags(id).contains(&"downloaded".to_owned()));
    let job = env.run_data("acme.writer", with_input(json!([]), files.clone()));
    job.assert_success();
    assert_eq!(job.record().input.files.len(), 1);
    assert!(env.file_tags(id).contains(&"downloaded".to_owned()));
    let again = env.run_data("acme.writer", with_input(json!([]), files));
    assert!(
        again.record().input.files.is_empty(),
        "the query now excludes it"
    );
}

#[test]
fn filter_by_run_id_takes_only_files_of_this_run_and_its_parents() {
    let env = env();
    let parent = env.upload("p.txt", "P", &["fooBar"], Some("500"));
    env.upload("other.txt", "O", &["fooBar"], Some("600"));
    env.upload("none.txt", "N", &["fooBar"], None);
    let mut request = JobRequest::new(
        "acme.writer",
        ConfigSource::Data(with_input(
            json!([]),
            json!([{"tags": ["fooBar"], "filter_by_run_id": true}]),
        )),
    );
    request.parent_run_id = Some("500".into());
    let job = env.run(request);
    job.assert_success();
    let ids: Vec<u64> = job.record().input.files.iter().map(|f| f.id).collect();
    assert_eq!(ids, [parent]);
}

#[test]
fn adaptive_files_download_only_newer_files() {
    let env = env();
    env.config(
        "acme.writer",
        "cfg",
        with_input(
            json!([]),
            json!([{"tags": ["feed"], "changed_since": "adaptive"}]),
        ),
    );
    env.upload("1.txt", "1", &["feed"], None);
    assert_eq!(
        env.run_stored("acme.writer", "cfg")
            .record()
            .input
            .files
            .len(),
        1
    );
    let newer = env.upload("2.txt", "2", &["feed"], None);
    let job = env.run_stored("acme.writer", "cfg");
    assert_eq!(
        job.record()
            .input
            .files
            .iter()
            .map(|f| f.id)
            .collect::<Vec<_>>(),
        [newer]
    );
    let state = env.state("acme.writer", "cfg");
    assert_eq!(
        state["storage"]["input"]["files"][0]["lastImportId"],
        newer.to_string()
    );
    assert_eq!(
        state["storage"]["input"]["files"][0]["tags"],
        json!([{"name": "feed", "match": "include"}])
    );
}

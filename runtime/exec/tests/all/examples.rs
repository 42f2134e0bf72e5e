//! The example components, built on berth-guest-sdk, run under the WASI executor: the multiplier
//! (parameters, input and output tables, a synchronous action) and the incremental component
//! (state and usage round trips through the SDK and the host-api contract).

use std::path::Path;

use berth_exec::Outcome;
use berth_exec::outcome::action_response;
use components_artifacts as guests;

use berth_exec::testing::{Run, data_dir};

fn write_table(dir: &Path, name: &str, csv: &str) {
    let tables = dir.join("in/tables");
    std::fs::create_dir_all(&tables).unwrap();
    std::fs::create_dir_all(dir.join("out/tables")).unwrap();
    std::fs::write(tables.join(name), csv).unwrap();
}

fn read_table(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn rows(table: &[&[&str]]) -> Vec<Vec<String>> {
    table
        .iter()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn multiplier_multiplies_the_column_of_every_table() {
    let dir = data_dir(&serde_json::json!({"parameters": {"multiplier": 3, "column": "value"}}));
    write_table(
        dir.path(),
        "numbers.csv",
        "\"id\",\"value\"\n\"1\",\"2\"\n\"2\",\"2.5\"\n\"3\",\"\"\n",
    );
    write_table(dir.path(), "more", "id,value,note\n7,-4,\"a, b\"\n");
    let (result, outcome) = Run::new(guests::MULTIPLIER, dir.path()).run();
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    assert_eq!(
        read_table(&dir.path().join("out/tables/numbers.csv")),
        rows(&[&["id", "value"], &["1", "6"], &["2", "7.5"], &["3", ""]])
    );
    assert_eq!(
        read_table(&dir.path().join("out/tables/more")),
        rows(&[&["id", "value", "note"], &["7", "-12", "a, b"]])
    );
}

#[test]
fn multiplier_reports_bad_parameters_as_user_errors() {
    let dir = data_dir(&serde_json::json!({"parameters": {}}));
    write_table(dir.path(), "numbers.csv", "id,value\n1,2\n");
    let (_, outcome) = Run::new(guests::MULTIPLIER, dir.path()).run();
    assert_eq!(
        outcome,
        Outcome::UserError {
            message:
                r#"Parameter "multiplier" is required: set "parameters.multiplier" to a number."#
                    .into()
        }
    );

    let dir = data_dir(&serde_json::json!({"parameters": {"multiplier": 2}}));
    write_table(dir.path(), "numbers.csv", "id,value\n1,abc\n");
    let (_, outcome) = Run::new(guests::MULTIPLIER, dir.path()).run();
    assert_eq!(
        outcome,
        Outcome::UserError {
            message: r#"Table "numbers.csv", row 1, column "value": "abc" is not a number."#.into()
        }
    );
}

#[test]
fn multiplier_answers_its_info_action() {
    let dir = data_dir(&serde_json::json!({"parameters": {"multiplier": 4}, "action": "info"}));
    let (result, outcome) = Run::new(guests::MULTIPLIER, dir.path())
        .action("info")
        .run();
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    assert_eq!(
        action_response(&result.stdout.bytes).unwrap(),
        serde_json::json!({"status": "success", "multiplier": 4})
    );
}

#[test]
fn incremental_round_trips_state_and_usage() {
    let config = serde_json::json!({"parameters": {}});
    let dir = data_dir(&config);
    write_table(dir.path(), "events.csv", "id,name\n1,a\n2,b\n3,c\n");

    let (result, outcome) = Run::new(guests::INCREMENTAL, dir.path()).run();
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    let state = std::fs::read_to_string(dir.path().join("out/state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state, serde_json::json!({"last_id": 3}));
    let usage = std::fs::read_to_string(dir.path().join("out/usage.json")).unwrap();
    let usage = berth_host_api::usage::parse_usage(&usage).expect("strictly valid usage");
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].metric, "rows");
    assert_eq!(usage[0].value, serde_json::json!(3));

    // The next run starts from the stored state: only newer rows come out.
    let next = data_dir(&config);
    write_table(next.path(), "events.csv", "id,name\n2,b\n3,c\n4,d\n");
    std::fs::write(
        next.path().join("in/state.json"),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
    let (result, outcome) = Run::new(guests::INCREMENTAL, next.path()).run();
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    assert_eq!(
        read_table(&next.path().join("out/tables/events.csv")),
        rows(&[&["id", "name"], &["4", "d"]])
    );
    let manifest =
        std::fs::read_to_string(next.path().join("out/tables/events.csv.manifest")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["incremental"], true);
    assert_eq!(manifest["primary_key"], serde_json::json!(["id"]));
    let state = std::fs::read_to_string(next.path().join("out/state.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&state).unwrap(),
        serde_json::json!({"last_id": 4})
    );
}

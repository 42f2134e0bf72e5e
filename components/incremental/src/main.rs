//! `incremental`: an incremental component that uses the state and the usage file.
//!
//! Reads `in/state.json` (`{"last_id": N}`, 0 when there is no state), and for every input table
//! `in/tables/X` writes `out/tables/X` with the rows whose `id` column (an integer) is greater
//! than `N`, loaded incrementally with primary key `id` (both set in the output manifest). It then
//! writes `out/state.json` `{"last_id": <highest id seen>}` and records the usage
//! `{"metric": "rows", "value": <rows emitted>}` in `out/usage.json`.

use std::process::ExitCode;

use berth_guest_sdk::serde_json::{Value, json};
use berth_guest_sdk::{Context, Result, user_error};

/// The column that orders rows.
const ID_COLUMN: &str = "id";

/// `last_id` from the state; a missing state or key is 0.
fn last_id(ctx: &Context) -> Result<i64> {
    match ctx.state_value()?.get("last_id") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| user_error!("Invalid state: \"last_id\" must be an integer, got {v}.")),
    }
}

fn run(ctx: &mut Context) -> Result<()> {
    let since = last_id(ctx)?;
    let mut highest = since;
    let mut emitted: u64 = 0;
    for table in ctx.input_tables()? {
        let records = table.records()?;
        let column = records.column_index(ID_COLUMN).ok_or_else(|| {
            user_error!("Table \"{}\" has no column \"{ID_COLUMN}\".", table.name)
        })?;
        let mut out = ctx
            .output_table(&table.name)
            .header(records.headers())
            .incremental(true)
            .primary_key([ID_COLUMN]);
        for (index, record) in records.enumerate() {
            let record = record?;
            let cell = record.get(column).unwrap_or("").trim();
            let id: i64 = cell.parse().map_err(|_| {
                user_error!(
                    "Table \"{}\", row {}: \"{ID_COLUMN}\" must be an integer, got \"{cell}\".",
                    table.name,
                    index + 1
                )
            })?;
            if id > since {
                out.write_record(&record)?;
                emitted += 1;
                highest = highest.max(id);
            }
        }
        out.finish()?;
    }
    ctx.write_state(&json!({ "last_id": highest }))?;
    ctx.record_usage("rows", emitted)?;
    Ok(())
}

fn main() -> ExitCode {
    berth_guest_sdk::run(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_guest_sdk::contract::state::{StateUpdate, read_out_state};
    use berth_guest_sdk::contract::usage::parse_usage;
    use berth_guest_sdk::{ConfigFile, DataDir, OutputTableManifest, UsageRecord};
    use std::path::PathBuf;

    fn data_dir(test: &str) -> (PathBuf, Context) {
        let root = std::env::temp_dir().join(format!("incremental-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let data = DataDir::new(&root);
        data.create_layout().unwrap();
        (root, Context::new(data, ConfigFile::default()))
    }

    #[test]
    fn emits_new_rows_and_advances_state() {
        let (root, mut ctx) = data_dir("ok");
        std::fs::write(ctx.data_dir().in_state(), r#"{"last_id": 2}"#).unwrap();
        std::fs::write(
            ctx.data_dir().in_tables().join("t.csv"),
            "\"id\",\"name\"\n\"1\",\"a\"\n\"3\",\"c\"\n\"2\",\"b\"\n\"5\",\"e\"\n",
        )
        .unwrap();
        run(&mut ctx).unwrap();
        let out = ctx.data_dir().out_tables().join("t.csv");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "id,name\n3,c\n5,e\n"
        );
        let manifest = std::fs::read_to_string(out.with_extension("csv.manifest")).unwrap();
        let manifest = OutputTableManifest::from_json("m", &manifest).unwrap();
        assert_eq!(manifest.incremental, Some(true));
        assert_eq!(manifest.primary_key, Some(vec!["id".to_owned()]));
        let state = std::fs::read(ctx.data_dir().out_state()).unwrap();
        assert_eq!(
            read_out_state(Some(&state)).unwrap(),
            StateUpdate::Set(json!({"last_id": 5}))
        );
        let usage = std::fs::read_to_string(ctx.data_dir().out_usage()).unwrap();
        assert_eq!(
            parse_usage(&usage).unwrap(),
            vec![UsageRecord::new("rows", 2)]
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn first_run_without_state_takes_everything() {
        let (root, mut ctx) = data_dir("first");
        std::fs::write(ctx.data_dir().in_tables().join("t.csv"), "id\n1\n2\n").unwrap();
        run(&mut ctx).unwrap();
        let state = std::fs::read(ctx.data_dir().out_state()).unwrap();
        assert_eq!(
            read_out_state(Some(&state)).unwrap(),
            StateUpdate::Set(json!({"last_id": 2}))
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn bad_id_is_a_user_error() {
        let (root, mut ctx) = data_dir("bad");
        std::fs::write(ctx.data_dir().in_tables().join("t.csv"), "id\nx\n").unwrap();
        let err = run(&mut ctx).unwrap_err();
        assert!(err.is_user());
        assert_eq!(
            err.to_string(),
            "Table \"t.csv\", row 1: \"id\" must be an integer, got \"x\"."
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}

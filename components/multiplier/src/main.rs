//! `multiplier`: for every input table `in/tables/X`, writes `out/tables/X` with the column
//! `parameters.column` (default `value`) multiplied by `parameters.multiplier`; other columns are
//! kept. Answers the synchronous action `info` with `{"status":"success","multiplier":N}`.
//!
//! Errors the user can fix (exit 1): `multiplier` missing or not a number, `column` not a string,
//! a table without the column, a cell that is not a number (empty cells stay empty).

use std::process::ExitCode;

use berth_guest_sdk::serde_json::{Number, Value, json};
use berth_guest_sdk::{Component, Context, Result, user_error};

/// The column multiplied when `parameters.column` is not set.
const DEFAULT_COLUMN: &str = "value";

/// The validated parameters.
#[derive(Debug, Clone, PartialEq)]
struct Params {
    multiplier: Number,
    column: String,
}

impl Params {
    fn from_context(ctx: &Context) -> Result<Self> {
        let params = ctx.parameters_value();
        let multiplier = match params.get("multiplier") {
            None | Some(Value::Null) => {
                return Err(user_error!(
                    "Parameter \"multiplier\" is required: set \"parameters.multiplier\" to a number."
                ));
            }
            Some(Value::Number(n)) => n.clone(),
            Some(other) => {
                return Err(user_error!(
                    "Parameter \"multiplier\" must be a number, got {other}."
                ));
            }
        };
        let column = match params.get("column") {
            None | Some(Value::Null) => DEFAULT_COLUMN.to_owned(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => {
                return Err(user_error!(
                    "Parameter \"column\" must be a non-empty column name, got {other}."
                ));
            }
        };
        Ok(Self { multiplier, column })
    }

    /// `cell × multiplier`: exact for integers, else as floating point.
    fn multiply(&self, cell: &str) -> Option<String> {
        let cell = cell.trim();
        if let (Ok(a), Some(b)) = (cell.parse::<i64>(), self.multiplier.as_i64())
            && let Some(product) = a.checked_mul(b)
        {
            return Some(product.to_string());
        }
        let a: f64 = cell.parse().ok().filter(|v: &f64| v.is_finite())?;
        let product = a * self.multiplier.as_f64()?;
        product.is_finite().then(|| product.to_string())
    }
}

fn run(ctx: &mut Context) -> Result<()> {
    let params = Params::from_context(ctx)?;
    for table in ctx.input_tables()? {
        let records = table.records()?;
        let column = records.column_index(&params.column).ok_or_else(|| {
            user_error!(
                "Table \"{}\" has no column \"{}\" (columns: {}).",
                table.name,
                params.column,
                records.headers().iter().collect::<Vec<_>>().join(", ")
            )
        })?;
        let mut out = ctx.output_table(&table.name).header(records.headers());
        for (index, record) in records.enumerate() {
            let record = record?;
            let cell = record.get(column).unwrap_or("");
            let product = if cell.is_empty() {
                String::new()
            } else {
                params.multiply(cell).ok_or_else(|| {
                    user_error!(
                        "Table \"{}\", row {}, column \"{}\": \"{}\" is not a number.",
                        table.name,
                        index + 1,
                        params.column,
                        cell
                    )
                })?
            };
            let row = record
                .iter()
                .enumerate()
                .map(|(i, c)| if i == column { product.as_str() } else { c });
            out.write_record(row)?;
        }
        out.finish()?;
    }
    Ok(())
}

fn info(ctx: &Context) -> Result<Value> {
    let params = Params::from_context(ctx)?;
    Ok(json!({"status": "success", "multiplier": params.multiplier}))
}

fn main() -> ExitCode {
    Component::new().action("info", info).run(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_guest_sdk::{ConfigFile, DataDir};
    use std::path::PathBuf;

    /// A fresh data folder under the system temp dir.
    fn data_dir(test: &str, config: &str) -> (PathBuf, Context) {
        let root = std::env::temp_dir().join(format!("multiplier-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let data = DataDir::new(&root);
        data.create_layout().unwrap();
        let ctx = Context::new(data, ConfigFile::from_json_lenient(config).unwrap());
        (root, ctx)
    }

    #[test]
    fn multiplies_the_column_of_every_table() {
        let (root, mut ctx) = data_dir("ok", r#"{"parameters":{"multiplier":3}}"#);
        let tables = ctx.data_dir().in_tables();
        std::fs::write(
            tables.join("a.csv"),
            "\"id\",\"value\"\n\"1\",\"2\"\n\"2\",\"7.5\"\n\"3\",\"\"\n",
        )
        .unwrap();
        std::fs::write(tables.join("b.csv"), "value,name\n-4,x\n").unwrap();
        run(&mut ctx).unwrap();
        let out = ctx.data_dir().out_tables();
        assert_eq!(
            std::fs::read_to_string(out.join("a.csv")).unwrap(),
            "id,value\n1,6\n2,22.5\n3,\n"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("b.csv")).unwrap(),
            "value,name\n-12,x\n"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn user_errors() {
        for (config, table, message) in [
            (
                r#"{}"#,
                "value\n1\n",
                "Parameter \"multiplier\" is required",
            ),
            (
                r#"{"parameters":{"multiplier":"x"}}"#,
                "value\n1\n",
                "Parameter \"multiplier\" must be a number, got \"x\".",
            ),
            (
                r#"{"parameters":{"multiplier":2,"column":"n"}}"#,
                "value\n1\n",
                "Table \"t.csv\" has no column \"n\" (columns: value).",
            ),
            (
                r#"{"parameters":{"multiplier":2}}"#,
                "value\n1\nabc\n",
                "Table \"t.csv\", row 2, column \"value\": \"abc\" is not a number.",
            ),
        ] {
            let (root, mut ctx) = data_dir("err", config);
            std::fs::write(ctx.data_dir().in_tables().join("t.csv"), table).unwrap();
            let err = run(&mut ctx).unwrap_err();
            assert!(err.is_user(), "{err}");
            assert!(err.to_string().starts_with(message), "{err}");
            std::fs::remove_dir_all(root).unwrap();
        }
    }

    #[test]
    fn info_action() {
        let (root, ctx) = data_dir(
            "info",
            r#"{"action":"info","parameters":{"multiplier":2.5}}"#,
        );
        assert_eq!(
            info(&ctx).unwrap(),
            json!({"status": "success", "multiplier": 2.5})
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}

//! `keboola.processor-move-files`, written for berth from the processor's public documentation
//! (its README): moves every file, or folder of a sliced table, between the two kinds of data.
//!
//! Parameters:
//! - `direction` (required): `tables` moves `in/files/*` to `out/tables/*`; `files` moves
//!   `in/tables/*` to `out/files/*`;
//! - `addCsvSuffix` (default `false`, `tables` only): adds `.csv` to every name that does not
//!   already end with it;
//! - `folder` (optional): everything moved goes into `out/<direction>/<folder>/` (with
//!   `direction: tables` that folder is one sliced table; `addCsvSuffix` then names the folder,
//!   not each slice — berth's reading of the documentation, which does not say).
//!
//! Manifests are not moved (the documentation: "Does not copy manifest files"). Any other
//! parameter is the user's error (exit 1), so a typo cannot silently do nothing.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use berth_guest_sdk::serde_json::Value;
use berth_guest_sdk::{Component, Context, Result, user_error};

/// The parameters this processor knows.
const KNOWN: [&str; 3] = ["direction", "addCsvSuffix", "folder"];

/// Which way files move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// `in/files` → `out/tables`.
    Tables,
    /// `in/tables` → `out/files`.
    Files,
}

/// The validated parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Params {
    direction: Direction,
    add_csv_suffix: bool,
    folder: Option<String>,
}

impl Params {
    fn from_value(params: &Value) -> Result<Self> {
        let empty = berth_guest_sdk::serde_json::Map::new();
        let map = match params {
            Value::Object(map) => map,
            Value::Array(a) if a.is_empty() => &empty,
            other => return Err(user_error!("Parameters must be an object, got {other}.")),
        };
        let unknown: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !KNOWN.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(user_error!(
                "Unrecognized parameters: {}. Available: {}.",
                unknown.join(", "),
                KNOWN.join(", ")
            ));
        }
        let direction = match map.get("direction") {
            Some(Value::String(s)) if s == "tables" => Direction::Tables,
            Some(Value::String(s)) if s == "files" => Direction::Files,
            None | Some(Value::Null) => {
                return Err(user_error!(
                    "Parameter \"direction\" is required: \"tables\" or \"files\"."
                ));
            }
            Some(other) => {
                return Err(user_error!(
                    "Parameter \"direction\" must be \"tables\" or \"files\", got {other}."
                ));
            }
        };
        let add_csv_suffix = match map.get("addCsvSuffix") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(user_error!(
                    "Parameter \"addCsvSuffix\" must be true or false, got {other}."
                ));
            }
        };
        if add_csv_suffix && direction == Direction::Files {
            return Err(user_error!(
                "Parameter \"addCsvSuffix\" is available only with \"direction\": \"tables\"."
            ));
        }
        let folder = match map.get("folder") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) if is_plain_name(s) => Some(s.clone()),
            Some(other) => {
                return Err(user_error!(
                    "Parameter \"folder\" must be a folder name (no \"/\", not \".\" or \"..\"), got {other}."
                ));
            }
        };
        Ok(Self {
            direction,
            add_csv_suffix,
            folder,
        })
    }
}

/// A single path component.
fn is_plain_name(name: &str) -> bool {
    !name.contains('/') && !name.contains('\\') && name != "." && name != ".."
}

fn with_csv_suffix(name: &str) -> String {
    if name.ends_with(".csv") {
        name.to_owned()
    } else {
        format!("{name}.csv")
    }
}

fn run(ctx: &mut Context) -> Result<()> {
    let params = Params::from_value(ctx.parameters_value())?;
    let data = ctx.data_dir().clone();
    let (from, to) = match params.direction {
        Direction::Tables => (data.in_files(), data.out_tables()),
        Direction::Files => (data.in_tables(), data.out_files()),
    };
    let to = match &params.folder {
        Some(folder) if params.add_csv_suffix => to.join(with_csv_suffix(folder)),
        Some(folder) => to.join(folder),
        None => to,
    };
    fs::create_dir_all(&to).map_err(|e| user_error!("Cannot create {}: {e}", to.display()))?;
    let mut entries: Vec<_> = match fs::read_dir(&from) {
        Ok(entries) => entries
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| user_error!("Cannot list {}: {e}", from.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(user_error!("Cannot list {}: {e}", from.display())),
    };
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".manifest") {
            continue;
        }
        let target = if params.add_csv_suffix && params.folder.is_none() {
            with_csv_suffix(&name)
        } else {
            name.clone()
        };
        move_entry(&entry.path(), &to.join(&target))?;
    }
    Ok(())
}

/// Renames `from` to `to`; copies (then removes) when a rename is not possible.
fn move_entry(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        return Err(user_error!(
            "Cannot move {} to {}: the destination exists.",
            from.display(),
            to.display()
        ));
    }
    fs::rename(from, to)
        .map_err(|e| user_error!("Cannot move {} to {}: {e}", from.display(), to.display()))
}

fn main() -> ExitCode {
    Component::new().run(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_guest_sdk::serde_json::json;
    use berth_guest_sdk::{ConfigFile, DataDir};

    fn context(dir: &Path, parameters: Value) -> Context {
        let data = DataDir::new(dir);
        data.create_layout().unwrap();
        let config = json!({"parameters": parameters}).to_string();
        Context::new(data, ConfigFile::from_json_lenient(&config).unwrap())
    }

    #[test]
    fn files_become_tables_with_a_csv_suffix_and_manifests_stay_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(
            dir.path(),
            json!({"direction": "tables", "addCsvSuffix": true}),
        );
        let files = ctx.data_dir().in_files();
        fs::write(files.join("12_raw"), "a,b\n1,2\n").unwrap();
        fs::write(files.join("12_raw.manifest"), "{}").unwrap();
        fs::write(files.join("13_done.csv"), "x\n").unwrap();
        run(&mut ctx).unwrap();
        let tables = ctx.data_dir().out_tables();
        assert_eq!(
            fs::read_to_string(tables.join("12_raw.csv")).unwrap(),
            "a,b\n1,2\n"
        );
        assert!(tables.join("13_done.csv").is_file(), "no double suffix");
        assert!(!tables.join("12_raw.csv.manifest").exists());
        assert!(!tables.join("12_raw.manifest").exists());
        assert!(!files.join("12_raw").exists(), "moved, not copied");
    }

    #[test]
    fn tables_become_files_in_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(dir.path(), json!({"direction": "files", "folder": "batch"}));
        let tables = ctx.data_dir().in_tables();
        fs::write(tables.join("a.csv"), "1\n").unwrap();
        fs::create_dir_all(tables.join("sliced.csv")).unwrap();
        fs::write(tables.join("sliced.csv/part1"), "2\n").unwrap();
        run(&mut ctx).unwrap();
        let out = ctx.data_dir().out_files().join("batch");
        assert!(out.join("a.csv").is_file());
        assert!(out.join("sliced.csv/part1").is_file());
    }

    #[test]
    fn a_folder_with_the_suffix_makes_one_sliced_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(
            dir.path(),
            json!({"direction": "tables", "folder": "all", "addCsvSuffix": true}),
        );
        fs::write(ctx.data_dir().in_files().join("1_a"), "1\n").unwrap();
        run(&mut ctx).unwrap();
        assert!(ctx.data_dir().out_tables().join("all.csv/1_a").is_file());
    }

    #[test]
    fn bad_parameters_are_user_errors() {
        let cases = [
            (json!({}), "\"direction\" is required"),
            (
                json!({"direction": "up"}),
                "must be \"tables\" or \"files\"",
            ),
            (
                json!({"direction": "tables", "addCsvSufix": true}),
                "addCsvSufix",
            ),
            (
                json!({"direction": "files", "addCsvSuffix": true}),
                "only with",
            ),
            (
                json!({"direction": "tables", "addCsvSuffix": "yes"}),
                "true or false",
            ),
            (
                json!({"direction": "tables", "folder": "../x"}),
                "folder name",
            ),
            (json!("tables"), "must be an object"),
        ];
        for (params, expected) in cases {
            let err = Params::from_value(&params).unwrap_err();
            assert!(err.is_user(), "{params}");
            assert!(err.to_string().contains(expected), "{params}: {err}");
        }
    }

    #[test]
    fn an_existing_destination_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(dir.path(), json!({"direction": "tables"}));
        fs::write(ctx.data_dir().in_files().join("a"), "new").unwrap();
        fs::write(ctx.data_dir().out_tables().join("a"), "old").unwrap();
        let err = run(&mut ctx).unwrap_err();
        assert!(err.to_string().contains("destination exists"), "{err}");
        assert_eq!(
            fs::read_to_string(ctx.data_dir().out_tables().join("a")).unwrap(),
            "old"
        );
    }
}

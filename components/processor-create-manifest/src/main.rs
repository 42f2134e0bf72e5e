//! `keboola.processor-create-manifest`, written for berth from the processor's public
//! documentation (its README): takes every table in `in/tables` (a CSV file or a folder of
//! slices), moves it to `out/tables` and creates or updates its manifest there.
//!
//! Parameters (all optional):
//! - `delimiter` (default `,`) and `enclosure` (default `"`): set in the manifest;
//! - `columns`: the column names (the table is then headless, as every manifest with `columns`);
//! - `columns_from`: `header` takes the names from the first line of the file (of the first
//!   slice, by name, for a sliced table; an empty name becomes `col_<n>`), `auto` names them
//!   `col_1`, `col_2`, … as many as the first line has cells. The data file is not changed: with
//!   `header`, the header line stays (Keboola pairs this with `processor-skip-lines`);
//! - `primary_key`: the primary key; `incremental`: `true` or `false` (default `false`).
//!
//! An existing manifest (`<table>.manifest` in `in/tables`) is kept and these keys are set over
//! it. Any other parameter, a wrong type, `columns` together with `columns_from`, or a table whose
//! first line cannot be read for `columns_from` is the user's error (exit 1).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use berth_guest_sdk::serde_json::{Map, Value, json};
use berth_guest_sdk::{Component, Context, Result, user_error};

/// The parameters this processor knows.
const KNOWN: [&str; 6] = [
    "delimiter",
    "enclosure",
    "columns",
    "columns_from",
    "primary_key",
    "incremental",
];

/// The most bytes read to find the first line of a table.
const FIRST_LINE_LIMIT: u64 = 16 * 1024 * 1024;

/// Where the column names come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Columns {
    /// Not set: the manifest's own `columns`, if any, stay.
    Keep,
    /// `columns`.
    Given(Vec<String>),
    /// `columns_from: header`.
    Header,
    /// `columns_from: auto`.
    Auto,
}

/// The validated parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Params {
    delimiter: String,
    enclosure: String,
    columns: Columns,
    primary_key: Option<Vec<String>>,
    incremental: bool,
}

fn string_list(map: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                other => Err(user_error!(
                    "Parameter \"{key}\" must be a list of column names, got {other}."
                )),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(other) => Err(user_error!(
            "Parameter \"{key}\" must be a list of column names, got {other}."
        )),
    }
}

fn one_char(map: &Map<String, Value>, key: &str, default: &str) -> Result<String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(default.to_owned()),
        Some(Value::String(s)) if s.len() == 1 => Ok(s.clone()),
        Some(Value::String(s)) if s.is_empty() && key == "enclosure" => Ok(String::new()),
        Some(other) => Err(user_error!(
            "Parameter \"{key}\" must be a single character, got {other}."
        )),
    }
}

impl Params {
    fn from_value(params: &Value) -> Result<Self> {
        let empty = Map::new();
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
        let given = string_list(map, "columns")?.filter(|c| !c.is_empty());
        let from = match map.get("columns_from") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "header" => Some(Columns::Header),
            Some(Value::String(s)) if s == "auto" => Some(Columns::Auto),
            Some(other) => {
                return Err(user_error!(
                    "Parameter \"columns_from\" must be \"header\" or \"auto\", got {other}."
                ));
            }
        };
        let columns = match (given, from) {
            (Some(_), Some(_)) => {
                return Err(user_error!(
                    "Parameters \"columns\" and \"columns_from\" cannot be used together."
                ));
            }
            (Some(c), None) => Columns::Given(c),
            (None, Some(from)) => from,
            (None, None) => Columns::Keep,
        };
        let incremental = match map.get("incremental") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(user_error!(
                    "Parameter \"incremental\" must be true or false, got {other}."
                ));
            }
        };
        Ok(Self {
            delimiter: one_char(map, "delimiter", ",")?,
            enclosure: one_char(map, "enclosure", "\"")?,
            columns,
            primary_key: string_list(map, "primary_key")?,
            incremental,
        })
    }
}

/// The file whose first line names the columns: the table, or its first slice by name.
fn first_file(table: &Path) -> Result<Option<PathBuf>> {
    if !table.is_dir() {
        return Ok(Some(table.to_path_buf()));
    }
    let mut slices: Vec<PathBuf> = fs::read_dir(table)
        .map_err(|e| user_error!("Cannot list {}: {e}", table.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    slices.sort();
    Ok(slices.into_iter().next())
}

/// The cells of the first line of `table`.
fn first_line(table: &Path, name: &str, params: &Params) -> Result<Vec<String>> {
    let Some(file) = first_file(table)? else {
        return Err(user_error!(
            "Table \"{name}\" has no slices to read the columns from."
        ));
    };
    if file.extension().is_some_and(|e| e == "gz") {
        return Err(user_error!(
            "Table \"{name}\" is compressed; \"columns_from\" reads only plain CSV."
        ));
    }
    let reader = fs::File::open(&file)
        .map_err(|e| user_error!("Cannot read {}: {e}", file.display()))?
        .take(FIRST_LINE_LIMIT);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(params.delimiter.as_bytes()[0])
        .quoting(!params.enclosure.is_empty())
        .quote(params.enclosure.as_bytes().first().copied().unwrap_or(b'"'))
        .from_reader(reader);
    let mut record = csv::StringRecord::new();
    match csv.read_record(&mut record) {
        Ok(true) => Ok(record.iter().map(str::to_owned).collect()),
        Ok(false) => Err(user_error!(
            "Table \"{name}\" is empty: no line to read the columns from."
        )),
        Err(e) => Err(user_error!(
            "Table \"{name}\": the first line is not valid CSV: {e}"
        )),
    }
}

/// The manifest of one table: the existing one with the parameters set over it.
fn manifest_for(
    table: &Path,
    name: &str,
    existing: Option<Value>,
    params: &Params,
) -> Result<Value> {
    let mut manifest = match existing {
        None => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(user_error!(
                "The manifest of table \"{name}\" is not a JSON object."
            ));
        }
    };
    manifest.insert("delimiter".into(), json!(params.delimiter));
    manifest.insert("enclosure".into(), json!(params.enclosure));
    let columns = match &params.columns {
        Columns::Keep => None,
        Columns::Given(c) => Some(c.clone()),
        Columns::Header => Some(
            first_line(table, name, params)?
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    if c.is_empty() {
                        format!("col_{}", i + 1)
                    } else {
                        c
                    }
                })
                .collect(),
        ),
        Columns::Auto => Some(
            (1..=first_line(table, name, params)?.len())
                .map(|i| format!("col_{i}"))
                .collect(),
        ),
    };
    if let Some(columns) = columns {
        manifest.insert("columns".into(), json!(columns));
    }
    if let Some(pk) = &params.primary_key {
        manifest.insert("primary_key".into(), json!(pk));
    }
    manifest.insert("incremental".into(), json!(params.incremental));
    Ok(Value::Object(manifest))
}

fn run(ctx: &mut Context) -> Result<()> {
    let params = Params::from_value(ctx.parameters_value())?;
    let input = ctx.data_dir().in_tables();
    let output = ctx.data_dir().out_tables();
    fs::create_dir_all(&output)
        .map_err(|e| user_error!("Cannot create {}: {e}", output.display()))?;
    let mut tables: Vec<String> = fs::read_dir(&input)
        .map_err(|e| user_error!("Cannot list {}: {e}", input.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".manifest"))
        .collect();
    tables.sort();
    for name in tables {
        let table = input.join(&name);
        let manifest_path = input.join(format!("{name}.manifest"));
        let existing = match fs::read_to_string(&manifest_path) {
            Ok(text) => Some(berth_guest_sdk::serde_json::from_str(&text).map_err(|e| {
                user_error!("The manifest of table \"{name}\" is not valid JSON: {e}")
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(user_error!("Cannot read {}: {e}", manifest_path.display())),
        };
        let manifest = manifest_for(&table, &name, existing, &params)?;
        let target = output.join(&name);
        fs::rename(&table, &target)
            .map_err(|e| user_error!("Cannot move table \"{name}\" to out/tables: {e}"))?;
        let text = berth_guest_sdk::serde_json::to_string_pretty(&manifest)
            .map_err(|e| user_error!("Cannot write the manifest of \"{name}\": {e}"))?;
        fs::write(output.join(format!("{name}.manifest")), text)
            .map_err(|e| user_error!("Cannot write the manifest of \"{name}\": {e}"))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    Component::new().run(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_guest_sdk::{ConfigFile, DataDir};

    fn context(dir: &Path, parameters: Value) -> Context {
        let data = DataDir::new(dir);
        data.create_layout().unwrap();
        let config = json!({"parameters": parameters}).to_string();
        Context::new(data, ConfigFile::from_json_lenient(&config).unwrap())
    }

    fn manifest(ctx: &Context, name: &str) -> Value {
        let path = ctx.data_dir().out_tables().join(format!("{name}.manifest"));
        berth_guest_sdk::serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn defaults_and_given_columns() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(
            dir.path(),
            json!({"columns": ["id", "name"], "primary_key": ["id"], "incremental": true}),
        );
        fs::write(ctx.data_dir().in_tables().join("a.csv"), "1,x\n").unwrap();
        run(&mut ctx).unwrap();
        assert_eq!(
            manifest(&ctx, "a.csv"),
            json!({"delimiter": ",", "enclosure": "\"", "columns": ["id", "name"],
                   "primary_key": ["id"], "incremental": true})
        );
        assert_eq!(
            fs::read_to_string(ctx.data_dir().out_tables().join("a.csv")).unwrap(),
            "1,x\n"
        );
        assert!(!ctx.data_dir().in_tables().join("a.csv").exists());
    }

    #[test]
    fn columns_from_the_header_of_a_file_and_of_a_sliced_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(
            dir.path(),
            json!({"columns_from": "header", "delimiter": ";", "enclosure": "'"}),
        );
        let input = ctx.data_dir().in_tables();
        fs::write(input.join("a.csv"), "'first;name';;last\n1;2;3\n").unwrap();
        fs::create_dir_all(input.join("s.csv")).unwrap();
        fs::write(input.join("s.csv/part2"), "zzz\n").unwrap();
        fs::write(input.join("s.csv/part1"), "k;v\n").unwrap();
        run(&mut ctx).unwrap();
        assert_eq!(
            manifest(&ctx, "a.csv")["columns"],
            json!(["first;name", "col_2", "last"])
        );
        assert_eq!(manifest(&ctx, "a.csv")["delimiter"], ";");
        assert_eq!(manifest(&ctx, "s.csv")["columns"], json!(["k", "v"]));
        assert!(ctx.data_dir().out_tables().join("s.csv/part1").is_file());
    }

    #[test]
    fn auto_columns_and_an_existing_manifest_updated() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(dir.path(), json!({"columns_from": "auto"}));
        let input = ctx.data_dir().in_tables();
        fs::write(input.join("t"), "1,2,3\n").unwrap();
        fs::write(
            input.join("t.manifest"),
            r#"{"destination": "out.c-x.t", "incremental": true}"#,
        )
        .unwrap();
        run(&mut ctx).unwrap();
        let m = manifest(&ctx, "t");
        assert_eq!(m["columns"], json!(["col_1", "col_2", "col_3"]));
        assert_eq!(m["destination"], "out.c-x.t", "kept");
        assert_eq!(m["incremental"], false, "set from the parameters");
    }

    #[test]
    fn bad_parameters_and_tables_are_user_errors() {
        let cases = [
            (json!({"columns_from": "first"}), "\"header\" or \"auto\""),
            (
                json!({"columns": ["a"], "columns_from": "header"}),
                "together",
            ),
            (json!({"delimiter": ",,"}), "single character"),
            (json!({"primary_key": "id"}), "list of column names"),
            (json!({"incremental": 1}), "true or false"),
            (json!({"column": ["a"]}), "Unrecognized parameters: column"),
        ];
        for (params, expected) in cases {
            let err = Params::from_value(&params).unwrap_err();
            assert!(err.is_user(), "{params}");
            assert!(err.to_string().contains(expected), "{params}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(dir.path(), json!({"columns_from": "header"}));
        fs::write(ctx.data_dir().in_tables().join("empty.csv"), "").unwrap();
        let err = run(&mut ctx).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
        let mut ctx = context(dir.path(), json!({}));
        fs::write(ctx.data_dir().in_tables().join("b.csv.manifest"), "[").unwrap();
        fs::write(ctx.data_dir().in_tables().join("b.csv"), "1\n").unwrap();
        let err = run(&mut ctx).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}

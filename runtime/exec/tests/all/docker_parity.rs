//! Parity of the two executors: the same program built for wasm32-wasip1 (run by the WASI
//! executor) and as a static Linux binary in a FROM-scratch image (run by the Docker executor)
//! writes byte-identical output and ends in identical outcomes for each exit class — and each
//! case ends as it should, so that two executors failing the same way is not parity.

use std::collections::BTreeMap;
use std::path::Path;

use berth_exec::docker::fixture::scratch_image;
use berth_exec::docker::{DockerExecutor, DockerOptions};
use berth_exec::{ExecRequest, Executor, JobEnvironment, Limits, Outcome, StdoutMode, classify};
use components_artifacts as guests;

use crate::docker_support::Case;
use berth_exec::testing::{Run, data_dir};

/// Runs `bin` of `package` as a container against `dir` and classifies it as `name`.
fn run_docker(package: &str, bin: &str, dir: &Path, env: &[(&str, &str)]) -> Outcome {
    let image = scratch_image(package, bin).unwrap_or_else(|e| panic!("{bin} image: {e:#}"));
    let executor = DockerExecutor::connect(&image, DockerOptions::default()).unwrap();
    let mut vars = JobEnvironment::local(bin, "test-config").to_vars();
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let limits = Limits::for_action("run");
    let request = ExecRequest {
        data_dir: dir.to_path_buf(),
        action: "run".to_owned(),
        env: vars,
        limits: limits.clone(),
        output_filter: None,
        stdout: StdoutMode::Capture,
        cancel: None,
    };
    let result = executor.execute(&request).expect("container runs");
    classify(&result, bin, limits.timeout, limits.memory_bytes)
}

/// Every file under `dir/out`, by relative path.
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, at: &Path, into: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, into);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                into.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(&dir.join("out"), &dir.join("out"), &mut files);
    files
}

/// A data folder for the multiplier with `parameters` and two input tables.
fn multiplier_data(parameters: serde_json::Value) -> tempfile::TempDir {
    let dir = data_dir(&serde_json::json!({ "parameters": parameters }));
    let tables = dir.path().join("in/tables");
    std::fs::create_dir_all(&tables).unwrap();
    std::fs::create_dir_all(dir.path().join("out/tables")).unwrap();
    std::fs::create_dir_all(dir.path().join("out/files")).unwrap();
    std::fs::write(
        tables.join("numbers.csv"),
        "\"id\",\"value\"\n\"1\",\"2\"\n\"2\",\"2.5\"\n\"3\",\"\"\n",
    )
    .unwrap();
    std::fs::write(
        tables.join("numbers.csv.manifest"),
        r#"{"id": "in.c-demo.numbers", "columns": ["id", "value"]}"#,
    )
    .unwrap();
    std::fs::write(tables.join("more"), "id,value,note\n7,-4,\"a, b\"\n").unwrap();
    dir
}

/// The rows of a CSV file (no header handling: the header is the first row).
fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Output tables by path under `out/`, each as rows of cells.
type Tables<'a> = Vec<(&'a str, Vec<Vec<String>>)>;

fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn docker_parity_multiplier_output_tables_are_byte_identical() {
    let Some(_case) = Case::new("docker_parity_multiplier") else {
        return;
    };
    // Each parameter set with the outcome and output tables it must give, on both executors.
    let cases: [(serde_json::Value, Outcome, Tables<'_>); 3] = [
        (
            serde_json::json!({"multiplier": 3, "column": "value"}),
            Outcome::Success,
            vec![
                (
                    "tables/more",
                    table(&[&["id", "value", "note"], &["7", "-12", "a, b"]]),
                ),
                (
                    "tables/numbers.csv",
                    table(&[&["id", "value"], &["1", "6"], &["2", "7.5"], &["3", ""]]),
                ),
            ],
        ),
        (
            serde_json::json!({"multiplier": 0.5}),
            Outcome::Success,
            vec![
                (
                    "tables/more",
                    table(&[&["id", "value", "note"], &["7", "-2", "a, b"]]),
                ),
                (
                    "tables/numbers.csv",
                    table(&[&["id", "value"], &["1", "1"], &["2", "1.25"], &["3", ""]]),
                ),
            ],
        ),
        (
            serde_json::json!({}),
            Outcome::UserError {
                message: "Parameter \"multiplier\" is required: set \"parameters.multiplier\" to a number."
                    .into(),
            },
            vec![],
        ),
    ];
    for (parameters, expected, tables) in cases {
        let wasi_dir = multiplier_data(parameters.clone());
        let docker_dir = multiplier_data(parameters.clone());
        let (_, wasi) = Run::new(guests::MULTIPLIER, wasi_dir.path()).run();
        let docker = run_docker("multiplier", "multiplier", docker_dir.path(), &[]);
        assert_eq!(wasi, expected, "WASI outcome for {parameters}");
        assert_eq!(docker, expected, "Docker outcome for {parameters}");
        let (wasi_out, docker_out) = (outputs(wasi_dir.path()), outputs(docker_dir.path()));
        assert_eq!(wasi_out, docker_out, "outputs differ for {parameters}");
        let parsed: Tables<'_> = wasi_out
            .iter()
            .map(|(name, bytes)| (name.as_str(), rows(bytes)))
            .collect();
        assert_eq!(parsed, tables, "output tables for {parameters}");
    }
}

#[test]
fn docker_parity_exit_classes_give_identical_outcomes() {
    let Some(_case) = Case::new("docker_parity_exit_classes") else {
        return;
    };
    for code in ["0", "1", "2", "3"] {
        let message = format!("parity: exiting with {code}");
        let expected = match code {
            "0" => Outcome::Success,
            "1" => Outcome::UserError {
                message: message.clone(),
            },
            _ => Outcome::ApplicationError {
                exit_code: Some(code.parse().unwrap()),
                message: format!("Component exit_with failed: ({code}) {message}"),
            },
        };
        let wasi_dir = data_dir(&serde_json::json!({"parameters": {}}));
        let docker_dir = data_dir(&serde_json::json!({"parameters": {}}));
        let (_, wasi) = Run::new(guests::EXIT_WITH, wasi_dir.path())
            .env("CODE", code)
            .env("MESSAGE", &message)
            .run();
        let env = [("CODE", code), ("MESSAGE", message.as_str())];
        let docker = run_docker("test-programs", "exit_with", docker_dir.path(), &env);
        assert_eq!(wasi, expected, "WASI, exit {code}");
        assert_eq!(docker, expected, "Docker, exit {code}");
    }
}

//! A component that leaves a trap in `out/`, run by the real `berth run` (WASI guest
//! `write_outputs`): a relative link out of the data folder, a terabyte sparse file, a single
//! CSV field larger than the limit, a gzip bomb of a slice, more entries than the limit, folders
//! nested too deep. Each case: exit 1 naming the entry and the limit, peak RSS and wall time
//! bounded, Storage exactly as before.

use std::io::Write as _;

use berth_job::testing::Env;
use berth_storage::{FileFilter, FileUpload};
use components_artifacts as guests;
use serde_json::{Value, json};

use crate::hostile_support::{Measured, measure};
use crate::support::berth;

/// What Storage holds: every table and file (ids, names, sizes, tags) and the stored states.
pub(crate) fn snapshot(env: &Env) -> String {
    let storage = env.storage();
    let tables: Vec<String> = storage
        .list_tables()
        .unwrap()
        .into_iter()
        .map(|t| format!("{} {} rows", t.id, t.rows))
        .collect();
    let files: Vec<String> = storage
        .list_files(&FileFilter::default())
        .unwrap()
        .into_iter()
        .map(|f| format!("{} {} {} {:?}", f.id, f.name, f.size_bytes, f.tags))
        .collect();
    format!("tables: {tables:?}\nfiles: {files:?}")
}

/// A home with the `write_outputs` guest as `acme.writer` and `settings.toml` text.
fn home(settings: &str) -> Env {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    std::fs::write(env.root().join("settings.toml"), settings).unwrap();
    env
}

/// Runs configuration `config` of `acme.writer` through the binary, measured; asserts Storage
/// did not change.
fn run(env: &Env, config: Value) -> Measured {
    let before = snapshot(env);
    env.config("acme.writer", "hostile", config);
    let mut command = berth();
    command
        .arg("--home")
        .arg(env.root())
        .args(["run", "acme.writer", "--config", "hostile"]);
    let measured = measure(command);
    assert_eq!(snapshot(env), before, "Storage changed: {measured:#?}");
    measured
}

fn writes(write: Value, output: Value) -> Value {
    json!({"parameters": {"write": write}, "storage": {"output": output}})
}

#[test]
fn hostile_relative_link_out_of_the_data_folder_is_refused() {
    let env = home("");
    // Relative links climb out even from a WASI guest; this one points at /dev/zero, which a
    // whole-file read would never finish.
    let m = run(
        &env,
        writes(
            json!([
                {"path": "out/files/a.txt", "text": "a"},
                {"path": "out/files/a.txt.manifest", "symlink": "../../../../../../../../dev/zero"},
            ]),
            json!({}),
        ),
    );
    m.assert_refused(
        "relative symlink manifest",
        1,
        &["\"out/files/a.txt.manifest\" is a symbolic link"],
    );
}

#[test]
fn hostile_sparse_terabyte_file_is_refused_before_any_copy() {
    let env = home("");
    let m = run(
        &env,
        writes(
            json!([{"path": "out/files/huge.bin", "sparse_size": 1u64 << 40}]),
            json!({}),
        ),
    );
    m.assert_refused(
        "sparse 1 TiB file",
        1,
        &[
            "1099511627776 bytes",
            "limit of 10737418240 bytes (limits.output_bytes)",
        ],
    );
}

#[test]
fn hostile_huge_single_csv_field_is_refused() {
    let env = home("");
    // A header, then one field with an enclosure never closed: 17 MiB > 16 MiB.
    let m = run(
        &env,
        writes(
            json!([
                {"path": "out/tables/t.csv", "prefix": "a,b\n\"", "text": "0123456789abcdef", "repeat": 17 << 16},
            ]),
            json!({"tables": [{"source": "t.csv", "destination": "out.c-main.t"}]}),
        ),
    );
    m.assert_refused(
        "huge single field",
        1,
        &[
            "out/tables/t.csv",
            "limit of 16777216 bytes (limits.csv_field_bytes)",
        ],
    );
}

#[test]
fn hostile_gzip_bomb_slice_stops_at_the_output_budget() {
    let env = home("[limits]\noutput_bytes = \"64m\"\n");
    // 1 GiB of zeros gzipped to about 1 MiB, given to the component as an input file; it leaves
    // it as a slice of a sliced table.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..1024 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("bomb.gz"), &bomb).unwrap();
    let id = env
        .storage()
        .upload_file(
            &dir.path().join("bomb.gz"),
            &FileUpload {
                tags: vec!["bomb".into()],
                ..FileUpload::default()
            },
        )
        .unwrap()
        .0;
    let before = snapshot(&env);
    env.config(
        "acme.writer",
        "hostile",
        json!({
            "parameters": {"write": [
                {"path": "out/tables/sliced/part-1.gz", "copy_from": format!("in/files/{id}_bomb.gz")},
            ]},
            "storage": {
                "input": {"files": [{"tags": ["bomb"]}]},
                "output": {"tables": [{"source": "sliced", "destination": "out.c-main.bomb", "columns": ["a"]}]},
            },
        }),
    );
    let mut command = berth();
    command
        .arg("--home")
        .arg(env.root())
        .args(["run", "acme.writer", "--config", "hostile"]);
    let m = measure(command);
    // The input files get the processed tag only after a successful job: nothing changed.
    assert_eq!(snapshot(&env), before, "Storage changed: {m:#?}");
    m.assert_refused(
        "gzip bomb slice",
        1,
        &[
            "out/tables/sliced/part-1.gz",
            "limit of 67108864 bytes (limits.output_bytes)",
        ],
    );
    let scratch_left: Vec<_> = walk_sizes(&env.root().join("tmp"));
    assert!(
        scratch_left.iter().all(|(_, size)| *size <= 80 << 20),
        "scratch copies larger than the budget: {scratch_left:?}"
    );
}

/// Every file under `dir` with its size (what a job left behind).
fn walk_sizes(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                out.push((entry.path(), meta.len()));
            }
        }
    }
    out
}

#[test]
fn hostile_hundred_thousand_files_are_refused() {
    let env = home("");
    let m = run(
        &env,
        writes(
            json!([{"path": "out/files/many/f{i}", "count": 100_001}]),
            json!({}),
        ),
    );
    m.assert_refused(
        "100k files",
        1,
        &["more than the limit of 100000 entries (limits.out_entries)"],
    );
}

#[test]
fn hostile_deep_nesting_is_refused() {
    let env = home("");
    let m = run(
        &env,
        writes(
            json!([{"path": "out/files/1/2/3/4/5/6/7/8/9/x.txt", "text": "deep"}]),
            json!({}),
        ),
    );
    m.assert_refused(
        "nesting past out_depth",
        1,
        &[
            "out/files/1/2/3/4/5/6/7/8",
            "limit of 8 levels",
            "limits.out_depth",
        ],
    );
}

#[test]
fn hostile_limits_hold_for_honest_output_at_their_edge() {
    // The same kinds of output within the limits load normally.
    let env = home("[limits]\nout_entries = 50\n");
    env.config(
        "acme.writer",
        "honest",
        writes(
            json!([
                {"path": "out/files/many/f{i}", "count": 40},
                {"path": "out/tables/t.csv", "text": "a,b\n\"x\",y\n"},
            ]),
            json!({"tables": [{"source": "t.csv", "destination": "out.c-main.t"}]}),
        ),
    );
    let mut command = berth();
    command
        .arg("--home")
        .arg(env.root())
        .args(["run", "acme.writer", "--config", "honest"]);
    let m = measure(command);
    assert_eq!(m.code, Some(0), "{m:#?}");
    m.assert_bounded("honest output");
    assert!(env.table("out.c-main.t").is_some());
}

//! Golden tests for every contract file: `tests/ui/<kind>/<case>.json` is read by the parser of
//! `<kind>`, and the result must equal `<case>.out.json` (the normalised re-serialisation) or
//! `<case>.err` (the exact error message).
//!
//! Every expected error text says where it comes from: `tests/ui/<kind>/provenance.txt` has one
//! `<case>: <source>` line per `.err` case, the source being a reference section, a seed, or
//! `berth: …` for berth's own wording. A case that fails without a line there fails, and so does
//! a line without an `.err` case (`<kind>::provenance`).
//!
//! Run with `BERTH_BLESS=1` to rewrite the expectations. Blessing writes the kind of result the
//! case already has; it refuses to turn an `.out.json` case into an `.err` one or back (delete the
//! old expectation first when that is meant). CI never blesses (`.ci/run` unsets it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_host_api::state::{StateUpdate, read_out_state};
use berth_host_api::usage::{parse_usage, usage_to_json};
use berth_host_api::{
    ConfigFile, ContractError, InputFileManifest, InputTableManifest, OutputFileManifest,
    OutputTableManifest, StoredState,
};
use libtest_mimic::{Arguments, Failed, Trial};

/// A parser under test: input text → normalised JSON text, or an error.
type Parser = fn(&str) -> Result<String, ContractError>;

/// The kinds of file: directory name, parser, and whether the parser's output must read back to
/// itself (true for every kind whose output is the same kind of file).
const KINDS: &[(&str, Parser, bool)] = &[
    (
        "config",
        |t| ConfigFile::from_json_strict(t).map(|c| c.to_json_pretty()),
        true,
    ),
    (
        "config-lenient",
        |t| ConfigFile::from_json_lenient(t).map(|c| c.to_json_pretty()),
        true,
    ),
    ("usage", |t| parse_usage(t).map(|u| usage_to_json(&u)), true),
    (
        "out-state",
        |t| {
            read_out_state(Some(t.as_bytes())).map(|u| match u {
                StateUpdate::Clear => "\"clear\"".to_owned(),
                StateUpdate::Set(v) => {
                    serde_json::to_string_pretty(&serde_json::json!({ "set": v }))
                        .expect("a value serialises")
                }
            })
        },
        false,
    ),
    (
        "stored-state",
        |t| StoredState::from_json(t).map(|s| s.to_json_pretty()),
        true,
    ),
    (
        "in-table-manifest",
        |t| {
            InputTableManifest::from_json("in/tables/table.csv.manifest", t)
                .map(|m| m.to_json_pretty())
        },
        true,
    ),
    (
        "in-file-manifest",
        |t| {
            InputFileManifest::from_json("in/files/1_file.txt.manifest", t)
                .map(|m| m.to_json_pretty())
        },
        true,
    ),
    (
        "out-table-manifest",
        |t| {
            OutputTableManifest::from_json("out/tables/table.csv.manifest", t)
                .map(|m| m.to_json_pretty())
        },
        true,
    ),
    (
        "out-file-manifest",
        |t| {
            OutputFileManifest::from_json("out/files/file.txt.manifest", t)
                .map(|m| m.to_json_pretty())
        },
        true,
    ),
];

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut trials = Vec::new();
    for &(kind, parser, idempotent) in KINDS {
        let dir = root.join(kind);
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| is_case(p))
            .collect();
        cases.sort();
        assert!(!cases.is_empty(), "no cases in {}", dir.display());
        for case in cases {
            let name = format!("{kind}::{}", stem(&case));
            trials.push(Trial::test(name, move || {
                run_case(&case, parser, idempotent)
            }));
        }
        trials.push(Trial::test(format!("{kind}::provenance"), move || {
            check_provenance(&dir)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// The file naming the source of each expected error text in a kind's folder.
const PROVENANCE: &str = "provenance.txt";

/// How a source must start: a reference section, a seed, or berth's own wording.
const SOURCE_PREFIXES: [&str; 3] = ["reference §", "seed ", "berth: "];

/// The `<case>: <source>` lines of `dir`'s provenance file (comments and blank lines skipped).
fn provenance(dir: &Path) -> Result<BTreeMap<String, String>, Failed> {
    let path = dir.join(PROVENANCE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut sources = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{}:{}", path.display(), number + 1);
        let (case, source) = line
            .split_once(": ")
            .ok_or_else(|| format!("{at}: expected `<case>: <source>`"))?;
        if !SOURCE_PREFIXES.iter().any(|p| source.starts_with(p)) {
            return Err(format!("{at}: a source starts with one of {SOURCE_PREFIXES:?}").into());
        }
        if sources.insert(case.to_owned(), source.to_owned()).is_some() {
            return Err(format!("{at}: case {case} is listed twice").into());
        }
    }
    Ok(sources)
}

/// Every line of the provenance file names an `.err` case of this folder.
fn check_provenance(dir: &Path) -> Result<(), Failed> {
    let stale: Vec<String> = provenance(dir)?
        .into_keys()
        .filter(|case| !dir.join(format!("{case}.err")).is_file())
        .collect();
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} lists cases without an .err expectation: {stale:?}",
            dir.join(PROVENANCE).display()
        )
        .into())
    }
}

/// `<case>.json`, but not `<case>.out.json`.
fn is_case(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".json") && !name.ends_with(".out.json")
}

fn stem(case: &Path) -> String {
    let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.trim_end_matches(".json").to_owned()
}

fn run_case(case: &Path, parser: Parser, idempotent: bool) -> Result<(), Failed> {
    let input = std::fs::read_to_string(case).map_err(|e| format!("{}: {e}", case.display()))?;
    let dir = case.parent().expect("a case has a directory");
    let out_path = dir.join(format!("{}.out.json", stem(case)));
    let err_path = dir.join(format!("{}.err", stem(case)));
    let (actual, expected_path, other_path) = match parser(&input) {
        Ok(json) => {
            if idempotent {
                // The normalised form must read back to itself.
                let again =
                    parser(&json).map_err(|e| format!("re-reading the output failed: {e}"))?;
                if again != json {
                    return Err(format!("not idempotent:\n{json}\n---\n{again}").into());
                }
            }
            (json, out_path, err_path)
        }
        Err(e) => (e.to_string(), err_path, out_path),
    };
    let actual = format!("{actual}\n");
    if std::env::var_os("BERTH_BLESS").is_some_and(|v| v == "1") {
        if other_path.exists() {
            return Err(format!(
                "refusing to bless {}: the case expects {} and would change kind; delete that \
                 file first if the change is meant\nactual:\n{actual}",
                case.display(),
                other_path.display()
            )
            .into());
        }
        std::fs::write(&expected_path, &actual).map_err(|e| e.to_string())?;
    }
    let bless =
        "run `BERTH_BLESS=1 cargo test -p berth-host-api --test ui` to accept the new output";
    match std::fs::read_to_string(&expected_path) {
        Ok(expected) if expected == actual => {
            if expected_path.extension().is_some_and(|e| e == "err")
                && !provenance(dir)?.contains_key(&stem(case))
            {
                return Err(format!(
                    "{} has no source: add `{}: <source>` to {}",
                    expected_path.display(),
                    stem(case),
                    dir.join(PROVENANCE).display()
                )
                .into());
            }
            Ok(())
        }
        Ok(expected) => Err(format!(
            "{} differs\n--- expected\n{expected}--- actual\n{actual}{bless}",
            expected_path.display()
        )
        .into()),
        Err(_) => Err(format!(
            "{} is missing (actual output below){}\n{actual}{bless}",
            expected_path.display(),
            if other_path.exists() {
                format!("; {} exists instead", other_path.display())
            } else {
                String::new()
            }
        )
        .into()),
    }
}

//! A component whose `configuration_format` is `yaml` (reference §1, §2.1), written without a
//! YAML library so that what it checks and writes is plain to read:
//!
//! - `config.yml` and `in/state.yml` must be there and `config.json` / `in/state.json` must not
//!   (exit 2 naming the file otherwise);
//! - `in/state.yml`'s line `runs: N` (absent: 0) comes back as `out/state.yml` with `runs: N+1`
//!   and a string that YAML 1.1 would read as a boolean (`note: yes`);
//! - `out/usage.yml` records one usage entry;
//! - `out/tables/t.csv` with a YAML manifest (destination, primary key, column metadata);
//! - when `config.yml` mentions `broken_manifest`, `broken_state`, `alias_bomb` or `bad_usage`, the
//!   manifest, the state or the usage file is malformed or hostile instead.
use std::fs;
use std::path::Path;
use test_programs::exit;

fn main() {
    let data = std::env::var("KBC_DATADIR").unwrap_or_else(|_| "/data".to_owned());
    let data = Path::new(&data);
    for unexpected in ["config.json", "in/state.json"] {
        if data.join(unexpected).exists() {
            eprintln!("{unexpected} exists but this component reads YAML");
            exit(2);
        }
    }
    let config = read(data, "config.yml");
    if !config.contains("parameters:") {
        eprintln!("config.yml has no parameters:\n{config}");
        exit(2);
    }
    let state = read(data, "in/state.yml");
    let runs: u64 = state
        .lines()
        .find_map(|line| line.strip_prefix("runs: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);

    let out = data.join("out");
    let state = if config.contains("broken_state") {
        "a: 1\na: 2\n".to_owned()
    } else if config.contains("alias_bomb") {
        let mut text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n".to_owned();
        for level in 1..9 {
            let previous = format!("*l{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            text.push_str(&format!("l{level}: &l{level} [{items}]\n"));
        }
        text
    } else {
        format!("runs: {}\nnote: yes\n", runs + 1)
    };
    write(&out.join("state.yml"), &state);
    let usage = if config.contains("bad_usage") {
        "- metric: API calls\n  random: 150\n"
    } else {
        "- metric: API calls\n  value: 150\n"
    };
    write(&out.join("usage.yml"), usage);
    write(&out.join("tables/t.csv"), "id,name\n1,a\n");
    let manifest = if config.contains("broken_manifest") {
        "destination: [unclosed\n"
    } else {
        "destination: out.c-main.yaml\n\
         primary_key:\n  - id\n\
         column_metadata:\n  name:\n    - key: KBC.description\n      value: the name\n"
    };
    write(&out.join("tables/t.csv.manifest"), manifest);
}

fn read(data: &Path, name: &str) -> String {
    fs::read_to_string(data.join(name)).unwrap_or_else(|e| {
        eprintln!("{name}: {e}");
        exit(2);
    })
}

fn write(path: &Path, text: &str) {
    if let Err(e) = fs::write(path, text) {
        eprintln!("{}: {e}", path.display());
        exit(2);
    }
}

//! Writes what `parameters` in /data/config.json asks for, then exits:
//!
//! - `write`: `[{"path": "out/tables/a.csv", "text": "..."}]` (or `"bytes": [31, 139, ...]`,
//!   or `"dir": true` for a directory, or `"symlink": "/target"` for a symbolic link), paths
//!   relative to the data folder; the hostile ones of `runtime/cli/tests/all/hostile_*.rs` also
//!   use `"repeat": N` (`"prefix"`, then the text N times, written in pieces),
//!   `"sparse_size": N` (an empty file set to N bytes without writing them), `"copy_from":
//!   "in/files/x"` (a copy of another file) and `"count": N` (N files, `{i}` in the path
//!   replaced by 0..N);
//! - `dump_env`: write the `KBC_*` environment to `out/env.json` (not uploaded), or with a path
//!   instead of `true` to that path (e.g. `out/files/env.json`, uploaded);
//! - `print_env`: print the `KBC_*` environment to stdout and stderr, `NAME=value` a line, first;
//! - `copy_config`: write config.json and in/state.json as seen to `out/seen/` (not uploaded);
//! - `print`: printed to stdout, line by line, before anything else but `print_env`;
//! - `sleep_ms`: wait that long (in a host call) before writing;
//! - `message`: printed to stderr; `exit_code`: the exit code (default 0).
use std::fs;
use std::path::Path;

fn main() {
    let data = std::env::var("KBC_DATADIR").unwrap_or_else(|_| "/data".to_owned());
    let data = Path::new(&data);
    let config = fs::read_to_string(data.join("config.json")).expect("config.json");
    let config: serde_json::Value = serde_json::from_str(&config).expect("config.json is JSON");
    let params = &config["parameters"];
    if params["print_env"].as_bool() == Some(true) {
        for (name, value) in std::env::vars().filter(|(k, _)| k.starts_with("KBC_")) {
            println!("{name}={value}");
            eprintln!("{name}={value}");
        }
    }
    for line in params["print"].as_array().into_iter().flatten() {
        println!("{}", line.as_str().unwrap_or_default());
    }
    if let Some(ms) = params["sleep_ms"].as_u64() {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    for item in params["write"].as_array().into_iter().flatten() {
        if let Some(count) = item["count"].as_u64() {
            let pattern = item["path"].as_str().expect("path");
            let first = data.join(pattern.replace("{i}", "0"));
            fs::create_dir_all(first.parent().expect("a parent")).expect("creating the folder");
            for i in 0..count {
                fs::write(data.join(pattern.replace("{i}", &i.to_string())), b"x")
                    .expect("writing one of many files");
            }
            continue;
        }
        let path = data.join(item["path"].as_str().expect("path"));
        if let Some(size) = item["sparse_size"].as_u64() {
            fs::File::create(&path)
                .and_then(|f| f.set_len(size))
                .expect("a sparse file");
            continue;
        }
        if let Some(source) = item["copy_from"].as_str() {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("creating a parent directory");
            }
            fs::copy(data.join(source), &path).expect("copying a file");
            continue;
        }
        if let (Some(times), Some(text)) = (item["repeat"].as_u64(), item["text"].as_str()) {
            use std::io::Write as _;
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("creating a parent directory");
            }
            let mut file = std::io::BufWriter::new(fs::File::create(&path).expect("a file"));
            if let Some(prefix) = item["prefix"].as_str() {
                file.write_all(prefix.as_bytes())
                    .expect("writing the prefix");
            }
            for _ in 0..times {
                file.write_all(text.as_bytes()).expect("writing a piece");
            }
            file.flush().expect("flushing");
            continue;
        }
        if let Some(target) = item["symlink"].as_str() {
            let _ = fs::remove_dir_all(&path);
            let _ = fs::remove_file(&path);
            #[allow(
                deprecated,
                reason = "std::fs::soft_link is the portable way to make one on WASI"
            )]
            fs::soft_link(target, &path).expect("creating a symbolic link");
            continue;
        }
        if item["dir"].as_bool() == Some(true) {
            fs::create_dir_all(&path).expect("creating a directory");
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("creating a parent directory");
        }
        let bytes: Vec<u8> = match (item["text"].as_str(), item["bytes"].as_array()) {
            (Some(text), _) => text.as_bytes().to_vec(),
            (None, Some(bytes)) => bytes
                .iter()
                .map(|b| b.as_u64().expect("a byte") as u8)
                .collect(),
            (None, None) => Vec::new(),
        };
        fs::write(&path, bytes).expect("writing a file");
    }
    let dump_to = match &params["dump_env"] {
        serde_json::Value::Bool(true) => Some("out/env.json"),
        serde_json::Value::String(path) => Some(path.as_str()),
        _ => None,
    };
    if let Some(path) = dump_to {
        let env: serde_json::Map<String, serde_json::Value> = std::env::vars()
            .filter(|(k, _)| k.starts_with("KBC_"))
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        let path = data.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("creating a parent directory");
        }
        fs::write(path, serde_json::to_vec(&env).unwrap()).expect("env.json");
    }
    if params["copy_config"].as_bool() == Some(true) {
        let seen = data.join("out/seen");
        fs::create_dir_all(&seen).expect("out/seen");
        fs::copy(data.join("config.json"), seen.join("config.json")).expect("config.json");
        if data.join("in/state.json").exists() {
            fs::copy(data.join("in/state.json"), seen.join("state.json")).expect("state.json");
        }
    }
    if let Some(message) = params["message"].as_str() {
        eprint!("{message}");
    }
    test_programs::exit(params["exit_code"].as_i64().unwrap_or(0) as i32);
}

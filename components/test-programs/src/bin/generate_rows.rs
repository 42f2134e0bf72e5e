//! Writes `parameters.rows` rows (default 1000) of `"id","value"` to
//! `out/tables/<parameters.file>` (default `generated.csv`), then exits 0 — a large output table
//! made fast, for the output-loading tests (`kill -9` mid-load) and the benches.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

fn main() {
    let data = std::env::var("KBC_DATADIR").unwrap_or_else(|_| "/data".to_owned());
    let data = Path::new(&data);
    let config = std::fs::read_to_string(data.join("config.json")).expect("config.json");
    let config: serde_json::Value = serde_json::from_str(&config).expect("config.json is JSON");
    let rows = config["parameters"]["rows"].as_u64().unwrap_or(1000);
    let file = config["parameters"]["file"]
        .as_str()
        .unwrap_or("generated.csv");
    let out = File::create(data.join("out/tables").join(file)).expect("creating the output");
    let mut out = BufWriter::with_capacity(1 << 20, out);
    writeln!(out, "\"id\",\"value\"").unwrap();
    for i in 0..rows {
        writeln!(out, "\"{i}\",\"value number {i} with some padding text\"").unwrap();
    }
    out.flush().unwrap();
}

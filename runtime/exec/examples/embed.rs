//! Embedding berth: run one WASI component on a data folder with limits and print the outcome.
//!
//! `cargo run -p berth-exec --example embed -- MODULE.wasm DATA_DIR [ACTION]`
//! (DATA_DIR must hold the component's `config.json`; berth-exec alone, no Storage, no Docker.)

use std::path::Path;
use std::time::Duration;

use berth_exec::wasm::{EngineOptions, WasmEngine};
use berth_exec::{ExecRequest, Executor, JobEnvironment, Limits, StdoutMode, classify};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(module), Some(data_dir)) = (args.next(), args.next()) else {
        return Err("usage: embed MODULE.wasm DATA_DIR [ACTION]".into());
    };
    let action = args.next().unwrap_or_else(|| "run".into());

    let engine = WasmEngine::new(&EngineOptions::with_cache_dir(
        std::env::temp_dir().join("berth-embed"),
    ))?;
    let component = engine.load(Path::new(&module), "embedded")?;
    let limits = Limits {
        timeout: Duration::from_secs(10),
        memory_bytes: 64_000_000,
        ..Limits::for_action(&action)
    };
    let request = ExecRequest {
        data_dir: data_dir.into(),
        env: JobEnvironment::local("embedded", "embed-1").to_vars(),
        action,
        limits: limits.clone(),
        stdout: StdoutMode::Capture,
        cancel: None,
    };
    let result = component.execute(&request)?;
    let outcome = classify(&result, "embedded", limits.timeout, limits.memory_bytes);
    println!(
        "{outcome:?} in {:?}\n{}",
        result.duration,
        result.stdout.text()
    );
    Ok(())
}

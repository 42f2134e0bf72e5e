//! Helpers shared by berth's criterion benches: medians measured alongside criterion, and the
//! ratio table every bench prints so that each figure is read against a baseline from the same
//! run.

use std::time::{Duration, Instant};

/// The median wall time of `iterations` calls of `f` (after one warm-up call).
pub fn median_of(iterations: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut samples: Vec<Duration> = (0..iterations.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// Prints `rows` (name, median) as a table with each row's ratio to the `baseline` row.
pub fn print_ratios(title: &str, baseline: &str, rows: &[(&str, Duration)]) {
    let base = rows
        .iter()
        .find(|(name, _)| *name == baseline)
        .map(|(_, d)| d.as_secs_f64())
        .unwrap_or(f64::NAN);
    println!("\n{title} (medians; ratio = time / {baseline})");
    for (name, median) in rows {
        println!(
            "  {name:<28} {:>12.1} µs   {:>10.2}×",
            median.as_secs_f64() * 1e6,
            median.as_secs_f64() / base
        );
    }
}

/// The floor of any CSV-to-CSV work, the baseline of the Storage and job benches: one pass of
/// the `csv` crate reading `input` and writing it to `output` with every field quoted.
pub fn csv_rewrite_baseline(input: &std::path::Path, output: &std::path::Path) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(input)
        .expect("the generated table is readable");
    let file = std::fs::File::create(output).expect("the baseline output is writable");
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
    let mut record = csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .expect("the generated table is valid CSV")
    {
        writer
            .write_byte_record(&record)
            .expect("the baseline output is writable");
    }
    writer.flush().expect("the baseline output is writable");
}

/// A data folder whose config.json asks for the `hello` action (the trivial-action benches).
pub fn hello_action_data_dir() -> tempfile::TempDir {
    let data = tempfile::TempDir::new().expect("a temp data folder");
    std::fs::write(
        data.path().join("config.json"),
        r#"{"parameters": {}, "action": "hello"}"#,
    )
    .expect("config.json is writable");
    data
}

/// Criterion with the settings every berth bench uses (short warm-up, 3 s measurement).
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

/// The trivial synchronous action the executor benches share: the `action_answer` test program
/// loaded (compiled and cached) under a fresh WASI engine, and a request for its `hello` action.
pub struct HelloAction {
    /// The module, ready to run.
    pub component: berth_exec::wasm::WasmComponent,
    /// The request: the data folder below, the KBC_* environment, the action's limits.
    pub request: berth_exec::ExecRequest,
    /// The data folder (kept alive with the fixture).
    pub data: tempfile::TempDir,
    _cache: tempfile::TempDir,
}

impl HelloAction {
    /// Builds the fixture.
    pub fn new() -> Self {
        use berth_exec::wasm::{EngineOptions, WasmEngine};
        use berth_exec::{ExecRequest, JobEnvironment, Limits, StdoutMode};
        let data = hello_action_data_dir();
        let cache = tempfile::TempDir::new().expect("a temp compiled cache");
        let engine = WasmEngine::new(&EngineOptions {
            allocator: Default::default(),
            cache_dir: cache.path().to_path_buf(),
        })
        .expect("the engine");
        let component = engine
            .load(
                std::path::Path::new(components_artifacts::ACTION_ANSWER),
                "action_answer",
            )
            .expect("action_answer loads");
        let request = ExecRequest {
            data_dir: data.path().to_path_buf(),
            action: "hello".into(),
            env: JobEnvironment::local("action_answer", "bench").to_vars(),
            limits: Limits::for_action("hello"),
            stdout: StdoutMode::Capture,
            cancel: None,
        };
        Self {
            component,
            request,
            data,
            _cache: cache,
        }
    }
}

impl Default for HelloAction {
    fn default() -> Self {
        Self::new()
    }
}

//! Helpers shared by berth's benches: medians of several timed runs (warm-up never counted), the
//! ratio table every bench prints so that each figure is read against a baseline from the same
//! run, one unit for sizes (MiB), and the smoke mode.
//!
//! Smoke mode (`BERTH_BENCH_SMOKE=1`): tiny tables and modules, three runs per median and
//! criterion's shortest settings, so that `cargo bench` of every bench finishes in seconds and CI
//! keeps the benches running, not only compiling. Its figures mean nothing.

pub mod server_child;

use std::time::{Duration, Instant};

/// The environment variable that turns on smoke mode.
pub const SMOKE_VAR: &str = "BERTH_BENCH_SMOKE";

/// Bytes in a MiB, the one size unit of every bench (sizes and throughputs).
pub const MIB: u64 = 1 << 20;

/// Whether `BERTH_BENCH_SMOKE=1`.
pub fn smoke() -> bool {
    std::env::var(SMOKE_VAR).as_deref() == Ok("1")
}

/// Prints the smoke-mode notice (call once at the start of a bench).
pub fn announce(bench: &str) {
    if smoke() {
        println!(
            "{bench}: smoke mode ({SMOKE_VAR}=1): tiny sizes and few runs; figures mean nothing"
        );
    }
}

/// `full` normally, at most 3 in smoke mode (still several, so medians are exercised).
pub fn runs(full: usize) -> usize {
    if smoke() { full.min(3) } else { full }
}

/// The table size of the Storage and job benches in MiB: `BERTH_BENCH_TABLE_MB` (MiB, default
/// 1024), 1 in smoke mode.
pub fn table_mib() -> u64 {
    if smoke() {
        return 1;
    }
    std::env::var("BERTH_BENCH_TABLE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// `bytes` in MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// The median of `samples`.
pub fn median(samples: &[Duration]) -> Duration {
    assert!(!samples.is_empty(), "a median of no samples");
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// The median wall time of `iterations` calls of `f`, after one warm-up call that is not counted.
pub fn median_of(iterations: usize, mut f: impl FnMut()) -> Duration {
    median_with_setup(iterations, || (), |()| f())
}

/// The median wall time of `runs` calls of `timed`, each given a fresh `setup()` made before its
/// clock starts (and whatever `timed` returns dropped after it stops), after one warm-up round
/// that is not counted.
pub fn median_with_setup<S, T>(
    runs: usize,
    mut setup: impl FnMut() -> S,
    mut timed: impl FnMut(S) -> T,
) -> Duration {
    drop(timed(setup()));
    let samples: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let input = setup();
            let start = Instant::now();
            let output = timed(input);
            let took = start.elapsed();
            drop(output);
            took
        })
        .collect();
    median(&samples)
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

/// Criterion with the settings every berth bench uses (short warm-up, 3 s measurement; in smoke
/// mode the shortest criterion allows and no plots).
pub fn criterion() -> criterion::Criterion {
    let criterion = criterion::Criterion::default().configure_from_args();
    if smoke() {
        criterion
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_millis(1))
            .sample_size(10)
            .without_plots()
    } else {
        criterion
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
    }
}

/// Settings for a group of slow rows (a container per iteration): 10 samples over 10 s, or
/// criterion's shortest in smoke mode.
pub fn slow_rows<M: criterion::measurement::Measurement>(
    group: &mut criterion::BenchmarkGroup<'_, M>,
) {
    group.sample_size(10);
    group.sampling_mode(criterion::SamplingMode::Flat);
    if !smoke() {
        group.measurement_time(Duration::from_secs(10));
    }
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
            output_filter: None,
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

/// The test registry's address (`BERTH_TEST_REGISTRY`, default `127.0.0.1:5000`) when something
/// answers there; `None` otherwise, which is a failure when `BERTH_REQUIRE_REGISTRY=1` (as in CI).
pub fn test_registry() -> Option<String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let registry = std::env::var("BERTH_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into());
    let up = registry
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|address| {
            TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
        });
    if up {
        return Some(registry);
    }
    assert!(
        std::env::var("BERTH_REQUIRE_REGISTRY").as_deref() != Ok("1"),
        "BERTH_REQUIRE_REGISTRY=1 but no registry answers at {registry}"
    );
    None
}

/// A home with the two trivial components the whole-process and server benches run:
/// `acme.answer` (`action_answer`, synchronous action `hello`) and `acme.writer`
/// (`write_outputs`, a job with nothing to write).
pub fn answer_and_writer_home() -> berth_job::testing::Env {
    let env = berth_job::testing::Env::new();
    env.component(
        "acme.answer",
        components_artifacts::ACTION_ANSWER,
        serde_json::json!({"synchronous_actions": ["hello"]}),
    );
    env.component(
        "acme.writer",
        components_artifacts::WRITE_OUTPUTS,
        serde_json::json!({}),
    );
    env
}

//! Component images from a registry: pull + first run of a ~2 MiB module against the second run
//! (compiled cache warm), and running a registry reference against running a local `.wasm` path.
//! Building a WASI engine is its own row; every other row gets its engine built before its clock
//! starts, so no row hides an engine construction.
//!
//! - `engine construction`: `WasmEngine::new` (wasmtime engine, linker, epoch ticker, runtime).
//! - `pull + first run`: a fresh home; pull (which precompiles with the process's engine for
//!   that home, as `berth` does) → load from the compiled cache → run.
//! - `pull (no precompile) + run`: the same without precompiling, so the load compiles.
//! - `second run`: a new engine on the same home → load from the compiled cache → run (baseline).
//! - `registry ref, warm`: resolve the reference from the store (every blob verified) → load → run.
//! - `local path, warm`: resolve the `.wasm` path (hashed) → load → run.
//!
//! Each figure is a median of several runs (`pull` rows: 3 rounds, fresh homes). Needs the test
//! registry (`.ci/start-registry.sh`, `BERTH_TEST_REGISTRY`, default `127.0.0.1:5000`); without it
//! the bench prints a note and exits.

use std::path::Path;
use std::time::Instant;

use berth_benches::{MIB, median, median_with_setup, print_ratios, runs};
use berth_exec::wasm::{EngineOptions, WasmEngine};
use berth_exec::{ExecRequest, Executor, JobEnvironment, Limits, StdoutMode};
use berth_image::{ImageKind, ImageRef, PullOptions, RegistrySettings};
use berth_job::home::Home;

/// A WASI command of about `bytes` bytes of code: many small arithmetic functions (compiled
/// like real code) and a `_start` that prints one line.
fn big_module(bytes: usize) -> Vec<u8> {
    let mut text = String::from(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ok\n")
"#,
    );
    let body: String = (0..40)
        .map(|i| {
            format!(
                "local.get 0 i32.const {} i32.mul i32.const {i} i32.xor local.set 0\n",
                i * 7 + 3
            )
        })
        .collect();
    let mut n = 0;
    // About 6 bytes of text per byte of code.
    while text.len() < bytes * 6 {
        text.push_str(&format!(
            "  (func (export \"f{n}\") (param i32) (result i32)\n{body} local.get 0)\n"
        ));
        n += 1;
    }
    text.push_str(
        r#"  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    );
    wat::parse_str(text).expect("valid wat")
}

/// The first run of a never-seen module pays for Cranelift: its throughput with wasmtime's
/// parallel compilation (berth's setting) against one thread, same module, same engine
/// settings otherwise.
fn compile_throughput(module: &[u8]) {
    let compile_with = |parallel: bool| {
        let mut config = wasmtime::Config::new();
        config
            .epoch_interruption(true)
            .parallel_compilation(parallel);
        let engine = wasmtime::Engine::new(&config).expect("an engine");
        berth_benches::median_of(berth_benches::runs(5), || {
            wasmtime::Module::new(&engine, module).expect("the module compiles");
        })
    };
    let parallel = compile_with(true);
    let single = compile_with(false);
    let mib = berth_benches::mib(module.len() as u64);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "compile (Cranelift): parallel {:.2} MiB/s, one thread {:.2} MiB/s: {:.2}x on {cores} cores",
        mib / parallel.as_secs_f64(),
        mib / single.as_secs_f64(),
        single.as_secs_f64() / parallel.as_secs_f64()
    );
}

/// A new engine on `home`'s compiled cache (its own row; built outside the other rows' clocks).
fn new_engine(home: &Home) -> WasmEngine {
    WasmEngine::new(&EngineOptions::with_cache_dir(home.compiled_cache())).unwrap()
}

/// Loads `module` with `engine` and runs it once.
fn run(engine: &WasmEngine, module: &Path, data: &Path) {
    let component = engine.load(module, "big").unwrap();
    let request = ExecRequest {
        data_dir: data.to_path_buf(),
        action: "run".into(),
        env: JobEnvironment::local("big", "bench").to_vars(),
        limits: Limits::for_action("run"),
        output_filter: None,
        stdout: StdoutMode::Capture,
        cancel: None,
    };
    let result = component.execute(&request).unwrap();
    assert_eq!(result.stdout.text(), "ok\n");
}

fn module_path(kind: &ImageKind) -> &Path {
    match kind {
        ImageKind::Wasi { module_path, .. } => module_path,
        other => panic!("not wasi: {other:?}"),
    }
}

fn main() {
    let Some(registry) = berth_benches::test_registry() else {
        println!("images: no test registry; start .ci/start-registry.sh");
        return;
    };
    berth_benches::announce("images");
    let work = tempfile::TempDir::new().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("config.json"), r#"{"parameters":{}}"#).unwrap();
    let module_bytes = if berth_benches::smoke() {
        64 * 1024
    } else {
        2 * MIB as usize
    };
    let module = big_module(module_bytes);
    let local = work.path().join("big.wasm");
    std::fs::write(&local, &module).unwrap();
    println!("module: {:.2} MiB", berth_benches::mib(module.len() as u64));
    compile_throughput(&module);

    let options = PullOptions {
        settings: RegistrySettings {
            progress: false,
            ..RegistrySettings::default()
        },
        ..PullOptions::default()
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let reference = format!("{registry}/berth-bench/big-{nanos}:v1");
    let ImageRef::Registry(target) = ImageRef::parse(&reference).unwrap() else {
        unreachable!()
    };
    let pusher = Home::new(work.path().join("pusher")).image_store().unwrap();
    pusher.push_wasm(&local, &target, &options).unwrap();

    let mut homes = 0;
    let mut fresh_home = || {
        homes += 1;
        Home::new(work.path().join(format!("home-{homes}")))
    };

    let engine_home = fresh_home();
    let construction = median_with_setup(runs(10), || (), |()| new_engine(&engine_home));

    // A pull into a fresh home, then its first run, in one process: the precompile and the run
    // use the process's engine for that home, built (untimed) before the clock starts.
    let rounds = runs(3);
    let mut cold = Vec::new();
    let mut cold_no_precompile = Vec::new();
    for _ in 0..rounds {
        for (precompile, samples) in [(true, &mut cold), (false, &mut cold_no_precompile)] {
            let home = fresh_home();
            let engine = WasmEngine::shared(&home.compiled_cache()).unwrap();
            let mut options = options.clone();
            options.precompile = precompile;
            let started = Instant::now();
            let store = home.image_store().unwrap();
            let resolved = store.pull(&target, &options).unwrap();
            run(&engine, module_path(&resolved.kind), &data);
            samples.push(started.elapsed());
        }
    }

    // Warm rows: a new engine per run (so the module comes from the on-disk compiled cache, not
    // from an engine that already holds it), built before the clock starts.
    let home = fresh_home();
    let store = home.image_store().unwrap();
    let resolved = store.pull(&target, &options).unwrap();
    let pulled_module = module_path(&resolved.kind).to_path_buf();
    let second = median_with_setup(
        runs(10),
        || new_engine(&home),
        |engine| run(&engine, &pulled_module, &data),
    );
    let image = ImageRef::Registry(target.clone());
    let by_reference = median_with_setup(
        runs(10),
        || new_engine(&home),
        |engine| {
            let resolved = store.resolve(&image, &options).unwrap();
            run(&engine, module_path(&resolved.kind), &data);
        },
    );
    let by_path = ImageRef::parse(local.to_str().unwrap()).unwrap();
    let by_local = median_with_setup(
        runs(10),
        || new_engine(&home),
        |engine| {
            let resolved = store.resolve(&by_path, &options).unwrap();
            run(&engine, module_path(&resolved.kind), &data);
        },
    );

    print_ratios(
        &format!(
            "images: {:.2} MiB module from a loopback registry",
            berth_benches::mib(module.len() as u64)
        ),
        "second run",
        &[
            ("engine construction", construction),
            ("pull + first run", median(&cold)),
            ("pull (no precompile) + run", median(&cold_no_precompile)),
            ("second run", second),
            ("registry ref, warm", by_reference),
            ("local path, warm", by_local),
        ],
    );
}

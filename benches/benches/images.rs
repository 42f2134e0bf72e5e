//! Component images from a registry: pull + first run of a ~2 MB module against the second run
//! (compiled cache warm), and running a registry reference against running a local `.wasm` path.
//!
//! - `pull + first run`: a fresh home; pull (which precompiles) → engine → load → run.
//! - `pull (no precompile) + run`: the same without precompiling, so the run compiles.
//! - `second run`: a new engine on the same home → load from the compiled cache → run (baseline).
//! - `registry ref, warm`: resolve the reference from the store (every blob verified) → load → run.
//! - `local path, warm`: resolve the `.wasm` path (hashed) → load → run.
//!
//! Needs the test registry (`.ci/start-registry.sh`, `BERTH_TEST_REGISTRY`, default
//! `127.0.0.1:5000`); without it the bench prints a note and exits.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use berth_benches::{median_of, print_ratios};
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

fn run(home: &Home, module: &Path, data: &Path) {
    let engine = WasmEngine::new(&EngineOptions::with_cache_dir(home.compiled_cache())).unwrap();
    let component = engine.load(module, "big").unwrap();
    let request = ExecRequest {
        data_dir: data.to_path_buf(),
        action: "run".into(),
        env: JobEnvironment::local("big", "bench").to_vars(),
        limits: Limits::for_action("run"),
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
    let registry = std::env::var("BERTH_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into());
    let up = registry
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if !up {
        println!("images: no registry at {registry}; start .ci/start-registry.sh");
        return;
    }
    let work = tempfile::TempDir::new().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("config.json"), r#"{"parameters":{}}"#).unwrap();
    let module = big_module(2 * 1024 * 1024);
    let local = work.path().join("big.wasm");
    std::fs::write(&local, &module).unwrap();
    println!("module: {} bytes", module.len());

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

    let rounds = 3;
    let mut homes = 0;
    let mut fresh_home = || {
        homes += 1;
        Home::new(work.path().join(format!("home-{homes}")))
    };
    let mut cold = Vec::new();
    let mut cold_no_precompile = Vec::new();
    for _ in 0..rounds {
        let home = fresh_home();
        let started = Instant::now();
        let store = home.image_store().unwrap();
        let resolved = store.pull(&target, &options).unwrap();
        run(&home, module_path(&resolved.kind), &data);
        cold.push(started.elapsed());

        let home = fresh_home();
        let mut no_precompile = options.clone();
        no_precompile.precompile = false;
        let started = Instant::now();
        let store = home.image_store().unwrap();
        let resolved = store.pull(&target, &no_precompile).unwrap();
        run(&home, module_path(&resolved.kind), &data);
        cold_no_precompile.push(started.elapsed());
    }
    cold.sort();
    cold_no_precompile.sort();

    let home = fresh_home();
    let store = home.image_store().unwrap();
    let resolved = store.pull(&target, &options).unwrap();
    let pulled_module = module_path(&resolved.kind).to_path_buf();
    let second = median_of(10, || run(&home, &pulled_module, &data));
    let image = ImageRef::Registry(target.clone());
    let by_reference = median_of(10, || {
        let resolved = store.resolve(&image, &options).unwrap();
        run(&home, module_path(&resolved.kind), &data);
    });
    let by_path = ImageRef::parse(local.to_str().unwrap()).unwrap();
    let by_local = median_of(10, || {
        let resolved = store.resolve(&by_path, &options).unwrap();
        run(&home, module_path(&resolved.kind), &data);
    });

    print_ratios(
        "images: 2 MB module from a loopback registry",
        "second run",
        &[
            ("pull + first run", cold[rounds / 2]),
            ("pull (no precompile) + run", cold_no_precompile[rounds / 2]),
            ("second run", second),
            ("registry ref, warm", by_reference),
            ("local path, warm", by_local),
        ],
    );
}

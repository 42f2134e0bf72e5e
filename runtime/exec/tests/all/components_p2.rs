//! WASI preview 2 components: every sandbox case of `sandbox` against the test programs built for
//! wasm32-wasip2, then what is particular to components (told from modules by their header,
//! compiled and cached like modules).

use std::path::Path;

use berth_exec::compiled_cache::CacheStatus;
use berth_exec::wasm::{Allocator, EngineOptions, WasmEngine};
use berth_exec::{ExecRequest, Executor, JobEnvironment, Limits, StdoutMode, Termination};

// `sandbox` takes its guests from its parent: here, the preview 2 builds.
use components_artifacts::p2 as guests;

#[allow(
    clippy::duplicate_mod,
    reason = "the sandbox cases, parameterised by `guests`, run once per kind of binary"
)]
#[path = "sandbox.rs"]
mod sandbox;

fn fresh_engine(cache: &Path) -> WasmEngine {
    WasmEngine::new(&EngineOptions {
        allocator: Allocator::OnDemand,
        cache_dir: cache.to_path_buf(),
    })
    .unwrap()
}

fn run_exit_with(component: &berth_exec::wasm::WasmComponent, code: &str) -> Termination {
    let dir = berth_exec::testing::run_data_dir();
    let mut env = JobEnvironment::local("exit_with", "p2").to_vars();
    env.push(("CODE".into(), code.into()));
    let request = ExecRequest {
        data_dir: dir.path().to_path_buf(),
        action: "run".into(),
        env,
        limits: Limits::for_action("run"),
        stdout: StdoutMode::Capture,
        cancel: None,
        output_filter: None,
    };
    component.execute(&request).unwrap().termination
}

#[test]
fn a_component_is_told_from_a_module_by_its_header() {
    let engine = berth_exec::testing::engine();
    let component = engine
        .load(Path::new(guests::EXIT_WITH), "exit_with")
        .unwrap();
    let module = engine
        .load(Path::new(components_artifacts::EXIT_WITH), "exit_with")
        .unwrap();
    assert!(component.is_component());
    assert!(!module.is_component());
    assert_ne!(component.digest(), module.digest());
}

#[test]
fn a_compiled_component_is_cached_across_engines_and_a_damaged_entry_recompiled() {
    let cache = tempfile::TempDir::new().unwrap();
    let load = || {
        fresh_engine(cache.path())
            .load(Path::new(guests::EXIT_WITH), "exit_with")
            .unwrap()
    };
    assert_eq!(load().cache_status(), CacheStatus::Miss);
    let warm = load();
    assert_eq!(warm.cache_status(), CacheStatus::Hit);
    assert_eq!(run_exit_with(&warm, "7"), Termination::Exited(7));

    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("a cache entry");
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 64] {
        *byte ^= 0xA5;
    }
    std::fs::write(&entry, &bytes).unwrap();
    let recovered = load();
    assert_eq!(recovered.cache_status(), CacheStatus::Recovered);
    assert_eq!(run_exit_with(&recovered, "0"), Termination::Exited(0));
}

#[test]
fn precompiling_a_component_warms_the_cache() {
    let cache = tempfile::TempDir::new().unwrap();
    berth_exec::wasm::precompile_into_cache(cache.path(), Path::new(guests::EXIT_WITH)).unwrap();
    let component = WasmEngine::shared(cache.path())
        .unwrap()
        .load(Path::new(guests::EXIT_WITH), "exit_with")
        .unwrap();
    assert_eq!(component.cache_status(), CacheStatus::Hit);
}

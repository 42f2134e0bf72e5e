//! The compiled-module cache across engines (processes): miss, hit, and recovery from damage —
//! damage the checksum catches, and damage with a matching checksum that only wasmtime's own
//! deserialisation can refuse.

use std::path::Path;

use berth_exec::compiled_cache::CacheStatus;
use berth_exec::wasm::{Allocator, EngineOptions, WasmEngine};
use berth_exec::{Executor, Outcome};
use components_artifacts as guests;

use berth_exec::testing::{Run, run_data_dir};

fn fresh_engine(cache: &Path) -> WasmEngine {
    WasmEngine::new(&EngineOptions {
        allocator: Allocator::OnDemand,
        cache_dir: cache.to_path_buf(),
    })
    .unwrap()
}

fn load_status(cache: &Path) -> CacheStatus {
    fresh_engine(cache)
        .load(Path::new(guests::EXIT_WITH), "exit_with")
        .unwrap()
        .cache_status()
}

fn only_entry(cache: &Path) -> std::path::PathBuf {
    let entries: Vec<_> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
}

#[test]
fn the_second_process_hits_the_cache() {
    let cache = tempfile::TempDir::new().unwrap();
    assert_eq!(load_status(cache.path()), CacheStatus::Miss);
    assert_eq!(load_status(cache.path()), CacheStatus::Hit);
}

#[test]
fn the_same_engine_reuses_its_loaded_module() {
    let cache = tempfile::TempDir::new().unwrap();
    let engine = fresh_engine(cache.path());
    let first = engine
        .load(Path::new(guests::EXIT_WITH), "exit_with")
        .unwrap();
    std::fs::remove_dir_all(cache.path()).unwrap();
    let second = engine
        .load(Path::new(guests::EXIT_WITH), "exit_with")
        .unwrap();
    assert_eq!(first.cache_status(), CacheStatus::Miss);
    assert_eq!(second.cache_status(), CacheStatus::Hit);
    assert_eq!(first.digest(), second.digest());
}

#[test]
fn a_corrupted_entry_is_a_miss_and_is_replaced() {
    let cache = tempfile::TempDir::new().unwrap();
    assert_eq!(load_status(cache.path()), CacheStatus::Miss);
    let entry = only_entry(cache.path());
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 64] {
        *byte ^= 0xA5;
    }
    std::fs::write(&entry, &bytes).unwrap();

    let engine = fresh_engine(cache.path());
    let component = engine
        .load(Path::new(guests::EXIT_WITH), "exit_with")
        .unwrap();
    assert_eq!(component.cache_status(), CacheStatus::Recovered);
    let dir = run_data_dir();
    let request = berth_exec::ExecRequest {
        data_dir: dir.path().to_path_buf(),
        action: "run".into(),
        env: vec![],
        limits: berth_exec::Limits::for_action("run"),
        output_filter: None,
        stdout: berth_exec::StdoutMode::Capture,
        cancel: None,
    };
    let result = component.execute(&request).unwrap();
    assert_eq!(result.termination, berth_exec::Termination::Exited(0));
    assert_eq!(
        load_status(cache.path()),
        CacheStatus::Hit,
        "the entry was replaced"
    );
}

/// Writes `bytes` as `entry` with a sidecar checksum that matches them, the way the cache seals
/// the entries it writes (crc32 and length).
fn seal(entry: &Path, bytes: &[u8]) {
    std::fs::write(entry, bytes).unwrap();
    let checksum = format!("{:08x}-{}", crc32fast::hash(bytes), bytes.len());
    std::fs::write(entry.with_extension("cwasm.crc32"), checksum).unwrap();
}

#[test]
fn an_entry_wasmtime_refuses_despite_a_matching_checksum_is_recompiled_and_replaced() {
    let cache = tempfile::TempDir::new().unwrap();
    assert_eq!(load_status(cache.path()), CacheStatus::Miss);
    let entry = only_entry(cache.path());
    let good = std::fs::read(&entry).unwrap();
    // `seal` writes exactly the sidecar the cache wrote, so the damaged entries below pass the
    // checksum and reach wasmtime's deserialisation.
    let sidecar = entry.with_extension("cwasm.crc32");
    let written = std::fs::read_to_string(&sidecar).unwrap();
    seal(&entry, &good);
    assert_eq!(std::fs::read_to_string(&sidecar).unwrap(), written);
    assert_eq!(load_status(cache.path()), CacheStatus::Hit);

    let mut not_elf = good.clone();
    not_elf[..4].copy_from_slice(b"\0BAD");
    for (damage, bytes) in [
        ("not ELF", not_elf),
        ("the first half", good[..good.len() / 2].to_vec()),
        ("garbage", b"\x7fELF not really".to_vec()),
    ] {
        seal(&entry, &bytes);
        // The same engine configuration as the one that wrote the entry: it looks up this very
        // entry (another configuration would miss it by name).
        let engine = fresh_engine(cache.path());
        let component = engine
            .load(Path::new(guests::EXIT_WITH), "exit_with")
            .unwrap();
        assert_eq!(component.cache_status(), CacheStatus::Recovered, "{damage}");
        assert_eq!(only_entry(cache.path()), entry, "{damage}");
        let dir = run_data_dir();
        let request = berth_exec::ExecRequest {
            data_dir: dir.path().to_path_buf(),
            action: "run".into(),
            env: vec![],
            limits: berth_exec::Limits::for_action("run"),
            stdout: berth_exec::StdoutMode::Capture,
            cancel: None,
            output_filter: None,
        };
        let result = component.execute(&request).unwrap();
        assert_eq!(result.termination, berth_exec::Termination::Exited(0));
        assert_ne!(std::fs::read(&entry).unwrap(), bytes, "{damage}: replaced");
        assert_eq!(
            load_status(cache.path()),
            CacheStatus::Hit,
            "{damage}: the replacement is a good entry"
        );
    }
}

#[test]
fn a_truncated_entry_or_a_lost_checksum_is_a_miss() {
    let cache = tempfile::TempDir::new().unwrap();
    load_status(cache.path());
    let entry = only_entry(cache.path());
    let bytes = std::fs::read(&entry).unwrap();
    std::fs::write(&entry, &bytes[..bytes.len() / 3]).unwrap();
    assert_eq!(load_status(cache.path()), CacheStatus::Recovered);
    std::fs::remove_file(entry.with_extension("cwasm.crc32")).unwrap();
    assert_eq!(load_status(cache.path()), CacheStatus::Recovered);
    assert_eq!(load_status(cache.path()), CacheStatus::Hit);
}

#[test]
fn garbage_in_place_of_an_entry_never_crashes() {
    let cache = tempfile::TempDir::new().unwrap();
    load_status(cache.path());
    let entry = only_entry(cache.path());
    std::fs::write(&entry, b"\x7fELF not really").unwrap();
    std::fs::write(entry.with_extension("cwasm.crc32"), "00000000-0").unwrap();
    assert_eq!(load_status(cache.path()), CacheStatus::Recovered);
    let dir = run_data_dir();
    let (_, outcome) = Run::new(guests::EXIT_WITH, dir.path()).run();
    assert_eq!(outcome, Outcome::Success);
}

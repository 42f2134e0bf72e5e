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

mod pinned {
    //! `load_pinned`: a content-addressed file (an image store's blob) is not read again when
    //! the compiled cache knows its digest, and is checked against the digest when it must be
    //! compiled.

    use super::*;
    use berth_exec::compiled_cache::sha256_hex;

    fn copy_of_guest(dir: &Path) -> (std::path::PathBuf, String) {
        let bytes = std::fs::read(guests::EXIT_WITH).unwrap();
        let path = dir.join("module.wasm");
        std::fs::write(&path, &bytes).unwrap();
        (path, sha256_hex(&bytes))
    }

    #[test]
    fn a_warm_cache_answers_without_reading_the_module() {
        let cache = tempfile::TempDir::new().unwrap();
        let files = tempfile::TempDir::new().unwrap();
        let (path, digest) = copy_of_guest(files.path());
        let first = fresh_engine(cache.path())
            .load_pinned(&path, &digest, "exit_with")
            .unwrap();
        assert_eq!(first.cache_status(), CacheStatus::Miss);
        // Only the header is read on the warm path: the rest of the file is not looked at.
        let mut damaged = std::fs::read(&path).unwrap();
        let len = damaged.len();
        damaged[8..len].fill(0);
        std::fs::write(&path, &damaged).unwrap();
        let second = fresh_engine(cache.path())
            .load_pinned(&path, &digest, "exit_with")
            .unwrap();
        assert_eq!(second.cache_status(), CacheStatus::Hit);
        assert_eq!(second.digest(), digest);
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
        let result = second.execute(&request).unwrap();
        assert_eq!(result.termination, berth_exec::Termination::Exited(0));
    }

    #[test]
    fn a_module_that_does_not_match_its_digest_is_refused_when_compiled() {
        let cache = tempfile::TempDir::new().unwrap();
        let files = tempfile::TempDir::new().unwrap();
        let (path, _) = copy_of_guest(files.path());
        let wrong = "0".repeat(64);
        let error = fresh_engine(cache.path())
            .load_pinned(&path, &wrong, "exit_with")
            .unwrap_err();
        let text = format!("{:#}", anyhow::Error::from(error));
        assert!(
            text.contains("does not hold the module it was stored as")
                && text.contains(&format!("expected sha256:{wrong}")),
            "{text}"
        );
        assert!(
            std::fs::read_dir(cache.path())
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
                || std::fs::read_dir(cache.path()).unwrap().next().is_none(),
            "nothing compiled into the cache"
        );
    }

    #[test]
    fn a_file_too_short_to_be_a_module_is_a_clear_error() {
        let cache = tempfile::TempDir::new().unwrap();
        let files = tempfile::TempDir::new().unwrap();
        let path = files.path().join("short.wasm");
        std::fs::write(&path, b"\0asm").unwrap();
        let error = fresh_engine(cache.path())
            .load_pinned(&path, &"0".repeat(64), "short")
            .unwrap_err();
        let text = format!("{:#}", anyhow::Error::from(error));
        assert!(text.contains("reading the header of"), "{text}");
    }
}

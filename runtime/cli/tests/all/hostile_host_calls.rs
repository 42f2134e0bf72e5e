//! A guest that hands berth's own host functions numbers of its choosing, run by the real
//! `berth exec`: `poll_oneoff` with counts whose buffers would not fit any memory (`u32::MAX`,
//! and a count whose 48-byte buffer wraps a 32-bit product), and a table grown past the memory
//! limit. berth answers with an errno or an out-of-memory user error; it never allocates what the
//! guest asked for.

use serde_json::json;

use crate::hostile_support::measure;
use crate::support::berth;

/// A module calling `poll_oneoff(0, 0, count, 0)` and exiting with the errno it got.
fn poll_guest(count: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $exit (call $poll (i32.const 0) (i32.const 1024) (i32.const {count}) (i32.const 0)))))"#,
        count = count as i32
    ))
    .unwrap()
}

/// A module growing a table by `elements` and exiting 0 when it could, 1 when refused.
fn table_guest(elements: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (table 1 funcref)
  (func (export "_start")
    (call $exit
      (i32.eq (table.grow (ref.null func) (i32.const {elements})) (i32.const -1)))))"#
    ))
    .unwrap()
}

fn exec(module: &[u8], memory_mb: u64) -> crate::hostile_support::Measured {
    let dir = tempfile::TempDir::new().unwrap();
    let wasm = dir.path().join("guest.wasm");
    std::fs::write(&wasm, module).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("config.json"),
        json!({"parameters": {}}).to_string(),
    )
    .unwrap();
    let mut command = berth();
    command
        .arg("--home")
        .arg(dir.path().join("home"))
        .arg("exec")
        .arg(&wasm)
        .arg("--data-dir")
        .arg(&data)
        .args(["--memory", &memory_mb.to_string()]);
    measure(command)
}

#[test]
fn hostile_poll_oneoff_counts_never_size_a_host_allocation() {
    // EFAULT (21) comes back as the guest's exit code: an application error (exit 2).
    for (case, count) in [
        ("poll_oneoff count u32::MAX", u32::MAX),
        ("poll_oneoff count wrapping 32 bits", 0x0555_5556),
        ("poll_oneoff count beyond the memory", 2000),
    ] {
        exec(&poll_guest(count), 256).assert_refused(case, 2, &["failed: (21)"]);
    }
    // A count that fits is answered (one zeroed clock subscription: due at once).
    let m = exec(&poll_guest(1), 256);
    m.assert_bounded("poll_oneoff count 1");
    assert_eq!(m.code, Some(0), "{m:#?}");
}

#[test]
fn hostile_table_growth_counts_against_the_memory_limit() {
    // 64 Mi elements at 8 bytes = 512 MiB > 64 MB: refused, and the run is out of memory.
    exec(&table_guest(64 << 20), 64).assert_refused(
        "table growth past the memory limit",
        1,
        &["Component out of memory (exceeded 64M)"],
    );
    // 10,000 elements (80 KB) fit in 64 MB (and in the pooling allocator's table slots).
    let m = exec(&table_guest(10_000), 64);
    m.assert_bounded("table growth within the limit");
    assert_eq!(m.code, Some(0), "{m:#?}");
}

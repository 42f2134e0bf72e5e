//! A pooled instance slot is reused by the next run, so nothing one run leaves in its linear
//! memory may reach the next: the engine resets a slot by zeroing the pages a run dirtied (up
//! to a size) and by `madvise` beyond it. A guest checks both regions for a previous run's
//! bytes, checks that its data segment is back as compiled, then fills its whole memory; many
//! runs in a row on one engine must each find a clean memory.

use berth_exec::Outcome;
use berth_exec::testing::{Run, run_data_dir};
use berth_exec::wasm::{Allocator, pooling_is_available};

/// Memory of 64 pages (4 MiB, the part reset by zeroing) grown by 16 more (reset by `madvise`).
/// Exit 3: the data segment is not as compiled; 4: the memory did not grow; 1: a byte of a
/// previous run is left.
const GUEST: &str = r#"
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 64)
  (data (i32.const 0) "berthseg")
  (func (export "_start")
    (local $i i32) (local $end i32)
    (if (i64.ne (i64.load (i32.const 0)) (i64.const 7450488051021800802))
      (then (call $exit (i32.const 3))))
    (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
      (then (call $exit (i32.const 4))))
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (local.set $i (i32.const 8))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (if (i64.ne (i64.load (local.get $i)) (i64.const 0))
          (then (call $exit (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $scan)))
    (memory.fill (i32.const 0) (i32.const 0xA5) (local.get $end))))
"#;

#[test]
fn a_reused_memory_slot_holds_nothing_of_the_previous_run() {
    if pooling_is_available() {
        assert_eq!(
            berth_exec::testing::engine().allocator(),
            Allocator::Pooling,
            "the shared test engine pools when it can: this test is about slot reuse"
        );
    }
    let work = tempfile::TempDir::new().unwrap();
    let module = work.path().join("memory_residue.wasm");
    std::fs::write(&module, wat::parse_str(GUEST).expect("valid wat")).unwrap();
    for run in 0..20 {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(module.to_str().unwrap(), dir.path()).run();
        assert_eq!(
            outcome,
            Outcome::Success,
            "run {run}: {:?} {}",
            result.termination,
            result.stderr.text()
        );
    }
}

//! The fuzzing entry to berth's own host functions (feature `fuzzing`, used by `runtime/fuzz`):
//! a tiny module whose only import is `poll_oneoff`, linked against berth's shim exactly as the
//! WASI executor links it, called with a memory image and arguments chosen by the fuzzer.
//!
//! Waits are cut short (a millisecond), since the fuzzer looks for crashes, overflows and
//! allocations a guest can size, not for sleeps.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine, InstancePre, Linker, Module, Store};

/// One page of memory: big enough for the interesting layouts, small enough to reset per input.
pub const MEMORY_BYTES: usize = 65_536;

const MODULE: &str = r#"
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "call") (param i32 i32 i32 i32) (result i32)
    (call $poll (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
"#;

struct Harness {
    engine: Engine,
    pre: InstancePre<()>,
    runtime: tokio::runtime::Runtime,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let engine = Engine::new(&Config::new()).expect("engine");
        let module = Module::new(&engine, MODULE).expect("the harness module compiles");
        let mut linker: Linker<()> = Linker::new(&engine);
        super::poll::shadow_poll_oneoff(&mut linker).expect("the shim links");
        let pre = linker.instantiate_pre(&module).expect("the harness links");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        Harness {
            engine,
            pre,
            runtime,
        }
    })
}

/// Calls berth's `poll_oneoff` with `memory` (copied into a one-page guest memory, cut or
/// zero-padded to [`MEMORY_BYTES`]) and the four raw arguments; returns the errno, or `None` when
/// the call only waited (cut after a millisecond). Panics only if the shim itself misbehaves
/// (a trap or a host error).
pub fn poll_oneoff(memory: &[u8], args: [u32; 4]) -> Option<i32> {
    let harness = harness();
    let mut store = Store::new(&harness.engine, ());
    harness.runtime.block_on(async {
        let instance = harness
            .pre
            .instantiate_async(&mut store)
            .await
            .expect("instantiate");
        let guest_memory = instance
            .get_memory(&mut store, "memory")
            .expect("exported memory");
        let n = memory.len().min(MEMORY_BYTES);
        guest_memory.data_mut(&mut store)[..n].copy_from_slice(&memory[..n]);
        let call = instance
            .get_typed_func::<(i32, i32, i32, i32), i32>(&mut store, "call")
            .expect("call export");
        let [a, b, c, d] = args.map(|v| v as i32);
        let called = tokio::time::timeout(
            Duration::from_millis(1),
            call.call_async(&mut store, (a, b, c, d)),
        )
        .await;
        match called {
            Ok(result) => Some(result.expect("poll_oneoff never traps")),
            Err(_) => None,
        }
    })
}

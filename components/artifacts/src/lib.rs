//! Paths of the guests built from source for wasm32-wasip1 and wasm32-wasip2.
//!
//! The build script compiles the `test-programs` package and the example components with a nested
//! `cargo build --target wasm32-wasip1 --release` (the pattern of wasmtime's test-programs
//! artifacts crate), and the test programs again with `--target wasm32-wasip2`, and generates:
//!
//! - one `pub const NAME: &str` per guest, the absolute path of its `.wasm` (`MULTIPLIER`,
//!   `INCREMENTAL`, and one per test program, e.g. `EXIT_WITH`), and `TARGET`;
//! - the module `p2`: the same constants for the test programs built as preview 2 components
//!   (`p2::EXIT_WITH`, `p2::TARGET`, `p2::TEST_PROGRAMS`);
//! - `TEST_PROGRAMS`, the name and path of every test program;
//! - `foreach_test_program!($mac)`, which calls `$mac!(name)` for every test program, so a host
//!   test suite can insist that every guest has a test.
//!
//! Nothing here is checked in: every `.wasm` comes from the sources under `components/`.

include!(concat!(env!("OUT_DIR"), "/gen.rs"));

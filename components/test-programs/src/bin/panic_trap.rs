//! Panics; on wasm32-wasip1 a panic aborts through a wasm `unreachable` trap.
fn main() {
    eprintln!("panic_trap: giving up");
    panic!("deliberate panic");
}

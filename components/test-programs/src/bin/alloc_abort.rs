//! Allocates and touches `ALLOC_MB` megabytes (default 1024) with `vec!`, which aborts (a wasm
//! `unreachable` trap) when the memory cannot grow.
fn main() {
    let mb: usize = std::env::var("ALLOC_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let block = vec![1u8; mb * 1_000_000];
    println!(
        "allocated {} bytes, last {}",
        block.len(),
        block[block.len() - 1]
    );
}

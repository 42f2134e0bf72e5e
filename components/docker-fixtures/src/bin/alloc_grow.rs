//! Allocates and touches memory one MiB at a time: the number of MiB given as the first argument
//! or in `ALLOC_MB` (default: without end, until the memory limit kills it), then exits 0.

fn main() {
    let target = docker_fixtures::arg_or_env("ALLOC_MB", u64::MAX);
    let mut kept: Vec<Vec<u8>> = Vec::new();
    while (kept.len() as u64) < target {
        // Every page written, so the memory is really resident, not just reserved.
        kept.push(vec![0x5a; 1 << 20]);
        if kept.len().is_multiple_of(64) {
            eprintln!("alloc_grow: {} MiB", kept.len());
        }
    }
    println!("alloc_grow: held {} MiB", kept.len());
}

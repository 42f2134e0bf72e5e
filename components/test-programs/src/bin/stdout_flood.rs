//! Writes `FLOOD_MB` megabytes (default 64) to stdout in 64 KiB writes, then a last line, and
//! exits 0.
use std::io::Write;

fn main() {
    let mb: usize = std::env::var("FLOOD_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let chunk = vec![b'x'; 64 * 1024];
    let mut out = std::io::stdout().lock();
    for _ in 0..(mb * 1_000_000 / chunk.len()) {
        out.write_all(&chunk).expect("stdout accepts every write");
    }
    writeln!(out, "\nflood: the end").expect("stdout accepts every write");
}

//! Helpers shared by berth's criterion benches: medians measured alongside criterion, and the
//! ratio table every bench prints so that each figure is read against a baseline from the same
//! run.

use std::time::{Duration, Instant};

/// The median wall time of `iterations` calls of `f` (after one warm-up call).
pub fn median_of(iterations: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut samples: Vec<Duration> = (0..iterations.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// Prints `rows` (name, median) as a table with each row's ratio to the `baseline` row.
pub fn print_ratios(title: &str, baseline: &str, rows: &[(&str, Duration)]) {
    let base = rows
        .iter()
        .find(|(name, _)| *name == baseline)
        .map(|(_, d)| d.as_secs_f64())
        .unwrap_or(f64::NAN);
    println!("\n{title} (medians; ratio = time / {baseline})");
    for (name, median) in rows {
        println!(
            "  {name:<28} {:>12.1} µs   {:>10.2}×",
            median.as_secs_f64() * 1e6,
            median.as_secs_f64() / base
        );
    }
}

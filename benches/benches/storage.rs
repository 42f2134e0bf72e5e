//! Embedded Storage throughput: import and export of a generated table, full and incremental
//! with a primary key, against the floor of any CSV-to-CSV work measured in the same run on the
//! same bytes: one pass of the `csv` crate reading the file and writing it back with every field
//! quoted.
//!
//! Goals (issue 3): export ≥ 0.5×, full import ≥ 0.3×, incremental import with a primary key
//! ≥ 0.15× of the baseline's MB/s. The table size is `BERTH_BENCH_TABLE_MB` (default 1024).

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use berth_storage::{ExportOptions, ImportOptions, Storage, TableId};
use criterion::{Criterion, Throughput};

/// Writes a CSV of about `bytes` bytes: a unique id and seven text columns, some quoted with
/// embedded delimiters and quotes.
fn generate(path: &Path, bytes: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    writeln!(out, "id,name,email,city,status,amount,note,created").unwrap();
    let mut written = 0u64;
    let mut i = 0u64;
    let statuses = ["Open", "Closed Won", "Closed Lost", "Pending"];
    while written < bytes {
        let line = format!(
            "{i},Customer {i},user{i}@example.com,City {},{},{}.{:02},\"note, with \"\"quotes\"\" {}\",2024-{:02}-{:02}T10:{:02}:00Z\n",
            i % 1000,
            statuses[(i % 4) as usize],
            i % 100_000,
            i % 100,
            i % 7919,
            i % 12 + 1,
            i % 28 + 1,
            i % 60
        );
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        i += 1;
    }
    out.flush().unwrap();
}

fn main() {
    let mb: u64 = std::env::var("BERTH_BENCH_TABLE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::TempDir::new().unwrap();
    let input = dir.path().join("table.csv");
    generate(&input, mb << 20);
    let size = std::fs::metadata(&input).unwrap().len();
    let output = dir.path().join("out.csv");

    let mut storage = Storage::open(dir.path().join("storage")).unwrap();
    let full_table = TableId::parse("in.c-bench.full").unwrap();
    let pk_table = TableId::parse("in.c-bench.pk").unwrap();
    let with_pk = ImportOptions {
        primary_key: vec!["id".into()],
        ..ImportOptions::default()
    };
    // The incremental table starts with every row, so each run upserts all of them.
    storage.import_csv(&pk_table, &input, &with_pk).unwrap();
    storage
        .import_csv(&full_table, &input, &ImportOptions::default())
        .unwrap();
    let storage = RefCell::new(storage);
    let incremental = ImportOptions {
        incremental: true,
        ..with_pk.clone()
    };

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let mut group = criterion.benchmark_group("storage");
    group.throughput(Throughput::Bytes(size));
    let samples: RefCell<Vec<(&str, Vec<Duration>)>> = RefCell::new(Vec::new());
    let mut run = |name: &'static str, f: &dyn Fn()| {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    f();
                    let took = start.elapsed();
                    total += took;
                    let mut samples = samples.borrow_mut();
                    match samples.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, v)) => v.push(took),
                        None => samples.push((name, vec![took])),
                    }
                }
                total
            })
        });
    };
    run("csv_rewrite_baseline", &|| {
        berth_benches::csv_rewrite_baseline(&input, &output)
    });
    run("import_full", &|| {
        storage
            .borrow_mut()
            .import_csv(&full_table, &input, &ImportOptions::default())
            .unwrap();
    });
    run("import_incremental_pk", &|| {
        storage
            .borrow_mut()
            .import_csv(&pk_table, &input, &incremental)
            .unwrap();
    });
    run("export_to_path", &|| {
        storage
            .borrow()
            .export_csv_to_path(&full_table, &output, &ExportOptions::default())
            .unwrap();
    });
    run("export_to_writer", &|| {
        let mut file = BufWriter::with_capacity(1 << 20, File::create(&output).unwrap());
        storage
            .borrow()
            .export_csv(&full_table, &mut file, &ExportOptions::default())
            .unwrap();
    });
    group.finish();

    let samples = samples.into_inner();
    let median = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    let mbps = |d: Duration| size as f64 / (1 << 20) as f64 / d.as_secs_f64();
    let base = samples
        .iter()
        .find(|(n, _)| *n == "csv_rewrite_baseline")
        .map(|(_, v)| mbps(median(v)))
        .unwrap_or(f64::NAN);
    println!(
        "\nstorage throughput on a {:.0} MB table (medians; ratio = MB/s ÷ csv_rewrite_baseline)",
        size as f64 / (1 << 20) as f64
    );
    for (name, v) in &samples {
        let m = median(v);
        println!(
            "  {name:<24} {:>9.2} s {:>9.1} MB/s {:>8.2}×",
            m.as_secs_f64(),
            mbps(m),
            mbps(m) / base
        );
    }
    criterion.final_summary();
}

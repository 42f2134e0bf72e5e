//! Storage throughput: import and export of a generated table, full and incremental with a
//! primary key, against the floor of any CSV-to-CSV work measured in the same run on the same
//! bytes: one pass of the `csv` crate reading the file and writing it back with every field
//! quoted. Both backends run the same code through `berth_storage::TableData`: the embedded
//! DuckDB Storage, then PostgreSQL (a fresh database of the test cluster, `BERTH_TEST_POSTGRES_URL`;
//! its rows are left out with a message when no cluster answers, and the bench fails instead
//! under `BERTH_REQUIRE_POSTGRES=1`).
//!
//! Each row is the median of several timed runs (`BERTH_BENCH_RUNS`, default 5) after one
//! warm-up run that is not counted. Goals (issue 3): export ≥ 0.5×, full import ≥ 0.3×,
//! incremental import with a primary key ≥ 0.15× of the baseline's throughput. The table size is
//! `BERTH_BENCH_TABLE_MB`, in MiB (default 1024); sizes and throughputs are in MiB.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use berth_benches::{median_of, mib};
use berth_postgres::PgStorage;
use berth_postgres::testing::TestDatabase;
use berth_storage::{ExportOptions, ImportOptions, Storage, TableData, TableId};

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

/// The number of timed runs per row: `BERTH_BENCH_RUNS` (default 5; 3 in smoke mode).
fn runs() -> usize {
    let runs = std::env::var("BERTH_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    berth_benches::runs(runs).max(1)
}

fn main() {
    berth_benches::announce("storage");
    let dir = tempfile::TempDir::new().unwrap();
    let input = dir.path().join("table.csv");
    generate(&input, berth_benches::table_mib() * berth_benches::MIB);
    let size = std::fs::metadata(&input).unwrap().len();
    let output = dir.path().join("out.csv");

    let runs = runs();
    let mut rows: Vec<(String, Duration)> = vec![(
        "csv_rewrite_baseline".into(),
        median_of(runs, || {
            berth_benches::csv_rewrite_baseline(&input, &output);
        }),
    )];
    let mut duckdb = Storage::open(dir.path().join("storage")).unwrap();
    measure("duckdb", &mut duckdb, &input, &output, runs, &mut rows);
    drop(duckdb);
    let postgres = TestDatabase::create("storage bench");
    match &postgres {
        Some(db) => {
            let mut storage = PgStorage::connect(db.url()).unwrap();
            measure("postgres", &mut storage, &input, &output, runs, &mut rows);
        }
        None => println!("(no PostgreSQL rows: no cluster answered)"),
    }

    let throughput = |d: Duration| mib(size) / d.as_secs_f64();
    let base = throughput(rows[0].1);
    println!(
        "\nstorage throughput on a {:.1} MiB table (median of {runs} runs after a warm-up; ratio = MiB/s ÷ csv_rewrite_baseline)",
        mib(size)
    );
    for (name, median) in &rows {
        println!(
            "  {name:<32} {:>9.3} s {:>9.1} MiB/s {:>8.2}×",
            median.as_secs_f64(),
            throughput(*median),
            throughput(*median) / base
        );
    }
}

/// Times full and incremental imports and exports of `input` on one backend, adding a row per
/// operation named `<backend> <operation>`.
fn measure(
    backend: &str,
    storage: &mut dyn TableData,
    input: &Path,
    output: &Path,
    runs: usize,
    rows: &mut Vec<(String, Duration)>,
) {
    let full_table = TableId::parse("in.c-bench.full").unwrap();
    let pk_table = TableId::parse("in.c-bench.pk").unwrap();
    let with_pk = ImportOptions {
        primary_key: vec!["id".into()],
        ..ImportOptions::default()
    };
    // The incremental table starts with every row, so each run upserts all of them.
    storage.import_csv(&pk_table, input, &with_pk).unwrap();
    storage
        .import_csv(&full_table, input, &ImportOptions::default())
        .unwrap();
    let incremental = ImportOptions {
        incremental: true,
        ..with_pk.clone()
    };
    rows.push((
        format!("{backend} import_full"),
        median_of(runs, || {
            storage
                .import_csv(&full_table, input, &ImportOptions::default())
                .unwrap();
        }),
    ));
    rows.push((
        format!("{backend} import_incremental_pk"),
        median_of(runs, || {
            storage.import_csv(&pk_table, input, &incremental).unwrap();
        }),
    ));
    rows.push((
        format!("{backend} export"),
        median_of(runs, || {
            let mut file = BufWriter::with_capacity(1 << 20, File::create(output).unwrap());
            storage
                .export_csv(&full_table, &mut file, &ExportOptions::default())
                .unwrap();
            file.flush().unwrap();
        }),
    ));
}

//! A whole job from Storage to Storage on a generated table: input mapping with a filter, the
//! `pass_through` component, incremental output with a primary key — broken down by stage.
//!
//! Staging overhead (input mapping + output mapping) is reported as a ratio to the floor of any
//! CSV-to-CSV work, measured in the same run on the same bytes: one pass of the `csv` crate reading
//! the table and writing it back with every field quoted (the Storage bench's baseline). The
//! table size is `BERTH_BENCH_TABLE_MB` (default 1024).

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use berth_benches::print_ratios;
use berth_job::home::Home;
use berth_job::{ConfigSource, JobRequest, JobStatus, Progress, run_job};
use berth_staging::Stage;
use berth_storage::{ComponentDefinition, ImportOptions, NewConfig, Storage, TableId};

/// A CSV of about `bytes` bytes: an id, a status to filter on and five text columns.
fn generate(path: &Path, bytes: u64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    writeln!(out, "id,status,name,email,city,amount,note").unwrap();
    let statuses = ["open", "won", "lost", "skip"];
    let (mut written, mut rows) = (0u64, 0u64);
    while written < bytes {
        let i = rows;
        let line = format!(
            "{i},{},Name {i},u{i}@example.com,City {},{}.{:02},\"a note, \"\"quoted\"\" {}\"\n",
            statuses[(i % 4) as usize],
            i % 997,
            i % 50_000,
            i % 100,
            i % 7919
        );
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        rows += 1;
    }
    out.flush().unwrap();
    rows
}

/// Records when each stage began.
#[derive(Default)]
struct StageClock {
    marks: RefCell<Vec<(Stage, Instant)>>,
    end: RefCell<Option<Instant>>,
}

impl Progress for StageClock {
    fn stage(&self, stage: Stage) {
        self.marks.borrow_mut().push((stage, Instant::now()));
    }

    fn finish(&self) {
        *self.end.borrow_mut() = Some(Instant::now());
    }
}

impl StageClock {
    fn durations(&self) -> Vec<(Stage, Duration)> {
        let marks = self.marks.borrow();
        let end = self.end.borrow().unwrap_or_else(Instant::now);
        let mut out: Vec<(Stage, Duration)> = Vec::new();
        for (i, (stage, start)) in marks.iter().enumerate() {
            let stop = marks.get(i + 1).map_or(end, |(_, t)| *t);
            match out.iter_mut().find(|(s, _)| s == stage) {
                Some((_, d)) => *d += stop - *start,
                None => out.push((*stage, stop - *start)),
            }
        }
        out
    }
}

fn main() {
    let mb: u64 = std::env::var("BERTH_BENCH_TABLE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::TempDir::new().unwrap();
    let csv_path = dir.path().join("table.csv");
    let rows = generate(&csv_path, mb << 20);
    let size = std::fs::metadata(&csv_path).unwrap().len();
    let home = Home::new(dir.path().join("home"));

    let setup = Instant::now();
    {
        let mut storage = Storage::open(home.storage()).unwrap();
        let source = TableId::parse("in.c-bench.source").unwrap();
        let options = ImportOptions {
            primary_key: vec!["id".into()],
            ..ImportOptions::default()
        };
        storage.import_csv(&source, &csv_path, &options).unwrap();
        let definition = ComponentDefinition::from_json(
            &serde_json::json!({"id": "bench.pass", "image": components_artifacts::PASS_THROUGH})
                .to_string(),
        )
        .unwrap();
        storage.add_component(&definition).unwrap();
        let configuration = serde_json::json!({"storage": {
            "input": {"tables": [{"source": "in.c-bench.source", "destination": "data.csv",
                "where_column": "status", "where_values": ["skip"], "where_operator": "ne"}]},
            "output": {"tables": [{"source": "data.csv", "destination": "out.c-bench.copy",
                "incremental": true, "primary_key": ["id"]}]}}});
        let new = NewConfig {
            id: Some("bench".into()),
            configuration,
            ..NewConfig::default()
        };
        storage.create_config("bench.pass", &new).unwrap();
    }
    println!(
        "job bench: {} MB table, {rows} rows (setup {:.1} s)",
        size >> 20,
        setup.elapsed().as_secs_f64()
    );

    let baseline_out = dir.path().join("rewrite.csv");
    let started = Instant::now();
    berth_benches::csv_rewrite_baseline(&csv_path, &baseline_out);
    let baseline = started.elapsed();
    std::fs::remove_file(&baseline_out).unwrap();

    // Twice: the first run creates the output table, the second upserts into it.
    for (label, run) in [
        ("first job (creates the table)", 0),
        ("second job (incremental upsert)", 1),
    ] {
        let clock = StageClock::default();
        let request = JobRequest::new("bench.pass", ConfigSource::Stored("bench".into()));
        let started = Instant::now();
        let job = run_job(&home, &request, &clock).unwrap();
        let total = started.elapsed();
        assert_eq!(
            job.record.status,
            JobStatus::Success,
            "{:?}",
            job.record.result
        );
        let stages = clock.durations();
        let get = |s: Stage| {
            stages
                .iter()
                .find(|(st, _)| *st == s)
                .map_or(Duration::ZERO, |(_, d)| *d)
        };
        let staging = get(Stage::InputMapping) + get(Stage::OutputMapping);
        let names: Vec<(String, Duration)> = stages
            .iter()
            .map(|(s, d)| (s.as_str().to_owned(), *d))
            .collect();
        let mut table: Vec<(&str, Duration)> = vec![("csv rewrite (baseline)", baseline)];
        table.extend(names.iter().map(|(n, d)| (n.as_str(), *d)));
        table.push(("staging (in + out)", staging));
        table.push(("whole job", total));
        print_ratios(
            &format!("job bench, {label} (run {run})"),
            "csv rewrite (baseline)",
            &table,
        );
        println!(
            "  rows in {} / out {}; staging throughput {:.0} MB/s vs baseline {:.0} MB/s",
            job.record.input.tables[0].rows,
            job.record.output.tables[0].rows,
            size as f64 / 1e6 / staging.as_secs_f64(),
            size as f64 / 1e6 / baseline.as_secs_f64()
        );
    }
}

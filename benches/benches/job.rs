//! A whole job from Storage to Storage on a generated table: input mapping of the whole table,
//! the `pass_through` component, incremental output with a primary key — broken down by stage.
//!
//! Staging overhead (input mapping + output mapping) is reported as a ratio to the floor of any
//! CSV-to-CSV work, measured in the same run on the same bytes: one pass of the `csv` crate reading
//! the table and writing it back with every field quoted (the Storage bench's baseline). The job
//! stages exactly those bytes (no row filter), so input and output mapping each move what the
//! baseline moves once. Every figure is the median of several runs (`BERTH_BENCH_RUNS`, default
//! 3): a job that creates the output table (the table removed before each run), and a job that
//! upserts into it. The table size is `BERTH_BENCH_TABLE_MB`, in MiB (default 1024); sizes and
//! throughputs are in MiB.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use berth_benches::{median, mib, print_ratios};
use berth_job::home::Home;
use berth_job::{ConfigSource, JobRequest, JobStatus, Progress, run_job};
use berth_staging::Stage;
use berth_storage::{ComponentDefinition, ImportOptions, NewConfig, Storage, TableId};

/// A CSV of about `bytes` bytes: an id, a status and five text columns.
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

/// The number of runs per figure: `BERTH_BENCH_RUNS` (default 3; 3 in smoke mode).
fn runs() -> usize {
    let runs = std::env::var("BERTH_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    berth_benches::runs(runs).max(1)
}

/// One job's stage durations and total.
struct JobTimes {
    stages: Vec<(Stage, Duration)>,
    total: Duration,
    rows_in: u64,
    rows_out: u64,
}

fn run_bench_job(home: &Home) -> JobTimes {
    let clock = StageClock::default();
    let request = JobRequest::new("bench.pass", ConfigSource::Stored("bench".into()));
    let started = Instant::now();
    let job = run_job(home, &request, &clock).unwrap();
    let total = started.elapsed();
    assert_eq!(
        job.record.status,
        JobStatus::Success,
        "{:?}",
        job.record.result
    );
    JobTimes {
        stages: clock.durations(),
        total,
        rows_in: job.record.input.tables[0].rows,
        rows_out: job.record.output.tables[0].rows,
    }
}

fn main() {
    berth_benches::announce("job");
    let dir = tempfile::TempDir::new().unwrap();
    let csv_path = dir.path().join("table.csv");
    let rows = generate(&csv_path, berth_benches::table_mib() * berth_benches::MIB);
    let size = std::fs::metadata(&csv_path).unwrap().len();
    let home = Home::new(dir.path().join("home"));
    let output = TableId::parse("out.c-bench.copy").unwrap();

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
            "input": {"tables": [{"source": "in.c-bench.source", "destination": "data.csv"}]},
            "output": {"tables": [{"source": "data.csv", "destination": "out.c-bench.copy",
                "incremental": true, "primary_key": ["id"]}]}}});
        let new = NewConfig {
            id: Some("bench".into()),
            configuration,
            ..NewConfig::default()
        };
        storage.create_config("bench.pass", &new).unwrap();
    }
    let runs = runs();
    println!(
        "job bench: {:.1} MiB table, {rows} rows, {runs} runs per figure (setup {:.1} s)",
        mib(size),
        setup.elapsed().as_secs_f64()
    );

    let baseline_out = dir.path().join("rewrite.csv");
    let baseline = berth_benches::median_of(runs, || {
        berth_benches::csv_rewrite_baseline(&csv_path, &baseline_out);
    });
    std::fs::remove_file(&baseline_out).unwrap();

    // A warm-up job (not counted) compiles the component and warms the caches.
    run_bench_job(&home);
    for (label, creates) in [
        ("first job (creates the table)", true),
        ("second job (incremental upsert)", false),
    ] {
        let mut jobs = Vec::new();
        for _ in 0..runs {
            if creates {
                // Untimed: the table every earlier job loaded into goes.
                let mut storage = Storage::open(home.storage()).unwrap();
                storage.remove_table(&output).unwrap();
            }
            jobs.push(run_bench_job(&home));
        }
        for job in &jobs {
            assert_eq!(
                (job.rows_in, job.rows_out),
                (rows, rows),
                "the whole table moves"
            );
        }
        let stage = |job: &JobTimes, s: Stage| {
            job.stages
                .iter()
                .find(|(st, _)| *st == s)
                .map_or(Duration::ZERO, |(_, d)| *d)
        };
        let stages: Vec<Stage> = jobs[0].stages.iter().map(|(s, _)| *s).collect();
        let median_of_jobs =
            |f: &dyn Fn(&JobTimes) -> Duration| median(&jobs.iter().map(f).collect::<Vec<_>>());
        let names: Vec<(String, Duration)> = stages
            .iter()
            .map(|s| (s.as_str().to_owned(), median_of_jobs(&|j| stage(j, *s))))
            .collect();
        let staging =
            median_of_jobs(&|j| stage(j, Stage::InputMapping) + stage(j, Stage::OutputMapping));
        let mut table: Vec<(&str, Duration)> = vec![("csv rewrite (baseline)", baseline)];
        table.extend(names.iter().map(|(n, d)| (n.as_str(), *d)));
        table.push(("staging (in + out)", staging));
        table.push(("whole job", median_of_jobs(&|j| j.total)));
        print_ratios(
            &format!("job bench, {label}, median of {} runs", jobs.len()),
            "csv rewrite (baseline)",
            &table,
        );
        println!(
            "  rows in {rows} / out {rows}; staging throughput {:.0} MiB/s per mapping vs baseline {:.0} MiB/s",
            2.0 * mib(size) / staging.as_secs_f64(),
            mib(size) / baseline.as_secs_f64()
        );
    }
}

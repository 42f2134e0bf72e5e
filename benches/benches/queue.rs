//! The job queue on PostgreSQL (berth-postgres) against the embedded DuckDB queue (berth-storage)
//! as the baseline, measured in the same run on the same machine:
//!
//! - one job queued, claimed and finished, back to back (criterion);
//! - queue latency, enqueue → claim, p50/p99: a consumer blocked waiting for work (DuckDB: woken
//!   by a condition variable in the same process, as `berth serve`'s dispatcher is; PostgreSQL:
//!   woken by `LISTEN/NOTIFY` on its own connection) claims the job the producer just queued;
//! - claims/s: jobs over 20 configurations queued in advance, claimed and finished by 1, 2 and 3
//!   nodes (each a thread with its own connection) until none is left; DuckDB with one.
//!
//! Both backends are driven through the one interface, `berth_storage::JobQueue` (the embedded
//! `Storage`, and PostgreSQL as `berth_postgres::PgNode`): the same code queues, claims and
//! finishes (`update_job`, as `berth_job::queue` does) on each. Only the wake-up differs, since
//! it is not part of the interface.
//!
//! Needs the test PostgreSQL cluster (`.ci/start-postgres.sh`, `BERTH_TEST_POSTGRES_URL`); without
//! it the PostgreSQL rows are skipped with a message, or the bench fails when
//! `BERTH_REQUIRE_POSTGRES=1`. The test cluster runs with fsync off: its figures are the queue's
//! logic and round trips, not a durable disk's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

use berth_benches::{announce, smoke};
use berth_postgres::PgStorage;
use berth_postgres::testing::TestDatabase;
use berth_storage::{JobQueue, JobStatus, NewJob, Storage};
use serde_json::json;

/// Configurations the jobs are spread over.
const CONFIGS: usize = 20;

fn job(n: usize) -> NewJob {
    NewJob {
        id: format!("bench-{n}-{}", std::process::id()),
        component_id: "acme.bench".into(),
        config_id: Some(format!("cfg-{}", n % CONFIGS)),
        status: JobStatus::Waiting,
        token_id: None,
        request: json!({"component": "acme.bench", "config": format!("cfg-{}", n % CONFIGS)}),
        record: json!({"id": n, "status": "waiting"}),
    }
}

fn done() -> serde_json::Value {
    json!({"status": "success"})
}

/// A connection to the PostgreSQL queue at `url`, working for node `node`.
fn pg_node(url: &str, node: &str) -> Box<dyn JobQueue + Send> {
    Box::new(PgStorage::connect(url).unwrap().for_node(node))
}

/// One job queued, claimed and finished, back to back.
fn claim_finish(queue: &mut dyn JobQueue, n: usize) {
    queue.insert_job(&job(n)).unwrap();
    let claimed = queue.claim_next_job().unwrap().unwrap();
    queue
        .update_job(&claimed.id, JobStatus::Success, &done())
        .unwrap();
}

/// Claims and finishes jobs from `queue` until none may start now, sending the time of each
/// claim to `claimed`; returns how many.
fn drain(queue: &mut dyn JobQueue, claimed: &mpsc::Sender<Instant>) -> usize {
    let mut seen = 0;
    while let Some(job) = queue.claim_next_job().unwrap() {
        claimed.send(Instant::now()).unwrap();
        queue
            .update_job(&job.id, JobStatus::Success, &done())
            .unwrap();
        seen += 1;
    }
    seen
}

/// Queues `count` jobs one at a time on `producer`, each after the previous was claimed, calling
/// `queued` after each; the enqueue → claim times.
fn latencies(
    producer: &mut dyn JobQueue,
    count: usize,
    claimed: &mpsc::Receiver<Instant>,
    mut queued: impl FnMut(),
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(count);
    for n in 0..count {
        let start = Instant::now();
        producer.insert_job(&job(n)).unwrap();
        queued();
        samples.push(claimed.recv().unwrap() - start);
    }
    samples
}

/// p50 and p99 of `samples`.
fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let p50 = samples[samples.len() / 2];
    let p99 = samples[(samples.len() * 99 / 100).min(samples.len() - 1)];
    (p50, p99)
}

/// Enqueue → claim latency on DuckDB: the consumer waits on a condition variable that the
/// producer signals after queueing.
fn duckdb_latency(dir: &std::path::Path, count: usize) -> Vec<Duration> {
    let mut producer: Box<dyn JobQueue + Send> = Box::new(Storage::open(dir).unwrap());
    let wake = Arc::new((Mutex::new(false), Condvar::new()));
    let (tx, rx) = mpsc::channel::<Instant>();
    let mut consumer_queue = producer.connect_again().unwrap();
    let consumer_wake = Arc::clone(&wake);
    let consumer = std::thread::spawn(move || {
        let (flag, condvar) = &*consumer_wake;
        let mut seen = 0;
        while seen < count {
            {
                let mut woken = flag.lock().unwrap();
                while !*woken {
                    woken = condvar.wait(woken).unwrap();
                }
                *woken = false;
            }
            seen += drain(&mut *consumer_queue, &tx);
        }
    });
    let samples = latencies(&mut *producer, count, &rx, || {
        let (flag, condvar) = &*wake;
        *flag.lock().unwrap() = true;
        condvar.notify_all();
    });
    consumer.join().unwrap();
    samples
}

/// Enqueue → claim latency on PostgreSQL: the consumer node waits with LISTEN on its own
/// connection; the producer is another connection.
fn postgres_latency(url: &str, count: usize) -> Vec<Duration> {
    let mut producer = pg_node(url, "producer");
    let (tx, rx) = mpsc::channel::<Instant>();
    let url = url.to_owned();
    let (ready_tx, ready_rx) = mpsc::channel();
    let consumer = std::thread::spawn(move || {
        let connection = PgStorage::connect(&url).unwrap();
        let mut listener = connection.listener().unwrap();
        let mut queue = connection.for_node("bench");
        ready_tx.send(()).unwrap();
        let mut seen = 0;
        while seen < count {
            seen += drain(&mut queue, &tx);
            if seen < count {
                listener.wait_for_work(Duration::from_secs(5)).unwrap();
            }
        }
    });
    ready_rx.recv().unwrap();
    let samples = latencies(&mut *producer, count, &rx, || {});
    consumer.join().unwrap();
    samples
}

/// Jobs per second: `count` jobs queued in advance on `setup`, claimed and finished by one node
/// per connection in `nodes` until none is left.
fn claims(setup: &mut dyn JobQueue, count: usize, nodes: Vec<Box<dyn JobQueue + Send>>) -> f64 {
    for n in 0..count {
        setup.insert_job(&job(n)).unwrap();
    }
    let finished = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(nodes.len() + 1));
    let handles: Vec<_> = nodes
        .into_iter()
        .map(|mut queue| {
            let finished = Arc::clone(&finished);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                while finished.load(Ordering::SeqCst) < count {
                    match queue.claim_next_job().unwrap() {
                        Some(job) => {
                            queue
                                .update_job(&job.id, JobStatus::Success, &done())
                                .unwrap();
                            finished.fetch_add(1, Ordering::SeqCst);
                        }
                        // Every waiting job's configuration runs on another node right now.
                        None => std::thread::yield_now(),
                    }
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(finished.load(Ordering::SeqCst), count);
    count as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    announce("queue");
    let mut criterion = berth_benches::criterion();
    let (latency_jobs, claim_jobs) = if smoke() { (10, 40) } else { (2000, 3000) };

    let duck_dir = tempfile::TempDir::new().unwrap();
    let pg_db = TestDatabase::create("queue bench");
    let duck: Box<dyn JobQueue + Send> = Box::new(Storage::open(duck_dir.path()).unwrap());
    let mut backends = vec![("duckdb", duck)];
    if let Some(db) = &pg_db {
        backends.push(("postgres", pg_node(db.url(), "bench")));
    }

    // One job queued, claimed and finished, back to back.
    let mut n = 1_000_000;
    let mut group = criterion.benchmark_group("queue_claim_finish");
    for (name, queue) in &mut backends {
        group.bench_function(*name, |b| {
            b.iter(|| {
                n += 1;
                claim_finish(&mut **queue, n);
            })
        });
    }
    group.finish();
    drop(backends);

    // Latency and claims/s, each on a fresh queue.
    let fresh_duck = || tempfile::TempDir::new().unwrap();
    let d = fresh_duck();
    let (duck_p50, duck_p99) = percentiles(duckdb_latency(d.path(), latency_jobs));
    let d = fresh_duck();
    let mut duck = Storage::open(d.path()).unwrap();
    let claimer = duck.connect_again().unwrap();
    let duck_rate = claims(&mut duck, claim_jobs, vec![claimer]);

    let mode = if cfg!(debug_assertions) {
        "dev profile"
    } else {
        "release profile"
    };
    let smoke_note = if smoke() { ", smoke mode" } else { "" };
    let mut latency_rows = vec![("duckdb p50", duck_p50), ("duckdb p99", duck_p99)];
    let mut rate_rows = vec![(
        "duckdb, 1 connection".to_owned(),
        duck_rate,
        Duration::from_secs_f64(1.0 / duck_rate),
    )];
    if pg_db.is_some() {
        let db = TestDatabase::create("queue bench latency").unwrap();
        let (pg_p50, pg_p99) = percentiles(postgres_latency(db.url(), latency_jobs));
        latency_rows.push(("postgres p50", pg_p50));
        latency_rows.push(("postgres p99", pg_p99));
        for nodes in 1..=3 {
            let db = TestDatabase::create("queue bench claims").unwrap();
            let mut setup = pg_node(db.url(), "setup");
            let connections = (0..nodes)
                .map(|n| pg_node(db.url(), &format!("node-{n}")))
                .collect();
            let rate = claims(&mut *setup, claim_jobs, connections);
            rate_rows.push((
                format!("postgres, {nodes} node(s)"),
                rate,
                Duration::from_secs_f64(1.0 / rate),
            ));
        }
    }
    println!(
        "\nqueue latency, enqueue → claim ({latency_jobs} jobs one at a time; {mode}{smoke_note}; ratio = time / duckdb p50)"
    );
    for (name, latency) in &latency_rows {
        println!(
            "  {name:<28} {:>10.1} µs   {:>6.2}×",
            latency.as_secs_f64() * 1e6,
            latency.as_secs_f64() / duck_p50.as_secs_f64()
        );
    }
    println!(
        "\nclaims/s: {claim_jobs} jobs over {CONFIGS} configurations queued in advance, claimed and finished ({mode}{smoke_note})"
    );
    for (name, rate, per_job) in &rate_rows {
        println!(
            "  {name:<28} {rate:>10.0} jobs/s   {:>8.1} µs/job   {:>6.2}× duckdb",
            per_job.as_secs_f64() * 1e6,
            rate / duck_rate
        );
    }
    if pg_db.is_none() {
        println!("  (PostgreSQL rows skipped: no test cluster)");
    }
    criterion.final_summary();
}

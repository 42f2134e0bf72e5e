//! Several `berth serve` nodes on one PostgreSQL database (issue 16), against one server on the
//! embedded Storage as the baseline, measured in the same run:
//!
//! - jobs/s of a trivial WASI job (`write_outputs` with nothing to write) queued over HTTP and run
//!   to success: one embedded server; then 1, 2 and 3 nodes sharing the database (the jobs
//!   queued round-robin through every node's API);
//! - queue latency, enqueue → start, p50/p99, with two idle nodes: jobs queued one at a time
//!   (each after the previous one started), read from the database's own timestamps (`created`,
//!   `started`), one clock whatever node took the job.
//!
//! Every node is a separate process: this bench's executable started again as `berth serve`
//! (`berth_benches::server_child`), each with a home of its own
//! and the default number of workers (one per core). Needs the test PostgreSQL cluster
//! (`.ci/start-postgres.sh`): without it the PostgreSQL rows are skipped with a message, or the
//! bench fails when `BERTH_REQUIRE_POSTGRES=1`. The test cluster runs with fsync off.

use std::time::{Duration, Instant};

use berth_benches::server_child::ServerChild;
use berth_benches::{announce, smoke};
use berth_postgres::testing::TestDatabase;
use berth_postgres::{PgPool, PgStorage};
use berth_storage::{JobStatus, StoredJob};
use reqwest::blocking::Client;
use serde_json::json;

fn main() {
    berth_benches::server_child::serve_if_child();
    announce("nodes");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let jobs = if smoke() { 6 } else { 600 };
    let samples = if smoke() { 3 } else { 200 };

    let embedded = berth_benches::answer_and_writer_home();
    let baseline = {
        let node = ServerChild::start(&embedded.home, None);
        let rate = jobs_per_second(&[&node], jobs, || node.successes());
        drop(node);
        rate
    };
    let mut rows = vec![("1 server, embedded Storage".to_owned(), baseline)];

    let Some(db) = TestDatabase::create("nodes bench") else {
        print(&rows, None, jobs);
        return;
    };
    let url = db.url().to_owned();
    let mut setup = berth_job::testing::Env::new();
    setup.home = setup
        .home
        .clone()
        .on_postgres(PgPool::connect(&url).expect("the bench database"), "setup");
    setup.component(
        "acme.writer",
        components_artifacts::WRITE_OUTPUTS,
        json!({}),
    );
    let homes: Vec<_> = (0..3).map(|_| berth_job::testing::Env::new()).collect();
    let queue = PgStorage::connect(&url).expect("the bench database");
    let mut latency = None;
    for count in 1..=3 {
        let nodes: Vec<ServerChild> = (0..count)
            .map(|i| ServerChild::start(&homes[i].home, Some((&url, &format!("node-{}", i + 1)))))
            .collect();
        let refs: Vec<&ServerChild> = nodes.iter().collect();
        let rate = jobs_per_second(&refs, jobs, || successes(&queue));
        rows.push((format!("{count} node(s), PostgreSQL"), rate));
        if count == 2 {
            latency = Some(start_latency(&refs, &queue, samples));
        }
    }
    print(&rows, latency, jobs);
}

/// Queues `jobs` trivial jobs round-robin through `nodes`' APIs and waits until `successes()`
/// has grown by that many; jobs/s over the whole (queueing included).
fn jobs_per_second(nodes: &[&ServerChild], jobs: usize, successes: impl Fn() -> usize) -> f64 {
    let clients: Vec<Client> = nodes.iter().map(|n| n.client()).collect();
    let before = successes();
    let start = Instant::now();
    for n in 0..jobs {
        let i = n % nodes.len();
        queue_job(nodes[i], &clients[i]);
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    while successes() < before + jobs {
        assert!(Instant::now() < deadline, "the jobs never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    jobs as f64 / start.elapsed().as_secs_f64()
}

/// Enqueue → start, p50 and p99, for `samples` jobs queued one at a time on idle nodes.
fn start_latency(
    nodes: &[&ServerChild],
    queue: &PgStorage,
    samples: usize,
) -> (Duration, Duration) {
    let clients: Vec<Client> = nodes.iter().map(|n| n.client()).collect();
    let mut latencies = Vec::with_capacity(samples);
    for n in 0..samples {
        let i = n % nodes.len();
        let id = queue_job(nodes[i], &clients[i]);
        let job = wait_started(queue, &id);
        let started = job.started.expect("a started job has its start time");
        latencies.push(Duration::try_from(started - job.created).unwrap_or_default());
        // Let it finish, so the next sample meets idle nodes.
        while !queue.job(&id).unwrap().status.is_terminal() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    (p50, p99)
}

fn wait_started(queue: &PgStorage, id: &str) -> StoredJob {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = queue.job(id).unwrap();
        if job.started.is_some() {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never started");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Successful jobs in the shared database.
fn successes(queue: &PgStorage) -> usize {
    queue
        .job_counts()
        .unwrap()
        .into_iter()
        .find(|(status, _)| *status == JobStatus::Success)
        .map_or(0, |(_, n)| usize::try_from(n).unwrap_or(usize::MAX))
}

fn print(rows: &[(String, f64)], latency: Option<(Duration, Duration)>, jobs: usize) {
    let mode = if cfg!(debug_assertions) {
        "dev profile"
    } else {
        "release profile"
    };
    let smoke_note = if smoke() { ", smoke mode" } else { "" };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\nberth serve nodes ({mode}{smoke_note}; {jobs} trivial WASI jobs per row; {cores} \
         cores; each node {cores} workers; ratio = jobs/s / the embedded server's)"
    );
    let base = rows[0].1;
    for (name, rate) in rows {
        println!("  {name:<28} {rate:>8.1} jobs/s  {:>5.2}×", rate / base);
    }
    if let Some((p50, p99)) = latency {
        println!(
            "  enqueue → start, 2 idle nodes: p50 {:.2} ms, p99 {:.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
}

/// Queues a trivial job through `node`'s API; returns its id.
fn queue_job(node: &ServerChild, client: &Client) -> String {
    let response = client
        .post(format!("{}/jobs", node.url))
        .header("X-StorageApi-Token", &node.token)
        .json(&json!({"component": "acme.writer", "configData": {"parameters": {}}}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let job: serde_json::Value = response.json().unwrap();
    job["id"].as_str().unwrap().to_owned()
}

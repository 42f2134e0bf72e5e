//! `berth serve` under load, in the same run as the in-process cost of the same work:
//!
//! - a trivial WASI synchronous action (`action_answer`'s `hello`) over HTTP with keep-alive:
//!   p50/p99 latency and actions/s with 1 and 2 client threads, against `run_action` of the same
//!   component and action in this process (a home of its own);
//! - jobs/s of a trivial WASI job (`write_outputs` with nothing to write) through the queue;
//! - the server's idle RSS (`VmRSS` of `/proc/<pid>/status`).
//!
//! The server is a separate process: this bench's executable started again as `berth serve` on
//! a home prepared here (`berth_benches::server_child`), so its RSS is its own.
//!
//! Goals (issue 17): action p50 ≤ 1 ms, ≥ 5,000 actions/s; ≥ 200 jobs/s; idle RSS ≤ 40 MB.

use std::time::{Duration, Instant};

use berth_benches::server_child::ServerChild;
use berth_benches::{median_of, print_ratios, runs, smoke};
use berth_job::{ActionRequest, ConfigSource, run_action};
use reqwest::blocking::Client;
use serde_json::{Value, json};

fn main() {
    berth_benches::server_child::serve_if_child();
    berth_benches::announce("server");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut criterion = berth_benches::criterion();

    let prepare = berth_benches::answer_and_writer_home;
    // The in-process baseline, on a home of its own (the server holds its home).
    let local = prepare();
    let request = ActionRequest {
        component_id: "acme.answer".into(),
        action: "hello".into(),
        config: ConfigSource::Data(json!({})),
        timeout: None,
    };
    let in_process = || {
        let result = run_action(&local.home, &request).expect("the action runs");
        assert_eq!(result.answer.expect("an answer")["hello"], "world");
    };

    let served = prepare();
    let server = ServerChild::start(&served.home, None);
    // Let it settle before its idle RSS is read.
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss = rss_bytes(&server);
    let client = server.client();
    let over_http = |client: &Client| {
        let response = client
            .post(format!("{}/acme.answer/action/hello", server.url))
            .header("X-StorageApi-Token", &server.token)
            .json(&json!({"configData": {}}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().unwrap();
        assert_eq!(answer["hello"], "world");
    };

    let mut group = criterion.benchmark_group("trivial_action");
    group.bench_function("in_process", |b| b.iter(in_process));
    group.bench_function("http_keep_alive", |b| b.iter(|| over_http(&client)));
    group.finish();

    // Latency percentiles, one client, keep-alive.
    let count = if smoke() { 20 } else { 5000 };
    for _ in 0..runs(50) {
        over_http(&client);
    }
    let mut latencies: Vec<Duration> = (0..count)
        .map(|_| {
            let start = Instant::now();
            over_http(&client);
            start.elapsed()
        })
        .collect();
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];

    // Throughput with 1 and 2 client threads, each with its own keep-alive connection.
    let throughput = |threads: usize| {
        let per_thread = count / threads;
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let client = server.client();
                    for _ in 0..per_thread {
                        over_http(&client);
                    }
                });
            }
        });
        (per_thread * threads) as f64 / start.elapsed().as_secs_f64()
    };
    let one_thread = throughput(1);
    let two_threads = throughput(2);

    let rows = [
        ("in_process", median_of(runs(2000), in_process)),
        (
            "http_keep_alive",
            median_of(runs(2000), || over_http(&client)),
        ),
    ];
    print_ratios("trivial synchronous action", "in_process", &rows);

    // Jobs through the queue.
    let jobs = if smoke() { 5 } else { 2000 };
    let before = server.successes();
    let start = Instant::now();
    for _ in 0..jobs {
        let response = client
            .post(format!("{}/jobs", server.url))
            .header("X-StorageApi-Token", &server.token)
            .json(&json!({"component": "acme.writer", "configData": {"parameters": {}}}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let queued = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(1800);
    while server.successes() < before + jobs {
        assert!(Instant::now() < deadline, "the jobs never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    let jobs_per_second = jobs as f64 / start.elapsed().as_secs_f64();

    let mode = if cfg!(debug_assertions) {
        "dev profile"
    } else {
        "release profile"
    };
    let smoke_note = if smoke() { ", smoke mode" } else { "" };
    println!("\nberth serve ({mode}{smoke_note}; goals in brackets)");
    println!(
        "  action over HTTP, keep-alive: p50 {:.3} ms [≤ 1 ms], p99 {:.3} ms ({count} requests)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    println!("  actions/s: {one_thread:.0} with 1 client thread, {two_threads:.0} with 2 [≥ 5000]");
    println!(
        "  jobs/s through the queue: {jobs_per_second:.1} [≥ 200] ({jobs} jobs, queued in {:.2} s)",
        queued.as_secs_f64()
    );
    println!(
        "  idle RSS: {:.1} MiB [≤ 40 MB]",
        idle_rss as f64 / (1 << 20) as f64
    );
    drop(server);
    criterion.final_summary();
}

/// The idle server's resident memory (`VmRSS` of `/proc/<pid>/status`).
fn rss_bytes(server: &ServerChild) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))
        .expect("the server's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

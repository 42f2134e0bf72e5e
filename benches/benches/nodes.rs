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
//! (the `BERTH_BENCH_NODE_HOME`, `_STORAGE` and `_NAME` variables), each with a home of its own
//! and the default number of workers (one per core). Needs the test PostgreSQL cluster
//! (`.ci/start-postgres.sh`): without it the PostgreSQL rows are skipped with a message, or the
//! bench fails when `BERTH_REQUIRE_POSTGRES=1`. The test cluster runs with fsync off.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_benches::{announce, smoke};
use berth_job::home::Home;
use berth_postgres::testing::TestDatabase;
use berth_postgres::{PgPool, PgStorage};
use berth_storage::{JobStatus, StoredJob};
use reqwest::blocking::Client;
use serde_json::json;

/// Set in a node child: the home it serves.
const NODE_HOME: &str = "BERTH_BENCH_NODE_HOME";
/// Set in a node child on shared Storage: the database URL.
const NODE_STORAGE: &str = "BERTH_BENCH_NODE_STORAGE";
/// Set in a node child on shared Storage: its node name.
const NODE_NAME: &str = "BERTH_BENCH_NODE_NAME";

fn main() {
    if let Ok(home) = std::env::var(NODE_HOME) {
        serve_child(&home);
        return;
    }
    announce("nodes");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let jobs = if smoke() { 6 } else { 600 };
    let samples = if smoke() { 3 } else { 200 };

    let embedded = berth_benches::answer_and_writer_home();
    let baseline = {
        let node = Node::start(&embedded.home, None);
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
        let nodes: Vec<Node> = (0..count)
            .map(|i| Node::start(&homes[i].home, Some((&url, &format!("node-{}", i + 1)))))
            .collect();
        let refs: Vec<&Node> = nodes.iter().collect();
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
fn jobs_per_second(nodes: &[&Node], jobs: usize, successes: impl Fn() -> usize) -> f64 {
    let clients: Vec<Client> = nodes.iter().map(|n| n.client()).collect();
    let before = successes();
    let start = Instant::now();
    for n in 0..jobs {
        let i = n % nodes.len();
        nodes[i].queue(&clients[i]);
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    while successes() < before + jobs {
        assert!(Instant::now() < deadline, "the jobs never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    jobs as f64 / start.elapsed().as_secs_f64()
}

/// Enqueue → start, p50 and p99, for `samples` jobs queued one at a time on idle nodes.
fn start_latency(nodes: &[&Node], queue: &PgStorage, samples: usize) -> (Duration, Duration) {
    let clients: Vec<Client> = nodes.iter().map(|n| n.client()).collect();
    let mut latencies = Vec::with_capacity(samples);
    for n in 0..samples {
        let i = n % nodes.len();
        let id = nodes[i].queue(&clients[i]);
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

/// A node child: serves its home (on the shared database when given) until killed; its first
/// stdout line is `URL TOKEN`.
fn serve_child(home: &str) {
    let mut home = Home::new(home);
    if let (Ok(url), Ok(name)) = (std::env::var(NODE_STORAGE), std::env::var(NODE_NAME)) {
        home = home.on_postgres(PgPool::connect(&url).expect("the bench database"), name);
    }
    let options = berth_server::ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        init_token: true,
        ..berth_server::ServeOptions::default()
    };
    berth_server::serve(&home, &options, |started| {
        println!(
            "{} {}",
            started.url,
            started.admin_token.as_deref().unwrap_or_default()
        );
    })
    .expect("the bench node runs");
}

/// A node child process.
struct Node {
    child: Child,
    url: String,
    token: String,
}

impl Node {
    fn start(home: &Home, shared: Option<(&str, &str)>) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .env(NODE_HOME, home.root())
            .env("BERTH_LOG", "error")
            .stdout(Stdio::piped());
        if let Some((url, name)) = shared {
            command.env(NODE_STORAGE, url).env(NODE_NAME, name);
        }
        let mut child = command.spawn().expect("the node child starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let (url, token) = line.trim().split_once(' ').expect("URL TOKEN");
        Self {
            child,
            url: url.to_owned(),
            token: token.to_owned(),
        }
    }

    fn client(&self) -> Client {
        Client::builder()
            .pool_max_idle_per_host(4)
            .tcp_nodelay(true)
            .build()
            .unwrap()
    }

    /// Queues a trivial job; returns its id.
    fn queue(&self, client: &Client) -> String {
        let response = client
            .post(format!("{}/jobs", self.url))
            .header("X-StorageApi-Token", &self.token)
            .json(&json!({"component": "acme.writer", "configData": {"parameters": {}}}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
        let job: serde_json::Value = response.json().unwrap();
        job["id"].as_str().unwrap().to_owned()
    }

    /// Jobs that ended in success on this node's Storage (`/metrics`).
    fn successes(&self) -> usize {
        let text = self
            .client()
            .get(format!("{}/metrics", self.url))
            .header("X-StorageApi-Token", &self.token)
            .send()
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("berth_jobs{status=\"success\"} "))
            .map_or(0, |n| n.trim().parse().unwrap())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The crash test through the real binary: 1,000 trivial WASI jobs (four configurations, 250
//! each) queued over HTTP, `berth serve` SIGKILLed mid-way and restarted on the same home. Every
//! job ends in a terminal status, none is lost, none runs twice — counted by the component's own
//! side effect, the Storage file each run uploads (tagged with the job's run id) — the jobs that
//! were `processing` at the kill end `error` saying so, and jobs of one configuration never
//! overlap and start in the order they were queued.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use berth_job::testing::Env;
use components_artifacts as guests;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::serve_cli::Served;

const JOBS: usize = 1000;
const CONFIGS: usize = 4;

struct Api {
    client: Client,
    url: String,
    token: String,
}

impl Api {
    fn new(url: &str, token: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            url: url.to_owned(),
            token: token.to_owned(),
        }
    }

    fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .header("X-StorageApi-Token", &self.token)
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {:?}",
            response.text()
        );
        response.json().unwrap()
    }

    fn queue(&self, config: &str) -> String {
        let response = self
            .client
            .post(format!("{}/jobs", self.url))
            .header("X-StorageApi-Token", &self.token)
            .json(&json!({"component": "acme.writer", "config": config}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json::<Value>().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every job, through the paged list.
    fn jobs(&self) -> Vec<Value> {
        let mut jobs = Vec::new();
        loop {
            let page = self.get(&format!("/jobs?limit=500&offset={}", jobs.len()));
            let page = page.as_array().unwrap().clone();
            let done = page.len() < 500;
            jobs.extend(page);
            if done {
                return jobs;
            }
        }
    }

    fn count(&self, status: &str) -> usize {
        let metrics = self
            .client
            .get(format!("{}/metrics", self.url))
            .header("X-StorageApi-Token", &self.token)
            .send()
            .unwrap()
            .text()
            .unwrap();
        let prefix = format!("berth_jobs{{status=\"{status}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0, |n| n.trim().parse().unwrap())
    }
}

fn time_of(job: &Value, key: &str) -> Option<OffsetDateTime> {
    job[key]
        .as_str()
        .map(|t| OffsetDateTime::parse(t, &Rfc3339).unwrap())
}

#[test]
fn a_killed_server_loses_no_job_and_runs_none_twice() {
    let started = Instant::now();
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    for c in 0..CONFIGS {
        env.config(
            "acme.writer",
            &format!("c{c}"),
            json!({"parameters": {"write": [{"path": "out/files/mark.txt", "text": "x"}]}}),
        );
    }
    let served = Served::start(&env, CONFIGS, true);
    let token = served.token.clone().unwrap();
    let api = Api::new(&served.url, &token);
    let mut ids = Vec::with_capacity(JOBS);
    for n in 0..JOBS {
        ids.push(api.queue(&format!("c{}", n % CONFIGS)));
    }
    let queued = started.elapsed();
    // Kill it mid-way: some jobs done, some running, most still waiting.
    let deadline = Instant::now() + Duration::from_secs(600);
    while api.count("success") < JOBS / 4 {
        assert!(Instant::now() < deadline, "the jobs never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    served.signal("KILL");
    let _ = served.wait();
    let killed_at = started.elapsed();

    let served = Served::start(&env, CONFIGS, false);
    let api = Api::new(&served.url, &token);
    let deadline = Instant::now() + Duration::from_secs(1200);
    let jobs = loop {
        let jobs = api.jobs();
        if jobs.iter().all(|j| j["isFinished"] == true) {
            break jobs;
        }
        assert!(Instant::now() < deadline, "the jobs never all finished");
        std::thread::sleep(Duration::from_millis(200));
    };
    let files = api.get("/files?limit=100000");
    served.signal("TERM");
    assert!(served.wait().success());

    // None lost: every queued job is there, and finished.
    assert_eq!(jobs.len(), JOBS);
    let by_id: HashMap<&str, &Value> = jobs
        .iter()
        .map(|j| (j["id"].as_str().unwrap(), j))
        .collect();
    for id in &ids {
        assert!(by_id.contains_key(id.as_str()), "job {id} was lost");
    }
    // Each succeeded or was interrupted by the kill, saying so.
    let mut interrupted = 0;
    for job in &jobs {
        match job["status"].as_str().unwrap() {
            "success" => {}
            "error" => {
                assert_eq!(
                    job["result"]["message"],
                    berth_job::queue::INTERRUPTED_MESSAGE,
                    "{job}"
                );
                interrupted += 1;
            }
            other => panic!("job {} ended {other}: {job}", job["id"]),
        }
    }
    assert!(interrupted >= 1, "no job was processing at the kill");
    assert!(
        interrupted <= CONFIGS,
        "{interrupted} jobs interrupted by one kill"
    );
    // None ran twice: the component's side effect, one file per run, counted by run id.
    let mut uploads: HashMap<&str, usize> = HashMap::new();
    for file in files.as_array().unwrap() {
        *uploads.entry(file["run_id"].as_str().unwrap()).or_default() += 1;
    }
    for job in &jobs {
        let run = job["runId"].as_str().unwrap();
        let count = uploads.get(run).copied().unwrap_or(0);
        match job["status"].as_str().unwrap() {
            "success" => assert_eq!(count, 1, "job {} uploaded {count} files", job["id"]),
            _ => assert!(
                count <= 1,
                "interrupted job {} uploaded {count} files",
                job["id"]
            ),
        }
    }
    assert!(uploads.values().all(|&n| n == 1), "a run uploaded twice");
    // Jobs of one configuration: one at a time, in the order they were queued.
    for c in 0..CONFIGS {
        let config = format!("c{c}");
        let mut runs: Vec<&Value> = jobs
            .iter()
            .filter(|j| j["config"] == config.as_str())
            .collect();
        assert_eq!(runs.len(), JOBS / CONFIGS);
        runs.sort_by_key(|j| time_of(j, "createdTime").unwrap());
        for pair in runs.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (Some(a_start), Some(a_end), Some(b_start)) = (
                time_of(a, "startTime"),
                time_of(a, "endTime"),
                time_of(b, "startTime"),
            ) else {
                panic!("a job without times: {a} {b}");
            };
            assert!(
                a_start <= b_start,
                "{config}: {} started before {}",
                b["id"],
                a["id"]
            );
            assert!(
                a_end <= b_start,
                "{config}: {} overlapped {}",
                b["id"],
                a["id"]
            );
        }
    }
    eprintln!(
        "crash test: {JOBS} jobs queued in {:.1} s, killed at {:.1} s, {interrupted} interrupted, \
         all done at {:.1} s",
        queued.as_secs_f64(),
        killed_at.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

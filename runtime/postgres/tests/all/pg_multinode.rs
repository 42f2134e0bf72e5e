//! Three nodes share one queue. The main run: 1,000 jobs over 20 configurations, half queued before the nodes
//! start and half while they run; one node dies mid-way holding claimed jobs (its connections and
//! thread dropped without any cleanup, so it stops heartbeating and never finishes them). The
//! surviving nodes sweep with a short heartbeat expiry. Then: every job is terminal, none lost,
//! none run twice (side effects counted), the dead node's jobs ended `error` saying so, and jobs
//! of one configuration never overlapped and ran in queue order (database timestamps).
//!
//! Each "run" records a side effect row with the database clock's start and end, so the checks
//! read one clock whatever node ran the job.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth_postgres::testing::TestDatabase;
use berth_postgres::{Heartbeat, JobStatus, NewJob, PgStorage, StoredJob};
use postgres::Client;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// A run's shape: how many jobs over how many configurations, and whether node-3 dies.
#[derive(Clone, Copy)]
struct Shape {
    jobs: usize,
    configs: usize,
    death: bool,
}
/// Jobs the doomed node finishes before it dies holding the next ones.
const DOOMED_AFTER: usize = 60;
/// Jobs the doomed node claims and never finishes.
const DOOMED_HOLDS: usize = 2;
/// Heartbeats older than this are swept (short, so the test does not wait long).
const EXPIRY: Duration = Duration::from_secs(2);
/// A bound on the whole run, so a wedged queue fails the test instead of hanging it.
const GIVE_UP: Duration = Duration::from_secs(240);

fn end_record(job: &StoredJob, to: JobStatus, message: &str) -> Value {
    let mut record = job.record.clone();
    record["status"] = json!(to.as_str());
    record["message"] = json!(message);
    record
}

fn new_job(n: usize, configs: usize) -> NewJob {
    NewJob {
        id: format!("job-{n:04}"),
        component_id: "c".into(),
        config_id: Some(format!("cfg-{:02}", n % configs)),
        status: JobStatus::Waiting,
        token_id: None,
        request: json!({"n": n}),
        record: json!({"n": n}),
    }
}

/// A component "running": records its side effect with start and end times, works a little.
fn run(effects: &mut Client, node: &str, job: &StoredJob) {
    effects
        .execute(
            "INSERT INTO effects (job_id, config_id, node, started) \
             VALUES ($1, $2, $3, clock_timestamp())",
            &[&job.id, &job.config_id, &node],
        )
        .unwrap();
    std::thread::sleep(Duration::from_micros(300));
    effects
        .execute(
            "UPDATE effects SET ended = clock_timestamp() WHERE job_id = $1 AND node = $2",
            &[&job.id, &node],
        )
        .unwrap();
}

struct Shared {
    all_queued: AtomicBool,
    stop: AtomicBool,
    finished_by_doomed: AtomicUsize,
}

/// One node's loop: claim → run → finish; when idle, sweep and wait for work.
fn node(url: &str, name: &str, doomed: bool, shared: &Shared) {
    let mut queue = PgStorage::connect(url).unwrap();
    let mut listener = queue.listener().unwrap();
    let mut effects = Client::connect(url, postgres::NoTls).unwrap();
    let mut held = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        let Some(job) = queue.claim_next_job(name).unwrap() else {
            if shared.all_queued.load(Ordering::SeqCst) {
                let open = queue
                    .job_counts()
                    .unwrap()
                    .into_iter()
                    .any(|(status, _)| !status.is_terminal());
                if !open {
                    return;
                }
            }
            queue.sweep_expired(EXPIRY, end_record).unwrap();
            listener.wait_for_work(Duration::from_millis(250)).unwrap();
            continue;
        };
        if doomed && shared.finished_by_doomed.load(Ordering::SeqCst) >= DOOMED_AFTER {
            // The doomed node starts this job and dies holding it: no end time, no finish, no
            // heartbeat, connections dropped as a killed process's would be.
            effects
                .execute(
                    "INSERT INTO effects (job_id, config_id, node, started) \
                     VALUES ($1, $2, $3, clock_timestamp())",
                    &[&job.id, &job.config_id, &name],
                )
                .unwrap();
            held.push(job.id);
            if held.len() == DOOMED_HOLDS {
                return;
            }
            continue;
        }
        run(&mut effects, name, &job);
        match queue.heartbeat(name, &job.id).unwrap() {
            Heartbeat::Run | Heartbeat::Stop => {}
            // Swept while it ran (the node was too slow): the verdict stands.
            Heartbeat::Lost { .. } => continue,
        }
        let mut record = job.record.clone();
        record["node"] = json!(name);
        // A refusal here means the job was swept meanwhile; the sweep's verdict stands.
        let _ = queue
            .update_claimed_job(name, &job.id, JobStatus::Success, &record)
            .unwrap();
        if doomed {
            shared.finished_by_doomed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn three_nodes_one_dies_every_job_ends_once_and_configurations_never_overlap() {
    let shape = Shape {
        jobs: 1000,
        configs: 20,
        death: true,
    };
    three_nodes("three_nodes_one_dies", shape);
}

/// The same checks with the nodes fighting over few configurations (every claim races), no
/// node dying: more chances for a broken claim rule to show.
#[test]
fn three_nodes_racing_for_three_configurations_never_overlap() {
    let shape = Shape {
        jobs: 600,
        configs: 3,
        death: false,
    };
    three_nodes("three_nodes_racing", shape);
}

fn three_nodes(
    test: &str,
    Shape {
        jobs: n_jobs,
        configs,
        death,
    }: Shape,
) {
    let Some(db) = TestDatabase::create(test) else {
        return;
    };
    let mut setup = PgStorage::connect(db.url()).unwrap();
    db.client()
        .batch_execute(
            "CREATE TABLE effects (job_id text NOT NULL, config_id text, node text NOT NULL, \
             started timestamptz NOT NULL, ended timestamptz)",
        )
        .unwrap();
    for n in 0..n_jobs / 2 {
        setup.insert_job(&new_job(n, configs)).unwrap();
    }
    let shared = Arc::new(Shared {
        all_queued: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        finished_by_doomed: AtomicUsize::new(0),
    });
    let nodes: Vec<_> = ["node-1", "node-2", "node-3"]
        .into_iter()
        .map(|name| {
            let url = db.url().to_owned();
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || node(&url, name, death && name == "node-3", &shared))
        })
        .collect();
    for n in n_jobs / 2..n_jobs {
        setup.insert_job(&new_job(n, configs)).unwrap();
    }
    shared.all_queued.store(true, Ordering::SeqCst);
    let started = Instant::now();
    for handle in &nodes {
        while !handle.is_finished() && started.elapsed() < GIVE_UP {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    shared.stop.store(true, Ordering::SeqCst);
    for handle in nodes {
        handle.join().unwrap();
    }

    // Every job is there and terminal.
    let jobs = setup
        .jobs(&berth_postgres::JobFilter {
            limit: Some(n_jobs * 2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(jobs.len(), n_jobs, "jobs lost or invented");
    let open: Vec<_> = jobs
        .iter()
        .filter(|j| !j.status.is_terminal())
        .map(|j| (&j.id, j.status))
        .collect();
    assert!(open.is_empty(), "not terminal after {GIVE_UP:?}: {open:?}");

    // None ran twice.
    let mut effects = db.client();
    let rows = effects
        .query(
            "SELECT job_id, config_id, node, started, ended FROM effects ORDER BY started",
            &[],
        )
        .unwrap();
    let mut runs: HashMap<String, usize> = HashMap::new();
    for row in &rows {
        *runs.entry(row.get(0)).or_default() += 1;
    }
    let mut twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    twice.sort();
    assert!(
        twice.is_empty(),
        "{} jobs run more than once, first: {:?}",
        twice.len(),
        &twice[..twice.len().min(5)]
    );

    // The dead node's jobs ended as errors saying so; every other job succeeded once.
    let by_id: HashMap<&str, &StoredJob> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    let errors: Vec<&StoredJob> = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Error)
        .collect();
    let holds = if death { DOOMED_HOLDS } else { 0 };
    assert!(
        errors.len() >= holds,
        "the dead node's jobs were not swept: {errors:?}"
    );
    let mut dead_jobs = 0;
    for job in &errors {
        let message = job.record["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("stopped sending heartbeats"),
            "{}: {message}",
            job.id
        );
        if message.contains("node \"node-3\"") {
            dead_jobs += 1;
        }
    }
    assert_eq!(dead_jobs, holds, "{errors:?}");
    for job in &jobs {
        if job.status == JobStatus::Success {
            assert_eq!(
                runs.get(&job.id),
                Some(&1),
                "{} succeeded without running",
                job.id
            );
        } else {
            assert_eq!(job.status, JobStatus::Error, "{}", job.id);
        }
    }
    let per_node = jobs
        .iter()
        .fold(BTreeMap::<String, usize>::new(), |mut m, j| {
            if let Some(node) = j.record["node"].as_str() {
                *m.entry(node.to_owned()).or_default() += 1;
            }
            m
        });
    eprintln!(
        "jobs finished per node: {per_node:?}; errors (swept): {}",
        errors.len()
    );
    if death {
        assert_eq!(per_node.get("node-3"), Some(&DOOMED_AFTER));
    }

    // Jobs of one configuration never overlapped, and ran in queue order. A run that never
    // ended (the dead node's) lasts until the sweep ended its job.
    let mut by_config: BTreeMap<String, Vec<(OffsetDateTime, OffsetDateTime, u64)>> =
        BTreeMap::new();
    for row in &rows {
        let id: String = row.get(0);
        let job = by_id[id.as_str()];
        let started: OffsetDateTime = row.get(3);
        let ended: Option<OffsetDateTime> = row.get(4);
        let ended = ended.or(job.finished).expect("a terminal job has an end");
        by_config
            .entry(row.get(1))
            .or_default()
            .push((started, ended, job.seq));
    }
    assert_eq!(by_config.len(), configs);
    for (config, mut spans) in by_config {
        spans.sort();
        for pair in spans.windows(2) {
            let ((_, first_end, first_seq), (second_start, _, second_seq)) = (pair[0], pair[1]);
            assert!(
                second_start >= first_end,
                "configuration {config}: a job started at {second_start} while another ran until {first_end}"
            );
            assert!(
                second_seq > first_seq,
                "configuration {config}: job {second_seq} ran before the earlier-queued {first_seq}"
            );
        }
    }
}

//! Three `berth serve` nodes share one PostgreSQL database (`--storage`), each with a home of its
//! own. 1,000 trivial WASI jobs over 20 configurations are queued through the API of every node,
//! half before and half while they run, and one node is SIGKILLed while it runs a job. Then:
//! every job is terminal and none is lost; none ran twice (each run uploads one Storage file
//! under its run id: the side effects are counted); the dead node's job ended `error` saying its
//! node stopped sending heartbeats; and jobs of one configuration never overlapped and started in
//! the order they were queued (the database's timestamps, one clock for every node).
//!
//! The node that dies starts alone and first takes a job that sleeps for a minute, so it is
//! certainly mid-job when it is killed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use berth_job::testing::{Env, writes};
use berth_postgres::testing::TestDatabase;
use berth_postgres::{PgPool, PgStorage};
use berth_storage::{Catalog, FileFilter, JobFilter, JobStatus, StoredJob};
use components_artifacts as guests;
use serde_json::{Value, json};

use crate::serve_cli::Served;

const JOBS: usize = 1_000;
const CONFIGS: usize = 20;
/// Heartbeats older than this are swept (short, so the test does not wait long).
const EXPIRY_SECS: &str = "3";
/// A bound on the whole run, so a wedged queue fails the test instead of hanging it.
const GIVE_UP: Duration = Duration::from_secs(300);

fn client() -> reqwest::blocking::Client {
    // reqwest shares oci-client's rustls build, which brings no crypto provider of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Queues a job of configuration `config` through `node`'s API; returns its id.
fn queue(http: &reqwest::blocking::Client, node: &Served, token: &str, config: &str) -> String {
    let response = http
        .post(format!("{}/jobs", node.url))
        .header("X-StorageApi-Token", token)
        .json(&json!({"component": "acme.effect", "config": config}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201, "{:?}", response.text());
    response.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until `done` holds for the queue (polling the database), or fails the test.
fn wait_until(queue: &PgStorage, what: &str, done: impl Fn(&[StoredJob]) -> bool) {
    let deadline = Instant::now() + GIVE_UP;
    loop {
        let jobs = queue
            .jobs(&JobFilter {
                limit: Some(10 * JOBS),
                ..JobFilter::default()
            })
            .unwrap();
        if done(&jobs) {
            return;
        }
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The node a job was claimed by (`None` when no node took it).
fn nodes_of_jobs(db: &TestDatabase) -> HashMap<String, Option<String>> {
    db.client()
        .query("SELECT id, node_id FROM berth_jobs", &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// A home on the shared database at `url` with the component every node runs registered.
fn setup_home(url: &str) -> Env {
    let mut setup = Env::new();
    setup.home = setup
        .home
        .clone()
        .on_postgres(PgPool::connect(url).unwrap(), "setup");
    setup.component("acme.effect", guests::WRITE_OUTPUTS, json!({}));
    setup
}

/// A configuration whose run uploads one file (its side effect), with `parameters` added.
fn effect(parameters: Value) -> Value {
    let mut configuration = writes(&[("out/files/effect.txt", "ran")], 0, json!({}));
    for (key, value) in parameters.as_object().cloned().unwrap_or_default() {
        configuration["parameters"][key] = value;
    }
    configuration
}

#[test]
fn three_nodes_run_a_thousand_jobs_and_one_dies_mid_job() {
    let Some(db) = TestDatabase::create("three_nodes_run_a_thousand_jobs_and_one_dies_mid_job")
    else {
        return;
    };
    let url = db.url().to_owned();
    // What every node runs: one component, 20 configurations whose run uploads one file, and one
    // that sleeps for a minute first.
    let setup = setup_home(&url);
    for c in 0..CONFIGS {
        setup.config("acme.effect", &format!("c{c}"), effect(json!({})));
    }
    setup.config("acme.effect", "slow", effect(json!({"sleep_ms": 60_000})));
    let homes: Vec<Env> = (0..3).map(|_| Env::new()).collect();
    let node_args = |name: &'static str| {
        [
            "--storage",
            url.as_str(),
            "--node",
            name,
            "--node-expiry",
            EXPIRY_SECS,
        ]
    };

    // node-3 starts alone, with an admin token (tokens are in the shared database, so it works
    // on every node), and takes the slow job before anything else is queued.
    let mut doomed = Served::start_with(&homes[2], 2, true, &node_args("node-3"));
    let token = doomed.token.clone().unwrap();
    let http = client();
    let slow_id = queue(&http, &doomed, &token, "slow");
    let pg = PgStorage::connect(&url).unwrap();
    wait_until(&pg, "node-3 runs the slow job", |jobs| {
        jobs.iter()
            .any(|j| j.id == slow_id && j.status == JobStatus::Processing)
    });
    assert_eq!(nodes_of_jobs(&db)[&slow_id].as_deref(), Some("node-3"));

    let first = Served::start_with(&homes[0], 2, false, &node_args("node-1"));
    let second = Served::start_with(&homes[1], 2, false, &node_args("node-2"));
    let mut queued: Vec<(String, String)> = Vec::with_capacity(JOBS);
    let mut queue_some = |nodes: &[&Served], range: std::ops::Range<usize>| {
        for n in range {
            let config = format!("c{}", n % CONFIGS);
            let node = nodes[n % nodes.len()];
            queued.push((queue(&http, node, &token, &config), config));
        }
    };
    queue_some(&[&first, &second, &doomed], 0..JOBS / 2);
    // node-3 dies holding the slow job once the others are well under way.
    wait_until(&pg, "a hundred jobs succeeded", |jobs| {
        jobs.iter()
            .filter(|j| j.status == JobStatus::Success)
            .count()
            >= 100
    });
    doomed.signal("KILL");
    doomed.child.wait().unwrap();
    queue_some(&[&first, &second], JOBS / 2..JOBS);

    let all = queued.len() + 1;
    wait_until(&pg, "every job is terminal", |jobs| {
        jobs.len() == all && jobs.iter().all(|j| j.status.is_terminal())
    });
    let jobs = pg
        .jobs(&JobFilter {
            limit: Some(10 * JOBS),
            ..JobFilter::default()
        })
        .unwrap();
    let nodes = nodes_of_jobs(&db);

    // None lost: every queued job is there, terminal; only the dead node's jobs failed, each
    // saying why, and never run again.
    assert_eq!(jobs.len(), JOBS + 1);
    let by_id: HashMap<&str, &StoredJob> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    for (id, _) in &queued {
        assert!(by_id.contains_key(id.as_str()), "job {id} is lost");
    }
    let mut swept = Vec::new();
    for job in &jobs {
        match job.status {
            JobStatus::Success => {}
            JobStatus::Error => {
                assert_eq!(nodes[&job.id].as_deref(), Some("node-3"), "{job:?}");
                let message = job.record["result"]["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains("node \"node-3\", which stopped sending heartbeats"),
                    "{message}"
                );
                swept.push(job.id.clone());
            }
            other => panic!("job {} ended {other}: {:?}", job.id, job.record["result"]),
        }
    }
    assert!(
        swept.contains(&slow_id),
        "the slow job was swept: {swept:?}"
    );
    // At most the dead node's two workers' jobs were cut short.
    assert!(swept.len() <= 2, "{swept:?}");
    let ran: BTreeMap<Option<String>, usize> =
        nodes.values().fold(BTreeMap::new(), |mut counts, node| {
            *counts.entry(node.clone()).or_default() += 1;
            counts
        });
    eprintln!("jobs per node: {ran:?}; swept: {swept:?}");
    assert!(!ran.contains_key(&None), "a job no node took: {ran:?}");
    for node in ["node-1", "node-2", "node-3"] {
        assert!(
            ran.get(&Some(node.to_owned())).copied().unwrap_or(0) > 0,
            "{node} ran no job: {ran:?}"
        );
    }

    // None ran twice: one uploaded file per successful job, none for another job.
    let files = pg.list_files(&FileFilter {
        limit: Some(10 * JOBS),
        ..FileFilter::default()
    });
    let files = files.unwrap();
    let mut effects: HashMap<String, usize> = HashMap::new();
    for file in &files {
        *effects
            .entry(file.run_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    for job in &jobs {
        let count = effects.get(&job.id).copied().unwrap_or(0);
        match job.status {
            JobStatus::Success => assert_eq!(count, 1, "job {} ran {count} times", job.id),
            _ => assert!(count <= 1, "job {} ran {count} times", job.id),
        }
    }
    assert_eq!(effects.values().sum::<usize>(), files.len());

    // Jobs of one configuration never overlapped and started in queue order.
    let mut by_config: BTreeMap<&str, Vec<&StoredJob>> = BTreeMap::new();
    for job in &jobs {
        by_config
            .entry(job.config_id.as_deref().unwrap_or_default())
            .or_default()
            .push(job);
    }
    for (config, mut runs) in by_config {
        runs.sort_by_key(|j| j.started);
        for pair in runs.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            assert!(
                before.finished.unwrap() <= after.started.unwrap(),
                "configuration {config}: job {} started before job {} finished",
                after.id,
                before.id
            );
            assert!(
                before.seq < after.seq,
                "configuration {config}: job {} started before job {}, queued earlier",
                before.id,
                after.id
            );
        }
    }

    // The surviving nodes stop cleanly.
    for node in [first, second] {
        node.signal("TERM");
        assert!(node.wait().success());
    }
}

#[test]
fn a_kill_through_any_node_stops_the_job_where_it_runs() {
    let Some(db) = TestDatabase::create("a_kill_through_any_node_stops_the_job_where_it_runs")
    else {
        return;
    };
    let url = db.url().to_owned();
    let setup = setup_home(&url);
    setup.config("acme.effect", "slow", effect(json!({"sleep_ms": 60_000})));
    let homes: Vec<Env> = (0..2).map(|_| Env::new()).collect();
    let args = |name: &'static str| ["--storage", url.as_str(), "--node", name];
    let a = Served::start_with(&homes[0], 1, true, &args("node-a"));
    let b = Served::start_with(&homes[1], 1, false, &args("node-b"));
    let token = a.token.clone().unwrap();
    let http = client();
    let id = queue(&http, &a, &token, "slow");
    let pg = PgStorage::connect(&url).unwrap();
    wait_until(&pg, "the slow job runs", |jobs| {
        jobs.iter()
            .any(|j| j.id == id && j.status == JobStatus::Processing)
    });
    // Kill it through the node that does not run it.
    let runner = nodes_of_jobs(&db)[&id].clone().unwrap();
    let other = if runner == "node-a" { &b } else { &a };
    let response = http
        .post(format!("{}/jobs/{id}/kill", other.url))
        .header("X-StorageApi-Token", &token)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202, "{:?}", response.text());
    wait_until(&pg, "the killed job is terminated", |jobs| {
        jobs.iter()
            .any(|j| j.id == id && j.status == JobStatus::Terminated)
    });
    let job = pg.job(&id).unwrap();
    assert_eq!(
        job.record["result"]["message"], "The job was terminated.",
        "{job:?}"
    );
    // Ended by the node that ran it, well before the one-minute sleep was over; nothing loaded.
    let took = job.finished.unwrap() - job.started.unwrap();
    assert!(took < time::Duration::seconds(50), "{took}");
    eprintln!("killed through the other node: the job ran {took} in all");
    assert!(pg.list_files(&FileFilter::default()).unwrap().is_empty());
    // The CLI reads the shared queue's records and logs too.
    let cli = |args: &[&str]| {
        let out = crate::support::berth()
            .env("BERTH_HOME", homes[0].root().join("cli"))
            .env("BERTH_STORAGE_URL", &url)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let shown: Value = serde_json::from_str(&cli(&["job", "show", &id, "--json"])).unwrap();
    assert_eq!(shown["status"], "terminated", "{shown}");
    let logs = cli(&["job", "logs", &id]);
    assert!(logs.contains("Running component acme.effect"), "{logs}");
    for node in [a, b] {
        node.signal("TERM");
        assert!(node.wait().success());
    }
}

#[test]
fn berth_run_on_shared_storage_beats_while_it_runs_and_stops_when_killed_through_a_node() {
    let Some(db) = TestDatabase::create(
        "berth_run_on_shared_storage_beats_while_it_runs_and_stops_when_killed_through_a_node",
    ) else {
        return;
    };
    let url = db.url().to_owned();
    let setup = setup_home(&url);
    setup.config("acme.effect", "fast", effect(json!({})));
    setup.config("acme.effect", "slow", effect(json!({"sleep_ms": 60_000})));
    let cli_home = Env::new();
    let run = |config: &str| {
        let mut command = crate::support::berth();
        command
            .env("BERTH_HOME", cli_home.root())
            .env("BERTH_STORAGE_URL", &url)
            .env("BERTH_NODE_EXPIRY", EXPIRY_SECS)
            .args(["run", "acme.effect", "--config", config]);
        command
    };
    // A run on the shared database is recorded there.
    let out = run("fast").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pg = PgStorage::connect(&url).unwrap();
    let done = pg.jobs(&JobFilter::default()).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].status, JobStatus::Success);

    // A long run outlives the expiry: its heartbeats keep a node's sweep away.
    let node = Served::start_with(
        &Env::new(),
        1,
        true,
        &[
            "--storage",
            &url,
            "--node",
            "node-a",
            "--node-expiry",
            EXPIRY_SECS,
        ],
    );
    let mut slow_run = run("slow").spawn().unwrap();
    let slow_and_processing =
        |j: &StoredJob| j.config_id.as_deref() == Some("slow") && j.status == JobStatus::Processing;
    wait_until(&pg, "the CLI's slow run is processing", |jobs| {
        jobs.iter().any(slow_and_processing)
    });
    let jobs = pg.jobs(&JobFilter::default()).unwrap();
    let id = jobs
        .iter()
        .find(|j| slow_and_processing(j))
        .unwrap()
        .id
        .clone();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(pg.job(&id).unwrap().status, JobStatus::Processing);
    // It beats under the CLI process's name.
    let runner = nodes_of_jobs(&db)[&id]
        .clone()
        .expect("the run stamped a heartbeat");
    assert!(runner.ends_with(&format!("-{}", slow_run.id())), "{runner}");

    // Killed through the node, it stops where it runs: in the CLI process.
    let response = client()
        .post(format!("{}/jobs/{id}/kill", node.url))
        .header("X-StorageApi-Token", node.token.as_deref().unwrap())
        .send()
        .unwrap();
    assert_eq!(response.status(), 202, "{:?}", response.text());
    let status = slow_run.wait().unwrap();
    assert!(!status.success());
    let job = pg.job(&id).unwrap();
    assert_eq!(job.status, JobStatus::Terminated, "{job:?}");
    let took = job.finished.unwrap() - job.started.unwrap();
    assert!(took < time::Duration::seconds(50), "{took}");
    node.signal("TERM");
    assert!(node.wait().success());
}

#[test]
fn nodes_sharing_the_master_key_open_each_others_ciphers() {
    let Some(db) = TestDatabase::create("nodes_sharing_the_master_key_open_each_others_ciphers")
    else {
        return;
    };
    let url = db.url().to_owned();
    // The configuration's `#` value is encrypted with the setup home's key on the way in.
    let setup = setup_home(&url);
    setup.config(
        "acme.effect",
        "secret",
        effect(json!({"#password": "hunter2"})),
    );
    let key = setup.root().join("keys/master.key");
    assert!(key.exists());
    let pg = PgStorage::connect(&url).unwrap();
    let stored = pg.config("acme.effect", "secret").unwrap();
    assert!(!stored.configuration.to_string().contains("hunter2"));

    // A node given the same key (BERTH_MASTER_KEY_FILE) runs the job.
    let key_var = [("BERTH_MASTER_KEY_FILE", key.to_str().unwrap())];
    let args = |name: &'static str| ["--storage", url.as_str(), "--node", name];
    let shared = Served::start_with_env(&Env::new(), 1, true, &args("node-shared"), &key_var);
    let token = shared.token.clone().unwrap();
    let http = client();
    let id = queue(&http, &shared, &token, "secret");
    wait_until(&pg, "the job ends", |jobs| {
        jobs.iter().any(|j| j.id == id && j.status.is_terminal())
    });
    let job = pg.job(&id).unwrap();
    assert_eq!(job.status, JobStatus::Success, "{:?}", job.record["result"]);
    shared.signal("TERM");
    assert!(shared.wait().success());

    // A node with a key of its own cannot open the cipher: the job fails saying so, as an
    // application error, and the value never shows.
    let alone = Served::start_with(&Env::new(), 1, false, &args("node-alone"));
    let id = queue(&http, &alone, &token, "secret");
    wait_until(&pg, "the job ends", |jobs| {
        jobs.iter().any(|j| j.id == id && j.status.is_terminal())
    });
    let job = pg.job(&id).unwrap();
    assert_eq!(job.status, JobStatus::Error, "{:?}", job.record["result"]);
    assert_eq!(job.record["result"]["error_type"], "application", "{job:?}");
    let message = job.record["result"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("master key"), "{message}");
    assert!(!job.record.to_string().contains("hunter2"));
    alone.signal("TERM");
    assert!(alone.wait().success());
}

/// Every `KBC::` cipher stored in the database (components, configurations, rows, states, OAuth
/// credentials), with where it is.
fn stored_ciphers(db: &TestDatabase) -> Vec<(String, String)> {
    let sql = "SELECT 'component ' || id, definition::text FROM berth_components \
               UNION ALL SELECT 'configuration ' || id, configuration::text FROM berth_configs \
               UNION ALL SELECT 'state ' || id, state::text FROM berth_configs \
               UNION ALL SELECT 'row ' || id, configuration::text || state::text \
                 FROM berth_config_rows \
               UNION ALL SELECT 'oauth ' || id, credentials::text FROM berth_oauth_credentials";
    db.client()
        .query(sql, &[])
        .unwrap()
        .iter()
        .flat_map(|row| {
            let place: String = row.get(0);
            let text: String = row.get(1);
            text.split('"')
                .filter(|s| s.starts_with("KBC::"))
                .map(|cipher| (place.clone(), cipher.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_key_rotation_while_two_nodes_run_jobs_leaves_every_cipher_under_the_new_key() {
    let Some(db) = TestDatabase::create(
        "a_key_rotation_while_two_nodes_run_jobs_leaves_every_cipher_under_the_new_key",
    ) else {
        return;
    };
    let url = db.url().to_owned();
    let setup = setup_home(&url);
    // Ciphers everywhere a job reads or writes them: the component's image parameters, the
    // configurations, OAuth credentials, and the state every run decrypts and leaves again.
    setup.component(
        "acme.effect",
        guests::WRITE_OUTPUTS,
        json!({"image_parameters": {"#image": "image-secret"}}),
    );
    berth_job::oauth::add(
        &setup.home,
        "acme.effect",
        Some("auth"),
        json!({"#appSecret": "oauth-secret"}),
    )
    .unwrap();
    const ROTATING_CONFIGS: usize = 4;
    for c in 0..ROTATING_CONFIGS {
        let mut configuration = writes(
            &[(
                "out/state.json",
                &format!("{{\"#s\": \"state-secret-{c}\"}}"),
            )],
            0,
            json!({}),
        );
        configuration["parameters"]["#password"] = json!(format!("config-secret-{c}"));
        configuration["authorization"] = json!({"oauth_api": {"id": "auth"}});
        setup.config("acme.effect", &format!("k{c}"), configuration);
    }
    let key = setup.root().join("keys/master.key");
    let key_of = |cipher: &str| berth_secrets::cipher::key_id_of(cipher).unwrap();
    let old_key = key_of(&stored_ciphers(&db)[0].1);

    let key_var = [("BERTH_MASTER_KEY_FILE", key.to_str().unwrap())];
    let args = |name: &'static str| ["--storage", url.as_str(), "--node", name];
    let node_a = Served::start_with_env(&Env::new(), 2, true, &args("node-a"), &key_var);
    let token = node_a.token.clone().unwrap();
    let node_b = Served::start_with_env(&Env::new(), 2, false, &args("node-b"), &key_var);
    let nodes = [&node_a, &node_b];
    let http = client();
    let pg = PgStorage::connect(&url).unwrap();
    let mut queued = 0;
    let mut queue_some = |count: usize| {
        for _ in 0..count {
            let config = format!("k{}", queued % ROTATING_CONFIGS);
            queue(&http, nodes[queued % 2], &token, &config);
            queued += 1;
        }
    };
    queue_some(60);
    wait_until(&pg, "some jobs succeeded", |jobs| {
        jobs.iter()
            .filter(|j| j.status == JobStatus::Success)
            .count()
            >= 8
    });

    // The rotation, from a third home, while both nodes run jobs.
    let out = crate::support::berth()
        .arg("--home")
        .arg(Env::new().root())
        .args(["key", "rotate"])
        .env("BERTH_STORAGE_URL", &url)
        .envs(key_var)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("master key rotated: {old_key} -> ")),
        "{stdout}"
    );
    let everything = JobFilter {
        limit: Some(10 * JOBS),
        ..JobFilter::default()
    };
    let rotated_while = pg
        .jobs(&everything)
        .unwrap()
        .iter()
        .filter(|j| !j.status.is_terminal())
        .count();
    queue_some(20);
    wait_until(&pg, "every job ends", |jobs| {
        jobs.len() == queued && jobs.iter().all(|j| j.status.is_terminal())
    });

    // Every job succeeded: none read a cipher the key it held could not open, none stored one
    // under a key that is gone.
    for job in pg.jobs(&everything).unwrap() {
        assert_eq!(
            job.status,
            JobStatus::Success,
            "{}: {:?}",
            job.id,
            job.record["result"]
        );
    }
    let new_key = std::fs::read_to_string(&key)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    assert_ne!(new_key, old_key);
    assert!(!key.with_extension("key.new").exists());
    let ciphers = stored_ciphers(&db);
    // The image parameter, the OAuth secret, and a configuration and a state per configuration.
    assert!(ciphers.len() >= 2 + 2 * ROTATING_CONFIGS, "{ciphers:?}");
    for (place, cipher) in &ciphers {
        assert_eq!(key_of(cipher), new_key, "{place}: {cipher}");
    }
    eprintln!("rotated with {rotated_while} jobs not yet ended; {queued} jobs in all");
    for node in [node_a, node_b] {
        node.signal("TERM");
        assert!(node.wait().success());
    }
}

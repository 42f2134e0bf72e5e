//! `berth serve` through the real binary: it holds its home (other commands fail at once naming
//! it), SIGTERM shuts it down gracefully, and a restart after SIGKILL keeps waiting jobs queued
//! and ends the job that was processing as an error — never running it twice.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_job::testing::Env;
use components_artifacts as guests;
use serde_json::{Value, json};

use crate::support::berth;

/// A running `berth serve` child with its URL and admin token.
pub(crate) struct Served {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) token: Option<String>,
}

impl Served {
    pub(crate) fn start(env: &Env, workers: usize, init_token: bool) -> Self {
        Self::start_with(env, workers, init_token, &[])
    }

    /// [`Served::start`] with more arguments of `berth serve`.
    pub(crate) fn start_with(env: &Env, workers: usize, init_token: bool, args: &[&str]) -> Self {
        Self::start_with_env(env, workers, init_token, args, &[])
    }

    /// [`Served::start_with`] with more environment variables.
    pub(crate) fn start_with_env(
        env: &Env,
        workers: usize,
        init_token: bool,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Self {
        let mut command = berth();
        command
            .envs(vars.iter().copied())
            .env("BERTH_HOME", env.root())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--workers",
                &workers.to_string(),
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if init_token {
            command.arg("--init-token");
        }
        let mut child = command.spawn().expect("berth serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("a first line").unwrap();
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_owned();
        let mut token = None;
        if init_token {
            for line in lines.by_ref() {
                let line = line.unwrap();
                if let Some(t) = line.strip_prefix("admin token (shown once): ") {
                    token = Some(t.to_owned());
                    break;
                }
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url, token }
    }

    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub(crate) fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for Served {
    /// A test that fails midway leaves no server behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn curl(method: &str, url: &str, token: &str, body: Option<Value>) -> Value {
    let mut command = Command::new("curl");
    command.args([
        "-sS",
        "-X",
        method,
        "-H",
        &format!("X-StorageApi-Token: {token}"),
    ]);
    if let Some(body) = body {
        command.args([
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
        ]);
    }
    let output = command.arg(url).output().expect("curl runs");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_served_home_refuses_other_commands_and_sigterm_stops_the_server() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let served = Served::start(&env, 1, true);
    let token = served.token.clone().unwrap();
    let output = berth()
        .env("BERTH_HOME", env.root())
        .args(["table", "ls"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is served by `berth serve` at")
            && stderr.contains(&format!("with `--url {}`", served.url)),
        "{stderr}"
    );
    // `berth info` reads no Storage: it still answers, and names the server.
    let info = berth()
        .env("BERTH_HOME", env.root())
        .arg("info")
        .output()
        .unwrap();
    assert_eq!(info.status.code(), Some(0));
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains(&format!("server:      {} (pid ", served.url)),
        "{info}"
    );
    // A second server on the same home is refused.
    let second = berth()
        .env("BERTH_HOME", env.root())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_ne!(second.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already running"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    let job = curl(
        "POST",
        &format!("{}/jobs", served.url),
        &token,
        Some(json!({"component": "acme.writer", "configData": {"parameters": {"sleep_ms": 1500}}})),
    );
    let id = job["id"].as_str().unwrap().to_owned();
    wait_until("the job to start", || {
        curl("GET", &format!("{}/jobs/{id}", served.url), &token, None)["status"] == "processing"
    });
    // SIGTERM: the running job finishes within the grace period, then the server exits 0.
    served.signal("TERM");
    let status = served.wait();
    assert_eq!(status.code(), Some(0));
    let shown = berth()
        .env("BERTH_HOME", env.root())
        .args(["job", "show", &id, "--json"])
        .output()
        .unwrap();
    let record: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(record["status"], "success", "{record}");
}

#[test]
fn a_restart_keeps_waiting_jobs_and_fails_the_interrupted_one() {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    let served = Served::start(&env, 1, true);
    let token = served.token.clone().unwrap();
    let queue = |body: Value| -> String {
        curl("POST", &format!("{}/jobs", served.url), &token, Some(body))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // One long job occupies the only worker; two quick ones wait behind it.
    let long = queue(
        json!({"component": "acme.writer", "configData": {"parameters": {"sleep_ms": 600000}}}),
    );
    wait_until("the long job to start", || {
        curl("GET", &format!("{}/jobs/{long}", served.url), &token, None)["status"] == "processing"
    });
    let quick: Vec<String> = (0..2)
        .map(|n| {
            queue(json!({"component": "acme.writer", "configData": {"parameters": {
                "write": [{"path": format!("out/tables/out.c-restart.t{n}.csv"), "text": "a\n1\n"}]
            }, "storage": {"output": {"tables": [{"destination": format!("out.c-restart.t{n}")}]}}}}))
        })
        .collect();
    served.signal("KILL");
    served.wait();

    let restarted = Served::start(&env, 1, false);
    let show =
        |id: &str| -> Value { curl("GET", &format!("{}/jobs/{id}", restarted.url), &token, None) };
    let interrupted = show(&long);
    assert_eq!(interrupted["status"], "error", "{interrupted}");
    assert!(
        interrupted["result"]["message"]
            .as_str()
            .unwrap()
            .contains("it was not run again"),
        "{interrupted}"
    );
    for id in &quick {
        wait_until("a waiting job to run after the restart", || {
            show(id)["status"] == "success"
        });
    }
    restarted.signal("TERM");
    restarted.wait();
    for n in 0..2 {
        assert_eq!(
            env.table(&format!("out.c-restart.t{n}")).as_deref(),
            Some("\"a\"\n\"1\"\n")
        );
    }
}

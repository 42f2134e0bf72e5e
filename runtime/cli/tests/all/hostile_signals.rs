//! SIGTERM and SIGINT to a running `berth run` whose component is a container: the container is
//! stopped and removed, the job's folders are removed, nothing reaches Storage, and berth exits
//! 2 within a bounded time. A `berth run` killed with SIGKILL cannot clean up: the next Docker
//! executor of any berth process removes the container it left.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_exec::docker::LABEL_MANAGED;
use berth_exec::docker::fixture::{containers_labelled, docker_available, scratch_image};
use berth_exec::docker::owner::LABEL_OWNER_PID;
use berth_job::testing::Env;
use serde_json::json;

use crate::hostile_output::snapshot;
use crate::hostile_support::{RSS_BOUND_KB, reported_rss, under_time, wait4};
use crate::support::berth;
use components_artifacts as guests;

fn spin_forever() -> String {
    let tag = scratch_image("docker-fixtures", "spin_forever").expect("the spin_forever image");
    format!("docker://{tag}")
}

/// The berth process of `child`: `child` itself, or its child when it is GNU time.
fn berth_pid(child: &std::process::Child, timed: bool) -> String {
    if !timed {
        return child.id().to_string();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let children = format!("/proc/{0}/task/{0}/children", child.id());
        if let Some(pid) = std::fs::read_to_string(children)
            .ok()
            .and_then(|t| t.split_whitespace().next().map(str::to_owned))
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "GNU time started no berth");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `berth run` of `acme.spin` (under GNU time when there is one, reporting to `report`)
/// and waits until its container runs; returns the child and berth's pid.
fn start(env: &Env, report: &std::path::Path) -> (std::process::Child, String) {
    let mut command = berth();
    command
        .arg("--home")
        .arg(env.root())
        .args(["run", "acme.spin", "--config", "spin"]);
    let timed = under_time(&command, report);
    let is_timed = timed.is_some();
    let mut command = timed.unwrap_or(command);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let pid = berth_pid(&child, is_timed);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no container for berth {pid}");
        if !containers_labelled(LABEL_OWNER_PID, &pid)
            .unwrap()
            .is_empty()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, pid)
}

fn home() -> Env {
    let env = Env::new();
    env.component("acme.spin", &spin_forever(), json!({}))
        .config("acme.spin", "spin", json!({"parameters": {}}));
    env
}

/// Job folders left under the home's `tmp/`.
fn job_folders(env: &Env) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(env.root().join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect()
}

#[test]
fn hostile_sigterm_and_sigint_stop_the_container_and_clean_up() {
    if !docker_available("hostile_sigterm_and_sigint_stop_the_container_and_clean_up") {
        return;
    }
    for signal in ["TERM", "INT"] {
        let env = home();
        let before = snapshot(&env);
        let report = tempfile::NamedTempFile::new().unwrap();
        let (child, pid) = start(&env, report.path());
        let sent = Instant::now();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let (code, waited_rss) = wait4(child.id());
        let wall = sent.elapsed();
        let rss = reported_rss(report.path()).unwrap_or(waited_rss);
        eprintln!("hostile: SIG{signal} to berth run exit={code:?} rss={rss} KiB stop={wall:.2?}");
        assert_eq!(
            code,
            Some(2),
            "SIG{signal}: berth exits with an application error"
        );
        assert!(wall < Duration::from_secs(60), "SIG{signal}: took {wall:?}");
        assert!(rss < RSS_BOUND_KB, "SIG{signal}: {rss} KiB");
        assert!(
            containers_labelled(LABEL_OWNER_PID, &pid)
                .unwrap()
                .is_empty(),
            "SIG{signal}: the container is left"
        );
        assert_eq!(
            job_folders(&env),
            Vec::<std::path::PathBuf>::new(),
            "SIG{signal}"
        );
        assert_eq!(snapshot(&env), before, "SIG{signal}: Storage changed");
        let record = last_record(&env);
        assert!(
            record
                .result
                .message
                .contains(&format!("berth received SIG{signal}")),
            "{:?}",
            record.result
        );
    }
}

#[test]
fn hostile_containers_of_a_killed_berth_are_reaped() {
    if !docker_available("hostile_containers_of_a_killed_berth_are_reaped") {
        return;
    }
    let env = home();
    let report = tempfile::NamedTempFile::new().unwrap();
    let (mut child, pid) = start(&env, report.path());
    let killed = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    assert!(killed.success());
    child.wait().unwrap();
    assert!(
        !containers_labelled(LABEL_OWNER_PID, &pid)
            .unwrap()
            .is_empty(),
        "SIGKILL leaves the container behind"
    );
    // Any later Docker executor removes it: here `berth exec` of another fixture.
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"parameters":{}}"#).unwrap();
    let tag = scratch_image("docker-fixtures", "exit_code").unwrap();
    let status = berth()
        .arg("--home")
        .arg(env.root())
        .arg("exec")
        .arg(format!("docker://{tag}"))
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.code().is_some());
    assert!(
        containers_labelled(LABEL_OWNER_PID, &pid)
            .unwrap()
            .is_empty(),
        "the orphan is reaped"
    );
    // Containers of live owners (none here) would have been kept.
    let _ = containers_labelled(LABEL_MANAGED, "docker");
}

/// SIGTERM to `berth run` of a WASI guest, busy in wasm code (`spin_forever`: it never reaches a
/// host call, so only the epoch tick can stop it) or asleep in a host call (`sleep_forever`):
/// the guest is stopped at once, the job fails with the signal's name, its folders are removed,
/// nothing reaches Storage and berth exits 2 — well before the signal handler's cleanup grace
/// would end the process without any of that.
#[test]
fn hostile_sigterm_stops_a_busy_or_sleeping_wasi_guest() {
    for guest in [guests::SPIN_FOREVER, guests::SLEEP_FOREVER] {
        let env = Env::new();
        env.component("acme.guest", guest, json!({})).config(
            "acme.guest",
            "forever",
            json!({"parameters": {}}),
        );
        let before = snapshot(&env);
        let mut child = berth()
            .arg("--home")
            .arg(env.root())
            .args(["run", "acme.guest", "--config", "forever"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The job's folder appears once staging is done; the guest starts microseconds later.
        let deadline = Instant::now() + Duration::from_secs(60);
        while job_folders(&env).is_empty() {
            assert!(Instant::now() < deadline, "{guest}: the job never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let code = child.wait().unwrap().code();
        let wall = sent.elapsed();
        eprintln!("hostile: SIGTERM to berth run of {guest}: exit={code:?} stop={wall:.2?}");
        assert_eq!(
            code,
            Some(2),
            "{guest}: berth exits with an application error"
        );
        assert!(
            wall < signals_grace(),
            "{guest}: stopped only by the cleanup grace ({wall:?})"
        );
        assert_eq!(
            job_folders(&env),
            Vec::<std::path::PathBuf>::new(),
            "{guest}"
        );
        assert_eq!(snapshot(&env), before, "{guest}: Storage changed");
        let record = last_record(&env);
        assert!(
            record.result.message.contains("berth received SIGTERM"),
            "{guest}: {:?}",
            record.result
        );
    }
}

/// How long berth's signal handler lets the cleanup run before it exits anyway.
fn signals_grace() -> Duration {
    berth_cli::signals::CLEANUP_GRACE
}

/// The record of the home's last job.
fn last_record(env: &Env) -> berth_job::JobRecord {
    berth_job::JobStore::new(&env.home)
        .list()
        .unwrap()
        .into_iter()
        .last()
        .expect("a job record")
}

//! What only a container can plant (FIFOs, sockets, absolute links, names that are not UTF-8) and
//! a fork bomb, run by the real `berth run` / `berth exec` with the `hostile_fs` Docker fixture.
//! Each planted entry: exit 1 naming it, bounded time (a FIFO must not block the reader) and
//! memory, Storage unchanged, no host file in Storage. The fork bomb stops at the pids limit.

use berth_exec::docker::fixture::{docker_available, scratch_image};
use berth_job::testing::Env;
use serde_json::json;

use crate::hostile_output::snapshot;
use crate::hostile_support::{Measured, measure};
use crate::support::berth;

fn fixture() -> String {
    let tag = scratch_image("docker-fixtures", "hostile_fs").expect("the hostile_fs image");
    format!("docker://{tag}")
}

/// Runs `attack` as `berth run` of a component whose image is the fixture.
fn attack(env: &Env, attack: &str) -> Measured {
    env.config(
        "acme.hostile",
        attack,
        json!({"parameters": {"attack": attack},
               "storage": {"output": {"files": [], "tables": []}}}),
    );
    let before = snapshot(env);
    let mut command = berth();
    command
        .arg("--home")
        .arg(env.root())
        .args(["run", "acme.hostile", "--config", attack]);
    let measured = measure(command);
    assert_eq!(snapshot(env), before, "Storage changed: {measured:#?}");
    measured
}

#[test]
fn hostile_container_plants_are_refused_by_name() {
    if !docker_available("hostile_container_plants_are_refused_by_name") {
        return;
    }
    let env = Env::new();
    env.component("acme.hostile", &fixture(), json!({}));
    attack(&env, "fifo_state").assert_refused(
        "FIFO out/state.json",
        1,
        &["\"out/state.json\" is a FIFO (named pipe)"],
    );
    attack(&env, "fifo_manifest").assert_refused(
        "FIFO manifest",
        1,
        &["\"out/tables/t.csv.manifest\" is a FIFO (named pipe)"],
    );
    attack(&env, "socket_usage").assert_refused(
        "socket out/usage.json",
        1,
        &["\"out/usage.json\" is a socket"],
    );
    attack(&env, "absolute_link").assert_refused(
        "absolute symlink",
        1,
        &["\"out/files/leak.txt\" is a symbolic link"],
    );
    attack(&env, "lossy_collision").assert_refused(
        "name that is not UTF-8 beside its lossy twin",
        1,
        &["out/files/\\xff", "not UTF-8"],
    );
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    assert!(
        !snapshot(&env).contains(hostname.trim()) || hostname.trim().is_empty(),
        "a host file reached Storage"
    );
}

#[test]
fn hostile_fork_bomb_stops_at_the_pids_limit() {
    if !docker_available("hostile_fork_bomb_stops_at_the_pids_limit") {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("out")).unwrap();
    std::fs::write(
        data.join("config.json"),
        json!({"parameters": {"attack": "fork_bomb"}}).to_string(),
    )
    .unwrap();
    let mut command = berth();
    command
        .arg("--home")
        .arg(dir.path().join("home"))
        .arg("exec")
        .arg(fixture())
        .arg("--data-dir")
        .arg(&data)
        .args(["--timeout", "120"]);
    let m = measure(command);
    eprintln!(
        "hostile: fork bomb exit={:?} rss={} KiB wall={:.2?} ({})",
        m.code,
        m.max_rss_kb,
        m.wall,
        m.stdout.trim()
    );
    m.assert_bounded("fork bomb");
    assert_eq!(m.code, Some(0), "{m:#?}");
    let spawned: u64 = m
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("spawned "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count: {m:#?}"));
    let limit = berth_exec::docker::DEFAULT_PIDS_LIMIT as u64;
    assert!(
        spawned > 10 && spawned < limit,
        "spawned {spawned} processes with a pids limit of {limit}"
    );
}

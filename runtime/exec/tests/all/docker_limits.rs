//! The Docker executor's limits, each held and exceeded: the timeout (stop, then kill, then the
//! timeout user error), memory (`OOMKilled` → the out-of-memory user error), and the network
//! (really absent unless allowed: a connection out fails, loopback still works).

use std::time::Duration;

use berth_exec::{Outcome, Termination};

use crate::docker_support::Case;

#[test]
fn docker_timeout_held() {
    let Some(mut case) = Case::new("docker_timeout_held") else {
        return;
    };
    let (result, outcome) = case.timeout(Duration::from_secs(30)).run("exit_code");
    assert_eq!(outcome, Outcome::Success);
    assert!(result.duration < Duration::from_secs(30));
    case.assert_clean();
}

#[test]
fn docker_timeout_exceeded_stops_the_container() {
    let Some(mut case) = Case::new("docker_timeout_exceeded") else {
        return;
    };
    let (result, outcome) = case.timeout(Duration::from_secs(2)).run("spin_forever");
    assert_eq!(result.termination, Termination::TimedOut);
    match &outcome {
        Outcome::Timeout { message } => {
            assert!(
                message.contains("exceeded the timeout of 2 seconds"),
                "{message}"
            );
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Output written before the timeout is kept.
    assert!(result.stdout.text().contains("spin_forever: started"));
    assert!(
        result.duration >= Duration::from_secs(2) && result.duration < Duration::from_secs(10),
        "{:?}",
        result.duration
    );
    // Removed, and the private /tmp with it, also after a timeout.
    case.assert_clean();
}

#[test]
fn docker_memory_held() {
    let Some(mut case) = Case::new("docker_memory_held") else {
        return;
    };
    case.memory_mb(128).env("ALLOC_MB", "32");
    let (result, outcome) = case.run("alloc_grow");
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    assert_eq!(result.stdout.text(), "alloc_grow: held 32 MiB\n");
    case.assert_clean();
}

#[test]
fn docker_memory_exceeded_is_out_of_memory() {
    let Some(mut case) = Case::new("docker_memory_exceeded") else {
        return;
    };
    let (result, outcome) = case.memory_mb(64).run("alloc_grow");
    assert_eq!(
        result.termination,
        Termination::OutOfMemory,
        "stderr: {}",
        result.stderr.text()
    );
    assert!(
        matches!(outcome, Outcome::OutOfMemory { .. }),
        "{outcome:?}"
    );
    case.assert_clean();
}

#[test]
fn docker_network_is_absent_by_default() {
    let Some(case) = Case::new("docker_network_absent") else {
        return;
    };
    let (result, outcome) = case.run("net_probe");
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    let stdout = result.stdout.text();
    assert!(stdout.contains("external: failed"), "{stdout}");
    assert!(stdout.contains("loopback: ok"), "{stdout}");
    case.assert_clean();
}

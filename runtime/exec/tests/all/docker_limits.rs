//! The Docker executor's limits, each held and exceeded: the timeout (stop, then kill, then the
//! timeout user error), memory (`OOMKilled` → the out-of-memory user error), and the network
//! (really absent unless allowed: only `lo` inside, the host's listener on the bridge gateway
//! unreachable, loopback still works; with `network: bridge` the same listener is reached).

use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::Duration;

use berth_exec::docker::fixture::bridge_gateway;
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

/// A listener of the host on the bridge gateway (docker0), which any container on the default
/// bridge network can reach, and its address.
fn gateway_listener() -> (TcpListener, String) {
    let gateway = bridge_gateway().expect("the bridge network's gateway");
    let listener = TcpListener::bind((gateway, 0))
        .unwrap_or_else(|e| panic!("listening on the bridge gateway {gateway}: {e}"));
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    (listener, address)
}

#[test]
fn docker_network_is_absent_by_default() {
    let Some(mut case) = Case::new("docker_network_absent") else {
        return;
    };
    let (listener, address) = gateway_listener();
    case.env("PROBE_TARGET", &address);
    let (result, outcome) = case.run("net_probe");
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    let stdout = result.stdout.text();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[0], "interfaces: lo", "{stdout}");
    assert_eq!(lines[1], "loopback: ok", "{stdout}");
    assert!(lines[2].starts_with("target: failed ("), "{stdout}");
    assert_eq!(
        listener.accept().map(drop).map_err(|e| e.kind()),
        Err(ErrorKind::WouldBlock),
        "nothing connected to the host's listener"
    );
    case.assert_clean();
}

#[test]
fn docker_network_bridge_reaches_the_gateway() {
    // The control of the test above: the same probe and listener, with the network allowed.
    let Some(mut case) = Case::new("docker_network_bridge") else {
        return;
    };
    let (listener, address) = gateway_listener();
    case.env("PROBE_TARGET", &address);
    let options = berth_exec::docker::DockerOptions {
        network: true,
        ..case.options()
    };
    let (result, outcome) = case.run_with("net_probe", options);
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    let stdout = result.stdout.text();
    assert_eq!(
        stdout, "interfaces: eth0,lo\nloopback: ok\ntarget: ok\n",
        "{stdout}"
    );
    assert!(
        listener.accept().is_ok(),
        "the container's connection is waiting at the host's listener"
    );
    case.assert_clean();
}

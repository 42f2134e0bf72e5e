//! Probes the network from inside a container and prints one line per probe:
//!
//! - `interfaces: lo` — the entries of `/sys/class/net`, sorted and comma-separated;
//! - `loopback: ok` or `loopback: failed (…)` — a TCP connection to a listener of its own on
//!   127.0.0.1 (proves the probe works even where nothing else is reachable);
//! - `target: ok` or `target: failed (…)` — a TCP connection to `PROBE_TARGET` (`ip:port`, the
//!   host's listener on the bridge gateway), when that variable is set.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

fn probe(addr: SocketAddr) -> String {
    match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        Ok(_) => "ok".to_owned(),
        Err(err) => format!("failed ({err})"),
    }
}

fn interfaces() -> String {
    match std::fs::read_dir("/sys/class/net") {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names.join(",")
        }
        Err(err) => format!("unreadable ({err})"),
    }
}

fn main() {
    println!("interfaces: {}", interfaces());
    // The listener stays open while the probe connects to it.
    let loopback = match TcpListener::bind(("127.0.0.1", 0)) {
        Ok(listener) => match listener.local_addr() {
            Ok(addr) => probe(addr),
            Err(err) => format!("failed (local_addr: {err})"),
        },
        Err(err) => format!("failed (bind: {err})"),
    };
    println!("loopback: {loopback}");
    if let Ok(target) = std::env::var("PROBE_TARGET") {
        let verdict = match target.parse::<SocketAddr>() {
            Ok(addr) => probe(addr),
            Err(err) => format!("failed (PROBE_TARGET {target:?}: {err})"),
        };
        println!("target: {verdict}");
    }
}

//! Tries a TCP connection to a public address and to a loopback listener of its own, and prints
//! one line for each: `external: ok` or `external: failed (…)`, `loopback: ok` or `loopback: failed (…)`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

fn probe(addr: SocketAddr) -> String {
    match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        Ok(_) => "ok".to_owned(),
        Err(err) => format!("failed ({err})"),
    }
}

fn main() {
    let external: SocketAddr = ([1, 1, 1, 1], 53).into();
    println!("external: {}", probe(external));
    // The listener stays open while the probe connects to it.
    let loopback = match TcpListener::bind(("127.0.0.1", 0)) {
        Ok(listener) => match listener.local_addr() {
            Ok(addr) => probe(addr),
            Err(err) => format!("failed (local_addr: {err})"),
        },
        Err(err) => format!("failed (bind: {err})"),
    };
    println!("loopback: {loopback}");
}

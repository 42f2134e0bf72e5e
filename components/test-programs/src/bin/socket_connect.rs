//! Tries to reach the network (TCP to `TARGET`, default 127.0.0.1:80; UDP bind; a name lookup)
//! and prints one line per attempt: `tcp: error: …`. Exits 0 either way; the host asserts.
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "127.0.0.1:80".to_owned());
    match TcpStream::connect(&target) {
        Ok(_) => println!("tcp: ok: connected to {target}"),
        Err(error) => println!("tcp: error: {error}"),
    }
    match UdpSocket::bind("0.0.0.0:0") {
        Ok(_) => println!("udp: ok: bound"),
        Err(error) => println!("udp: error: {error}"),
    }
    match "localhost:80".to_socket_addrs() {
        Ok(addrs) => println!("dns: ok: {} addresses", addrs.count()),
        Err(error) => println!("dns: error: {error}"),
    }
}

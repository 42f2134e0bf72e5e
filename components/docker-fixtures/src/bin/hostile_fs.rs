//! Leaves in `/data` what a hostile container can and a WASI guest cannot: FIFOs, sockets,
//! absolute symbolic links, names that are not UTF-8; or tries a fork bomb. The attack is the
//! `"attack"` parameter of /data/config.json (found by text search: fixtures have no JSON crate).
//!
//! - `fifo_state`: `out/state.json` is a FIFO (a reader that opens it blocks forever);
//! - `fifo_manifest`: `out/tables/t.csv` plus a FIFO `out/tables/t.csv.manifest`;
//! - `socket_usage`: `out/usage.json` is a listening Unix socket;
//! - `absolute_link`: `out/files/leak.txt` → `/etc/hostname` (the host's, as berth sees it);
//! - `lossy_collision`: a file named `\xff` and a link named `U+FFFD` → `/etc/hostname`, which a
//!   lossy reader of names would take for one another;
//! - `fork_bomb`: spawns copies of itself (each sleeping) until the kernel refuses, prints
//!   `spawned N`, then kills them and exits 0.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

fn fifo(path: &str) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("mkfifo");
}

fn fork_bomb() {
    let mut children: Vec<Child> = Vec::new();
    loop {
        match Command::new("/proc/self/exe").arg("sleep").spawn() {
            Ok(child) => children.push(child),
            Err(_) => break,
        }
        if children.len() >= 100_000 {
            break;
        }
    }
    println!("spawned {}", children.len());
    for child in &mut children {
        let _ = child.kill();
    }
    for child in &mut children {
        let _ = child.wait();
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("sleep") {
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    let config = std::fs::read_to_string("/data/config.json").unwrap_or_default();
    let attack = [
        "fifo_state",
        "fifo_manifest",
        "socket_usage",
        "absolute_link",
        "lossy_collision",
        "fork_bomb",
    ]
    .into_iter()
    .find(|a| config.contains(&format!("\"{a}\"")))
    .unwrap_or("none");
    let out = Path::new("/data/out");
    std::fs::create_dir_all(out.join("tables")).expect("out/tables");
    std::fs::create_dir_all(out.join("files")).expect("out/files");
    match attack {
        "fifo_state" => fifo("/data/out/state.json"),
        "fifo_manifest" => {
            std::fs::write("/data/out/tables/t.csv", "a\n1\n").expect("t.csv");
            fifo("/data/out/tables/t.csv.manifest");
        }
        "socket_usage" => {
            let listener =
                std::os::unix::net::UnixListener::bind("/data/out/usage.json").expect("socket");
            // Left bound: the socket file stays when the process exits.
            std::mem::forget(listener);
        }
        "absolute_link" => std::os::unix::fs::symlink("/etc/hostname", "/data/out/files/leak.txt")
            .expect("symlink"),
        "lossy_collision" => {
            let files = Path::new("/data/out/files");
            std::fs::write(files.join(OsStr::from_bytes(b"\xff")), "component data\n")
                .expect("a file with a name that is not UTF-8");
            std::os::unix::fs::symlink("/etc/hostname", files.join("\u{FFFD}")).expect("symlink");
        }
        "fork_bomb" => fork_bomb(),
        _ => {}
    }
    println!("attack {attack} done");
}

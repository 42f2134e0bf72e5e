//! `berth serve` as a child process of a bench: this bench's executable started again (so the
//! server's memory and CPU are its own), serving a home prepared by the bench, optionally as a
//! node on a shared PostgreSQL database. The child prints `URL TOKEN` as its first line.
//!
//! A bench's `main` calls [`serve_if_child`] first: in the child it serves and never returns.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use berth_job::home::Home;
use berth_postgres::PgPool;
use reqwest::blocking::Client;

/// Set in the child: the home it serves.
const HOME_VAR: &str = "BERTH_BENCH_SERVE_HOME";
/// Set in a child on shared Storage: the database URL.
const STORAGE_VAR: &str = "BERTH_BENCH_SERVE_STORAGE";
/// Set in a child on shared Storage: its node name.
const NODE_VAR: &str = "BERTH_BENCH_SERVE_NODE";

/// In a server child (its environment says so), serves until killed and exits; returns at once
/// in the bench itself.
pub fn serve_if_child() {
    let Ok(root) = std::env::var(HOME_VAR) else {
        return;
    };
    let mut home = Home::new(root);
    if let (Ok(url), Ok(node)) = (std::env::var(STORAGE_VAR), std::env::var(NODE_VAR)) {
        home = home.on_postgres(PgPool::connect(&url).expect("the bench database"), node);
    }
    let options = berth_server::ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        init_token: true,
        ..berth_server::ServeOptions::default()
    };
    berth_server::serve(&home, &options, |started| {
        println!(
            "{} {}",
            started.url,
            started.admin_token.as_deref().unwrap_or_default()
        );
    })
    .expect("the bench server runs");
    std::process::exit(0);
}

/// A running server child.
pub struct ServerChild {
    /// The process.
    pub child: Child,
    /// Its URL.
    pub url: String,
    /// Its admin token.
    pub token: String,
}

impl ServerChild {
    /// Starts a child serving `home`; on the shared database `shared` = (URL, node name) when
    /// given.
    pub fn start(home: &Home, shared: Option<(&str, &str)>) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .env(HOME_VAR, home.root())
            .env("BERTH_LOG", "error")
            .stdout(Stdio::piped());
        if let Some((url, node)) = shared {
            command.env(STORAGE_VAR, url).env(NODE_VAR, node);
        }
        let mut child = command.spawn().expect("the server child starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let (url, token) = line.trim().split_once(' ').expect("URL TOKEN");
        Self {
            child,
            url: url.to_owned(),
            token: token.to_owned(),
        }
    }

    /// A client with keep-alive.
    pub fn client(&self) -> Client {
        Client::builder()
            .pool_max_idle_per_host(4)
            .tcp_nodelay(true)
            .build()
            .unwrap()
    }

    /// Jobs that ended in success in its Storage (`/metrics`).
    pub fn successes(&self) -> usize {
        let text = self
            .client()
            .get(format!("{}/metrics", self.url))
            .header("X-StorageApi-Token", &self.token)
            .send()
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("berth_jobs{status=\"success\"} "))
            .map_or(0, |n| n.trim().parse().unwrap())
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

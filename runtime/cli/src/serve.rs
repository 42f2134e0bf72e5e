//! `berth serve [--listen ADDR] [--workers N] [--grace SECS] [--init-token] [--storage URL
//! [--node NAME] [--node-expiry SECS]]`: the runner as an HTTP service on this home (see
//! `berth-server`), its Storage embedded or a PostgreSQL database several nodes share. Prints where it listens and, with
//! `--init-token`, a new admin token (shown once); runs until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use berth_job::home::Home;
use berth_server::{ServeOptions, serve};

/// Arguments of `berth serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// How many jobs run at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Seconds running jobs may take to finish after SIGTERM/SIGINT before they are stopped.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub grace: u64,
    /// Create an admin token and print it (once).
    #[arg(long)]
    pub init_token: bool,
    /// Storage several nodes share: a PostgreSQL URL (`postgres://user@host:port/database`).
    /// Default: BERTH_STORAGE_URL, else the home's embedded Storage.
    #[arg(long, value_name = "URL")]
    pub storage: Option<String>,
    /// This node's name on shared Storage (default: host name and process id); unique among the
    /// nodes running at one time.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// On shared Storage: seconds after a running job's last heartbeat when any node ends it as
    /// an error, its node presumed gone (`berth run` on the same database paces its heartbeats by
    /// BERTH_NODE_EXPIRY too).
    #[arg(
        long,
        env = berth_job::heartbeat::NODE_EXPIRY_ENV,
        default_value_t = berth_server::DEFAULT_NODE_EXPIRY.as_secs_f64(),
        value_name = "SECS"
    )]
    pub node_expiry: f64,
}

/// Runs `berth serve`.
pub fn run(home: &Home, args: ServeArgs) -> Result<ExitCode> {
    let defaults = ServeOptions::default();
    let options = ServeOptions {
        listen: args.listen,
        workers: args.workers.unwrap_or(defaults.workers),
        grace: Duration::from_secs(args.grace),
        init_token: args.init_token,
        node_expiry: Duration::try_from_secs_f64(args.node_expiry)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                crate::UserError::new(format!(
                    "--node-expiry must be a positive number of seconds, not {}",
                    args.node_expiry
                ))
            })?,
    };
    serve(home, &options, |started| {
        let storage = match home.shared_storage() {
            Some(shared) => format!("Storage {} as node {}", shared.pool.url(), shared.node),
            None => "embedded Storage".to_owned(),
        };
        println!(
            "berth serve: listening on {} (home {}, {storage}, {} workers)",
            started.url,
            home.root().display(),
            options.workers
        );
        for id in &started.recovered {
            println!("job {id} was processing when the server stopped; it is now an error");
        }
        if let Some(token) = &started.admin_token {
            println!("admin token (shown once): {token}");
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

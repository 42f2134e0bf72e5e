//! `berth serve [--listen ADDR] [--workers N] [--grace SECS] [--init-token]`: the runner as an
//! HTTP service on this home (see `berth-server`). Prints where it listens and, with
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
}

/// Runs `berth serve`.
pub fn run(home: &Home, args: ServeArgs) -> Result<ExitCode> {
    let defaults = ServeOptions::default();
    let options = ServeOptions {
        listen: args.listen,
        workers: args.workers.unwrap_or(defaults.workers),
        grace: Duration::from_secs(args.grace),
        init_token: args.init_token,
    };
    serve(home, &options, |started| {
        println!(
            "berth serve: listening on {} (home {}, {} workers)",
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

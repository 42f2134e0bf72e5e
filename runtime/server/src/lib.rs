//! `berth serve`: the runner as a service, in the shape of Keboola's Docker Runner and Queue v2.
//!
//! The seeds describe the runner as a service: a component's `/run` call takes a configuration
//! reference or a whole configuration and queues an asynchronous job, there are calls for
//! synchronous actions and for a run with another image tag, and nothing runs anonymously. This
//! crate is that service over a berth home:
//!
//! - jobs live in the home's Storage ([`berth_job::queue`]): a restarted server runs every job
//!   still `waiting`, and ends a job that was `processing` when the process died as an error
//!   (never silently run twice: components have side effects);
//! - on a home put on PostgreSQL ([`berth_job::home::Home::on_postgres`]) several servers share
//!   the queue as nodes: they wake on `NOTIFY`, stamp heartbeats on their running jobs, and sweep
//!   the jobs of nodes that stopped (module `node`);
//! - workers run up to `--workers` jobs at once, jobs of one configuration one at a time and in
//!   order; synchronous actions bypass the queue;
//! - every route but `/health` needs a token (`X-StorageApi-Token`); tokens are stored hashed,
//!   may be read-only, limited to components, expiring; the component never sees the caller's
//!   token (a component with `forward_token` gets `KBC_URL` and, as `KBC_TOKEN`, a token of its
//!   own job, limited to it, hidden in every log and revoked when the job ends);
//! - each job's log (the component's output line by line, stages, tables, the end) is stored
//!   with it as it happens (`GET /jobs/{id}/events?since=N`);
//! - SIGTERM/SIGINT: stop taking jobs, let running ones finish for a grace period, then stop
//!   them (containers stopped, WASI runs cancelled) and record them `terminated`.
//!
//! While a server runs, it holds the home ([`lock`]): the CLI on that home goes through the
//! server or fails at once saying so. The crate sits beside `berth-cli` on top of `berth-job`;
//! it must not depend on the CLI.

mod auth;
mod error;
mod events;
pub mod lock;
mod node;
mod openapi;
mod routes;
mod state;
mod wake;
mod workers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use berth_job::home::Home;
use berth_storage::NewToken;

pub use auth::TOKEN_HEADER;
pub use openapi::document as openapi_document;

/// The default [`ServeOptions::node_expiry`].
pub const DEFAULT_NODE_EXPIRY: Duration = berth_job::heartbeat::DEFAULT_NODE_EXPIRY;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen (`127.0.0.1:8080` by default; port 0 picks a free one).
    pub listen: SocketAddr,
    /// How many jobs run at once.
    pub workers: usize,
    /// How long running jobs may finish after SIGTERM/SIGINT before they are stopped.
    pub grace: Duration,
    /// Create an admin token at start and report it (the first token of a home).
    pub init_token: bool,
    /// On Storage several nodes share (PostgreSQL): how old a running job's last heartbeat may
    /// get before any node ends it as an error, its node presumed gone. Nodes stamp their jobs
    /// four times per expiry.
    pub node_expiry: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            grace: Duration::from_secs(30),
            init_token: false,
            node_expiry: DEFAULT_NODE_EXPIRY,
        }
    }
}

/// What a started server reports once it listens.
#[derive(Debug, Clone)]
pub struct Started {
    /// Its URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The admin token created by [`ServeOptions::init_token`].
    pub admin_token: Option<String>,
    /// Jobs found `processing` from an earlier run and ended as errors.
    pub recovered: Vec<String>,
}

/// Runs the server on `home` until SIGTERM or SIGINT; calls `ready` once it listens.
pub fn serve(home: &Home, options: &ServeOptions, ready: impl FnOnce(&Started)) -> Result<()> {
    serve_until(home, options, ready, shutdown_signal())
}

/// Like [`serve`], shutting down (gracefully, as on SIGTERM) when `shutdown` resolves instead.
pub fn serve_until(
    home: &Home,
    options: &ServeOptions,
    ready: impl FnOnce(&Started),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("berth-http")
        .build()
        .context("starting the server's runtime")?;
    runtime.block_on(run(home.clone(), options.clone(), ready, shutdown))
}

async fn run(
    home: Home,
    options: ServeOptions,
    ready: impl FnOnce(&Started),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("listening on {}", options.listen))?;
    let address = listener
        .local_addr()
        .context("reading the listening address")?;
    let url = format!("http://{address}");
    let _lock = lock::ServerLock::acquire(home.root(), &url)?;
    // Storage is synchronous (PostgreSQL's client runs its own runtime): it is opened on a
    // blocking thread, never on the server's async ones.
    let startup = home.clone();
    let init_token = options.init_token;
    let Opened {
        keep_open,
        recovered,
        admin_token,
    } = tokio::task::spawn_blocking(move || open_storage(&startup, init_token))
        .await
        .context("opening Storage")??;
    let metrics = state::Metrics::default();
    let events = events::EventWriter::start(&home);
    let workers = workers::Workers::start(&home, &url, options.workers, &events, &metrics);
    if let Some(shared) = home.shared_storage() {
        node::start(&workers, shared, options.node_expiry);
    }
    let state = Arc::new(state::AppState {
        home: home.clone(),
        url: url.clone(),
        workers: workers.clone(),
        metrics,
        started: Instant::now(),
    });
    ready(&Started {
        url,
        admin_token,
        recovered,
    });
    axum::serve(listener, routes::router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    tracing::info!(
        "shutting down: no new jobs; running jobs get {:?}",
        options.grace
    );
    let grace = options.grace;
    tokio::task::spawn_blocking(move || workers.shutdown(grace))
        .await
        .context("stopping the workers")?;
    tokio::task::spawn_blocking(move || drop(keep_open))
        .await
        .context("closing Storage")?;
    Ok(())
}

/// Opens Storage for the server's life (on the embedded backend, holding one connection keeps
/// the database open; every handler and worker gets its own connection to it), ends the jobs an
/// earlier run of this server left running, and creates the admin token when asked.
fn open_storage(home: &Home, init_token: bool) -> Result<Opened> {
    let keep_open = home.open_storage().context("opening Storage")?;
    let recovered = berth_job::queue::recover(home)?;
    let admin_token = if init_token {
        let mut storage = home.open_storage().context("opening Storage")?;
        let (_, secret) = storage
            .create_token(&NewToken {
                description: "admin token created by berth serve --init-token".into(),
                admin: true,
                ..NewToken::default()
            })
            .context("creating the admin token")?;
        Some(secret)
    } else {
        None
    };
    Ok(Opened {
        keep_open,
        recovered,
        admin_token,
    })
}

/// What [`open_storage`] opened and did.
struct Opened {
    /// A connection held for the server's life.
    keep_open: Box<dyn berth_storage::Backend + Send>,
    /// The jobs it ended as interrupted.
    recovered: Vec<String>,
    /// The admin token it created.
    admin_token: Option<String>,
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

//! What a server does when its Storage is a PostgreSQL database several nodes share
//! ([`berth_job::home::Home::on_postgres`]), beyond what it does on its own embedded Storage.
//!
//! - **Waking**: jobs queued through another node's API do not reach this node's dispatcher
//!   directly; a listener thread waits on the queue's `NOTIFY` channel
//!   ([`berth_postgres::WorkListener`]) and wakes the dispatcher.
//! - **Heartbeats**: every running job of this node is stamped every quarter of the expiry ([`berth_job::heartbeat::interval`]), and
//!   at once when the channel announces a change (a kill is announced, so a job killed through
//!   another node's API stops within milliseconds, not at the next beat). The answer carries
//!   kills (the job is `terminating`: its run is cancelled here) and tells the node when a job is
//!   no longer its own (the sweep ended it while this node was too slow): the run is cancelled,
//!   and its final record is refused by the database.
//! - **The sweep**: every heartbeat interval a node also ends every job, on any node, whose
//!   heartbeat is older than the expiry: `error` (or `terminated` if a kill asked it to stop) with a message
//!   naming the node, its forwarded tokens revoked. It is never run again: components have side
//!   effects. This replaces the embedded server's recovery at start, which would end other
//!   nodes' running jobs.

use std::time::{Duration, Instant};

use berth_job::home::SharedStorage;
use berth_postgres::PgStorage;

use crate::wake::Wake;
use crate::workers::Workers;

/// Starts the listener and the heartbeat threads of a node; both stop once `workers` stop
/// accepting jobs.
pub(crate) fn start(workers: &Workers, shared: &SharedStorage, expiry: Duration) {
    let changed = Wake::default();
    let (listener_workers, listener_shared, listener_changed) =
        (workers.clone(), shared.clone(), changed.clone());
    spawn("berth-listener", move || {
        listen(&listener_workers, &listener_shared, &listener_changed);
    });
    let (beat_workers, beat_shared) = (workers.clone(), shared.clone());
    spawn("berth-heartbeat", move || {
        beat(&beat_workers, &beat_shared, expiry, &changed);
    });
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
}

/// How long the listener waits before it looks at whether the server still runs.
const LISTEN_ROUND: Duration = Duration::from_millis(500);

fn listen(workers: &Workers, shared: &SharedStorage, changed: &Wake) {
    let mut listener = None;
    while workers.accepting() {
        if listener.is_none() {
            match shared.pool.get().and_then(|c| c.listener()) {
                Ok(l) => listener = Some(l),
                Err(e) => {
                    tracing::error!("listening for queued jobs: {e}");
                    std::thread::sleep(LISTEN_ROUND);
                    continue;
                }
            }
        }
        let Some(l) = listener.as_mut() else { continue };
        match l.wait_for_work(LISTEN_ROUND) {
            Ok(true) => {
                workers.notify();
                changed.set();
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!("waiting for queued jobs: {e}");
                listener = None;
                // Whatever was announced while the connection was down is found by the
                // dispatcher's own polling; waking it once more costs one look.
                workers.notify();
            }
        }
    }
}

fn beat(workers: &Workers, shared: &SharedStorage, expiry: Duration, changed: &Wake) {
    let interval = berth_job::heartbeat::interval(expiry);
    let mut next_sweep = Instant::now();
    while workers.accepting() || !workers.running_jobs().is_empty() {
        match shared.pool.get() {
            Ok(mut connection) => {
                stamp(workers, &mut connection, &shared.node);
                if workers.accepting() && Instant::now() >= next_sweep {
                    sweep(&mut connection, expiry);
                    next_sweep = Instant::now() + interval;
                }
            }
            Err(e) => tracing::error!("connecting for heartbeats: {e}"),
        }
        changed.wait(interval);
    }
}

/// Stamps every running job of this node and acts on the answers.
fn stamp(workers: &Workers, connection: &mut PgStorage, node: &str) {
    for (id, cancel) in workers.running_jobs() {
        berth_job::heartbeat::act_on(connection.heartbeat(node, &id), node, &id, &cancel);
    }
}

/// Ends the jobs whose node stopped sending heartbeats, and revokes their forwarded tokens.
fn sweep(connection: &mut PgStorage, expiry: Duration) {
    let swept = match connection.sweep_expired(expiry, berth_job::queue::swept_record) {
        Ok(swept) => swept,
        Err(e) => {
            tracing::error!("sweeping jobs whose node stopped: {e}");
            return;
        }
    };
    for job in swept {
        tracing::warn!(
            "job {} ended as {}: node {} stopped sending heartbeats",
            job.job.id,
            job.job.status,
            job.node.as_deref().unwrap_or("(unknown)")
        );
        if let Err(e) = connection.revoke_job_tokens(&job.job.id) {
            tracing::error!("revoking the tokens of job {}: {e}", job.job.id);
        }
    }
}

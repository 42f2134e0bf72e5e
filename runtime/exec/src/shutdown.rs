//! A process-wide request to stop: set once (by the CLI's SIGTERM/SIGINT handler, or a server
//! shutting down), seen by every executor.
//!
//! A running WASI guest ends as cancelled at once; a running container is stopped (SIGTERM, a
//! short grace, SIGKILL) and removed as after a timeout. Both report
//! [`crate::Termination::Crashed`] starting with [`CANCELLED`], so the job fails without loading
//! output, and its temporary folders are removed on the way out as after any other failure.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// The start of the [`crate::Termination::Crashed`] text of a run stopped by a cancellation or a
/// shutdown.
pub const CANCELLED: &str = "cancelled";

/// Set with the first [`request`]: read by the epoch callback of every running WASI guest, which
/// cannot afford a lock every tick.
static REQUESTED: AtomicBool = AtomicBool::new(false);

fn channel() -> &'static watch::Sender<Option<String>> {
    static SHUTDOWN: OnceLock<watch::Sender<Option<String>>> = OnceLock::new();
    SHUTDOWN.get_or_init(|| watch::channel(None).0)
}

/// Asks every executor of this process to stop what it runs; `why` (e.g. `SIGTERM`) ends up in
/// the job's message. Later calls keep the first reason.
pub fn request(why: &str) {
    channel().send_if_modified(|reason| {
        if reason.is_none() {
            *reason = Some(why.to_owned());
            true
        } else {
            false
        }
    });
    // After the reason, so whoever sees the flag finds the reason.
    REQUESTED.store(true, Ordering::Release);
}

/// Whether a shutdown was requested (a lock-free read; [`requested`] gives the reason).
pub fn is_requested() -> bool {
    REQUESTED.load(Ordering::Acquire)
}

/// Why a shutdown was requested, if it was.
pub fn requested() -> Option<String> {
    channel().borrow().clone()
}

/// Resolves once a shutdown is requested; returns the reason.
pub async fn wait() -> String {
    let mut receiver = channel().subscribe();
    loop {
        if let Some(why) = receiver.borrow_and_update().clone() {
            return why;
        }
        if receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

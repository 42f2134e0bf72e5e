//! SIGTERM and SIGINT: stop cleanly, then exit.
//!
//! A watcher thread waits for either signal and asks every executor to stop
//! ([`berth_exec::shutdown::request`]): a running container is stopped and removed, a WASI guest
//! ends, and the job fails without loading anything, its temporary folders removed as after any
//! failure, before `berth` exits (2, an application error). A second signal, or a cleanup that
//! takes longer than [`CLEANUP_GRACE`], exits at once.

use std::time::Duration;

/// How long the cleanup after a signal may take before berth exits anyway.
pub const CLEANUP_GRACE: Duration = Duration::from_secs(60);

/// Starts the watcher thread (once, at the start of `main`).
pub fn install() {
    let started = std::thread::Builder::new()
        .name("berth-signals".into())
        .spawn(|| {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    tracing::warn!("signals are not handled: {err}");
                    return;
                }
            };
            runtime.block_on(watch());
        });
    if let Err(err) = started {
        tracing::warn!("signals are not handled: {err}");
    }
}

async fn watch() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("signals are not handled: cannot register SIGTERM/SIGINT");
        return;
    };
    let first = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    eprintln!("berth: {first} received; stopping the component and cleaning up");
    berth_exec::shutdown::request(first);
    let code = tokio::select! {
        _ = term.recv() => 143,
        _ = int.recv() => 130,
        () = tokio::time::sleep(CLEANUP_GRACE) => 2,
    };
    eprintln!("berth: exiting without finishing the cleanup");
    std::process::exit(code);
}

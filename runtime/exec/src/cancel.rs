//! Stopping an execution from outside: a job killed over the API, berth shutting down.
//!
//! A [`Cancel`] is a cheap, cloneable flag shared between whoever may stop a run and the executor
//! running it. Cancelling is sticky and idempotent. Executors watch it while the component runs:
//! the WASI executor drops the guest's future (the instance is torn down with its store), the
//! Docker executor stops the container (SIGTERM, a short grace, SIGKILL) and removes it. Either
//! way the run ends as [`crate::Termination::Cancelled`].

use std::sync::Arc;

use tokio::sync::watch;

/// A shared "stop now" flag for one or more executions.
#[derive(Debug, Clone)]
pub struct Cancel {
    flag: Arc<watch::Sender<bool>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        let (flag, _) = watch::channel(false);
        Self {
            flag: Arc::new(flag),
        }
    }

    /// Sets the flag: every execution watching it stops.
    pub fn cancel(&self) {
        self.flag.send_replace(true);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        *self.flag.borrow()
    }

    /// Resolves once the flag is set.
    pub async fn cancelled(&self) {
        let mut receiver = self.flag.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = receiver.wait_for(|set| *set).await;
    }
}

/// Resolves once `cancel` (when there is one) is set; never otherwise.
pub(crate) async fn until_cancelled(cancel: Option<&Cancel>) {
    match cancel {
        Some(cancel) => cancel.cancelled().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelling_is_sticky_and_shared_by_clones() {
        let cancel = Cancel::new();
        let other = cancel.clone();
        assert!(!other.is_cancelled());
        cancel.cancel();
        cancel.cancel();
        assert!(other.is_cancelled());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        // Already set: resolves at once.
        runtime.block_on(other.cancelled());
    }

    #[test]
    fn a_waiter_wakes_when_another_thread_cancels() {
        let cancel = Cancel::new();
        let remote = cancel.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            remote.cancel();
        });
        runtime.block_on(until_cancelled(Some(&cancel)));
        setter.join().unwrap();
        assert!(cancel.is_cancelled());
    }
}

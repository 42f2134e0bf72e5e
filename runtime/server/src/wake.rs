//! A wake-up flag one thread sets and another waits on, with a timeout: the dispatcher waits for
//! "a job was queued, a worker finished, shutdown"; a node's heartbeat thread for "the queue
//! changed". A wake that comes while nobody waits is kept until the next wait.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The flag (cheap to clone: clones share it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Wake(Arc<(Mutex<bool>, Condvar)>);

impl Wake {
    /// Sets the flag and wakes the waiter.
    pub(crate) fn set(&self) {
        let (flag, condvar) = &*self.0;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        condvar.notify_all();
    }

    /// Waits until the flag is set or `timeout` passes, and clears it.
    pub(crate) fn wait(&self, timeout: Duration) {
        let (flag, condvar) = &*self.0;
        let mut set = flag.lock().unwrap_or_else(|p| p.into_inner());
        if !*set {
            set = condvar
                .wait_timeout(set, timeout)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *set = false;
    }
}

//! Waking idle nodes: a connection that `LISTEN`s on the queue's channel. Queueing a job and
//! ending one (which may free a configuration) `NOTIFY` it when their transaction commits.
//!
//! A node makes its listener before it first looks at the queue, then loops: claim while there is
//! work, [`WorkListener::wait_for_work`] when there is none. A job queued between the look and the
//! wait is not missed: its notification waits in the listener's connection.

use std::time::Duration;

use postgres::Client;
use postgres::fallible_iterator::FallibleIterator;

use crate::{CHANNEL, PgError};

/// A connection listening for queue changes.
pub struct WorkListener {
    client: Client,
    url: String,
}

impl std::fmt::Debug for WorkListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkListener")
            .field("url", &self.url)
            .finish()
    }
}

impl WorkListener {
    pub(crate) fn new(mut client: Client, url: &str) -> Result<Self, PgError> {
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .map_err(PgError::db("listening for queued jobs", url))?;
        Ok(Self {
            client,
            url: url.to_owned(),
        })
    }

    /// Blocks until a job is queued, killed or ends (on any node) or `timeout` passes; true when woken
    /// by a change. Changes whose notifications have arrived by then wake it once.
    pub fn wait_for_work(&mut self, timeout: Duration) -> Result<bool, PgError> {
        let mut notifications = self.client.notifications();
        let first = notifications
            .timeout_iter(timeout)
            .next()
            .map_err(PgError::db("waiting for queued jobs", &self.url))?;
        if first.is_none() {
            return Ok(false);
        }
        // Drain what else arrived: one wake-up covers them.
        while notifications
            .iter()
            .next()
            .map_err(PgError::db("waiting for queued jobs", &self.url))?
            .is_some()
        {}
        Ok(true)
    }
}

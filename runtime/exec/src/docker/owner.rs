//! Which berth process owns a container, and removing the containers of berth processes that
//! died without cleaning up (killed with SIGKILL, a crash, a power cut).
//!
//! Every container carries the owner's pid, its start time (clock ticks since boot, from
//! `/proc/<pid>/stat`, so a reused pid is not mistaken for the owner), the boot id and the host
//! name. [`reap_orphans`] runs whenever a Docker executor connects: a container labelled by this
//! host whose owner is gone — another boot, or no process with that pid and start time — is
//! removed (force, with its volumes). Containers of other hosts sharing the daemon are left
//! alone: their owners cannot be checked from here.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};

use super::LABEL_MANAGED;

/// Label: the owning berth process's pid.
pub const LABEL_OWNER_PID: &str = "com.berth.owner-pid";
/// Label: the owning process's start time (ticks since boot).
pub const LABEL_OWNER_START: &str = "com.berth.owner-start";
/// Label: the boot id of the owner's machine.
pub const LABEL_BOOT_ID: &str = "com.berth.boot-id";
/// Label: the host name of the owner's machine.
pub const LABEL_HOST: &str = "com.berth.host";

/// Who owns a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The process id.
    pub pid: u32,
    /// Its start time in clock ticks since boot.
    pub start: u64,
    /// The machine's boot id.
    pub boot_id: String,
    /// The machine's host name.
    pub host: String,
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The start time of process `pid`, `None` when there is no such process.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3 (state); the start time is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl Owner {
    /// This process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            start: process_start(pid).unwrap_or(0),
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
            host: read_trimmed("/proc/sys/kernel/hostname"),
        }
    }

    /// The labels that name this owner.
    pub fn labels(&self) -> [(String, String); 4] {
        [
            (LABEL_OWNER_PID.to_owned(), self.pid.to_string()),
            (LABEL_OWNER_START.to_owned(), self.start.to_string()),
            (LABEL_BOOT_ID.to_owned(), self.boot_id.clone()),
            (LABEL_HOST.to_owned(), self.host.clone()),
        ]
    }

    /// The owner a container's labels name, when they name one.
    pub fn from_labels(labels: &HashMap<String, String>) -> Option<Self> {
        Some(Self {
            pid: labels.get(LABEL_OWNER_PID)?.parse().ok()?,
            start: labels.get(LABEL_OWNER_START)?.parse().ok()?,
            boot_id: labels.get(LABEL_BOOT_ID)?.clone(),
            host: labels.get(LABEL_HOST)?.clone(),
        })
    }

    /// Whether this owner is known to be gone, as seen from `me`: same host, and another boot or
    /// no live process with its pid and start time.
    pub fn is_gone(&self, me: &Owner) -> bool {
        if self.host != me.host || self.host.is_empty() {
            return false;
        }
        if self.boot_id != me.boot_id {
            return true;
        }
        process_start(self.pid) != Some(self.start)
    }
}

/// Removes every berth container whose owner is gone; returns the ids removed. Failures are
/// logged, never fatal: reaping is housekeeping.
pub(super) async fn reap_orphans(docker: &Docker) -> Vec<String> {
    let me = Owner::current();
    let filters = HashMap::from([("label", vec![LABEL_MANAGED.to_owned()])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let containers = match docker.list_containers(Some(options)).await {
        Ok(list) => list,
        Err(err) => {
            tracing::debug!("listing berth containers to reap: {err}");
            return Vec::new();
        }
    };
    let mut removed = Vec::new();
    for container in containers {
        let (Some(id), Some(labels)) = (container.id, container.labels) else {
            continue;
        };
        let Some(owner) = Owner::from_labels(&labels) else {
            continue;
        };
        if !owner.is_gone(&me) {
            continue;
        }
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match docker.remove_container(&id, Some(options)).await {
            Ok(()) => {
                tracing::warn!(
                    container = %id,
                    "removed a container left by berth process {} that is gone",
                    owner.pid
                );
                removed.push(id);
            }
            Err(err) => tracing::debug!(container = %id, "not reaped: {err}"),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_or_reused_pid_is_gone() {
        let me = Owner::current();
        assert!(me.start > 0);
        assert!(!me.is_gone(&me));
        let labels: HashMap<String, String> = me.labels().into_iter().collect();
        assert_eq!(Owner::from_labels(&labels), Some(me.clone()));
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert!(reused.is_gone(&me));
        let other_boot = Owner {
            boot_id: "another-boot".into(),
            ..me.clone()
        };
        assert!(other_boot.is_gone(&me));
        let other_host = Owner {
            host: "elsewhere".into(),
            start: 1,
            ..me.clone()
        };
        assert!(!other_host.is_gone(&me));
    }
}

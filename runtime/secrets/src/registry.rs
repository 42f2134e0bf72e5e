//! The secrets of running jobs, for sinks that belong to the whole process: tracing logs.
//!
//! A job registers its [`Redactor`] while it runs ([`register`]); the registration ends when
//! the returned guard is dropped. [`RedactingWriter`] hides whatever any registered job hides, so
//! a log line quoting a component's error or a configuration cannot show a decrypted value.

use std::io::Write;
use std::sync::{Mutex, RwLock};

use super::redact::Redactor;

struct Registry {
    next: u64,
    active: Vec<(u64, Redactor)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    active: Vec::new(),
});

static COMBINED: RwLock<Option<Redactor>> = RwLock::new(None);

fn rebuild(registry: &Registry) {
    let combined = registry
        .active
        .iter()
        .fold(Redactor::default(), |all, (_, r)| all.union(r));
    *COMBINED.write().unwrap_or_else(|p| p.into_inner()) = Some(combined);
}

/// Keeps a redactor registered; dropping it unregisters.
#[derive(Debug)]
pub struct Registration {
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
        registry.active.retain(|(id, _)| *id != self.id);
        rebuild(&registry);
    }
}

/// Registers `redactor` with the process's sinks until the returned guard is dropped.
pub fn register(redactor: &Redactor) -> Registration {
    let mut registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    registry.next += 1;
    let id = registry.next;
    registry.active.push((id, redactor.clone()));
    rebuild(&registry);
    Registration { id }
}

/// Everything registered now, as one redactor.
pub fn active() -> Redactor {
    COMBINED
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
}

/// A writer that hides every registered secret in each write (a tracing subscriber writes one
/// whole event per write).
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
}

impl<W: Write> RedactingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let redactor = active();
        if redactor.is_empty() {
            self.inner.write_all(buf)?;
        } else {
            self.inner.write_all(&redactor.redact_bytes(buf))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_hidden_until_dropped() {
        let mut out = Vec::new();
        let guard = register(&Redactor::new(["registry-secret"]));
        RedactingWriter::new(&mut out)
            .write_all(b"log: registry-secret\n")
            .unwrap();
        drop(guard);
        RedactingWriter::new(&mut out)
            .write_all(b"log: registry-secret\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "log: [hidden]\nlog: registry-secret\n"
        );
    }
}

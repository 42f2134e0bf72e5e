//! Each job's log, stored with the job as it happens: the component's stdout and stderr line by
//! line (info and error events), the stages, the tables moved, and how the job ended.
//!
//! A [`JobLog`] is both the job's [`LiveOutput`] and its [`Progress`]; it hands events to the one
//! [`EventWriter`] of the server, a thread that stores them in batches, so a component writing
//! thousands of lines costs a few transactions, not thousands.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_exec::{LiveOutput, OutputStream};
use berth_job::Progress;
use berth_job::home::Home;
use berth_job::record::{JobRecord, JobStatus};
use berth_staging::Stage;
use berth_staging::input_tables::StagedTable;
use berth_staging::output_tables::LoadedTable;

/// How long events wait to be stored with others.
const BATCH_WINDOW: Duration = Duration::from_millis(50);
/// The most events stored in one transaction.
const BATCH_SIZE: usize = 1000;
/// The longest event; longer lines are cut (reference §7.4: 60,000 characters, ` [trimmed]`).
const MAX_EVENT_CHARS: usize = 60_000;

enum Message {
    Event {
        job_id: String,
        level: &'static str,
        message: String,
    },
    /// Store everything sent before, then answer.
    Sync(Sender<()>),
}

struct Event {
    job_id: String,
    level: &'static str,
    message: String,
}

/// Stores events in batches on a thread of its own.
#[derive(Debug, Clone)]
pub(crate) struct EventWriter {
    sender: Sender<Message>,
}

impl EventWriter {
    /// Starts the writer thread for `home`'s Storage.
    pub(crate) fn start(home: &Home) -> Self {
        let (sender, receiver) = mpsc::channel();
        let home = home.clone();
        std::thread::Builder::new()
            .name("berth-events".into())
            .spawn(move || write_events(&home, &receiver))
            .expect("starting the event writer");
        Self { sender }
    }

    fn send(&self, job_id: &str, level: &'static str, message: String) {
        let message = trim(message);
        if message.trim().is_empty() {
            return;
        }
        let _ = self.sender.send(Message::Event {
            job_id: job_id.to_owned(),
            level,
            message,
        });
    }

    /// Waits until every event sent so far is stored.
    pub(crate) fn sync(&self) {
        let (done, stored) = mpsc::channel();
        if self.sender.send(Message::Sync(done)).is_ok() {
            let _ = stored.recv_timeout(Duration::from_secs(30));
        }
    }
}

fn trim(message: String) -> String {
    if message.chars().count() <= MAX_EVENT_CHARS {
        return message;
    }
    let mut cut: String = message.chars().take(MAX_EVENT_CHARS).collect();
    cut.push_str(" [trimmed]");
    cut
}

fn write_events(home: &Home, receiver: &Receiver<Message>) {
    let mut batch: Vec<Event> = Vec::new();
    loop {
        let timeout = if batch.is_empty() {
            Duration::from_secs(3600)
        } else {
            BATCH_WINDOW
        };
        let (closed, waiting) = match receiver.recv_timeout(timeout) {
            Ok(Message::Event {
                job_id,
                level,
                message,
            }) => {
                batch.push(Event {
                    job_id,
                    level,
                    message,
                });
                if batch.len() < BATCH_SIZE {
                    continue;
                }
                (false, None)
            }
            Ok(Message::Sync(done)) => (false, Some(done)),
            Err(RecvTimeoutError::Timeout) => (false, None),
            Err(RecvTimeoutError::Disconnected) => (true, None),
        };
        if !batch.is_empty() {
            flush(home, &mut batch);
        }
        if let Some(done) = waiting {
            let _ = done.send(());
        }
        if closed {
            return;
        }
    }
}

fn flush(home: &Home, batch: &mut Vec<Event>) {
    let mut storage = match home.open_queue() {
        Ok(storage) => storage,
        Err(e) => {
            tracing::error!("storing {} job events: {e}", batch.len());
            batch.clear();
            return;
        }
    };
    let mut start = 0;
    while start < batch.len() {
        let job = batch[start].job_id.clone();
        let end = batch[start..]
            .iter()
            .position(|e| e.job_id != job)
            .map_or(batch.len(), |n| start + n);
        let events: Vec<(&str, &str)> = batch[start..end]
            .iter()
            .map(|e| (e.level, e.message.as_str()))
            .collect();
        if let Err(e) = storage.add_job_events(&job, &events) {
            tracing::error!("storing events of job {job}: {e}");
        }
        start = end;
    }
    batch.clear();
}

/// One job's log: its live output and its progress.
#[derive(Debug)]
pub(crate) struct JobLog {
    job_id: String,
    writer: EventWriter,
    /// Bytes of a line not yet ended, per stream (stdout, stderr).
    partial: Mutex<[Vec<u8>; 2]>,
}

impl JobLog {
    pub(crate) fn new(job_id: &str, writer: &EventWriter) -> Arc<Self> {
        Arc::new(Self {
            job_id: job_id.to_owned(),
            writer: writer.clone(),
            partial: Mutex::new([Vec::new(), Vec::new()]),
        })
    }

    /// Logs one event.
    pub(crate) fn log(&self, level: &'static str, message: impl Into<String>) {
        self.writer.send(&self.job_id, level, message.into());
    }

    fn level(stream: usize) -> &'static str {
        if stream == 0 { "info" } else { "error" }
    }

    /// Logs what is left of unfinished lines.
    pub(crate) fn flush(&self) {
        let mut partial = self.partial.lock().unwrap_or_else(|p| p.into_inner());
        for (stream, rest) in partial.iter_mut().enumerate() {
            if !rest.is_empty() {
                let line = String::from_utf8_lossy(rest).into_owned();
                rest.clear();
                self.log(Self::level(stream), line);
            }
        }
    }
}

impl LiveOutput for JobLog {
    fn write(&self, stream: OutputStream, bytes: &[u8]) {
        let index = match stream {
            OutputStream::Stdout => 0,
            OutputStream::Stderr => 1,
        };
        let mut partial = self.partial.lock().unwrap_or_else(|p| p.into_inner());
        let buffer = &mut partial[index];
        buffer.extend_from_slice(bytes);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line);
            self.log(
                Self::level(index),
                text.trim_end_matches(['\n', '\r']).to_owned(),
            );
        }
        // A line that never ends is logged in pieces rather than held without bound.
        if buffer.len() > MAX_EVENT_CHARS {
            let text = String::from_utf8_lossy(buffer).into_owned();
            buffer.clear();
            self.log(Self::level(index), text);
        }
    }
}

impl Progress for JobLog {
    fn log_line(&self, line: &str) {
        self.log("info", line.to_owned());
    }

    fn stage(&self, stage: Stage) {
        self.log("info", format!("Stage: {stage}"));
    }

    fn table_in(&self, table: &StagedTable) {
        self.log(
            "info",
            format!(
                "Exported table {} to in/tables/{} ({} rows)",
                table.source, table.destination, table.rows
            ),
        );
    }

    fn table_out(&self, table: &LoadedTable) {
        self.log(
            "info",
            format!(
                "Loaded out/tables/{} into {} ({} rows)",
                table.source, table.destination, table.rows_imported
            ),
        );
    }

    fn finished(&self, record: &JobRecord) {
        self.flush();
        for warning in &record.warnings {
            self.log("warn", warning.clone());
        }
        let level = if record.status == JobStatus::Success {
            "info"
        } else {
            "error"
        };
        self.log(
            level,
            format!("Job {}: {}", record.status, record.result.message),
        );
        // The log is complete before the record says the job is over.
        self.writer.sync();
    }
}

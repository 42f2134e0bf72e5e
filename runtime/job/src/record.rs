//! Job records, kept in the home's Storage (the `berth_jobs` table, next to the queue that
//! `berth serve` runs from), rewritten at every status change in one statement.
//!
//! Each save is mirrored to `<home>/jobs/<id>.json` (written atomically: a temporary file, then a
//! rename). DuckDB lets one process open Storage at a time, so while another berth process holds
//! it — a `berth run` loading its output tables, say — [`JobStore::load`] and [`JobStore::list`]
//! read the mirror instead of waiting: `berth job ls` and `berth job show` (and a test watching a
//! running job) always read a whole record.
//!
//! A record holds what reference §9.2 calls the job and its result: id, component,
//! configuration, row, status (`created`/`waiting` → `processing` → `success` | `error`, or
//! `terminating` → `terminated`, `cancelled`), timings, the result message, the error class and
//! stage, the exit code, usage, the tables and files moved in and out with row counts, and what
//! happened to the state.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use berth_host_api::usage::UsageRecord;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use berth_staging::Stage;
use berth_staging::input_tables::format_time;
use berth_staging::state::StateChange;
use berth_storage::{JobFilter, JobQueue, NewJob, Storage, StorageError, StoredJob};

use crate::home::Home;

pub use berth_storage::JobStatus;

/// A table moved in or out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMove {
    /// The Storage table id.
    pub table: String,
    /// The name under `in/tables` or `out/tables`.
    pub file: String,
    /// Rows moved (exported, or read from the file).
    pub rows: u64,
    /// Rows in the table afterwards (output only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_rows: Option<u64>,
}

/// A file moved in or out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMove {
    /// The Storage file id.
    pub id: u64,
    /// The file name.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Tags (output files: as uploaded, system tags included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// Tables and files on one side of the job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moves {
    /// Tables.
    pub tables: Vec<TableMove>,
    /// Files.
    pub files: Vec<FileMove>,
}

/// How a job ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    /// `Component processing finished.` or the error message.
    pub message: String,
    /// `user` or `application` when the job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The stage that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_stage: Option<Stage>,
    /// berth's exit code for the job: 0, 1 or 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The component's own exit code, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_exit_code: Option<i32>,
}

/// One job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job id (also the run id's last part).
    pub id: String,
    /// The run id passed as `KBC_RUNID` (`<parent>.<id>` for a child job).
    pub run_id: String,
    /// The component.
    pub component_id: String,
    /// The stored configuration, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    /// The configuration row, for row jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_id: Option<String>,
    /// The image that ran, as resolved: a pinned `REGISTRY/REPO@sha256:…`, a module path or
    /// `docker://IMAGE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The digest of the manifest or module that ran, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// Which executor ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<crate::launch::ExecutorKind>,
    /// Where the job is.
    pub status: JobStatus,
    /// The stage a processing job is in (the failed stage afterwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// When the job was created (RFC 3339).
    pub created: String,
    /// When it started processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Wall-clock milliseconds from start to finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// How it ended.
    #[serde(default)]
    pub result: JobResult,
    /// What the component reported in `out/usage.json`.
    #[serde(default)]
    pub usage: Vec<UsageRecord>,
    /// Tables and files staged in.
    #[serde(default)]
    pub input: Moves,
    /// Tables and files loaded out.
    #[serde(default)]
    pub output: Moves,
    /// What happened to the stored state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateChange>,
    /// Warnings met on the way (webalized columns, ignored usage errors, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `run` or `debug`.
    #[serde(default, skip_serializing_if = "crate::RunMode::is_run")]
    pub mode: crate::RunMode,
    /// Debug mode's archives of the data folder (`stage_0.zip`, `stage_output.zip`), stored as
    /// Storage files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub debug_archives: Vec<FileMove>,
    /// The processors that ran around the component, in order (reference §10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processors: Vec<ProcessorRun>,
    /// The variable values the configuration was rendered with (reference §9.2 `variables`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<crate::variables::VariableValue>,
}

/// Where a processor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessorPosition {
    /// `processors.before`.
    Before,
    /// `processors.after`.
    After,
}

/// One processor that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessorRun {
    /// The processor's component id.
    pub component_id: String,
    /// Before or after the main component.
    pub position: ProcessorPosition,
    /// The image as resolved (as [`JobRecord::image`]).
    pub image: String,
    /// The digest, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// Which executor ran it.
    pub executor: crate::launch::ExecutorKind,
}

impl JobRecord {
    /// A `created` record.
    pub fn new(id: &str, run_id: &str, component_id: &str) -> Self {
        Self {
            id: id.to_owned(),
            run_id: run_id.to_owned(),
            component_id: component_id.to_owned(),
            config_id: None,
            row_id: None,
            image: None,
            image_digest: None,
            executor: None,
            status: JobStatus::Created,
            stage: None,
            created: now_text(),
            started: None,
            finished: None,
            duration_ms: None,
            result: JobResult::default(),
            usage: Vec::new(),
            input: Moves::default(),
            output: Moves::default(),
            state: None,
            warnings: Vec::new(),
            mode: crate::RunMode::Run,
            debug_archives: Vec::new(),
            processors: Vec::new(),
            variables: Vec::new(),
        }
    }

    /// This record with every secret `redactor` knows hidden in what a component or a
    /// configuration can put into it (messages and warnings are also filtered as §7.4 says:
    /// invalid UTF-8 dropped, cut to 60,000 characters).
    pub fn redacted(&self, redactor: &berth_secrets::Redactor) -> JobRecord {
        let mut r = self.clone();
        r.result.message = redactor.message(&r.result.message);
        for warning in &mut r.warnings {
            *warning = redactor.message(warning);
        }
        if redactor.is_empty() {
            return r;
        }
        for t in r.input.tables.iter_mut().chain(r.output.tables.iter_mut()) {
            t.table = redactor.redact(&t.table);
            t.file = redactor.redact(&t.file);
        }
        for f in r
            .input
            .files
            .iter_mut()
            .chain(r.output.files.iter_mut())
            .chain(r.debug_archives.iter_mut())
        {
            f.name = redactor.redact(&f.name);
            for tag in &mut f.tags {
                *tag = redactor.redact(tag);
            }
        }
        for usage in &mut r.usage {
            usage.metric = redactor.redact(&usage.metric);
            redactor.redact_json(&mut usage.value);
        }
        r
    }
}

/// The current time as RFC 3339.
pub fn now_text() -> String {
    format_time(OffsetDateTime::now_utc())
}

/// The job records of one home, in its Storage (mirrored to files).
#[derive(Debug, Clone)]
pub struct JobStore {
    home: Home,
    mirror: PathBuf,
}

impl JobStore {
    /// The records of `home`.
    pub fn new(home: &Home) -> Self {
        Self {
            home: home.clone(),
            mirror: home.root().join("jobs"),
        }
    }

    /// Writes `record` (a new job, or the next version of one), replacing the previous version
    /// in one statement, and its mirror file.
    pub fn save(&self, record: &JobRecord) -> Result<()> {
        self.save_mirror(record)?;
        let mut storage = self
            .home
            .open_queue()
            .context("opening Storage for the job records")?;
        let json = serde_json::to_value(record).context("serialising the job record")?;
        match storage.update_job(&record.id, record.status, &json) {
            Ok(()) => Ok(()),
            Err(StorageError::JobNotFound { .. }) => storage
                .insert_job(&NewJob {
                    id: record.id.clone(),
                    component_id: record.component_id.clone(),
                    config_id: record.config_id.clone(),
                    status: record.status,
                    token_id: None,
                    request: serde_json::Value::Object(Default::default()),
                    record: json,
                })
                .map(drop)
                .with_context(|| format!("recording job {}", record.id)),
            Err(e) => Err(e).with_context(|| format!("storing job record {}", record.id)),
        }
    }

    /// Writes only the mirror file of `record` (for code that changed the stored record itself).
    pub fn save_mirror(&self, record: &JobRecord) -> Result<()> {
        fs::create_dir_all(&self.mirror)
            .with_context(|| format!("creating the job directory {}", self.mirror.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.mirror)
            .with_context(|| format!("creating a job record in {}", self.mirror.display()))?;
        // One write: the file is not buffered, and serde writes a record in hundreds of pieces.
        let mut text = serde_json::to_vec_pretty(record).context("serialising the job record")?;
        text.push(b'\n');
        tmp.write_all(&text).context("writing the job record")?;
        tmp.persist(self.mirror.join(format!("{}.json", record.id)))
            .map_err(|e| e.error)
            .with_context(|| format!("storing job record {}", record.id))?;
        Ok(())
    }

    /// The job queue, unless another process holds the embedded Storage right now.
    fn open_now(&self) -> Result<Option<Box<dyn JobQueue + Send>>> {
        if self.home.shared_storage().is_some() {
            return self
                .home
                .open_queue()
                .map(Some)
                .context("opening Storage for the job records");
        }
        match Storage::open_waiting(self.home.storage(), Duration::ZERO) {
            Ok(storage) => Ok(Some(Box::new(storage))),
            Err(StorageError::Locked { .. }) => Ok(None),
            Err(e) => Err(e).context("opening Storage for the job records"),
        }
    }

    /// Reads one record; `Ok(None)` when there is no such job.
    pub fn load(&self, id: &str) -> Result<Option<JobRecord>> {
        let Some(storage) = self.open_now()? else {
            return self.load_mirror(id);
        };
        match storage.job(id) {
            Ok(job) => parse(&job).map(Some),
            Err(StorageError::JobNotFound { .. }) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading job {id}")),
        }
    }

    /// Every record, oldest first.
    pub fn list(&self) -> Result<Vec<JobRecord>> {
        let Some(storage) = self.open_now()? else {
            return self.list_mirror();
        };
        let filter = JobFilter {
            limit: Some(usize::MAX >> 1),
            ..JobFilter::default()
        };
        let mut jobs = storage.jobs(&filter).context("listing job records")?;
        jobs.reverse();
        jobs.iter().map(parse).collect()
    }

    fn load_mirror(&self, id: &str) -> Result<Option<JobRecord>> {
        if !is_job_id(id) {
            return Ok(None);
        }
        read_mirror(&self.mirror.join(format!("{id}.json")))
    }

    fn list_mirror(&self) -> Result<Vec<JobRecord>> {
        let entries = match fs::read_dir(&self.mirror) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).context("listing job records"),
        };
        let mut records = Vec::new();
        for entry in entries {
            let path = entry.context("listing job records")?.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Some(record) = read_mirror(&path)?
            {
                records.push(record);
            }
        }
        // Ids start with the creation time in milliseconds, so they sort by age.
        records.sort_by(|a, b| a.id.len().cmp(&b.id.len()).then(a.id.cmp(&b.id)));
        Ok(records)
    }
}

fn is_job_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn read_mirror(path: &Path) -> Result<Option<JobRecord>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("parsing job record {}", path.display()))
}

/// The record of a stored job.
pub fn parse(job: &StoredJob) -> Result<JobRecord> {
    serde_json::from_value(job.record.clone())
        .with_context(|| format!("parsing the record of job {}", job.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_list() {
        let dir = tempfile::tempdir().unwrap();
        let store = JobStore::new(&Home::new(dir.path()));
        let mut record = JobRecord::new("1", "1", "acme.demo");
        store.save(&record).unwrap();
        record.status = JobStatus::Success;
        store.save(&record).unwrap();
        assert_eq!(store.load("1").unwrap().unwrap().status, JobStatus::Success);
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(store.load("../x").unwrap().is_none());
    }
}

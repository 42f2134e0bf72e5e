//! Jobs: one component run from Storage to Storage (`berth run`), synchronous actions
//! (`berth action`), and the records of past jobs (`berth job`).
//!
//! A job resolves the component and its configuration, stages the input mapping into a fresh
//! data folder (a temporary directory under the home, removed afterwards unless kept), writes
//! `config.json` and `in/state.json`, runs the component with the `KBC_*` environment of
//! reference §1.5, reads the usage, loads the output mapping all-or-nothing (only `write_always`
//! tables when the component failed), tags processed input files and stores the state — only when
//! everything succeeded and a stored configuration was used. Every step is recorded in a
//! [`JobRecord`].
//!
//! This crate sits on top of the others and is what the `berth` binary and the server drive:
//! it knows the berth [`home`] layout, turns an image reference into an executor ([`launch`]),
//! and strings staging ([`berth_staging`]) and Storage ([`berth_storage`]) around an execution
//! ([`berth_exec`]). It must not depend on the CLI or the server.
//!
//! - [`home`]: the berth home directory (Storage, images, compiled cache, job records);
//! - [`settings`]: the home's `settings.toml`;
//! - [`launch`]: image reference → ready executor (WASI or Docker);
//! - [`runner`]: the pipeline ([`run_job`]);
//! - [`queue`]: the durable queue `berth serve` runs jobs from;
//! - [`action`]: synchronous actions ([`run_action`]);
//! - [`record`]: job records on disk;
//! - [`executor`]: which executor runs a component definition;
//! - [`config`]: the configuration a job runs;
//! - [`processors`]: the processors around the main component and the moves between images;
//! - [`variables`]: variables and shared code resolved in a configuration ([`mustache`]);
//! - [`oauth`]: OAuth credentials stored per component and injected into jobs;
//! - [`secrets`]: `#` values encrypted on the way in, decrypted for the job, hidden everywhere.

pub mod action;
pub mod config;
pub mod executor;
pub mod heartbeat;
pub mod home;
pub mod launch;
pub mod mustache;
pub mod oauth;
pub mod processors;
pub mod queue;
pub mod record;
pub mod runner;
pub mod schema;
pub mod secrets;
pub mod settings;
#[cfg(feature = "testing")]
pub mod testing;
pub mod variables;

use std::path::PathBuf;
use std::sync::Arc;

use berth_exec::{Cancel, LiveOutput};

pub use action::{ActionRequest, ActionResult, run_action};
pub use config::ConfigSource;
pub use executor::{ExecutorError, executor_for};
pub use record::{JobRecord, JobStatus, JobStore};
pub use runner::{run_job, run_recorded};
pub use secrets::{JobSecrets, StoreError};

use berth_staging::Stage;
use berth_staging::input_tables::StagedTable;
use berth_staging::output_tables::LoadedTable;

/// What `berth run` asks for.
#[derive(Debug, Clone)]
pub struct JobRequest {
    /// The component id.
    pub component_id: String,
    /// The configuration: stored or given.
    pub config: ConfigSource,
    /// The configuration id used for the state and the default bucket when the configuration is
    /// given inline (`None` with [`ConfigSource::Data`] means no state is stored).
    pub config_id: Option<String>,
    /// Run these rows of the stored configuration (in this order, even disabled ones); empty:
    /// every enabled row, or the configuration alone when it has none.
    pub row_ids: Vec<String>,
    /// Keep the data folder after the job.
    pub keep_data: bool,
    /// Another tag of the component's image.
    pub tag: Option<String>,
    /// The run id of the parent job: this job's run id becomes `<parent>.<id>`.
    pub parent_run_id: Option<String>,
    /// Stream the component's stdout to berth's stdout while it runs.
    pub stream_output: bool,
    /// Receives the component's stdout and stderr as they are written (the server's job log);
    /// takes precedence over `stream_output`.
    pub live_output: Option<Arc<dyn LiveOutput>>,
    /// Stops the job from outside (a kill, a shutdown): the running component is stopped, no
    /// output is loaded, no state stored, and the job ends `terminated`.
    pub cancel: Option<Cancel>,
    /// `run`, or `debug` (reference §9.3): the data folder archived before and after the
    /// component instead of output mapping; nothing written to tables, files or state.
    pub mode: RunMode,
    /// The URL of the server running the job (`berth serve`). A component with
    /// `forward_token` then gets it as `KBC_URL`, and as `KBC_TOKEN` a token created for this
    /// job, limited to the component and revoked when the job ends. `None` (`berth run`):
    /// neither variable is set.
    pub server_url: Option<String>,
    /// `variableValuesData`: `{values: [{name, value}]}` for the configuration's variables
    /// (reference §10; takes precedence over every other value source).
    pub variable_values_data: Option<serde_json::Value>,
    /// `variableValuesId`: a row of the configuration's variables configuration.
    pub variable_values_id: Option<String>,
    /// `mode: forceRun`: a stored configuration runs even when it is disabled (otherwise the
    /// job fails with a user error saying so).
    pub force_run: bool,
}

/// How a job runs (the `mode` of a job request; `KBC_COMPONENT_RUN_MODE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    /// A normal run.
    #[default]
    Run,
    /// Debug mode (reference §9.3).
    Debug,
}

impl RunMode {
    /// `run` or `debug`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Debug => "debug",
        }
    }

    /// Whether this is [`RunMode::Run`].
    pub fn is_run(&self) -> bool {
        *self == Self::Run
    }
}

impl JobRequest {
    /// A request for `component_id` with `config` and every option off.
    pub fn new(component_id: impl Into<String>, config: ConfigSource) -> Self {
        let config_id = match &config {
            ConfigSource::Stored(id) => Some(id.clone()),
            ConfigSource::Data(_) => None,
        };
        Self {
            component_id: component_id.into(),
            config,
            config_id,
            row_ids: Vec::new(),
            keep_data: false,
            tag: None,
            parent_run_id: None,
            stream_output: false,
            live_output: None,
            cancel: None,
            mode: RunMode::Run,
            server_url: None,
            variable_values_data: None,
            variable_values_id: None,
            force_run: false,
        }
    }
}

/// A finished job: its record and, when kept, its data folder.
#[derive(Debug, Clone)]
pub struct JobRun {
    /// The final record (also stored under the home's `jobs/`).
    pub record: JobRecord,
    /// The job's data folder, when `keep_data` was asked for (for a job of several rows, the
    /// folder holding `row-<id>/data` per row).
    pub data_dir: Option<PathBuf>,
}

/// Progress callbacks of a running job (the CLI draws them; tests ignore them).
pub trait Progress {
    /// A stage begins.
    fn stage(&self, _stage: Stage) {}
    /// An input table was exported.
    fn table_in(&self, _table: &StagedTable) {}
    /// An output table was loaded (not yet committed).
    fn table_out(&self, _table: &LoadedTable) {}
    /// The job is over; `record` is its final record, about to be stored (whatever the progress
    /// shows of it is in place before the job is seen as finished).
    fn finished(&self, _record: &JobRecord) {}
    /// A line of the job's log (`Running processor <id>`).
    fn log_line(&self, _line: &str) {}
    /// The job is over.
    fn finish(&self) {}
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

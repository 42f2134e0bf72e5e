//! The job pipeline of `berth run` (see the [`crate`] docs for the order of steps).
//!
//! Failure rules (reference §3.3, §5, §6; seeds 003):
//! - the component failing, its state file being invalid, its usage file being malformed or the
//!   output mapping failing all fail the job; the first failure is the job's error and later ones
//!   become warnings, so the original error is never concealed;
//! - after any such failure, the output mapping runs once more in failed-job mode: only
//!   `write_always` tables are loaded, no files;
//! - the state (component and input mapping) is stored only when everything succeeded and the
//!   job ran a stored configuration;
//! - Storage is closed while the component runs, so other berth commands can use it.

mod debug;
mod execute;
mod images;
mod output;

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use berth_host_api::state::StoredState;
use berth_host_api::{ConfigFile, DataDir, ExitClass, FileFormat};
use time::OffsetDateTime;

use super::config::{self, ConfigSource, ResolvedConfig};
use super::record::{FileMove, JobStatus, JobStore, TableMove, now_text};
use super::{JobRecord, JobRequest, JobRun, Progress, RunMode};
use crate::home::Home;
use crate::secrets::{self, JobSecrets};
use crate::settings::{HomeSettings, SETTINGS_FILE};
use berth_exec::environment::new_run_id;
use berth_exec::{Cancel, Outcome, RUN_ACTION};
use berth_staging::input_files::{StagedFiles, stage_input_files, tag_processed};
use berth_staging::input_tables::stage_input_tables;
use berth_staging::out_dir::OutDir;
use berth_staging::state::{self, StateChange};
use berth_staging::{JobIds, Stage, StagingError, usage};
use berth_storage::{Backend, ComponentDefinition};

/// The longest `process_timeout` a configuration may ask for (24 hours).
pub const MAX_PROCESS_TIMEOUT_SECS: u64 = 86_400;

/// The message of a successful job (reference §9.2).
pub const SUCCESS_MESSAGE: &str = "Component processing finished.";

/// The message of a job that ran nothing: every row of its configuration is disabled
/// (reference §9.2).
pub const NO_CONFIGURATIONS_MESSAGE: &str = "No configurations executed.";

/// The message of a terminated job.
pub const TERMINATED_MESSAGE: &str = "The job was terminated.";

/// Runs one job and returns its final record. `Err` only when berth cannot record the job at all;
/// every failure of the job itself is in the record (`status: error`, `result`).
pub fn run_job(home: &Home, request: &JobRequest, progress: &dyn Progress) -> Result<JobRun> {
    let id = new_run_id();
    let run_id = match request.parent_run_id.as_deref().filter(|p| !p.is_empty()) {
        Some(parent) => format!("{parent}.{id}"),
        None => id.clone(),
    };
    let mut record = JobRecord::new(&id, &run_id, &request.component_id);
    record.config_id = request.config_id.clone();
    if let [row] = request.row_ids.as_slice() {
        record.row_id = Some(row.clone());
    }
    record.mode = request.mode;
    JobStore::new(home).save(&record)?;
    // On Storage several nodes share, the job stamps its heartbeat while it runs (else a node's
    // sweep would end it as lost) and stops when killed through any node.
    let Some(shared) = home.shared_storage() else {
        return run_recorded(home, record, request, progress);
    };
    let mut request = request.clone();
    let cancel = request.cancel.get_or_insert_with(Cancel::new).clone();
    let _beating = crate::heartbeat::Beating::start(
        shared,
        &id,
        cancel,
        crate::heartbeat::interval(crate::heartbeat::node_expiry()),
    );
    run_recorded(home, record, &request, progress)
}

/// Runs the job of an existing `record` (a queued job the server took): the same pipeline as
/// [`run_job`], recorded under the record's id.
pub fn run_recorded(
    home: &Home,
    mut record: JobRecord,
    request: &JobRequest,
    progress: &dyn Progress,
) -> Result<JobRun> {
    let store = JobStore::new(home);
    let id = record.id.clone();
    record.mode = request.mode;
    // The project ciphers are bound to; an unusable settings file fails the job in `prepare`.
    let project_id = home.settings().map(|s| s.project.id).unwrap_or_default();
    let job_secrets = JobSecrets::new(
        home,
        &request.component_id,
        &project_id,
        request.config_id.as_deref(),
    );
    let tmp_root = home.root().join("tmp");
    fs::create_dir_all(&tmp_root).with_context(|| format!("creating {}", tmp_root.display()))?;
    let work = tempfile::Builder::new()
        .prefix(&format!("job-{id}-"))
        .tempdir_in(&tmp_root)
        .with_context(|| format!("creating the job folder in {}", tmp_root.display()))?;
    let started = Instant::now();
    record.status = JobStatus::Processing;
    record.started = Some(now_text());
    let ids = JobIds {
        component_id: request.component_id.clone(),
        config_id: request.config_id.clone(),
        row_id: record.row_id.clone(),
        run_id: record.run_id.clone(),
    };
    let mut job = Job {
        home,
        request,
        store: &store,
        record,
        work: work.path().to_path_buf(),
        progress,
        ids,
        per_row: false,
        secrets: job_secrets,
        forwarded_token: false,
    };
    let mut result = rows_to_run(home, request, progress);
    let nothing_to_run = matches!(&result, Ok(rows) if rows.is_empty());
    if let Ok(rows) = &result {
        job.per_row = rows.len() > 1;
    }
    let mut pending = Vec::new();
    let rows = result.as_ref().map(Vec::clone).unwrap_or_default();
    for row in rows {
        if job.cancelled() {
            break;
        }
        job.ids.row_id = row;
        match job.run() {
            Ok(state) => pending.extend(state),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let mut result = result.map(drop);
    // Whether every row ran and the states were stored: a stop that comes later changes nothing.
    let mut completed = false;
    if result.is_ok() && !job.cancelled() {
        result = job.persist_states(pending);
        completed = true;
    }
    if job.forwarded_token {
        job.revoke_forwarded_token();
    }
    let per_row = job.per_row;
    let terminated = job.cancelled() && !(completed && result.is_ok());
    let redactor = job.secrets.redactor().clone();
    let mut record = job.record;
    record.finished = Some(now_text());
    record.duration_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    match result {
        _ if terminated => {
            record.status = JobStatus::Terminated;
            record.result.message = TERMINATED_MESSAGE.to_owned();
            record.result.exit_code = Some(berth_host_api::ExitClass::ApplicationError.code());
        }
        Ok(()) => {
            record.status = JobStatus::Success;
            record.stage = None;
            record.result.message = if nothing_to_run {
                NO_CONFIGURATIONS_MESSAGE
            } else {
                SUCCESS_MESSAGE
            }
            .to_owned();
            record.result.exit_code = Some(0);
        }
        Err(error) => {
            record.status = JobStatus::Error;
            record.stage = Some(error.stage());
            record.result.message = error.to_string();
            record.result.error_type = Some(error.class().as_str().to_owned());
            record.result.error_stage = Some(error.stage());
            record.result.exit_code = Some(error.class().code());
        }
    }
    if record.state.is_none() {
        record.state = Some(StateChange::Untouched);
    }
    let record = record.redacted(&redactor);
    progress.finished(&record);
    store.save(&record)?;
    progress.finish();
    let data_dir = if request.keep_data {
        debug::redact_data_folders(work.path(), &redactor);
        // A job of several rows keeps one folder per row: `row-<id>/data`.
        let kept = work.keep();
        Some(if per_row { kept } else { kept.join("data") })
    } else {
        drop(work);
        None
    };
    Ok(JobRun { record, data_dir })
}

struct Job<'a> {
    home: &'a Home,
    request: &'a JobRequest,
    store: &'a JobStore,
    record: JobRecord,
    work: PathBuf,
    progress: &'a dyn Progress,
    ids: JobIds,
    /// The job runs several rows, each in its own data folder.
    per_row: bool,
    /// What the job decrypted, and hides.
    secrets: JobSecrets,
    /// A token was created for this job (`forward_token`): it is revoked when the job ends.
    forwarded_token: bool,
}

/// A state to store once the whole job succeeded.
struct PendingState {
    row_id: Option<String>,
    previous: StoredState,
    update: berth_host_api::state::StateUpdate,
    tables: Vec<berth_host_api::state::TableState>,
    files: Vec<berth_host_api::state::FileState>,
}

/// What the job carries from input staging to the end.
struct Prepared {
    settings: HomeSettings,
    component: ComponentDefinition,
    config: ResolvedConfig,
    data: DataDir,
    previous_state: Option<StoredState>,
    staged_files: StagedFiles,
    table_state: Vec<berth_host_api::state::TableState>,
    /// The stored configuration's version (`KBC_CONFIGVERSION`), when there is one.
    config_version: Option<u64>,
}

fn open_storage(home: &Home, stage: Stage) -> Result<Box<dyn Backend + Send>, StagingError> {
    home.open_storage()
        .map_err(|e| StagingError::app(stage, "Storage", e))
}

impl Job<'_> {
    /// Whether the job was asked to stop.
    fn cancelled(&self) -> bool {
        self.request
            .cancel
            .as_ref()
            .is_some_and(|c| c.is_cancelled())
    }

    /// Enters `stage`, recording it in Storage so whoever watches the job sees it.
    fn enter(&mut self, stage: Stage) {
        self.record.stage = Some(stage);
        if let Err(e) = self
            .store
            .save(&self.record.redacted(self.secrets.redactor()))
        {
            tracing::warn!("updating job record {}: {e:#}", self.record.id);
        }
        self.progress.stage(stage);
    }

    /// Enters a stage that takes milliseconds (or has nothing to do): the record says so (a
    /// failure names it, the final record keeps it) but Storage is not written for it. Each
    /// record save is a Storage commit; a trivial job made several.
    fn enter_briefly(&mut self, stage: Stage) {
        self.record.stage = Some(stage);
        self.progress.stage(stage);
    }

    /// One configuration (or row) from configuration to output mapping; the state to store
    /// once every row succeeded.
    fn run(&mut self) -> Result<Option<PendingState>, StagingError> {
        let prepared = self.prepare()?;
        let debug = self.request.mode == RunMode::Debug;
        let mut archives = Vec::new();
        self.enter(Stage::Execution);
        // Processors and the main component; debug archives `stage_<n>.zip` before each image.
        let (outcome, ran) = self.run_images(&prepared, &mut archives)?;
        if let Some(why) = berth_exec::shutdown::requested() {
            // berth is being stopped: nothing the component left is loaded or stored.
            return Err(StagingError::app(
                Stage::Execution,
                &prepared.component.id,
                anyhow::anyhow!("berth received {why}; the job was stopped and nothing was loaded"),
            ));
        }
        let mut failure = outcome_error(&outcome, &ran);

        // Everything below reads what the component left through one walk of out/.
        let limits = prepared.settings.output_limits(&prepared.component);
        let out = match OutDir::open(&prepared.data, limits) {
            Ok(out) => Some(out),
            Err(e) => {
                self.fail(&mut failure, e);
                None
            }
        };
        // One bounded read of usage.json.
        self.enter_briefly(Stage::Usage);
        if let Some(out) = &out {
            match usage::read_usage(out) {
                Ok(records) => self.record.usage.extend(records.unwrap_or_default()),
                Err(e) => self.fail(&mut failure, e),
            }
        }
        if debug {
            // Instead of output mapping: the data folder as the component left it. Nothing is
            // written to tables, files or state.
            self.enter(Stage::OutputMapping);
            if failure.is_none() {
                match self.archive(&prepared, "stage_output.zip", Stage::OutputMapping) {
                    Ok(archive) => archives.push(archive),
                    Err(e) => self.fail(&mut failure, e),
                }
            }
            if let Err(e) = self.store_archives(archives) {
                self.fail(&mut failure, e);
            }
            return match failure {
                Some(failure) => Err(failure),
                None => Ok(None),
            };
        }
        let update = match (&out, &failure) {
            (Some(out), None) => match state::read_out(out) {
                Ok(update) => Some(update),
                Err(e) => {
                    self.fail(&mut failure, e);
                    None
                }
            },
            _ => None,
        };

        if self.cancelled() {
            // A stopped job loads nothing, not even `write_always` tables.
            return Err(failure.unwrap_or_else(|| {
                StagingError::app(
                    Stage::Execution,
                    &prepared.component.id,
                    anyhow::anyhow!(TERMINATED_MESSAGE),
                )
            }));
        }
        self.enter(Stage::OutputMapping);
        let mut storage = match open_storage(self.home, Stage::OutputMapping) {
            Ok(storage) => storage,
            Err(e) => return Err(failure.unwrap_or(e)),
        };
        if let Some(out) = &out
            && prepared.component.staging_storage.output != "none"
        {
            if failure.is_none()
                && let Err(e) = self.output(storage.as_mut(), &prepared, out, false)
            {
                failure = Some(e);
            }
            if failure.is_some()
                && let Err(e) = self.output(storage.as_mut(), &prepared, out, true)
            {
                self.record
                    .warnings
                    .push(format!("write_always tables were not loaded: {e}"));
            }
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
        tag_processed(
            storage.as_mut(),
            &prepared.config.config.storage.input.files,
            &prepared.staged_files,
        )?;
        Ok(match (prepared.previous_state, update) {
            (Some(previous), Some(update)) => Some(PendingState {
                row_id: self.ids.row_id.clone(),
                previous,
                update,
                tables: prepared.table_state,
                files: prepared.staged_files.state,
            }),
            _ => None,
        })
    }

    /// Stores the states of every row (or of the configuration) once all of them succeeded.
    fn persist_states(&mut self, pending: Vec<PendingState>) -> Result<(), StagingError> {
        if pending.is_empty() {
            return Ok(());
        }
        // One write per row's state.
        self.enter_briefly(Stage::State);
        let mut storage = open_storage(self.home, Stage::State)?;
        // The state is encrypted with the key current while it is stored.
        storage
            .hold_keys()
            .map_err(|e| StagingError::storage(Stage::State, "the master key", e))?;
        for mut p in pending {
            if let berth_host_api::state::StateUpdate::Set(value) = &mut p.update {
                self.secrets
                    .encrypt_state(value)
                    .map_err(|e| secret_error(Stage::State, &self.ids.component_id, e))?;
            }
            let config_id = self.ids.config_id.clone().unwrap_or_default();
            let change = state::persist(
                storage.as_mut(),
                (&self.ids.component_id, &config_id, p.row_id.as_deref()),
                &p.previous,
                p.update,
                p.tables,
                p.files,
            )?;
            if self.record.state != Some(StateChange::Updated) {
                self.record.state = Some(change);
            }
        }
        Ok(())
    }

    /// Keeps the first failure; later ones become warnings.
    fn fail(&mut self, failure: &mut Option<StagingError>, error: StagingError) {
        match failure {
            None => *failure = Some(error),
            Some(_) => self
                .record
                .warnings
                .push(format!("{}: {error}", error.stage())),
        }
    }

    /// Configuration, input mapping, `config.json` and `in/state.json`.
    fn prepare(&mut self) -> Result<Prepared, StagingError> {
        self.enter(Stage::Configuration);
        let mut data = DataDir::new(match (&self.ids.row_id, self.per_row) {
            (Some(row), true) => self.work.join(format!("row-{row}")).join("data"),
            _ => self.work.join("data"),
        });
        data.create_layout()
            .map_err(|e| StagingError::app(Stage::Configuration, "data folder", e))?;
        let storage = open_storage(self.home, Stage::Configuration)?;
        let storage: &dyn Backend = storage.as_ref();
        // Documents read here are decrypted here: no key rotation in between (until
        // `release_keys` below).
        storage
            .hold_keys()
            .map_err(|e| StagingError::storage(Stage::Configuration, "the master key", e))?;
        let component = storage.component(&self.request.component_id).map_err(|e| {
            StagingError::storage(Stage::Configuration, &self.request.component_id, e)
        })?;
        data.format = component.file_format();
        let document = config::document(
            storage,
            &component.id,
            &self.request.config,
            self.ids.row_id.as_deref(),
        )?;
        let config_version = config::stored_version(storage, &component.id, &self.request.config);
        let (mut document, variables) = crate::variables::resolve(
            storage,
            document,
            crate::variables::JobValues {
                data: self.request.variable_values_data.as_ref(),
                values_id: self.request.variable_values_id.as_deref(),
            },
            &component.id,
        )?;
        self.record.variables = variables;
        let settings = self
            .home
            .settings()
            .map_err(|e| StagingError::user(Stage::Configuration, SETTINGS_FILE, e.to_string()))?;
        if let ConfigSource::Data(_) = &self.request.config {
            // configData is encrypted as the job is submitted (a no-op for ciphers), then
            // decrypted for the run, as the reference runner does.
            document =
                secrets::encrypt_config_data(self.home, &component.id, document).map_err(|e| {
                    if e.is_user_error() {
                        StagingError::user(Stage::Configuration, &component.id, e.to_string())
                    } else {
                        StagingError::app(Stage::Configuration, &component.id, e)
                    }
                })?;
        }
        // configurationSchema, checked before secrets are decrypted (no plain value in a message).
        let schema_warnings =
            crate::schema::at_job_start(&component, &document, self.ids.row_id.is_some())?;
        self.record.warnings.extend(schema_warnings);
        self.secrets
            .decrypt_config(&mut document)
            .map_err(|e| secret_error(Stage::Configuration, &component.id, e))?;
        // `authorization.oauth_api.id` → the stored credentials; only what the component may see.
        crate::oauth::resolve_authorization(
            self.home,
            &component.id,
            &mut document,
            &mut self.secrets,
        )?;
        let mut config =
            config::resolve(document, &component, &settings.project.stack_id, RUN_ACTION)?;
        self.secrets
            .decrypt_image_parameters(&mut config.config.image_parameters)
            .map_err(|e| secret_error(Stage::Configuration, &component.id, e))?;
        let previous_state = match &self.ids.config_id {
            None => None,
            Some(config_id) => match state::load_stored(
                storage,
                &component.id,
                config_id,
                self.ids.row_id.as_deref(),
            ) {
                Ok(stored) => Some(stored),
                Err(e) if matches!(self.request.config, ConfigSource::Data(_)) => {
                    tracing::debug!("no stored state for {config_id}: {e}");
                    None
                }
                Err(e) => return Err(e),
            },
        };
        let stored = previous_state.clone().unwrap_or_default();
        let mut in_state = stored.clone();
        self.secrets
            .decrypt_state(&mut in_state.component)
            .map_err(|e| secret_error(Stage::State, &component.id, e))?;
        // Everything read encrypted is decrypted: a key rotation may go ahead (input mapping,
        // on the same handle, can take long).
        storage
            .release_keys()
            .map_err(|e| StagingError::storage(Stage::Configuration, "the master key", e))?;

        let input = &config.config.storage.input;
        if component.staging_storage.input == "none"
            || (input.tables.is_empty() && input.files.is_empty())
        {
            self.enter_briefly(Stage::InputMapping);
        } else {
            self.enter(Stage::InputMapping);
        }
        let now = OffsetDateTime::now_utc();
        let (tables, files) = if component.staging_storage.input == "none" {
            Default::default()
        } else {
            let progress = self.progress;
            let tables = stage_input_tables(
                storage,
                &data,
                &input.tables,
                &stored.storage.input.tables,
                now,
                |t| progress.table_in(t),
            )?;
            let files = stage_input_files(
                storage,
                &data,
                &input.files,
                &stored.storage.input.files,
                &self.ids,
                now,
            )?;
            (tables, files)
        };
        self.record
            .input
            .tables
            .extend(tables.tables.iter().map(|t| TableMove {
                table: t.source.clone(),
                file: t.destination.clone(),
                rows: t.rows,
                table_rows: None,
            }));
        self.record
            .input
            .files
            .extend(files.files.iter().map(|f| FileMove {
                id: f.id,
                name: f.name.clone(),
                bytes: f.bytes,
                tags: Vec::new(),
            }));
        write_config(&data, &config.config)?;
        state::write_in_state(&data, &in_state)?;
        Ok(Prepared {
            settings,
            component,
            config,
            data,
            previous_state,
            staged_files: files,
            table_state: tables.state,
            config_version,
        })
    }
}

/// The rows a job runs: the asked-for rows (even disabled ones; reference §9.2), else, for a
/// stored configuration with rows, every enabled row in order (reference §10), each disabled one
/// logged `Skipping disabled configuration: <id>, version: <v>, row: <r>` — none when all are
/// disabled; else the configuration alone. A disabled stored configuration runs only with
/// `forceRun` (logged `Force running disabled configuration: …`); otherwise the job fails with a
/// user error before anything is staged.
fn rows_to_run(
    home: &Home,
    request: &JobRequest,
    progress: &dyn Progress,
) -> Result<Vec<Option<String>>, StagingError> {
    let ConfigSource::Stored(config_id) = &request.config else {
        return Ok(match request.row_ids.as_slice() {
            [] => vec![None],
            rows => rows.iter().cloned().map(Some).collect(),
        });
    };
    let stored = home
        .open_storage()
        .and_then(|s| s.config(&request.component_id, config_id));
    if let Ok(config) = &stored
        && config.is_disabled
    {
        if !request.force_run {
            return Err(StagingError::user(
                Stage::Configuration,
                config_id,
                format!(
                    "Configuration \"{config_id}\" of component \"{}\" is disabled. Enable it, or run it with mode \"forceRun\" (berth run --force).",
                    request.component_id
                ),
            ));
        }
        let line = format!(
            "Force running disabled configuration: {}, version: {}",
            config.id, config.version
        );
        tracing::info!("{line}");
        progress.log_line(&line);
    }
    if !request.row_ids.is_empty() {
        if let Ok(config) = &stored {
            let missing: Vec<&String> = request
                .row_ids
                .iter()
                .filter(|id| !config.rows.iter().any(|r| &r.id == *id))
                .collect();
            if missing.len() == request.row_ids.len() {
                let list = missing
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join("\", \"");
                return Err(StagingError::user(
                    Stage::Configuration,
                    config_id,
                    format!("None of rows \"{list}\" was found."),
                ));
            }
        }
        return Ok(request.row_ids.iter().cloned().map(Some).collect());
    }
    let Ok(config) = stored else {
        // A missing configuration fails in `prepare`, with its error.
        return Ok(vec![None]);
    };
    if config.rows.is_empty() {
        return Ok(vec![None]);
    }
    let mut rows = Vec::new();
    for row in &config.rows {
        if row.is_disabled {
            let line = format!(
                "Skipping disabled configuration: {}, version: {}, row: {}",
                config.id, config.version, row.id
            );
            tracing::info!("{line}");
            progress.log_line(&line);
        } else {
            rows.push(Some(row.id.clone()));
        }
    }
    Ok(rows)
}

/// The job error of a component outcome, `None` for success.
fn outcome_error(outcome: &Outcome, component: &str) -> Option<StagingError> {
    match outcome.class() {
        ExitClass::Success => None,
        ExitClass::UserError => Some(StagingError::user(
            Stage::Execution,
            component,
            outcome.message(),
        )),
        ExitClass::ApplicationError => Some(StagingError::app(
            Stage::Execution,
            component,
            anyhow::anyhow!("{}", outcome.message()),
        )),
    }
}

/// A secrets failure as a staging error of `stage` (user or application, as classified).
pub(crate) fn secret_error(
    stage: Stage,
    subject: &str,
    error: berth_secrets::SecretError,
) -> StagingError {
    if error.is_user_error() {
        StagingError::user(stage, subject, error.to_string())
    } else {
        StagingError::app(stage, subject, error)
    }
}

/// Writes the normalised `config.json` (`config.yml` for a YAML component), removing the file
/// of the other format (a processor in another format than the main component must not find
/// the main component's configuration).
pub(crate) fn write_config(data: &DataDir, config: &ConfigFile) -> Result<(), StagingError> {
    let path = data.config_file();
    let shown = data.format.file_name("config");
    let fail = |e: String| StagingError::app(Stage::Configuration, &shown, anyhow::anyhow!(e));
    let text = berth_staging::format::encode(data.format, config).map_err(fail)?;
    remove_other_formats(data, DataDir::config_file).map_err(|e| fail(e.to_string()))?;
    fs::write(&path, text).map_err(|e| fail(e.to_string()))
}

/// Removes the file `which` names in every format but `data`'s (missing ones are fine).
pub(crate) fn remove_other_formats(
    data: &DataDir,
    which: fn(&DataDir) -> std::path::PathBuf,
) -> std::io::Result<()> {
    for format in [FileFormat::Json, FileFormat::Yaml] {
        if format != data.format {
            match fs::remove_file(which(&data.clone().with_format(format))) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

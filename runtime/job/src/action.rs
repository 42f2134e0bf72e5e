//! Synchronous actions (`berth action`, reference §1.4; seed 003): any action other than `run`
//! that the component lists in `synchronous_actions`. No input or output mapping, no state: the
//! component gets a data folder holding only `config.json` (with `action` set), has 30 seconds,
//! and answers with one JSON document on stdout.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use super::config::{self, ConfigSource};
use super::executor::executor_for;
use super::runner::{secret_error, write_config};
use crate::home::Home;
use crate::secrets::JobSecrets;
use crate::settings::SETTINGS_FILE;
use berth_exec::outcome::action_response;
use berth_exec::{
    ExecRequest, Limits, Outcome, RUN_ACTION, SYNC_ACTION_TIMEOUT, StdoutMode, classify,
};
use berth_staging::{Stage, StagingError};

/// What `berth action` asks for.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    /// The component id.
    pub component_id: String,
    /// The action, e.g. `testConnection`.
    pub action: String,
    /// The configuration: stored or given.
    pub config: ConfigSource,
    /// Overrides the 30-second limit (tests).
    pub timeout: Option<Duration>,
}

/// How an action ended.
#[derive(Debug, Clone)]
pub struct ActionResult {
    /// The classified outcome (a bad answer turns success into a user error).
    pub outcome: Outcome,
    /// The component's JSON answer, on success.
    pub answer: Option<Value>,
    /// How long the component ran.
    pub duration: Duration,
}

/// Runs a synchronous action. `Err` is a failure before the component ran (unknown component,
/// action not allowed, invalid configuration: see [`StagingError::is_user_error`]).
pub fn run_action(home: &Home, request: &ActionRequest) -> Result<ActionResult, StagingError> {
    let user = |m: String| StagingError::user(Stage::Configuration, &request.component_id, m);
    if request.action == RUN_ACTION {
        return Err(user(
            "The \"run\" action cannot be run as a synchronous action; use `berth run`.".to_owned(),
        ));
    }
    let storage = home
        .open_storage()
        .map_err(|e| StagingError::app(Stage::Configuration, "Storage", e))?;
    let component = storage
        .component(&request.component_id)
        .map_err(|e| StagingError::storage(Stage::Configuration, &request.component_id, e))?;
    if !component.synchronous_actions.contains(&request.action) {
        let allowed = if component.synchronous_actions.is_empty() {
            "none".to_owned()
        } else {
            component.synchronous_actions.join(", ")
        };
        return Err(user(format!(
            "Action \"{}\" is not allowed for component \"{}\". Allowed actions: {allowed}.",
            request.action, component.id
        )));
    }
    let mut document = config::document(storage.as_ref(), &component.id, &request.config, None)?;
    // On the embedded Storage the handle goes now (its file lock would keep other berth
    // processes waiting); on PostgreSQL it holds the master key's lock until the document is
    // decrypted, so no key rotation comes in between.
    let key_hold = match home.shared_storage() {
        None => None,
        Some(_) => {
            storage
                .hold_keys()
                .map_err(|e| StagingError::storage(Stage::Configuration, "the master key", e))?;
            Some(storage)
        }
    };
    let settings = home
        .settings()
        .map_err(|e| StagingError::user(Stage::Configuration, SETTINGS_FILE, e.to_string()))?;
    let config_id = match &request.config {
        ConfigSource::Stored(id) => Some(id.as_str()),
        ConfigSource::Data(_) => None,
    };
    let mut secrets = JobSecrets::new(home, &component.id, &settings.project.id, config_id);
    if let ConfigSource::Data(_) = &request.config {
        // The reference's sync actions encrypt configData, then decrypt it.
        document =
            crate::secrets::encrypt_config_data(home, &component.id, document).map_err(|e| {
                if e.is_user_error() {
                    StagingError::user(Stage::Configuration, &component.id, e.to_string())
                } else {
                    StagingError::app(Stage::Configuration, &component.id, e)
                }
            })?;
    }
    secrets
        .decrypt_config(&mut document)
        .map_err(|e| secret_error(Stage::Configuration, &component.id, e))?;
    crate::oauth::resolve_authorization(home, &component.id, &mut document, &mut secrets)?;
    drop(key_hold);
    let mut resolved = config::resolve(
        document,
        &component,
        &settings.project.stack_id,
        &request.action,
    )?;
    secrets
        .decrypt_image_parameters(&mut resolved.config.image_parameters)
        .map_err(|e| secret_error(Stage::Configuration, &component.id, e))?;

    let work = tempfile::Builder::new()
        .prefix("action-")
        .tempdir()
        .context("creating the action's data folder")
        .map_err(|e| StagingError::app(Stage::Configuration, "data folder", e))?;
    let data =
        berth_host_api::DataDir::new(work.path().join("data")).with_format(component.file_format());
    data.create_layout()
        .map_err(|e| StagingError::app(Stage::Configuration, "data folder", e))?;
    write_config(&data, &resolved.config)?;

    let action_id = berth_exec::environment::new_run_id();
    let launched = executor_for(home, &component, None, (&action_id, &action_id)).map_err(|e| {
        if e.is_user_error() {
            StagingError::user(Stage::Execution, &component.id, e.to_string())
        } else {
            StagingError::app(Stage::Execution, &component.id, e)
        }
    })?;
    let config_id = match &request.config {
        ConfigSource::Stored(id) => id.clone(),
        ConfigSource::Data(_) => config::parameters_digest(&resolved.config.parameters),
    };
    let mut env = settings.environment(&component.id, &config_id);
    env.data_type_support = config::data_type_support(&component);
    let mut limits = Limits::for_action(&request.action);
    limits.timeout = request.timeout.unwrap_or(SYNC_ACTION_TIMEOUT);
    if let Some(bytes) = component.memory_bytes() {
        limits.memory_bytes = bytes;
    }
    let exec = ExecRequest {
        data_dir: data.root.clone(),
        action: request.action.clone(),
        env: env.to_vars(),
        limits: limits.clone(),
        output_filter: Some(secrets.output_filter()),
        stdout: StdoutMode::Capture,
        cancel: None,
    };
    let result = launched
        .executor
        .execute(&exec)
        .map_err(|e| StagingError::app(Stage::Execution, &component.id, e))?;
    let mut outcome = redact_outcome(
        classify(
            &result,
            launched.executor.component_name(),
            limits.timeout,
            limits.memory_bytes,
        ),
        secrets.redactor(),
    );
    let mut answer = None;
    if outcome == Outcome::Success {
        match action_response(&result.stdout.bytes) {
            Ok(value) => answer = Some(value),
            Err(e) => {
                outcome = Outcome::UserError {
                    message: e.to_string(),
                }
            }
        }
    }
    Ok(ActionResult {
        outcome,
        answer,
        duration: result.duration,
    })
}

/// `outcome` with its message filtered as every output message is (secrets hidden).
fn redact_outcome(outcome: Outcome, redactor: &berth_secrets::Redactor) -> Outcome {
    match outcome {
        Outcome::Success => Outcome::Success,
        Outcome::UserError { message } => Outcome::UserError {
            message: redactor.message(&message),
        },
        Outcome::Timeout { message } => Outcome::Timeout {
            message: redactor.message(&message),
        },
        Outcome::OutOfMemory { message } => Outcome::OutOfMemory {
            message: redactor.message(&message),
        },
        Outcome::Terminated { message } => Outcome::Terminated {
            message: redactor.message(&message),
        },
        Outcome::ApplicationError { exit_code, message } => Outcome::ApplicationError {
            exit_code,
            message: redactor.message(&message),
        },
    }
}

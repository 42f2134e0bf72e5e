//! Running the component of a job: the executor for its definition, the `KBC_*` environment
//! (reference §1.5) with this job's run, configuration and row ids, the limits (the component's
//! `process_timeout` unless the configuration's `runtime.process_timeout` says otherwise, at most
//! 24 hours; the component's memory), and the classified outcome.

use crate::config;
use crate::executor::executor_for;
use berth_exec::{ExecRequest, Limits, Outcome, RUN_ACTION, StdoutMode, Termination, classify};
use berth_staging::{Stage, StagingError};
use berth_storage::NewToken;

use super::images::ImageRun;
use super::{Job, MAX_PROCESS_TIMEOUT_SECS, Prepared};

impl Job<'_> {
    /// Runs one image of the job: the main component or a processor (`image`).
    pub(super) fn execute(
        &mut self,
        prepared: &Prepared,
        image: &ImageRun<'_>,
    ) -> Result<Outcome, StagingError> {
        let component = image.component;
        let job = (self.record.id.as_str(), self.ids.run_id.as_str());
        let launched = executor_for(self.home, component, image.tag, job).map_err(|e| {
            if e.is_user_error() {
                StagingError::user(Stage::Execution, &component.id, e.to_string())
            } else {
                StagingError::app(Stage::Execution, &component.id, e)
            }
        })?;
        let config_id = match &self.ids.config_id {
            Some(id) => id.clone(),
            None => config::parameters_digest(image.parameters),
        };
        let mut env = prepared.settings.environment(&component.id, &config_id);
        env.run_id = self.ids.run_id.clone();
        env.config_row_id = self.ids.row_id.clone();
        env.run_mode = self.request.mode.as_str().to_owned();
        env.config_version = prepared
            .config_version
            .map(|v| v.to_string())
            .unwrap_or_default();
        env.data_type_support = config::data_type_support(component);
        if component.forward_token
            && let Some(url) = &self.request.server_url
        {
            env.token = Some(self.forward_token(&component.id)?);
            env.url = Some(url.clone());
        }
        let vars = env.to_vars();
        if let Some((_, token)) = vars
            .iter()
            .find(|(k, _)| k == berth_host_api::env::KBC_TOKEN)
        {
            // A forwarded token is hidden like a secret (reference §1.5, §7.4).
            self.secrets.add_token(token);
        }
        let mut limits = Limits::for_action(RUN_ACTION);
        let timeout = image
            .process_timeout
            .unwrap_or(component.process_timeout)
            .min(MAX_PROCESS_TIMEOUT_SECS);
        limits.timeout = std::time::Duration::from_secs(timeout);
        if let Some(bytes) = component.memory_bytes() {
            limits.memory_bytes = bytes;
        }
        let request = ExecRequest {
            data_dir: prepared.data.root.clone(),
            action: RUN_ACTION.to_owned(),
            env: vars,
            limits: limits.clone(),
            output_filter: Some(self.secrets.output_filter()),
            stdout: match (&self.request.live_output, self.request.stream_output) {
                (Some(live), _) => StdoutMode::Live(live.clone()),
                (None, true) => StdoutMode::Stream,
                (None, false) => StdoutMode::Capture,
            },
            cancel: self.request.cancel.clone(),
        };
        if let Some(position) = image.processor {
            self.record.processors.push(crate::record::ProcessorRun {
                component_id: component.id.clone(),
                position,
                image: launched.reference.clone(),
                image_digest: launched.digest.clone(),
                executor: launched.kind,
            });
        } else {
            self.record.image = Some(launched.reference.clone());
            self.record.image_digest = launched.digest.clone();
            self.record.executor = Some(launched.kind);
        }
        let result = launched
            .executor
            .execute(&request)
            .map_err(|e| StagingError::app(Stage::Execution, &component.id, e))?;
        if let Termination::Exited(code) = result.termination
            && image.processor.is_none()
        {
            self.record.result.component_exit_code = Some(code);
        }
        // stderr of a successful run becomes a warning, filtered as every output message is.
        let stderr = self.secrets.redactor().message_bytes(&result.stderr.bytes);
        if !stderr.is_empty() && matches!(result.termination, Termination::Exited(0)) {
            self.record.warnings.push(stderr);
        }
        Ok(classify(
            &result,
            launched.executor.component_name(),
            limits.timeout,
            limits.memory_bytes,
        ))
    }
}

impl Job<'_> {
    /// Creates the token a component with `forward_token` gets as `KBC_TOKEN`: scoped to this
    /// job (revoked when it ends, [`Self::revoke_forwarded_token`]) and limited to the component.
    fn forward_token(&mut self, component_id: &str) -> Result<String, StagingError> {
        let mut storage = super::open_storage(self.home, Stage::Execution)?;
        let (_, secret) = storage
            .create_token(&NewToken {
                description: format!("job {} of {component_id} (forward_token)", self.record.id),
                component_access: Some(vec![component_id.to_owned()]),
                job_id: Some(self.record.id.clone()),
                ..NewToken::default()
            })
            .map_err(|e| StagingError::app(Stage::Execution, component_id, e))?;
        self.forwarded_token = true;
        Ok(secret)
    }

    /// Revokes the job's forwarded tokens; a failure is a warning of the job and an error in the
    /// server's log (the token would stay usable until revoked by hand).
    pub(super) fn revoke_forwarded_token(&mut self) {
        let revoked = self
            .home
            .open_storage()
            .and_then(|mut storage| storage.revoke_job_tokens(&self.record.id));
        if let Err(e) = revoked {
            tracing::error!("revoking the token of job {}: {e}", self.record.id);
            self.record.warnings.push(format!(
                "The job's forwarded token could not be revoked: {e}. Revoke it with berth token revoke."
            ));
        }
    }
}

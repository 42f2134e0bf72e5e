//! The images of one configuration (or row): `processors.before[]`, the main component,
//! `processors.after[]` (reference §10 "Processors", DB `Runner::runImages`).
//!
//! - processors run only when input mapping is enabled (`staging_storage.input` is not `none`;
//!   a job is always the `run` action);
//! - each is logged `Running processor <id>` and recorded in the job record's `processors`;
//! - each image gets its files in its own `configuration_format` (`config.json` or `config.yml`;
//!   the other format's files are removed, so a JSON processor never reads a YAML main
//!   component's configuration);
//! - a processor's `config.json` holds only its own `parameters`, its own component's image
//!   parameters (decrypted for that component alone) and `action`; its `in/state.json` is `{}`
//!   (the main component's state is never shown to a processor);
//! - between images `out/` becomes `in/` ([`move_output_to_input`]); the main component gets back
//!   its own `config.json` and `in/state.json` after the before-processors;
//! - what the main component leaves in `out/state.json` and `out/usage.json` is kept aside while
//!   the after-processors run and put back in the last `out/`, so state and usage are the main
//!   component's;
//! - the first image that fails ends the chain; its outcome is the job's;
//! - in debug mode the data folder is archived as `stage_<n>.zip` before image `n`.

use std::fs;
use std::path::{Path, PathBuf};

use berth_exec::{Outcome, RUN_ACTION};
use berth_host_api::{ConfigFile, DataDir, ExitClass};
use berth_staging::{Stage, StagingError};
use berth_storage::ComponentDefinition;
use serde_json::Value;

use super::debug::Archive;
use super::{Job, Prepared, open_storage, remove_other_formats, write_config};
use crate::processors::{Processor, move_output_to_input};
use crate::record::ProcessorPosition;

/// What one image run needs beyond the job.
pub(super) struct ImageRun<'a> {
    /// The component that runs.
    pub component: &'a ComponentDefinition,
    /// Another tag of its image (`--tag` for the main component, `definition.tag` for a
    /// processor).
    pub tag: Option<&'a str>,
    /// Its parameters (for `KBC_CONFIGID` without a configuration).
    pub parameters: &'a Value,
    /// `runtime.process_timeout` (the main component only).
    pub process_timeout: Option<u64>,
    /// `Some` for a processor.
    pub processor: Option<ProcessorPosition>,
}

/// Files of the main component's `out/` kept aside while the after-processors run.
const KEPT_FROM_MAIN: [&str; 4] = ["state.json", "state.yml", "usage.json", "usage.yml"];

impl Job<'_> {
    /// Runs every image of the configuration; the outcome that decides the job and the id of the
    /// component it belongs to.
    pub(super) fn run_images(
        &mut self,
        prepared: &Prepared,
        archives: &mut Vec<Archive>,
    ) -> Result<(Outcome, String), StagingError> {
        let debug = self.request.mode == crate::RunMode::Debug;
        let processors = if prepared.component.staging_storage.input == "none" {
            crate::processors::Processors::default()
        } else {
            prepared.config.processors.clone()
        };
        let before = self.processor_components(&processors.before)?;
        let after = self.processor_components(&processors.after)?;
        let mut index = 0usize;
        let data = &prepared.data;
        let fail = |e: std::io::Error, what: &str| {
            StagingError::app(
                Stage::Execution,
                &prepared.component.id,
                anyhow::anyhow!("{what}: {e}"),
            )
        };

        // The main component's config.json and in/state.json, as prepare wrote them.
        let main_files = if before.is_empty() {
            None
        } else {
            let config =
                fs::read(data.config_file()).map_err(|e| fail(e, "reading config.json"))?;
            let state = fs::read(data.in_state()).map_err(|e| fail(e, "reading in/state.json"))?;
            Some((config, state))
        };
        for (processor, component) in processors.before.iter().zip(&before) {
            if index > 0 {
                move_output_to_input(data).map_err(|e| fail(e, "moving out/ to in/"))?;
            }
            if let Some(outcome) = self.run_processor(
                prepared,
                processor,
                component,
                (ProcessorPosition::Before, index),
                archives,
            )? {
                return Ok((outcome, component.id.clone()));
            }
            index += 1;
        }
        if let Some((config, state)) = main_files {
            move_output_to_input(data).map_err(|e| fail(e, "moving out/ to in/"))?;
            // The last processor's files go, whatever their format.
            remove_other_formats(data, DataDir::config_file)
                .and_then(|()| remove_other_formats(data, DataDir::in_state))
                .map_err(|e| fail(e, "removing the processor's config and state"))?;
            fs::write(data.config_file(), config).map_err(|e| fail(e, "writing config.json"))?;
            fs::write(data.in_state(), state).map_err(|e| fail(e, "writing in/state.json"))?;
        }
        if debug {
            archives.push(self.archive(
                prepared,
                &format!("stage_{index}.zip"),
                Stage::Execution,
            )?);
        }
        index += 1;
        let main = ImageRun {
            component: &prepared.component,
            tag: self
                .request
                .tag
                .as_deref()
                .or(prepared.config.image_tag.as_deref()),
            parameters: &prepared.config.config.parameters,
            process_timeout: prepared.config.process_timeout,
            processor: None,
        };
        let outcome = self.execute(prepared, &main)?;
        if outcome.class() != ExitClass::Success || after.is_empty() {
            return Ok((outcome, prepared.component.id.clone()));
        }

        let kept = self
            .work
            .join(format!("kept-{}", self.ids.row_id.as_deref().unwrap_or("")));
        keep_aside(&data.join("out"), &kept)
            .map_err(|e| fail(e, "keeping out/state and out/usage"))?;
        for (processor, component) in processors.after.iter().zip(&after) {
            move_output_to_input(data).map_err(|e| fail(e, "moving out/ to in/"))?;
            if let Some(outcome) = self.run_processor(
                prepared,
                processor,
                component,
                (ProcessorPosition::After, index),
                archives,
            )? {
                return Ok((outcome, component.id.clone()));
            }
            index += 1;
        }
        put_back(&kept, &data.join("out"))
            .map_err(|e| fail(e, "restoring out/state and out/usage"))?;
        Ok((outcome, prepared.component.id.clone()))
    }

    /// The component definitions of `processors`, read before anything runs (an unknown one
    /// fails the job before any image runs).
    fn processor_components(
        &self,
        processors: &[Processor],
    ) -> Result<Vec<ComponentDefinition>, StagingError> {
        if processors.is_empty() {
            return Ok(Vec::new());
        }
        let storage = open_storage(self.home, Stage::Configuration)?;
        processors
            .iter()
            .map(|p| {
                storage.component(&p.definition.component).map_err(|e| {
                    StagingError::storage(Stage::Configuration, &p.definition.component, e)
                })
            })
            .collect()
    }

    /// Runs one processor; `Some(outcome)` when it failed (or the job was stopped).
    fn run_processor(
        &mut self,
        prepared: &Prepared,
        processor: &Processor,
        component: &ComponentDefinition,
        (position, index): (ProcessorPosition, usize),
        archives: &mut Vec<Archive>,
    ) -> Result<Option<Outcome>, StagingError> {
        let debug = self.request.mode == crate::RunMode::Debug;
        if self.cancelled() {
            return Err(StagingError::app(
                Stage::Execution,
                &component.id,
                anyhow::anyhow!(super::TERMINATED_MESSAGE),
            ));
        }
        let mut config = ConfigFile {
            parameters: match &processor.parameters {
                Value::Null => crate::config::empty_object(),
                Value::Array(a) if a.is_empty() => crate::config::empty_object(),
                other => other.clone(),
            },
            image_parameters: component
                .image_parameters_for_stack(&prepared.settings.project.stack_id),
            action: RUN_ACTION.to_owned(),
            ..ConfigFile::default()
        };
        self.secrets
            .decrypt_image_parameters_of(&component.id, &mut config.image_parameters)
            .map_err(|e| super::secret_error(Stage::Configuration, &component.id, e))?;
        // In the processor's own format; the main component's files of another format go.
        let data = prepared.data.clone().with_format(component.file_format());
        write_config(&data, &config)?;
        let empty_state =
            berth_staging::format::encode(data.format, &crate::config::empty_object())
                .unwrap_or_default();
        remove_other_formats(&data, DataDir::in_state)
            .and_then(|()| fs::write(data.in_state(), empty_state))
            .map_err(|e| {
                StagingError::app(
                    Stage::Execution,
                    &component.id,
                    anyhow::anyhow!("writing the processor's empty state: {e}"),
                )
            })?;
        if debug {
            archives.push(self.archive(
                prepared,
                &format!("stage_{index}.zip"),
                Stage::Execution,
            )?);
        }
        let line = format!("Running processor {}", component.id);
        tracing::info!("job {}: {line}", self.record.id);
        self.progress.log_line(&line);
        let image = ImageRun {
            component,
            tag: processor.definition.tag.as_deref(),
            parameters: &config.parameters,
            process_timeout: None,
            processor: Some(position),
        };
        let outcome = self.execute(prepared, &image)?;
        Ok((outcome.class() != ExitClass::Success).then_some(outcome))
    }
}

/// Moves the main component's state and usage files out of `out` into `kept`.
fn keep_aside(out: &Path, kept: &Path) -> std::io::Result<()> {
    fs::create_dir_all(kept)?;
    for name in KEPT_FROM_MAIN {
        let from = out.join(name);
        if fs::symlink_metadata(&from).is_ok() {
            fs::rename(&from, kept.join(name))?;
        }
    }
    Ok(())
}

/// Puts the kept files back into the last image's `out` (replacing what a processor left).
fn put_back(kept: &Path, out: &Path) -> std::io::Result<()> {
    fs::create_dir_all(out)?;
    for name in KEPT_FROM_MAIN {
        let to: PathBuf = out.join(name);
        if fs::symlink_metadata(&to).is_ok() {
            fs::remove_file(&to)?;
        }
        let from = kept.join(name);
        if fs::symlink_metadata(&from).is_ok() {
            fs::rename(&from, &to)?;
        }
    }
    Ok(())
}

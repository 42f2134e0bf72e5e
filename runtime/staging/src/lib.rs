//! The staging layer: everything that moves data between Storage and a job's data folder.
//!
//! - [`input_tables`] and [`input_files`] export the input mapping (reference §1.2, §4) into
//!   `in/tables` and `in/files`, with their manifests (§2.2, §2.3);
//! - [`output_tables`] and [`output_files`] read `out/tables` and `out/files` back, merge
//!   manifests with the mapping (§2.7), resolve destinations (§3.1) and load everything
//!   all-or-nothing (§3.3);
//! - [`state`] writes `in/state.json` and reads `out/state.json` (§5, seed 003);
//! - [`usage`] reads `out/usage.json` strictly (§6, seed 003);
//! - [`out_dir`] is the only reader of what a component left in `out/` (descriptors, no links
//!   followed, types and sizes checked on the open file), within the [`limits`].
//!
//! Staging never knows which executor ran the component, nor which Storage backend holds the
//! data: it works on `dyn berth_storage::Backend` (the embedded DuckDB Storage or PostgreSQL)
//! and the contract types only, never on an executor, an image or the CLI. Every failure is a [`StagingError`]
//! naming the [`Stage`] and the subject (a table id, a file, a manifest path); its message is the
//! reference's wording where the reference gives one, and [`StagingError::is_user_error`] keeps
//! user errors (exit 1) apart from berth's own failures (exit 2).

pub mod format;
pub mod input_files;
pub mod input_tables;
pub mod limits;
pub mod out_dir;
pub mod output_files;
pub mod output_tables;
pub mod state;
pub mod usage;
pub mod webalize;
mod when;

use std::fmt;

use berth_host_api::ExitClass;
use serde::{Deserialize, Serialize};

use berth_storage::StorageError;

pub use when::parse_changed_since;

/// The part of a job where something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Resolving the component and configuration, writing `config.json`.
    Configuration,
    /// Exporting input tables and files into `in/`.
    InputMapping,
    /// Running the component.
    Execution,
    /// Loading `out/tables` and `out/files` into Storage.
    OutputMapping,
    /// Reading `out/state.json` or storing the state.
    State,
    /// Reading `out/usage.json`.
    Usage,
}

impl Stage {
    /// The stage as words: `input mapping`, `output mapping`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configuration => "configuration",
            Self::InputMapping => "input mapping",
            Self::Execution => "execution",
            Self::OutputMapping => "output mapping",
            Self::State => "state",
            Self::Usage => "usage",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staging failure: the stage, the subject, and whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    /// The configuration or the component's output breaks a rule (exit 1). The message is the
    /// text the user sees, verbatim from the reference where it gives one.
    #[error("{message}")]
    User {
        /// Where it happened.
        stage: Stage,
        /// What it is about: a table id, a file name, a manifest path.
        subject: String,
        /// The message.
        message: String,
    },
    /// berth itself failed: the database, the disk (exit 2).
    #[error("{stage} failed for {subject}: {source:#}")]
    Application {
        /// Where it happened.
        stage: Stage,
        /// What it is about.
        subject: String,
        /// The underlying failure.
        source: anyhow::Error,
    },
}

impl StagingError {
    /// A user error in `stage` about `subject`.
    pub fn user(stage: Stage, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self::User {
            stage,
            subject: subject.into(),
            message: message.into(),
        }
    }

    /// An application error in `stage` about `subject`.
    pub fn app(stage: Stage, subject: impl Into<String>, source: impl Into<anyhow::Error>) -> Self {
        Self::Application {
            stage,
            subject: subject.into(),
            source: source.into(),
        }
    }

    /// A Storage error, classified by [`StorageError::is_user_error`].
    pub fn storage(stage: Stage, subject: impl Into<String>, error: StorageError) -> Self {
        if error.is_user_error() {
            Self::user(stage, subject, error.to_string())
        } else {
            Self::app(stage, subject, error)
        }
    }

    /// Whether the user (configuration, component output) is at fault: exit 1, else exit 2.
    pub fn is_user_error(&self) -> bool {
        matches!(self, Self::User { .. })
    }

    /// The exit class: user or application error.
    pub fn class(&self) -> ExitClass {
        if self.is_user_error() {
            ExitClass::UserError
        } else {
            ExitClass::ApplicationError
        }
    }

    /// Where it happened.
    pub fn stage(&self) -> Stage {
        match self {
            Self::User { stage, .. } | Self::Application { stage, .. } => *stage,
        }
    }

    /// What it is about.
    pub fn subject(&self) -> &str {
        match self {
            Self::User { subject, .. } | Self::Application { subject, .. } => subject,
        }
    }
}

/// Who runs the job: the ids that end up in the environment, file tags and table metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobIds {
    /// The component id.
    pub component_id: String,
    /// The stored configuration's id (`None` for `--config-data` without `--config`).
    pub config_id: Option<String>,
    /// The configuration row's id, for row jobs.
    pub row_id: Option<String>,
    /// This job's run id: `<parent>.<own>` when the job has a parent run.
    pub run_id: String,
}

impl JobIds {
    /// The run ids whose files `filter_by_run_id` accepts: this run and each of its parents
    /// (`1.2.3` → `1`, `1.2`, `1.2.3`).
    pub fn run_id_chain(&self) -> Vec<String> {
        let parts: Vec<&str> = self.run_id.split('.').collect();
        (1..=parts.len()).map(|n| parts[..n].join(".")).collect()
    }
}

/// A JSON scalar as the text Storage compares (`true` → `1`, `false`/`null` → empty).
pub(crate) fn scalar_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(true) => "1".to_owned(),
        serde_json::Value::Bool(false) | serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A name that may be used as one path component inside the data folder.
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_id_chain_lists_parents() {
        let ids = JobIds {
            component_id: "c".into(),
            config_id: None,
            row_id: None,
            run_id: "10.20.30".into(),
        };
        assert_eq!(ids.run_id_chain(), ["10", "10.20", "10.20.30"]);
    }

    #[test]
    fn file_names() {
        assert!(is_plain_file_name("a.csv"));
        assert!(!is_plain_file_name("../a"));
        assert!(!is_plain_file_name("a/b"));
        assert!(!is_plain_file_name(".."));
    }
}

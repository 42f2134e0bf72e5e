//! [`Context`]: the data folder, the configuration and the `KBC_*` environment of one run.
//!
//! The data folder is `KBC_DATADIR` if set, else `/data`. `config.json` is read leniently
//! (unknown keys are ignored, so a component keeps working when the runner learns new keys).

use std::path::Path;

use berth_host_api::env as kbc;
use berth_host_api::{ConfigFile, DataDir, UsageRecord};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, Result};

/// Set by `berth exec --action NAME` when NAME differs from config.json's `action` (berth never
/// rewrites config.json in a folder it did not stage); it takes precedence over config.json.
pub const ACTION_OVERRIDE_ENV: &str = "BERTH_ACTION";

/// Everything a component needs to know about the current run.
#[derive(Debug, Clone)]
pub struct Context {
    data_dir: DataDir,
    config: ConfigFile,
    pub(crate) usage: Option<Vec<UsageRecord>>,
}

impl Context {
    /// The context of this process: the data folder from `KBC_DATADIR` (else `/data`) and its
    /// `config.json`.
    pub fn from_env() -> Result<Self> {
        let mut context = Self::load(DataDir::from_env())?;
        if let Some(action) = std::env::var(ACTION_OVERRIDE_ENV)
            .ok()
            .filter(|a| !a.is_empty())
        {
            context.config.action = action;
        }
        Ok(context)
    }

    /// The context for a given data folder; reads `<root>/config.json`.
    pub fn load(data_dir: DataDir) -> Result<Self> {
        let path = data_dir.config_file();
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io("Cannot read", &path, e))?;
        let config = ConfigFile::from_json_lenient(&text)?;
        Ok(Self::new(data_dir, config))
    }

    /// A context from parts already at hand (useful in tests).
    pub fn new(data_dir: DataDir, config: ConfigFile) -> Self {
        Self {
            data_dir,
            config,
            usage: None,
        }
    }

    /// The data folder.
    pub fn data_dir(&self) -> &DataDir {
        &self.data_dir
    }

    /// The data folder's root path.
    pub fn root(&self) -> &Path {
        &self.data_dir.root
    }

    /// The whole configuration.
    pub fn config(&self) -> &ConfigFile {
        &self.config
    }

    /// The action to execute (`run` unless a synchronous action was requested).
    pub fn action(&self) -> &str {
        &self.config.action
    }

    /// `parameters` as JSON.
    pub fn parameters_value(&self) -> &Value {
        &self.config.parameters
    }

    /// `parameters` as your own type. A mismatch is a user error naming the path, e.g.
    /// `Invalid parameters: "multiplier": invalid type: string "x", expected f64`.
    pub fn parameters<T: DeserializeOwned>(&self) -> Result<T> {
        typed("parameters", &self.config.parameters)
    }

    /// `image_parameters` as JSON.
    pub fn image_parameters_value(&self) -> Value {
        Value::Object(self.config.image_parameters.clone())
    }

    /// `image_parameters` as your own type (a mismatch is a user error).
    pub fn image_parameters<T: DeserializeOwned>(&self) -> Result<T> {
        typed("image_parameters", &self.image_parameters_value())
    }

    /// A `KBC_*` (or any) environment variable; unset and empty both read as `None`.
    pub fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    /// `KBC_RUNID`.
    pub fn run_id(&self) -> Option<String> {
        self.env(kbc::KBC_RUNID)
    }

    /// `KBC_PROJECTID`.
    pub fn project_id(&self) -> Option<String> {
        self.env(kbc::KBC_PROJECTID)
    }

    /// `KBC_CONFIGID`.
    pub fn config_id(&self) -> Option<String> {
        self.env(kbc::KBC_CONFIGID)
    }

    /// `KBC_CONFIGVERSION`.
    pub fn config_version(&self) -> Option<String> {
        self.env(kbc::KBC_CONFIGVERSION)
    }

    /// `KBC_CONFIGROWID` (row jobs only).
    pub fn config_row_id(&self) -> Option<String> {
        self.env(kbc::KBC_CONFIGROWID)
    }

    /// `KBC_COMPONENTID`.
    pub fn component_id(&self) -> Option<String> {
        self.env(kbc::KBC_COMPONENTID)
    }

    /// `KBC_BRANCHID`.
    pub fn branch_id(&self) -> Option<String> {
        self.env(kbc::KBC_BRANCHID)
    }

    /// `KBC_STACKID`.
    pub fn stack_id(&self) -> Option<String> {
        self.env(kbc::KBC_STACKID)
    }

    /// `KBC_COMPONENT_RUN_MODE` (`run` or `debug`).
    pub fn run_mode(&self) -> Option<String> {
        self.env(kbc::KBC_COMPONENT_RUN_MODE)
    }

    /// `KBC_DATA_TYPE_SUPPORT` (`authoritative`, `hints` or `none`).
    pub fn data_type_support(&self) -> Option<String> {
        self.env(kbc::KBC_DATA_TYPE_SUPPORT)
    }

    /// `KBC_PROJECT_FEATURE_GATES`, split on commas.
    pub fn feature_gates(&self) -> Vec<String> {
        self.env(kbc::KBC_PROJECT_FEATURE_GATES)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Deserialises `value` into `T`; a mismatch is a user error naming the section and path.
fn typed<T: DeserializeOwned>(section: &str, value: &Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            Error::User(format!("Invalid {section}: {inner}"))
        } else {
            Error::User(format!("Invalid {section}: \"{path}\": {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Params {
        multiplier: f64,
    }

    fn ctx(json: &str) -> Context {
        Context::new(
            DataDir::new("/nonexistent"),
            ConfigFile::from_json_lenient(json).unwrap(),
        )
    }

    #[test]
    fn typed_parameters() {
        let c = ctx(r#"{"parameters":{"multiplier":2}}"#);
        assert_eq!(c.parameters::<Params>().unwrap().multiplier, 2.0);
        let c = ctx(r#"{"parameters":{"multiplier":"x"}}"#);
        let err = c.parameters::<Params>().unwrap_err();
        assert!(err.is_user());
        assert!(
            err.to_string()
                .starts_with("Invalid parameters: \"multiplier\": invalid type"),
            "{err}"
        );
        let c = ctx(r#"{}"#);
        let err = c.parameters::<Params>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid parameters: missing field `multiplier`"
        );
    }

    #[test]
    fn load_reads_config_leniently() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), r#"{"action":"info","x":1}"#).unwrap();
        let c = Context::load(DataDir::new(dir.path())).unwrap();
        assert_eq!(c.action(), "info");
        let missing = Context::load(DataDir::new(dir.path().join("nope"))).unwrap_err();
        assert!(!missing.is_user());
        assert!(missing.to_string().contains("config.json"));
    }
}

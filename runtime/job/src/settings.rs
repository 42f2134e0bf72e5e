//! The berth home's settings: `<home>/settings.toml`, a file people write, read strictly.
//!
//! Every key is optional and has a documented default, so a home without the file behaves as
//! berth's defaults say. Unknown keys are an error naming the key (a misspelt limit must not be
//! silently ignored). Sections are added by the subsystems that need them.
//!
//! ```toml
//! [project]
//! id = "1"                 # KBC_PROJECTID, and the project ciphers are bound to
//! stack_id = "berth.local" # KBC_STACKID, and the key of `stack_parameters`
//!
//! [limits]                 # what berth reads of a component's out/ (berth_staging::limits)
//! manifest_bytes = "1m"
//! state_bytes = "16m"
//! output_bytes = "10g"
//! out_entries = 100000
//! ```
//!
//! A component definition's own `limits` override `[limits]` key by key.
//!
//! ```toml
//! [registry]               # what berth accepts from a registry (berth_image::RegistryLimits)
//! manifest_bytes = "4m"
//! config_bytes = "8m"
//! layer_bytes = "1g"
//! module_bytes = "512m"
//! unpacked_bytes = "2g"
//! tar_entries = 100000
//! request_timeout_secs = 60
//! blob_timeout_secs = 1800
//! ```

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use berth_exec::JobEnvironment;
use berth_exec::environment::{DEFAULT_PROJECT_ID, DEFAULT_STACK_ID};
use berth_image::RegistryLimits;
use berth_staging::limits::OutputLimits;
use berth_storage::{ByteSize, ComponentDefinition, LimitOverrides};

/// The name of the settings file inside the home.
pub const SETTINGS_FILE: &str = "settings.toml";

/// Everything `settings.toml` can say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeSettings {
    /// `[project]`: who this home is to components.
    #[serde(default)]
    pub project: ProjectSettings,
    /// `[limits]`: bounds on what berth reads of a component's `out/`, for every component of
    /// this home (a component definition's `limits` override them).
    #[serde(default)]
    pub limits: LimitOverrides,
    /// `[registry]`: bounds on what berth accepts from a registry.
    #[serde(default)]
    pub registry: RegistryOverrides,
}

/// `[registry]`: overrides of [`RegistryLimits`], each optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryOverrides {
    /// Largest manifest or index.
    pub manifest_bytes: Option<ByteSize>,
    /// Largest image config.
    pub config_bytes: Option<ByteSize>,
    /// Largest layer, declared or sent.
    pub layer_bytes: Option<ByteSize>,
    /// Largest module taken out of a tar layer.
    pub module_bytes: Option<ByteSize>,
    /// Most bytes a tar layer may unpack to.
    pub unpacked_bytes: Option<ByteSize>,
    /// Most entries in a tar layer.
    pub tar_entries: Option<u64>,
    /// Deadline of a manifest, config, tag-list or token call, in seconds.
    pub request_timeout_secs: Option<u64>,
    /// Deadline of a layer download, in seconds.
    pub blob_timeout_secs: Option<u64>,
}

impl RegistryOverrides {
    /// `limits` with every key set here replaced.
    pub fn apply(&self, mut limits: RegistryLimits) -> RegistryLimits {
        let size = |v: Option<ByteSize>, d: u64| v.map_or(d, |s| s.0);
        limits.manifest_bytes = size(self.manifest_bytes, limits.manifest_bytes);
        limits.config_bytes = size(self.config_bytes, limits.config_bytes);
        limits.layer_bytes = size(self.layer_bytes, limits.layer_bytes);
        limits.module_bytes = size(self.module_bytes, limits.module_bytes);
        limits.unpacked_bytes = size(self.unpacked_bytes, limits.unpacked_bytes);
        limits.tar_entries = self.tar_entries.unwrap_or(limits.tar_entries);
        if let Some(secs) = self.request_timeout_secs {
            limits.request_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = self.blob_timeout_secs {
            limits.blob_timeout = Duration::from_secs(secs);
        }
        limits
    }
}

/// `[project]`: the identity components see.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSettings {
    /// The project id (`KBC_PROJECTID`). Default `"1"`.
    #[serde(default = "default_project_id")]
    pub id: String,
    /// The stack id (`KBC_STACKID`). Default `"berth.local"`.
    #[serde(default = "default_stack_id")]
    pub stack_id: String,
}

impl Default for ProjectSettings {
    fn default() -> Self {
        Self {
            id: default_project_id(),
            stack_id: default_stack_id(),
        }
    }
}

fn default_project_id() -> String {
    DEFAULT_PROJECT_ID.to_owned()
}

fn default_stack_id() -> String {
    DEFAULT_STACK_ID.to_owned()
}

/// Why the settings file could not be used (a user error: the file is the user's).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SettingsError {
    /// The settings file.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl HomeSettings {
    /// Reads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let error = |reason: String| SettingsError {
            path: path.display().to_string(),
            reason,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(error(e.to_string())),
        };
        Self::parse(&text).map_err(error)
    }

    /// The `KBC_*` environment of a run of `component_id` with `config_id` in this home.
    pub fn environment(&self, component_id: &str, config_id: &str) -> JobEnvironment {
        let mut env = JobEnvironment::local(component_id, config_id);
        env.project_id = self.project.id.clone();
        env.stack_id = self.project.stack_id.clone();
        env
    }

    /// The output limits of a job of `component`: berth's defaults, then this home's
    /// `[limits]`, then the component definition's `limits`.
    pub fn output_limits(&self, component: &ComponentDefinition) -> OutputLimits {
        OutputLimits::default()
            .with(&self.limits)
            .with(&component.limits)
    }

    /// Parses settings text.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_and_empty_text_give_defaults() {
        let dir = tempfile::TempDir::new().unwrap();
        let settings = HomeSettings::load(&dir.path().join(SETTINGS_FILE)).unwrap();
        assert_eq!(settings, HomeSettings::default());
        assert_eq!(settings.project.id, "1");
        assert_eq!(settings.project.stack_id, "berth.local");
        assert_eq!(HomeSettings::parse("").unwrap(), HomeSettings::default());
    }

    #[test]
    fn project_keys_are_read() {
        let settings =
            HomeSettings::parse("[project]\nid = \"123\"\nstack_id = \"connection.keboola.com\"\n")
                .unwrap();
        assert_eq!(settings.project.id, "123");
        assert_eq!(settings.project.stack_id, "connection.keboola.com");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused() {
        let err = HomeSettings::parse("[project]\nidd = \"1\"\n").unwrap_err();
        assert!(err.contains("unknown field `idd`"), "{err}");
        let err = HomeSettings::parse("[projekt]\n").unwrap_err();
        assert!(err.contains("unknown field `projekt`"), "{err}");
        let err = HomeSettings::parse("[project]\nid = 1\n").unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
        let err = HomeSettings::parse("[project\n").unwrap_err();
        assert!(!err.is_empty());
    }

    #[test]
    fn limits_come_from_the_home_then_the_component() {
        let settings =
            HomeSettings::parse("[limits]\nstate_bytes = \"2m\"\nout_depth = 3\n").unwrap();
        let component = ComponentDefinition::from_json(
            r#"{"id": "a", "image": "x.wasm", "limits": {"out_depth": 5}}"#,
        )
        .unwrap();
        let limits = settings.output_limits(&component);
        assert_eq!(limits.state_bytes, 2 << 20);
        assert_eq!(limits.out_depth, 5);
        assert_eq!(limits.output_bytes, 10 << 30);
        let err = HomeSettings::parse("[limits]\nstate_byte = 1\n").unwrap_err();
        assert!(err.contains("unknown field `state_byte`"), "{err}");
    }

    #[test]
    fn registry_limits_are_read() {
        let settings =
            HomeSettings::parse("[registry]\nmanifest_bytes = \"64k\"\nrequest_timeout_secs = 5\n")
                .unwrap();
        let limits = settings.registry.apply(RegistryLimits::default());
        assert_eq!(limits.manifest_bytes, 64 << 10);
        assert_eq!(limits.request_timeout, Duration::from_secs(5));
        assert_eq!(limits.layer_bytes, 1 << 30);
        let err = HomeSettings::parse("[registry]\nmanifest = 1\n").unwrap_err();
        assert!(err.contains("unknown field `manifest`"), "{err}");
    }

    #[test]
    fn environment_carries_the_project() {
        let settings =
            HomeSettings::parse("[project]\nid = \"7\"\nstack_id = \"s.example\"\n").unwrap();
        let vars = settings.environment("c", "cfg").to_vars();
        assert!(
            vars.contains(&("KBC_PROJECTID".into(), "7".into())),
            "{vars:?}"
        );
        assert!(
            vars.contains(&("KBC_STACKID".into(), "s.example".into())),
            "{vars:?}"
        );
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join(SETTINGS_FILE);
        std::fs::write(&path, "nonsense = true\n").unwrap();
        let err = HomeSettings::load(&path).unwrap_err();
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
    }
}

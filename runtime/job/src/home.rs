//! The berth home: one directory holding everything berth keeps between runs.
//!
//! `./.berth` by default, `--home DIR` or `BERTH_HOME` to override. Each subsystem owns one
//! subdirectory and creates it on first use.

use std::path::{Path, PathBuf};

use berth_image::{ImageError, ImageStore, PullOptions};

/// The environment variable that overrides the default home directory.
pub const HOME_ENV: &str = "BERTH_HOME";

/// The environment variable that moves the build tools out of the home (see [`Home::tools`]).
pub const TOOLS_ENV: &str = "BERTH_TOOLS";

/// The home directory used when neither `--home` nor `BERTH_HOME` is given.
pub const DEFAULT_HOME: &str = ".berth";

/// A resolved berth home directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// A home rooted at `root` (not created until a subsystem needs it).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `explicit` if given, else `BERTH_HOME`, else `./.berth`.
    pub fn resolve(explicit: Option<&Path>) -> Self {
        match explicit {
            Some(path) => Self::new(path),
            None => match std::env::var_os(HOME_ENV) {
                Some(value) if !value.is_empty() => Self::new(PathBuf::from(value)),
                _ => Self::new(DEFAULT_HOME),
            },
        }
    }

    /// The home directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Host-private cache of precompiled modules (never shared with artifacts).
    pub fn compiled_cache(&self) -> PathBuf {
        self.root.join("cache").join("compiled")
    }

    /// Embedded Storage: tables (DuckDB), files, components and configurations.
    pub fn storage(&self) -> PathBuf {
        self.root.join("storage")
    }

    /// Local OCI image store (image-layout form).
    pub fn images(&self) -> PathBuf {
        self.root.join("images")
    }

    /// Build tools berth installs on first use (componentize-py for Python components):
    /// `BERTH_TOOLS` when set (one install shared by several homes), else `HOME/tools`.
    pub fn tools(&self) -> PathBuf {
        match std::env::var_os(TOOLS_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => self.root.join("tools"),
        }
    }

    /// The home's settings file (`settings.toml`).
    pub fn settings_file(&self) -> PathBuf {
        self.root.join(crate::settings::SETTINGS_FILE)
    }

    /// The home's settings (defaults when there is no settings file).
    pub fn settings(
        &self,
    ) -> Result<crate::settings::HomeSettings, crate::settings::SettingsError> {
        crate::settings::HomeSettings::load(&self.settings_file())
    }

    /// Pull options from the environment with this home's `[registry]` limits.
    pub fn pull_options(&self) -> Result<PullOptions, ImageError> {
        let mut options = PullOptions::from_env()?;
        let settings = self.settings().map_err(|e| ImageError::InvalidReference {
            stage: berth_image::Stage::Parse,
            reference: e.path.clone(),
            reason: e.reason.clone(),
        })?;
        options.settings.limits = settings.registry.apply(options.settings.limits);
        Ok(options)
    }

    /// The local image store, precompiling pulled modules into this home's compiled cache.
    pub fn image_store(&self) -> Result<ImageStore, ImageError> {
        ImageStore::open(&self.images(), &self.compiled_cache())
    }
}

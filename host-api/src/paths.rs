//! The data-folder layout: where `config.json`, the input and output tables and files, the state
//! file and the usage file live.
//!
//! This corresponds to reference §2.1: the runner mounts one folder at `/data` (overridable with
//! `KBC_DATADIR`) and the component finds everything relative to it. [`DataDir`] turns the
//! relative names below into paths under a chosen root.

use std::path::{Path, PathBuf};

use crate::FileFormat;

/// The data folder inside the sandbox when `KBC_DATADIR` is not set: `/data`.
pub const DEFAULT_DATA_DIR: &str = "/data";

/// The environment variable that overrides the data folder: `KBC_DATADIR`.
pub const DATA_DIR_ENV: &str = "KBC_DATADIR";

/// The configuration file, relative to the data folder: `config.json`.
pub const CONFIG_FILE: &str = "config.json";

/// Input tables (CSV files or sliced directories plus `.manifest`): `in/tables`.
pub const IN_TABLES: &str = "in/tables";

/// Input files (`<fileId>_<fileName>` plus `.manifest`): `in/files`.
pub const IN_FILES: &str = "in/files";

/// A scratch folder the runner creates empty: `in/user`.
pub const IN_USER: &str = "in/user";

/// The state handed to the component: `in/state.json`.
pub const IN_STATE: &str = "in/state.json";

/// Output tables the runner uploads: `out/tables`.
pub const OUT_TABLES: &str = "out/tables";

/// Output files the runner uploads: `out/files`.
pub const OUT_FILES: &str = "out/files";

/// The state the component leaves for its next run: `out/state.json`.
pub const OUT_STATE: &str = "out/state.json";

/// The usage records the component reports: `out/usage.json`.
pub const OUT_USAGE: &str = "out/usage.json";

/// The suffix of a manifest next to its data file: `.manifest`.
pub const MANIFEST_SUFFIX: &str = ".manifest";

/// The directories [`DataDir::create_layout`] creates, relative to the data folder.
pub const LAYOUT_DIRS: [&str; 5] = [IN_TABLES, IN_FILES, IN_USER, OUT_TABLES, OUT_FILES];

/// A data folder rooted at `root`, with one accessor per well-known path. Its [`FileFormat`]
/// names the configuration, state and usage files (`config.json` or `config.yml`, …).
///
/// ```
/// use berth_host_api::{DataDir, FileFormat};
/// let dir = DataDir::new("/data");
/// assert_eq!(dir.config_file(), std::path::Path::new("/data/config.json"));
/// assert_eq!(dir.out_state(), std::path::Path::new("/data/out/state.json"));
/// let yaml = dir.with_format(FileFormat::Yaml);
/// assert_eq!(yaml.in_state(), std::path::Path::new("/data/in/state.yml"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    /// The folder that holds `config.json`, `in/` and `out/`.
    pub root: PathBuf,
    /// The format of the configuration, state, usage and manifest files.
    pub format: FileFormat,
}

impl DataDir {
    /// A data folder rooted at `root`, in JSON.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            format: FileFormat::Json,
        }
    }

    /// The same folder with the files of `format`.
    pub fn with_format(mut self, format: FileFormat) -> Self {
        self.format = format;
        self
    }

    /// `<root>/<folder>/<stem>.<extension of the format>`.
    fn formatted(&self, folder: &str, stem: &str) -> PathBuf {
        self.root.join(folder).join(self.format.file_name(stem))
    }

    /// The data folder named by `KBC_DATADIR`, else `/data`. An empty `KBC_DATADIR` counts as unset.
    pub fn from_env() -> Self {
        Self::from_env_value(std::env::var_os(DATA_DIR_ENV))
    }

    /// The data folder for a given value of `KBC_DATADIR` (`None` or empty → `/data`).
    pub fn from_env_value(value: Option<std::ffi::OsString>) -> Self {
        match value {
            Some(v) if !v.is_empty() => Self::new(v),
            _ => Self::new(DEFAULT_DATA_DIR),
        }
    }

    /// `<root>/<relative>`.
    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.root.join(relative)
    }

    /// `<root>/config.json` (`config.yml` in YAML).
    pub fn config_file(&self) -> PathBuf {
        self.formatted("", "config")
    }

    /// `<root>/in/tables`.
    pub fn in_tables(&self) -> PathBuf {
        self.join(IN_TABLES)
    }

    /// `<root>/in/files`.
    pub fn in_files(&self) -> PathBuf {
        self.join(IN_FILES)
    }

    /// `<root>/in/user`.
    pub fn in_user(&self) -> PathBuf {
        self.join(IN_USER)
    }

    /// `<root>/in/state.json` (`state.yml` in YAML).
    pub fn in_state(&self) -> PathBuf {
        self.formatted("in", "state")
    }

    /// `<root>/out/tables`.
    pub fn out_tables(&self) -> PathBuf {
        self.join(OUT_TABLES)
    }

    /// `<root>/out/files`.
    pub fn out_files(&self) -> PathBuf {
        self.join(OUT_FILES)
    }

    /// `<root>/out/state.json` (`state.yml` in YAML).
    pub fn out_state(&self) -> PathBuf {
        self.formatted("out", "state")
    }

    /// `<root>/out/usage.json` (`usage.yml` in YAML).
    pub fn out_usage(&self) -> PathBuf {
        self.formatted("out", "usage")
    }

    /// The manifest that belongs to `data_file` (a path under this folder): the same path with
    /// `.manifest` appended. Same as the free function [`manifest_for`].
    pub fn manifest_for(&self, data_file: &Path) -> PathBuf {
        manifest_for(data_file)
    }

    /// Creates `in/tables`, `in/files`, `in/user`, `out/tables` and `out/files` (and their parents).
    /// Existing directories are left as they are.
    pub fn create_layout(&self) -> std::io::Result<()> {
        for dir in LAYOUT_DIRS {
            std::fs::create_dir_all(self.join(dir))?;
        }
        Ok(())
    }
}

/// The manifest that belongs to `data_file`: the same path with `.manifest` appended
/// (`in/tables/a.csv` → `in/tables/a.csv.manifest`).
pub fn manifest_for(data_file: &Path) -> PathBuf {
    let mut name = data_file.as_os_str().to_owned();
    name.push(MANIFEST_SUFFIX);
    PathBuf::from(name)
}

/// Whether `path` names a manifest (its file name ends with `.manifest`).
pub fn is_manifest(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(MANIFEST_SUFFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_value_falls_back_to_default() {
        assert_eq!(DataDir::from_env_value(None).root, Path::new("/data"));
        assert_eq!(
            DataDir::from_env_value(Some("".into())).root,
            Path::new("/data")
        );
        assert_eq!(
            DataDir::from_env_value(Some("/x/".into())).root,
            Path::new("/x/")
        );
    }

    #[test]
    fn manifest_paths() {
        let d = DataDir::new("/data");
        let table = d.in_tables().join("a.csv");
        assert_eq!(
            d.manifest_for(&table),
            Path::new("/data/in/tables/a.csv.manifest")
        );
        assert!(is_manifest(Path::new("x/a.csv.manifest")));
        assert!(!is_manifest(Path::new("x/a.csv")));
    }
}

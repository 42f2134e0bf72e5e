//! What `out/tables` holds (reference §3.1, §2.4, §2.6): every entry directly in it except
//! `*.manifest` is a source — a CSV file (any name, `.gz` allowed) or a directory of slices —
//! paired with `<entry>.manifest` when there is one. A manifest without its entry is an error:
//! `Found orphaned table manifest: "x.manifest"`.

use std::fs;
use std::path::PathBuf;

use berth_host_api::DataDir;
use berth_host_api::paths::{MANIFEST_SUFFIX, OUT_TABLES};

use crate::{Stage, StagingError};

/// One entry of `out/tables`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The entry's name, e.g. `data.csv`.
    pub name: String,
    /// Its host path.
    pub path: PathBuf,
    /// A directory of slices rather than one file.
    pub sliced: bool,
    /// Its manifest's host path, when it has one.
    pub manifest: Option<PathBuf>,
}

impl Source {
    /// The manifest's path as shown in messages: `out/tables/<name>.manifest`.
    pub fn manifest_display(&self) -> String {
        format!("{OUT_TABLES}/{}{MANIFEST_SUFFIX}", self.name)
    }
}

/// Lists the sources of `out/tables`, sorted by name; fails on an orphaned manifest.
pub fn scan(data: &DataDir) -> Result<Vec<Source>, StagingError> {
    crate::reject_symlinks(&data.root, OUT_TABLES, Stage::OutputMapping)?;
    let dir = data.out_tables();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StagingError::app(Stage::OutputMapping, OUT_TABLES, e)),
    };
    let mut names = Vec::new();
    let mut manifests = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StagingError::app(Stage::OutputMapping, OUT_TABLES, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry
            .file_type()
            .map_err(|e| StagingError::app(Stage::OutputMapping, &name, e))?;
        if name.ends_with(MANIFEST_SUFFIX) && kind.is_file() {
            manifests.push(name);
        } else if kind.is_file() || kind.is_dir() {
            names.push((name, kind.is_dir()));
        }
    }
    manifests.sort();
    names.sort();
    for manifest in &manifests {
        let data_name = &manifest[..manifest.len() - MANIFEST_SUFFIX.len()];
        if !names.iter().any(|(n, _)| n == data_name) {
            return Err(StagingError::user(
                Stage::OutputMapping,
                format!("{OUT_TABLES}/{manifest}"),
                format!("Found orphaned table manifest: \"{manifest}\""),
            ));
        }
    }
    Ok(names
        .into_iter()
        .map(|(name, sliced)| {
            let path = dir.join(&name);
            let manifest_name = format!("{name}{MANIFEST_SUFFIX}");
            let manifest = manifests
                .contains(&manifest_name)
                .then(|| dir.join(&manifest_name));
            Source {
                name,
                path,
                sliced,
                manifest,
            }
        })
        .collect())
}

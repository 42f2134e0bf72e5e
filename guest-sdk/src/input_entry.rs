//! The entries of `in/tables` and `in/files`: listing them, and opening one with its file name
//! and its manifest, if any.

use std::path::{Path, PathBuf};

use berth_host_api::ContractError;
use berth_host_api::paths::{is_manifest, manifest_for};

use crate::{Error, Result};

/// The file name of `path` and the manifest beside it parsed with `parse(file, text)`; a missing
/// manifest is `None`, an unreadable or invalid one an error naming it.
pub(crate) fn open<M>(
    path: &Path,
    parse: impl FnOnce(&str, &str) -> std::result::Result<M, ContractError>,
) -> Result<(String, Option<M>)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest_path: PathBuf = manifest_for(path);
    let manifest = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => Some(parse(&manifest_path.display().to_string(), &text)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("Cannot read", &manifest_path, e)),
    };
    Ok((name, manifest))
}

/// Every entry of `dir` except manifests, sorted by name; a missing `dir` has none.
pub(crate) fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("Cannot list", dir, e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io("Cannot list", dir, e))?.path();
        if !is_manifest(&path) {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

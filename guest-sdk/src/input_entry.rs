//! Opening one entry of `in/tables` or `in/files`: its file name and its manifest, if any.

use std::path::{Path, PathBuf};

use berth_host_api::ContractError;
use berth_host_api::paths::manifest_for;

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

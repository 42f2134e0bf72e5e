//! What `out/tables` holds (reference §3.1, §2.4, §2.6): every entry directly in it except
//! `*.manifest` is a source — a CSV file (any name, `.gz` allowed) or a directory of slices —
//! paired with `<entry>.manifest` when there is one. A manifest without its entry is an error:
//! `Found orphaned table manifest: "x.manifest"`.
//!
//! The listing comes from [`crate::out_dir::Folder::entries`]: links, FIFOs, sockets, devices and
//! names that are not UTF-8 are refused there, before anything is read.

use std::collections::BTreeSet;

use berth_host_api::paths::{MANIFEST_SUFFIX, OUT_TABLES};

use crate::out_dir::{EntryKind, Folder, OutDir};
use crate::{Stage, StagingError};

/// One entry of `out/tables`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The entry's name, e.g. `data.csv`.
    pub name: String,
    /// A directory of slices rather than one file.
    pub sliced: bool,
    /// Its size in bytes (0 for a directory of slices).
    pub size: u64,
    /// Whether `<name>.manifest` exists.
    pub manifest: bool,
}

impl Source {
    /// The manifest's path as shown in messages: `out/tables/<name>.manifest`.
    pub fn manifest_display(&self) -> String {
        format!("{OUT_TABLES}/{}{MANIFEST_SUFFIX}", self.name)
    }

    /// The manifest's file name inside `out/tables`.
    pub fn manifest_name(&self) -> String {
        format!("{}{MANIFEST_SUFFIX}", self.name)
    }
}

/// `out/tables` opened, with its sources sorted by name; fails on an orphaned manifest or an
/// entry that is not a regular file or folder. `None` when there is no `out/tables`.
pub fn scan(out: &OutDir) -> Result<Option<(Folder, Vec<Source>)>, StagingError> {
    let stage = Stage::OutputMapping;
    let Some(folder) = out.folder("tables", stage)? else {
        return Ok(None);
    };
    let mut sources = Vec::new();
    let mut manifests = Vec::new();
    for entry in folder.entries(stage)? {
        match entry.kind {
            EntryKind::File(_) if entry.name.ends_with(MANIFEST_SUFFIX) => {
                manifests.push(entry.name);
            }
            EntryKind::File(size) => sources.push((entry.name, false, size)),
            EntryKind::Folder => sources.push((entry.name, true, 0)),
        }
    }
    let names: BTreeSet<&str> = sources.iter().map(|(n, _, _)| n.as_str()).collect();
    for manifest in &manifests {
        let data_name = &manifest[..manifest.len() - MANIFEST_SUFFIX.len()];
        if !names.contains(data_name) {
            return Err(StagingError::user(
                stage,
                format!("{OUT_TABLES}/{manifest}"),
                format!("Found orphaned table manifest: \"{manifest}\""),
            ));
        }
    }
    let manifests: BTreeSet<String> = manifests.into_iter().collect();
    let sources = sources
        .into_iter()
        .map(|(name, sliced, size)| {
            let manifest = manifests.contains(&format!("{name}{MANIFEST_SUFFIX}"));
            Source {
                name,
                sliced,
                size,
                manifest,
            }
        })
        .collect();
    Ok(Some((folder, sources)))
}

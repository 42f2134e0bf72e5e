//! Output file mapping (reference §1.2 "Output file", §2.5, §3.7): every regular file directly
//! in `out/files` is uploaded to Storage (directories are ignored, no recursion).
//!
//! Properties come from the mapping item for the file, else from its manifest, else the
//! defaults — never a merge of the two (OM `FileWriter`). A mapped source that is missing fails
//! with `File '<source>' not found`; a manifest without its file fails with
//! `Found orphaned file manifest: '<name>.manifest'`. Every upload carries the system tags
//! `componentId: …`, `configurationId: …`, `configurationRowId: …` and `runId: …`.
//!
//! Planning ([`plan_output_files`]) checks everything before anything is uploaded, so the job can
//! stay all-or-nothing; [`upload`] then stores the plan and [`remove_uploaded`] undoes it when
//! loading the tables fails afterwards.
//!
//! `out/files` is read through [`crate::out_dir`]: each file is uploaded from the descriptor its
//! type and size were checked on, each manifest read within `limits.manifest_bytes`.

use std::collections::HashSet;
use std::path::PathBuf;

use berth_host_api::config::OutputFile;
use berth_host_api::manifest::OutputFileManifest;
use berth_host_api::paths::{MANIFEST_SUFFIX, OUT_FILES};
use serde::Serialize;

use super::out_dir::{EntryKind, Folder, OutDir};
use super::{JobIds, Stage, StagingError};
use berth_storage::{Backend, FileId, FileUpload, OpenInput};

/// One file about to be uploaded.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// The name under `out/files`.
    pub name: String,
    /// Its path as shown in messages (`out/files/<name>`).
    pub path: PathBuf,
    /// The opened file.
    pub input: OpenInput,
    /// Its size in bytes.
    pub size: u64,
    /// Tags and flags.
    pub upload: FileUpload,
}

/// One uploaded output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadedFile {
    /// The new Storage file id.
    pub id: u64,
    /// The file name.
    pub name: String,
    /// Its tags, system tags included.
    pub tags: Vec<String>,
    /// Size in bytes.
    pub bytes: u64,
}

/// The system tags of every uploaded file (reference §3.7).
pub fn system_tags(ids: &JobIds) -> Vec<String> {
    let mut tags = vec![format!("componentId: {}", ids.component_id)];
    if let Some(config) = &ids.config_id {
        tags.push(format!("configurationId: {config}"));
    }
    if let Some(row) = &ids.row_id {
        tags.push(format!("configurationRowId: {row}"));
    }
    tags.push(format!("runId: {}", ids.run_id));
    tags
}

/// Reads `out/files` and the mapping into a plan, checking every rule first.
pub fn plan_output_files(
    out: &OutDir,
    mapping: &[OutputFile],
    ids: &JobIds,
) -> Result<Vec<PlannedFile>, StagingError> {
    let stage = Stage::OutputMapping;
    let Some(folder) = out.folder("files", stage)? else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    let mut manifests = Vec::new();
    for entry in folder.entries(stage)? {
        match entry.kind {
            EntryKind::File(_) if entry.name.ends_with(MANIFEST_SUFFIX) => {
                manifests.push(entry.name)
            }
            EntryKind::File(_) => files.push(entry.name),
            EntryKind::Folder => {}
        }
    }
    let names: HashSet<&str> = files.iter().map(String::as_str).collect();
    for manifest in &manifests {
        let data_name = &manifest[..manifest.len() - MANIFEST_SUFFIX.len()];
        if !names.contains(data_name) {
            return Err(StagingError::user(
                stage,
                format!("{OUT_FILES}/{manifest}"),
                format!("Found orphaned file manifest: '{manifest}'"),
            ));
        }
    }
    if let Some(missing) = mapping.iter().find(|m| !names.contains(m.source.as_str())) {
        return Err(StagingError::user(
            stage,
            &missing.source,
            format!("File '{}' not found", missing.source),
        ));
    }
    let manifests: HashSet<&str> = manifests.iter().map(String::as_str).collect();
    let system = system_tags(ids);
    let mut plan = Vec::new();
    for name in &files {
        let Some(opened) = folder.open_file(name, stage)? else {
            continue;
        };
        let items: Vec<&OutputFile> = mapping.iter().filter(|m| &m.source == name).collect();
        let properties = if items.is_empty() {
            let manifest_name = format!("{name}{MANIFEST_SUFFIX}");
            let has_manifest = manifests.contains(manifest_name.as_str());
            vec![from_manifest(out, &folder, name, has_manifest)?]
        } else {
            items.into_iter().cloned().collect()
        };
        for p in properties {
            out.charge(opened.size, &opened.shown)
                .map_err(|e| StagingError::user(stage, name, e.to_string()))?;
            let mut tags = p.tags.clone();
            for tag in &system {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            plan.push(PlannedFile {
                name: name.clone(),
                path: PathBuf::from(&opened.shown),
                input: opened.input.clone(),
                size: opened.size,
                upload: FileUpload {
                    name: Some(name.clone()),
                    tags,
                    is_public: p.is_public,
                    is_permanent: p.is_permanent,
                    is_encrypted: p.is_encrypted,
                    run_id: Some(ids.run_id.clone()),
                },
            });
        }
    }
    Ok(plan)
}

/// The properties of an unmapped file: its manifest's, else the defaults.
fn from_manifest(
    out: &OutDir,
    folder: &Folder,
    name: &str,
    has_manifest: bool,
) -> Result<OutputFile, StagingError> {
    let mut properties = OutputFile::new(name);
    if !has_manifest {
        return Ok(properties);
    }
    let manifest_name = format!("{name}{MANIFEST_SUFFIX}");
    let Some(file) = folder.open_file(&manifest_name, Stage::OutputMapping)? else {
        return Ok(properties);
    };
    let bytes = file.read_limited(
        out.limits().manifest_bytes,
        "manifest_bytes",
        Stage::OutputMapping,
    )?;
    let shown = format!("{OUT_FILES}/{manifest_name}");
    let text = crate::output_tables::manifest_text(out.format(), &shown, &bytes)?;
    let manifest = OutputFileManifest::from_json(&shown, &text)
        .map_err(|e| StagingError::user(Stage::OutputMapping, &shown, e.to_string()))?;
    properties.tags = manifest.tags.unwrap_or_default();
    properties.is_public = manifest.is_public.unwrap_or(false);
    properties.is_permanent = manifest.is_permanent.unwrap_or(false);
    properties.is_encrypted = manifest.is_encrypted.unwrap_or(true);
    properties.notify = manifest.notify.unwrap_or(false);
    Ok(properties)
}

/// Uploads the plan; on failure, removes what this call uploaded before failing.
pub fn upload(
    storage: &mut dyn Backend,
    plan: &[PlannedFile],
) -> Result<Vec<UploadedFile>, StagingError> {
    let mut uploaded = Vec::with_capacity(plan.len());
    for file in plan {
        match storage.upload_open(&file.path, &file.input, &file.upload) {
            Ok(id) => {
                uploaded.push(UploadedFile {
                    id: id.0,
                    name: file.name.clone(),
                    tags: file.upload.tags.clone(),
                    bytes: file.size,
                });
            }
            Err(e) => {
                remove_uploaded(storage, &uploaded);
                return Err(StagingError::storage(Stage::OutputMapping, &file.name, e));
            }
        }
    }
    Ok(uploaded)
}

/// Deletes files uploaded by this job (the output mapping failed after uploading them).
pub fn remove_uploaded(storage: &mut dyn Backend, uploaded: &[UploadedFile]) {
    for file in uploaded {
        if let Err(e) = storage.delete_file(FileId(file.id)) {
            tracing::warn!(
                "removing uploaded file {} after a failed output mapping: {e}",
                file.id
            );
        }
    }
}

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

use std::fs;
use std::path::PathBuf;

use berth_host_api::DataDir;
use berth_host_api::config::OutputFile;
use berth_host_api::manifest::OutputFileManifest;
use berth_host_api::paths::{MANIFEST_SUFFIX, OUT_FILES};
use serde::Serialize;

use super::{JobIds, Stage, StagingError};
use berth_storage::{FileId, FileUpload, Storage};

/// One file about to be uploaded.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// The name under `out/files`.
    pub name: String,
    /// Its host path.
    pub path: PathBuf,
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
    data: &DataDir,
    mapping: &[OutputFile],
    ids: &JobIds,
) -> Result<Vec<PlannedFile>, StagingError> {
    super::reject_symlinks(&data.root, OUT_FILES, Stage::OutputMapping)?;
    let dir = data.out_files();
    let mut files = Vec::new();
    let mut manifests = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StagingError::app(Stage::OutputMapping, OUT_FILES, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| StagingError::app(Stage::OutputMapping, OUT_FILES, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if name.ends_with(MANIFEST_SUFFIX) {
            manifests.push(name);
        } else if is_file {
            files.push(name);
        }
    }
    files.sort();
    manifests.sort();
    for manifest in &manifests {
        let data_name = &manifest[..manifest.len() - MANIFEST_SUFFIX.len()];
        if !files.iter().any(|f| f == data_name) {
            return Err(StagingError::user(
                Stage::OutputMapping,
                format!("{OUT_FILES}/{manifest}"),
                format!("Found orphaned file manifest: '{manifest}'"),
            ));
        }
    }
    if let Some(missing) = mapping.iter().find(|m| !files.contains(&m.source)) {
        return Err(StagingError::user(
            Stage::OutputMapping,
            &missing.source,
            format!("File '{}' not found", missing.source),
        ));
    }
    let system = system_tags(ids);
    let mut plan = Vec::new();
    for name in files {
        let path = dir.join(&name);
        let items: Vec<&OutputFile> = mapping.iter().filter(|m| m.source == name).collect();
        let properties = if items.is_empty() {
            vec![from_manifest(&name, &path)?]
        } else {
            items.into_iter().cloned().collect()
        };
        for p in properties {
            let mut tags = p.tags.clone();
            for tag in &system {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            plan.push(PlannedFile {
                name: name.clone(),
                path: path.clone(),
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
fn from_manifest(name: &str, path: &std::path::Path) -> Result<OutputFile, StagingError> {
    let manifest_path = berth_host_api::paths::manifest_for(path);
    let mut properties = OutputFile::new(name);
    let Ok(text) = fs::read_to_string(&manifest_path) else {
        return Ok(properties);
    };
    let shown = format!("{OUT_FILES}/{name}{MANIFEST_SUFFIX}");
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
    storage: &mut Storage,
    plan: &[PlannedFile],
) -> Result<Vec<UploadedFile>, StagingError> {
    let mut uploaded = Vec::with_capacity(plan.len());
    for file in plan {
        match storage.upload_file(&file.path, &file.upload) {
            Ok(id) => {
                let bytes = fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0);
                uploaded.push(UploadedFile {
                    id: id.0,
                    name: file.name.clone(),
                    tags: file.upload.tags.clone(),
                    bytes,
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
pub fn remove_uploaded(storage: &mut Storage, uploaded: &[UploadedFile]) {
    for file in uploaded {
        if let Err(e) = storage.delete_file(FileId(file.id)) {
            tracing::warn!(
                "removing uploaded file {} after a failed output mapping: {e}",
                file.id
            );
        }
    }
}

//! Input file mapping (reference §1.2 "Input file", §4.2, §2.3; seed 003 "Files"): each
//! `storage.input.files[]` item lists Storage files and downloads them to
//! `in/files/<id>_<name>` with a manifest next to each.
//!
//! - `tags`: files carrying every tag; `source.tags`: the query `tags:"a" AND NOT tags:"b"`;
//!   `query`: a query string, AND-ed with the `source.tags` query; `file_ids`: exactly these;
//! - `changed_since`: files created since then (`adaptive`: files newer than the stored
//!   `lastImportId` of the mapping's tags);
//! - `limit`: at most this many files, newest first, **10** when unset (seed 003);
//! - `filter_by_run_id`: only files uploaded by this run or one of its parent runs (seed 003);
//! - `processed_tags` are added by the job runner after a successful job ([`tag_processed`]).
//!
//! Each mapping records `{tags, lastImportId}` for the input-mapping state (§5).

use std::fs;

use berth_host_api::DataDir;
use berth_host_api::config::{InputFile, SourceTag, TagMatch};
use berth_host_api::manifest::InputFileManifest;
use berth_host_api::state::FileState;
use serde::Serialize;
use time::OffsetDateTime;

use super::input_tables::{ADAPTIVE, format_time};
use super::{JobIds, Stage, StagingError, is_plain_file_name, parse_changed_since, scalar_text};
use berth_storage::{Backend, FileFilter, FileId, FileInfo};

/// One downloaded input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StagedFile {
    /// The Storage file id.
    pub id: u64,
    /// The file's name in Storage.
    pub name: String,
    /// The name under `in/files`: `<id>_<name>`.
    pub local_name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// The index of the mapping item that selected it.
    pub mapping: usize,
}

/// What input file staging produced.
#[derive(Debug, Clone, Default)]
pub struct StagedFiles {
    /// Every downloaded file (a file selected by two mappings appears twice).
    pub files: Vec<StagedFile>,
    /// `{tags, lastImportId}` per mapping item that has tags.
    pub state: Vec<FileState>,
}

/// Downloads the files every item of `mapping` selects. `previous` is the stored input-mapping
/// state (for `adaptive`).
pub fn stage_input_files(
    storage: &dyn Backend,
    data: &DataDir,
    mapping: &[InputFile],
    previous: &[FileState],
    ids: &JobIds,
    now: OffsetDateTime,
) -> Result<StagedFiles, StagingError> {
    let mut staged = StagedFiles::default();
    for (index, item) in mapping.iter().enumerate() {
        let subject = format!("storage.input.files.{index}");
        let state_tags = state_tags(item);
        let last = previous.iter().find(|s| s.tags == state_tags);
        let filter = file_filter(item, last, ids, now)
            .map_err(|m| StagingError::user(Stage::InputMapping, &subject, m))?;
        let files = storage
            .list_files(&filter)
            .map_err(|e| StagingError::storage(Stage::InputMapping, &subject, e))?;
        for file in &files {
            staged.files.push(download(storage, data, file, index)?);
        }
        if !state_tags.is_empty() {
            let newest = files.iter().map(|f| f.id.0).max();
            let last_import_id = match (newest, last) {
                (Some(id), _) => id.to_string(),
                (None, Some(last)) => last.last_import_id.clone(),
                (None, None) => "0".to_owned(),
            };
            staged.state.retain(|s| s.tags != state_tags);
            staged.state.push(FileState {
                tags: state_tags,
                last_import_id,
            });
        }
    }
    Ok(staged)
}

/// The tags a mapping's file state is keyed by: `source.tags`, else `tags` as includes.
fn state_tags(item: &InputFile) -> Vec<SourceTag> {
    match &item.source {
        Some(source) if !source.tags.is_empty() => source.tags.clone(),
        _ => item
            .tags
            .iter()
            .map(|t| SourceTag {
                name: t.clone(),
                match_kind: TagMatch::Include,
            })
            .collect(),
    }
}

/// The Storage listing of one mapping item; `Err` is the user-facing message.
pub fn file_filter(
    item: &InputFile,
    last: Option<&FileState>,
    ids: &JobIds,
    now: OffsetDateTime,
) -> Result<FileFilter, String> {
    let limit = usize::try_from(item.effective_limit()).unwrap_or(usize::MAX);
    if !item.file_ids.is_empty() {
        let ids = item
            .file_ids
            .iter()
            .map(|v| scalar_text(v).parse::<FileId>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(FileFilter {
            file_ids: ids,
            limit: Some(limit),
            ..FileFilter::default()
        });
    }
    let mut since_id = None;
    let mut parts: Vec<String> = Vec::new();
    if let Some(query) = &item.query {
        parts.push(query.clone());
    }
    if let Some(source) = &item.source
        && !source.tags.is_empty()
    {
        let tags = source_tags_query(&source.tags);
        parts.push(if parts.is_empty() {
            tags
        } else {
            format!("({tags})")
        });
    }
    match item.changed_since.as_deref() {
        None => {}
        Some(ADAPTIVE) => {
            since_id = last
                .and_then(|s| s.last_import_id.parse::<FileId>().ok())
                .filter(|id| id.0 > 0);
        }
        Some(text) => {
            let since = parse_changed_since(text, now).ok_or_else(|| {
                format!("Invalid changed_since value \"{text}\" of a file mapping.")
            })?;
            parts.push(format!("created:[\"{}\" TO *]", format_time(since)));
        }
    }
    Ok(FileFilter {
        tags: item.tags.clone(),
        query: (!parts.is_empty()).then(|| parts.join(" AND ")),
        file_ids: Vec::new(),
        limit: Some(limit),
        since_id,
        run_ids: if item.filter_by_run_id {
            ids.run_id_chain()
        } else {
            Vec::new()
        },
    })
}

/// `tags:"a" AND NOT tags:"b"` (reference §4.2).
pub fn source_tags_query(tags: &[SourceTag]) -> String {
    tags.iter()
        .map(|t| match t.match_kind {
            TagMatch::Include => format!("tags:\"{}\"", t.name),
            TagMatch::Exclude => format!("NOT tags:\"{}\"", t.name),
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn download(
    storage: &dyn Backend,
    data: &DataDir,
    file: &FileInfo,
    mapping: usize,
) -> Result<StagedFile, StagingError> {
    let local_name = format!("{}_{}", file.id, file.name);
    let subject = format!("file {} ({})", file.name, file.id);
    if !is_plain_file_name(&local_name) {
        return Err(StagingError::user(
            Stage::InputMapping,
            &subject,
            format!(
                "Failed to download file {} ({}): the name is not a file name.",
                file.name, file.id
            ),
        ));
    }
    let path = data.in_files().join(&local_name);
    let info = storage.download_file(file.id, &path).map_err(|e| {
        StagingError::app(
            Stage::InputMapping,
            &subject,
            anyhow::anyhow!("Failed to download file {} ({}): {e}", file.name, file.id),
        )
    })?;
    let manifest = InputFileManifest {
        id: info.id.0,
        name: info.name.clone(),
        created: Some(format_time(info.created)),
        is_public: info.is_public,
        is_encrypted: info.is_encrypted,
        is_sliced: false,
        tags: info.tags.clone(),
        max_age_days: if info.is_permanent { 0 } else { 15 },
        size_bytes: info.size_bytes,
    };
    let text = crate::format::encode(data.format, &manifest)
        .map_err(|e| StagingError::app(Stage::InputMapping, &subject, anyhow::anyhow!(e)))?;
    fs::write(berth_host_api::paths::manifest_for(&path), text)
        .map_err(|e| StagingError::app(Stage::InputMapping, &subject, e))?;
    Ok(StagedFile {
        id: info.id.0,
        name: info.name,
        local_name,
        bytes: info.size_bytes,
        mapping,
    })
}

/// Adds each mapping's `processed_tags` to the files it downloaded (after a successful job).
pub fn tag_processed(
    storage: &mut dyn Backend,
    mapping: &[InputFile],
    staged: &StagedFiles,
) -> Result<(), StagingError> {
    for file in &staged.files {
        let Some(item) = mapping.get(file.mapping) else {
            continue;
        };
        if item.processed_tags.is_empty() {
            continue;
        }
        storage
            .add_tags(FileId(file.id), &item.processed_tags)
            .map_err(|e| {
                StagingError::storage(Stage::OutputMapping, format!("file {}", file.id), e)
            })?;
    }
    Ok(())
}

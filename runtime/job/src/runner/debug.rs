//! Debug mode (reference §9.3) and the data folders a job leaves behind.
//!
//! In debug mode the whole data folder is zipped as `stage_<n>.zip` before image `n` runs (the
//! before-processors, the main component, the after-processors, counted from 0; see
//! `runner/images.rs`), and as `stage_output.zip` after the last instead of output mapping; the archives are stored as non-permanent Storage files tagged `debug`,
//! `<componentId>`, `jobId:<id>` and `rowId:<row id or empty>`. Inside them, and in a data folder
//! kept with `--keep-data`, `config.json` and the state files have every secret hidden. What a
//! component left is hostile input: symbolic links are not followed (they could point at host
//! files), files are opened with `O_NOFOLLOW` and must still be regular files once open, and an
//! archive holds at most the output budget's bytes and the `out/` entry budget's entries (a
//! sparse terabyte in `/data/in` ends the archive with a user error, not the host's memory).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use berth_host_api::FileFormat;
use berth_host_api::paths::{CONFIG_FILE, IN_STATE, OUT_STATE};
use berth_secrets::Redactor;
use berth_staging::{Stage, StagingError};
use berth_storage::FileUpload;
use zip::write::SimpleFileOptions;

use super::{Job, Prepared, open_storage};
use crate::record::FileMove;

/// The files holding decrypted values, relative to the data folder (JSON, then the YAML names
/// of a component whose `configuration_format` is `yaml`).
const REDACTED_FILES: [&str; 6] = [
    CONFIG_FILE,
    IN_STATE,
    OUT_STATE,
    "config.yml",
    "in/state.yml",
    "out/state.yml",
];

/// An archive made, not yet stored.
pub(super) struct Archive {
    name: String,
    path: PathBuf,
}

impl Job<'_> {
    /// Zips the data folder as `name`, with `config.json` and the state files redacted.
    pub(super) fn archive(
        &mut self,
        prepared: &Prepared,
        name: &str,
        stage: Stage,
    ) -> Result<Archive, StagingError> {
        let row = self.ids.row_id.as_deref().unwrap_or("");
        let dir = self.work.join("debug").join(format!("row-{row}"));
        let path = dir.join(name);
        let fail = |e: anyhow::Error| StagingError::app(stage, name, e);
        fs::create_dir_all(&dir)
            .map_err(|e| fail(anyhow::Error::from(e).context("creating the debug folder")))?;
        let limits = prepared.settings.output_limits(&prepared.component);
        let budget = ArchiveBudget {
            bytes: limits.output_bytes,
            entries: limits.out_entries,
        };
        zip_data_folder(&prepared.data.root, &path, self.secrets.redactor(), budget).map_err(
            |e| match e.downcast::<ArchiveTooLarge>() {
                Ok(too_large) => StagingError::user(stage, name, too_large.to_string()),
                Err(e) => fail(e.context(format!("archiving the data folder as {name}"))),
            },
        )?;
        Ok(Archive {
            name: name.to_owned(),
            path,
        })
    }

    /// Stores the archives as Storage files and records them.
    pub(super) fn store_archives(&mut self, archives: Vec<Archive>) -> Result<(), StagingError> {
        if archives.is_empty() {
            return Ok(());
        }
        let mut storage = open_storage(self.home, Stage::OutputMapping)?;
        let tags = vec![
            "debug".to_owned(),
            self.ids.component_id.clone(),
            format!("jobId:{}", self.record.id),
            format!("rowId:{}", self.ids.row_id.as_deref().unwrap_or("")),
        ];
        for archive in archives {
            let upload = FileUpload {
                name: Some(archive.name.clone()),
                tags: tags.clone(),
                is_public: false,
                is_permanent: false,
                is_encrypted: true,
                run_id: Some(self.ids.run_id.clone()),
            };
            let id = storage
                .upload_file(&archive.path, &upload)
                .map_err(|e| StagingError::storage(Stage::OutputMapping, &archive.name, e))?;
            let bytes = fs::metadata(&archive.path).map(|m| m.len()).unwrap_or(0);
            self.record.debug_archives.push(FileMove {
                id: id.0,
                name: archive.name,
                bytes,
                tags: tags.clone(),
            });
        }
        Ok(())
    }
}

/// How much one debug archive may hold.
#[derive(Debug, Clone, Copy)]
struct ArchiveBudget {
    bytes: u64,
    entries: u64,
}

/// The data folder is larger than a debug archive may be.
#[derive(Debug, thiserror::Error)]
#[error(
    "The data folder is too large for a debug archive: {what} exceeds the limit of {limit} (change \
     it with the output budgets in settings.toml or the component definition)."
)]
struct ArchiveTooLarge {
    what: String,
    limit: u64,
}

/// Opens `path` for reading without following a final symbolic link, and checks it is still a
/// regular file once open (the entry could have been swapped since it was listed).
fn open_regular(path: &Path) -> anyhow::Result<Option<(fs::File, u64)>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = match fs::OpenOptions::new()
        .read(true)
        // A FIFO planted in the folder must not block the open.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        // It is a link now.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let meta = file.metadata()?;
    Ok(meta.is_file().then_some((file, meta.len())))
}

/// Writes `data` (recursively, entries sorted, symbolic links skipped) to the zip file `target`,
/// the files that hold decrypted values redacted, within `budget`.
fn zip_data_folder(
    data: &Path,
    target: &Path,
    redactor: &Redactor,
    budget: ArchiveBudget,
) -> anyhow::Result<()> {
    let mut bytes_left = budget.bytes;
    let mut entries = 0u64;
    let file = fs::File::create(target)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let mut listed: Vec<_> = fs::read_dir(data.join(&relative))?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|e| e.path())
            .collect();
        listed.sort();
        for path in listed.into_iter().rev() {
            entries += 1;
            if entries > budget.entries {
                return Err(ArchiveTooLarge {
                    what: format!("{entries} entries"),
                    limit: budget.entries,
                }
                .into());
            }
            let name = relative.join(path.file_name().unwrap_or_default());
            let meta = fs::symlink_metadata(&path)?;
            let entry = name.to_string_lossy().into_owned();
            if meta.is_dir() {
                zip.add_directory(format!("{entry}/"), options)?;
                stack.push(name);
            } else if meta.is_file() {
                let Some((file, size)) = open_regular(&path)? else {
                    tracing::debug!("not archiving {entry}: no longer a regular file");
                    continue;
                };
                if size > bytes_left {
                    return Err(ArchiveTooLarge {
                        what: format!("{entry} ({size} bytes, with what came before it)"),
                        limit: budget.bytes,
                    }
                    .into());
                }
                bytes_left -= size;
                zip.start_file(entry.as_str(), options)?;
                // Never more than the size checked, even if the file grows meanwhile.
                let mut reader = std::io::Read::take(file, size);
                if REDACTED_FILES.contains(&entry.as_str()) {
                    let mut bytes = Vec::new();
                    std::io::Read::read_to_end(&mut reader, &mut bytes)?;
                    zip.write_all(&redact_file(&entry, &bytes, redactor))?;
                } else {
                    std::io::copy(&mut reader, &mut zip)?;
                }
            } else {
                tracing::debug!("not archiving {entry}: not a regular file or folder");
            }
        }
    }
    zip.finish()?.flush()?;
    Ok(())
}

/// `config.json` or a state file with every `#` value hidden (decrypted or not: a state the
/// component wrote holds values berth never decrypted) and every known secret hidden anywhere.
fn redact_file(name: &str, bytes: &[u8], redactor: &Redactor) -> Vec<u8> {
    let format = if name.ends_with(".yml") {
        FileFormat::Yaml
    } else {
        FileFormat::Json
    };
    let value = berth_staging::format::to_json(format, "file", name, bytes)
        .ok()
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok());
    match value {
        Some(mut value) => {
            let before = value.clone();
            berth_secrets::walk::hide_secret_values(&mut value, berth_secrets::HIDDEN);
            if value == before {
                return redactor.redact_json_text(bytes);
            }
            let text = berth_staging::format::encode(format, &value).unwrap_or_default();
            redactor.redact_json_text(text.as_bytes())
        }
        None => redactor.redact_json_text(bytes),
    }
}

/// Redacts `config.json` and the state files in every data folder under a kept job folder
/// (`data/`, or `row-<id>/data/` per row).
pub(super) fn redact_data_folders(work: &Path, redactor: &Redactor) {
    let mut folders = vec![work.join("data")];
    if let Ok(entries) = fs::read_dir(work) {
        folders.extend(
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("row-"))
                .map(|e| e.path().join("data")),
        );
    }
    for folder in folders {
        for relative in REDACTED_FILES {
            let path = folder.join(relative);
            // Never through a link a component left: only a regular file is rewritten.
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            if let Ok(bytes) = fs::read(&path) {
                let redacted = redact_file(relative, &bytes, redactor);
                if redacted != bytes
                    && let Err(e) = fs::write(&path, redacted)
                {
                    tracing::warn!("redacting {}: {e}", path.display());
                }
            }
        }
    }
}

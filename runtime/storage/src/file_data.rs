//! Files as an interface: [`FileData`], what every Storage backend does with Storage files (the
//! embedded [`Storage`] here, PostgreSQL in `berth-postgres`), so one behaviour suite holds each
//! of them to the same rules.
//!
//! The rules are decided once, in this crate: [`crate::FileUpload::checked`] (name, tags, run
//! id) and [`crate::FileFilter::matcher`] (query, tags, ids, run ids, limit). A backend stores:
//! ids increase with every upload, listings are newest first, an upload is all or nothing (a
//! failed one leaves no file and no content behind), tags keep the order they were added in.

use std::io::Write;
use std::path::Path;

use crate::{FileFilter, FileId, FileInfo, FileUpload, OpenInput, Storage, StorageError};

/// Storage files: uploading, describing, listing, downloading, tagging and deleting them.
pub trait FileData {
    /// Stores a copy of the file at `path` and returns its new id (see
    /// [`Storage::upload_file`]).
    fn upload_file(&mut self, path: &Path, upload: &FileUpload) -> Result<FileId, StorageError>;

    /// Stores a copy of a file the caller opened (`path` names it in messages and, without
    /// `upload.name`, gives the name) and returns its new id; at most `input`'s bound is read
    /// (see [`Storage::upload_open`]).
    fn upload_open(
        &mut self,
        path: &Path,
        input: &OpenInput,
        upload: &FileUpload,
    ) -> Result<FileId, StorageError>;

    /// Describes one file ([`StorageError::FileNotFound`] when there is none).
    fn file(&self, id: FileId) -> Result<FileInfo, StorageError>;

    /// Files matching `filter`, newest first.
    fn list_files(&self, filter: &FileFilter) -> Result<Vec<FileInfo>, StorageError>;

    /// Copies a file's content to `dest` and returns its description.
    fn download_file(&self, id: FileId, dest: &Path) -> Result<FileInfo, StorageError>;

    /// Writes a file's content to `out` (a pipe, a response body) and returns its description.
    fn write_file(&self, id: FileId, out: &mut dyn Write) -> Result<FileInfo, StorageError>;

    /// Adds tags (existing ones are kept once) and returns the updated description.
    fn add_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, StorageError>;

    /// Removes tags and returns the updated description.
    fn remove_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, StorageError>;

    /// Deletes a file and its content.
    fn delete_file(&mut self, id: FileId) -> Result<(), StorageError>;
}

impl FileData for Storage {
    fn upload_file(&mut self, path: &Path, upload: &FileUpload) -> Result<FileId, StorageError> {
        Storage::upload_file(self, path, upload)
    }

    fn upload_open(
        &mut self,
        path: &Path,
        input: &OpenInput,
        upload: &FileUpload,
    ) -> Result<FileId, StorageError> {
        Storage::upload_open(self, path, input, upload)
    }

    fn file(&self, id: FileId) -> Result<FileInfo, StorageError> {
        Storage::file(self, id)
    }

    fn list_files(&self, filter: &FileFilter) -> Result<Vec<FileInfo>, StorageError> {
        Storage::list_files(self, filter)
    }

    fn download_file(&self, id: FileId, dest: &Path) -> Result<FileInfo, StorageError> {
        Storage::download_file(self, id, dest)
    }

    fn write_file(&self, id: FileId, out: &mut dyn Write) -> Result<FileInfo, StorageError> {
        let file = Storage::file(self, id)?;
        let path = self.file_content_path(id)?;
        let mut input = std::fs::File::open(&path)
            .map_err(StorageError::io("reading the stored content", &path))?;
        std::io::copy(&mut input, out).map_err(|source| StorageError::Io {
            stage: "writing the file's content",
            path: "<output>".into(),
            source,
        })?;
        Ok(file)
    }

    fn add_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, StorageError> {
        Storage::add_tags(self, id, tags)
    }

    fn remove_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, StorageError> {
        Storage::remove_tags(self, id, tags)
    }

    fn delete_file(&mut self, id: FileId) -> Result<(), StorageError> {
        Storage::delete_file(self, id)
    }
}

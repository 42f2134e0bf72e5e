//! Storage files on PostgreSQL: the catalog (`berth_files`) and each file's content as a large
//! object, and [`FileData`] for [`PgStorage`] — the embedded Storage's file rules (decided in
//! `berth-storage`: [`FileUpload::checked`], [`berth_storage::FileFilter::matcher`]), stored here.
//!
//! Content moves in 1 MiB pieces (`lo_put` on upload, `lo_get` on download), so neither side
//! holds a whole file in memory; a download reads in one repeatable-read transaction, so a file
//! deleted meanwhile is still read whole.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{Oid, ToSql};
use postgres::{GenericClient, IsolationLevel, Row};

use berth_storage::{FileData, FileFilter, FileId, FileInfo, FileUpload, OpenInput, StorageError};

use crate::{PgError, PgStorage};

/// The piece of content one statement moves.
const PIECE: usize = 1 << 20;

/// The columns [`file_info`] reads, then the content's large object.
const COLUMNS: &str = "id, name, tags, created, size_bytes, is_public, is_permanent, \
     is_encrypted, run_id, content";

fn file_info(row: &Row) -> FileInfo {
    FileInfo {
        id: FileId(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)),
        name: row.get(1),
        tags: row.get(2),
        created: row.get(3),
        size_bytes: u64::try_from(row.get::<_, i64>(4)).unwrap_or(0),
        is_public: row.get(5),
        is_permanent: row.get(6),
        is_encrypted: row.get(7),
        run_id: row.get(8),
    }
}

fn subject(id: FileId) -> String {
    format!("file {id}")
}

/// File `id` and its content's large object; `lock` takes the row for the transaction.
fn get(
    client: &mut impl GenericClient,
    id: FileId,
    lock: bool,
) -> Result<(FileInfo, Oid), PgError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM berth_files WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let number = i64::try_from(id.0).unwrap_or(i64::MAX);
    let row = client
        .query_opt(&sql, &[&number])
        .map_err(PgError::db("reading the file catalog", subject(id)))?
        .ok_or(StorageError::FileNotFound { id: id.0 })?;
    Ok((file_info(&row), row.get(9)))
}

/// Reads until `buffer` is full or the input ends; returns the bytes read.
fn read_piece(input: &mut dyn Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl PgStorage {
    /// Stores a copy of the file at `path` and returns its new id: the embedded Storage's
    /// `upload_file`, with the same rules and errors.
    pub fn upload_file(&mut self, path: &Path, upload: &FileUpload) -> Result<FileId, PgError> {
        let mut input = FileUpload::open_source(path)?;
        self.store_upload(path, &mut input, upload)
    }

    /// Stores a copy of a file the caller opened (`path` names it in messages and, without
    /// `upload.name`, gives the name) and returns its new id; at most `input`'s bound is read.
    pub fn upload_open(
        &mut self,
        path: &Path,
        input: &OpenInput,
        upload: &FileUpload,
    ) -> Result<FileId, PgError> {
        self.store_upload(path, &mut input.reader(), upload)
    }

    fn store_upload(
        &mut self,
        path: &Path,
        input: &mut dyn Read,
        upload: &FileUpload,
    ) -> Result<FileId, PgError> {
        let (name, tags) = upload.checked(path)?;
        let read_err = |source| StorageError::ReadInput {
            what: "file",
            path: path.to_path_buf(),
            source,
        };
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", &name))?;
        let content: Oid = tx
            .query_one("SELECT lo_create(0)", &[])
            .map_err(PgError::db("creating the file's content", &name))?
            .get(0);
        let mut buffer = vec![0u8; PIECE];
        let mut size = 0i64;
        loop {
            let n = read_piece(input, &mut buffer).map_err(read_err)?;
            if n == 0 {
                break;
            }
            tx.execute(
                "SELECT lo_put($1, $2, $3)",
                &[&content, &size, &&buffer[..n]],
            )
            .map_err(PgError::db("writing the file's content", &name))?;
            size += i64::try_from(n).unwrap_or(i64::MAX);
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO berth_files (name, tags, size_bytes, is_public, is_permanent, \
                   is_encrypted, run_id, content) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &name,
                    &tags,
                    &size,
                    &upload.is_public,
                    &upload.is_permanent,
                    &upload.is_encrypted,
                    &upload.run_id,
                    &content,
                ],
            )
            .map_err(PgError::db("recording the file", &name))?
            .get(0);
        tx.commit()
            .map_err(PgError::db("committing the upload", &name))?;
        Ok(FileId(u64::try_from(id).unwrap_or(0)))
    }

    /// Describes one file ([`StorageError::FileNotFound`] when there is none).
    pub fn file(&self, id: FileId) -> Result<FileInfo, PgError> {
        Ok(get(&mut *self.client(), id, false)?.0)
    }

    /// Files matching `filter`, newest first (a query that does not parse fails with
    /// [`StorageError::InvalidQuery`] naming the position).
    pub fn list_files(&self, filter: &FileFilter) -> Result<Vec<FileInfo>, PgError> {
        let matcher = filter.matcher()?;
        let since = i64::try_from(matcher.since_id).unwrap_or(i64::MAX);
        let mut client = self.client();
        let mut rows = client
            .query_raw(
                &format!("SELECT {COLUMNS} FROM berth_files WHERE id > $1 ORDER BY id DESC"),
                [&since as &dyn ToSql],
            )
            .map_err(PgError::db("listing files", "all files"))?;
        let mut out = Vec::new();
        while out.len() < matcher.limit {
            let Some(row) = rows
                .next()
                .map_err(PgError::db("listing files", "all files"))?
            else {
                break;
            };
            let file = file_info(&row);
            if matcher.matches(&file) {
                out.push(file);
            }
        }
        Ok(out)
    }

    /// Copies a file's content to `dest` and returns its description; a failed download removes
    /// the partial copy.
    pub fn download_file(&self, id: FileId, dest: &Path) -> Result<FileInfo, PgError> {
        let write_err = |source| StorageError::Io {
            stage: "writing the downloaded file",
            path: dest.to_path_buf(),
            source,
        };
        // A missing file must not clobber whatever `dest` holds.
        self.file(id)?;
        let mut out = File::create(dest).map_err(write_err)?;
        let copied = self
            .write_content(id, &mut out, "writing the downloaded file", dest)
            .and_then(|file| {
                out.sync_all().map_err(write_err)?;
                Ok(file)
            });
        if copied.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        copied
    }

    /// Writes a file's content to `out` and returns its description.
    pub fn write_file(&self, id: FileId, out: &mut dyn Write) -> Result<FileInfo, PgError> {
        self.write_content(id, out, "writing the file's content", Path::new("<output>"))
    }

    /// Reads a file's content in pieces, in one repeatable-read transaction, into `out` (named
    /// `dest` and written at `stage` in errors).
    fn write_content(
        &self,
        id: FileId,
        out: &mut dyn Write,
        stage: &'static str,
        dest: &Path,
    ) -> Result<FileInfo, PgError> {
        let mut client = self.client();
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(PgError::db("starting a transaction", subject(id)))?;
        let (file, content) = get(&mut tx, id, false)?;
        let write_err = |source| StorageError::Io {
            stage,
            path: dest.to_path_buf(),
            source,
        };
        let size = i64::try_from(file.size_bytes).unwrap_or(i64::MAX);
        let piece = i32::try_from(PIECE).unwrap_or(i32::MAX);
        let mut offset = 0i64;
        while offset < size {
            let bytes: Vec<u8> = tx
                .query_one("SELECT lo_get($1, $2, $3)", &[&content, &offset, &piece])
                .map_err(PgError::db("reading the stored content", subject(id)))?
                .get(0);
            if bytes.is_empty() {
                break;
            }
            out.write_all(&bytes).map_err(write_err)?;
            offset += i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        }
        out.flush().map_err(write_err)?;
        tx.commit()
            .map_err(PgError::db("ending the read", subject(id)))?;
        Ok(file)
    }

    /// Adds tags to a file (existing ones are kept once) and returns the updated description.
    pub fn add_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, PgError> {
        let tags = id.checked_tags(tags)?;
        self.update_tags(id, |current| {
            for tag in tags {
                if !current.contains(&tag) {
                    current.push(tag);
                }
            }
        })
    }

    /// Removes tags from a file and returns the updated description.
    pub fn remove_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, PgError> {
        self.update_tags(id, |current| current.retain(|t| !tags.contains(t)))
    }

    fn update_tags(
        &mut self,
        id: FileId,
        change: impl FnOnce(&mut Vec<String>),
    ) -> Result<FileInfo, PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", subject(id)))?;
        let (mut file, _) = get(&mut tx, id, true)?;
        change(&mut file.tags);
        let number = i64::try_from(id.0).unwrap_or(i64::MAX);
        tx.execute(
            "UPDATE berth_files SET tags = $1 WHERE id = $2",
            &[&file.tags, &number],
        )
        .map_err(PgError::db("updating file tags", subject(id)))?;
        tx.commit()
            .map_err(PgError::db("committing file tags", subject(id)))?;
        Ok(file)
    }

    /// Deletes a file and its content, in one transaction.
    pub fn delete_file(&mut self, id: FileId) -> Result<(), PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", subject(id)))?;
        let (_, content) = get(&mut tx, id, true)?;
        let number = i64::try_from(id.0).unwrap_or(i64::MAX);
        tx.execute("SELECT lo_unlink($1)", &[&content])
            .map_err(PgError::db("deleting the file content", subject(id)))?;
        tx.execute("DELETE FROM berth_files WHERE id = $1", &[&number])
            .map_err(PgError::db("deleting the file", subject(id)))?;
        tx.commit()
            .map_err(PgError::db("committing the delete", subject(id)))
    }
}

impl FileData for PgStorage {
    fn upload_file(&mut self, path: &Path, upload: &FileUpload) -> Result<FileId, StorageError> {
        Ok(PgStorage::upload_file(self, path, upload)?)
    }

    fn upload_open(
        &mut self,
        path: &Path,
        input: &OpenInput,
        upload: &FileUpload,
    ) -> Result<FileId, StorageError> {
        Ok(PgStorage::upload_open(self, path, input, upload)?)
    }

    fn file(&self, id: FileId) -> Result<FileInfo, StorageError> {
        Ok(PgStorage::file(self, id)?)
    }

    fn list_files(&self, filter: &FileFilter) -> Result<Vec<FileInfo>, StorageError> {
        Ok(PgStorage::list_files(self, filter)?)
    }

    fn download_file(&self, id: FileId, dest: &Path) -> Result<FileInfo, StorageError> {
        Ok(PgStorage::download_file(self, id, dest)?)
    }

    fn write_file(&self, id: FileId, out: &mut dyn Write) -> Result<FileInfo, StorageError> {
        Ok(PgStorage::write_file(self, id, out)?)
    }

    fn add_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, StorageError> {
        Ok(PgStorage::add_tags(self, id, tags)?)
    }

    fn remove_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, StorageError> {
        Ok(PgStorage::remove_tags(self, id, tags)?)
    }

    fn delete_file(&mut self, id: FileId) -> Result<(), StorageError> {
        Ok(PgStorage::delete_file(self, id)?)
    }
}

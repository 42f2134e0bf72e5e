//! Storage files ("file uploads"): numeric ids, name, tags, flags and the uploading run id in
//! the catalog; content under `files/<id>` in the Storage directory. Listing filters by tags,
//! ids, run ids, `since_id` and a [`FileQuery`].

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use duckdb::{Connection, OptionalExt, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::db::{from_micros, rfc3339, to_micros};
use super::file_query::{FileFacts, FileQuery};
use super::{OpenInput, Storage, StorageError};

/// How many files a listing returns when no limit is given (the Storage API default).
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// A Storage file id: a positive integer, increasing with every upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileId(pub u64);

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FileId {
    /// Checks tags to add to this file and returns them trimmed, each once (the rule every
    /// Storage backend shares).
    pub fn checked_tags(self, tags: &[String]) -> Result<Vec<String>, StorageError> {
        validate_tags(&format!("file {self}"), tags)
    }
}

impl FromStr for FileId {
    type Err = StorageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<u64>() {
            Ok(id) if id > 0 => Ok(Self(id)),
            _ => Err(StorageError::InvalidFileId { id: s.to_owned() }),
        }
    }
}

/// Properties of a file being uploaded (the output file mapping's options).
#[derive(Debug, Clone)]
pub struct FileUpload {
    /// The file name; `None` takes the uploaded path's file name.
    pub name: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// `is_public` (default false).
    pub is_public: bool,
    /// `is_permanent` (default false: the file would expire after 15 days in Keboola).
    pub is_permanent: bool,
    /// `is_encrypted` (default true, as in the output mapping).
    pub is_encrypted: bool,
    /// The run id of the job that uploads the file.
    pub run_id: Option<String>,
}

impl Default for FileUpload {
    fn default() -> Self {
        Self {
            name: None,
            tags: Vec::new(),
            is_public: false,
            is_permanent: false,
            is_encrypted: true,
            run_id: None,
        }
    }
}

/// What Storage knows about a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// The id.
    pub id: FileId,
    /// The name.
    pub name: String,
    /// Tags, in the order they were added.
    pub tags: Vec<String>,
    /// Upload time.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created: OffsetDateTime,
    /// Size in bytes.
    pub size_bytes: u64,
    /// `is_public`.
    pub is_public: bool,
    /// `is_permanent`.
    pub is_permanent: bool,
    /// `is_encrypted`.
    pub is_encrypted: bool,
    /// The run id of the job that uploaded it.
    pub run_id: Option<String>,
}

impl FileInfo {
    /// The fields a [`FileQuery`] matches against.
    pub fn facts(&self) -> FileFacts<'_> {
        FileFacts {
            id: self.id.0,
            name: &self.name,
            tags: &self.tags,
            created: self.created,
            size_bytes: self.size_bytes,
            is_public: self.is_public,
            is_permanent: self.is_permanent,
            is_encrypted: self.is_encrypted,
            run_id: self.run_id.as_deref(),
        }
    }
}

/// Which files to list. Every given criterion must hold.
#[derive(Debug, Clone, Default)]
pub struct FileFilter {
    /// The file carries all of these tags.
    pub tags: Vec<String>,
    /// An Elasticsearch-style query (see [`FileQuery`]).
    pub query: Option<String>,
    /// The file is one of these.
    pub file_ids: Vec<FileId>,
    /// At most this many files, newest first; `None` means [`DEFAULT_LIST_LIMIT`].
    pub limit: Option<usize>,
    /// Only files with a greater id (the adaptive input mapping's `lastImportId`).
    pub since_id: Option<FileId>,
    /// The file was uploaded by one of these runs (`filter_by_run_id`: the job's own run id and
    /// its parents').
    pub run_ids: Vec<String>,
}

const COLUMNS: &str =
    "id, name, tags, created, size_bytes, is_public, is_permanent, is_encrypted, run_id";

fn file_from_row(row: &duckdb::Row<'_>) -> duckdb::Result<(FileInfo, String)> {
    let id: i64 = row.get(0)?;
    let tags: String = row.get(2)?;
    let size: i64 = row.get(4)?;
    Ok((
        FileInfo {
            id: FileId(u64::try_from(id).unwrap_or(0)),
            name: row.get(1)?,
            tags: Vec::new(),
            created: from_micros(row.get(3)?),
            size_bytes: u64::try_from(size).unwrap_or(0),
            is_public: row.get(5)?,
            is_permanent: row.get(6)?,
            is_encrypted: row.get(7)?,
            run_id: row.get(8)?,
        },
        tags,
    ))
}

fn with_tags((mut file, tags): (FileInfo, String)) -> Result<FileInfo, StorageError> {
    file.tags = serde_json::from_str(&tags).map_err(|err| StorageError::Database {
        stage: "reading the file catalog",
        subject: format!("file {}", file.id),
        source: err.into(),
    })?;
    Ok(file)
}

fn get_file(conn: &Connection, id: FileId) -> Result<FileInfo, StorageError> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM berth_files WHERE id = ?"),
            params![id.0 as i64],
            file_from_row,
        )
        .optional()
        .map_err(StorageError::db(
            "reading the file catalog",
            format!("file {id}"),
        ))?;
    match row {
        Some(row) => with_tags(row),
        None => Err(StorageError::FileNotFound { id: id.0 }),
    }
}

impl FileUpload {
    /// Opens the file at `path` for an upload: a regular file, else the caller's error naming it
    /// (the rule every Storage backend shares).
    pub fn open_source(path: &Path) -> Result<fs::File, StorageError> {
        let read_err = |source| StorageError::ReadInput {
            what: "file",
            path: path.to_path_buf(),
            source,
        };
        let meta = fs::metadata(path).map_err(read_err)?;
        if !meta.is_file() {
            return Err(read_err(std::io::Error::other("not a regular file")));
        }
        fs::File::open(path).map_err(read_err)
    }

    /// Checks the upload of the file at `path` (which names it unless `name` does) and returns
    /// its name and tags (trimmed, each once): the rules every Storage backend shares.
    pub fn checked(&self, path: &Path) -> Result<(String, Vec<String>), StorageError> {
        let name = match &self.name {
            Some(name) => name.clone(),
            None => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        validate_name(&name)?;
        let tags = validate_tags(&format!("file \"{name}\""), &self.tags)?;
        let bad_run_id = match self.run_id.as_deref() {
            Some("") => Some("the run id is empty"),
            Some(run_id) if run_id.contains('\0') => Some("the run id cannot contain NUL"),
            _ => None,
        };
        if let Some(reason) = bad_run_id {
            return Err(StorageError::InvalidOption {
                subject: format!("file \"{name}\""),
                option: "run id",
                reason: reason.into(),
            });
        }
        Ok((name, tags))
    }
}

/// A [`FileFilter`] checked and ready to match files, newest first: what every Storage backend
/// lists by.
#[derive(Debug)]
pub struct FileMatcher<'a> {
    filter: &'a FileFilter,
    query: Option<FileQuery>,
    tags: Vec<String>,
    /// At most this many files.
    pub limit: usize,
    /// Only files with a greater id (0: all).
    pub since_id: u64,
}

impl FileFilter {
    /// Checks the filter: its query parses ([`StorageError::InvalidQuery`] naming the position)
    /// and its tags are not empty.
    pub fn matcher(&self) -> Result<FileMatcher<'_>, StorageError> {
        let query = match &self.query {
            Some(q) => Some(
                FileQuery::parse(q).map_err(|err| StorageError::InvalidQuery {
                    query: q.clone(),
                    position: err.position,
                    message: err.message,
                })?,
            ),
            None => None,
        };
        Ok(FileMatcher {
            filter: self,
            query,
            tags: validate_tags("file listing", &self.tags)?,
            limit: self.limit.unwrap_or(DEFAULT_LIST_LIMIT),
            since_id: self.since_id.map_or(0, |id| id.0),
        })
    }
}

impl FileMatcher<'_> {
    /// True when `file` meets every criterion (but `since_id` and the limit, which the listing
    /// applies).
    pub fn matches(&self, file: &FileInfo) -> bool {
        (self.filter.file_ids.is_empty() || self.filter.file_ids.contains(&file.id))
            && self.tags.iter().all(|t| file.tags.contains(t))
            && (self.filter.run_ids.is_empty()
                || file
                    .run_id
                    .as_ref()
                    .is_some_and(|r| self.filter.run_ids.contains(r)))
            && self.query.as_ref().is_none_or(|q| q.matches(&file.facts()))
    }
}

fn validate_tags(subject: &str, tags: &[String]) -> Result<Vec<String>, StorageError> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim();
        if tag.is_empty() {
            return Err(StorageError::InvalidOption {
                subject: subject.to_owned(),
                option: "tag",
                reason: "a tag is empty".into(),
            });
        }
        if tag.contains('\0') {
            return Err(StorageError::InvalidOption {
                subject: subject.to_owned(),
                option: "tag",
                reason: "a tag cannot contain NUL".into(),
            });
        }
        if !out.iter().any(|t| t == tag) {
            out.push(tag.to_owned());
        }
    }
    Ok(out)
}

fn validate_name(name: &str) -> Result<(), StorageError> {
    let bad = if name.is_empty() {
        Some("the name is empty")
    } else if name == "." || name == ".." {
        Some("the name cannot be \".\" or \"..\"")
    } else if name.contains(['/', '\\', '\0']) {
        Some("the name cannot contain '/', '\\' or NUL")
    } else {
        None
    };
    match bad {
        Some(reason) => Err(StorageError::InvalidOption {
            subject: format!("file \"{name}\""),
            option: "name",
            reason: reason.into(),
        }),
        None => Ok(()),
    }
}

impl Storage {
    fn files_dir(&self) -> PathBuf {
        self.dir.join("files")
    }

    /// Where a file's content is stored (for staging, which copies it into `/data/in/files`).
    pub fn file_content_path(&self, id: FileId) -> Result<PathBuf, StorageError> {
        get_file(&self.conn, id)?;
        Ok(self.files_dir().join(id.to_string()))
    }

    /// Stores a copy of the file at `path` and returns its new id. This corresponds to Keboola's
    /// file upload.
    pub fn upload_file(
        &mut self,
        path: &Path,
        upload: &FileUpload,
    ) -> Result<FileId, StorageError> {
        let mut input = FileUpload::open_source(path)?;
        self.store_upload(path, &mut input, upload)
    }

    /// Stores a copy of a file the caller opened (`path` names it in messages and, without
    /// `upload.name`, gives the name) and returns its new id. At most `input`'s bound is read.
    pub fn upload_open(
        &mut self,
        path: &Path,
        input: &OpenInput,
        upload: &FileUpload,
    ) -> Result<FileId, StorageError> {
        self.store_upload(path, &mut input.reader(), upload)
    }

    fn store_upload(
        &mut self,
        path: &Path,
        input: &mut dyn std::io::Read,
        upload: &FileUpload,
    ) -> Result<FileId, StorageError> {
        let read_err = |source| StorageError::ReadInput {
            what: "file",
            path: path.to_path_buf(),
            source,
        };
        let (name, tags) = upload.checked(path)?;
        let dir = self.files_dir();
        fs::create_dir_all(&dir).map_err(StorageError::io("creating the files directory", &dir))?;
        let mut staged = tempfile::NamedTempFile::new_in(&dir)
            .map_err(StorageError::io("creating a temporary file", &dir))?;
        let size = std::io::copy(input, staged.as_file_mut()).map_err(read_err)?;
        staged
            .as_file()
            .sync_all()
            .map_err(StorageError::io("syncing an uploaded file", staged.path()))?;

        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", &name))?;
        let id: i64 = tx
            .query_row("SELECT nextval('berth_file_ids')", [], |row| row.get(0))
            .map_err(StorageError::db("allocating a file id", &name))?;
        let id = FileId(u64::try_from(id).unwrap_or(0));
        tx.execute(
            &format!("INSERT INTO berth_files ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            params![
                id.0 as i64,
                name,
                serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
                to_micros(self.clock.now()),
                size as i64,
                upload.is_public,
                upload.is_permanent,
                upload.is_encrypted,
                upload.run_id,
            ],
        )
        .map_err(StorageError::db("recording the file", &name))?;
        let target = dir.join(id.to_string());
        staged
            .persist(&target)
            .map_err(|err| StorageError::io("storing the file content", &target)(err.error))?;
        if let Err(err) = tx.commit() {
            let _ = fs::remove_file(&target);
            return Err(StorageError::db(
                "committing the upload",
                format!("file {id}"),
            )(err));
        }
        Ok(id)
    }

    /// Describes one file.
    pub fn file(&self, id: FileId) -> Result<FileInfo, StorageError> {
        get_file(&self.conn, id)
    }

    /// Lists files matching `filter`, newest first. A query that does not parse fails with
    /// [`StorageError::InvalidQuery`] naming the position.
    pub fn list_files(&self, filter: &FileFilter) -> Result<Vec<FileInfo>, StorageError> {
        let matcher = filter.matcher()?;
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM berth_files WHERE id > ? ORDER BY id DESC"
            ))
            .map_err(StorageError::db("listing files", "all files"))?;
        let since = i64::try_from(matcher.since_id).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![since], file_from_row)
            .map_err(StorageError::db("listing files", "all files"))?;
        let mut out = Vec::new();
        for row in rows {
            if out.len() >= matcher.limit {
                break;
            }
            let file = with_tags(row.map_err(StorageError::db("listing files", "all files"))?)?;
            let keep = matcher.matches(&file);
            if keep {
                out.push(file);
            }
        }
        Ok(out)
    }

    /// Copies a file's content to `dest` and returns its description.
    pub fn download_file(&self, id: FileId, dest: &Path) -> Result<FileInfo, StorageError> {
        let file = get_file(&self.conn, id)?;
        let source = self.files_dir().join(id.to_string());
        fs::copy(&source, dest).map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound && !source.exists() {
                StorageError::io("reading the stored content", &source)(err)
            } else {
                StorageError::Io {
                    stage: "writing the downloaded file",
                    path: dest.to_path_buf(),
                    source: err,
                }
            }
        })?;
        Ok(file)
    }

    /// Adds tags to a file (existing ones are kept once) and returns the updated description.
    pub fn add_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, StorageError> {
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
    pub fn remove_tags(&mut self, id: FileId, tags: &[String]) -> Result<FileInfo, StorageError> {
        self.update_tags(id, |current| current.retain(|t| !tags.contains(t)))
    }

    fn update_tags(
        &mut self,
        id: FileId,
        change: impl FnOnce(&mut Vec<String>),
    ) -> Result<FileInfo, StorageError> {
        let subject = format!("file {id}");
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", &subject))?;
        let mut file = get_file(&tx, id)?;
        change(&mut file.tags);
        tx.execute(
            "UPDATE berth_files SET tags = ? WHERE id = ?",
            params![
                serde_json::to_string(&file.tags).unwrap_or_else(|_| "[]".into()),
                id.0 as i64
            ],
        )
        .map_err(StorageError::db("updating file tags", &subject))?;
        tx.commit()
            .map_err(StorageError::db("committing file tags", &subject))?;
        Ok(file)
    }

    /// Deletes a file and its content.
    pub fn delete_file(&mut self, id: FileId) -> Result<(), StorageError> {
        let subject = format!("file {id}");
        get_file(&self.conn, id)?;
        self.conn
            .execute("DELETE FROM berth_files WHERE id = ?", params![id.0 as i64])
            .map_err(StorageError::db("deleting the file", &subject))?;
        let path = self.files_dir().join(id.to_string());
        match fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(StorageError::io("deleting the file content", &path)(err))
            }
            _ => Ok(()),
        }
    }
}

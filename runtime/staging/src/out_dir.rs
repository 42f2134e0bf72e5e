//! The one way berth reads what a component left in `out/`.
//!
//! The component wrote `out/` and may have planted anything there: symbolic links (relative ones
//! climb out of the data folder even from a WASI guest), FIFOs that block a reader forever,
//! sockets, names that are not UTF-8, sparse files of a terabyte, millions of entries, folders
//! nested without end. So berth never touches `out/` by path. [`OutDir::open`] opens the data
//! folder and `out/` as directory descriptors (the capability) and walks `out/` once, counting
//! entries and depth ([`OutputLimits::out_entries`], [`OutputLimits::out_depth`]) and adding up
//! the sizes of everything the output mapping may load. Then every reader goes through a
//! [`Folder`]:
//!
//! - each entry is opened relative to its folder's descriptor with `O_NOFOLLOW` (a link is never
//!   followed, whatever it points at) and `O_NONBLOCK` (a FIFO cannot block the open);
//! - type and size come from `fstat` on the opened descriptor, so what is checked is what is read;
//!   anything but a regular file or a folder is refused with a user error naming the entry;
//! - names are read as bytes and must be UTF-8, so no lossy conversion can make two entries one;
//! - reads are bounded: by the size `fstat` reported (a file that grows after the check is an
//!   error, see [`berth_storage::OpenInput`]) and by the limit of what is being read.
//!
//! Listing is linear: one `getdents` pass per folder, one sort, set lookups.

use std::ffi::CStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use berth_host_api::paths::MANIFEST_SUFFIX;
use berth_host_api::{DataDir, FileFormat};
use berth_storage::OpenInput;

use crate::limits::OutputLimits;
use crate::{Stage, StagingError};

/// `out/` and its limits, walked once; the source of every [`Folder`] and file staging reads.
#[derive(Debug)]
pub struct OutDir {
    out: Option<OwnedFd>,
    format: FileFormat,
    limits: OutputLimits,
    entries: u64,
    predicted_bytes: u64,
    loaded: Arc<AtomicU64>,
}

/// What a listed entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file of this many bytes.
    File(u64),
    /// A folder.
    Folder,
}

/// One entry of a [`Folder`] listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name (UTF-8, one path component).
    pub name: String,
    /// File or folder.
    pub kind: EntryKind,
}

/// A folder under `out/`, open as a descriptor; `shown` names it in messages (`out/tables`).
#[derive(Debug)]
pub struct Folder {
    fd: OwnedFd,
    shown: String,
}

/// A regular file opened beneath a [`Folder`], with its size from `fstat`.
#[derive(Debug)]
pub struct OpenedFile {
    /// The descriptor, bounded to `size` bytes.
    pub input: OpenInput,
    /// Its size when opened.
    pub size: u64,
    /// Its path as shown in messages (`out/tables/a.csv`).
    pub shown: String,
}

impl OpenedFile {
    /// Reads the whole file, refusing one larger than `limit` (`key` names the limit).
    pub fn read_limited(
        &self,
        limit: u64,
        key: &str,
        stage: Stage,
    ) -> Result<Vec<u8>, StagingError> {
        if self.size > limit {
            return Err(too_large(stage, &self.shown, self.size, limit, key));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        self.input
            .reader()
            .read_to_end(&mut bytes)
            .map_err(|e| StagingError::user(stage, &self.shown, format!("{}: {e}", self.shown)))?;
        Ok(bytes)
    }
}

fn too_large(stage: Stage, shown: &str, size: u64, limit: u64, key: &str) -> StagingError {
    StagingError::user(
        stage,
        shown,
        format!(
            "\"{shown}\" is {size} bytes, more than the limit of {limit} bytes (limits.{key})."
        ),
    )
}

/// How `name` is shown in a message: as it is when it is printable UTF-8, with `\xNN` for bytes
/// that are not UTF-8 and `\u{..}` for control characters (a name must not drive a terminal).
pub fn shown_name(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_unicode());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

/// Flags for opening anything a component left: never follow a link, never block on a FIFO,
/// never make a terminal ours.
fn entry_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY
}

/// The user error for an entry that is neither a regular file nor a folder.
fn refused(stage: Stage, shown: &str, kind: FileType) -> StagingError {
    let what = match kind {
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        _ => "neither a regular file nor a folder",
    };
    StagingError::user(
        stage,
        shown,
        format!("\"{shown}\" is {what}; components must write regular files and folders."),
    )
}

fn io_error(stage: Stage, shown: &str, errno: Errno) -> StagingError {
    StagingError::app(stage, shown, std::io::Error::from(errno))
}

/// Opens the folder `name` beneath `dir`; `Ok(None)` when it does not exist.
fn open_folder_at(
    dir: &OwnedFd,
    name: &CStr,
    shown: &str,
    stage: Stage,
) -> Result<Option<OwnedFd>, StagingError> {
    match rustix::fs::openat(dir, name, entry_flags() | OFlags::DIRECTORY, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::LOOP | Errno::NOTDIR | Errno::NXIO) => {
            let kind = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .map(|st| FileType::from_raw_mode(st.st_mode))
                .unwrap_or(FileType::Unknown);
            if kind == FileType::RegularFile {
                Err(StagingError::user(
                    stage,
                    shown,
                    format!("\"{shown}\" is a file; a folder was expected."),
                ))
            } else {
                Err(refused(stage, shown, kind))
            }
        }
        Err(errno) => Err(io_error(stage, shown, errno)),
    }
}

/// Reads every entry of the folder `fd` as (name bytes, type); `.` and `..` skipped. The type
/// comes from the listing when the filesystem gives it, else from `fstatat` without following.
fn read_folder(
    fd: &OwnedFd,
    shown: &str,
    stage: Stage,
    mut each: impl FnMut(&CStr, FileType) -> Result<(), StagingError>,
) -> Result<(), StagingError> {
    let mut dir = rustix::fs::Dir::read_from(fd).map_err(|e| io_error(stage, shown, e))?;
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| io_error(stage, shown, e))?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::Unknown => rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW)
                .map(|st| FileType::from_raw_mode(st.st_mode))
                .map_err(|e| io_error(stage, shown, e))?,
            kind => kind,
        };
        each(name, kind)?;
    }
    Ok(())
}

impl OutDir {
    /// Opens `out/` of `data` and walks it once (see the module docs). A missing `out/` reads as
    /// empty; an `out/` that is a link, or too many or too deeply nested entries, are user errors.
    pub fn open(data: &DataDir, limits: OutputLimits) -> Result<Self, StagingError> {
        let stage = Stage::OutputMapping;
        let root = rustix::fs::open(
            &data.root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_error(stage, "data folder", e))?;
        let out = open_folder_at(&root, c"out", "out", stage)?;
        let mut this = Self {
            out,
            format: data.format,
            limits,
            entries: 0,
            predicted_bytes: 0,
            loaded: Arc::new(AtomicU64::new(0)),
        };
        this.walk()?;
        Ok(this)
    }

    /// The format of the state, usage and manifest files the component wrote.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// The limits in force.
    pub fn limits(&self) -> &OutputLimits {
        &self.limits
    }

    /// How many entries `out/` holds (everything, at every depth).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The bytes the output mapping may load, from the sizes found by the walk: regular files
    /// directly in `out/tables` and `out/files` (manifests aside) and in the sliced folders of
    /// `out/tables` (gzip counted compressed here; decompressed bytes are charged as they are
    /// produced).
    pub fn predicted_bytes(&self) -> u64 {
        self.predicted_bytes
    }

    /// Walks `out/` depth first, counting entries and checking depth, without following links or
    /// holding more than one folder open at a time.
    fn walk(&mut self) -> Result<(), StagingError> {
        let stage = Stage::OutputMapping;
        let Some(out) = &self.out else {
            return Ok(());
        };
        let out = out
            .try_clone()
            .map_err(|e| StagingError::app(stage, "out", e))?;
        // Folders still to read, as their components below `out/`.
        let mut pending: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
        while let Some(components) = pending.pop() {
            let shown = std::iter::once("out".to_owned())
                .chain(components.iter().map(|c| shown_name(c)))
                .collect::<Vec<_>>()
                .join("/");
            let Some(fd) = self.open_components(&out, &components, &shown)? else {
                continue;
            };
            let depth = components.len() as u64 + 1;
            let loadable = match components.as_slice() {
                [first] => first.as_slice() == b"tables" || first.as_slice() == b"files",
                [first, _] => first.as_slice() == b"tables",
                _ => false,
            };
            let mut sizes = 0u64;
            let limits = self.limits;
            let entries = &mut self.entries;
            read_folder(&fd, &shown, stage, |name, kind| {
                *entries += 1;
                let entry_shown = join(&shown, &shown_name(name.to_bytes()));
                if *entries > limits.out_entries {
                    return Err(StagingError::user(
                        stage,
                        "out",
                        format!(
                            "\"out\" holds more than the limit of {} entries (limits.out_entries); \"{entry_shown}\" is one too many.",
                            limits.out_entries
                        ),
                    ));
                }
                if depth > u64::from(limits.out_depth) {
                    return Err(StagingError::user(
                        stage,
                        &entry_shown,
                        format!(
                            "\"{entry_shown}\" is nested deeper than the limit of {} levels under \"out\" (limits.out_depth).",
                            limits.out_depth
                        ),
                    ));
                }
                match kind {
                    FileType::Directory => {
                        let mut child = components.clone();
                        child.push(name.to_bytes().to_vec());
                        pending.push(child);
                    }
                    FileType::RegularFile
                        if loadable && !name.to_bytes().ends_with(MANIFEST_SUFFIX.as_bytes()) =>
                    {
                        if let Ok(st) = rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                            sizes = sizes.saturating_add(u64::try_from(st.st_size).unwrap_or(0));
                        }
                    }
                    _ => {}
                }
                Ok(())
            })?;
            self.predicted_bytes = self.predicted_bytes.saturating_add(sizes);
        }
        Ok(())
    }

    /// Opens the folder at `components` below `out`, one component at a time, never following a
    /// link; `Ok(None)` when it vanished.
    fn open_components(
        &self,
        out: &OwnedFd,
        components: &[Vec<u8>],
        shown: &str,
    ) -> Result<Option<OwnedFd>, StagingError> {
        let stage = Stage::OutputMapping;
        let mut fd = out
            .try_clone()
            .map_err(|e| StagingError::app(stage, shown, e))?;
        for component in components {
            let name = std::ffi::CString::new(component.clone())
                .map_err(|e| StagingError::app(stage, shown, e))?;
            match open_folder_at(&fd, &name, shown, stage)? {
                Some(next) => fd = next,
                None => return Ok(None),
            }
        }
        Ok(Some(fd))
    }

    /// The folder `out/<name>`; `Ok(None)` when it does not exist.
    pub fn folder(&self, name: &str, stage: Stage) -> Result<Option<Folder>, StagingError> {
        let Some(out) = &self.out else {
            return Ok(None);
        };
        let shown = format!("out/{name}");
        let cname =
            std::ffi::CString::new(name).map_err(|e| StagingError::app(stage, &shown, e))?;
        Ok(open_folder_at(out, &cname, &shown, stage)?.map(|fd| Folder { fd, shown }))
    }

    /// Reads `out/<name>` whole, refusing more than `limit` bytes (`key` names the limit);
    /// `Ok(None)` when the file does not exist.
    pub fn read_file(
        &self,
        name: &str,
        limit: u64,
        key: &str,
        stage: Stage,
    ) -> Result<Option<Vec<u8>>, StagingError> {
        let Some(out) = &self.out else {
            return Ok(None);
        };
        let folder = Folder {
            fd: out
                .try_clone()
                .map_err(|e| StagingError::app(stage, "out", e))?,
            shown: "out".to_owned(),
        };
        match folder.open_file(name, stage)? {
            Some(file) => file.read_limited(limit, key, stage).map(Some),
            None => Ok(None),
        }
    }

    /// Starts a pass of the output mapping: nothing loaded yet.
    pub fn start_pass(&self) {
        self.loaded.store(0, Ordering::SeqCst);
    }

    /// Checks, before anything is copied, that the planned output fits
    /// [`OutputLimits::output_bytes`] and, when Storage is a local directory (`storage_dir`;
    /// `None` for a database on another machine, which guards its own disk), leaves
    /// [`OutputLimits::free_space_margin_bytes`] free on its volume.
    pub fn check_output_budget(&self, storage_dir: Option<&Path>) -> Result<(), StagingError> {
        let stage = Stage::OutputMapping;
        let limit = self.limits.output_bytes;
        if self.predicted_bytes > limit {
            return Err(StagingError::user(
                stage,
                "out",
                format!(
                    "The output in \"out/tables\" and \"out/files\" is {} bytes, more than the limit of {limit} bytes (limits.output_bytes).",
                    self.predicted_bytes
                ),
            ));
        }
        let Some(storage_dir) = storage_dir else {
            return Ok(());
        };
        let probe = existing_ancestor(storage_dir);
        let stat = rustix::fs::statvfs(probe).map_err(|e| io_error(stage, "Storage volume", e))?;
        let free = stat.f_bavail.saturating_mul(stat.f_frsize);
        let needed = self
            .predicted_bytes
            .saturating_add(self.limits.free_space_margin_bytes);
        if needed > free {
            return Err(StagingError::user(
                stage,
                "out",
                format!(
                    "The output ({} bytes) does not fit the Storage volume: {free} bytes are free and {} must stay free (limits.free_space_margin_bytes).",
                    self.predicted_bytes, self.limits.free_space_margin_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Charges `bytes` about to be loaded from `shown` against [`OutputLimits::output_bytes`];
    /// an error once this pass would load more.
    pub fn charge(&self, bytes: u64, shown: &str) -> std::io::Result<()> {
        let before = self.loaded.fetch_add(bytes, Ordering::SeqCst);
        let total = before.saturating_add(bytes);
        if total > self.limits.output_bytes {
            return Err(std::io::Error::other(format!(
                "\"{shown}\": the output mapping would load more than the limit of {} bytes (limits.output_bytes)",
                self.limits.output_bytes
            )));
        }
        Ok(())
    }
}

/// `path` or its nearest existing ancestor (Storage may not exist before its first use).
fn existing_ancestor(path: &Path) -> &Path {
    let mut probe = path;
    while !probe.exists() {
        match probe.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => probe = parent,
            _ => return Path::new("."),
        }
    }
    probe
}

impl Folder {
    /// The folder as shown in messages (`out/tables`).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `name` inside this folder, as shown in messages.
    pub fn shown_entry(&self, name: &str) -> String {
        join(&self.shown, name)
    }

    /// Every entry, sorted by name. Each must have a UTF-8 name and be a regular file or a
    /// folder; anything else is a user error naming it.
    pub fn entries(&self, stage: Stage) -> Result<Vec<Entry>, StagingError> {
        let mut entries = Vec::new();
        read_folder(&self.fd, &self.shown, stage, |name, kind| {
            let shown = join(&self.shown, &shown_name(name.to_bytes()));
            let Ok(text) = name.to_str() else {
                return Err(StagingError::user(
                    stage,
                    &shown,
                    format!(
                        "\"{shown}\": the name is not UTF-8; components must name what they write in UTF-8."
                    ),
                ));
            };
            let kind = match kind {
                FileType::Directory => EntryKind::Folder,
                FileType::RegularFile => {
                    let st = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|e| io_error(stage, &shown, e))?;
                    EntryKind::File(u64::try_from(st.st_size).unwrap_or(0))
                }
                other => return Err(refused(stage, &shown, other)),
            };
            entries.push(Entry {
                name: text.to_owned(),
                kind,
            });
            Ok(())
        })?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Opens the regular file `name`; `Ok(None)` when it does not exist. A link, a FIFO, a
    /// socket, a device or a folder is a user error naming it.
    pub fn open_file(&self, name: &str, stage: Stage) -> Result<Option<OpenedFile>, StagingError> {
        let shown = self.shown_entry(name);
        let cname =
            std::ffi::CString::new(name).map_err(|e| StagingError::app(stage, &shown, e))?;
        let fd = match rustix::fs::openat(&self.fd, &cname, entry_flags(), Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP | Errno::NXIO | Errno::OPNOTSUPP) => {
                let kind = rustix::fs::statat(&self.fd, &cname, AtFlags::SYMLINK_NOFOLLOW)
                    .map(|st| FileType::from_raw_mode(st.st_mode))
                    .unwrap_or(FileType::Unknown);
                return Err(refused(stage, &shown, kind));
            }
            Err(errno) => return Err(io_error(stage, &shown, errno)),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| io_error(stage, &shown, e))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Directory => {
                return Err(StagingError::user(
                    stage,
                    &shown,
                    format!("\"{shown}\" is a folder; a file was expected."),
                ));
            }
            other => return Err(refused(stage, &shown, other)),
        }
        let size = u64::try_from(st.st_size).unwrap_or(0);
        Ok(Some(OpenedFile {
            input: OpenInput::new(File::from(fd), size),
            size,
            shown,
        }))
    }

    /// Opens the folder `name` inside this one (never through a link).
    pub fn open_folder(&self, name: &str, stage: Stage) -> Result<Option<Folder>, StagingError> {
        let shown = self.shown_entry(name);
        let cname =
            std::ffi::CString::new(name).map_err(|e| StagingError::app(stage, &shown, e))?;
        Ok(open_folder_at(&self.fd, &cname, &shown, stage)?.map(|fd| Folder { fd, shown }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_safely() {
        assert_eq!(shown_name(b"data.csv"), "data.csv");
        assert_eq!(shown_name(b"a\xffb"), "a\\xffb");
        assert_eq!(shown_name(b"\x1b[31mred"), "\\u{1b}[31mred");
        assert_eq!(shown_name("é.csv".as_bytes()), "é.csv");
    }
}

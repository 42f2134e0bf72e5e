//! Turning an `out/tables` source into one plain CSV file Storage can load (reference §2.6):
//! gzipped files are decompressed, a sliced directory's slices (depth 0, any name, each possibly
//! gzipped) are concatenated in name order, and with `has_header: true` plus `columns` the header
//! line is skipped. A plain file is loaded where it is, without a copy, from the descriptor it
//! was checked on.
//!
//! Everything is read through [`crate::out_dir`]; every byte written to the scratch copy (so
//! every decompressed byte) is charged against `limits.output_bytes` as it is produced, so a
//! gzip bomb stops at the budget, not at the disk's end.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::sources::Source;
use crate::out_dir::{EntryKind, Folder, OpenedFile, OutDir};
use crate::{Stage, StagingError};
use berth_storage::{CsvDialect, FieldLimit, OpenInput};

/// The gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A source ready for Storage.
#[derive(Debug, Clone)]
pub(super) enum Prepared {
    /// The component's own file, loaded from its descriptor.
    InPlace(OpenInput),
    /// A scratch copy berth wrote.
    Scratch(PathBuf),
}

impl Prepared {
    /// A reader from the start of the prepared CSV.
    fn reader(&self) -> io::Result<Box<dyn Read>> {
        Ok(match self {
            Self::InPlace(input) => Box::new(input.reader()),
            Self::Scratch(path) => Box::new(File::open(path)?),
        })
    }
}

/// The plain CSV of `source` (in `folder`); scratch copies go to `scratch/<index>.csv`.
pub(super) fn prepare(
    out: &OutDir,
    folder: &Folder,
    source: &Source,
    skip_header: bool,
    dialect: CsvDialect,
    scratch: &Path,
    index: usize,
) -> Result<Prepared, StagingError> {
    let stage = Stage::OutputMapping;
    let name = source.name.as_str();
    let app = |e: io::Error| StagingError::app(stage, name, e);
    let inputs: Vec<OpenedFile> = if source.sliced {
        slices(folder, name)?
    } else {
        let file = folder
            .open_file(name, stage)?
            .ok_or_else(|| app(io::Error::from(io::ErrorKind::NotFound)))?;
        vec![file]
    };
    if let [file] = inputs.as_slice()
        && !source.sliced
        && !skip_header
        && !is_gzip(file)?
    {
        out.charge(file.size, &file.shown)
            .map_err(|e| StagingError::user(stage, name, e.to_string()))?;
        return Ok(Prepared::InPlace(file.input.clone()));
    }
    fs::create_dir_all(scratch).map_err(app)?;
    let target = scratch.join(format!("{index}.csv"));
    let mut sink = Charged {
        inner: BufWriter::with_capacity(1 << 20, File::create(&target).map_err(app)?),
        out,
        last: None,
    };
    for (i, input) in inputs.iter().enumerate() {
        let shown = input.shown.as_str();
        let unreadable =
            |e: io::Error| StagingError::user(stage, name, format!("\"{shown}\": {e}"));
        let mut reader = open_maybe_gzip(input)?;
        if skip_header && i == 0 {
            skip_first_record(&mut reader, dialect).map_err(unreadable)?;
        }
        if sink.last.is_some_and(|b| b != b'\n') {
            sink.write(b"\n", shown)?;
        }
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unreadable(e)),
            };
            sink.write(&buf[..n], shown)?;
        }
    }
    sink.inner.flush().map_err(app)?;
    Ok(Prepared::Scratch(target))
}

/// The regular files directly in a sliced directory, opened, in name order. Folders inside it
/// are ignored; anything else (links, FIFOs, ...) is refused.
fn slices(folder: &Folder, name: &str) -> Result<Vec<OpenedFile>, StagingError> {
    let stage = Stage::OutputMapping;
    let Some(sliced) = folder.open_folder(name, stage)? else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in sliced.entries(stage)? {
        if let EntryKind::File(_) = entry.kind
            && let Some(file) = sliced.open_file(&entry.name, stage)?
        {
            files.push(file);
        }
    }
    Ok(files)
}

fn is_gzip(file: &OpenedFile) -> Result<bool, StagingError> {
    let mut magic = [0u8; 2];
    let mut reader = file.input.reader();
    let mut n = 0;
    while n < 2 {
        match reader.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                return Err(StagingError::user(
                    Stage::OutputMapping,
                    &file.shown,
                    format!("\"{}\": {e}", file.shown),
                ));
            }
        }
    }
    Ok(n == 2 && magic == GZIP_MAGIC)
}

/// A reader over `file`, decompressing it when it is gzipped.
fn open_maybe_gzip(file: &OpenedFile) -> Result<Box<dyn Read + '_>, StagingError> {
    let gz = is_gzip(file)?;
    let reader = BufReader::with_capacity(1 << 20, file.input.reader());
    Ok(if gz {
        Box::new(BufReader::new(MultiGzDecoder::new(reader)))
    } else {
        Box::new(reader)
    })
}

/// The scratch file being written: every byte charged against the output budget first.
struct Charged<'a, W> {
    inner: W,
    out: &'a OutDir,
    last: Option<u8>,
}

impl<W: Write> Charged<'_, W> {
    fn write(&mut self, bytes: &[u8], shown: &str) -> Result<(), StagingError> {
        let stage = Stage::OutputMapping;
        self.out
            .charge(bytes.len() as u64, shown)
            .map_err(|e| StagingError::user(stage, shown, e.to_string()))?;
        self.inner
            .write_all(bytes)
            .map_err(|e| StagingError::app(stage, shown, e))?;
        if let Some(&b) = bytes.last() {
            self.last = Some(b);
        }
        Ok(())
    }
}

/// Consumes the first CSV record (which may span lines inside an enclosure).
fn skip_first_record(reader: &mut Box<dyn Read + '_>, dialect: CsvDialect) -> io::Result<()> {
    let mut quoted = false;
    let mut byte = [0u8; 1];
    loop {
        if reader.read(&mut byte)? == 0 {
            return Ok(());
        }
        let b = byte[0];
        if Some(b) == dialect.enclosure {
            quoted = !quoted;
        } else if b == b'\n' && !quoted {
            return Ok(());
        }
    }
}

/// The header of a headered CSV file; `None` when the file is empty. No field of it may be
/// longer than `max_field_bytes`.
pub(super) fn read_header(
    prepared: &Prepared,
    dialect: CsvDialect,
    max_field_bytes: u64,
) -> io::Result<Option<Vec<String>>> {
    let mut file = prepared.reader()?;
    let mut first = [0u8; 1];
    let n = loop {
        match file.read(&mut first) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    if n == 0 {
        return Ok(None);
    }
    let file = first.as_slice().chain(file);
    let mut builder = csv::ReaderBuilder::new();
    builder
        .delimiter(dialect.delimiter)
        .has_headers(false)
        .flexible(true);
    match dialect.enclosure {
        Some(q) => builder.quote(q).double_quote(true),
        None => builder.quoting(false),
    };
    let mut record = csv::StringRecord::new();
    let mut reader = builder.from_reader(FieldLimit::new(file, dialect, max_field_bytes));
    match reader.read_record(&mut record) {
        Ok(true) => Ok(Some(record.iter().map(str::to_owned).collect())),
        Ok(false) => Ok(None),
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
    }
}

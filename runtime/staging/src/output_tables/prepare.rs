//! Turning an `out/tables` source into one plain CSV file Storage can load (reference §2.6):
//! gzipped files are decompressed, a sliced directory's slices (depth 0, any name, each possibly
//! gzipped) are concatenated in name order, and with `has_header: true` plus `columns` the header
//! line is skipped. A plain file is loaded where it is, without a copy.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::sources::Source;
use crate::{Stage, StagingError};
use berth_storage::CsvDialect;

/// The gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The plain CSV of `source`; scratch copies go to `scratch/<index>.csv`.
pub(super) fn prepare(
    source: &Source,
    skip_header: bool,
    dialect: CsvDialect,
    scratch: &Path,
    index: usize,
) -> Result<PathBuf, StagingError> {
    let app = |e: io::Error| StagingError::app(Stage::OutputMapping, &source.name, e);
    let plain_file = !source.sliced && !is_gzip(&source.path).map_err(app)?;
    if plain_file && !skip_header {
        return Ok(source.path.clone());
    }
    fs::create_dir_all(scratch).map_err(app)?;
    let target = scratch.join(format!("{index}.csv"));
    let mut out = LastByte::new(BufWriter::with_capacity(
        1 << 20,
        File::create(&target).map_err(app)?,
    ));
    let inputs = if source.sliced {
        slices(&source.path).map_err(app)?
    } else {
        vec![source.path.clone()]
    };
    for (i, input) in inputs.iter().enumerate() {
        let mut reader = open_maybe_gzip(input).map_err(app)?;
        if skip_header && i == 0 {
            skip_first_record(&mut reader, dialect).map_err(app)?;
        }
        if out.last.is_some_and(|b| b != b'\n') {
            out.write_all(b"\n").map_err(app)?;
        }
        io::copy(&mut reader, &mut out).map_err(app)?;
    }
    out.inner.flush().map_err(app)?;
    Ok(target)
}

/// The regular files directly in a sliced directory, in name order.
fn slices(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

fn is_gzip(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut file = File::open(path)?;
    let n = file.read(&mut magic)?;
    Ok(n == 2 && magic == GZIP_MAGIC)
}

/// A reader over `path`, decompressing it when it is gzipped.
fn open_maybe_gzip(path: &Path) -> io::Result<Box<dyn Read>> {
    let gz = is_gzip(path)?;
    let file = BufReader::with_capacity(1 << 20, File::open(path)?);
    Ok(if gz {
        Box::new(BufReader::new(MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

/// Consumes the first CSV record (which may span lines inside an enclosure).
fn skip_first_record(reader: &mut Box<dyn Read>, dialect: CsvDialect) -> io::Result<()> {
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

/// The header of a headered CSV file; `None` when the file is empty.
pub(super) fn read_header(path: &Path, dialect: CsvDialect) -> io::Result<Option<Vec<String>>> {
    let mut file = File::open(path)?;
    if file.seek(SeekFrom::End(0))? == 0 {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(0))?;
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
    let mut reader = builder.from_reader(file);
    match reader.read_record(&mut record) {
        Ok(true) => Ok(Some(record.iter().map(str::to_owned).collect())),
        Ok(false) => Ok(None),
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
    }
}

/// A writer that remembers the last byte written.
struct LastByte<W> {
    inner: W,
    last: Option<u8>,
}

impl<W: Write> LastByte<W> {
    fn new(inner: W) -> Self {
        Self { inner, last: None }
    }
}

impl<W: Write> Write for LastByte<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if n > 0 {
            self.last = Some(buf[n - 1]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

//! Bounding what one CSV field can cost: a reader adapter that follows the quoting of the stream
//! it passes on and fails as soon as one field grows past a limit.
//!
//! The CSV parser keeps a whole field in memory, so without a bound a single unterminated quote
//! in a multi-gigabyte (or sparse) file is one field the size of the file. [`FieldLimit`] sits
//! below the parser and sees every byte first: outside an enclosure a delimiter or a line break
//! ends the field, inside one only the closing enclosure does (a doubled enclosure leaves and
//! re-enters it, which counts the same). It scans with `memchr`, so the cost is a pass over the
//! bytes, not a branch per byte.

use std::io::{self, Read};

use super::CsvDialect;

/// The default bound on one field: Keboola's backends cap a cell at 16 MiB.
pub const DEFAULT_MAX_FIELD_BYTES: u64 = 16 << 20;

/// A reader that errors once one CSV field of the stream exceeds `limit` bytes.
#[derive(Debug)]
pub struct FieldLimit<R> {
    inner: R,
    delimiter: u8,
    enclosure: Option<u8>,
    limit: u64,
    in_quotes: bool,
    field_len: u64,
    field_start: u64,
    offset: u64,
}

impl<R: Read> FieldLimit<R> {
    /// Wraps `inner`, read with `dialect`, allowing fields of up to `limit` bytes.
    pub fn new(inner: R, dialect: CsvDialect, limit: u64) -> Self {
        Self {
            inner,
            delimiter: dialect.delimiter,
            enclosure: dialect.enclosure,
            limit,
            in_quotes: false,
            field_len: 0,
            field_start: 0,
            offset: 0,
        }
    }

    /// Follows the quoting over `buf`; an error when a field grew past the limit.
    fn scan(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut i = 0;
        while i < buf.len() {
            let rest = &buf[i..];
            let found = match (self.in_quotes, self.enclosure) {
                (true, Some(q)) => memchr::memchr(q, rest),
                (_, Some(q)) => memchr::memchr3(self.delimiter, b'\n', q, rest),
                (_, None) => memchr::memchr2(self.delimiter, b'\n', rest),
            };
            match found {
                None => {
                    self.field_len += rest.len() as u64;
                    i = buf.len();
                }
                Some(j) => {
                    let byte = rest[j];
                    if Some(byte) == self.enclosure {
                        self.in_quotes = !self.in_quotes;
                        self.field_len += j as u64 + 1;
                    } else {
                        // A delimiter or a line break outside an enclosure: a new field.
                        self.field_len += j as u64;
                        self.check()?;
                        self.field_len = 0;
                        self.field_start = self.offset + (i + j) as u64 + 1;
                    }
                    i += j + 1;
                }
            }
            self.check()?;
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn check(&self) -> io::Result<()> {
        if self.field_len > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the field starting at byte {} is longer than the limit of {} bytes \
                     (limits.csv_field_bytes){}",
                    self.field_start,
                    self.limit,
                    if self.in_quotes {
                        "; is an enclosure left open?"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Ok(())
    }
}

impl<R: Read> Read for FieldLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8], dialect: CsvDialect, limit: u64, chunk: usize) -> io::Result<()> {
        let mut guard = FieldLimit::new(text, dialect, limit);
        let mut buf = vec![0u8; chunk];
        while guard.read(&mut buf)? > 0 {}
        Ok(())
    }

    #[test]
    fn fields_up_to_the_limit_pass_in_any_chunking() {
        let text = b"abcd,\"ab\"\"c\",x\n\"a,b\nc\",efgh\n";
        for chunk in [1, 2, 3, 7, 64] {
            read_all(text, CsvDialect::default(), 8, chunk).unwrap();
        }
    }

    #[test]
    fn a_long_field_fails_naming_its_start_and_the_limit() {
        let err = read_all(b"ab,cdefghijk,x", CsvDialect::default(), 8, 4).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("starting at byte 3"), "{message}");
        assert!(message.contains("limit of 8 bytes"), "{message}");
        // An unterminated enclosure swallows line breaks and delimiters.
        let err = read_all(b"a,\"b\nc,d\ne,f\ng", CsvDialect::default(), 8, 3).unwrap_err();
        assert!(err.to_string().contains("enclosure left open"), "{err}");
    }

    #[test]
    fn without_an_enclosure_quotes_are_plain_bytes() {
        let dialect = CsvDialect {
            delimiter: b';',
            enclosure: None,
        };
        read_all(b"\"abc;\"de\n\"", dialect, 4, 2).unwrap();
        assert!(read_all(b"abcde;x", dialect, 4, 2).is_err());
    }
}

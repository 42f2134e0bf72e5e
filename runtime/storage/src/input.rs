//! Files handed to Storage already open: staging opens what a component left without following
//! links and checks its type and size on the descriptor, then Storage reads that descriptor — never
//! the path again, which the component could have swapped.
//!
//! An [`OpenInput`] reads from its own offset (`pread`), so clones and earlier peeks (a gzip magic
//! check) never disturb it, and it never yields more than the size it was opened with: a file
//! that grew since is an error, not a longer read.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// A regular file opened by the caller, with the most bytes that may be read from it.
#[derive(Debug, Clone)]
pub struct OpenInput {
    file: Arc<File>,
    max_bytes: u64,
}

impl OpenInput {
    /// `file`, of which at most `max_bytes` (its size when it was checked) may be read.
    pub fn new(file: File, max_bytes: u64) -> Self {
        Self {
            file: Arc::new(file),
            max_bytes,
        }
    }

    /// The most bytes a reader yields.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// A reader from the start of the file.
    pub fn reader(&self) -> InputReader {
        InputReader {
            file: self.file.clone(),
            pos: 0,
            max_bytes: self.max_bytes,
        }
    }
}

/// Reads an [`OpenInput`] from its start; fails when the file holds more than its bound.
#[derive(Debug)]
pub struct InputReader {
    file: Arc<File>,
    pos: u64,
    max_bytes: u64,
}

impl Read for InputReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let left = self.max_bytes - self.pos;
        if left == 0 {
            let mut probe = [0u8; 1];
            return match self.file.read_at(&mut probe, self.pos)? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!(
                    "the file grew past the {} bytes it had when it was checked",
                    self.max_bytes
                ))),
            };
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_from_the_start_up_to_the_bound_and_refuses_growth() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"hello").unwrap();
        let input = OpenInput::new(file.try_clone().unwrap(), 5);
        let mut text = String::new();
        input.reader().read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
        // Another reader starts over, whatever the shared offset says.
        let mut again = String::new();
        input.reader().read_to_string(&mut again).unwrap();
        assert_eq!(again, "hello");
        file.write_all(b" world").unwrap();
        let err = input.reader().read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("grew past the 5 bytes"), "{err}");
    }
}

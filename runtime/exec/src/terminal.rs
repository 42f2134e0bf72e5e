//! Printing a component's bytes to a terminal without letting them drive it.
//!
//! A component's output is its own; streamed to berth's stdout it reaches the user's terminal,
//! where an escape sequence can move the cursor, rewrite what was printed before, set the window
//! title or worse. [`EscapeControls`] passes text through and shows every control character
//! except line feed and tab — C0, DEL and the C1 range — as `\xNN` (or `\u{NN}`), and every byte
//! that is not UTF-8 as `\xNN`; a character split across writes is held back until it completes.
//! Only what is printed is escaped: captured output and the job log keep the bytes.

use std::io::{self, IsTerminal, Write};

/// A writer that escapes control characters and invalid UTF-8 (see the module docs).
#[derive(Debug)]
pub struct EscapeControls<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> EscapeControls<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }

    fn escaped(text: &str, out: &mut String) {
        for c in text.chars() {
            match c {
                '\n' | '\t' => out.push(c),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c if ('\u{80}'..='\u{9f}').contains(&c) => {
                    out.push_str(&format!("\\u{{{:x}}}", c as u32));
                }
                c => out.push(c),
            }
        }
    }

    /// Escapes what `pending` holds, keeping an incomplete character at its end.
    fn drain(&mut self, final_flush: bool) -> String {
        let mut out = String::with_capacity(self.pending.len());
        let mut consumed = 0;
        loop {
            let rest = &self.pending[consumed..];
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    Self::escaped(text, &mut out);
                    consumed = self.pending.len();
                    break;
                }
                Err(error) => {
                    let valid = error.valid_up_to();
                    // Safe: `from_utf8` vouched for the first `valid` bytes.
                    Self::escaped(
                        std::str::from_utf8(&rest[..valid]).unwrap_or_default(),
                        &mut out,
                    );
                    match error.error_len() {
                        Some(bad) => {
                            for b in &rest[valid..valid + bad] {
                                out.push_str(&format!("\\x{b:02x}"));
                            }
                            consumed += valid + bad;
                        }
                        None if final_flush => {
                            for b in &rest[valid..] {
                                out.push_str(&format!("\\x{b:02x}"));
                            }
                            consumed = self.pending.len();
                            break;
                        }
                        None => {
                            consumed += valid;
                            break;
                        }
                    }
                }
            }
        }
        self.pending.drain(..consumed);
        out
    }
}

impl<W: Write> Write for EscapeControls<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let text = self.drain(false);
        self.inner.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for EscapeControls<W> {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let text = self.drain(true);
            let _ = self.inner.write_all(text.as_bytes());
            let _ = self.inner.flush();
        }
    }
}

/// berth's stdout as the live view of a component's output: escaped when it is a terminal,
/// the bytes as they are when it is a pipe or a file.
pub fn live_stdout() -> Box<dyn Write + Send> {
    if io::stdout().is_terminal() {
        Box::new(EscapeControls::new(io::stdout()))
    } else {
        Box::new(io::stdout())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(chunks: &[&[u8]]) -> String {
        let mut out = Vec::new();
        {
            let mut w = EscapeControls::new(&mut out);
            for chunk in chunks {
                w.write_all(chunk).unwrap();
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn controls_are_shown_not_obeyed() {
        assert_eq!(escape(&[b"plain text\n\tok"]), "plain text\n\tok");
        assert_eq!(
            escape(&[b"\x1b]0;owned\x07\x1b[2J\r\x08\x7f"]),
            "\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x08\\x7f"
        );
        assert_eq!(escape(&["\u{9b}31m".as_bytes()]), "\\u{9b}31m");
        assert_eq!(escape(&[b"bad \xff\xfe bytes"]), "bad \\xff\\xfe bytes");
    }

    #[test]
    fn characters_split_across_writes_survive() {
        let text = "žluťoučký kůň ✓".as_bytes();
        for cut in 0..text.len() {
            assert_eq!(
                escape(&[&text[..cut], &text[cut..]]),
                "žluťoučký kůň ✓",
                "cut at {cut}"
            );
        }
        // An incomplete character at the very end is shown as bytes.
        assert_eq!(escape(&[b"a\xc5"]), "a\\xc5");
    }
}

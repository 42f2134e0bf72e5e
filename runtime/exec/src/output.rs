//! Bounded capture of a component's stdout and stderr.
//!
//! A component may write without end; the host must not. An [`OutputCapture`] keeps the first
//! and the last `cap / 2` bytes and counts what falls between, so memory stays bounded at the cap
//! whatever the component writes, and both the start of the output (where errors are announced)
//! and its end (where they usually are) survive. [`OutputCapture::finish`] joins the two halves
//! with a marker saying how much was cut. The capture can also tee everything, as it arrives, to
//! a live sink (the host's stdout for a streamed `run`).
//!
//! The capture never refuses a write: a component that floods its output is cut, not killed.
//!
//! An [`OutputFilter`] (given with the [`ExecRequest`](crate::ExecRequest)) rewrites the stream
//! before anything else sees it — the live sink and the capture alike. berth's job layer hides
//! secrets with it; this crate knows only the hook.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Which of the component's streams some output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    /// stdout.
    Stdout,
    /// stderr.
    Stderr,
}

/// Receives a component's output as it is written (see [`crate::StdoutMode::Live`]). Called
/// from the executor's thread with chunks as the component wrote them (not split into lines);
/// must not block for long.
pub trait LiveOutput: Send + Sync + std::fmt::Debug {
    /// `bytes` were written to `stream`.
    fn write(&self, stream: OutputStream, bytes: &[u8]);
}

/// A live sink of one stream, for [`OutputCapture::new`].
struct LiveStream {
    sink: Arc<dyn LiveOutput>,
    stream: OutputStream,
}

impl Write for LiveStream {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.sink.write(self.stream, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The stdout and stderr captures of one run, each teeing to where `mode` says.
pub(crate) fn captures(mode: &crate::StdoutMode, cap: usize) -> (OutputCapture, OutputCapture) {
    let live = |stream| -> Option<Box<dyn Write + Send>> {
        match mode {
            crate::StdoutMode::Capture => None,
            crate::StdoutMode::Stream => {
                (stream == OutputStream::Stdout).then(crate::terminal::live_stdout)
            }
            crate::StdoutMode::Live(sink) => Some(Box::new(LiveStream {
                sink: Arc::clone(sink),
                stream,
            })),
        }
    };
    (
        OutputCapture::new(cap, live(OutputStream::Stdout)),
        OutputCapture::new(cap, live(OutputStream::Stderr)),
    )
}

/// What was captured of one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapturedOutput {
    /// The kept bytes; when something was cut, head + marker + tail.
    pub bytes: Vec<u8>,
    /// How many bytes of output there were in all (after the filter, if any).
    pub total_bytes: u64,
    /// Whether anything was cut.
    pub truncated: bool,
}

impl CapturedOutput {
    /// The captured bytes as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Rewrites one execution's output before it is streamed or captured (berth hides secrets with
/// it). One [`StreamFilter`] is made per stream.
pub trait OutputFilter: Send + Sync + std::fmt::Debug {
    /// A filter for one output stream.
    fn stream(&self) -> Box<dyn StreamFilter>;
}

/// The filter of one stream. It may hold back the end of a piece until the next one (a secret
/// split across two writes), and releases everything at [`StreamFilter::finish`].
pub trait StreamFilter: Send {
    /// Takes the next piece written and appends what may be released to `out`.
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>);
    /// The stream ended: appends whatever was held back.
    fn finish(&mut self, out: &mut Vec<u8>);
}

struct State {
    cap: usize,
    filter: Option<Box<dyn StreamFilter>>,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
    live: Option<Box<dyn Write + Send>>,
}

/// A shared, bounded capture of one output stream. Clones write into the same capture.
#[derive(Clone)]
pub struct OutputCapture {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for OutputCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("OutputCapture")
            .field("cap", &state.cap)
            .field("total", &state.total)
            .finish()
    }
}

impl OutputCapture {
    /// A capture keeping at most `cap` bytes (at least 2), optionally teeing to `live`.
    pub fn new(cap: usize, live: Option<Box<dyn Write + Send>>) -> Self {
        let cap = cap.max(2);
        Self {
            state: Arc::new(Mutex::new(State {
                cap,
                filter: None,
                head: Vec::new(),
                tail: VecDeque::new(),
                total: 0,
                live,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the buffers inconsistent in a way that
        // matters for diagnostics, so a poisoned lock is simply taken over.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Passes everything written from now on through `filter` first.
    pub fn set_filter(&self, filter: Box<dyn StreamFilter>) {
        self.lock().filter = Some(filter);
    }

    /// Appends `bytes` to the capture (and the live sink), through the filter if there is one.
    /// Never fails.
    pub fn write(&self, bytes: &[u8]) {
        let mut state = self.lock();
        if let Some(mut filter) = state.filter.take() {
            let mut filtered = Vec::with_capacity(bytes.len());
            filter.push(bytes, &mut filtered);
            state.filter = Some(filter);
            state.keep(&filtered);
        } else {
            state.keep(bytes);
        }
    }

    /// Total bytes written so far.
    pub fn total_bytes(&self) -> u64 {
        self.lock().total
    }

    /// The capture so far: head, a cut marker if bytes were dropped, tail. Releases what the
    /// filter held back (the stream is over).
    pub fn finish(&self) -> CapturedOutput {
        let mut state = self.lock();
        if let Some(mut filter) = state.filter.take() {
            let mut rest = Vec::new();
            filter.finish(&mut rest);
            state.filter = Some(filter);
            state.keep(&rest);
        }
        state.captured()
    }
}

impl State {
    fn keep(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let state = self;
        state.total += bytes.len() as u64;
        if let Some(live) = state.live.as_mut() {
            // The live view is best effort: a closed host stdout must not fail the component.
            let _ = live.write_all(bytes).and_then(|()| live.flush());
        }
        let head_cap = state.cap / 2;
        let tail_cap = state.cap - head_cap;
        let room = head_cap.saturating_sub(state.head.len());
        let (to_head, rest) = bytes.split_at(room.min(bytes.len()));
        state.head.extend_from_slice(to_head);
        if rest.is_empty() {
            return;
        }
        let rest = if rest.len() > tail_cap {
            &rest[rest.len() - tail_cap..]
        } else {
            rest
        };
        let overflow = (state.tail.len() + rest.len()).saturating_sub(tail_cap);
        state.tail.drain(..overflow);
        state.tail.extend(rest);
    }

    fn captured(&self) -> CapturedOutput {
        let state = self;
        let kept = state.head.len() as u64 + state.tail.len() as u64;
        let cut = state.total - kept;
        let mut bytes = Vec::with_capacity(kept as usize + 96);
        bytes.extend_from_slice(&state.head);
        if cut > 0 {
            let marker = format!(
                "\n[berth: {cut} bytes cut here; output exceeded the capture limit of {} bytes]\n",
                state.cap
            );
            bytes.extend_from_slice(marker.as_bytes());
        }
        bytes.extend(state.tail.iter());
        CapturedOutput {
            bytes,
            total_bytes: state.total,
            truncated: cut > 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_everything_under_the_cap() {
        let capture = OutputCapture::new(16, None);
        capture.write(b"hello ");
        capture.write(b"world");
        let out = capture.finish();
        assert_eq!(out.bytes, b"hello world");
        assert!(!out.truncated);
        assert_eq!(out.total_bytes, 11);
    }

    #[test]
    fn keeps_head_and_tail_and_marks_the_cut() {
        let capture = OutputCapture::new(8, None);
        for chunk in [&b"abcdef"[..], b"ghijkl", b"mnopqr"] {
            capture.write(chunk);
        }
        let out = capture.finish();
        let text = out.text();
        assert!(
            text.starts_with("abcd\n[berth: 10 bytes cut here"),
            "{text}"
        );
        assert!(text.ends_with("]\nopqr"), "{text}");
        assert!(out.truncated);
        assert_eq!(out.total_bytes, 18);
    }

    #[test]
    fn a_single_huge_write_stays_bounded() {
        let capture = OutputCapture::new(1024, None);
        capture.write(&vec![b'x'; 10 << 20]);
        let state = capture.lock();
        assert!(state.head.len() + state.tail.len() <= 1024);
    }

    #[test]
    fn tees_to_the_live_sink() {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let capture = OutputCapture::new(4, Some(Box::new(sink.clone())));
        capture.write(b"streamed fully");
        assert_eq!(&*sink.0.lock().unwrap(), b"streamed fully");
    }

    /// Holds back the last byte of each piece and upper-cases everything.
    struct Upper(Option<u8>);
    impl StreamFilter for Upper {
        fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
            out.extend(self.0.take());
            if let Some((last, rest)) = input.split_last() {
                out.extend(rest.iter().map(u8::to_ascii_uppercase));
                self.0 = Some(last.to_ascii_uppercase());
            }
        }
        fn finish(&mut self, out: &mut Vec<u8>) {
            out.extend(self.0.take());
        }
    }

    #[test]
    fn the_filter_comes_before_the_live_sink_and_the_capture() {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let capture = OutputCapture::new(64, Some(Box::new(sink.clone())));
        capture.set_filter(Box::new(Upper(None)));
        capture.write(b"abc");
        assert_eq!(
            &*sink.0.lock().unwrap(),
            b"AB",
            "the held byte is not streamed yet"
        );
        capture.write(b"de");
        let out = capture.finish();
        assert_eq!(out.bytes, b"ABCDE");
        assert_eq!(&*sink.0.lock().unwrap(), b"ABCDE");
        assert_eq!(out.total_bytes, 5);
    }
}

//! What the hostile suite measures: the real `berth` binary run as a child, its exit code, its
//! output, its wall time and its peak resident memory.
//!
//! The peak comes from GNU time (`/usr/bin/time -f %M`, installed by `.ci/run`), which forks
//! berth itself: Linux records the pre-exec memory of whoever forked the process in its
//! `ru_maxrss`, so a berth spawned straight from this (large, multi-threaded) test process would
//! report the test process's size. Without GNU time the suite falls back to `wait4` on the
//! direct child, an upper bound that includes the test process.
//!
//! Every case asserts a generous memory bound ([`RSS_BOUND_KB`]) and a generous wall bound
//! ([`WALL_BOUND`]): they are there to catch an attack that works (a host allocation sized by
//! the component, a reader blocked on a FIFO), not to measure speed. Each measurement is also
//! printed (`hostile: <case> rss=… wall=…`) for the report.
#![allow(
    unsafe_code,
    reason = "wait4(2) has no safe wrapper in the crates berth uses"
)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak RSS no hostile case may exceed (the berth process alone, in KiB).
pub(crate) const RSS_BOUND_KB: u64 = 400 * 1024;
/// Wall time no hostile case may exceed.
pub(crate) const WALL_BOUND: Duration = Duration::from_secs(240);

/// One measured run of `berth`.
#[derive(Debug)]
pub(crate) struct Measured {
    /// The exit code (`None` when killed by a signal).
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Peak resident set size, KiB.
    pub(crate) max_rss_kb: u64,
    pub(crate) wall: Duration,
}

impl Measured {
    /// Asserts exit `code`, the memory and time bounds, and that stdout or stderr holds every
    /// text of `names` (the entry and the limit); prints the measurement under `case`.
    #[track_caller]
    pub(crate) fn assert_refused(&self, case: &str, code: i32, names: &[&str]) -> &Self {
        eprintln!(
            "hostile: {case} exit={:?} rss={} KiB wall={:.2?}",
            self.code, self.max_rss_kb, self.wall
        );
        assert_eq!(self.code, Some(code), "{case}: {self:#?}");
        let all = format!("{}\n{}", self.stdout, self.stderr);
        for name in names {
            assert!(
                all.contains(name),
                "{case}: {name:?} not in the output: {self:#?}"
            );
        }
        self.assert_bounded(case)
    }

    /// Asserts the memory and time bounds.
    #[track_caller]
    pub(crate) fn assert_bounded(&self, case: &str) -> &Self {
        assert!(
            self.max_rss_kb < RSS_BOUND_KB,
            "{case}: peak RSS {} KiB over {RSS_BOUND_KB} KiB",
            self.max_rss_kb
        );
        assert!(self.wall < WALL_BOUND, "{case}: took {:?}", self.wall);
        self
    }
}

/// `command` run under GNU time writing berth's peak RSS (KiB) to `report`, when GNU time is
/// installed.
pub(crate) fn under_time(command: &Command, report: &std::path::Path) -> Option<Command> {
    let time = std::path::Path::new("/usr/bin/time");
    if !time.is_file() {
        return None;
    }
    let mut wrapped = Command::new(time);
    wrapped
        .args(["-f", "%M", "-o"])
        .arg(report)
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    Some(wrapped)
}

/// The peak RSS GNU time wrote to `report`.
pub(crate) fn reported_rss(report: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(report).ok()?;
    text.lines().rev().find_map(|l| l.trim().parse().ok())
}

/// Runs `command` to its end and measures it (see the module docs).
pub(crate) fn measure(command: Command) -> Measured {
    let report = tempfile::NamedTempFile::new().unwrap();
    let timed = under_time(&command, report.path());
    let mut command = timed.unwrap_or(command);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("berth starts");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = out.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = err.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let (code, waited_rss_kb) = wait4(child.id());
    let wall = started.elapsed();
    let max_rss_kb = reported_rss(report.path()).unwrap_or(waited_rss_kb);
    // The child is reaped: std must not wait for it again.
    std::mem::forget(child);
    Measured {
        code,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        max_rss_kb,
        wall,
    }
}

/// Waits for `pid` and returns its exit code (`None` for a signal) and `ru_maxrss` (KiB).
pub(crate) fn wait4(pid: u32) -> (Option<i32>, u64) {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data; zeroed is a valid value for the kernel to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; `pid` is our own child, not yet reaped.
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if r == pid as libc::pid_t {
            break;
        }
        let errno = std::io::Error::last_os_error();
        assert_eq!(
            errno.kind(),
            std::io::ErrorKind::Interrupted,
            "wait4: {errno}"
        );
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

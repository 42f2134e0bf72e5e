//! The sandbox's promises, each driven by a test program: exit classes, time, memory, output,
//! filesystem reach, network and environment — every limit both held and exceeded.
//!
//! Every test program must have a module here named after it (enforced at the bottom).
//!
//! The cases run twice: here against the test programs as WASI preview 1 modules (`guests` is
//! `components_artifacts`), and from `components_p2` against the same programs built as preview 2
//! components (`guests` is `components_artifacts::p2`).

use std::time::Duration;

use super::guests;
use berth_exec::outcome::{ActionResponseError, FALLBACK_NOTICE, action_response};
use berth_exec::{Outcome, Termination};
use berth_host_api::exit::ExitClass;

use berth_exec::testing::{Run, data_dir, run_data_dir};

/// How far past its deadline a stopped guest may end: the executor's own grace is 50 ms after a
/// 10 ms epoch tick; the rest is room for a loaded machine. A run that is not stopped at all is
/// caught by the harness's watchdog instead of hanging the suite.
const STOP_SLACK: Duration = Duration::from_secs(3);

/// Asserts that a run limited to `timeout` ended at its deadline: not before, and not later than
/// [`STOP_SLACK`] after it.
#[track_caller]
fn assert_stopped_at(duration: Duration, timeout: Duration) {
    assert!(
        duration >= timeout && duration < timeout + STOP_SLACK,
        "a run limited to {timeout:?} took {duration:?}"
    );
}

mod exit_with {
    use super::*;

    #[test]
    fn exit_zero_is_success() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::EXIT_WITH, dir.path()).run();
        assert_eq!(outcome, Outcome::Success);
        assert_eq!(result.termination, Termination::Exited(0));
        assert_eq!(result.stdout.text(), "exit_with: about to exit\n");
    }

    #[test]
    fn exit_one_is_a_user_error_carrying_stderr() {
        let dir = run_data_dir();
        let (_, outcome) = Run::new(guests::EXIT_WITH, dir.path())
            .env("CODE", "1")
            .env("MESSAGE", "Parameter \"multiplier\" is missing.")
            .run();
        assert_eq!(
            outcome,
            Outcome::UserError {
                message: "Parameter \"multiplier\" is missing.".into()
            }
        );
    }

    #[test]
    fn exit_one_without_stderr_falls_back_to_stdout() {
        let dir = run_data_dir();
        let (_, outcome) = Run::new(guests::EXIT_WITH, dir.path())
            .env("CODE", "1")
            .run();
        assert_eq!(
            outcome,
            Outcome::UserError {
                message: format!("{FALLBACK_NOTICE}\nexit_with: about to exit")
            }
        );
    }

    #[test]
    fn exit_two_and_above_are_application_errors() {
        for code in ["2", "17", "125"] {
            let dir = run_data_dir();
            let (result, outcome) = Run::new(guests::EXIT_WITH, dir.path())
                .env("CODE", code)
                .env("MESSAGE", "internal failure")
                .run();
            assert_eq!(
                result.termination,
                Termination::Exited(code.parse().unwrap())
            );
            assert_eq!(
                outcome,
                Outcome::ApplicationError {
                    exit_code: Some(code.parse().unwrap()),
                    message: format!("Component exit_with failed: ({code}) internal failure")
                }
            );
        }
        // WASI preview 1 cannot carry 126 and above; such an exit is a crash, still class 2.
        // Preview 2's `exit-with-code` carries any code up to 255.
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::EXIT_WITH, dir.path())
            .env("CODE", "255")
            .run();
        if guests::TARGET == "wasm32-wasip1" {
            assert!(matches!(result.termination, Termination::Crashed(_)));
        } else {
            assert_eq!(result.termination, Termination::Exited(255));
        }
        assert_eq!(outcome.class(), ExitClass::ApplicationError);
    }

    /// A message of `chars` characters cycling through `alphabet`, so that every position of a
    /// cut is visible in the result (no whitespace: the message is trimmed).
    fn message_of(chars: usize, alphabet: &str) -> String {
        alphabet.chars().cycle().take(chars).collect()
    }

    /// Reference §7.1, written out from the reference rather than from berth's arithmetic: a
    /// message longer than 4000 characters becomes its first ~1997 characters, " ... " and its
    /// last ~1997, "giving a 3999-char string" (the reference runner's test asserts that length).
    fn reference_cut(message: &str) -> String {
        let chars: Vec<char> = message.chars().collect();
        if chars.len() <= 4000 {
            return message.to_owned();
        }
        let head: String = chars[..1997].iter().collect();
        let tail: String = chars[chars.len() - 1997..].iter().collect();
        let cut = format!("{head} ... {tail}");
        assert_eq!(cut.chars().count(), 3999, "the reference's length");
        cut
    }

    fn user_error_message(message: &str) -> String {
        let dir = run_data_dir();
        let (_, outcome) = Run::new(guests::EXIT_WITH, dir.path())
            .env("CODE", "1")
            .env("MESSAGE", message)
            .run();
        match outcome {
            Outcome::UserError { message } => message,
            other => panic!("expected a user error, got {other:?}"),
        }
    }

    #[test]
    fn messages_of_up_to_4000_characters_are_kept_whole() {
        for (chars, alphabet) in [(3999, ASCII), (4000, ASCII), (4000, MULTIBYTE)] {
            let message = message_of(chars, alphabet);
            assert_eq!(user_error_message(&message), message, "{chars} characters");
        }
    }

    #[test]
    fn a_longer_message_keeps_its_first_and_last_1997_characters() {
        for (chars, alphabet) in [
            (4001, ASCII),
            (4001, MULTIBYTE),
            (10_000, ASCII),
            (10_000, MULTIBYTE),
        ] {
            let message = message_of(chars, alphabet);
            let cut = user_error_message(&message);
            assert_eq!(cut.chars().count(), 3999, "{chars} characters");
            assert_eq!(cut, reference_cut(&message), "{chars} characters");
        }
    }

    const ASCII: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
    const MULTIBYTE: &str = "ěščřžýáíéúůďťň🐎ö";
}

mod spin_forever {
    use super::*;

    #[test]
    fn a_busy_guest_is_stopped_at_the_deadline() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::SPIN_FOREVER, dir.path())
            .timeout(Duration::from_secs(1))
            .run();
        assert_eq!(result.termination, Termination::TimedOut);
        assert_eq!(
            outcome,
            Outcome::Timeout {
                message: "Running spin_forever exceeded the timeout of 1 seconds.".into()
            }
        );
        assert_eq!(outcome.class(), ExitClass::UserError);
        assert_stopped_at(result.duration, Duration::from_secs(1));
    }
}

mod sleep_forever {
    use super::*;

    #[test]
    fn a_guest_waiting_in_the_host_is_stopped_at_the_deadline() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::SLEEP_FOREVER, dir.path())
            .timeout(Duration::from_secs(1))
            .run();
        assert_eq!(result.termination, Termination::TimedOut);
        assert_eq!(
            outcome,
            Outcome::Timeout {
                message: "Running sleep_forever exceeded the timeout of 1 seconds.".into()
            }
        );
        assert_stopped_at(result.duration, Duration::from_secs(1));
    }
}

mod action_answer {
    use super::*;

    fn action_dir(action: &str) -> tempfile::TempDir {
        data_dir(&serde_json::json!({"parameters": {}, "action": action}))
    }

    #[test]
    fn an_action_answers_one_json_document() {
        let dir = action_dir("hello");
        let (result, outcome) = Run::new(guests::ACTION_ANSWER, dir.path())
            .action("hello")
            .run();
        assert_eq!(outcome, Outcome::Success);
        assert_eq!(
            action_response(&result.stdout.bytes).unwrap(),
            serde_json::json!({"hello": "world"})
        );
    }

    #[test]
    fn an_empty_or_non_json_answer_is_rejected() {
        let dir = action_dir("silent");
        let (result, _) = Run::new(guests::ACTION_ANSWER, dir.path())
            .action("silent")
            .run();
        assert_eq!(
            action_response(&result.stdout.bytes),
            Err(ActionResponseError::Empty)
        );
        assert_eq!(
            ActionResponseError::Empty.to_string(),
            "No response from component."
        );
        let dir = action_dir("garbage");
        let (result, _) = Run::new(guests::ACTION_ANSWER, dir.path())
            .action("garbage")
            .run();
        assert!(matches!(
            action_response(&result.stdout.bytes),
            Err(ActionResponseError::NotJson(_))
        ));
    }

    #[test]
    fn a_guest_finishing_before_the_deadline_is_not_stopped() {
        let dir = action_dir("slow");
        let (result, outcome) = Run::new(guests::ACTION_ANSWER, dir.path())
            .action("slow")
            .env("SLEEP_MS", "200")
            .timeout(Duration::from_secs(5))
            .run();
        assert_eq!(outcome, Outcome::Success);
        assert_eq!(
            action_response(&result.stdout.bytes).unwrap(),
            serde_json::json!({"slept_ms": 200})
        );
        assert!(result.duration >= Duration::from_millis(200));
    }
}

mod alloc_abort {
    use super::*;

    #[test]
    fn memory_within_the_limit_is_granted() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::ALLOC_ABORT, dir.path())
            .env("ALLOC_MB", "64")
            .memory_mb(256)
            .run();
        assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    }

    #[test]
    fn an_abort_after_a_denied_growth_is_out_of_memory() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::ALLOC_ABORT, dir.path())
            .env("ALLOC_MB", "512")
            .memory_mb(256)
            .run();
        assert_eq!(result.termination, Termination::OutOfMemory);
        assert_eq!(
            outcome,
            Outcome::OutOfMemory {
                message: "Component out of memory (exceeded 256M)".into()
            }
        );
        assert_eq!(outcome.class(), ExitClass::UserError);
    }

    /// The default limits (`Limits::for_action`, what `berth exec` and jobs start from) hold
    /// 256 MB: 200 MB is granted, 300 MB is not.
    #[test]
    fn the_default_memory_limit_is_256_mb() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::ALLOC_ABORT, dir.path())
            .env("ALLOC_MB", "200")
            .run();
        assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::ALLOC_ABORT, dir.path())
            .env("ALLOC_MB", "300")
            .run();
        assert_eq!(result.termination, Termination::OutOfMemory);
        assert_eq!(
            outcome,
            Outcome::OutOfMemory {
                message: "Component out of memory (exceeded 256M)".into()
            }
        );
    }
}

mod alloc_try_exit {
    use super::*;

    #[test]
    fn a_clean_exit_after_a_denied_growth_is_out_of_memory() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::ALLOC_TRY_EXIT, dir.path())
            .env("ALLOC_MB", "300")
            .memory_mb(128)
            .run();
        assert!(result.stderr.text().contains("try_reserve failed"));
        assert_eq!(result.termination, Termination::OutOfMemory);
        assert_eq!(outcome.class(), ExitClass::UserError);
    }

    #[test]
    fn a_granted_reservation_succeeds() {
        let dir = run_data_dir();
        let (_, outcome) = Run::new(guests::ALLOC_TRY_EXIT, dir.path())
            .env("ALLOC_MB", "16")
            .memory_mb(128)
            .run();
        assert_eq!(outcome, Outcome::Success);
    }
}

mod panic_trap {
    use super::*;

    #[test]
    fn a_trap_is_an_application_error() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::PANIC_TRAP, dir.path()).run();
        assert!(matches!(result.termination, Termination::Crashed(_)));
        assert_eq!(outcome.class(), ExitClass::ApplicationError);
        assert!(outcome.message().contains("panic_trap: giving up"));
    }
}

mod stdout_flood {
    use super::*;

    /// What the guest writes for `FLOOD_MB=mb`: whole 64 KiB chunks, then its last line.
    fn flood_bytes(mb: u64) -> u64 {
        let chunk = 64 * 1024;
        (mb * 1_000_000 / chunk) * chunk + "\nflood: the end\n".len() as u64
    }

    /// The marker the capture puts between head and tail.
    fn marker(cut: u64, cap: usize) -> String {
        format!(
            "\n[berth: {cut} bytes cut here; output exceeded the capture limit of {cap} bytes]\n"
        )
    }

    #[test]
    fn output_under_the_cap_is_kept_whole() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::STDOUT_FLOOD, dir.path())
            .env("FLOOD_MB", "1")
            .output_cap(4 << 20)
            .run();
        assert_eq!(outcome, Outcome::Success);
        assert!(!result.stdout.truncated);
        assert_eq!(result.stdout.total_bytes, flood_bytes(1));
        assert_eq!(result.stdout.bytes.len() as u64, flood_bytes(1));
    }

    /// The default cap (`Limits::for_action`) is 4 MiB: 4 MB of output is kept whole, 8 MB is
    /// cut to exactly 4 MiB plus the marker.
    #[test]
    fn the_default_cap_is_4_mib() {
        let dir = run_data_dir();
        let (result, _) = Run::new(guests::STDOUT_FLOOD, dir.path())
            .env("FLOOD_MB", "4")
            .run();
        assert!(!result.stdout.truncated);
        assert_eq!(result.stdout.bytes.len() as u64, flood_bytes(4));
        let dir = run_data_dir();
        let (result, _) = Run::new(guests::STDOUT_FLOOD, dir.path())
            .env("FLOOD_MB", "8")
            .run();
        let cap = 4 << 20;
        let cut = flood_bytes(8) - cap as u64;
        assert!(result.stdout.truncated);
        assert_eq!(result.stdout.total_bytes, flood_bytes(8));
        assert_eq!(result.stdout.bytes.len(), cap + marker(cut, cap).len());
        assert!(result.stdout.text().contains(&marker(cut, cap)));
    }

    #[test]
    fn a_flood_is_cut_and_memory_stays_bounded() {
        let dir = run_data_dir();
        let cap = 1 << 20;
        let (result, outcome) = Run::new(guests::STDOUT_FLOOD, dir.path())
            .env("FLOOD_MB", "64")
            .output_cap(cap)
            .run();
        assert_eq!(outcome, Outcome::Success, "a flood is cut, not fatal");
        assert!(result.stdout.truncated);
        assert_eq!(result.stdout.total_bytes, flood_bytes(64));
        let marker = marker(flood_bytes(64) - cap as u64, cap);
        assert_eq!(result.stdout.bytes.len(), cap + marker.len());
        let text = result.stdout.text();
        assert!(text.contains(&marker));
        assert!(text.ends_with("flood: the end\n"), "the tail survives");
    }
}

mod fs_escape {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Everything under `dir`: files with their content, folders, and links with their target.
    fn tree(dir: &Path) -> BTreeMap<String, String> {
        fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<String, String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.strip_prefix(root).unwrap().display().to_string();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                if meta.is_symlink() {
                    let target = std::fs::read_link(&path).unwrap();
                    into.insert(name, format!("-> {}", target.display()));
                } else if meta.is_dir() {
                    into.insert(format!("{name}/"), String::new());
                    walk(root, &path, into);
                } else {
                    into.insert(name, std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let mut entries = BTreeMap::new();
        walk(dir, dir, &mut entries);
        entries
    }

    /// WASI errno `noent`: a path under no preopened directory (the guest's libc has nothing to
    /// resolve it against and never asks the host), or a link that was never made.
    const NOENT: &str = "errno 44";
    /// WASI errno `perm`: the host refused a path that leaves /data (cap-std underneath).
    const PERM: &str = "errno 63";

    #[test]
    fn nothing_outside_data_is_reachable() {
        // A folder next to the data folder, with a secret in it.
        let outside = tempfile::TempDir::new().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        let dir = run_data_dir();
        assert_eq!(dir.path().parent(), outside.path().parent());
        let outside_name = outside.path().file_name().unwrap().to_str().unwrap();
        std::fs::create_dir_all(dir.path().join("in")).unwrap();
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        let secret = outside.path().join("secret.txt");
        std::os::unix::fs::symlink(&secret, dir.path().join("in/file-link")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("in/dir-link")).unwrap();
        let before = tree(outside.path());

        let outside_path = outside.path().to_str().unwrap();
        let outside_up = format!("../../{outside_name}");
        let (result, outcome) = Run::new(guests::FS_ESCAPE, dir.path())
            .env("OUTSIDE", outside_path)
            .env("OUTSIDE_UP", &outside_up)
            .run();
        assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
        let report: BTreeMap<String, String> =
            serde_json::from_slice(&result.stdout.bytes).expect("a JSON report");

        let config_bytes = std::fs::metadata(dir.path().join("config.json"))
            .unwrap()
            .len();
        let expected: BTreeMap<String, String> = [
            ("control_read", format!("ok: read {config_bytes} bytes")),
            ("control_write", "ok: written".to_owned()),
            ("read_etc_passwd", NOENT.to_owned()),
            ("read_dotdot", PERM.to_owned()),
            ("read_relative_dotdot", NOENT.to_owned()),
            ("read_outside", NOENT.to_owned()),
            ("read_planted_file_link", PERM.to_owned()),
            ("read_planted_dir_link", PERM.to_owned()),
            ("list_root", NOENT.to_owned()),
            ("write_outside", NOENT.to_owned()),
            ("write_dotdot", PERM.to_owned()),
            ("write_planted_dir_link", PERM.to_owned()),
            // An absolute link is refused; a relative one pointing out may be made (what it
            // points to is never reached: writing through it is refused, and output mapping
            // refuses links, see staging_output_tables.rs).
            ("create_link_absolute", PERM.to_owned()),
            ("write_created_link_absolute", NOENT.to_owned()),
            ("create_link_relative", "ok: created".to_owned()),
            ("write_created_link_relative", PERM.to_owned()),
            ("hard_link_in_through_dir_link", PERM.to_owned()),
            ("hard_link_out", NOENT.to_owned()),
            ("hard_link_out_through_dir_link", PERM.to_owned()),
            ("rename_out", NOENT.to_owned()),
            ("rename_out_through_dir_link", PERM.to_owned()),
            ("rename_in_through_dir_link", PERM.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(report, expected, "the guest's attempts and their verdicts");

        // Nothing outside changed; inside, only the control file and the relative link were made.
        assert_eq!(tree(outside.path()), before, "the outside folder changed");
        let out: Vec<(String, String)> = tree(&dir.path().join("out")).into_iter().collect();
        assert_eq!(
            out,
            [
                ("control.txt".to_owned(), "escaped".to_owned()),
                ("rel-link".to_owned(), format!("-> {outside_up}")),
            ]
        );
    }
}

/// No network for a preview 1 module: the only socket calls preview 1 has (`sock_accept`,
/// `sock_recv`, `sock_send`, `sock_shutdown`) find no socket on any descriptor. The guest is
/// hand-written (Rust's std on wasip1 answers "unsupported" without calling the host at all) and
/// writes four errno bytes per descriptor 0..=64 to stdout.
mod no_sockets {
    use super::*;

    const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "sock_accept"
    (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv"
    (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send"
    (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_shutdown"
    (func $shutdown (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 0: an iovec of a 16-byte buffer at 64; 8, 12: result slots; 16: the stdout iovec;
  ;; 1024: the errno bytes, four per descriptor.
  (func (export "_start")
    (local $fd i32)
    (local $at i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (local.set $at (i32.const 1024))
    (loop $next
      (i32.store8 (local.get $at)
        (call $accept (local.get $fd) (i32.const 0) (i32.const 8)))
      (i32.store8 offset=1 (local.get $at)
        (call $recv (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 0)
          (i32.const 8) (i32.const 12)))
      (i32.store8 offset=2 (local.get $at)
        (call $send (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 8)))
      (i32.store8 offset=3 (local.get $at)
        (call $shutdown (local.get $fd) (i32.const 3)))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br_if $next (i32.le_u (local.get $fd) (i32.const 64))))
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.sub (local.get $at) (i32.const 1024)))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;

    /// WASI errno `badf`: not an open descriptor.
    const BADF: u8 = 8;
    /// WASI errno `notsock`: open, but not a socket.
    const NOTSOCK: u8 = 57;

    #[test]
    fn no_descriptor_is_a_socket() {
        let work = tempfile::TempDir::new().unwrap();
        let module = work.path().join("sock_probe.wasm");
        std::fs::write(&module, wat::parse_str(GUEST).expect("valid wat")).unwrap();
        let dir = run_data_dir();
        let (result, outcome) = Run::new(module.to_str().unwrap(), dir.path()).run();
        assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
        let errnos: Vec<(u32, [u8; 4])> = result
            .stdout
            .bytes
            .chunks(4)
            .zip(0..)
            .map(|(quad, fd)| (fd, quad.try_into().expect("four errnos per descriptor")))
            .collect();
        // Descriptors 0-2 are stdio and 3 the /data preopen: open, none a socket. No other
        // descriptor is open.
        let expected: Vec<(u32, [u8; 4])> = (0..=64)
            .map(|fd| (fd, [if fd <= 3 { NOTSOCK } else { BADF }; 4]))
            .collect();
        assert_eq!(errnos, expected, "(fd, [accept, recv, send, shutdown])");
    }
}

mod print_env {
    use super::*;

    #[test]
    fn the_environment_is_exactly_the_kbc_contract() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::PRINT_ENV, dir.path()).run();
        assert_eq!(outcome, Outcome::Success);
        let text = result.stdout.text();
        let vars: Vec<(&str, &str)> = text
            .lines()
            .filter(|l| !l.starts_with("argv: "))
            .map(|l| l.split_once('=').expect("KEY=VALUE"))
            .collect();
        let keys: Vec<&str> = vars.iter().map(|(k, _)| *k).collect();
        for key in keys.iter() {
            assert!(key.starts_with("KBC_"), "unexpected variable {key}");
        }
        for required in [
            "KBC_DATADIR",
            "KBC_RUNID",
            "KBC_PROJECTID",
            "KBC_CONFIGID",
            "KBC_COMPONENTID",
            "KBC_STACKID",
            "KBC_PROJECT_FEATURE_GATES",
            "KBC_COMPONENT_RUN_MODE",
        ] {
            assert!(keys.contains(&required), "missing {required}");
        }
        let get = |k: &str| vars.iter().find(|(n, _)| *n == k).unwrap().1;
        assert_eq!(get("KBC_DATADIR"), "/data/");
        assert!(get("KBC_PROJECT_FEATURE_GATES").contains("queuev2"));
        assert_eq!(get("KBC_COMPONENT_RUN_MODE"), "run");
        assert!(std::env::var_os("PATH").is_some() && !keys.contains(&"PATH"));
        assert!(text.contains("argv: [\"print_env\"]"));
    }
}

// The job guests (staging and job tests drive them through whole jobs; see job_*.rs and
// staging_*.rs). Here: each runs in a bare data folder and does what it says.

mod pass_through {
    use super::*;

    #[test]
    fn copies_every_input_table_to_out_tables() {
        let dir = run_data_dir();
        let tables = dir.path().join("in/tables");
        std::fs::create_dir_all(tables.join("sliced")).unwrap();
        std::fs::create_dir_all(dir.path().join("out/tables")).unwrap();
        std::fs::write(tables.join("a.csv"), "\"x\"\n\"1\"\n").unwrap();
        std::fs::write(tables.join("a.csv.manifest"), "{}").unwrap();
        std::fs::write(tables.join("sliced/part1"), "2\n").unwrap();
        let (_, outcome) = Run::new(guests::PASS_THROUGH, dir.path()).run();
        assert_eq!(outcome, Outcome::Success);
        let out = dir.path().join("out/tables");
        assert_eq!(
            std::fs::read_to_string(out.join("a.csv")).unwrap(),
            "\"x\"\n\"1\"\n"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("sliced/part1")).unwrap(),
            "2\n"
        );
        assert!(!out.join("a.csv.manifest").exists());
    }
}

mod write_outputs {
    use super::*;

    #[test]
    fn writes_the_requested_files_and_exits_with_the_requested_code() {
        let dir = data_dir(&serde_json::json!({"parameters": {
            "write": [{"path": "out/tables/t.csv", "text": "a\n"}, {"path": "out/files/b", "bytes": [104, 105]}],
            "exit_code": 1, "message": "asked to fail"}}));
        let (_, outcome) = Run::new(guests::WRITE_OUTPUTS, dir.path()).run();
        assert_eq!(
            outcome,
            Outcome::UserError {
                message: "asked to fail".into()
            }
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out/tables/t.csv")).unwrap(),
            "a\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out/files/b")).unwrap(),
            "hi"
        );
    }
}

mod generate_rows {
    use super::*;

    #[test]
    fn writes_the_requested_number_of_rows() {
        let dir = data_dir(&serde_json::json!({"parameters": {"rows": 3, "file": "g.csv"}}));
        std::fs::create_dir_all(dir.path().join("out/tables")).unwrap();
        let (_, outcome) = Run::new(guests::GENERATE_ROWS, dir.path()).run();
        assert_eq!(outcome, Outcome::Success);
        let text = std::fs::read_to_string(dir.path().join("out/tables/g.csv")).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.starts_with("\"id\",\"value\"\n\"0\","));
    }
}

mod yaml_files {
    use super::*;

    #[test]
    fn refuses_a_json_configuration_and_answers_yaml_with_yaml() {
        // A data folder in JSON (config.json): the guest says it reads YAML and exits 2.
        let dir = data_dir(&serde_json::json!({"parameters": {}}));
        let (_, outcome) = Run::new(guests::YAML_FILES, dir.path()).run();
        assert_eq!(outcome.class(), ExitClass::ApplicationError, "{outcome:?}");
        assert!(
            outcome.message().contains("config.json exists"),
            "{outcome:?}"
        );

        let dir = tempfile::TempDir::new().unwrap();
        for folder in ["in", "out/tables"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        }
        std::fs::write(dir.path().join("config.yml"), "parameters: {}\n").unwrap();
        std::fs::write(dir.path().join("in/state.yml"), "runs: 4\n").unwrap();
        let (_, outcome) = Run::new(guests::YAML_FILES, dir.path()).run();
        assert_eq!(outcome, Outcome::Success);
        let state = std::fs::read_to_string(dir.path().join("out/state.yml")).unwrap();
        assert_eq!(state, "runs: 5\nnote: yes\n");
        assert!(dir.path().join("out/usage.yml").is_file());
        assert!(dir.path().join("out/tables/t.csv.manifest").is_file());
    }
}

// The secrets_echo guest (its tests live in their own file).
#[path = "sandbox_secrets_echo.rs"]
mod secrets_echo;

/// Fails to compile when a test program has no module of tests above.
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports, reason = "only checks that the module exists")]
        use self::$name as _;
    };
}
components_artifacts::foreach_test_program!(assert_test_exists);

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
use berth_exec::outcome::{ActionResponseError, action_response};
use berth_exec::{Outcome, Termination};
use berth_host_api::exit::ExitClass;

use berth_exec::testing::{Run, data_dir, run_data_dir};

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
        assert_eq!(outcome.class(), ExitClass::UserError);
        assert!(outcome.message().ends_with("exit_with: about to exit"));
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
            assert_eq!(outcome.class(), ExitClass::ApplicationError, "code {code}");
            assert!(outcome.message().contains("internal failure"));
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

    #[test]
    fn a_long_error_message_is_cut_to_4000_characters() {
        let dir = run_data_dir();
        let message = format!("HEAD{}TAIL", "m".repeat(10_000));
        let (_, outcome) = Run::new(guests::EXIT_WITH, dir.path())
            .env("CODE", "1")
            .env("MESSAGE", &message)
            .run();
        let text = outcome.message();
        assert_eq!(text.chars().count(), 3999);
        assert!(text.starts_with("HEAD") && text.ends_with("TAIL") && text.contains(" ... "));
    }
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
        assert!(result.duration >= Duration::from_secs(1));
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
        assert_eq!(outcome.class(), ExitClass::UserError);
        assert!(result.duration < Duration::from_secs(30));
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
        assert!(result.duration >= Duration::from_millis(200));
    }

    #[test]
    fn a_synchronous_action_has_thirty_seconds() {
        let dir = action_dir("hello");
        let run = Run::new(guests::ACTION_ANSWER, dir.path()).action("hello");
        assert_eq!(run.limits.timeout, Duration::from_secs(30));
        let run = Run::new(guests::ACTION_ANSWER, dir.path()).action("run");
        assert_eq!(run.limits.timeout, Duration::from_secs(3600));
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

    #[test]
    fn output_under_the_cap_is_kept_whole() {
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::STDOUT_FLOOD, dir.path())
            .env("FLOOD_MB", "1")
            .output_cap(4 << 20)
            .run();
        assert_eq!(outcome, Outcome::Success);
        assert!(!result.stdout.truncated);
        assert_eq!(result.stdout.bytes.len() as u64, result.stdout.total_bytes);
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
        assert!(result.stdout.total_bytes >= 63_000_000);
        assert!(
            result.stdout.bytes.len() <= cap + 200,
            "kept {}",
            result.stdout.bytes.len()
        );
        let text = result.stdout.text();
        assert!(text.contains("bytes cut here"));
        assert!(text.ends_with("flood: the end\n"), "the tail survives");
    }
}

mod fs_escape {
    use super::*;

    #[test]
    fn nothing_outside_data_is_reachable() {
        let outside = tempfile::TempDir::new().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        let dir = run_data_dir();
        std::fs::create_dir_all(dir.path().join("in")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("in/link-to-outside")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("in/dir-link")).unwrap();

        let (result, outcome) = Run::new(guests::FS_ESCAPE, dir.path()).run();
        assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
        let report: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&result.stdout.bytes).expect("a JSON report");
        assert!(
            report["control_config"]
                .as_str()
                .unwrap()
                .starts_with("ok:"),
            "{report:?}"
        );
        for (attempt, verdict) in &report {
            if attempt != "control_config" {
                let verdict = verdict.as_str().unwrap();
                assert!(
                    verdict.starts_with("error:"),
                    "{attempt} escaped: {verdict}"
                );
            }
        }
        assert!(!std::path::Path::new("/tmp/escaped.txt").exists());
    }
}

mod socket_connect {
    use super::*;

    #[test]
    fn no_network_is_reachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let target = listener.local_addr().unwrap().to_string();
        let dir = run_data_dir();
        let (result, outcome) = Run::new(guests::SOCKET_CONNECT, dir.path())
            .env("TARGET", &target)
            .run();
        assert_eq!(outcome, Outcome::Success);
        let text = result.stdout.text();
        for line in ["tcp: error", "udp: error", "dns: error"] {
            assert!(text.contains(line), "expected {line:?} in {text}");
        }
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock,
            "nothing connected to the host"
        );
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

/// Fails to compile when a test program has no module of tests above.
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports, reason = "only checks that the module exists")]
        use self::$name as _;
    };
}
components_artifacts::foreach_test_program!(assert_test_exists);

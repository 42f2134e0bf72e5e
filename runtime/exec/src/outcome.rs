//! Turning how a component ended into the common interface's outcome classes.
//!
//! One function, [`classify`], shared by every executor, implements reference §7.1: exit 0 is
//! success; exit 1 is a user error whose message is stderr (else stdout, else "No error
//! message."), cut to 4000 characters head and tail; a timeout and an exhausted memory are user
//! errors with fixed texts; any other exit and any crash are application errors. Synchronous
//! actions additionally must answer with one JSON document ([`action_response`]).

use std::time::Duration;

use berth_host_api::exit::ExitClass;

use super::{ExecResult, Termination};

/// The longest message a user error carries (reference §7.1).
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Notice added when a failed component wrote nothing to stderr.
pub const FALLBACK_NOTICE: &str =
    "The component has failed without producing any error output. Falling back to output.";

/// The classified result of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the component reported a problem with its input or configuration.
    UserError {
        /// The component's message (stderr, else stdout), cut to 4000 characters.
        message: String,
    },
    /// The wall-clock limit passed (a user error).
    Timeout {
        /// The message, "Running … exceeded the timeout of N seconds."
        message: String,
    },
    /// The component needed more memory than allowed (a user error).
    OutOfMemory {
        /// The message, "Component out of memory (exceeded N MB)".
        message: String,
    },
    /// The run was stopped from outside (a killed job, a shutdown): neither the component's fault
    /// nor the user's; the job ends `terminated`. Its class is an application error (exit 2).
    Terminated {
        /// "Component … was terminated …"
        message: String,
    },
    /// Exit ≥ 2 or a crash: a fault of the component or the platform.
    ApplicationError {
        /// The exit code, when the component exited.
        exit_code: Option<i32>,
        /// What happened, with the component's error output.
        message: String,
    },
}

impl Outcome {
    /// The outcome's class, which is also berth's exit code.
    pub fn class(&self) -> ExitClass {
        match self {
            Outcome::Success => ExitClass::Success,
            Outcome::UserError { .. } | Outcome::Timeout { .. } | Outcome::OutOfMemory { .. } => {
                ExitClass::UserError
            }
            Outcome::ApplicationError { .. } | Outcome::Terminated { .. } => {
                ExitClass::ApplicationError
            }
        }
    }

    /// The message to show, empty for success.
    pub fn message(&self) -> &str {
        match self {
            Outcome::Success => "",
            Outcome::UserError { message }
            | Outcome::Timeout { message }
            | Outcome::OutOfMemory { message }
            | Outcome::Terminated { message }
            | Outcome::ApplicationError { message, .. } => message,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Success => f.write_str("success"),
            Outcome::UserError { message }
            | Outcome::Timeout { message }
            | Outcome::OutOfMemory { message } => write!(f, "user error: {message}"),
            Outcome::ApplicationError { message, .. } => write!(f, "application error: {message}"),
            Outcome::Terminated { message } => write!(f, "terminated: {message}"),
        }
    }
}

/// Whether `termination` is a run stopped by a cancellation or a process shutdown
/// ([`crate::shutdown`]) rather than an ending of the component's own.
pub fn is_cancellation(termination: &Termination) -> bool {
    match termination {
        Termination::Cancelled => true,
        Termination::Crashed(why) => why.starts_with(crate::shutdown::CANCELLED),
        _ => false,
    }
}

/// A memory size the way every out-of-memory message prints it: whole decimal megabytes,
/// `<bytes / 10^6>M` (reference §7.3; `256m` = 256,000,000 bytes prints `256M`).
pub fn format_memory(bytes: u64) -> String {
    format!("{}M", bytes / 1_000_000)
}

/// Classifies `result` of `component` that ran under `timeout` and `memory_bytes`.
pub fn classify(
    result: &ExecResult,
    component: &str,
    timeout: Duration,
    memory_bytes: u64,
) -> Outcome {
    match &result.termination {
        Termination::Exited(0) => Outcome::Success,
        Termination::Exited(1) => Outcome::UserError {
            message: error_message(result),
        },
        Termination::Exited(code) => Outcome::ApplicationError {
            exit_code: Some(*code),
            message: format!(
                "Component {component} failed: ({code}) {}",
                error_message(result)
            ),
        },
        Termination::TimedOut => Outcome::Timeout {
            message: format!(
                "Running {component} exceeded the timeout of {} seconds.",
                timeout.as_secs()
            ),
        },
        Termination::OutOfMemory => Outcome::OutOfMemory {
            message: format!(
                "Component out of memory (exceeded {})",
                format_memory(memory_bytes)
            ),
        },
        Termination::Crashed(reason) => Outcome::ApplicationError {
            exit_code: None,
            message: format!(
                "Component {component} crashed: {reason}; {}",
                error_message(result)
            ),
        },
        Termination::Cancelled => Outcome::Terminated {
            message: format!("Component {component} was terminated: the run was cancelled."),
        },
    }
}

/// The message of a failed run: stderr, else stdout with a notice, else "No error message.".
fn error_message(result: &ExecResult) -> String {
    let stderr = result.stderr.text();
    let stdout = result.stdout.text();
    let message = if !stderr.trim().is_empty() {
        stderr.trim().to_owned()
    } else if !stdout.trim().is_empty() {
        format!("{FALLBACK_NOTICE}\n{}", stdout.trim())
    } else {
        "No error message.".to_owned()
    };
    truncate_message(&message)
}

/// Cuts `message` to at most 4000 characters: the first 1997, " ... ", the last 1997.
pub fn truncate_message(message: &str) -> String {
    let count = message.chars().count();
    if count <= MAX_MESSAGE_CHARS {
        return message.to_owned();
    }
    let keep = (MAX_MESSAGE_CHARS - 6) / 2;
    let head: String = message.chars().take(keep).collect();
    let tail: String = message.chars().skip(count - keep).collect();
    format!("{head} ... {tail}")
}

/// Why a synchronous action's answer was rejected (both are user errors, reference §1.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionResponseError {
    /// The component wrote nothing on stdout.
    #[error("No response from component.")]
    Empty,
    /// The component's stdout is not one JSON document.
    #[error("Decoding JSON response from component failed: {0}")]
    NotJson(String),
}

/// The answer of a successful synchronous action: its stdout, trimmed, as one JSON document.
pub fn action_response(stdout: &[u8]) -> Result<serde_json::Value, ActionResponseError> {
    let text = String::from_utf8_lossy(stdout);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ActionResponseError::Empty);
    }
    serde_json::from_str(trimmed).map_err(|e| ActionResponseError::NotJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CapturedOutput;

    fn result(termination: Termination, stdout: &str, stderr: &str) -> ExecResult {
        let capture = |s: &str| CapturedOutput {
            bytes: s.as_bytes().to_vec(),
            total_bytes: s.len() as u64,
            truncated: false,
        };
        ExecResult {
            termination,
            stdout: capture(stdout),
            stderr: capture(stderr),
            duration: Duration::ZERO,
        }
    }

    fn classify_default(r: &ExecResult) -> Outcome {
        classify(r, "demo", Duration::from_secs(30), 256_000_000)
    }

    #[test]
    fn exit_one_prefers_stderr_then_stdout_then_a_default() {
        let o = classify_default(&result(Termination::Exited(1), "out", " bad input \n"));
        assert_eq!(
            o,
            Outcome::UserError {
                message: "bad input".into()
            }
        );
        let o = classify_default(&result(Termination::Exited(1), "only out", ""));
        assert_eq!(o.message(), format!("{FALLBACK_NOTICE}\nonly out"));
        let o = classify_default(&result(Termination::Exited(1), "", ""));
        assert_eq!(o.message(), "No error message.");
        assert_eq!(o.class(), ExitClass::UserError);
    }

    #[test]
    fn other_exits_and_crashes_are_application_errors() {
        let o = classify_default(&result(Termination::Exited(2), "", "boom"));
        assert_eq!(o.class(), ExitClass::ApplicationError);
        assert_eq!(o.message(), "Component demo failed: (2) boom");
        let o = classify_default(&result(Termination::Crashed("wasm trap".into()), "", ""));
        assert_eq!(o.class(), ExitClass::ApplicationError);
    }

    #[test]
    fn timeout_and_memory_are_user_errors_with_fixed_texts() {
        let o = classify_default(&result(Termination::TimedOut, "", ""));
        assert_eq!(
            o.message(),
            "Running demo exceeded the timeout of 30 seconds."
        );
        assert_eq!(o.class(), ExitClass::UserError);
        let o = classify_default(&result(Termination::OutOfMemory, "", ""));
        assert_eq!(o.message(), "Component out of memory (exceeded 256M)");
        assert_eq!(o.class(), ExitClass::UserError);
    }

    #[test]
    fn long_messages_keep_head_and_tail() {
        // Reference §7.1: up to 4000 characters are kept; a longer message becomes its first
        // 1997 characters, " ... " and its last 1997 (3999 in all), counted in characters.
        let cycle =
            |n: usize, alphabet: &str| -> String { alphabet.chars().cycle().take(n).collect() };
        for alphabet in ["abcdefghijklmnopqrstuvwxyz0123456789", "ěščřžýáíé🐎"] {
            for n in [3999, 4000] {
                let message = cycle(n, alphabet);
                assert_eq!(truncate_message(&message), message, "{n}");
            }
            for n in [4001, 6000] {
                let message = cycle(n, alphabet);
                let chars: Vec<char> = message.chars().collect();
                let head: String = chars[..1997].iter().collect();
                let tail: String = chars[n - 1997..].iter().collect();
                let cut = truncate_message(&message);
                assert_eq!(cut, format!("{head} ... {tail}"), "{n}");
                assert_eq!(cut.chars().count(), 3999, "{n}");
            }
        }
        assert_eq!(truncate_message("short"), "short");
    }

    #[test]
    fn action_answers_must_be_one_json_document() {
        assert_eq!(action_response(b"  \n"), Err(ActionResponseError::Empty));
        assert_eq!(
            action_response(b"{\"a\":1}\n").unwrap(),
            serde_json::json!({"a": 1})
        );
        let err = action_response(b"hello").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Decoding JSON response from component failed:")
        );
    }
}

//! Stopping a run from outside through its `Cancel` (a killed job, a shutdown): a busy guest, a
//! guest waiting in a host call, a container, and a flag set before the run starts. Each run has
//! a timeout far longer than the cancellation delay, so a cancellation that does not work ends
//! as a timeout and fails the assertion instead of passing.

use std::time::Duration;

use berth_exec::testing::{Run, run_data_dir};
use berth_exec::{Cancel, Executor, Outcome, Termination};
use components_artifacts as guests;

use crate::docker_support::Case;

/// Sets `cancel` from another thread after `delay`.
fn cancel_after(cancel: &Cancel, delay: Duration) -> std::thread::JoinHandle<()> {
    let cancel = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        cancel.cancel();
    })
}

fn assert_terminated(termination: &Termination, outcome: &Outcome) {
    assert_eq!(*termination, Termination::Cancelled);
    assert!(
        matches!(outcome, Outcome::Terminated { message } if message.contains("terminated")),
        "{outcome:?}"
    );
}

#[test]
fn cancel_stops_a_busy_guest() {
    let dir = run_data_dir();
    let cancel = Cancel::new();
    let setter = cancel_after(&cancel, Duration::from_millis(300));
    let (result, outcome) = Run::new(guests::SPIN_FOREVER, dir.path())
        .timeout(Duration::from_secs(120))
        .cancel(&cancel)
        .run();
    setter.join().unwrap();
    assert_terminated(&result.termination, &outcome);
}

#[test]
fn cancel_stops_a_guest_waiting_in_a_host_call() {
    let dir = run_data_dir();
    let cancel = Cancel::new();
    let setter = cancel_after(&cancel, Duration::from_millis(300));
    let (result, outcome) = Run::new(guests::SLEEP_FOREVER, dir.path())
        .timeout(Duration::from_secs(120))
        .cancel(&cancel)
        .run();
    setter.join().unwrap();
    assert_terminated(&result.termination, &outcome);
}

#[test]
fn a_run_cancelled_before_it_starts_does_not_run() {
    let dir = run_data_dir();
    let cancel = Cancel::new();
    cancel.cancel();
    let (result, outcome) = Run::new(guests::WRITE_OUTPUTS, dir.path())
        .cancel(&cancel)
        .run();
    assert_terminated(&result.termination, &outcome);
}

#[test]
fn an_unset_cancel_changes_nothing() {
    let dir = run_data_dir();
    let cancel = Cancel::new();
    let (result, outcome) = Run::new(guests::EXIT_WITH, dir.path())
        .env("CODE", "0")
        .cancel(&cancel)
        .run();
    assert_eq!(result.termination, Termination::Exited(0), "{outcome:?}");
}

#[test]
fn docker_request_cancel_stops_the_container() {
    let Some(mut case) = Case::new("docker_request_cancel") else {
        return;
    };
    case.timeout(Duration::from_secs(120));
    let executor = case.executor("spin_forever", case.options());
    let cancel = Cancel::new();
    let mut request = case.request();
    request.cancel = Some(cancel.clone());
    let setter = cancel_after(&cancel, Duration::from_millis(1500));
    let result = executor.execute(&request).expect("container runs");
    setter.join().unwrap();
    assert_eq!(result.termination, Termination::Cancelled);
    case.assert_clean();
}

#[test]
fn docker_request_cancel_is_not_sticky() {
    let Some(case) = Case::new("docker_request_cancel_not_sticky") else {
        return;
    };
    let executor = case.executor("exit_code", case.options());
    let cancel = Cancel::new();
    cancel.cancel();
    let mut cancelled = case.request();
    cancelled.cancel = Some(cancel);
    let result = executor.execute(&cancelled).expect("no run");
    assert_eq!(result.termination, Termination::Cancelled);
    // The executor itself was not cancelled: the next request runs.
    let again = executor.execute(&case.request()).expect("runs");
    assert!(
        matches!(again.termination, Termination::Exited(_)),
        "{:?}",
        again.termination
    );
    case.assert_clean();
}

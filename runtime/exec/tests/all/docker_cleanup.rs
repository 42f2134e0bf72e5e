//! What the Docker executor leaves behind and how it fails: no container and no private `/tmp`
//! after any run (the other docker tests check it after exits and timeouts), cancelling a job
//! stops its container, and an unreachable daemon is one clear, fast error naming the address.

use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use berth_exec::docker::fixture::running_containers_labelled;
use berth_exec::docker::{DockerExecutor, DockerOptions, LABEL_RUN_ID, is_cancellation};
use berth_exec::{ExecError, Executor};

use crate::docker_support::Case;

#[test]
fn docker_cancel_stops_the_container() {
    let Some(case) = Case::new("docker_cancel") else {
        return;
    };
    let executor = case.executor("spin_forever", case.options());
    let cancel = executor.cancel_handle();
    // Cancel only once the daemon reports this case's container running.
    let run_id = case.run_id.clone();
    let canceller = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let running = loop {
            let running =
                running_containers_labelled(LABEL_RUN_ID, &run_id).expect("listing containers");
            if !running.is_empty() || Instant::now() >= deadline {
                break running;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        cancel.cancel();
        running
    });
    let result = executor.execute(&case.request()).expect("container runs");
    let running = canceller.join().unwrap();
    assert_eq!(
        running.len(),
        1,
        "the container was seen running before the cancel"
    );
    assert!(
        is_cancellation(&result.termination),
        "{:?}",
        result.termination
    );
    assert_eq!(result.stdout.text(), "spin_forever: started\n");
    case.assert_clean();
    // Cancelling is sticky: the job's executor starts nothing more.
    let again = executor.execute(&case.request()).expect("no run");
    assert!(is_cancellation(&again.termination));
    case.assert_clean();
}

#[test]
fn docker_missing_data_dir_is_a_data_dir_error() {
    let Some(case) = Case::new("docker_missing_data_dir") else {
        return;
    };
    let executor = case.executor("exit_code", case.options());
    let mut request = case.request();
    request.data_dir = case.data.path().join("nope");
    let err = executor.execute(&request).expect_err("no data folder");
    assert!(matches!(err, ExecError::DataDir { .. }), "{err:?}");
    case.assert_clean();
}

/// Connecting to `host` fails within a few seconds with an executor error naming it.
fn assert_unreachable(host: &str, within: Duration) {
    let options = DockerOptions {
        host: Some(host.to_owned()),
        ..Default::default()
    };
    let started = Instant::now();
    let err = DockerExecutor::connect("docker://berth-fixture/none:1", options)
        .expect_err("no daemon there");
    let elapsed = started.elapsed();
    assert!(
        matches!(
            err,
            ExecError::Executor {
                executor: "docker",
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("cannot reach the Docker daemon"),
        "{message}"
    );
    assert!(message.contains(host), "{message}");
    assert!(elapsed < within, "took {elapsed:?}: {message}");
}

#[test]
fn docker_unreachable_daemon_is_one_clear_fast_error() {
    let dir = tempfile::tempdir().unwrap();
    // No socket file at all.
    let missing = format!("unix://{}/docker.sock", dir.path().display());
    assert_unreachable(&missing, Duration::from_secs(2));
    // A socket file nobody listens on any more (connection refused).
    let stale = dir.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    assert_unreachable(
        &format!("unix://{}", stale.display()),
        Duration::from_secs(2),
    );
    // A listener that accepts and never answers: the connect timeout, not a hang.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("tcp://{}", silent.local_addr().unwrap());
    assert_unreachable(&address, Duration::from_secs(10));
}

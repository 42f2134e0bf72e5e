//! The Docker executor's exit classes and environment: exit 0, 1 and 2 give the same outcomes as
//! on the WASI path, the component sees exactly the request's environment, and a missing image
//! that cannot be pulled is one "Cannot pull" component error.

use berth_exec::docker::{DockerExecutor, DockerOptions};
use berth_exec::{ExecError, Outcome, Termination};

use crate::docker_support::Case;

#[test]
fn docker_exit_0_is_success_with_output_captured() {
    let Some(mut case) = Case::new("docker_exit_0") else {
        return;
    };
    let (result, outcome) = case.env("EXIT_CODE", "0").run("exit_code");
    assert_eq!(result.termination, Termination::Exited(0));
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(result.stdout.text(), "exit_code: stdout line\n");
    assert_eq!(
        result.stderr.text(),
        "exit_code: failing on purpose with code 0\n"
    );
    case.assert_clean();
}

#[test]
fn docker_exit_1_is_a_user_error_with_the_stderr_message() {
    let Some(mut case) = Case::new("docker_exit_1") else {
        return;
    };
    let (result, outcome) = case.env("EXIT_CODE", "1").run("exit_code");
    assert_eq!(result.termination, Termination::Exited(1));
    match outcome {
        Outcome::UserError { message } => {
            assert!(
                message.contains("failing on purpose with code 1"),
                "{message}"
            );
        }
        other => panic!("expected a user error, got {other:?}"),
    }
    case.assert_clean();
}

#[test]
fn docker_exit_2_is_an_application_error() {
    let Some(mut case) = Case::new("docker_exit_2") else {
        return;
    };
    let (result, outcome) = case.env("EXIT_CODE", "2").run("exit_code");
    assert_eq!(result.termination, Termination::Exited(2));
    assert!(
        matches!(
            outcome,
            Outcome::ApplicationError {
                exit_code: Some(2),
                ..
            }
        ),
        "{outcome:?}"
    );
    case.assert_clean();
}

#[test]
fn docker_env_is_exactly_the_request_env() {
    let Some(mut case) = Case::new("docker_env") else {
        return;
    };
    case.env("BERTH_MARKER", "a value with spaces = and equals");
    let (result, outcome) = case.run("print_env");
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    let stdout = result.stdout.text();
    for (key, value) in &case.env {
        assert!(
            stdout.contains(&format!("{key}={value}\n")),
            "{key} missing:\n{stdout}"
        );
    }
    // Docker itself adds PATH, HOSTNAME and HOME to a scratch image; nothing else may appear.
    let docker_own = ["PATH", "HOSTNAME", "HOME"];
    for line in stdout.lines() {
        let key = line.split_once('=').map_or(line, |(k, _)| k);
        assert!(
            case.env.iter().any(|(k, _)| k == key) || docker_own.contains(&key),
            "unexpected variable {key} in the container:\n{stdout}"
        );
    }
    case.assert_clean();
}

#[test]
fn docker_image_that_cannot_be_pulled_is_one_component_error() {
    let Some(_case) = Case::new("docker_unpullable") else {
        return;
    };
    // A registry on a port nobody listens on: the pull fails fast, without any network.
    let err = DockerExecutor::connect(
        "docker://127.0.0.1:9/berth/none:1",
        DockerOptions::default(),
    )
    .expect_err("an image nobody serves");
    assert!(matches!(err, ExecError::Component { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("Cannot pull image 127.0.0.1:9/berth/none:1"),
        "{err}"
    );
}

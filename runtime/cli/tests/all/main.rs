//! berth-cli's one integration-test binary: the `berth` binary as the outside world uses it.

// The binary under test.
mod support;
// `berth exec`: its stdout/stderr and exit codes, registry references.
mod cli_exec;
// `berth image` against the test registry.
mod image_cli;
// `berth run`, `berth action` and `berth job`.
mod job_cli;
// `kill -9` of `berth run` while it loads output tables leaves every table as it was.
mod job_kill;
// The storage commands: output, --json and exit codes.
mod storage_cli;
// Storage crash safety: the berth binary killed with SIGKILL mid-import.
mod storage_crash;
// `berth image build --python`: build, run, push and pull a Python component.
mod python_cli;
// `berth serve` through the binary: the home lock, SIGTERM, a restart after SIGKILL.
mod serve_cli;

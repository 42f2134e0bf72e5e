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
// BERTH_STORAGE_URL: the table commands on PostgreSQL, the rest refused.
mod storage_postgres_cli;
// The hostile suite: measuring the berth process (exit, peak RSS, wall time).
mod hostile_support;
// Traps a WASI component leaves in out/: links, sparse files, huge fields, bombs, many entries.
mod hostile_output;
// What only a container plants (FIFOs, sockets, absolute links, non-UTF-8 names), a fork bomb.
mod hostile_containers;
// Guest numbers handed to berth's own host functions; tables against the memory limit.
mod hostile_host_calls;
// SIGTERM/SIGINT to a running berth run; containers of a killed berth reaped.
mod hostile_signals;
// A registry that lies about or overflows its manifests and layers.
mod hostile_registry;
// A configuration author's worst: deep queries, deep documents, huge documents.
mod hostile_config;
// `berth image build --python`: build, run, push and pull a Python component.
mod python_cli;
// `berth serve` through the binary: the home lock, SIGTERM, a restart after SIGKILL.
mod serve_cli;
// `berth config row …`, `config state --set`, `component update|rm`.
mod config_rows_cli;
// Secrets: info, encrypt, ciphers in Storage, nothing leaked in any sink, debug mode, rotation.
mod secrets_cli;
// Issue 14's configuration features (variables, processors) through `berth run`.
mod config_features_cli;
// Client mode: the CLI through a real `berth serve` (--url, --token).
mod client_mode;
// `--json` on every command that prints data.
mod json_flags;
// The crash test: 1,000 jobs over HTTP, the server SIGKILLed and restarted.
mod crash;
// Three `berth serve` nodes on one PostgreSQL: 1,000 jobs, one node SIGKILLed mid-job.
mod serve_nodes;

//! berth-runtime's one integration-test binary; each module owns one area.

// Shared harness: temp data folders, a shared engine, guest paths.
mod harness;
// Exit classes, limits and sandbox promises, each driven by a test program.
mod sandbox;
// `berth exec` as the outside world uses it (the real binary, its stdout/stderr and exit codes).
mod cli_exec;
// The compiled-module cache: hits, misses, corrupt entries.
mod compiled_cache;
// Example components built on berth-guest-sdk: multiplier, incremental (state and usage).
mod examples;
// Docker executor support: fixture images from components/docker-fixtures, a case per test.
mod docker_support;
// Docker executor: exit classes 0/1/2, the exact environment, unpullable images.
mod docker_exec;
// Docker executor limits, held and exceeded: timeout, memory (OOMKilled), network absent.
mod docker_limits;
// Docker executor users: runs as the invoking uid:gid; root components' files handed back.
mod docker_ownership;
// Docker executor cleanup and failures: cancellation, bad data folder, unreachable daemon.
mod docker_cleanup;
// Storage tables: import/export round trips, incremental loads, delete_where, filters, errors.
mod storage_tables;
// Storage files: upload, listing by tags / ids / queries, download, tags, errors.
mod storage_files;
// Storage components and configurations: strict definitions, parameter merge, rows, state.
mod storage_configs;
// Storage crash safety: the berth binary killed with SIGKILL mid-import.
mod storage_crash;
// The storage commands of the berth binary: output, --json and exit codes.
mod storage_cli;
// Image test helpers: registry discovery (or skip), wat guests, raw pushes, a fake registry.
mod image_support;
// Pull/push against the real test registries: round trip, digests, missing repo/tag, auth, CLI.
mod image_registry;
// Image kinds from manifests: skopeo-copied layout, wasi/wasm image, container, local, docker://.
mod image_kinds;
// Digest verification and retries against a fake registry: wrong bytes, corrupt store, 503s.
mod image_tamper;
// Shared support of the job tests: a home per test, components, tables, files, jobs.
mod job_support;
// Whole jobs: a table through a component and back, config.json, environment, records, errors.
mod job_run;
// State kept, cleared or untouched; usage recorded and strictly validated.
mod job_state;
// `berth run`, `berth action` and `berth job` through the real binary.
mod job_cli;
// `kill -9` of `berth run` while it loads output tables leaves every table as it was.
mod job_kill;
// Input mapping: every input-table key, adaptive loads, file selection and processed tags.
mod staging_input;
// Output table mapping: manifests, precedence, destinations, sliced/headless/gzip, write_always.
mod staging_output_tables;
// Output file mapping: mapping or manifest properties, system tags, missing and orphaned files.
mod staging_output_files;
// Docker/WASI parity: multiplier output tables byte-identical, identical outcomes per exit class.
mod docker_parity;

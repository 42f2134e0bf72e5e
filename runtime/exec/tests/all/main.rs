//! berth-exec's one integration-test binary; each module owns one area.

// The test programs as WASI preview 1 modules, for `sandbox` (`components_p2` has the p2 ones).
use components_artifacts as guests;

// Exit classes, limits and sandbox promises, each driven by a test program.
mod sandbox;
// The same sandbox cases against the test programs built as WASI preview 2 components, and what
// is particular to components: detection, the compiled cache, the memory sum.
mod components_p2;
// Stopping runs from outside: busy and waiting guests, containers, before the start.
mod cancel;
// The compiled-module cache: hits, misses, corrupt entries, content-addressed loads.
mod compiled_cache;
// Runs on several threads sharing one engine.
mod concurrency;
// Pooled memory slots reused without a previous run's bytes.
mod memory_reuse;
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
// Docker/WASI parity: multiplier output tables byte-identical, identical outcomes per exit class.
mod docker_parity;

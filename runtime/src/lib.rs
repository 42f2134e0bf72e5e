//! The berth host.
//!
//! berth runs untrusted data components the way Keboola's Docker Runner does: it stages a `/data`
//! folder, runs the component in isolation and loads what it wrote back into Storage. This crate
//! owns everything on the host side of that contract:
//!
//! - [`exec`]: the [`exec::Executor`] seam and its WASI adapter (wasmtime, preview 1);
//! - [`home`]: the berth home directory that holds Storage, images and the compiled-module cache;
//! - [`cli`]: the `berth` command line.
//!
//! The contract types themselves (config.json, manifests, state, usage, exit codes) live in
//! [`berth_host_api`].

pub mod cli;
pub mod exec;
pub mod home;
pub mod image;
pub mod job;
pub mod launch;
pub mod staging;
pub mod storage;

//! The berth contract: everything a runner and a component agree on, as types.
//!
//! A component is a program that reads and writes one folder, the *data folder* (`/data`, or
//! whatever `KBC_DATADIR` names), and reports how it went through its exit code. This crate
//! describes that folder and those codes; it does no I/O beyond creating the folder layout, has no
//! async and no engine, and builds for `wasm32-wasip1` as well as natively.
//!
//! # The `/data` contract, end to end
//!
//! ```text
//! /data/
//!   config.json              ConfigFile: storage mapping, parameters, image_parameters,
//!                            authorization, action (default "run")
//!   in/tables/<name>         input tables (CSV, or a directory of slices)
//!   in/tables/<name>.manifest    InputTableManifest
//!   in/files/<id>_<name>     input files
//!   in/files/<id>_<name>.manifest InputFileManifest
//!   in/user/                 scratch, created empty
//!   in/state.json            the previous run's state: a JSON object, {} when none
//!   out/tables/<name>        output tables, uploaded to Storage
//!   out/tables/<name>.manifest   OutputTableManifest (optional, strict)
//!   out/files/<name>         output files
//!   out/files/<name>.manifest    OutputFileManifest (optional, strict)
//!   out/state.json           the state for the next run; missing or empty clears it
//!   out/usage.json           [{"metric": ..., "value": ...}], strict
//! ```
//!
//! 1. The runner prepares the folder ([`DataDir::create_layout`]), validates the configuration
//!    people wrote with [`ConfigFile::from_json_strict`] and writes the normalised
//!    [`ConfigFile::to_json_pretty`] to `config.json`, the input data with their manifests, and
//!    `in/state.json` ([`state::StoredState::in_state`]). It sets the `KBC_*` variables of
//!    [`env`](mod@env).
//! 2. The component reads `config.json` with [`ConfigFile::from_json_lenient`] (unknown keys
//!    ignored: the contract grows, components must be forward compatible), does its work and
//!    writes `out/`.
//! 3. The component exits: 0 success, 1 user error (its stderr is the message the user sees),
//!    anything else an application error ([`ExitClass`]). A synchronous action (any `action` but
//!    `run`) prints exactly one JSON document on stdout instead of writing `out/`.
//! 4. The runner reads the output manifests strictly ([`OutputTableManifest::from_json`],
//!    [`OutputFileManifest::from_json`]), the state ([`state::read_out_state`]) and the usage
//!    ([`usage::parse_usage`]).
//!
//! Every parse or validation failure is a [`ContractError`] naming the file and the path inside
//! it, worded like the reference implementation (`Unrecognized option "foo" under
//! "storage.input.tables.0". Available options are ...`).
//!
//! ```
//! use berth_host_api::{ConfigFile, DataDir, ExitClass};
//!
//! let dir = DataDir::new("/data");
//! let config = ConfigFile::from_json_lenient(r#"{"parameters": {"multiplier": 2}, "future_key": 1}"#)?;
//! assert_eq!(config.action, "run");
//! assert_eq!(dir.out_tables(), std::path::Path::new("/data/out/tables"));
//! assert_eq!(ExitClass::from_code(1), ExitClass::UserError);
//! # Ok::<(), berth_host_api::ContractError>(())
//! ```
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub mod config;
pub mod env;
pub mod error;
pub mod exit;
pub mod format;
pub mod manifest;
pub mod paths;
mod shape;
pub mod state;
pub mod usage;

pub use config::{
    Authorization, ConfigFile, InputFile, InputTable, Operator, OutputFile, OutputTable, Storage,
};
pub use error::ContractError;
pub use exit::ExitClass;
pub use format::FileFormat;
pub use manifest::{
    InputFileManifest, InputTableManifest, OutputFileManifest, OutputTableManifest,
};
pub use paths::DataDir;
pub use state::{StateUpdate, StoredState};
pub use usage::UsageRecord;

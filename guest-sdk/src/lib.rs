//! Write berth components in Rust: one crate for everything a component does with the data folder.
//!
//! A component reads `/data/config.json` and `/data/in/`, writes `/data/out/`, and exits 0
//! (success), 1 (user error: the message on stderr is shown to the user) or 2 (application
//! error). This crate resolves the data folder (`KBC_DATADIR`, else `/data`), reads the
//! configuration leniently, gives typed `parameters`, iterates input tables as CSV records with
//! their manifests, writes output tables and files with manifests, reads and writes the state,
//! appends usage records, dispatches synchronous actions, and maps errors to exit codes. It works
//! on `wasm32-wasip1` and natively, and re-exports the contract types of `berth-host-api`, so a
//! component depends on this crate only.
//!
//! # A complete component
//!
//! Multiplies the `value` column of every input table by `parameters.multiplier`, writes each
//! result to `out/tables/<same name>`, keeps a state and reports usage; answers the synchronous
//! action `info`.
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! use berth_guest_sdk::{Component, Context, Result, user_error};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Params {
//!     multiplier: f64,
//! }
//!
//! #[derive(Default, serde::Serialize, Deserialize)]
//! struct State {
//!     runs: u64,
//! }
//!
//! fn run(ctx: &mut Context) -> Result<()> {
//!     let params: Params = ctx.parameters()?;
//!     let mut rows = 0u64;
//!     for table in ctx.input_tables()? {
//!         let records = table.records()?;
//!         let column = records
//!             .column_index("value")
//!             .ok_or_else(|| user_error!("Table \"{}\" has no column \"value\".", table.name))?;
//!         let mut out = ctx.output_table(&table.name).header(records.headers());
//!         for record in records {
//!             let record = record?;
//!             let value: f64 = record[column]
//!                 .parse()
//!                 .map_err(|_| user_error!("Not a number in table \"{}\".", table.name))?;
//!             let product = (value * params.multiplier).to_string();
//!             let row = record
//!                 .iter()
//!                 .enumerate()
//!                 .map(|(i, cell)| if i == column { product.as_str() } else { cell });
//!             out.write_record(row)?;
//!             rows += 1;
//!         }
//!         out.finish()?;
//!     }
//!     let state: State = ctx.state()?;
//!     ctx.write_state(&State { runs: state.runs + 1 })?;
//!     ctx.record_usage("rows", rows)?;
//!     Ok(())
//! }
//!
//! fn main() -> ExitCode {
//!     Component::new()
//!         .action("info", |ctx: &Context| {
//!             let params: Params = ctx.parameters()?;
//!             Ok(serde_json::json!({"status": "success", "multiplier": params.multiplier}))
//!         })
//!         .run(run)
//! }
//! ```
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod context;
mod error;
mod files;
mod input_entry;
mod run;
mod state;
mod tables;
mod usage;

pub use context::{ACTION_OVERRIDE_ENV, Context};
pub use error::{Error, Result};
pub use files::{InputFile, OutputFileWriter};
pub use run::{Component, exit_code, report, run};
pub use tables::{InputTable, OutputTableWriter, Records};

/// The contract crate, whole: every type of config.json, the manifests, state and usage.
pub use berth_host_api as contract;
pub use berth_host_api::{
    ConfigFile, ContractError, DataDir, ExitClass, InputFileManifest, InputTableManifest, Operator,
    OutputFileManifest, OutputTableManifest, UsageRecord, env,
};
/// One CSV row, as yielded by [`Records`].
pub use csv::StringRecord;
/// Re-exported so components need no direct dependency; derive with
/// `#[serde(crate = "berth_guest_sdk::serde")]`.
pub use serde;
/// Re-exported so components need no direct dependency (`berth_guest_sdk::serde_json::json!`).
pub use serde_json;
/// The JSON value type used for opaque configuration parts.
pub use serde_json::Value;

//! Output scope (seeds 001/002: the runner writes "only those outputs defined in the output
//! mapping by the end-user"): which of a plan's destination tables a job may write.
//!
//! With [`OutputScope::Mapping`] (berth's default) a table is in scope when a
//! `storage.output.tables[]` item names it as `destination`, or when it lies in the job's default
//! bucket (`storage.output.default_bucket`, or the bucket a `default_bucket` component gets per
//! configuration). Anything else — a manifest `destination` or a file name pointing elsewhere —
//! fails the whole job before anything is loaded. [`OutputScope::Any`] is Keboola's behaviour.
//! This is a deliberate difference from Keboola's code, which writes wherever a manifest points.

use std::collections::BTreeSet;

use berth_host_api::config::OutputTable;
use berth_storage::OutputScope;

use super::TablePlan;
use crate::{Stage, StagingError};

/// Checks every planned table against the scope; the error names each table out of scope.
pub fn check_scope(
    plan: &TablePlan,
    scope: OutputScope,
    mapping: &[OutputTable],
    default_bucket: Option<&str>,
) -> Result<(), StagingError> {
    if scope == OutputScope::Any {
        return Ok(());
    }
    let named: BTreeSet<&str> = mapping.iter().map(|m| m.destination.as_str()).collect();
    let mut refused: Vec<(String, String)> = Vec::new();
    for planned in &plan.tables {
        let table = planned.load.table.to_string();
        let in_bucket = default_bucket.is_some_and(|b| planned.load.table.bucket_id() == b);
        if !named.contains(table.as_str()) && !in_bucket {
            refused.push((planned.source.clone(), table));
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    let list = refused
        .iter()
        .map(|(source, table)| format!("\"{table}\" (from \"{source}\")"))
        .collect::<Vec<_>>()
        .join(", ");
    let allowed = match default_bucket {
        Some(bucket) => format!("the output mapping's tables and the bucket \"{bucket}\""),
        None => "the output mapping's tables".to_owned(),
    };
    Err(StagingError::user(
        Stage::OutputMapping,
        refused
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        format!(
            "Output table {list} is not in the configuration's output mapping; this job may write only {allowed}. Add the table to storage.output.tables, or set \"output_scope\": \"any\" on a trusted component's definition."
        ),
    ))
}

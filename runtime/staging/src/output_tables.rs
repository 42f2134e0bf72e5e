//! Output table mapping (reference §2.4, §2.6, §2.7, §3; seed 003 "Output mapping"): every
//! entry of `out/tables` — a CSV file, a `.gz`, a directory of slices — is paired with the mapping
//! items whose `source` names it (`source` defaults to `<destination>.csv`, seed 003), merged with
//! its manifest, resolved to a destination table and loaded.
//!
//! Everything is read through [`crate::out_dir`] (no path under `out/` is ever opened directly).
//! The work is split so nothing changes until everything is known to be loadable:
//!
//! 1. [`plan_output_tables`] scans, merges, resolves and validates: orphaned manifests, bad
//!    manifests, missing mapped sources (`Table sources not found: "a.csv"`), destinations,
//!    `_timestamp` columns, sliced sources without columns; it also decompresses and concatenates
//!    sources into plain CSV files. Column names are webalized (§3.5).
//! 2. [`check_scope`] refuses tables outside the configuration's output mapping (seeds 001/002)
//!    unless the component opts out.
//! 3. [`check_against_storage`] compares each file's columns with the existing table and reports
//!    every table's problem in one message.
//! 4. [`load_output_tables`] loads all tables in one Storage transaction.
//!
//! On a failed job (`failed_job`), only tables whose merged configuration has `write_always` are
//! planned; missing sources and the other tables' errors are ignored (§3.3).

mod destination;
mod load;
mod merge;
pub(crate) use merge::manifest_text;
mod options;
mod prepare;
mod scope;
mod sources;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use berth_host_api::config::OutputTable;
use serde::Serialize;
use time::OffsetDateTime;

pub use destination::{Destination, default_bucket, resolve as resolve_destination};
pub use load::{check_against_storage, load_output_tables};
pub use scope::check_scope;
pub use sources::{Source, scan};

use super::out_dir::{Folder, OutDir};
use super::webalize::webalize;
use super::{JobIds, Stage, StagingError};
use berth_storage::{CsvDialect, ImportOptions, TableLoad};

/// What output table mapping needs besides the data folder.
#[derive(Debug, Clone, Copy)]
pub struct OutputTablesConfig<'a> {
    /// `storage.output.tables`.
    pub mapping: &'a [OutputTable],
    /// The bucket that completes bare names.
    pub default_bucket: Option<&'a str>,
    /// Who runs the job (table metadata).
    pub ids: &'a JobIds,
    /// The component failed: load only `write_always` tables.
    pub failed_job: bool,
    /// A folder for decompressed and concatenated sources.
    pub scratch: &'a Path,
    /// Anchors relative `delete_where` times.
    pub now: OffsetDateTime,
}

/// One table about to be loaded.
#[derive(Debug, Clone)]
pub struct PlannedTable {
    /// The entry of `out/tables`.
    pub source: String,
    /// The load, with the prepared file.
    pub load: TableLoad,
    /// The file's columns (`None`: a headered file that is empty).
    pub header: Option<Vec<String>>,
    /// The delimiter, for messages.
    pub delimiter: String,
}

/// Every table to load plus the warnings met while planning.
#[derive(Debug, Clone, Default)]
pub struct TablePlan {
    /// In `out/tables` name order, then mapping order.
    pub tables: Vec<PlannedTable>,
    /// E.g. `Column name "a b" was webalized to "a_b"`.
    pub warnings: Vec<String>,
}

/// One loaded table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadedTable {
    /// The entry of `out/tables`.
    pub source: String,
    /// The table id.
    pub destination: String,
    /// Rows read from the file.
    pub rows_imported: u64,
    /// Rows in the table afterwards.
    pub rows: u64,
    /// Whether the load created the table.
    pub created: bool,
}

/// Step 1: scan, merge, resolve, validate and prepare (see the module docs).
pub fn plan_output_tables(
    out: &OutDir,
    cfg: &OutputTablesConfig<'_>,
) -> Result<TablePlan, StagingError> {
    let (folder, sources) = match scan(out)? {
        Some((folder, sources)) => (Some(folder), sources),
        None => (None, Vec::new()),
    };
    if !cfg.failed_job {
        let names: HashSet<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        let mut missing: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for item in cfg.mapping {
            let name = item.effective_source();
            if !names.contains(name.as_str()) && seen.insert(name.clone()) {
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|m| format!("\"{m}\""))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(StagingError::user(
                Stage::OutputMapping,
                missing.join(", "),
                format!("Table sources not found: {list}"),
            ));
        }
    }
    let mut plan = TablePlan::default();
    let Some(folder) = folder else {
        return Ok(plan);
    };
    for source in &sources {
        let items: Vec<Option<&OutputTable>> = {
            let matched: Vec<_> = cfg
                .mapping
                .iter()
                .filter(|m| m.effective_source() == source.name)
                .map(Some)
                .collect();
            if matched.is_empty() {
                vec![None]
            } else {
                matched
            }
        };
        for item in items {
            let index = plan.tables.len();
            match plan_one(out, &folder, source, item, cfg, index, &mut plan.warnings) {
                Ok(Some(table)) => plan.tables.push(table),
                Ok(None) => {}
                Err(e) if cfg.failed_job && !item.is_some_and(|m| m.write_always) => {
                    tracing::debug!("ignored on a failed job: {e}");
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(plan)
}

fn plan_one(
    out: &OutDir,
    folder: &Folder,
    source: &Source,
    item: Option<&OutputTable>,
    cfg: &OutputTablesConfig<'_>,
    index: usize,
    warnings: &mut Vec<String>,
) -> Result<Option<PlannedTable>, StagingError> {
    let name = source.name.as_str();
    let limits = *out.limits();
    let manifest = merge::read_manifest(folder, source, limits.manifest_bytes, out.format())?;
    let merged = merge::merge(manifest, item);
    if cfg.failed_job && merged.write_always != Some(true) {
        return Ok(None);
    }
    let destination = destination::resolve(
        name,
        item.map(|m| m.destination.as_str()),
        merged.destination.as_deref(),
        cfg.default_bucket,
    )?;
    warnings.extend(destination.warning.clone());
    let prepare_error = |message: String| {
        StagingError::user(
            Stage::OutputMapping,
            name,
            format!("Failed to prepare mapping configuration for table {name}: {message}"),
        )
    };
    merged
        .validate()
        .map_err(|e| prepare_error(e.to_string()))?;
    options::reject_timestamp(name, &merged)?;
    let mut webalized = |n: &str| {
        let w = webalize(n);
        if w != n {
            warnings.push(format!("Column name \"{n}\" was webalized to \"{w}\""));
        }
        w
    };
    let (columns, primary_key): (Vec<String>, Vec<String>) = match &merged.schema {
        Some(schema) => (
            schema.iter().map(|c| webalized(&c.name)).collect(),
            schema
                .iter()
                .filter(|c| c.primary_key)
                .map(|c| webalize(&c.name))
                .collect(),
        ),
        None => (
            merged
                .columns
                .iter()
                .flatten()
                .map(|c| webalized(c.as_str()))
                .collect(),
            merged
                .primary_key
                .iter()
                .flatten()
                .map(|c| webalized(c.trim()))
                .collect(),
        ),
    };
    if source.sliced && columns.is_empty() {
        return Err(StagingError::user(
            Stage::OutputMapping,
            name,
            format!("Sliced file \"{name}\" columns specification missing."),
        ));
    }
    let delimiter = merged.delimiter.clone().unwrap_or_else(|| ",".to_owned());
    let enclosure = merged.enclosure.clone().unwrap_or_else(|| "\"".to_owned());
    let dialect = CsvDialect::from_strs(&delimiter, &enclosure).map_err(prepare_error)?;
    let headless = !columns.is_empty();
    let skip_header = headless && merged.has_header == Some(true);
    let prepared = prepare::prepare(
        out,
        folder,
        source,
        skip_header,
        dialect,
        cfg.scratch,
        index,
    )?;
    let header = if headless {
        Some(columns.clone())
    } else {
        prepare::read_header(&prepared, dialect, limits.csv_field_bytes).map_err(|e| {
            StagingError::user(
                Stage::OutputMapping,
                name,
                format!("Failed to load table \"{}\": {e}", destination.table),
            )
        })?
    };
    let options = ImportOptions {
        incremental: merged.incremental.unwrap_or(false),
        primary_key,
        dialect,
        columns,
        delete_where: options::delete_filters(name, &merged, cfg.now)?,
        max_field_bytes: Some(limits.csv_field_bytes),
    };
    let (metadata, metadata_if_created) = options::metadata(&merged, cfg.ids);
    let column_metadata = options::column_metadata(&merged, cfg.ids);
    let (path, open) = match prepared {
        prepare::Prepared::InPlace(input) => (PathBuf::from(folder.shown_entry(name)), Some(input)),
        prepare::Prepared::Scratch(path) => (path, None),
    };
    Ok(Some(PlannedTable {
        source: name.to_owned(),
        load: TableLoad {
            table: destination.table,
            path,
            open,
            options,
            metadata,
            metadata_if_created,
            column_metadata,
        },
        header,
        delimiter,
    }))
}

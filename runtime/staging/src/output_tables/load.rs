//! Steps 2 and 3 of output table mapping: checking every planned file against the existing
//! tables (all problems in one message, reference §3.2), then loading them in one Storage
//! transaction.

use super::{LoadedTable, TablePlan};
use crate::{Stage, StagingError};
use berth_storage::{Backend, TableLoad};

/// Step 2: every planned file against the existing tables; all problems in one message.
pub fn check_against_storage(storage: &dyn Backend, plan: &TablePlan) -> Result<(), StagingError> {
    let mut errors = Vec::new();
    for table in &plan.tables {
        let id = &table.load.table;
        let Some(header) = &table.header else {
            errors.push(format!(
                "Failed to load table \"{id}\": There are no data in import file"
            ));
            continue;
        };
        let existing = match storage.table(id) {
            Ok(info) => info,
            Err(berth_storage::StorageError::TableNotFound { .. }) => continue,
            Err(e) => {
                return Err(StagingError::storage(
                    Stage::OutputMapping,
                    id.to_string(),
                    e,
                ));
            }
        };
        let missing: Vec<&str> = existing
            .columns
            .iter()
            .filter(|c| !header.iter().any(|h| h.eq_ignore_ascii_case(c)))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            errors.push(format!(
                "Failed to load table \"{id}\": Some columns are missing in the csv file. Missing columns: {}. Expected columns: {}. Please check if the expected delimiter \"{}\" is used in the csv file.",
                missing.join(","),
                existing.columns.join(","),
                table.delimiter
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StagingError::user(
            Stage::OutputMapping,
            "out/tables",
            errors.join("\n"),
        ))
    }
}

/// Step 3: loads every planned table in one transaction.
pub fn load_output_tables(
    storage: &mut dyn Backend,
    plan: &TablePlan,
    mut on_loaded: impl FnMut(&LoadedTable),
) -> Result<Vec<LoadedTable>, StagingError> {
    let loads: Vec<TableLoad> = plan.tables.iter().map(|t| t.load.clone()).collect();
    let loaded = |i: usize, r: &berth_storage::ImportReport| LoadedTable {
        source: plan.tables[i].source.clone(),
        destination: r.table.to_string(),
        rows_imported: r.rows_imported,
        rows: r.rows,
        created: r.created,
    };
    let reports = storage
        .load_tables(&loads, &mut |i, r| on_loaded(&loaded(i, r)))
        .map_err(|e| {
            let message = format!("Failed to load table \"{}\": {}", e.table, e.source);
            if e.source.is_user_error() {
                StagingError::user(Stage::OutputMapping, e.table.to_string(), message)
            } else {
                StagingError::app(
                    Stage::OutputMapping,
                    e.table.to_string(),
                    anyhow::anyhow!(message),
                )
            }
        })?;
    Ok(reports
        .iter()
        .enumerate()
        .map(|(i, r)| loaded(i, r))
        .collect())
}

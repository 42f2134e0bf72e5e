//! Staging on either backend: berth-staging's input mapping works on `dyn berth_storage::Backend`,
//! so each case in [`cases`] stages from the embedded Storage and from PostgreSQL (see
//! `backends`) and compares the data folder byte for byte with what it must hold.
//!
//! The job-level staging suites (berth-job's `staging_input`, `staging_output_*`) run on both
//! too: `.ci/suites-on-postgres.sh` runs berth-job's whole suite again with every test home on
//! PostgreSQL.

mod cases;

crate::backends::on_both_backends!(
    crate::staging_suite::cases;
    input_tables_are_staged_with_columns_filters_and_manifests,
    input_files_are_staged_by_tags_and_marked_processed,
    output_tables_and_files_load_back_all_or_nothing,
);

//! Table data's behaviour, one suite for every backend: each case in [`cases`] is written against
//! [`berth_storage::TableData`] and runs on both backends (see `backends`), as
//! `table_suite::duckdb::<case>` and `table_suite::postgres::<case>`. Exports are compared byte
//! for byte and errors by their messages, so both backends write the same files and say the
//! same things.
//!
//! What only one backend has stays with it: the primary-key and staging-facing operations of
//! the embedded Storage in berth-storage's `storage_tables`; what PostgreSQL text cannot hold
//! and names PostgreSQL would truncate in `pg_tables`.

mod cases;

crate::backends::on_both_backends!(
    crate::table_suite::cases;
    a_full_load_creates_the_table_and_exports_it_byte_for_byte,
    a_full_load_replaces_rows_and_an_incremental_one_appends,
    a_primary_key_keeps_the_last_row_and_upserted_rows_move_to_the_end,
    new_columns_are_added_and_missing_ones_refused,
    a_bad_row_changes_nothing,
    delete_where_removes_matching_rows_before_the_load,
    exports_select_columns_rows_and_a_limit,
    a_new_key_needs_unique_rows,
    missing_tables_are_named_and_removed_ones_are_gone,
    a_headless_file_in_another_dialect,
    metadata_and_column_metadata_are_kept_and_checked,
    a_batch_loads_every_table_or_none,
);

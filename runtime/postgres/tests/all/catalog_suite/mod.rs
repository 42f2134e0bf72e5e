//! The catalog's behaviour, one suite for every backend: each case in [`cases`] is written
//! against [`berth_storage::Catalog`] and runs on both backends (see `backends`), as
//! `catalog_suite::duckdb::<case>` and `catalog_suite::postgres::<case>`. Documents are compared
//! as stored and errors by their messages.
//!
//! What only one backend has stays with it: the embedded Storage's read cache of definitions
//! (berth-storage's tests), OAuth credentials among PostgreSQL's rewritten documents (`pg_keys`).

mod cases;

crate::backends::on_both_backends!(
    crate::catalog_suite::cases;
    components_are_registered_replaced_listed_and_removed,
    configurations_keep_their_rows_in_order_and_count_versions,
    bad_documents_and_ids_are_refused_and_change_nothing,
    missing_components_configurations_and_rows_are_named,
    documents_are_rewritten_all_or_nothing,
);

//! Storage files' behaviour, one suite for every backend: each case in [`cases`] is written
//! against [`berth_storage::FileData`] and runs on both backends (see `backends`), as
//! `file_suite::duckdb::<case>` and `file_suite::postgres::<case>`. Contents are compared byte for
//! byte and errors by their messages.
//!
//! What only one backend has stays with it: where the embedded Storage keeps content on disk
//! (`file_content_path`, used by staging) in berth-storage's tests.

mod cases;

crate::backends::on_both_backends!(
    crate::file_suite::cases;
    an_upload_comes_back_byte_for_byte,
    names_tags_and_run_ids_are_checked,
    listings_are_newest_first_and_filtered,
    tags_are_added_once_and_removed,
    a_deleted_file_is_gone_and_missing_files_are_named,
);

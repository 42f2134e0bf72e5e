//! API tokens' behaviour, one suite for every backend: each case in [`cases`] is written against
//! [`berth_storage::TokenStore`] and runs on both backends (see `backends`), as
//! `token_suite::duckdb::<case>` and `token_suite::postgres::<case>`.
//!
//! What only one backend has stays with it: the embedded Storage's read cache of token checks
//! (berth-storage's `storage_tokens` and its cache test); what PostgreSQL text cannot hold in
//! `pg_tokens`.

mod cases;

crate::backends::on_both_backends!(
    crate::token_suite::cases;
    a_new_secret_checks_valid_and_only_its_hash_is_kept,
    revoked_expired_and_unknown_secrets_are_told_apart,
    listings_are_oldest_first_and_leave_job_tokens_out,
    unknown_tokens_are_named,
);

//! berth-storage's one integration-test binary; each module owns one area.

// Storage tables: import/export round trips, incremental loads, delete_where, filters, errors.
mod storage_tables;
// Storage files: upload, listing by tags / ids / queries, download, tags, errors.
mod storage_files;
// Storage components and configurations: strict definitions, parameter merge, rows, state.
mod storage_configs;
// Jobs and tokens beyond the shared queue suite (berth-postgres): reopening, statuses, tokens.
mod storage_jobs;

//! Table data's behaviour, one suite for every backend: each case in [`cases`] is written against
//! [`berth_storage::TableData`] and runs twice, as `table_suite::duckdb::<case>` on the embedded
//! Storage (a fresh directory) and as `table_suite::postgres::<case>` on PostgreSQL (a fresh
//! database of the test cluster; skipped with a message when no cluster answers, failing when
//! `BERTH_REQUIRE_POSTGRES=1`). Exports are compared byte for byte and errors by their messages,
//! so both backends write the same files and say the same things.
//!
//! What only one backend has stays with it: table metadata, column metadata and the table API's
//! other operations in berth-storage's `storage_tables`; what PostgreSQL text cannot hold and
//! names PostgreSQL would truncate in `pg_tables`.

mod cases;

use std::any::Any;
use std::path::{Path, PathBuf};

use berth_postgres::PgStorage;
use berth_postgres::testing::TestDatabase;
use berth_storage::{Storage, TableData};

/// One backend's tables for one test, a directory for the test's CSV files, and what keeps the
/// backend's database alive until the test ends.
pub(crate) struct Backend {
    tables: Box<dyn TableData + Send>,
    files: tempfile::TempDir,
    _keep: Box<dyn Any>,
}

impl Backend {
    /// The embedded Storage in a fresh directory.
    fn duckdb() -> Self {
        let dir = tempfile::TempDir::new().expect("creating a Storage directory");
        let storage = Storage::open(dir.path()).expect("opening Storage");
        Self {
            tables: Box::new(storage),
            files: tempfile::TempDir::new().expect("creating a directory for CSV files"),
            _keep: Box::new(dir),
        }
    }

    /// PostgreSQL in a fresh database; `None` when the test is skipped.
    fn postgres(test: &str) -> Option<Self> {
        let db = TestDatabase::create(test)?;
        let storage = PgStorage::connect(db.url()).expect("connecting to the test database");
        Some(Self {
            tables: Box::new(storage),
            files: tempfile::TempDir::new().expect("creating a directory for CSV files"),
            _keep: Box::new(db),
        })
    }
}

/// What a case works with: the backend's tables and a place for CSV files.
pub(crate) struct Tables<'a> {
    pub(crate) data: &'a mut dyn TableData,
    files: &'a Path,
}

impl Tables<'_> {
    /// Writes `content` to a CSV file named `name` and returns its path.
    pub(crate) fn csv(&self, name: &str, content: &str) -> PathBuf {
        let path = self.files.join(name);
        std::fs::write(&path, content).expect("writing a CSV file");
        path
    }
}

/// Instantiates every case for both backends.
macro_rules! suite {
    ($($case:ident),+ $(,)?) => {
        /// The cases on the embedded DuckDB Storage.
        mod duckdb {
            $(
                #[test]
                fn $case() {
                    let mut backend = super::Backend::duckdb();
                    super::cases::$case(super::Tables {
                        data: &mut *backend.tables,
                        files: backend.files.path(),
                    });
                }
            )+
        }

        /// The cases on PostgreSQL.
        mod postgres {
            $(
                #[test]
                fn $case() {
                    let Some(mut backend) = super::Backend::postgres(stringify!($case)) else {
                        return;
                    };
                    super::cases::$case(super::Tables {
                        data: &mut *backend.tables,
                        files: backend.files.path(),
                    });
                }
            )+
        }
    };
}

suite!(
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
);

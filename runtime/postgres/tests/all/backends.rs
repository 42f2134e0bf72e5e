//! The two Storage backends the shared suites (`table_suite`, `file_suite`, `token_suite`,
//! `catalog_suite`) run every case on:
//! the embedded DuckDB Storage (a fresh directory) and PostgreSQL (a fresh database of the test
//! cluster; skipped with a message when no cluster answers, failing when
//! `BERTH_REQUIRE_POSTGRES=1`). A case is written once, against the interfaces only.

use std::any::Any;
use std::path::PathBuf;

use berth_postgres::PgStorage;
use berth_postgres::testing::TestDatabase;
use berth_storage::Storage;

/// One backend for one test, a directory for the test's own files, and what keeps the backend's
/// database alive until the test ends.
pub(crate) struct Backend {
    pub(crate) storage: Box<dyn berth_storage::Backend + Send>,
    files: tempfile::TempDir,
    _keep: Box<dyn Any>,
}

impl Backend {
    /// The embedded Storage in a fresh directory.
    pub(crate) fn duckdb() -> Self {
        let dir = tempfile::TempDir::new().expect("creating a Storage directory");
        let storage = Storage::open(dir.path()).expect("opening Storage");
        Self {
            storage: Box::new(storage),
            files: tempfile::TempDir::new().expect("creating a directory for the test's files"),
            _keep: Box::new(dir),
        }
    }

    /// PostgreSQL in a fresh database; `None` when the test is skipped.
    pub(crate) fn postgres(test: &str) -> Option<Self> {
        let db = TestDatabase::create(test)?;
        let storage = PgStorage::connect(db.url()).expect("connecting to the test database");
        Some(Self {
            storage: Box::new(storage),
            files: tempfile::TempDir::new().expect("creating a directory for the test's files"),
            _keep: Box::new(db),
        })
    }

    /// Writes `content` to a file named `name` in the test's directory and returns its path.
    pub(crate) fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("writing a test file");
        path
    }

    /// Where a file named `name` goes in the test's directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }
}

/// Instantiates every case of suite module `$cases` for both backends, as `duckdb::<case>` and
/// `postgres::<case>`; each case is a `fn(&mut Backend)`.
macro_rules! on_both_backends {
    ($cases:path; $($case:ident),+ $(,)?) => {
        /// The cases on the embedded DuckDB Storage.
        mod duckdb {
            use $cases as cases;
            $(
                #[test]
                fn $case() {
                    cases::$case(&mut crate::backends::Backend::duckdb());
                }
            )+
        }

        /// The cases on PostgreSQL.
        mod postgres {
            use $cases as cases;
            $(
                #[test]
                fn $case() {
                    let Some(mut backend) = crate::backends::Backend::postgres(stringify!($case))
                    else {
                        return;
                    };
                    cases::$case(&mut backend);
                }
            )+
        }
    };
}

pub(crate) use on_both_backends;

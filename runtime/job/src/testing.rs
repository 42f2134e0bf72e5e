//! Shared test support (the `testing` feature) of the job, staging and CLI tests: a berth home
//! per test (its compiled-module cache shared by the whole binary), components registered from
//! the test guests, tables imported from CSV text, and jobs run through [`run_job`] with the data
//! folder kept.
//!
//! With `BERTH_TEST_STORAGE=postgres` every [`Env`] puts its home on a fresh PostgreSQL database
//! of the test cluster (`berth_postgres::testing`), so the same tests check that behaviour holds
//! on shared Storage; CI runs the job and server suites both ways.

pub mod python;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::home::Home;
use crate::{ConfigSource, JobRecord, JobRequest, JobRun, JobStatus, NoProgress, run_job};
use berth_postgres::PgPool;
use berth_postgres::testing::TestDatabase;
use berth_storage::{
    Backend, Clock, ComponentDefinition, ExportOptions, FileId, FileUpload, ImportOptions,
    NewConfig, NewConfigRow, Storage, StorageError, TableId,
};
use serde_json::{Value, json};
use tempfile::TempDir;

/// The compiled-module cache every test home links to.
fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<TempDir> = OnceLock::new();
    CACHE
        .get_or_init(|| TempDir::new().expect("cache dir"))
        .path()
}

/// The environment variable that puts test homes on PostgreSQL (`postgres`).
pub const TEST_STORAGE_ENV: &str = "BERTH_TEST_STORAGE";

/// True when test homes are on PostgreSQL (`BERTH_TEST_STORAGE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var(TEST_STORAGE_ENV).as_deref() == Ok("postgres")
}

/// One test's berth home.
#[derive(Debug)]
pub struct Env {
    /// The home.
    pub home: Home,
    /// The test's database when the home is on PostgreSQL (dropped after the home).
    database: Option<TestDatabase>,
    _dir: TempDir,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    /// A fresh home in a temp dir, sharing the binary's compiled cache.
    pub fn new() -> Self {
        let database = on_postgres().then(|| {
            TestDatabase::create("a test home on PostgreSQL")
                .expect("BERTH_TEST_STORAGE=postgres needs the test cluster")
        });
        Self::with_database(database)
    }

    /// A fresh home on a fresh PostgreSQL database, whatever `BERTH_TEST_STORAGE` says; `None`
    /// when no test cluster answers (and `BERTH_REQUIRE_POSTGRES` is unset: it fails then).
    pub fn on_database(test: &str) -> Option<Self> {
        Some(Self::with_database(Some(TestDatabase::create(test)?)))
    }

    fn with_database(database: Option<TestDatabase>) -> Self {
        let dir = TempDir::new().expect("home dir");
        let root = dir.path().join("home");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(shared_cache(), root.join("cache")).unwrap();
        let mut home = Home::new(root);
        if let Some(db) = &database {
            let pool = PgPool::connect(db.url()).expect("the test database opens");
            home = home.on_postgres(pool, "test-node");
        }
        Self {
            home,
            database,
            _dir: dir,
        }
    }

    /// The URL of the PostgreSQL database the home is on, if it is.
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(TestDatabase::url)
    }

    /// The home directory.
    pub fn root(&self) -> &Path {
        self.home.root()
    }

    /// Opens the home's Storage (embedded or PostgreSQL).
    pub fn storage(&self) -> Box<dyn Backend + Send> {
        self.home.open_storage().expect("storage opens")
    }

    /// Opens the home's embedded Storage, for what only it has (a fixed clock, the file
    /// layout); panics when the home is on PostgreSQL.
    pub fn embedded_storage(&self) -> Storage {
        assert!(
            self.home.shared_storage().is_none(),
            "this test needs the embedded Storage"
        );
        Storage::open(self.home.storage()).expect("storage opens")
    }

    /// Registers `id` running `guest` with the extra definition keys in `extra` (its `#`
    /// parameters encrypted, as `berth component add` does).
    pub fn component(&self, id: &str, guest: &str, extra: Value) -> &Self {
        let mut definition = json!({"id": id, "image": guest});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            definition[k] = v;
        }
        let definition =
            ComponentDefinition::from_json(&definition.to_string()).expect("definition");
        crate::secrets::add_component(&self.home, self.storage().as_mut(), definition)
            .expect("component added");
        self
    }

    /// Stores configuration `id` of `component`.
    pub fn config(&self, component: &str, id: &str, configuration: Value) -> &Self {
        self.config_with_rows(component, id, configuration, vec![])
    }

    /// Stores configuration `id` of `component` with `rows` (id, configuration).
    pub fn config_with_rows(
        &self,
        component: &str,
        id: &str,
        configuration: Value,
        rows: Vec<(&str, Value)>,
    ) -> &Self {
        let new = NewConfig {
            id: Some(id.to_owned()),
            name: id.to_owned(),
            description: String::new(),
            configuration,
            rows: rows
                .into_iter()
                .map(|(id, configuration)| NewConfigRow {
                    id: Some(id.to_owned()),
                    name: id.to_owned(),
                    configuration,
                    ..NewConfigRow::default()
                })
                .collect(),
            ..NewConfig::default()
        };
        crate::secrets::create_config(&self.home, self.storage().as_mut(), component, new)
            .expect("config stored");
        self
    }

    /// Stores configuration `id` of `component` as given, straight into Storage: `#` values are
    /// not encrypted (a document that bypassed berth's way in).
    pub fn config_unencrypted(&self, component: &str, id: &str, configuration: Value) -> &Self {
        let new = NewConfig {
            id: Some(id.to_owned()),
            name: id.to_owned(),
            configuration,
            ..NewConfig::default()
        };
        self.storage()
            .create_config(component, &new)
            .expect("config stored");
        self
    }

    /// Imports `csv` (headered, comma, `"`) into `table`.
    pub fn import(&self, table: &str, csv: &str) -> &Self {
        self.import_with(table, csv, ImportOptions::default())
    }

    /// Imports `csv` into `table` with `options`.
    pub fn import_with(&self, table: &str, csv: &str, options: ImportOptions) -> &Self {
        self.import_at(table, csv, options, Clock::System)
    }

    /// Imports `csv` into `table` with `options`, its rows stamped by `clock` (a
    /// [`Clock::Fixed`] time writes them "at" that time).
    pub fn import_at(&self, table: &str, csv: &str, options: ImportOptions, clock: Clock) -> &Self {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), csv).unwrap();
        let mut storage = match clock {
            Clock::System => self.storage(),
            clock => match self.home.shared_storage() {
                Some(shared) => {
                    let mut storage = shared.pool.get().expect("storage opens");
                    storage.set_clock(clock);
                    Box::new(storage) as Box<dyn Backend + Send>
                }
                None => {
                    let mut storage = self.embedded_storage();
                    storage.set_clock(clock);
                    Box::new(storage)
                }
            },
        };
        storage
            .import_csv(&TableId::parse(table).unwrap(), file.path(), &options)
            .expect("import");
        self
    }

    /// Uploads a file with `tags` (and `run_id`) and returns its id.
    pub fn upload(&self, name: &str, content: &str, tags: &[&str], run_id: Option<&str>) -> u64 {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let upload = FileUpload {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            run_id: run_id.map(str::to_owned),
            ..FileUpload::default()
        };
        self.storage()
            .upload_file(&path, &upload)
            .expect("upload")
            .0
    }

    /// The tags of file `id`.
    pub fn file_tags(&self, id: u64) -> Vec<String> {
        self.storage().file(FileId(id)).unwrap().tags
    }

    /// The table as exported CSV text, `None` when it does not exist.
    pub fn table(&self, table: &str) -> Option<String> {
        let storage = self.storage();
        let id = TableId::parse(table).unwrap();
        match storage.table(&id) {
            Ok(_) => {}
            Err(StorageError::TableNotFound { .. }) => return None,
            Err(e) => panic!("{e}"),
        }
        let mut out = Vec::new();
        storage
            .export_csv(&id, &mut out, &ExportOptions::default())
            .unwrap();
        Some(String::from_utf8(out).unwrap())
    }

    /// The primary key of `table`.
    pub fn primary_key(&self, table: &str) -> Vec<String> {
        self.storage()
            .table(&TableId::parse(table).unwrap())
            .unwrap()
            .primary_key
    }

    /// The stored state of a configuration.
    pub fn state(&self, component: &str, config: &str) -> Value {
        serde_json::to_value(self.storage().state(component, config, None).unwrap()).unwrap()
    }

    /// Runs `request` with the data folder kept.
    pub fn run(&self, request: JobRequest) -> Job {
        let mut request = request;
        request.keep_data = true;
        let run = run_job(&self.home, &request, &NoProgress).expect("the job is recorded");
        Job(run)
    }

    /// Runs `component` with a stored configuration.
    pub fn run_stored(&self, component: &str, config: &str) -> Job {
        self.run(JobRequest::new(
            component,
            ConfigSource::Stored(config.to_owned()),
        ))
    }

    /// Runs `component` with `configuration` given inline.
    pub fn run_data(&self, component: &str, configuration: Value) -> Job {
        self.run(JobRequest::new(
            component,
            ConfigSource::Data(configuration),
        ))
    }
}

/// A finished job with its kept data folder (removed on drop).
#[derive(Debug)]
pub struct Job(pub JobRun);

impl Job {
    /// The job's record.
    pub fn record(&self) -> &JobRecord {
        &self.0.record
    }

    /// The kept data folder.
    pub fn data(&self) -> PathBuf {
        self.0.data_dir.clone().expect("data folder kept")
    }

    /// A file of the data folder as text.
    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.data().join(relative))
            .unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    /// A file of the data folder as JSON.
    pub fn json(&self, relative: &str) -> Value {
        serde_json::from_str(&self.read(relative)).unwrap()
    }

    /// Asserts the job succeeded.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        let r = self.record();
        assert_eq!(r.status, JobStatus::Success, "job failed: {:?}", r.result);
        self
    }

    /// Asserts a failure of `error_type` (`user`/`application`) and returns the message.
    #[track_caller]
    pub fn assert_error(&self, error_type: &str) -> String {
        let r = self.record();
        assert_eq!(r.status, JobStatus::Error, "job succeeded: {r:?}");
        assert_eq!(
            r.result.error_type.as_deref(),
            Some(error_type),
            "{:?}",
            r.result
        );
        r.result.message.clone()
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(dir) = &self.0.data_dir {
            let work = if dir.ends_with("data") {
                dir.parent()
            } else {
                Some(dir.as_path())
            };
            if let Some(work) = work {
                let _ = std::fs::remove_dir_all(work);
            }
        }
    }
}

/// A `write_outputs` configuration writing `files` (path → text) and exiting with `exit_code`.
pub fn writes(files: &[(&str, &str)], exit_code: i32, storage: Value) -> Value {
    let write: Vec<Value> = files
        .iter()
        .map(|(p, t)| json!({"path": p, "text": t}))
        .collect();
    json!({"parameters": {"write": write, "exit_code": exit_code, "message": "component failed on purpose"}, "storage": storage})
}

/// The CSV text Storage exports for a header and rows (every value quoted).
pub fn csv(rows: &[&[&str]]) -> String {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect()
}

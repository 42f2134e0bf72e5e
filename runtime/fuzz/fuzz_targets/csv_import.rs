//! Loading a CSV file a component wrote into a Storage table: any bytes, any of a few dialects,
//! headered or headless. Never a panic; a failure is a user error (bad input), never an
//! application error.
#![no_main]

use std::sync::{Mutex, OnceLock};

use berth_storage::{CsvDialect, ImportOptions, Storage, TableId};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    _dir: tempfile::TempDir,
    storage: Storage,
    file: tempfile::NamedTempFile,
}

fn fixture() -> &'static Mutex<Fixture> {
    static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let storage = Storage::open(dir.path().join("storage")).expect("storage");
        let file = tempfile::NamedTempFile::new().expect("temp file");
        Mutex::new(Fixture {
            _dir: dir,
            storage,
            file,
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, csv)) = data.split_first() else {
        return;
    };
    let delimiters = [",", ";", "\\t", "|"];
    let enclosures = ["\"", "'", ""];
    let Ok(dialect) = CsvDialect::from_strs(
        delimiters[usize::from(selector & 3)],
        enclosures[usize::from((selector >> 2) % 3)],
    ) else {
        return;
    };
    let columns = if selector & 0x40 != 0 {
        vec!["a".to_owned(), "b".to_owned()]
    } else {
        Vec::new()
    };
    let options = ImportOptions {
        incremental: selector & 0x80 != 0,
        primary_key: if selector & 0x20 != 0 && !columns.is_empty() {
            vec!["a".to_owned()]
        } else {
            Vec::new()
        },
        dialect,
        columns,
        ..ImportOptions::default()
    };
    let mut fixture = fixture().lock().unwrap_or_else(|p| p.into_inner());
    if std::fs::write(fixture.file.path(), csv).is_err() {
        return;
    }
    let path = fixture.file.path().to_path_buf();
    let table = TableId::parse("in.c-fuzz.t").expect("table id");
    if let Err(error) = fixture.storage.import_csv(&table, &path, &options) {
        assert!(error.is_user_error(), "an application error: {error}");
    }
});

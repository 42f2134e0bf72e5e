//! Storage files: upload, listing by tags / file_ids / run ids / since_id / each query form,
//! download, tagging and the error messages.

use berth_storage::{FileFilter, FileId, FileUpload, Storage, StorageError};
use tempfile::TempDir;

struct Fixture {
    dir: TempDir,
    storage: Storage,
}

impl Fixture {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let storage = Storage::open(dir.path().join("storage")).unwrap();
        Self { dir, storage }
    }

    fn upload(&mut self, name: &str, content: &str, tags: &[&str], run_id: Option<&str>) -> FileId {
        let path = self.dir.path().join(format!("src-{name}"));
        std::fs::write(&path, content).unwrap();
        let upload = FileUpload {
            name: Some(name.into()),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            run_id: run_id.map(str::to_owned),
            ..FileUpload::default()
        };
        self.storage.upload_file(&path, &upload).unwrap()
    }

    fn ids(&self, filter: &FileFilter) -> Vec<u64> {
        self.storage
            .list_files(filter)
            .unwrap()
            .iter()
            .map(|f| f.id.0)
            .collect()
    }

    fn query(&self, query: &str) -> Vec<u64> {
        self.ids(&FileFilter {
            query: Some(query.into()),
            ..FileFilter::default()
        })
    }
}

fn seeded() -> Fixture {
    let mut f = Fixture::new();
    f.upload(
        "fooBar.zip",
        "zip1",
        &["docker-demo", "toprocess"],
        Some("100"),
    );
    f.upload(
        "fooBarBaz.zip",
        "zip22",
        &["docker-demo", "toprocess", "downloaded"],
        Some("100.200"),
    );
    f.upload("report.csv", "a,b\n", &["reports"], Some("300"));
    f.upload("data.tar.gz", "gz", &["toprocess"], None);
    f
}

#[test]
fn upload_describe_and_download() {
    let mut f = Fixture::new();
    let id = f.upload("hello.txt", "hello", &["a", "a", " b "], Some("42"));
    let second = f.upload("second.txt", "2", &[], None);
    assert!(second.0 > id.0, "ids increase");
    let info = f.storage.file(id).unwrap();
    assert_eq!(info.name, "hello.txt");
    assert_eq!(info.tags, ["a", "b"]);
    assert_eq!(info.size_bytes, 5);
    assert!(!info.is_public && !info.is_permanent && info.is_encrypted);
    assert_eq!(info.run_id.as_deref(), Some("42"));
    let out = f.dir.path().join("down.txt");
    f.storage.download_file(id, &out).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hello");
    assert_eq!(
        std::fs::read_to_string(f.storage.file_content_path(id).unwrap()).unwrap(),
        "hello"
    );
    // The path's file name is the default name.
    let path = f.dir.path().join("plain.bin");
    std::fs::write(&path, [0u8, 1, 2]).unwrap();
    let upload = FileUpload {
        is_public: true,
        is_permanent: true,
        ..FileUpload::default()
    };
    let id = f.storage.upload_file(&path, &upload).unwrap();
    let info = f.storage.file(id).unwrap();
    assert_eq!(info.name, "plain.bin");
    assert!(info.is_public && info.is_permanent);
    // Tags added survive reopening.
    let tagged = f
        .storage
        .add_tags(id, &["x".into(), "y".into(), "x".into()])
        .unwrap();
    assert_eq!(tagged.tags, ["x", "y"]);
    let untagged = f.storage.remove_tags(id, &["x".into()]).unwrap();
    assert_eq!(untagged.tags, ["y"]);
    let dir = f.dir.path().join("storage");
    drop(f.storage);
    let storage = Storage::open(&dir).unwrap();
    assert_eq!(storage.file(id).unwrap().tags, ["y"]);
}

#[test]
fn listing_by_tags_ids_runs_and_since() {
    let f = seeded();
    assert_eq!(f.ids(&FileFilter::default()), [4, 3, 2, 1]);
    let tags = |t: &[&str]| FileFilter {
        tags: t.iter().map(|s| (*s).to_owned()).collect(),
        ..FileFilter::default()
    };
    assert_eq!(f.ids(&tags(&["docker-demo"])), [2, 1]);
    assert_eq!(f.ids(&tags(&["docker-demo", "downloaded"])), [2]);
    assert_eq!(f.ids(&tags(&["nothing"])), Vec::<u64>::new());
    let by_ids = FileFilter {
        file_ids: vec![FileId(1), FileId(3)],
        ..FileFilter::default()
    };
    assert_eq!(f.ids(&by_ids), [3, 1]);
    let since = FileFilter {
        since_id: Some(FileId(2)),
        ..FileFilter::default()
    };
    assert_eq!(f.ids(&since), [4, 3]);
    let runs = FileFilter {
        run_ids: vec!["100".into(), "100.200".into()],
        ..FileFilter::default()
    };
    assert_eq!(f.ids(&runs), [2, 1]);
    let limited = FileFilter {
        limit: Some(2),
        ..FileFilter::default()
    };
    assert_eq!(f.ids(&limited), [4, 3]);
    // Tags and a query together (the seed's docker-demo + name:.zip example).
    let both = FileFilter {
        tags: vec!["docker-demo".into()],
        query: Some("name:.zip".into()),
        ..FileFilter::default()
    };
    assert_eq!(f.ids(&both), [2, 1]);
}

#[test]
fn every_query_form() {
    let f = seeded();
    assert_eq!(f.query("name:.zip"), [2, 1]);
    assert_eq!(f.query("name:foobar"), [1]);
    assert_eq!(f.query("name:\"tar gz\""), [4]);
    assert_eq!(f.query("tags:reports"), [3]);
    assert_eq!(f.query("tags:\"docker-demo\""), [2, 1]);
    assert_eq!(f.query("tags: toprocess AND NOT tags: downloaded"), [4, 1]);
    assert_eq!(f.query("tags:reports OR name:gz"), [4, 3]);
    assert_eq!(
        f.query("(tags:reports OR tags:downloaded) AND NOT name:csv"),
        [2]
    );
    assert_eq!(f.query("id:(1 OR 2)"), [2, 1]);
    assert_eq!(f.query("id:[2 TO 3]"), [3, 2]);
    assert_eq!(f.query("created:[\"2024-01-01\" TO *]"), [4, 3, 2, 1]);
    assert_eq!(f.query("created:[* TO \"2000-01-01\"]"), Vec::<u64>::new());
    assert_eq!(f.query("size:>4"), [2]);
    assert_eq!(f.query("runId:300"), [3]);
    assert_eq!(f.query("name:foo*"), [2, 1]);
    assert_eq!(f.query("-tags:toprocess"), [3]);
}

#[test]
fn error_messages() {
    let mut f = seeded();
    let message = |err: StorageError| err.to_string();
    let err = f
        .storage
        .list_files(&FileFilter {
            query: Some("tags:a AND (name:b".into()),
            ..FileFilter::default()
        })
        .unwrap_err();
    assert!(err.is_user_error());
    assert_eq!(
        message(err),
        "invalid file query \"tags:a AND (name:b\" at character 19: expected ')', found the end of the query"
    );
    let err = f
        .storage
        .list_files(&FileFilter {
            query: Some("colour:red".into()),
            ..FileFilter::default()
        })
        .unwrap_err();
    assert!(message(err).contains("at character 1: unknown field \"colour\""));
    assert_eq!(
        message(f.storage.file(FileId(99)).unwrap_err()),
        "file 99 does not exist"
    );
    let out = f.dir.path().join("x");
    assert_eq!(
        message(f.storage.download_file(FileId(99), &out).unwrap_err()),
        "file 99 does not exist"
    );
    assert_eq!(
        message(f.storage.add_tags(FileId(99), &["t".into()]).unwrap_err()),
        "file 99 does not exist"
    );
    assert_eq!(
        message("abc".parse::<FileId>().unwrap_err()),
        "invalid file id \"abc\": expected a positive integer"
    );
    let missing = f.dir.path().join("missing.bin");
    let err = message(
        f.storage
            .upload_file(&missing, &FileUpload::default())
            .unwrap_err(),
    );
    assert!(
        err.starts_with(&format!("cannot read file {}", missing.display())),
        "{err}"
    );
    let path = f.dir.path().join("ok.bin");
    std::fs::write(&path, "x").unwrap();
    let bad_tag = FileUpload {
        tags: vec![" ".into()],
        ..FileUpload::default()
    };
    assert_eq!(
        message(f.storage.upload_file(&path, &bad_tag).unwrap_err()),
        "file \"ok.bin\": invalid tag: a tag is empty"
    );
    let bad_name = FileUpload {
        name: Some("../x".into()),
        ..FileUpload::default()
    };
    assert!(
        message(f.storage.upload_file(&path, &bad_name).unwrap_err())
            .contains("cannot contain '/'")
    );
    // Nothing was stored by the failed uploads.
    assert_eq!(f.ids(&FileFilter::default()), [4, 3, 2, 1]);
}

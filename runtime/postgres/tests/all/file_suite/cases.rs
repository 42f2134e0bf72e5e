//! The cases of the shared file suite, each written against `FileData` only.

use berth_storage::{FileFilter, FileId, FileUpload, StorageError};

use crate::backends::Backend;

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| (*t).to_owned()).collect()
}

fn upload(b: &mut Backend, name: &str, content: &[u8], upload: &FileUpload) -> FileId {
    let path = b.write(name, content);
    b.storage.upload_file(&path, upload).unwrap()
}

fn tagged(list: &[&str]) -> FileUpload {
    FileUpload {
        tags: tags(list),
        ..FileUpload::default()
    }
}

fn ids(files: &[berth_storage::FileInfo]) -> Vec<u64> {
    files.iter().map(|f| f.id.0).collect()
}

pub(super) fn an_upload_comes_back_byte_for_byte(b: &mut Backend) {
    // Binary content larger than any one piece a backend moves, NULs included.
    let content: Vec<u8> = (0..2_600_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let id = upload(
        b,
        "data.bin",
        &content,
        &FileUpload {
            is_public: true,
            is_permanent: true,
            is_encrypted: false,
            run_id: Some("123.456".into()),
            ..tagged(&[" b ", "a", "b"])
        },
    );
    let info = b.storage.file(id).unwrap();
    assert_eq!(info.name, "data.bin");
    assert_eq!(info.tags, ["b", "a"]);
    assert_eq!(info.size_bytes, content.len() as u64);
    assert!(info.is_public && info.is_permanent && !info.is_encrypted);
    assert_eq!(info.run_id.as_deref(), Some("123.456"));
    let dest = b.path("copy.bin");
    let downloaded = b.storage.download_file(id, &dest).unwrap();
    assert_eq!(downloaded, info);
    assert_eq!(std::fs::read(&dest).unwrap(), content);
    let mut written = Vec::new();
    assert_eq!(b.storage.write_file(id, &mut written).unwrap(), info);
    assert!(written == content, "write_file writes the same bytes");
    // An empty file, named by the upload rather than its path.
    let empty = upload(
        b,
        "whatever",
        b"",
        &FileUpload {
            name: Some("empty.txt".into()),
            ..FileUpload::default()
        },
    );
    assert!(empty.0 > id.0, "ids increase with every upload");
    let info = b.storage.file(empty).unwrap();
    assert_eq!((info.name.as_str(), info.size_bytes), ("empty.txt", 0));
    assert!(
        info.is_encrypted,
        "uploads are encrypted unless told otherwise"
    );
    let dest = b.path("empty.copy");
    b.storage.download_file(empty, &dest).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"");
}

pub(super) fn names_tags_and_run_ids_are_checked(b: &mut Backend) {
    let path = b.write("ok.txt", "x");
    for (bad, needle) in [
        (
            FileUpload {
                name: Some("../up".into()),
                ..FileUpload::default()
            },
            "the name cannot contain '/', '\\' or NUL",
        ),
        (
            FileUpload {
                name: Some(String::new()),
                ..FileUpload::default()
            },
            "the name is empty",
        ),
        (tagged(&["a", " "]), "a tag is empty"),
        (tagged(&["nul\0"]), "a tag cannot contain NUL"),
        (
            FileUpload {
                run_id: Some(String::new()),
                ..FileUpload::default()
            },
            "the run id is empty",
        ),
    ] {
        let error = b.storage.upload_file(&path, &bad).unwrap_err();
        assert!(
            matches!(error, StorageError::InvalidOption { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(needle), "{error}");
    }
    let missing = b.path("missing.txt");
    let error = b
        .storage
        .upload_file(&missing, &FileUpload::default())
        .unwrap_err();
    assert!(matches!(error, StorageError::ReadInput { .. }), "{error:?}");
    let error = b
        .storage
        .upload_file(&b.path(""), &FileUpload::default())
        .unwrap_err();
    assert!(error.is_user_error(), "{error:?}");
    // Nothing was stored by any refused upload.
    assert!(
        b.storage
            .list_files(&FileFilter::default())
            .unwrap()
            .is_empty()
    );
}

pub(super) fn listings_are_newest_first_and_filtered(b: &mut Backend) {
    let first = upload(b, "report.csv", b"1", &tagged(&["daily", "sales"]));
    let second = upload(
        b,
        "photo.png",
        b"22",
        &FileUpload {
            run_id: Some("9".into()),
            ..tagged(&["sales"])
        },
    );
    let third = upload(b, "notes.txt", b"333", &tagged(&["daily"]));
    let all = b.storage.list_files(&FileFilter::default()).unwrap();
    assert_eq!(ids(&all), [third.0, second.0, first.0]);
    let list = |b: &Backend, filter: FileFilter| ids(&b.storage.list_files(&filter).unwrap());
    let by_tags = FileFilter {
        tags: tags(&["daily", "sales"]),
        ..FileFilter::default()
    };
    assert_eq!(list(b, by_tags), [first.0]);
    let limited = FileFilter {
        limit: Some(2),
        ..FileFilter::default()
    };
    assert_eq!(list(b, limited), [third.0, second.0]);
    let since = FileFilter {
        since_id: Some(first),
        ..FileFilter::default()
    };
    assert_eq!(list(b, since), [third.0, second.0]);
    let by_run = FileFilter {
        run_ids: vec!["9".into()],
        ..FileFilter::default()
    };
    assert_eq!(list(b, by_run), [second.0]);
    let by_ids = FileFilter {
        file_ids: vec![first, third],
        ..FileFilter::default()
    };
    assert_eq!(list(b, by_ids), [third.0, first.0]);
    let query = FileFilter {
        query: Some("tags:daily AND NOT name:txt".into()),
        ..FileFilter::default()
    };
    assert_eq!(list(b, query), [first.0]);
    let sized = FileFilter {
        query: Some("size:>=2".into()),
        ..FileFilter::default()
    };
    assert_eq!(list(b, sized), [third.0, second.0]);
    let bad = FileFilter {
        query: Some("tags:(daily".into()),
        ..FileFilter::default()
    };
    let error = b.storage.list_files(&bad).unwrap_err();
    assert!(
        matches!(error, StorageError::InvalidQuery { .. }),
        "{error:?}"
    );
    assert!(error.is_user_error());
}

pub(super) fn tags_are_added_once_and_removed(b: &mut Backend) {
    let id = upload(b, "f.txt", b"x", &tagged(&["a"]));
    let added = b.storage.add_tags(id, &tags(&["b", " a ", "c"])).unwrap();
    assert_eq!(added.tags, ["a", "b", "c"]);
    let removed = b.storage.remove_tags(id, &tags(&["a", "nope"])).unwrap();
    assert_eq!(removed.tags, ["b", "c"]);
    assert_eq!(b.storage.file(id).unwrap().tags, ["b", "c"]);
    let error = b.storage.add_tags(id, &tags(&[""])).unwrap_err();
    assert!(error.to_string().contains("a tag is empty"), "{error}");
    assert_eq!(b.storage.file(id).unwrap().tags, ["b", "c"]);
}

pub(super) fn a_deleted_file_is_gone_and_missing_files_are_named(b: &mut Backend) {
    let keep = upload(b, "keep.txt", b"keep", &FileUpload::default());
    let gone = upload(b, "gone.txt", b"gone", &FileUpload::default());
    b.storage.delete_file(gone).unwrap();
    let dest = b.path("gone.copy");
    let missing = FileId(gone.0 + 100);
    for id in [gone, missing] {
        for error in [
            b.storage.file(id).unwrap_err(),
            b.storage.download_file(id, &dest).unwrap_err(),
            b.storage.write_file(id, &mut Vec::new()).unwrap_err(),
            b.storage.add_tags(id, &tags(&["x"])).unwrap_err(),
            b.storage.delete_file(id).unwrap_err(),
        ] {
            assert!(
                matches!(error, StorageError::FileNotFound { id: n } if n == id.0),
                "{error:?}"
            );
            assert!(error.is_user_error());
        }
    }
    assert!(!dest.exists());
    assert_eq!(
        ids(&b.storage.list_files(&FileFilter::default()).unwrap()),
        [keep.0]
    );
    let copy = b.path("keep.copy");
    b.storage.download_file(keep, &copy).unwrap();
    assert_eq!(std::fs::read(&copy).unwrap(), b"keep");
}

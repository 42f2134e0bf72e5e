//! Output file mapping through whole jobs (reference §2.5, §3.7; §11 items 31–35): tags and
//! flags from the mapping or the manifest (never merged), system tags, missing and orphaned files,
//! nothing uploaded on failure.

use berth_storage::{FileFilter, FileInfo};
use components_artifacts as guests;
use serde_json::json;

use berth_job::testing::{Env, writes};

fn files(env: &Env) -> Vec<FileInfo> {
    let mut files = env.storage().list_files(&FileFilter::default()).unwrap();
    files.sort_by_key(|f| f.id);
    files
}

fn env() -> Env {
    let env = Env::new();
    env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    env
}

#[test]
fn every_file_is_uploaded_with_mapping_or_manifest_tags_and_system_tags() {
    let env = env();
    env.config(
        "acme.writer",
        "cfg",
        writes(
            &[
                ("out/files/file1", "one"),
                ("out/files/file2", "two"),
                ("out/files/file2.manifest", r#"{"tags": ["from-manifest"], "is_public": true}"#),
                ("out/files/plain", "three"),
                ("out/files/sub/ignored", "a directory is not uploaded"),
            ],
            0,
            json!({"output": {"files": [{"source": "file1", "tags": ["mapped"], "is_permanent": true}]}}),
        ),
    );
    let job = env.run_stored("acme.writer", "cfg");
    job.assert_success();
    let run_id = job.record().run_id.clone();
    let files = files(&env);
    assert_eq!(
        files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["file1", "file2", "plain"]
    );
    let system = [
        "componentId: acme.writer".to_owned(),
        "configurationId: cfg".to_owned(),
        format!("runId: {run_id}"),
    ];
    assert_eq!(files[0].tags[0], "mapped");
    assert!(files[0].is_permanent && !files[0].is_public);
    assert_eq!(files[1].tags[0], "from-manifest");
    assert!(files[1].is_public);
    for file in &files {
        assert!(
            system.iter().all(|t| file.tags.contains(t)),
            "{:?}",
            file.tags
        );
        assert_eq!(file.run_id.as_deref(), Some(run_id.as_str()));
    }
    assert_eq!(job.record().output.files.len(), 3);
}

#[test]
fn a_mapping_replaces_the_manifest_entirely() {
    let env = env();
    env.run_data(
        "acme.writer",
        writes(
            &[
                ("out/files/f", "x"),
                (
                    "out/files/f.manifest",
                    r#"{"is_public": true, "tags": ["xxx"]}"#,
                ),
            ],
            0,
            json!({"output": {"files": [{"source": "f", "is_public": false, "tags": ["yyy"]}]}}),
        ),
    )
    .assert_success();
    let file = &files(&env)[0];
    assert!(!file.is_public);
    assert_eq!(file.tags[0], "yyy");
    assert!(!file.tags.contains(&"xxx".to_owned()));
    assert!(file.tags.contains(&"componentId: acme.writer".to_owned()));
}

#[test]
fn a_missing_mapped_file_and_an_orphaned_manifest_fail() {
    let env = env();
    let job = env.run_data(
        "acme.writer",
        writes(
            &[("out/files/file1", "x")],
            0,
            json!({"output": {"files": [{"source": "file2"}]}}),
        ),
    );
    assert_eq!(job.assert_error("user"), "File 'file2' not found");
    let job = env.run_data(
        "acme.writer",
        writes(&[("out/files/file1.manifest", "{}")], 0, json!({})),
    );
    assert_eq!(
        job.assert_error("user"),
        "Found orphaned file manifest: 'file1.manifest'"
    );
    assert!(files(&env).is_empty());
}

#[test]
fn files_are_never_uploaded_when_the_component_fails() {
    let env = env();
    let job = env.run_data("acme.writer", writes(&[("out/files/f", "x")], 1, json!({})));
    assert_eq!(job.assert_error("user"), "component failed on purpose");
    assert!(files(&env).is_empty());
}

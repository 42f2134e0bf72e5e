//! Processors (reference §10 "Processors"): the `processors.before[]` / `processors.after[]` of a
//! configuration, read strictly, and the move between two images of a job.
//!
//! - each processor is a component of its own (`definition.component`, optionally pinned with
//!   `definition.tag`) and gets only its own `parameters`;
//! - a configuration and its row may not both set processors (the reference's text,
//!   [`BOTH_PLACES`]);
//! - between two images `in/` and `tmp/` are deleted, `out/state.*` too, `out/` becomes `in/`,
//!   and an empty `out/tables`, `out/files` and `in/user` are made
//!   (DB `WorkingDirectory::moveOutputToInput`).
//!
//! Running them around the main component is the runner's (`runner/images.rs`).

use std::fs;
use std::io;
use std::path::Path;

use berth_host_api::DataDir;
use serde::Deserialize;
use serde_json::Value;

use berth_staging::{Stage, StagingError};

/// The reference's text for processors set on a configuration and on its row.
pub const BOTH_PLACES: &str = "Processors may be set either in configuration or in configuration row, but not in both places.";

/// `processors`: what runs before and after the main component.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Processors {
    /// Run in order before the main component.
    #[serde(default)]
    pub before: Vec<Processor>,
    /// Run in order after the main component.
    #[serde(default)]
    pub after: Vec<Processor>,
}

impl Processors {
    /// Whether no processor is set.
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }

    /// Reads `processors` of a configuration document (`None`, `null`, `[]` and `{}` mean none);
    /// an unknown key or a wrong type is the user's error, as every configuration key is.
    pub fn from_document(value: Option<&Value>) -> Result<Self, String> {
        match value {
            None | Some(Value::Null) => Ok(Self::default()),
            Some(Value::Array(a)) if a.is_empty() => Ok(Self::default()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("processors: {e}")),
        }
    }
}

/// One processor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Processor {
    /// Which component runs.
    pub definition: ProcessorDefinition,
    /// Its own parameters (`{}` when absent).
    #[serde(default = "crate::config::empty_object")]
    pub parameters: Value,
}

/// `definition` of a processor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorDefinition {
    /// The processor's component id (registered in berth like any component).
    pub component: String,
    /// Another tag of the processor's image.
    #[serde(default)]
    pub tag: Option<String>,
}

/// Whether a configuration document sets processors (anything but absent, `null`, `[]`, `{}` or
/// `{before: [], after: []}`).
pub fn sets_processors(document: &Value) -> bool {
    Processors::from_document(document.get("processors")).map_or(true, |p| !p.is_empty())
}

/// Fails with [`BOTH_PLACES`] when a configuration and its row both set processors.
pub fn check_one_place(
    configuration: &Value,
    row: &Value,
    subject: &str,
) -> Result<(), StagingError> {
    if sets_processors(configuration) && sets_processors(row) {
        return Err(StagingError::user(
            Stage::Configuration,
            subject,
            BOTH_PLACES,
        ));
    }
    Ok(())
}

/// The move between two images: what one image left in `out/` is what the next finds in `in/`.
pub fn move_output_to_input(data: &DataDir) -> io::Result<()> {
    remove_if_exists(&data.join("in"))?;
    remove_if_exists(&data.join("tmp"))?;
    let out = data.join("out");
    for name in ["state.json", "state.yml"] {
        remove_if_exists(&out.join(name))?;
    }
    fs::create_dir_all(&out)?;
    fs::rename(&out, data.join("in"))?;
    fs::create_dir_all(data.out_tables())?;
    fs::create_dir_all(data.out_files())?;
    fs::create_dir_all(data.in_user())?;
    // The tables and files folders of in/ exist even when an image removed them.
    fs::create_dir_all(data.in_tables())?;
    fs::create_dir_all(data.in_files())?;
    Ok(())
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn processors_are_read_strictly() {
        let p = Processors::from_document(Some(&json!({"before": [
            {"definition": {"component": "a.b", "tag": "1.0"}, "parameters": {"x": 1}}
        ]})))
        .unwrap();
        assert_eq!(p.before[0].definition.component, "a.b");
        assert_eq!(p.before[0].definition.tag.as_deref(), Some("1.0"));
        assert!(p.after.is_empty());
        assert!(
            Processors::from_document(Some(&json!([])))
                .unwrap()
                .is_empty()
        );
        assert!(Processors::from_document(None).unwrap().is_empty());
        let unknown = Processors::from_document(Some(&json!({"before": [
            {"definition": {"component": "a.b"}, "params": {}}
        ]})))
        .unwrap_err();
        assert!(unknown.contains("unknown field `params`"), "{unknown}");
        let missing =
            Processors::from_document(Some(&json!({"after": [{"definition": {}}]}))).unwrap_err();
        assert!(missing.contains("component"), "{missing}");
        assert!(Processors::from_document(Some(&json!({"middle": []}))).is_err());
    }

    #[test]
    fn processors_in_both_places_are_refused_with_the_reference_text() {
        let p = json!({"processors": {"after": [{"definition": {"component": "a"}}]}});
        let err = check_one_place(&p, &p, "c/1").unwrap_err();
        assert!(err.to_string().contains(BOTH_PLACES), "{err}");
        check_one_place(&p, &json!({"parameters": {}}), "c/1").unwrap();
        check_one_place(&json!({"processors": {"before": []}}), &p, "c/1").unwrap();
    }

    #[test]
    fn the_move_turns_out_into_in_and_drops_state_and_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.create_layout().unwrap();
        fs::write(data.in_tables().join("old.csv"), "a\n").unwrap();
        fs::create_dir_all(data.join("tmp")).unwrap();
        fs::write(data.join("tmp/x"), "x").unwrap();
        fs::write(data.out_tables().join("new.csv"), "b\n").unwrap();
        fs::write(data.out_files().join("f.txt"), "f").unwrap();
        fs::write(data.out_state(), "{}").unwrap();
        fs::write(data.join("out/usage.json"), "[]").unwrap();
        move_output_to_input(&data).unwrap();
        assert!(!data.in_tables().join("old.csv").exists());
        assert_eq!(
            fs::read_to_string(data.in_tables().join("new.csv")).unwrap(),
            "b\n"
        );
        assert!(data.in_files().join("f.txt").is_file());
        assert!(
            !data.join("in/state.json").exists(),
            "out/state.json is dropped"
        );
        assert!(data.join("in/usage.json").is_file());
        assert!(!data.join("tmp").exists());
        assert!(data.in_user().is_dir());
        assert_eq!(fs::read_dir(data.out_tables()).unwrap().count(), 0);
        assert_eq!(fs::read_dir(data.out_files()).unwrap().count(), 0);
    }
}

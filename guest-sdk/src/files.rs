//! Files: `in/files/<id>_<name>` with their manifests, and files written to `out/files` with a
//! manifest carrying tags and the public/permanent flags.

use std::path::{Path, PathBuf};

use berth_host_api::paths::manifest_for;
use berth_host_api::{InputFileManifest, OutputFileManifest};

use crate::{Context, Error, Result};

/// One entry of `in/files`: its name, its path and its manifest (if present).
#[derive(Debug, Clone)]
pub struct InputFile {
    /// The file name under `in/files`, `<fileId>_<fileName>`.
    pub name: String,
    /// The full path (a directory of slices for a sliced file).
    pub path: PathBuf,
    /// The parsed `<name>.manifest`, when there is one.
    pub manifest: Option<InputFileManifest>,
}

impl InputFile {
    /// The Storage file id (from the manifest).
    pub fn id(&self) -> Option<u64> {
        self.manifest.as_ref().map(|m| m.id)
    }

    /// The original file name: the manifest's `name`, else the part after `<id>_`.
    pub fn original_name(&self) -> &str {
        match &self.manifest {
            Some(m) if !m.name.is_empty() => &m.name,
            _ => self
                .name
                .split_once('_')
                .map_or(self.name.as_str(), |(_, rest)| rest),
        }
    }

    /// The file's tags (from the manifest).
    pub fn tags(&self) -> &[String] {
        self.manifest.as_ref().map_or(&[], |m| m.tags.as_slice())
    }

    /// Reads the whole file.
    pub fn read(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.path).map_err(|e| Error::io("Cannot read", &self.path, e))
    }
}

impl Context {
    /// Every file in `in/files` (manifests excluded), sorted by name.
    pub fn input_files(&self) -> Result<Vec<InputFile>> {
        crate::input_entry::list(&self.data_dir().in_files())?
            .into_iter()
            .map(open_input_file)
            .collect()
    }

    /// Starts an output file `out/files/<name>`.
    pub fn output_file(&self, name: &str) -> OutputFileWriter {
        OutputFileWriter {
            path: self.data_dir().out_files().join(name),
            manifest: OutputFileManifest::default(),
        }
    }
}

fn open_input_file(path: PathBuf) -> Result<InputFile> {
    let (name, manifest) = crate::input_entry::open(&path, InputFileManifest::from_json)?;
    Ok(InputFile {
        name,
        path,
        manifest,
    })
}

/// Writes one file into `out/files` and its manifest.
#[derive(Debug, Clone)]
pub struct OutputFileWriter {
    path: PathBuf,
    manifest: OutputFileManifest,
}

impl OutputFileWriter {
    /// Tags of the uploaded file.
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.manifest.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Make the uploaded file public.
    pub fn is_public(mut self, is_public: bool) -> Self {
        self.manifest.is_public = Some(is_public);
        self
    }

    /// Keep the uploaded file forever (else it expires after 15 days).
    pub fn is_permanent(mut self, is_permanent: bool) -> Self {
        self.manifest.is_permanent = Some(is_permanent);
        self
    }

    /// Store the uploaded file encrypted.
    pub fn is_encrypted(mut self, is_encrypted: bool) -> Self {
        self.manifest.is_encrypted = Some(is_encrypted);
        self
    }

    /// Notify project members about the upload.
    pub fn notify(mut self, notify: bool) -> Self {
        self.manifest.notify = Some(notify);
        self
    }

    /// The file's path, for writing it yourself before [`finish`](Self::finish).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to the file, then the manifest.
    pub fn write(self, contents: impl AsRef<[u8]>) -> Result<PathBuf> {
        std::fs::write(&self.path, contents)
            .map_err(|e| Error::io("Cannot write", &self.path, e))?;
        self.finish()
    }

    /// Writes the manifest (only when some option was set) for a file already written.
    pub fn finish(self) -> Result<PathBuf> {
        if self.manifest != OutputFileManifest::default() {
            let manifest_path = manifest_for(&self.path);
            std::fs::write(&manifest_path, self.manifest.to_json_pretty())
                .map_err(|e| Error::io("Cannot write", &manifest_path, e))?;
        }
        Ok(self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_host_api::{ConfigFile, DataDir};

    #[test]
    fn input_and_output_files() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.create_layout().unwrap();
        let ctx = Context::new(data, ConfigFile::default());
        let in_files = ctx.data_dir().in_files();
        std::fs::write(in_files.join("12_report.txt"), "hello").unwrap();
        std::fs::write(
            in_files.join("12_report.txt.manifest"),
            r#"{"id":12,"name":"report.txt","tags":["a"]}"#,
        )
        .unwrap();
        std::fs::write(in_files.join("13_other.txt"), "x").unwrap();
        let files = ctx.input_files().unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].id(), Some(12));
        assert_eq!(files[0].tags(), ["a"]);
        assert_eq!(files[1].original_name(), "other.txt");
        assert_eq!(files[0].read().unwrap(), b"hello");

        let path = ctx
            .output_file("out.txt")
            .tags(["processed"])
            .is_public(true)
            .is_permanent(true)
            .write("data")
            .unwrap();
        let manifest = std::fs::read_to_string(manifest_for(&path)).unwrap();
        let m = OutputFileManifest::from_json("m", &manifest).unwrap();
        assert_eq!(m.tags, Some(vec!["processed".to_owned()]));
        assert_eq!(m.is_public, Some(true));
    }
}

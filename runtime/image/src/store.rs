//! [`Layout`]: the local content-addressed store, an OCI image layout under `home.images()`.
//!
//! ```text
//! images/
//!   oci-layout            {"imageLayoutVersion":"1.0.0"}
//!   index.json            one entry per name, annotated org.opencontainers.image.ref.name
//!   blobs/sha256/<hex>    manifests, configs, layers: each file hashes to its name
//!   tmp/                  downloads in progress (same filesystem, so renames are atomic)
//!   .index.lock           held while index.json is rewritten
//!   .gc.lock              shared by pulls and pushes, exclusive for garbage collection
//! ```
//!
//! Every blob is verified when written (hashed, then written to a temp file, fsynced and renamed
//! into place) and when read. A mismatch is an [`ImageError::DigestMismatch`] naming the image
//! reference and both digests. Names in `index.json` are full references
//! (`127.0.0.1:5000/acme/ex:v1`, `…@sha256:…`), since one store holds images from many
//! registries.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::digest::Digest;
use super::error::{ImageError, Stage};
use super::oci::{
    self, ANNOTATION_MODULE, ANNOTATION_REF_NAME, Descriptor, Index, Manifest, Sniff,
};

const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// An OCI image layout directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

/// A lock held for the duration of an operation (released on drop).
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

/// What a garbage collection removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GcReport {
    /// Digests of the removed blobs.
    pub removed: Vec<String>,
    /// Bytes freed.
    pub freed_bytes: u64,
}

impl Layout {
    /// Opens the layout at `root`, creating `oci-layout`, `index.json` and `blobs/sha256` if
    /// missing.
    pub fn open(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let layout = Layout { root: root.into() };
        let blobs = layout.root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).with_context(|| format!("create {}", blobs.display()))?;
        fs::create_dir_all(layout.tmp_dir())
            .with_context(|| format!("create {}", layout.tmp_dir().display()))?;
        let marker = layout.root.join("oci-layout");
        if !marker.exists() {
            write_atomic(&layout.tmp_dir(), &marker, OCI_LAYOUT.as_bytes())?;
        }
        if !layout.index_path().exists() {
            layout.write_index(&empty_index())?;
        }
        Ok(layout)
    }

    /// The layout's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob named `digest` lives (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    /// Whether a blob file exists (not verified).
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    /// Stores `bytes`, which must hash to `expected` when given; returns their digest.
    pub fn write_blob(
        &self,
        reference: &str,
        what: &str,
        expected: Option<&Digest>,
        bytes: &[u8],
    ) -> Result<Digest, ImageError> {
        let actual = Digest::of_bytes(bytes);
        if let Some(expected) = expected
            && *expected != actual
        {
            return Err(mismatch(Stage::Store, reference, what, expected, &actual));
        }
        let path = self.blob_path(&actual);
        if !path.is_file() {
            write_atomic(&self.tmp_dir(), &path, bytes)
                .map_err(|e| ImageError::store(Stage::Store, reference, e))?;
        }
        Ok(actual)
    }

    /// A new temporary file inside the layout, for streaming a download.
    pub fn temp_file(&self) -> anyhow::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix("download-")
            .tempfile_in(self.tmp_dir())
            .with_context(|| format!("create a temporary file in {}", self.tmp_dir().display()))
    }

    /// Moves a finished download into place after hashing it: it must match `expected`.
    pub fn commit_temp(
        &self,
        reference: &str,
        what: &str,
        temp: tempfile::NamedTempFile,
        expected: &Digest,
    ) -> Result<PathBuf, ImageError> {
        let store_err = |e: anyhow::Error| ImageError::store(Stage::Store, reference, e);
        temp.as_file()
            .sync_all()
            .context("fsync the download")
            .map_err(store_err)?;
        let actual = Digest::of_file(temp.path()).map_err(store_err)?;
        if actual != *expected {
            return Err(mismatch(Stage::Store, reference, what, expected, &actual));
        }
        let path = self.blob_path(expected);
        temp.persist(&path)
            .map_err(|e| anyhow::Error::from(e.error))
            .with_context(|| format!("rename the download to {}", path.display()))
            .map_err(store_err)?;
        sync_dir(path.parent().unwrap_or(&self.root)).map_err(store_err)?;
        Ok(path)
    }

    /// Reads a blob and verifies it against its digest.
    pub fn read_blob(
        &self,
        reference: &str,
        what: &str,
        digest: &Digest,
    ) -> Result<Vec<u8>, ImageError> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path)
            .with_context(|| format!("{what} blob {digest} ({})", path.display()))
            .map_err(|e| ImageError::store(Stage::Verify, reference, e))?;
        let actual = Digest::of_bytes(&bytes);
        if actual != *digest {
            return Err(mismatch(Stage::Verify, reference, what, digest, &actual));
        }
        Ok(bytes)
    }

    /// Hashes a blob file in place; returns its path when it matches its digest.
    pub fn verify_blob(
        &self,
        reference: &str,
        what: &str,
        digest: &Digest,
    ) -> Result<PathBuf, ImageError> {
        let path = self.blob_path(digest);
        let actual = Digest::of_file(&path)
            .with_context(|| format!("{what} blob {digest}"))
            .map_err(|e| ImageError::store(Stage::Verify, reference, e))?;
        if actual != *digest {
            return Err(mismatch(Stage::Verify, reference, what, digest, &actual));
        }
        Ok(path)
    }

    /// The current `index.json`.
    pub fn index(&self) -> anyhow::Result<Index> {
        let path = self.index_path();
        let text = fs::read(&path).with_context(|| format!("read {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("parse {}", path.display()))
    }

    fn write_index(&self, index: &Index) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(index).context("serialise index.json")?;
        write_atomic(&self.tmp_dir(), &self.index_path(), &bytes)
    }

    /// The entry named `name`, if any.
    pub fn lookup(&self, name: &str) -> anyhow::Result<Option<Descriptor>> {
        Ok(self
            .index()?
            .manifests
            .into_iter()
            .find(|d| ref_name(d) == Some(name)))
    }

    /// Points `name` at `descriptor` (replacing an entry of the same name).
    pub fn tag(&self, name: &str, mut descriptor: Descriptor) -> anyhow::Result<()> {
        let _lock = self.lock(".index.lock", true)?;
        let mut index = self.index()?;
        index.manifests.retain(|d| ref_name(d) != Some(name));
        descriptor
            .annotations
            .insert(ANNOTATION_REF_NAME.to_string(), name.to_string());
        index.manifests.push(descriptor);
        index
            .manifests
            .sort_by(|a, b| ref_name(a).cmp(&ref_name(b)));
        self.write_index(&index)
    }

    /// Removes the entries for which `matches` holds; returns them.
    pub fn untag(
        &self,
        mut matches: impl FnMut(&Descriptor) -> bool,
    ) -> anyhow::Result<Vec<Descriptor>> {
        let _lock = self.lock(".index.lock", true)?;
        let mut index = self.index()?;
        let (removed, kept): (Vec<_>, Vec<_>) =
            index.manifests.into_iter().partition(|d| matches(d));
        index.manifests = kept;
        self.write_index(&index)?;
        Ok(removed)
    }

    /// Takes the store-wide lock: shared while adding content, exclusive for garbage collection.
    pub fn content_lock(&self, exclusive: bool) -> anyhow::Result<LockGuard> {
        self.lock(".gc.lock", exclusive)
    }

    fn lock(&self, name: &str, exclusive: bool) -> anyhow::Result<LockGuard> {
        let path = self.root.join(name);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("open lock {}", path.display()))?;
        if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        }
        .with_context(|| format!("lock {}", path.display()))?;
        Ok(LockGuard { _file: file })
    }

    /// Deletes every blob that no `index.json` entry reaches, and stale downloads.
    pub fn gc(&self) -> anyhow::Result<GcReport> {
        let _lock = self.content_lock(true)?;
        let mut keep = BTreeSet::new();
        for entry in self.index()?.manifests {
            if let Some(module) = entry.annotations.get(ANNOTATION_MODULE) {
                keep.insert(module.clone());
            }
            self.mark(&entry, &mut keep)
                .with_context(|| format!("walk {}", ref_name(&entry).unwrap_or("?")))?;
        }
        let mut report = GcReport::default();
        let blobs = self.root.join("blobs").join("sha256");
        for entry in fs::read_dir(&blobs).with_context(|| format!("list {}", blobs.display()))? {
            let entry = entry?;
            let digest = format!("sha256:{}", entry.file_name().to_string_lossy());
            if keep.contains(&digest) {
                continue;
            }
            report.freed_bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            fs::remove_file(entry.path())
                .with_context(|| format!("remove {}", entry.path().display()))?;
            report.removed.push(digest);
        }
        for entry in fs::read_dir(self.tmp_dir())? {
            let entry = entry?;
            report.freed_bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = fs::remove_file(entry.path());
        }
        Ok(report)
    }

    /// Adds `descriptor` and everything it references (when present) to `keep`.
    fn mark(&self, descriptor: &Descriptor, keep: &mut BTreeSet<String>) -> anyhow::Result<()> {
        if !keep.insert(descriptor.digest.to_string()) || !self.has_blob(&descriptor.digest) {
            return Ok(());
        }
        let is_manifest_like = oci::MANIFEST_MEDIA_TYPES.contains(&descriptor.media_type.as_str());
        if !is_manifest_like {
            return Ok(());
        }
        let name = descriptor.digest.to_string();
        let bytes = self.read_blob(&name, "manifest", &descriptor.digest)?;
        let sniff: Sniff = serde_json::from_slice(&bytes).context("parse manifest")?;
        if sniff.is_index() {
            let index: Index = serde_json::from_slice(&bytes).context("parse index")?;
            for child in &index.manifests {
                self.mark(child, keep)?;
            }
        } else {
            let manifest: Manifest = serde_json::from_slice(&bytes).context("parse manifest")?;
            keep.insert(manifest.config.digest.to_string());
            for layer in &manifest.layers {
                keep.insert(layer.digest.to_string());
            }
        }
        Ok(())
    }
}

/// The `org.opencontainers.image.ref.name` of an index entry.
pub fn ref_name(descriptor: &Descriptor) -> Option<&str> {
    descriptor
        .annotations
        .get(ANNOTATION_REF_NAME)
        .map(String::as_str)
}

fn empty_index() -> Index {
    Index {
        schema_version: 2,
        media_type: Some(oci::OCI_INDEX.to_string()),
        manifests: Vec::new(),
        annotations: Default::default(),
    }
}

fn mismatch(
    stage: Stage,
    reference: &str,
    what: &str,
    expected: &Digest,
    actual: &Digest,
) -> ImageError {
    ImageError::DigestMismatch {
        stage,
        reference: reference.to_string(),
        what: what.to_string(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}

/// Writes `bytes` to `path` via a temporary file in `tmp_dir`: write, fsync, rename, fsync dir.
fn write_atomic(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut temp = tempfile::Builder::new()
        .prefix("write-")
        .tempfile_in(tmp_dir)
        .with_context(|| format!("create a temporary file in {}", tmp_dir.display()))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("write {}", temp.path().display()))?;
    temp.persist(path)
        .map_err(|e| anyhow::Error::from(e.error))
        .with_context(|| format!("rename into {}", path.display()))?;
    sync_dir(path.parent().unwrap_or(tmp_dir))
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("fsync {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> (tempfile::TempDir, Layout) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path().join("images")).unwrap();
        (dir, layout)
    }

    #[test]
    fn open_creates_an_oci_layout() {
        let (_dir, layout) = layout();
        let marker = fs::read_to_string(layout.root().join("oci-layout")).unwrap();
        assert_eq!(marker, OCI_LAYOUT);
        assert!(layout.index().unwrap().manifests.is_empty());
        assert!(layout.root().join("blobs/sha256").is_dir());
        // Opening again keeps what is there.
        layout.write_blob("r", "blob", None, b"x").unwrap();
        let again = Layout::open(layout.root()).unwrap();
        assert!(again.has_blob(&Digest::of_bytes(b"x")));
    }

    #[test]
    fn write_verifies_against_the_expected_digest() {
        let (_dir, layout) = layout();
        let good = Digest::of_bytes(b"hello");
        assert_eq!(
            layout
                .write_blob("reg/x:1", "layer", Some(&good), b"hello")
                .unwrap(),
            good
        );
        let err = layout
            .write_blob("reg/x:1", "layer", Some(&good), b"tampered")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("reg/x:1"), "{text}");
        assert!(text.contains(good.as_str()), "{text}");
        assert!(
            text.contains(Digest::of_bytes(b"tampered").as_str()),
            "{text}"
        );
    }

    #[test]
    fn read_detects_a_corrupted_blob() {
        let (_dir, layout) = layout();
        let digest = layout.write_blob("r", "layer", None, b"module").unwrap();
        assert_eq!(layout.read_blob("r", "layer", &digest).unwrap(), b"module");
        fs::write(layout.blob_path(&digest), b"evil").unwrap();
        for err in [
            layout.read_blob("reg/x:1", "layer", &digest).unwrap_err(),
            layout.verify_blob("reg/x:1", "layer", &digest).unwrap_err(),
        ] {
            assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains("reg/x:1") && text.contains(digest.as_str()),
                "{text}"
            );
            assert!(text.contains(Digest::of_bytes(b"evil").as_str()), "{text}");
        }
    }

    #[test]
    fn commit_temp_rejects_wrong_content() {
        let (_dir, layout) = layout();
        let mut temp = layout.temp_file().unwrap();
        temp.write_all(b"abc").unwrap();
        let wrong = Digest::of_bytes(b"abd");
        assert!(matches!(
            layout.commit_temp("r", "layer", temp, &wrong),
            Err(ImageError::DigestMismatch { .. })
        ));
        assert!(!layout.has_blob(&wrong));
        let mut temp = layout.temp_file().unwrap();
        temp.write_all(b"abc").unwrap();
        let right = Digest::of_bytes(b"abc");
        let path = layout.commit_temp("r", "layer", temp, &right).unwrap();
        assert_eq!(fs::read(path).unwrap(), b"abc");
    }

    fn put_manifest(layout: &Layout, name: &str, layer: &[u8]) -> Descriptor {
        let config = layout.write_blob(name, "config", None, b"{}").unwrap();
        let layer = layout.write_blob(name, "layer", None, layer).unwrap();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": oci::OCI_MANIFEST,
            "config": {"mediaType": oci::WASM_CONFIG_V0, "digest": config, "size": 2},
            "layers": [{"mediaType": oci::WASM_LAYER, "digest": layer, "size": 1}],
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let digest = layout.write_blob(name, "manifest", None, &bytes).unwrap();
        let descriptor = Descriptor {
            media_type: oci::OCI_MANIFEST.into(),
            digest,
            size: bytes.len() as u64,
            platform: None,
            annotations: Default::default(),
        };
        layout.tag(name, descriptor.clone()).unwrap();
        descriptor
    }

    #[test]
    fn tag_lookup_untag_and_gc() {
        let (_dir, layout) = layout();
        let a = put_manifest(&layout, "reg/a:1", b"module-a");
        let b = put_manifest(&layout, "reg/b:1", b"module-b");
        put_manifest(&layout, "reg/a:1", b"module-a"); // re-tag replaces, no duplicate
        assert_eq!(layout.index().unwrap().manifests.len(), 2);
        assert_eq!(layout.lookup("reg/a:1").unwrap().unwrap().digest, a.digest);
        let stray = layout
            .write_blob("x", "blob", None, b"unreferenced")
            .unwrap();

        let report = layout.gc().unwrap();
        assert_eq!(report.removed, vec![stray.to_string()]);

        let removed = layout.untag(|d| ref_name(d) == Some("reg/b:1")).unwrap();
        assert_eq!(removed.len(), 1);
        let report = layout.gc().unwrap();
        // b's manifest and layer go; the shared `{}` config stays (a still uses it).
        assert_eq!(report.removed.len(), 2, "{report:?}");
        assert!(!layout.has_blob(&b.digest));
        assert!(layout.has_blob(&a.digest));
        assert!(layout.has_blob(&Digest::of_bytes(b"module-a")));
        assert!(layout.has_blob(&Digest::of_bytes(b"{}")));
    }
}

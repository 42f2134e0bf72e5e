//! Reading images back out of the store: resolving a stored name, `ls`, `inspect`, `rm`.
//! Every blob read here is verified against its digest.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::digest::Digest;
use super::error::{ImageError, Stage};
use super::kind::{ImageKind, Plan, classify};
use super::oci::{self, ANNOTATION_MODULE, Descriptor, Index, Manifest, Sniff};
use super::reference::{ImageRef, RegistryRef};
use super::store::{GcReport, Layout, ref_name};
use super::unpack;
use super::{ImageStore, ResolvedImage};

/// One line of `berth image ls`.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    /// The stored name.
    pub reference: String,
    /// The manifest (or index) digest.
    pub digest: String,
    /// `wasi`, `container`, or `broken` when the stored content does not verify.
    pub kind: String,
    /// `os/architecture`, empty when the config has none.
    pub platform: String,
    /// Manifest, config and layers, in bytes (as declared).
    pub size: u64,
    /// Why the image is broken, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What `berth image inspect` shows.
#[derive(Debug, Clone, Serialize)]
pub struct ImageDetails {
    /// The reference.
    pub reference: String,
    /// The manifest (or index) digest; the module digest for a local file.
    pub digest: String,
    /// The manifest's media type.
    pub media_type: String,
    /// The OCI 1.1 artifact type, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// How it runs.
    pub kind: ImageKind,
    /// `os/architecture`, empty when unknown.
    pub platform: String,
    /// Manifest, config and layers, in bytes (as declared).
    pub size: u64,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The config descriptor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Descriptor>,
    /// The layer descriptors.
    pub layers: Vec<Descriptor>,
}

/// An image read back from the store.
struct Loaded {
    top: Descriptor,
    manifest_bytes_len: u64,
    manifest: Manifest,
    plan: Plan,
    kind: ImageKind,
}

/// Picks the manifest of an index to use: a WASI one if any, else this host's platform, else
/// the first.
pub(super) fn choose_child(index: &Index) -> Option<Descriptor> {
    let host_arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let platform_of = |d: &&Descriptor| d.platform.clone().unwrap_or_default();
    index
        .manifests
        .iter()
        .find(|d| platform_of(d).is_wasi())
        .or_else(|| {
            index.manifests.iter().find(|d| {
                let p = platform_of(d);
                p.os == std::env::consts::OS && p.architecture == host_arch
            })
        })
        .or_else(|| index.manifests.first())
        .cloned()
}

/// The module of a WASI image's layer: the verified layer blob itself when it is a wasm binary,
/// else (for `wasi/wasm` images) the file taken out of the tar layer, stored as its own blob.
pub(super) fn module_of_layer(
    layout: &Layout,
    reference: &str,
    layer: &Descriptor,
    may_be_tar: bool,
    entrypoint: &[String],
    recorded_module: Option<&Digest>,
    limits: &unpack::UnpackLimits,
) -> Result<(PathBuf, Digest), ImageError> {
    let path = layout.verify_blob(reference, "layer", &layer.digest)?;
    let store_err = |e: anyhow::Error| ImageError::store(Stage::Store, reference, e);
    if unpack::is_wasm_file(&path).map_err(store_err)? {
        return Ok((path, layer.digest.clone()));
    }
    if !may_be_tar {
        return Err(ImageError::Unsupported {
            stage: Stage::Classify,
            reference: reference.to_string(),
            reason: format!("layer {} is not a wasm binary", layer.digest),
        });
    }
    if let Some(module) = recorded_module {
        let path = layout.verify_blob(reference, "module", module)?;
        return Ok((path, module.clone()));
    }
    let bytes = unpack::module_from_tar(&path, entrypoint.first().map(String::as_str), limits)
        .map_err(|e| ImageError::Unsupported {
            stage: Stage::Classify,
            reference: reference.to_string(),
            reason: format!("{e:#}"),
        })?;
    let digest = layout.write_blob(reference, "module", None, &bytes)?;
    Ok((layout.blob_path(&digest), digest))
}

/// Reads the image named by `top` back from the store.
fn load(store: &ImageStore, name: &str, top: &Descriptor) -> Result<Loaded, ImageError> {
    let layout = store.layout();
    let top_bytes = layout.read_blob(name, "manifest", &top.digest)?;
    let parse_err = |e: serde_json::Error| {
        ImageError::store(
            Stage::Lookup,
            name,
            anyhow::Error::new(e).context("parse a stored manifest"),
        )
    };
    let sniff: Sniff = serde_json::from_slice(&top_bytes).map_err(parse_err)?;
    let manifest_bytes = if sniff.is_index() {
        let index: Index = serde_json::from_slice(&top_bytes).map_err(parse_err)?;
        let child = choose_child(&index).ok_or_else(|| ImageError::Unsupported {
            stage: Stage::Lookup,
            reference: name.to_string(),
            reason: "the image index lists no manifests".into(),
        })?;
        layout.read_blob(name, "manifest", &child.digest)?
    } else {
        top_bytes
    };
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(parse_err)?;
    let config = layout.read_blob(name, "config", &manifest.config.digest)?;
    let plan = classify(&manifest, &config).map_err(|reason| ImageError::Unsupported {
        stage: Stage::Classify,
        reference: name.to_string(),
        reason,
    })?;
    let kind = match &plan {
        Plan::Wasi {
            layer,
            may_be_tar,
            entrypoint,
            args,
            ..
        } => {
            let recorded = top
                .annotations
                .get(ANNOTATION_MODULE)
                .and_then(|d| d.parse::<Digest>().ok());
            let (module_path, module_digest) = module_of_layer(
                layout,
                name,
                layer,
                *may_be_tar,
                entrypoint,
                recorded.as_ref(),
                &unpack::UnpackLimits::default(),
            )?;
            ImageKind::Wasi {
                module_path,
                module_digest: module_digest.to_string(),
                entrypoint: entrypoint.clone(),
                args: args.clone(),
            }
        }
        Plan::Container { .. } => ImageKind::Container {
            reference: match ImageRef::parse(name) {
                Ok(ImageRef::Registry(r)) => r.pinned(&top.digest),
                _ => name.to_string(),
            },
        },
    };
    Ok(Loaded {
        top: top.clone(),
        manifest_bytes_len: manifest_bytes.len() as u64,
        manifest,
        plan,
        kind,
    })
}

/// The index entry for `image`: its own name, else (for a digest reference) any entry with that
/// digest, else the bare manifest blob.
pub(super) fn find_entry(
    store: &ImageStore,
    image: &RegistryRef,
) -> Result<Option<Descriptor>, ImageError> {
    let name = image.to_string();
    let layout = store.layout();
    let index = layout
        .index()
        .map_err(|e| ImageError::store(Stage::Lookup, &name, e))?;
    if let Some(entry) = index
        .manifests
        .iter()
        .find(|d| ref_name(d) == Some(name.as_str()))
    {
        return Ok(Some(entry.clone()));
    }
    let Some(digest) = image.digest() else {
        return Ok(None);
    };
    if let Some(entry) = index.manifests.iter().find(|d| d.digest == digest) {
        return Ok(Some(entry.clone()));
    }
    if !layout.has_blob(&digest) {
        return Ok(None);
    }
    let bytes = layout.read_blob(&name, "manifest", &digest)?;
    let sniff: Sniff = serde_json::from_slice(&bytes).map_err(|e| {
        ImageError::store(Stage::Lookup, &name, anyhow::Error::new(e).context("parse"))
    })?;
    let is_index = sniff.is_index();
    let media_type = match (sniff.media_type, is_index) {
        (Some(t), _) => t,
        (None, true) => oci::OCI_INDEX.into(),
        (None, false) => oci::OCI_MANIFEST.into(),
    };
    Ok(Some(Descriptor {
        media_type,
        digest,
        size: bytes.len() as u64,
        platform: None,
        annotations: Default::default(),
    }))
}

pub(super) fn resolve_stored(
    store: &ImageStore,
    image: &RegistryRef,
) -> Result<Option<ResolvedImage>, ImageError> {
    let Some(entry) = find_entry(store, image)? else {
        return Ok(None);
    };
    if !store.layout().has_blob(&entry.digest) {
        return Ok(None);
    }
    let name = image.to_string();
    let loaded = load(store, &name, &entry)?;
    Ok(Some(ResolvedImage {
        reference: name,
        digest: loaded.top.digest.to_string(),
        kind: loaded.kind,
    }))
}

fn size_of(loaded: &Loaded) -> u64 {
    let top = if loaded.top.size != loaded.manifest_bytes_len {
        loaded.top.size
    } else {
        0
    };
    top + loaded.manifest_bytes_len
        + loaded.manifest.config.size
        + loaded.manifest.layers.iter().map(|l| l.size).sum::<u64>()
}

pub(super) fn list(store: &ImageStore) -> Result<Vec<ImageSummary>, ImageError> {
    let layout = store.layout();
    let index = layout
        .index()
        .map_err(|e| ImageError::store(Stage::Lookup, layout.root().display().to_string(), e))?;
    Ok(index
        .manifests
        .iter()
        .map(|entry| {
            let name = ref_name(entry).unwrap_or("").to_string();
            match load(store, &name, entry) {
                Ok(loaded) => ImageSummary {
                    reference: name,
                    digest: entry.digest.to_string(),
                    kind: loaded.kind.name().to_string(),
                    platform: platform_text(&loaded.plan),
                    size: size_of(&loaded),
                    error: None,
                },
                Err(e) => ImageSummary {
                    reference: name,
                    digest: entry.digest.to_string(),
                    kind: "broken".into(),
                    platform: String::new(),
                    size: 0,
                    error: Some(e.to_string()),
                },
            }
        })
        .collect())
}

fn platform_text(plan: &Plan) -> String {
    let platform = plan.platform();
    if platform.os.is_empty() && platform.architecture.is_empty() {
        String::new()
    } else {
        platform.display()
    }
}

pub(super) fn inspect(store: &ImageStore, image: &ImageRef) -> Result<ImageDetails, ImageError> {
    let registry = match image {
        ImageRef::Registry(r) => r,
        ImageRef::LocalWasm(path) => {
            let resolved = super::resolve_local_wasm(path)?;
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            return Ok(ImageDetails {
                reference: resolved.reference,
                digest: resolved.digest,
                media_type: oci::WASM_LAYER.into(),
                artifact_type: None,
                kind: resolved.kind,
                platform: String::new(),
                size,
                annotations: BTreeMap::new(),
                config: None,
                layers: Vec::new(),
            });
        }
        ImageRef::Docker(_) => {
            return Err(ImageError::Unsupported {
                stage: Stage::Lookup,
                reference: image.to_string(),
                reason: "docker:// images live in Docker; use `docker image inspect`".into(),
            });
        }
    };
    let name = registry.to_string();
    let not_in_store = || ImageError::NotInStore {
        stage: Stage::Lookup,
        reference: name.clone(),
    };
    let entry = find_entry(store, registry)?.ok_or_else(not_in_store)?;
    if !store.layout().has_blob(&entry.digest) {
        return Err(not_in_store());
    }
    let loaded = load(store, &name, &entry)?;
    Ok(ImageDetails {
        reference: name,
        digest: loaded.top.digest.to_string(),
        media_type: loaded.top.media_type.clone(),
        artifact_type: loaded.manifest.artifact_type.clone(),
        platform: platform_text(&loaded.plan),
        size: size_of(&loaded),
        annotations: loaded.manifest.annotations.clone(),
        config: Some(loaded.manifest.config.clone()),
        layers: loaded.manifest.layers.clone(),
        kind: loaded.kind,
    })
}

pub(super) fn remove(
    store: &ImageStore,
    image: &RegistryRef,
) -> Result<(Vec<String>, GcReport), ImageError> {
    let name = image.to_string();
    let digest = image.digest();
    let repo_prefix = image.name();
    let removed = store
        .layout()
        .untag(|entry| {
            let entry_name = ref_name(entry).unwrap_or("");
            entry_name == name
                || digest.as_ref().is_some_and(|d| {
                    entry.digest == *d
                        && entry_name
                            .strip_prefix(&repo_prefix)
                            .is_some_and(|rest| rest.starts_with([':', '@']))
                })
        })
        .map_err(|e| ImageError::store(Stage::Remove, &name, e))?;
    if removed.is_empty() {
        return Err(ImageError::NotInStore {
            stage: Stage::Remove,
            reference: name,
        });
    }
    let report = store.gc()?;
    let names = removed
        .iter()
        .map(|d| ref_name(d).unwrap_or("").to_string())
        .collect();
    Ok((names, report))
}

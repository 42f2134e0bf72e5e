//! `berth image push FILE.wasm REF`: wrap a module as a CNCF wasm artifact (config
//! `application/vnd.wasm.config.v0+json` with `architecture`, `os`, `layerDigests`; one
//! `application/wasm` layer; `created` and `title` annotations), store it locally and upload it.
//!
//! `created` is the current time, or `SOURCE_DATE_EPOCH` when set, for reproducible digests.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use super::digest::Digest;
use super::error::{ImageError, Stage};
use super::oci::{self, Descriptor, Manifest};
use super::reference::RegistryRef;
use super::registry::Session;
use super::unpack::WASM_MAGIC;
use super::{ImageStore, PullOptions};

/// What a push produced.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    /// Where it went.
    pub reference: String,
    /// The manifest digest.
    pub digest: String,
    /// The `REGISTRY/REPO@sha256:…` form.
    pub pinned: String,
    /// The module (layer) digest.
    pub layer_digest: String,
    /// The module size in bytes.
    pub size: u64,
}

/// The CNCF wasm config berth writes (field order is part of the digest).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig<'a> {
    created: &'a str,
    architecture: &'a str,
    os: &'a str,
    layer_digests: Vec<String>,
}

/// The artifact's documents, serialised.
pub(super) struct Artifact {
    pub(super) config: Vec<u8>,
    pub(super) manifest: Vec<u8>,
    pub(super) manifest_parsed: Manifest,
}

/// Builds the CNCF artifact for `module` (bytes) titled `title`.
pub(super) fn build_artifact(
    module: &[u8],
    title: &str,
    created: &str,
) -> anyhow::Result<Artifact> {
    anyhow::ensure!(
        module.starts_with(WASM_MAGIC),
        "not a wasm binary (no \\0asm header)"
    );
    // Bytes 4..8: 1 for a core module (preview 1), 0x0001000d for a component (preview 2).
    let os = if module.get(4..8) == Some(&[1, 0, 0, 0]) {
        "wasip1"
    } else {
        "wasip2"
    };
    let layer_digest = Digest::of_bytes(module);
    let config = serde_json::to_vec(&WasmConfig {
        created,
        architecture: "wasm",
        os,
        layer_digests: vec![layer_digest.to_string()],
    })?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(oci::OCI_MANIFEST.into()),
        artifact_type: Some(oci::WASM_CONFIG_V0.into()),
        config: Descriptor {
            media_type: oci::WASM_CONFIG_V0.into(),
            digest: Digest::of_bytes(&config),
            size: config.len() as u64,
            platform: None,
            annotations: BTreeMap::new(),
        },
        layers: vec![Descriptor {
            media_type: oci::WASM_LAYER.into(),
            digest: layer_digest,
            size: module.len() as u64,
            platform: None,
            annotations: BTreeMap::from([(oci::ANNOTATION_TITLE.into(), title.into())]),
        }],
        annotations: BTreeMap::from([
            (oci::ANNOTATION_CREATED.into(), created.into()),
            (oci::ANNOTATION_TITLE.into(), title.into()),
        ]),
    };
    Ok(Artifact {
        config,
        manifest: serde_json::to_vec(&manifest)?,
        manifest_parsed: manifest,
    })
}

/// The creation time: `SOURCE_DATE_EPOCH` if set, else now, as RFC 3339 UTC.
fn created_now() -> anyhow::Result<String> {
    let when = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(secs) => time::OffsetDateTime::from_unix_timestamp(
            secs.trim()
                .parse()
                .context("SOURCE_DATE_EPOCH is not a number")?,
        )?,
        Err(_) => time::OffsetDateTime::now_utc(),
    };
    let when = when.replace_nanosecond(0)?;
    Ok(when.format(&time::format_description::well_known::Rfc3339)?)
}

/// A wasm artifact written into the local store and tagged.
pub(super) struct StoredWasm {
    pub(super) manifest_digest: Digest,
    pub(super) layer_digest: Digest,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    config: Vec<u8>,
}

/// Writes `module` as a CNCF wasm artifact titled `title` into the local store and tags it
/// `target` (resolvable and listed at once, pushable later).
pub(super) fn store_wasm(
    store: &ImageStore,
    module: &[u8],
    title: &str,
    target: &RegistryRef,
) -> Result<StoredWasm, ImageError> {
    let reference = target.to_string();
    if target.digest().is_some() {
        return Err(ImageError::InvalidReference {
            stage: Stage::Store,
            reference,
            reason: "tag the image (REGISTRY/REPO:TAG), not a digest".into(),
        });
    }
    let store_err = |e: anyhow::Error| ImageError::store(Stage::Store, &reference, e);
    let created = created_now().map_err(store_err)?;
    let artifact =
        build_artifact(module, title, &created).map_err(|e| ImageError::Unsupported {
            stage: Stage::Store,
            reference: format!("{title} -> {reference}"),
            reason: format!("{e:#}"),
        })?;
    let manifest = artifact.manifest_parsed;
    let layer_digest = manifest.layers[0].digest.clone();
    let layout = store.layout();
    let _content = layout.content_lock(false).map_err(store_err)?;
    layout.write_blob(&reference, "layer", Some(&layer_digest), module)?;
    layout.write_blob(
        &reference,
        "config",
        Some(&manifest.config.digest),
        &artifact.config,
    )?;
    let manifest_digest = layout.write_blob(&reference, "manifest", None, &artifact.manifest)?;
    layout
        .tag(
            &reference,
            manifest_descriptor(&manifest_digest, artifact.manifest.len()),
        )
        .map_err(store_err)?;
    Ok(StoredWasm {
        manifest_digest,
        layer_digest,
        manifest,
        manifest_bytes: artifact.manifest,
        config: artifact.config,
    })
}

fn manifest_descriptor(digest: &Digest, size: usize) -> Descriptor {
    Descriptor {
        media_type: oci::OCI_MANIFEST.into(),
        digest: digest.clone(),
        size: size as u64,
        platform: None,
        annotations: BTreeMap::new(),
    }
}

pub(super) async fn push_wasm(
    store: &ImageStore,
    module_path: &Path,
    target: &RegistryRef,
    options: &PullOptions,
) -> Result<PushReport, ImageError> {
    let reference = target.to_string();
    if target.digest().is_some() {
        return Err(ImageError::InvalidReference {
            stage: Stage::Push,
            reference,
            reason: "push to a tag (REGISTRY/REPO:TAG), not a digest".into(),
        });
    }
    let store_err = |e: anyhow::Error| ImageError::store(Stage::Push, &reference, e);
    let module = std::fs::read(module_path)
        .with_context(|| format!("read {}", module_path.display()))
        .map_err(store_err)?;
    let title = module_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "module.wasm".into());
    let stored = store_wasm(store, &module, &title, target).map_err(|e| match e {
        ImageError::Unsupported { reason, .. } => ImageError::Unsupported {
            stage: Stage::Push,
            reference: format!("{} -> {reference}", module_path.display()),
            reason,
        },
        other => other,
    })?;
    upload(
        target,
        options,
        &stored.manifest,
        &stored.manifest_bytes,
        &[&stored.config, &module],
    )
    .await?;
    Ok(PushReport {
        pinned: target.pinned(&stored.manifest_digest),
        reference,
        digest: stored.manifest_digest.to_string(),
        layer_digest: stored.layer_digest.to_string(),
        size: module.len() as u64,
    })
}

/// Pushes the single-manifest image stored as `source` (a wasm artifact built or pulled before)
/// to `target`, byte for byte, and tags it `target` locally too.
pub(super) async fn push_stored(
    store: &ImageStore,
    source: &RegistryRef,
    target: &RegistryRef,
    options: &PullOptions,
) -> Result<PushReport, ImageError> {
    let reference = target.to_string();
    let name = source.to_string();
    let layout = store.layout();
    let store_err = |e: anyhow::Error| ImageError::store(Stage::Push, &name, e);
    let entry =
        super::inspect::find_entry(store, source)?.ok_or_else(|| ImageError::NotInStore {
            stage: Stage::Push,
            reference: name.clone(),
        })?;
    let manifest_bytes = layout.read_blob(&name, "manifest", &entry.digest)?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .context("parse the manifest (only single-manifest images are pushed from the store)")
        .map_err(store_err)?;
    let config = layout.read_blob(&name, "config", &manifest.config.digest)?;
    let mut blobs = vec![config];
    for layer in &manifest.layers {
        blobs.push(layout.read_blob(&name, "layer", &layer.digest)?);
    }
    let blob_refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    upload(target, options, &manifest, &manifest_bytes, &blob_refs).await?;
    layout
        .tag(
            &reference,
            manifest_descriptor(&entry.digest, manifest_bytes.len()),
        )
        .map_err(store_err)?;
    Ok(PushReport {
        pinned: target.pinned(&entry.digest),
        reference,
        digest: entry.digest.to_string(),
        layer_digest: manifest
            .layers
            .first()
            .map(|l| l.digest.to_string())
            .unwrap_or_default(),
        size: manifest.layers.iter().map(|l| l.size).sum(),
    })
}

/// Uploads the config and layers (`blobs`, in that order) the registry lacks, then the manifest.
async fn upload(
    target: &RegistryRef,
    options: &PullOptions,
    manifest: &Manifest,
    manifest_bytes: &[u8],
    blobs: &[&[u8]],
) -> Result<(), ImageError> {
    let session = &Session::new(&options.settings, target)?;
    let descriptors = std::iter::once(("config", &manifest.config))
        .chain(manifest.layers.iter().map(|l| ("layer", l)));
    for ((what, descriptor), bytes) in descriptors.zip(blobs) {
        let bar = session.bar(what, descriptor.size);
        let exists = session
            .retry(Stage::Push, || async move {
                session
                    .client
                    .store_auth_if_needed(target.oci().resolve_registry(), &session.auth)
                    .await;
                session
                    .client
                    .blob_exists(&target.oci(), descriptor.digest.as_str())
                    .await
            })
            .await?;
        if !exists {
            let data = &bytes::Bytes::copy_from_slice(bytes);
            session
                .retry(Stage::Push, || async move {
                    session
                        .client
                        .push_blob(&target.oci(), data.clone(), descriptor.digest.as_str())
                        .await
                })
                .await?;
        }
        bar.inc(descriptor.size);
        bar.finish();
    }
    let content_type = &reqwest_header(oci::OCI_MANIFEST);
    let body = &bytes::Bytes::copy_from_slice(manifest_bytes);
    session
        .retry(Stage::Push, || async move {
            session
                .client
                .push_manifest_raw(&target.oci(), body.clone(), content_type.clone())
                .await
        })
        .await?;
    Ok(())
}

fn reqwest_header(value: &'static str) -> http::HeaderValue {
    http::HeaderValue::from_static(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_matches_the_cncf_shape() {
        let module = b"\0asm\x01\0\0\0";
        let a = build_artifact(module, "guest.wasm", "2026-01-01T00:00:00Z").unwrap();
        let config: serde_json::Value = serde_json::from_slice(&a.config).unwrap();
        assert_eq!(config["architecture"], "wasm");
        assert_eq!(config["os"], "wasip1");
        assert_eq!(
            config["layerDigests"][0],
            Digest::of_bytes(module).to_string()
        );
        let m: serde_json::Value = serde_json::from_slice(&a.manifest).unwrap();
        assert_eq!(m["artifactType"], oci::WASM_CONFIG_V0);
        assert_eq!(m["config"]["mediaType"], oci::WASM_CONFIG_V0);
        assert_eq!(m["layers"][0]["mediaType"], oci::WASM_LAYER);
        assert_eq!(
            m["layers"][0]["annotations"][oci::ANNOTATION_TITLE],
            "guest.wasm"
        );
        assert_eq!(
            m["annotations"][oci::ANNOTATION_CREATED],
            "2026-01-01T00:00:00Z"
        );
        let component = b"\0asm\x0d\0\x01\0";
        let a = build_artifact(component, "c.wasm", "2026-01-01T00:00:00Z").unwrap();
        let config: serde_json::Value = serde_json::from_slice(&a.config).unwrap();
        assert_eq!(config["os"], "wasip2");
        assert!(build_artifact(b"text", "t", "x").is_err());
    }
}

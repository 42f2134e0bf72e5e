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
    let created = created_now().map_err(store_err)?;
    let artifact =
        build_artifact(&module, &title, &created).map_err(|e| ImageError::Unsupported {
            stage: Stage::Push,
            reference: format!("{} -> {reference}", module_path.display()),
            reason: format!("{e:#}"),
        })?;
    let manifest = &artifact.manifest_parsed;
    let layer = &manifest.layers[0];

    // Locally first: the pushed image is immediately resolvable and listed.
    let layout = store.layout();
    let _content = layout.content_lock(false).map_err(store_err)?;
    layout.write_blob(&reference, "layer", Some(&layer.digest), &module)?;
    layout.write_blob(
        &reference,
        "config",
        Some(&manifest.config.digest),
        &artifact.config,
    )?;
    let manifest_digest = layout.write_blob(&reference, "manifest", None, &artifact.manifest)?;

    let session = &Session::new(&options.settings, target)?;
    for (what, descriptor, bytes) in [
        ("config", &manifest.config, artifact.config.as_slice()),
        ("layer", layer, module.as_slice()),
    ] {
        let bar = session.bar(what, descriptor.size);
        let exists = session
            .retry(Stage::Push, || async move {
                session
                    .client
                    .store_auth_if_needed(target.oci().resolve_registry(), &session.auth)
                    .await;
                session
                    .client
                    .blob_exists(target.oci(), descriptor.digest.as_str())
                    .await
            })
            .await?;
        if !exists {
            let data = &bytes::Bytes::copy_from_slice(bytes);
            session
                .retry(Stage::Push, || async move {
                    session
                        .client
                        .push_blob(target.oci(), data.clone(), descriptor.digest.as_str())
                        .await
                })
                .await?;
        }
        bar.inc(descriptor.size);
        bar.finish();
    }
    let content_type = &reqwest_header(oci::OCI_MANIFEST);
    let body = &bytes::Bytes::from(artifact.manifest.clone());
    session
        .retry(Stage::Push, || async move {
            session
                .client
                .push_manifest_raw(target.oci(), body.clone(), content_type.clone())
                .await
        })
        .await?;

    layout
        .tag(
            &reference,
            Descriptor {
                media_type: oci::OCI_MANIFEST.into(),
                digest: manifest_digest.clone(),
                size: artifact.manifest.len() as u64,
                platform: None,
                annotations: BTreeMap::new(),
            },
        )
        .map_err(store_err)?;
    Ok(PushReport {
        pinned: target.pinned(&manifest_digest),
        reference,
        digest: manifest_digest.to_string(),
        layer_digest: layer.digest.to_string(),
        size: module.len() as u64,
    })
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

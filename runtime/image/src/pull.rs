//! Pulling an image into the store: manifest (through an index if need be), config, and for
//! WASI images the module layer, each verified and written atomically; then the name is
//! recorded in `index.json`. Container images keep only their manifest and config: their layers
//! are Docker's business.

use oci_client::Reference;

use super::digest::Digest;
use super::error::{ImageError, Stage};
use super::inspect::{choose_child, module_of_layer};
use super::kind::{ImageKind, Plan, classify};
use super::oci::{self, ANNOTATION_MODULE, Descriptor, Index, Manifest, Sniff};
use super::reference::RegistryRef;
use super::registry::{Bounded, Session};
use super::{ImageStore, PullOptions, ResolvedImage};

pub(super) async fn pull(
    store: &ImageStore,
    image: &RegistryRef,
    options: &PullOptions,
) -> Result<ResolvedImage, ImageError> {
    let reference = image.to_string();
    let layout = store.layout();
    let _content = layout
        .content_lock(false)
        .map_err(|e| ImageError::store(Stage::Store, &reference, e))?;
    let session = Session::new(&options.settings, image)?;

    // 1. The manifest the reference names; verified against a pinned digest.
    let (top_bytes, top_digest) = match fetch_manifest(&session, &image.oci(), image.digest()).await
    {
        Err(ImageError::ManifestNotFound {
            stage,
            reference,
            repository,
            what,
            detail,
        }) => {
            return Err(
                explain_missing(&session, stage, reference, repository, what, detail).await,
            );
        }
        other => other?,
    };
    let sniff: Sniff = serde_json::from_slice(&top_bytes).map_err(|e| bad(&reference, e))?;
    let mut top = Descriptor {
        media_type: sniff.media_type.clone().unwrap_or_else(|| {
            if sniff.is_index() {
                oci::OCI_INDEX
            } else {
                oci::OCI_MANIFEST
            }
            .into()
        }),
        digest: top_digest.clone(),
        size: top_bytes.len() as u64,
        platform: None,
        annotations: Default::default(),
    };

    // 2. Through an index to one platform's manifest.
    let (manifest_bytes, manifest_digest) = if sniff.is_index() {
        let index: Index = serde_json::from_slice(&top_bytes).map_err(|e| bad(&reference, e))?;
        let child = choose_child(&index).ok_or_else(|| ImageError::Unsupported {
            stage: Stage::PullManifest,
            reference: reference.clone(),
            reason: "the image index lists no manifests".into(),
        })?;
        let pinned = image.oci_with_digest(&child.digest);
        fetch_manifest(&session, &pinned, Some(child.digest.clone())).await?
    } else {
        (top_bytes.clone(), top_digest.clone())
    };
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| bad(&reference, e))?;

    // 3. The config, then the plan.
    let config_bytes = fetch_config(&session, store, &manifest.config).await?;
    let plan = classify(&manifest, &config_bytes).map_err(|reason| ImageError::Unsupported {
        stage: Stage::Classify,
        reference: reference.clone(),
        reason,
    })?;

    // 4. The module layer of a WASI image.
    let kind = match &plan {
        Plan::Wasi {
            layer,
            may_be_tar,
            entrypoint,
            args,
            ..
        } => {
            fetch_layer(&session, store, layer).await?;
            let (module_path, module_digest) = module_of_layer(
                layout,
                &reference,
                layer,
                *may_be_tar,
                entrypoint,
                None,
                &session.limits().unpack(),
            )?;
            if module_digest != layer.digest {
                top.annotations
                    .insert(ANNOTATION_MODULE.to_string(), module_digest.to_string());
            }
            ImageKind::Wasi {
                module_path,
                module_digest: module_digest.to_string(),
                entrypoint: entrypoint.clone(),
                args: args.clone(),
            }
        }
        Plan::Container { .. } => ImageKind::Container {
            reference: image.pinned(&top_digest),
        },
    };

    // 5. Manifests last, so a name never points at missing content.
    layout.write_blob(
        &reference,
        "manifest",
        Some(&manifest_digest),
        &manifest_bytes,
    )?;
    if top_digest != manifest_digest {
        layout.write_blob(&reference, "index", Some(&top_digest), &top_bytes)?;
    }
    layout
        .tag(&reference, top)
        .map_err(|e| ImageError::store(Stage::Store, &reference, e))?;
    Ok(ResolvedImage {
        reference,
        digest: top_digest.to_string(),
        kind,
    })
}

/// Registries answer MANIFEST_UNKNOWN for a missing repository as well as for a missing tag;
/// the tag list tells them apart (NAME_UNKNOWN) and names the tags that do exist.
async fn explain_missing(
    session: &Session,
    stage: Stage,
    reference: String,
    repository: String,
    what: String,
    detail: String,
) -> ImageError {
    match session
        .client
        .list_tags(&session.image.oci(), &session.auth, Some(20), None)
        .await
    {
        Ok(tags) => ImageError::ManifestNotFound {
            stage,
            reference,
            repository,
            what,
            detail: if tags.tags.is_empty() {
                detail
            } else {
                format!("{detail}; tags: {}", tags.tags.join(", "))
            },
        },
        Err(e) => match session.map_error(stage, e) {
            not_found @ ImageError::RepositoryNotFound { .. } => not_found,
            _ => ImageError::ManifestNotFound {
                stage,
                reference,
                repository,
                what,
                detail,
            },
        },
    }
}

/// Fetches a manifest or index; its digest is computed from the bytes (never taken from a
/// header) and must equal `expected` when the reference pins one.
async fn fetch_manifest(
    session: &Session,
    reference: &Reference,
    expected: Option<Digest>,
) -> Result<(Vec<u8>, Digest), ImageError> {
    let bytes = session
        .retry(Stage::PullManifest, || async move {
            session
                .get_manifest_bounded(reference, &oci::MANIFEST_MEDIA_TYPES)
                .await
        })
        .await?
        .map_err(|reason| ImageError::Registry {
            stage: Stage::PullManifest,
            reference: session.image.to_string(),
            cause: anyhow::anyhow!(reason),
        })?;
    let actual = Digest::of_bytes(&bytes);
    if let Some(expected) = expected
        && expected != actual
    {
        return Err(ImageError::DigestMismatch {
            stage: Stage::PullManifest,
            reference: session.image.to_string(),
            what: "manifest".into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok((bytes.to_vec(), actual))
}

/// The config blob: from the store when present and intact, else from the registry.
async fn fetch_config(
    session: &Session,
    store: &ImageStore,
    config: &Descriptor,
) -> Result<Vec<u8>, ImageError> {
    let reference = session.image.to_string();
    let layout = store.layout();
    if layout.has_blob(&config.digest)
        && let Ok(bytes) = layout.read_blob(&reference, "config", &config.digest)
    {
        return Ok(bytes);
    }
    let limit = session.limits().config_bytes;
    if config.size > limit {
        return Err(ImageError::Unsupported {
            stage: Stage::PullConfig,
            reference,
            reason: format!(
                "the config blob declares {} bytes, more than the limit of {limit} bytes (registry.config_bytes)",
                config.size
            ),
        });
    }
    let bytes = session
        .retry(Stage::PullConfig, || async move {
            let mut sink = Bounded::new(Vec::new(), config.size, indicatif::ProgressBar::hidden());
            session
                .client
                .pull_blob(&session.image.oci(), config.digest.as_str(), &mut sink)
                .await?;
            Ok(sink.into_inner())
        })
        .await?;
    layout.write_blob(&reference, "config", Some(&config.digest), &bytes)?;
    Ok(bytes)
}

/// Downloads a layer into the store (skipped when an intact copy is there), with a progress
/// bar; the digest is checked by the client while streaming and again before the rename.
async fn fetch_layer(
    session: &Session,
    store: &ImageStore,
    layer: &Descriptor,
) -> Result<(), ImageError> {
    let reference = session.image.to_string();
    let layout = store.layout();
    if layout.has_blob(&layer.digest)
        && layout
            .verify_blob(&reference, "layer", &layer.digest)
            .is_ok()
    {
        return Ok(());
    }
    let limit = session.limits().layer_bytes;
    if layer.size > limit {
        return Err(ImageError::Unsupported {
            stage: Stage::PullLayer,
            reference,
            reason: format!(
                "layer {} declares {} bytes, more than the limit of {limit} bytes (registry.layer_bytes)",
                layer.digest, layer.size
            ),
        });
    }
    let label = layer
        .annotations
        .get(oci::ANNOTATION_TITLE)
        .cloned()
        .unwrap_or_else(|| layer.digest.hex()[..12].to_string());
    let bar = &session.bar(&label, layer.size);
    let temp = session
        .retry(Stage::PullLayer, || async move {
            bar.reset();
            let temp = layout.temp_file().map_err(std::io::Error::other)?;
            let file = tokio::fs::File::from_std(temp.reopen()?);
            let mut sink = Bounded::new(file, layer.size, bar.clone());
            session
                .client
                .pull_blob(&session.image.oci(), layer.digest.as_str(), &mut sink)
                .await?;
            Ok(temp)
        })
        .await?;
    bar.finish();
    layout.commit_temp(&reference, "layer", temp, &layer.digest)?;
    Ok(())
}

fn bad(reference: &str, error: serde_json::Error) -> ImageError {
    ImageError::Registry {
        stage: Stage::PullManifest,
        reference: reference.to_string(),
        cause: anyhow::Error::new(error).context("the registry sent an unreadable manifest"),
    }
}

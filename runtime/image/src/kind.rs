//! [`ImageKind`]: which executor runs an image, decided from its manifest and config alone.
//!
//! - The CNCF wasm artifact (config `application/vnd.wasm.config.v0+json`, exactly one
//!   `application/wasm` layer) → WASI.
//! - Legacy wasm artifacts (wasm-to-oci / Spin configs, or any manifest whose layers include one
//!   wasm-typed layer such as runwasi's component layer) → WASI; more than one wasm layer is
//!   refused, since a berth component is one module.
//! - An OCI or Docker image whose config says platform `wasi/wasm` (also `wasip1`, `wasip2`) with
//!   a single layer → WASI; the layer is the module itself or a tar holding it, and the
//!   entrypoint and arguments come from the image config.
//! - Anything else → a container image for the Docker executor.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::oci::{self, Descriptor, ImageConfig, Manifest, Platform};

/// How a resolved image is run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageKind {
    /// A WASI module run in-process by wasmtime.
    Wasi {
        /// The module on disk: a verified blob of the local store, or the local `.wasm` file.
        module_path: PathBuf,
        /// `sha256:…` of the module bytes (the compiled-cache key).
        module_digest: String,
        /// The image config's `Entrypoint` (empty for wasm artifacts and local files). Its first
        /// element, when present, is the module's path inside the image, i.e. the guest's argv[0].
        entrypoint: Vec<String>,
        /// The image config's `Cmd`: default arguments after the entrypoint.
        args: Vec<String>,
    },
    /// A container image run by Docker.
    Container {
        /// What to hand to Docker: `REGISTRY/REPO@sha256:…` for registry images, or the
        /// `docker://` reference as written.
        reference: String,
    },
}

impl ImageKind {
    /// `wasi` or `container`.
    pub fn name(&self) -> &'static str {
        match self {
            ImageKind::Wasi { .. } => "wasi",
            ImageKind::Container { .. } => "container",
        }
    }
}

/// What a manifest says about how to run the image (before any layer is fetched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Fetch `layer` and run the module in it.
    Wasi {
        /// The layer holding the module.
        layer: Descriptor,
        /// Whether the layer may be a tar archive holding the module (a `wasi/wasm` image).
        may_be_tar: bool,
        /// `Entrypoint` from the image config.
        entrypoint: Vec<String>,
        /// `Cmd` from the image config.
        args: Vec<String>,
        /// The platform (`wasip1/wasm`, `wasi/wasm`, or empty for legacy artifacts).
        platform: Platform,
    },
    /// Leave the image to Docker.
    Container {
        /// The platform from the config, when it has one.
        platform: Platform,
    },
}

impl Plan {
    /// `wasi` or `container`.
    #[cfg(test)]
    fn name(&self) -> &'static str {
        match self {
            Plan::Wasi { .. } => "wasi",
            Plan::Container { .. } => "container",
        }
    }

    /// The platform, possibly empty.
    pub(crate) fn platform(&self) -> &Platform {
        match self {
            Plan::Wasi { platform, .. } | Plan::Container { platform } => platform,
        }
    }
}

/// Decides how to run an image from its manifest and its config blob. `Err` explains why a
/// wasm image cannot be run (e.g. two wasm layers).
pub(crate) fn classify(manifest: &Manifest, config_bytes: &[u8]) -> Result<Plan, String> {
    let config: ImageConfig = serde_json::from_slice(config_bytes).unwrap_or_default();
    let config_type = manifest.config.media_type.as_str();
    let artifact_type = manifest.artifact_type.as_deref().unwrap_or("");
    let wasm_layers: Vec<&Descriptor> = manifest
        .layers
        .iter()
        .filter(|l| oci::is_wasm_layer(&l.media_type))
        .collect();
    let layer_types = || {
        manifest
            .layers
            .iter()
            .map(|l| l.media_type.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };

    if config_type == oci::WASM_CONFIG_V0 || artifact_type == oci::WASM_CONFIG_V0 {
        return match manifest.layers.as_slice() {
            [layer] if layer.media_type == oci::WASM_LAYER => Ok(wasi(layer, false, &config)),
            _ => Err(format!(
                "a wasm artifact ({}) must have exactly one {} layer, found [{}]",
                oci::WASM_CONFIG_V0,
                oci::WASM_LAYER,
                layer_types()
            )),
        };
    }
    let legacy_config = oci::LEGACY_WASM_CONFIGS.contains(&config_type)
        || oci::LEGACY_WASM_CONFIGS.contains(&artifact_type);
    if legacy_config || !wasm_layers.is_empty() {
        return match wasm_layers.as_slice() {
            [layer] => Ok(wasi(layer, false, &config)),
            _ => Err(format!(
                "a wasm image must have exactly one wasm layer, found {} in [{}]",
                wasm_layers.len(),
                layer_types()
            )),
        };
    }
    let image_config = config_type == oci::OCI_CONFIG || config_type == oci::DOCKER_CONFIG;
    if image_config && config.platform().is_wasi() {
        return match manifest.layers.as_slice() {
            [layer] => Ok(wasi(layer, true, &config)),
            _ => Err(format!(
                "a {} image must carry its module in a single layer, found {} layers",
                config.platform().display(),
                manifest.layers.len()
            )),
        };
    }
    Ok(Plan::Container {
        platform: config.platform(),
    })
}

fn wasi(layer: &Descriptor, may_be_tar: bool, config: &ImageConfig) -> Plan {
    let run = config.config.clone().unwrap_or_default();
    Plan::Wasi {
        layer: layer.clone(),
        may_be_tar,
        entrypoint: run.entrypoint.unwrap_or_default(),
        args: run.cmd.unwrap_or_default(),
        platform: config.platform(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    fn descriptor(media_type: &str, content: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: Digest::of_bytes(content),
            size: content.len() as u64,
            platform: None,
            annotations: Default::default(),
        }
    }

    fn manifest(config_type: &str, layers: &[&str]) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: Some(oci::OCI_MANIFEST.into()),
            artifact_type: None,
            config: descriptor(config_type, b"{}"),
            layers: layers
                .iter()
                .enumerate()
                .map(|(i, t)| descriptor(t, &[i as u8]))
                .collect(),
            annotations: Default::default(),
        }
    }

    const WASM_CONFIG: &[u8] = br#"{"architecture":"wasm","os":"wasip1"}"#;

    #[test]
    fn cncf_artifact_is_wasi() {
        let plan = classify(
            &manifest(oci::WASM_CONFIG_V0, &[oci::WASM_LAYER]),
            WASM_CONFIG,
        )
        .unwrap();
        assert_eq!(plan.name(), "wasi");
        assert_eq!(plan.platform().display(), "wasip1/wasm");
        let err = classify(
            &manifest(oci::WASM_CONFIG_V0, &[oci::WASM_LAYER, oci::WASM_LAYER]),
            WASM_CONFIG,
        )
        .unwrap_err();
        assert!(err.contains("exactly one application/wasm layer"), "{err}");
    }

    #[test]
    fn legacy_media_types_are_wasi() {
        for (config, layer) in [
            (
                "application/vnd.wasm.config.v1+json",
                "application/vnd.wasm.content.layer.v1+wasm",
            ),
            (
                "application/vnd.fermyon.spin.application.v1+config",
                "application/vnd.wasm.content.layer.v1+wasm",
            ),
            (
                oci::OCI_CONFIG,
                "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
            ),
        ] {
            let plan = classify(&manifest(config, &[layer]), b"{}").unwrap();
            assert!(
                matches!(
                    plan,
                    Plan::Wasi {
                        may_be_tar: false,
                        ..
                    }
                ),
                "{config}"
            );
        }
        let spin_two = manifest(
            "application/vnd.fermyon.spin.application.v1+config",
            &[
                "application/vnd.wasm.content.layer.v1+wasm",
                "application/vnd.wasm.content.layer.v1+wasm",
            ],
        );
        assert!(classify(&spin_two, b"{}").is_err());
    }

    #[test]
    fn wasi_platform_image_takes_entrypoint_from_config() {
        let config = br#"{"architecture":"wasm","os":"wasi",
            "config":{"Entrypoint":["/app.wasm"],"Cmd":["--verbose"]}}"#;
        let plan = classify(
            &manifest(oci::OCI_CONFIG, &["application/vnd.oci.image.layer.v1.tar"]),
            config,
        )
        .unwrap();
        let Plan::Wasi {
            entrypoint,
            args,
            may_be_tar,
            ..
        } = plan
        else {
            panic!("{plan:?}")
        };
        assert_eq!(entrypoint, ["/app.wasm"]);
        assert_eq!(args, ["--verbose"]);
        assert!(may_be_tar);
        let two = manifest(oci::DOCKER_CONFIG, &["a", "b"]);
        assert!(classify(&two, config).unwrap_err().contains("single layer"));
    }

    #[test]
    fn everything_else_is_a_container() {
        let config = br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/true"]}}"#;
        let plan = classify(
            &manifest(
                oci::DOCKER_CONFIG,
                &["application/vnd.docker.image.rootfs.diff.tar.gzip"],
            ),
            config,
        )
        .unwrap();
        assert_eq!(plan.name(), "container");
        assert_eq!(plan.platform().display(), "linux/amd64");
    }
}

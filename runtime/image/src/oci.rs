//! The OCI documents berth reads and writes, as lenient serde types, and the media types.
//!
//! Manifests, indexes and configs come from machines (registries, other tools), so unknown keys
//! are kept or ignored rather than rejected. Docker's v2 schema 2 manifests have the same shape as
//! OCI image manifests and parse into the same [`Manifest`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::Digest;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker v2 schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Every manifest media type a pull accepts.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// OCI image configuration.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker image configuration.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// CNCF TAG-Runtime wasm artifact config (the format berth produces).
pub const WASM_CONFIG_V0: &str = "application/vnd.wasm.config.v0+json";
/// CNCF wasm layer (the format berth produces).
pub const WASM_LAYER: &str = "application/wasm";
/// Legacy wasm configs accepted on pull (wasm-to-oci / oci-client built-ins, Spin).
pub const LEGACY_WASM_CONFIGS: [&str; 2] = [
    "application/vnd.wasm.config.v1+json",
    "application/vnd.fermyon.spin.application.v1+config",
];
/// Legacy wasm layers accepted on pull (wasm-to-oci and Spin; runwasi components).
pub const LEGACY_WASM_LAYERS: [&str; 2] = [
    "application/vnd.wasm.content.layer.v1+wasm",
    "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
];
/// Layer types that may hold a wasm module inside a tar (a `wasi/wasm` container image).
pub const TAR_LAYERS: [&str; 4] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
];

/// The annotation that names an image in `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Creation time (RFC 3339).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// Human title (the layer's file name).
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// berth's own `index.json` annotation: the digest of a module extracted from a tar layer, so
/// garbage collection keeps it.
pub const ANNOTATION_MODULE: &str = "dev.berth.image.module";

/// Whether `media_type` is a wasm layer type berth accepts.
pub fn is_wasm_layer(media_type: &str) -> bool {
    media_type == WASM_LAYER || LEGACY_WASM_LAYERS.contains(&media_type)
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the content is.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// The platform, on index entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OS/architecture pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Platform {
    /// CPU architecture (`wasm`, `amd64`, …).
    #[serde(default)]
    pub architecture: String,
    /// Operating system (`wasi`, `wasip1`, `linux`, …).
    #[serde(default)]
    pub os: String,
}

impl Platform {
    /// `os/architecture`, the way Docker prints platforms.
    pub fn display(&self) -> String {
        format!("{}/{}", self.os, self.architecture)
    }

    /// Whether this is a WASI platform (`wasi`, `wasip1`, `wasip2` on `wasm`).
    pub fn is_wasi(&self) -> bool {
        self.architecture == "wasm" && matches!(self.os.as_str(), "wasi" | "wasip1" | "wasip2")
    }
}

/// An image manifest (OCI or Docker v2 schema 2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type (optional in OCI, so often absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// OCI 1.1 artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The configuration blob.
    pub config: Descriptor,
    /// The layers, in order.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// Manifest annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index / manifest list (also the shape of the store's `index.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// The index's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests it lists.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// Index annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Just the media type of a manifest-like document, to tell manifests from indexes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sniff {
    /// The declared media type.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Present on indexes.
    #[serde(default)]
    pub manifests: Option<serde_json::Value>,
}

impl Sniff {
    /// Whether the document is an index (declared, or recognised by its `manifests` array).
    pub fn is_index(&self) -> bool {
        match self.media_type.as_deref() {
            Some(OCI_INDEX | DOCKER_MANIFEST_LIST) => true,
            Some(_) => false,
            None => self.manifests.is_some(),
        }
    }
}

/// The parts of an image configuration berth reads (OCI and Docker share the shape), plus the
/// CNCF wasm config fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageConfig {
    /// CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// Operating system.
    #[serde(default)]
    pub os: String,
    /// The runtime configuration (`Entrypoint`, `Cmd`).
    #[serde(default)]
    pub config: Option<RunConfig>,
    /// CNCF wasm config: the layer digests.
    #[serde(default)]
    pub layer_digests: Vec<String>,
}

/// The runtime part of an image configuration.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunConfig {
    /// The entrypoint.
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    /// The default arguments.
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
}

impl ImageConfig {
    /// The configuration's platform.
    pub fn platform(&self) -> Platform {
        Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
        }
    }
}

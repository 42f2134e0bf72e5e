//! [`ImageError`]: the one error type at the image boundary.
//!
//! Every variant names the stage that failed and the image reference it was working on, so a
//! message such as "pull manifest of 127.0.0.1:5000/acme/ex:v2: tag v2 not found in repository
//! acme/ex" needs no further context. Inside the module, `anyhow` with `.context(..)` carries the
//! details; [`ImageError::Store`] and [`ImageError::Registry`] wrap that chain.

use std::fmt;

/// The step of an image operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Parsing an image reference.
    Parse,
    /// Looking an image up in the local store.
    Lookup,
    /// Fetching a manifest (or index) from a registry.
    PullManifest,
    /// Fetching the image configuration blob.
    PullConfig,
    /// Fetching a layer blob.
    PullLayer,
    /// Uploading blobs or the manifest.
    Push,
    /// Writing to or reading from the local store.
    Store,
    /// Verifying a blob against its digest.
    Verify,
    /// Deciding which executor runs the image.
    Classify,
    /// Removing an image or collecting garbage.
    Remove,
    /// Precompiling the wasm module into the compiled cache.
    Precompile,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Parse => "parse reference",
            Stage::Lookup => "look up",
            Stage::PullManifest => "pull manifest of",
            Stage::PullConfig => "pull config of",
            Stage::PullLayer => "pull layer of",
            Stage::Push => "push",
            Stage::Store => "store",
            Stage::Verify => "verify",
            Stage::Classify => "classify",
            Stage::Remove => "remove",
            Stage::Precompile => "precompile",
        })
    }
}

/// Why an image operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The text is not a valid image reference.
    #[error("{stage} {reference:?}: {reason}")]
    InvalidReference {
        /// Always [`Stage::Parse`] (or [`Stage::Lookup`] for a misused reference).
        stage: Stage,
        /// The text as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The registry does not know the repository.
    #[error(
        "{stage} {reference}: repository {repository} not found in registry {registry} ({detail})"
    )]
    RepositoryNotFound {
        /// The stage.
        stage: Stage,
        /// The image reference.
        reference: String,
        /// The registry host.
        registry: String,
        /// The repository path.
        repository: String,
        /// The registry's own words.
        detail: String,
    },
    /// The repository exists but has no manifest under that tag or digest.
    #[error("{stage} {reference}: {what} not found in repository {repository} ({detail})")]
    ManifestNotFound {
        /// The stage.
        stage: Stage,
        /// The image reference.
        reference: String,
        /// The repository path.
        repository: String,
        /// `tag v1` or `digest sha256:…`.
        what: String,
        /// The registry's own words.
        detail: String,
    },
    /// The registry refused the credentials, or asked for some and none were configured.
    #[error(
        "{stage} {reference}: not authorized by registry {registry} ({credentials}); \
         set credentials with `docker login {registry}` (~/.docker/config.json) or \
         BERTH_REGISTRY_AUTH={registry}=USER:PASSWORD"
    )]
    Unauthorized {
        /// The stage.
        stage: Stage,
        /// The image reference.
        reference: String,
        /// The registry host.
        registry: String,
        /// Which credentials were tried (never the secret itself).
        credentials: String,
    },
    /// Content did not hash to the digest that names it.
    #[error("{stage} {reference}: digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The stage.
        stage: Stage,
        /// The image reference.
        reference: String,
        /// Which blob (`layer`, `config`, `manifest`, `blob`).
        what: String,
        /// The digest the content is supposed to have.
        expected: String,
        /// The digest of the content actually seen.
        actual: String,
    },
    /// The image is not in the local store (and was not to be pulled).
    #[error(
        "{stage} {reference}: not in the local image store (run `berth image pull {reference}`)"
    )]
    NotInStore {
        /// The stage.
        stage: Stage,
        /// The image reference.
        reference: String,
    },
    /// The image is well-formed but berth cannot run it as described.
    #[error("{stage} {reference}: {reason}")]
    Unsupported {
        /// The stage.
        stage: Stage,
        /// The image reference.
        reference: String,
        /// Why.
        reason: String,
    },
    /// A registry operation failed for another reason (network, server error, bad response).
    #[error("{stage} {reference}: {cause:#}")]
    Registry {
        /// The stage.
        stage: Stage,
        /// The image reference.
        reference: String,
        /// The underlying failure, with its whole chain in the message (deliberately not exposed
        /// as `source()`, so `{:#}` does not print the chain twice).
        cause: anyhow::Error,
    },
    /// The local store could not be read or written.
    #[error("{stage} {reference}: {cause:#}")]
    Store {
        /// The stage.
        stage: Stage,
        /// The image reference (or the store path for whole-store operations).
        reference: String,
        /// The underlying failure, with its whole chain in the message (deliberately not exposed
        /// as `source()`, so `{:#}` does not print the chain twice).
        cause: anyhow::Error,
    },
}

impl ImageError {
    /// The stage that failed.
    pub fn stage(&self) -> Stage {
        match self {
            ImageError::InvalidReference { stage, .. }
            | ImageError::RepositoryNotFound { stage, .. }
            | ImageError::ManifestNotFound { stage, .. }
            | ImageError::Unauthorized { stage, .. }
            | ImageError::DigestMismatch { stage, .. }
            | ImageError::NotInStore { stage, .. }
            | ImageError::Unsupported { stage, .. }
            | ImageError::Registry { stage, .. }
            | ImageError::Store { stage, .. } => *stage,
        }
    }

    /// A store failure at `stage` for `reference`.
    pub(crate) fn store(stage: Stage, reference: impl Into<String>, cause: anyhow::Error) -> Self {
        ImageError::Store {
            stage,
            reference: reference.into(),
            cause,
        }
    }
}

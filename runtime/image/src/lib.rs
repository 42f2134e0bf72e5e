//! Component images: references, the local OCI image store, pull and push, and the kind of an
//! image (WASI module or container image), which decides the executor.
//!
//! ```no_run
//! # fn main() -> Result<(), berth_image::ImageError> {
//! use berth_image::{ImageKind, ImageRef, ImageStore, PullOptions};
//!
//! let store = ImageStore::open("home/images".as_ref(), "home/cache/compiled".as_ref())?;
//! let image = ImageRef::parse("127.0.0.1:5000/acme/extractor:v1")?;
//! let resolved = store.resolve(&image, &PullOptions::from_env()?)?;
//! match resolved.kind {
//!     ImageKind::Wasi { module_path, .. } => println!("run {}", module_path.display()),
//!     ImageKind::Container { reference } => println!("docker run {reference}"),
//! }
//! # Ok(()) }
//! ```
//!
//! - [`reference`]: [`ImageRef`] parsing (`REGISTRY/REPO:TAG`, `…@sha256:…`, `.wasm` paths,
//!   `docker://`).
//! - [`store`]: the OCI image layout under `home.images()`, verified on write and on read.
//! - [`kind`]: [`ImageKind`] from manifest and config.
//! - [`registry`] and [`auth`]: the distribution client, transport, credentials, retries.
//! - `pull`, `push`, `inspect`: the operations behind [`ImageStore`].
//! - [`python`]: `berth image build --python`, a WASI component image from a Python source tree.
//!
//! This crate owns images only: it runs nothing (a pulled module is handed to `berth-exec` just
//! to precompile it) and knows nothing of Storage, jobs or the CLI. The `testing` feature exposes
//! shared test support.

pub mod auth;
pub mod digest;
pub mod error;
mod inspect;
pub mod kind;
pub mod oci;
mod pull;
mod push;
pub mod python;
pub mod reference;
pub mod registry;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod unpack;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use digest::Digest;
pub use error::{ImageError, Stage};
pub use inspect::{ImageDetails, ImageSummary};
pub use kind::ImageKind;
pub use push::PushReport;
pub use reference::{ImageRef, RegistryRef};
pub use registry::{RegistryLimits, RegistrySettings};
pub use store::{GcReport, Layout};

/// An image reference resolved to content: what a job records and an executor runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedImage {
    /// The reference as resolved (normalised: `REGISTRY/REPO:TAG`, `REGISTRY/REPO@DIGEST`, the
    /// module path, or `docker://IMAGE`).
    pub reference: String,
    /// `sha256:…` of the manifest (registry images) or of the module (local `.wasm` files);
    /// empty for `docker://` references, which Docker resolves itself.
    pub digest: String,
    /// How to run it.
    pub kind: ImageKind,
}

impl ResolvedImage {
    /// The reference pinned to the resolved digest (`REGISTRY/REPO@sha256:…`) for registry
    /// images; the reference itself otherwise. Recording this makes a rerun use the same content.
    pub fn pinned_reference(&self) -> String {
        match ImageRef::parse(&self.reference) {
            Ok(ImageRef::Registry(r)) if !self.digest.is_empty() => match self.digest.parse() {
                Ok(digest) => r.pinned(&digest),
                Err(_) => self.reference.clone(),
            },
            _ => self.reference.clone(),
        }
    }
}

/// When [`ImageStore::resolve`] asks the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Only when the image is not in the local store (Docker's default).
    #[default]
    Missing,
    /// Every time: a tag is re-resolved to its current digest.
    Always,
    /// Never: an image missing locally is an error.
    Never,
}

/// Options of pulls and pushes.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Transport, credentials, retries, progress bars.
    pub settings: RegistrySettings,
    /// When `resolve` pulls.
    pub policy: PullPolicy,
    /// Precompile a pulled wasm module into the compiled cache.
    pub precompile: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            settings: RegistrySettings::default(),
            policy: PullPolicy::Missing,
            precompile: true,
        }
    }
}

impl PullOptions {
    /// Options with registry settings from the environment (see [`RegistrySettings::from_env`]).
    pub fn from_env() -> Result<Self, ImageError> {
        Ok(Self {
            settings: RegistrySettings::from_env()?,
            ..Self::default()
        })
    }
}

/// The local image store of a berth home, and the operations on images.
#[derive(Debug, Clone)]
pub struct ImageStore {
    layout: Layout,
    compiled_cache: PathBuf,
}

impl ImageStore {
    /// Opens (creating if needed) the store in `root`; pulled modules are precompiled into the
    /// compiled-module cache in `compiled_cache`.
    pub fn open(root: &Path, compiled_cache: &Path) -> Result<Self, ImageError> {
        let layout = Layout::open(root)
            .map_err(|e| ImageError::store(Stage::Store, root.display().to_string(), e))?;
        Ok(Self {
            layout,
            compiled_cache: compiled_cache.to_path_buf(),
        })
    }

    /// The OCI layout underneath.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The compiled-module cache pulled modules are precompiled into.
    pub fn compiled_cache(&self) -> &Path {
        &self.compiled_cache
    }

    /// Resolves `image` to content: local `.wasm` files and `docker://` references directly,
    /// registry references from the store or, following `options.policy`, by pulling.
    ///
    /// Blocking; from async code use [`ImageStore::resolve_async`].
    pub fn resolve(
        &self,
        image: &ImageRef,
        options: &PullOptions,
    ) -> Result<ResolvedImage, ImageError> {
        block_on(self.resolve_async(image, options))
    }

    /// The async form of [`ImageStore::resolve`].
    pub async fn resolve_async(
        &self,
        image: &ImageRef,
        options: &PullOptions,
    ) -> Result<ResolvedImage, ImageError> {
        let registry = match image {
            ImageRef::LocalWasm(path) => return resolve_local_wasm(path),
            ImageRef::Docker(name) => {
                return Ok(ResolvedImage {
                    reference: image.to_string(),
                    digest: String::new(),
                    kind: ImageKind::Container {
                        reference: name.clone(),
                    },
                });
            }
            ImageRef::Registry(registry) => registry,
        };
        if options.policy != PullPolicy::Always
            && let Some(found) = self.resolve_stored(registry)?
        {
            return Ok(found);
        }
        if options.policy == PullPolicy::Never {
            return Err(ImageError::NotInStore {
                stage: Stage::Lookup,
                reference: registry.to_string(),
            });
        }
        self.pull_async(registry, options).await
    }

    /// Resolves a registry reference from the local store only; `None` when it is not there.
    /// Every blob used is verified.
    pub fn resolve_stored(&self, image: &RegistryRef) -> Result<Option<ResolvedImage>, ImageError> {
        inspect::resolve_stored(self, image)
    }

    /// Pulls `image` (always asking the registry), stores it verified, records the name, and
    /// precompiles a wasm module.
    pub fn pull(
        &self,
        image: &RegistryRef,
        options: &PullOptions,
    ) -> Result<ResolvedImage, ImageError> {
        block_on(self.pull_async(image, options))
    }

    /// The async form of [`ImageStore::pull`].
    pub async fn pull_async(
        &self,
        image: &RegistryRef,
        options: &PullOptions,
    ) -> Result<ResolvedImage, ImageError> {
        let resolved = pull::pull(self, image, options).await?;
        if options.precompile {
            // Off the async thread: compiling is CPU-bound, and the executor's engine owns a
            // runtime of its own that must not be dropped inside this one.
            let (store, for_compile) = (self.clone(), resolved.clone());
            tokio::task::spawn_blocking(move || store.precompile(&for_compile))
                .await
                .map_err(|e| ImageError::Unsupported {
                    stage: Stage::Precompile,
                    reference: resolved.reference.clone(),
                    reason: format!("the precompile task failed: {e}"),
                })??;
        }
        Ok(resolved)
    }

    /// Writes `module` as a CNCF wasm artifact into the store and pushes it to `target`.
    pub fn push_wasm(
        &self,
        module: &Path,
        target: &RegistryRef,
        options: &PullOptions,
    ) -> Result<PushReport, ImageError> {
        block_on(push::push_wasm(self, module, target, options))
    }

    /// The async form of [`ImageStore::push_wasm`].
    pub async fn push_wasm_async(
        &self,
        module: &Path,
        target: &RegistryRef,
        options: &PullOptions,
    ) -> Result<PushReport, ImageError> {
        push::push_wasm(self, module, target, options).await
    }

    /// Pushes the image stored as `source` to `target` as it is (a built Python component, a
    /// pushed or pulled wasm artifact), and tags it `target` locally.
    pub fn push_stored(
        &self,
        source: &RegistryRef,
        target: &RegistryRef,
        options: &PullOptions,
    ) -> Result<PushReport, ImageError> {
        block_on(push::push_stored(self, source, target, options))
    }

    /// Builds a Python component image from a source tree and stores it (see [`python`]).
    pub fn build_python(
        &self,
        options: &python::PythonBuildOptions,
    ) -> Result<python::PythonBuildReport, python::PythonBuildError> {
        python::build(self, options)
    }

    /// Every named image in the store.
    pub fn list(&self) -> Result<Vec<ImageSummary>, ImageError> {
        inspect::list(self)
    }

    /// Details of a stored image (or of a local `.wasm` file).
    pub fn inspect(&self, image: &ImageRef) -> Result<ImageDetails, ImageError> {
        inspect::inspect(self, image)
    }

    /// Removes the names matching `image` (a tag, or every name of a digest) and collects the
    /// blobs no other name uses. Returns the removed names and what was freed.
    pub fn remove(&self, image: &RegistryRef) -> Result<(Vec<String>, GcReport), ImageError> {
        inspect::remove(self, image)
    }

    /// Deletes blobs no name reaches.
    pub fn gc(&self) -> Result<GcReport, ImageError> {
        self.layout.gc().map_err(|e| {
            ImageError::store(Stage::Remove, self.layout.root().display().to_string(), e)
        })
    }

    /// Precompiles the module of a WASI image into the host-private compiled cache.
    fn precompile(&self, resolved: &ResolvedImage) -> Result<(), ImageError> {
        if let ImageKind::Wasi { module_path, .. } = &resolved.kind {
            berth_exec::wasm::precompile_into_cache(&self.compiled_cache, module_path).map_err(
                |e| ImageError::Unsupported {
                    stage: Stage::Precompile,
                    reference: resolved.reference.clone(),
                    reason: format!("{e:#}"),
                },
            )?;
        }
        Ok(())
    }
}

/// A local `.wasm` file resolves to itself, hashed.
fn resolve_local_wasm(path: &Path) -> Result<ResolvedImage, ImageError> {
    let reference = path.display().to_string();
    let store_err = |e: anyhow::Error| ImageError::store(Stage::Lookup, reference.clone(), e);
    let module_path: PathBuf = std::fs::canonicalize(path)
        .map_err(|e| store_err(anyhow::Error::new(e).context("no such module file")))?;
    if !unpack::is_wasm_file(&module_path).map_err(store_err)? {
        return Err(ImageError::Unsupported {
            stage: Stage::Classify,
            reference,
            reason: "the file is not a wasm binary (no \\0asm header)".into(),
        });
    }
    let digest = Digest::of_file(&module_path).map_err(store_err)?;
    Ok(ResolvedImage {
        reference,
        digest: digest.to_string(),
        kind: ImageKind::Wasi {
            module_path,
            module_digest: digest.to_string(),
            entrypoint: Vec::new(),
            args: Vec::new(),
        },
    })
}

/// Runs `future` to completion on a private current-thread runtime (on a helper thread when the
/// caller is already inside a tokio runtime, where blocking in place would panic).
fn block_on<T: Send>(future: impl Future<Output = T> + Send) -> T {
    let run = move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build a tokio runtime for the image operation")
            .block_on(future)
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|scope| {
            scope
                .spawn(run)
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    } else {
        run()
    }
}

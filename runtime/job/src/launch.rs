//! From an image reference to a ready [`Executor`]: the one place that decides how a component
//! image runs.
//!
//! - a local `.wasm` path → the WASI executor;
//! - a registry reference → resolved once to a digest through the local image store (pulled when
//!   missing); a wasm artifact or a `wasi/wasm` image → the WASI executor, any other image → the
//!   Docker executor;
//! - `docker://IMAGE[:TAG]` → the Docker executor.
//!
//! `berth exec` and jobs both come through [`launch`], so a component behaves the same whichever
//! way it is started, and a job can record exactly what ran ([`Launched::reference`],
//! [`Launched::digest`]).

use crate::home::Home;
use berth_exec::docker::{DockerExecutor, DockerOptions};
use berth_exec::wasm::WasmEngine;
use berth_exec::{ExecError, Executor};
use berth_image::{ImageError, ImageKind, ImageRef};

/// How a component should be launched, beyond its image.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// The name used in messages and as argv[0] of a module (the component id).
    pub name: String,
    /// `--tag`: run another tag of a registry reference.
    pub tag_override: Option<String>,
    /// Container settings (network, root, labels) for the Docker executor.
    pub docker: DockerOptions,
}

/// Which executor runs the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// In-process WebAssembly (WASI preview 1).
    Wasi,
    /// A Docker container.
    Docker,
}

/// A component ready to run, and what exactly it is.
pub struct Launched {
    /// The executor.
    pub executor: Box<dyn Executor>,
    /// Which executor.
    pub kind: ExecutorKind,
    /// The image as resolved: a pinned `REGISTRY/REPO@sha256:…`, a module path or
    /// `docker://IMAGE`.
    pub reference: String,
    /// `sha256:…` of the manifest or module, when known (Docker resolves `docker://` itself).
    pub digest: Option<String>,
}

impl std::fmt::Debug for Launched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launched")
            .field("kind", &self.kind)
            .field("reference", &self.reference)
            .field("digest", &self.digest)
            .finish()
    }
}

/// Why a component could not be launched.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The module file does not exist (a user error).
    #[error("The component module {path} does not exist.")]
    MissingModule {
        /// The path as given.
        path: String,
    },
    /// `network: bridge` on a WASI component (a user error).
    #[error(
        "network \"bridge\" is not available to WASI components (berth offers them no sockets); use a container image, or \"none\" / \"no-internet\""
    )]
    NetworkUnsupported,
    /// `network: no-internet` on a container (a user error).
    #[error(
        "network \"no-internet\" is not available to containers yet (a Docker internal network still reaches the host); use \"none\" or \"bridge\""
    )]
    NoInternetUnsupported,
    /// The image could not be resolved or pulled.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The executor could not load or reach the component.
    #[error(transparent)]
    Exec(#[from] ExecError),
}

impl LaunchError {
    /// Whether the user's input is at fault (exit 1) rather than berth or the platform (exit 2):
    /// a missing module, a bad reference, a missing repository or tag, a refused login.
    pub fn is_user_error(&self) -> bool {
        match self {
            LaunchError::MissingModule { .. }
            | LaunchError::NetworkUnsupported
            | LaunchError::NoInternetUnsupported => true,
            LaunchError::Image(error) => !matches!(
                error,
                ImageError::DigestMismatch { .. }
                    | ImageError::Registry { .. }
                    | ImageError::Store { .. }
            ),
            LaunchError::Exec(_) => false,
        }
    }
}

/// Resolves `image` and makes its executor.
pub fn launch(home: &Home, image: &str, options: &LaunchOptions) -> Result<Launched, LaunchError> {
    let mut reference = ImageRef::parse(image)?;
    if let Some(tag) = &options.tag_override {
        match reference {
            ImageRef::LocalWasm(_) => {
                tracing::warn!("--tag {tag} ignored: {image} is a module file")
            }
            _ => reference = reference.with_tag(tag)?,
        }
    }
    match reference {
        ImageRef::LocalWasm(path) => {
            if !path.is_file() {
                return Err(LaunchError::MissingModule {
                    path: path.display().to_string(),
                });
            }
            let component = wasm_engine(home)?.load(&path, &options.name)?;
            Ok(Launched {
                digest: Some(format!("sha256:{}", component.digest())),
                reference: path.display().to_string(),
                executor: Box::new(component),
                kind: ExecutorKind::Wasi,
            })
        }
        ImageRef::Docker(name) => Ok(Launched {
            executor: Box::new(DockerExecutor::connect(&name, options.docker.clone())?),
            kind: ExecutorKind::Docker,
            reference: format!("docker://{name}"),
            digest: None,
        }),
        registry @ ImageRef::Registry(_) => {
            let store = home.image_store()?;
            let resolved = store.resolve(&registry, &home.pull_options()?)?;
            let reference = resolved.pinned_reference();
            let digest = Some(resolved.digest.clone());
            match resolved.kind {
                ImageKind::Wasi {
                    module_path,
                    module_digest,
                    entrypoint,
                    args,
                } => {
                    let mut argv = entrypoint;
                    argv.extend(args);
                    if argv.is_empty() {
                        argv.push(options.name.clone());
                    }
                    // The store's blob is content-addressed and was verified when pulled: a
                    // warm run neither reads nor hashes it again.
                    let engine = wasm_engine(home)?;
                    let component = match module_digest.strip_prefix("sha256:") {
                        Some(hex) => engine.load_pinned(&module_path, hex, &options.name)?,
                        None => engine.load(&module_path, &options.name)?,
                    }
                    .with_args(argv);
                    Ok(Launched {
                        executor: Box::new(component),
                        kind: ExecutorKind::Wasi,
                        reference,
                        digest,
                    })
                }
                ImageKind::Container { reference: image } => Ok(Launched {
                    executor: Box::new(DockerExecutor::connect(&image, options.docker.clone())?),
                    kind: ExecutorKind::Docker,
                    reference,
                    digest,
                }),
            }
        }
    }
}

fn wasm_engine(home: &Home) -> Result<WasmEngine, ExecError> {
    WasmEngine::shared(&home.compiled_cache())
}

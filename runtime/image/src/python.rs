//! `berth image build --python DIR`: a WASI preview 2 component image from an unmodified Python
//! component's source tree (a Keboola component on `keboola.component`, say).
//!
//! The steps, one module each:
//! - [`source`]: what to build — the entry script (`--entry`, else the Dockerfile's `CMD`, else
//!   `src/component.py`) and the requirements (`requirements.txt`, else `uv.lock`, else
//!   `pyproject.toml`);
//! - [`toolchain`]: componentize-py, pinned, installed from PyPI into a virtual environment under
//!   berth's home on first use, and the WASI WIT files it builds against (those wasmtime-wasi
//!   implements, embedded in berth at compile time);
//! - [`deps`]: the requirements installed with pip into a staging folder; C extension modules are
//!   deleted with a warning naming each (they cannot run on WASI) and recorded, so importing one
//!   at run time raises an ImportError naming its package;
//! - [`stage`]: the staging folder componentize-py reads — berth's wrapper and import hook
//!   (`guest/*.py`), the `ssl` stand-in, the entry's folder and the site-packages.
//!
//! componentize-py then snapshots an interpreter that has imported the wrapper: the wrapper
//! bundles the standard library, the site-packages and the entry's folder into memory
//! (compressed) and imports what the entry imports, so a run starts with those loaded and
//! needs nothing but `/data`. The result is stored in the local image store as a CNCF wasm
//! artifact (`os: wasip2`), tagged with the given reference, and pushable like any other image.

mod deps;
mod source;
mod stage;
mod toolchain;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::Digest as _;

pub use source::{EntrySource, Requirements};
pub use toolchain::COMPONENTIZE_PY_VERSION;

use super::reference::RegistryRef;
use super::{ImageError, ImageStore};

/// What to build and where its tools live.
#[derive(Debug, Clone)]
pub struct PythonBuildOptions {
    /// The component's source tree (a Keboola component repository).
    pub source_dir: PathBuf,
    /// `--entry`: the entry script, relative to `source_dir`.
    pub entry: Option<String>,
    /// The tag to store the image under.
    pub tag: RegistryRef,
    /// Where componentize-py's virtual environment is kept (`HOME/tools`).
    pub tools_dir: PathBuf,
    /// The Python interpreter that creates the tools' virtual environment (`python3`).
    pub python: PathBuf,
}

/// A C extension module left out of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// The module's dotted name (`yaml._yaml`).
    pub module: String,
    /// The distribution it came with (`PyYAML`).
    pub package: String,
}

/// What a build produced.
#[derive(Debug, Clone, Serialize)]
pub struct PythonBuildReport {
    /// The tag the image is stored under.
    pub reference: String,
    /// The manifest digest.
    pub digest: String,
    /// The component's (layer's) digest.
    pub layer_digest: String,
    /// The component's size in bytes.
    pub size: u64,
    /// The entry script, relative to the source tree, and where it was found.
    pub entry: String,
    /// Where the entry came from.
    pub entry_source: EntrySource,
    /// Where the requirements came from (`none` when there were none).
    pub requirements: String,
    /// C extension modules left out.
    pub left_out: Vec<LeftOut>,
    /// Of which: compiling the component into the compiled cache.
    #[serde(serialize_with = "seconds")]
    pub precompile: Duration,
    /// Wall-clock time of the whole build.
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
}

fn seconds<S: serde::Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(duration.as_secs_f64())
}

/// Why a Python build failed.
#[derive(Debug, thiserror::Error)]
pub enum PythonBuildError {
    /// The source tree does not say what to run, or says it unreadably (a user error).
    #[error("python build of {dir}: {reason}")]
    Source {
        /// The source tree.
        dir: String,
        /// What is wrong.
        reason: String,
    },
    /// pip could not install the requirements (usually a user error: a bad or unknown
    /// requirement).
    #[error(
        "python build of {dir}: installing the requirements from {requirements} failed: {detail}"
    )]
    Dependencies {
        /// The source tree.
        dir: String,
        /// Where the requirements came from.
        requirements: String,
        /// pip's complaint.
        detail: String,
    },
    /// berth's own machinery failed: installing componentize-py, staging, componentize-py's
    /// build.
    #[error("python build of {dir}: {stage}: {source:#}")]
    Build {
        /// The source tree.
        dir: String,
        /// The step.
        stage: &'static str,
        /// The failure.
        source: anyhow::Error,
    },
    /// Storing the built image failed.
    #[error(transparent)]
    Image(#[from] ImageError),
}

impl PythonBuildError {
    /// Whether the user's input is at fault (exit 1) rather than berth or the platform (exit 2).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            PythonBuildError::Source { .. } | PythonBuildError::Dependencies { .. }
        )
    }
}

/// Builds the component and stores it in `store` under `options.tag`. Progress and warnings go
/// to stderr.
pub fn build(
    store: &ImageStore,
    options: &PythonBuildOptions,
) -> Result<PythonBuildReport, PythonBuildError> {
    let started = Instant::now();
    let dir = options.source_dir.display().to_string();
    let build_err = |stage: &'static str| {
        let dir = dir.clone();
        move |source: anyhow::Error| PythonBuildError::Build {
            dir: dir.clone(),
            stage,
            source,
        }
    };
    let plan = source::plan(&options.source_dir, options.entry.as_deref())?;
    let tool = toolchain::ensure(&options.tools_dir, &options.python)
        .map_err(build_err("installing componentize-py"))?;
    let scratch = tempfile::Builder::new()
        .prefix("python-build-")
        .tempdir_in(ensure_dir(&options.tools_dir).map_err(build_err("staging"))?)
        .map_err(anyhow::Error::from)
        .map_err(build_err("staging"))?;
    let staged =
        stage::prepare(scratch.path(), &options.source_dir, &plan).map_err(build_err("staging"))?;
    let left_out = deps::install(&tool, &plan, &staged.site)?;
    for item in &left_out {
        eprintln!(
            "warning: left out the C extension module {} of {}: it cannot run on WASI; importing \
             it raises an ImportError naming the package",
            item.module, item.package
        );
    }
    stage::write_build_config(&staged, &plan, &left_out).map_err(build_err("staging"))?;
    let wasm = scratch.path().join("component.wasm");
    toolchain::componentize(&tool, &staged.root, &wasm).map_err(build_err("componentize-py"))?;
    let module = std::fs::read(&wasm)
        .map_err(anyhow::Error::from)
        .map_err(build_err("reading the component"))?;
    let title = format!("{}.wasm", plan.name);
    let stored = super::push::store_wasm(store, &module, &title, &options.tag)?;
    // As a pull does: the first run is warm.
    let compile_started = Instant::now();
    berth_exec::wasm::precompile_into_cache(store.compiled_cache(), &wasm)
        .map_err(build_err("precompiling the component"))?;
    let precompile = compile_started.elapsed();
    Ok(PythonBuildReport {
        reference: options.tag.to_string(),
        digest: stored.manifest_digest.to_string(),
        layer_digest: stored.layer_digest.to_string(),
        size: module.len() as u64,
        entry: plan.entry.clone(),
        entry_source: plan.entry_source,
        requirements: plan.requirements.describe(),
        left_out,
        precompile,
        duration: started.elapsed(),
    })
}

/// A digest of everything berth contributes to a Python build (its wrapper, import hook and
/// stand-ins, the WIT, the componentize-py version): with the source tree's content, a cache
/// key for built components.
pub fn toolchain_fingerprint() -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(COMPONENTIZE_PY_VERSION.as_bytes());
    for (name, text) in stage::GUEST_FILES.iter().chain(toolchain::wit_files()) {
        hasher.update(name.as_bytes());
        hasher.update(text.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn ensure_dir(dir: &Path) -> anyhow::Result<&Path> {
    std::fs::create_dir_all(dir)?;
    Ok(dir)
}

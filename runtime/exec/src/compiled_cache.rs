//! The host-private, on-disk cache of precompiled modules and components.
//!
//! Compiling a module with Cranelift costs ~100 ms per 100 KB; loading its precompiled form with
//! `Module::deserialize_file` costs tens of microseconds. Each entry is keyed by the sha256 of the
//! module's bytes and the engine's compatibility hash (wasmtime version, host CPU features and the
//! relevant `Config`), so an upgrade or another configuration never loads a stale entry. Core
//! modules (WASI preview 1) and components (preview 2) share the cache and its keying: their
//! bytes differ, so their digests do.
//!
//! Loading precompiled code is trusting it, so entries are only ever produced here, from a module
//! compiled locally, never taken from an artifact. Each entry carries a sidecar checksum written
//! after the entry itself; an entry whose checksum is missing or wrong, or that wasmtime refuses,
//! is a cache miss: it is recompiled and replaced, never a crash.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// How a module was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Loaded from a valid cache entry.
    Hit,
    /// Not cached yet: compiled and stored.
    Miss,
    /// A cache entry existed but was unusable: compiled again and replaced.
    Recovered,
}

/// A directory of precompiled modules.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

/// The sha256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Feeds `Hash` input into sha256, so the engine's compatibility hash is stable across builds
/// (std's `DefaultHasher` is not).
struct StableHasher(Sha256);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// A short, stable digest of everything that makes a precompiled module loadable by `engine`.
pub fn engine_fingerprint(engine: &Engine) -> String {
    let mut hasher = StableHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..8])
}

impl CompiledCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory of the cache.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry path for a module with digest `module_sha256` under `engine`.
    pub fn entry_path(&self, engine: &Engine, module_sha256: &str) -> PathBuf {
        self.dir.join(format!(
            "{module_sha256}-{}.cwasm",
            engine_fingerprint(engine)
        ))
    }

    /// Loads the module whose bytes are `wasm` (digest `module_sha256`), compiling and storing it
    /// when there is no usable entry.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        module_sha256: &str,
    ) -> Result<(Module, CacheStatus)> {
        self.load_or_compile_as(engine, wasm, module_sha256)
    }

    /// Like [`CompiledCache::load_or_compile`] for a component (WASI preview 2).
    pub fn load_or_compile_component(
        &self,
        engine: &Engine,
        wasm: &[u8],
        component_sha256: &str,
    ) -> Result<(Component, CacheStatus)> {
        self.load_or_compile_as(engine, wasm, component_sha256)
    }

    /// The module with digest `module_sha256` when the cache holds a usable entry for it; the
    /// module's bytes are not needed (nor read) on this path.
    pub fn load_cached(&self, engine: &Engine, module_sha256: &str) -> Lookup<Module> {
        self.lookup(engine, module_sha256)
    }

    /// Like [`CompiledCache::load_cached`] for a component (WASI preview 2).
    pub fn load_cached_component(
        &self,
        engine: &Engine,
        component_sha256: &str,
    ) -> Lookup<Component> {
        self.lookup(engine, component_sha256)
    }

    fn lookup<T: Compiled>(&self, engine: &Engine, sha256: &str) -> Lookup<T> {
        let entry = self.entry_path(engine, sha256);
        if !entry.exists() {
            return Lookup::Missing(CacheStatus::Miss);
        }
        match self.load_entry::<T>(engine, &entry) {
            Ok(compiled) => Lookup::Found(compiled),
            Err(error) => {
                tracing::warn!(entry = %entry.display(), "unusable compiled-module cache entry, recompiling: {error:#}");
                Lookup::Missing(CacheStatus::Recovered)
            }
        }
    }

    fn load_or_compile_as<T: Compiled>(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
    ) -> Result<(T, CacheStatus)> {
        let status = match self.lookup::<T>(engine, sha256) {
            Lookup::Found(compiled) => return Ok((compiled, CacheStatus::Hit)),
            Lookup::Missing(status) => status,
        };
        self.compile_and_store(engine, wasm, sha256, status)
    }

    /// Compiles `wasm` (digest `sha256`), stores the result and loads it; `status` says why
    /// the cache could not answer.
    pub(crate) fn compile_and_store<T: Compiled>(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
        status: CacheStatus,
    ) -> Result<(T, CacheStatus)> {
        let entry = self.entry_path(engine, sha256);
        let compiled = T::precompile(engine, wasm)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("compiling the {}", T::WHAT))?;
        if let Err(error) = self.store_entry(&entry, &compiled) {
            // A read-only or full disk costs speed, not correctness.
            tracing::warn!(entry = %entry.display(), "could not store the compiled {}: {error:#}", T::WHAT);
        }
        let loaded = self
            .load_entry::<T>(engine, &entry)
            .or_else(|_| T::deserialize_bytes(engine, &compiled))
            .with_context(|| format!("loading the freshly compiled {}", T::WHAT))?;
        Ok((loaded, status))
    }

    fn load_entry<T: Compiled>(&self, engine: &Engine, entry: &Path) -> Result<T> {
        let expected =
            fs::read_to_string(checksum_path(entry)).context("reading the entry's checksum")?;
        let bytes = fs::read(entry).context("reading the entry")?;
        let actual = checksum(&bytes);
        anyhow::ensure!(
            expected.trim() == actual,
            "checksum mismatch: expected {}, found {actual}",
            expected.trim()
        );
        T::deserialize_file(engine, entry)
    }

    fn store_entry(&self, entry: &Path, compiled: &[u8]) -> Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        write_atomically(entry, compiled)?;
        write_atomically(&checksum_path(entry), checksum(compiled).as_bytes())
    }
}

fn checksum_path(entry: &Path) -> PathBuf {
    entry.with_extension("cwasm.crc32")
}

fn checksum(bytes: &[u8]) -> String {
    format!("{:08x}-{}", crc32fast::hash(bytes), bytes.len())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// What a cache lookup found.
pub enum Lookup<T> {
    /// A usable entry, loaded.
    Found(T),
    /// No usable entry: why ([`CacheStatus::Miss`] or [`CacheStatus::Recovered`]).
    Missing(CacheStatus),
}

/// What the cache holds: a core module or a component, compiled and loaded the same way.
pub(crate) trait Compiled: Sized {
    /// Named in messages.
    const WHAT: &'static str;
    fn precompile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Vec<u8>>;
    fn deserialize_file(engine: &Engine, entry: &Path) -> Result<Self>;
    fn deserialize_bytes(engine: &Engine, compiled: &[u8]) -> Result<Self>;
}

#[allow(
    unsafe_code,
    reason = "loads precompiled code that this cache produced and checksummed, or that was \
              compiled in this process a moment ago"
)]
impl Compiled for Module {
    const WHAT: &'static str = "module";

    fn precompile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Vec<u8>> {
        engine.precompile_module(wasm)
    }

    fn deserialize_file(engine: &Engine, entry: &Path) -> Result<Self> {
        // SAFETY: entries are written only by `store_entry` from `Engine::precompile_module`
        // output of a locally compiled module, and their checksum was verified just before.
        unsafe { Module::deserialize_file(engine, entry) }.map_err(anyhow::Error::from)
    }

    fn deserialize_bytes(engine: &Engine, compiled: &[u8]) -> Result<Self> {
        // SAFETY: `compiled` is the output of `Engine::precompile_module` in this process.
        unsafe { Module::deserialize(engine, compiled) }.map_err(anyhow::Error::from)
    }
}

#[allow(
    unsafe_code,
    reason = "loads precompiled code that this cache produced and checksummed, or that was \
              compiled in this process a moment ago"
)]
impl Compiled for Component {
    const WHAT: &'static str = "component";

    fn precompile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Vec<u8>> {
        engine.precompile_component(wasm)
    }

    fn deserialize_file(engine: &Engine, entry: &Path) -> Result<Self> {
        // SAFETY: entries are written only by `store_entry` from
        // `Engine::precompile_component` output of a locally compiled component, and their
        // checksum was verified just before.
        unsafe { Component::deserialize_file(engine, entry) }.map_err(anyhow::Error::from)
    }

    fn deserialize_bytes(engine: &Engine, compiled: &[u8]) -> Result<Self> {
        // SAFETY: `compiled` is the output of `Engine::precompile_component` in this process.
        unsafe { Component::deserialize(engine, compiled) }.map_err(anyhow::Error::from)
    }
}

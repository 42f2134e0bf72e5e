//! The WASI executor: a component that is a WebAssembly module (WASI preview 1) or a
//! WebAssembly component (WASI preview 2, see [`component`]), run in-process under wasmtime.
//!
//! The sandbox keeps these promises, each enforced here and tested by a guest:
//! - the job's data folder, preopened read-write at `/data`, is the only part of the host the
//!   module can see (cap-std underneath refuses `..` and symlinks that leave it); no sockets, no
//!   name lookups; the environment is exactly the request's, never the host's;
//! - wall-clock time: an epoch deadline traps a busy guest, and an async timeout ends a guest that
//!   waits in a host call (epochs cannot interrupt those);
//! - memory: a [`MemoryLimiter`] denies growth of linear memory and tables (counted together)
//!   past the limit and remembers that it did, so the run is an out-of-memory error whether the
//!   guest then exits, aborts or traps;
//! - host functions: berth's own `poll_oneoff` checks every count and pointer against the guest's
//!   memory before use (see `poll`);
//! - output: stdout and stderr go to bounded [`OutputCapture`]s.
//!
//! One [`WasmEngine`] per process owns the wasmtime `Engine` (with the pooling allocator when the
//! address-space probe allows it), the epoch ticker, a tokio runtime and the [`CompiledCache`].
//! [`WasmEngine::load`] turns a module file into a [`WasmComponent`] holding a reusable
//! `InstancePre` (or a component's `CommandPre`: which one is decided from the binary's header);
//! each [`Executor::execute`] creates a fresh store and instance (microseconds).

mod component;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod pipe;
mod poll;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Memory, MemoryType,
    PoolingAllocationConfig, ResourceLimiter, Store, Trap, UpdateDeadline,
};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use super::cancel::{Cancel, until_cancelled};
use super::compiled_cache::{CacheStatus, CompiledCache, Lookup, sha256_hex};
use super::output::{OutputCapture, captures};
use super::{ExecError, ExecRequest, ExecResult, Executor, Termination};

/// Where the data folder appears inside the sandbox.
pub const GUEST_DATA_DIR: &str = "/data";

/// How often the epoch advances; the resolution of the timeout.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Grace given to the epoch deadline before the async backstop declares a timeout.
const TIMEOUT_BACKSTOP_GRACE: Duration = Duration::from_millis(50);

/// Which instance allocator the engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Allocator {
    /// Pooling when the address-space probe succeeds, on-demand otherwise.
    #[default]
    Auto,
    /// Fresh mappings per instance (cheapest engine start, slower instantiation).
    OnDemand,
    /// A pre-reserved pool of slots (fast instantiation, ~4 GiB of address space per slot).
    Pooling,
}

/// How to build a [`WasmEngine`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The instance allocator.
    pub allocator: Allocator,
    /// The directory of the compiled-module cache.
    pub cache_dir: PathBuf,
}

impl EngineOptions {
    /// Defaults with the compiled cache in `cache_dir`.
    pub fn with_cache_dir(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            allocator: Allocator::Auto,
            cache_dir: cache_dir.into(),
        }
    }
}

/// Store data of one execution.
struct Host {
    wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
    /// Set from outside to stop the guest (checked at every epoch tick).
    cancel: Option<Cancel>,
    /// Epoch ticks left before the timeout traps.
    ticks_left: u64,
}

/// The error a guest's call ends with when its [`Cancel`] was set while it ran wasm code.
#[derive(Debug)]
struct GuestCancelled;

impl std::fmt::Display for GuestCancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the run was cancelled")
    }
}

impl std::error::Error for GuestCancelled {}

/// Called by wasmtime at every epoch tick while the guest runs wasm code: stops it when it was
/// cancelled, traps with `Interrupt` when its time is up, lets it go on for one more tick
/// otherwise.
fn on_epoch_tick(
    mut store: wasmtime::StoreContextMut<'_, Host>,
) -> wasmtime::Result<UpdateDeadline> {
    let host = store.data_mut();
    epoch_tick(host.cancel.as_ref(), &mut host.ticks_left)
}

/// The error a guest's call ends with when the process was asked to shut down while it ran
/// wasm code ([`crate::shutdown`]).
#[derive(Debug)]
struct GuestShutDown;

impl std::fmt::Display for GuestShutDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("berth is shutting down")
    }
}

impl std::error::Error for GuestShutDown {}

/// One epoch tick of a module's or a component's run (see [`on_epoch_tick`]).
fn epoch_tick(cancel: Option<&Cancel>, ticks_left: &mut u64) -> wasmtime::Result<UpdateDeadline> {
    if cancel.is_some_and(Cancel::is_cancelled) {
        return Err(wasmtime::Error::new(GuestCancelled));
    }
    // A guest busy in wasm code never reaches an await point where the shutdown watcher of
    // `drive` could stop it; the tick does.
    if crate::shutdown::is_requested() {
        return Err(wasmtime::Error::new(GuestShutDown));
    }
    if *ticks_left == 0 {
        return Ok(UpdateDeadline::Interrupt);
    }
    *ticks_left -= 1;
    Ok(UpdateDeadline::Continue(1))
}

/// What one table element costs against the memory limit: a function reference is a pointer.
pub const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();

/// Denies memory and table growth past a limit and remembers having done so.
///
/// Linear memory and tables share one budget: the memory's size plus every table's elements at
/// [`TABLE_ELEMENT_BYTES`] each must stay within the limit, so a guest cannot trade a capped
/// memory for an uncapped table.
#[derive(Debug)]
pub struct MemoryLimiter {
    max_bytes: usize,
    memory_bytes: usize,
    table_bytes: usize,
    denied: bool,
}

impl MemoryLimiter {
    /// A limiter allowing linear memory plus tables of up to `max_bytes`.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            memory_bytes: 0,
            table_bytes: 0,
            denied: false,
        }
    }

    /// Whether a growth was denied.
    pub fn denied(&self) -> bool {
        self.denied
    }

    fn allow(&mut self, memory_bytes: usize, table_bytes: usize) -> bool {
        let fits = memory_bytes
            .checked_add(table_bytes)
            .is_some_and(|total| total <= self.max_bytes);
        if fits {
            self.memory_bytes = memory_bytes;
            self.table_bytes = table_bytes;
        } else {
            self.denied = true;
        }
        fits
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // One memory per instance (`memories()`), so its size replaces the previous one.
        let memory = self
            .memory_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        Ok(self.allow(memory, self.table_bytes))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grown = desired
            .saturating_sub(current)
            .saturating_mul(TABLE_ELEMENT_BYTES);
        Ok(self.allow(self.memory_bytes, self.table_bytes.saturating_add(grown)))
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        1
    }
}

struct EngineInner {
    engine: Engine,
    linker: Linker<Host>,
    /// Built on the first component: a process that runs only core modules never pays for
    /// linking all of WASI preview 2.
    component_linker: std::sync::OnceLock<wasmtime::component::Linker<component::ComponentHost>>,
    cache: CompiledCache,
    runtime: tokio::runtime::Runtime,
    allocator: Allocator,
    loaded: Mutex<HashMap<String, Prepared>>,
}

/// A loaded binary, linked and ready to instantiate.
#[derive(Clone)]
enum Prepared {
    /// A core module (WASI preview 1): `_start` is called.
    Module(InstancePre<Host>),
    /// A component (WASI preview 2): `wasi:cli/run` is called.
    Component(wasmtime_wasi::p2::bindings::CommandPre<component::ComponentHost>),
}

/// The per-process wasmtime machinery shared by every WASI component.
#[derive(Clone)]
pub struct WasmEngine {
    inner: Arc<EngineInner>,
}

impl std::fmt::Debug for WasmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmEngine")
            .field("allocator", &self.inner.allocator)
            .field("cache", &self.inner.cache.dir())
            .finish()
    }
}

/// The allocator of [`WasmEngine::shared`] engines.
static SHARED_ALLOCATOR: Mutex<Allocator> = Mutex::new(Allocator::Auto);

/// Chooses the allocator of the engines [`WasmEngine::shared`] builds from now on (default
/// [`Allocator::Auto`]). A process that runs a component or two and exits (`berth exec`, `berth
/// run`) wants [`Allocator::OnDemand`]: building a pooling engine costs more than a millisecond
/// (address-space probe, slot reservations) and pays back only over many instantiations, as in
/// a server.
pub fn set_shared_allocator(allocator: Allocator) {
    *SHARED_ALLOCATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = allocator;
}

fn shared_allocator() -> Allocator {
    *SHARED_ALLOCATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether this process may reserve the address space the pooling allocator needs.
pub fn pooling_is_available() -> bool {
    let probe = || -> Result<()> {
        let mut config = Config::new();
        config.wasm_memory64(true).memory_reservation(1 << 42);
        let engine = Engine::new(&config)?;
        let mut store = Store::new(&engine, ());
        Memory::new(&mut store, MemoryType::new64(0, Some(1 << 26)))?;
        Ok(())
    };
    probe().is_ok()
}

/// How much of a pooled linear memory is reset by zeroing its dirty pages (see
/// [`engine_config`]).
const KEEP_RESIDENT_BYTES: usize = 4 << 20;

/// The same for a pooled table.
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

fn engine_config(allocator: Allocator) -> (Config, Allocator) {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let chosen = match allocator {
        Allocator::Auto if pooling_is_available() => Allocator::Pooling,
        Allocator::Auto => Allocator::OnDemand,
        other => other,
    };
    if chosen == Allocator::Pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(64)
            .total_memories(64)
            .total_tables(64)
            .total_stacks(64)
            .max_memory_size(4 << 30)
            .max_unused_warm_slots(16)
            // A slot's memory is reset for the next instance by zeroing the pages the last one
            // dirtied (found with Linux's PAGEMAP_SCAN, 6.7+), up to this much, instead of
            // `madvise` dropping them: no page faults to map them again, and no TLB shootdown
            // interrupting every other core running a guest of this process, which kept
            // concurrent runs from scaling. Larger memories are still reset by `madvise`, and
            // without PAGEMAP_SCAN the whole `keep_resident` prefix would be zeroed on every
            // reset, so it is only set when the scan is available. The guarantee is the same
            // either way — a new instance sees only zeroes and its own data segments — and a
            // test runs a guest that checks for a previous run's bytes.
            .pagemap_scan(wasmtime::Enabled::Auto);
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
                .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES);
        }
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    (config, chosen)
}

impl WasmEngine {
    /// Builds the engine, the WASI preview 1 linker (preview 2's is built with the first
    /// component), the epoch ticker and the runtime.
    pub fn new(options: &EngineOptions) -> Result<Self, ExecError> {
        let build = || -> Result<EngineInner> {
            let (config, mut allocator) = engine_config(options.allocator);
            let engine = match Engine::new(&config) {
                Ok(engine) => engine,
                Err(error)
                    if allocator == Allocator::Pooling && options.allocator == Allocator::Auto =>
                {
                    tracing::warn!("pooling allocator unavailable, using on-demand: {error:#}");
                    allocator = Allocator::OnDemand;
                    Engine::new(&engine_config(Allocator::OnDemand).0)?
                }
                Err(error) => return Err(error.into()),
            };
            let mut linker: Linker<Host> = Linker::new(&engine);
            p1::add_to_linker_async(&mut linker, |host: &mut Host| &mut host.wasi)?;
            poll::shadow_poll_oneoff(&mut linker)?;
            start_epoch_ticker(&engine);
            // Every run is driven by `block_on` on its caller's thread, so runs on several
            // threads proceed in parallel. The one worker thread turns the timer and I/O
            // drivers: with a current-thread runtime only the thread holding the scheduler's
            // core turns them, so a guest busy in wasm code on one thread held back the
            // timers (sleeps, timeouts) of every guest on the others.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("berth-wasi-timers")
                .enable_all()
                .build()
                .context("starting the executor's runtime")?;
            Ok(EngineInner {
                engine,
                linker,
                component_linker: std::sync::OnceLock::new(),
                cache: CompiledCache::new(&options.cache_dir),
                runtime,
                allocator,
                loaded: Mutex::new(HashMap::new()),
            })
        };
        build()
            .map(|inner| Self {
                inner: Arc::new(inner),
            })
            .map_err(|source| ExecError::Executor {
                executor: "wasi",
                source,
            })
    }

    /// The process-wide engine for the compiled cache in `cache_dir`: built once, so that a pull's
    /// precompile, `berth exec` and every row of a job share one engine, one epoch ticker and
    /// the in-process table of loaded modules. Never dropped (its runtime must not be dropped
    /// inside an async context). Its allocator is [`set_shared_allocator`]'s choice.
    pub fn shared(cache_dir: &Path) -> Result<Self, ExecError> {
        static ENGINES: std::sync::OnceLock<Mutex<HashMap<PathBuf, WasmEngine>>> =
            std::sync::OnceLock::new();
        let mut engines = ENGINES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let options = EngineOptions {
            allocator: shared_allocator(),
            ..EngineOptions::with_cache_dir(cache_dir)
        };
        if let Some(engine) = engines.get(&options.cache_dir) {
            return Ok(engine.clone());
        }
        let engine = Self::new(&options)?;
        engines.insert(options.cache_dir, engine.clone());
        Ok(engine)
    }

    /// The allocator actually in use.
    pub fn allocator(&self) -> Allocator {
        self.inner.allocator
    }

    /// The compiled-module cache.
    pub fn cache(&self) -> &CompiledCache {
        &self.inner.cache
    }

    /// Loads the module or component at `path` as the component `name`: from the in-process
    /// table when this engine has seen the same bytes, else from the compiled cache, else by
    /// compiling it. The file is read and hashed every time (it may have changed); see
    /// [`WasmEngine::load_pinned`] for content-addressed files.
    pub fn load(&self, path: &Path, name: &str) -> Result<WasmComponent, ExecError> {
        let wasm = std::fs::read(path)
            .with_context(|| format!("reading {}", path.display()))
            .map_err(|source| component_error(name, source))?;
        let digest = sha256_hex(&wasm);
        self.load_bytes(&wasm, &digest, name)
    }

    /// Loads the module or component at `path` whose bytes have the sha256 `digest` (hex), as
    /// an image store's verified blob does: when the in-process table or the compiled cache
    /// knows `digest`, the file is not read (a Python component is tens of MiB); when it has to
    /// be compiled, its bytes are checked against `digest` first.
    pub fn load_pinned(
        &self,
        path: &Path,
        digest: &str,
        name: &str,
    ) -> Result<WasmComponent, ExecError> {
        self.load_with(digest, name, || self.prepare_pinned(path, digest))
    }

    /// Like [`WasmEngine::load`] for module or component bytes whose sha256 is `digest`.
    pub fn load_bytes(
        &self,
        wasm: &[u8],
        digest: &str,
        name: &str,
    ) -> Result<WasmComponent, ExecError> {
        self.load_with(digest, name, || self.prepare(wasm, digest))
    }

    /// The component `name` for `digest`: from the in-process table, else from `prepare`.
    fn load_with(
        &self,
        digest: &str,
        name: &str,
        prepare: impl FnOnce() -> Result<(Prepared, CacheStatus)>,
    ) -> Result<WasmComponent, ExecError> {
        let known = self.loaded().get(digest).cloned();
        let (pre, cache_status) = match known {
            Some(pre) => (pre, CacheStatus::Hit),
            None => {
                // Not under the table's lock: a compile takes seconds, and loads of other
                // modules (or runs of loaded ones) must not wait behind it. Two threads meeting
                // on a new module may both prepare it; the first to finish is kept.
                let (pre, status) = prepare().map_err(|source| component_error(name, source))?;
                let pre = self
                    .loaded()
                    .entry(digest.to_owned())
                    .or_insert(pre)
                    .clone();
                (pre, status)
            }
        };
        Ok(WasmComponent {
            name: name.to_owned(),
            digest: digest.to_owned(),
            args: vec![name.to_owned()],
            engine: self.clone(),
            pre,
            cache_status,
        })
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, HashMap<String, Prepared>> {
        self.inner
            .loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The error of loading the component `name`.
fn component_error(name: &str, source: anyhow::Error) -> ExecError {
    ExecError::Component {
        component: name.to_owned(),
        source,
    }
}

impl WasmEngine {
    /// Compiles (or loads) and links a core module or a component.
    fn prepare(&self, wasm: &[u8], digest: &str) -> Result<(Prepared, CacheStatus)> {
        let inner = &self.inner;
        if component::is_component(wasm) {
            let (pre, status) = component::prepare(
                &inner.engine,
                self.component_linker()?,
                &inner.cache,
                wasm,
                digest,
            )?;
            return Ok((Prepared::Component(pre), status));
        }
        let (module, status) = inner.cache.load_or_compile(&inner.engine, wasm, digest)?;
        Ok((self.link_module(&module)?, status))
    }

    /// [`WasmEngine::prepare`] for the file `path` with the sha256 `digest`: from the compiled
    /// cache without reading the file when it can, else from the verified bytes.
    fn prepare_pinned(&self, path: &Path, digest: &str) -> Result<(Prepared, CacheStatus)> {
        let inner = &self.inner;
        let header = read_header(path)?;
        let is_component = component::is_component(&header);
        let status = if is_component {
            match inner.cache.load_cached_component(&inner.engine, digest) {
                Lookup::Found(compiled) => {
                    let pre = component::link(self.component_linker()?, &compiled)?;
                    return Ok((Prepared::Component(pre), CacheStatus::Hit));
                }
                Lookup::Missing(status) => status,
            }
        } else {
            match inner.cache.load_cached(&inner.engine, digest) {
                Lookup::Found(module) => return Ok((self.link_module(&module)?, CacheStatus::Hit)),
                Lookup::Missing(status) => status,
            }
        };
        let wasm = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let actual = sha256_hex(&wasm);
        anyhow::ensure!(
            actual == digest,
            "{} does not hold the module it was stored as: expected sha256:{digest}, found sha256:{actual}",
            path.display()
        );
        // Compiled straight away: the cache was just asked and could not answer.
        if is_component {
            let (compiled, status) = inner
                .cache
                .compile_and_store::<wasmtime::component::Component>(
                    &inner.engine,
                    &wasm,
                    digest,
                    status,
                )?;
            let pre = component::link(self.component_linker()?, &compiled)?;
            Ok((Prepared::Component(pre), status))
        } else {
            let (module, status) = inner.cache.compile_and_store::<wasmtime::Module>(
                &inner.engine,
                &wasm,
                digest,
                status,
            )?;
            Ok((self.link_module(&module)?, status))
        }
    }

    /// The preview 2 linker, built on first use.
    fn component_linker(&self) -> Result<&wasmtime::component::Linker<component::ComponentHost>> {
        let cell = &self.inner.component_linker;
        if let Some(linker) = cell.get() {
            return Ok(linker);
        }
        let linker = component::linker(&self.inner.engine)?;
        // Two threads may build it at once; either result is the same linker.
        Ok(cell.get_or_init(|| linker))
    }

    fn link_module(&self, module: &wasmtime::Module) -> Result<Prepared> {
        let pre = self
            .inner
            .linker
            .instantiate_pre(module)
            .map_err(anyhow::Error::from)
            .context("linking the module against WASI preview 1")?;
        Ok(Prepared::Module(pre))
    }
}

/// The first bytes of a wasm file: enough to tell a component from a core module.
fn read_header(path: &Path) -> Result<[u8; 8]> {
    use std::io::Read;
    let mut header = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut header))
        .with_context(|| format!("reading the header of {}", path.display()))?;
    Ok(header)
}

fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("berth-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .ok();
}

/// Compiles the module or component at `module_path` into the compiled cache in `cache_dir`
/// (used after a pull, so the first run is warm).
pub fn precompile_into_cache(cache_dir: &Path, module_path: &Path) -> Result<()> {
    let engine = WasmEngine::shared(cache_dir)?;
    let wasm =
        std::fs::read(module_path).with_context(|| format!("reading {}", module_path.display()))?;
    let digest = sha256_hex(&wasm);
    let inner = &engine.inner;
    if component::is_component(&wasm) {
        return component::precompile(&inner.engine, &inner.cache, &wasm, &digest);
    }
    inner.cache.load_or_compile(&inner.engine, &wasm, &digest)?;
    Ok(())
}

/// A WASI module or component ready to run.
#[derive(Clone)]
pub struct WasmComponent {
    name: String,
    digest: String,
    args: Vec<String>,
    engine: WasmEngine,
    pre: Prepared,
    cache_status: CacheStatus,
}

impl std::fmt::Debug for WasmComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmComponent")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .field("cache_status", &self.cache_status)
            .finish()
    }
}

impl WasmComponent {
    /// The sha256 of the module's bytes.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Whether this is a component (WASI preview 2) rather than a core module (preview 1).
    pub fn is_component(&self) -> bool {
        matches!(self.pre, Prepared::Component(_))
    }

    /// How the compiled module was obtained when this component was loaded.
    pub fn cache_status(&self) -> CacheStatus {
        self.cache_status
    }

    /// Replaces the guest's argv (the first element is the program name).
    pub fn with_args(mut self, args: Vec<String>) -> Self {
        if !args.is_empty() {
            self.args = args;
        }
        self
    }

    fn build_store(
        &self,
        request: &ExecRequest,
    ) -> Result<(Store<Host>, OutputCapture, OutputCapture)> {
        let (mut builder, stdout, stderr) = sandbox_context(&self.args, request)?;
        let host = Host {
            wasi: builder.build_p1(),
            limiter: MemoryLimiter::new(request.limits.memory_bytes),
            cancel: request.cancel.clone(),
            ticks_left: epoch_ticks(request.limits.timeout),
        };
        let mut store = Store::new(&self.engine.inner.engine, host);
        store.limiter(|host| &mut host.limiter);
        // Every tick the callback decides: cancelled, timed out, or one more tick.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(on_epoch_tick);
        Ok((store, stdout, stderr))
    }
}

/// The WASI context of one execution, for a module or a component alike: `args`, exactly the
/// request's environment, stdout and stderr into bounded captures, no network (sockets refuse
/// every address, no name lookup), and the data folder preopened at `/data`, nothing else.
fn sandbox_context(
    args: &[String],
    request: &ExecRequest,
) -> Result<(WasiCtxBuilder, OutputCapture, OutputCapture)> {
    let (stdout, stderr) = captures(&request.stdout, request.limits.output_cap_bytes);
    // Secrets are hidden before any output is kept or shown.
    request.filter_output(&stdout, &stderr);
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(args)
        .envs(&request.env)
        .stdout(pipe::CaptureStream::new(stdout.clone()))
        .stderr(pipe::CaptureStream::new(stderr.clone()))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        // Preview 2 links `wasi:sockets`: should TCP or UDP ever be allowed, no address is.
        .socket_addr_check(|_, _| Box::pin(async { false }))
        // File I/O inline instead of a blocking-pool hop per operation; sleeps stay
        // cancellable because `poll_oneoff` is berth's own (see `poll`), and preview 2's
        // are tokio timers.
        .allow_blocking_current_thread(true);
    builder
        .preopened_dir(&request.data_dir, GUEST_DATA_DIR, FsPerms::ReadWrite)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("preopening {}", request.data_dir.display()))?;
    Ok((builder, stdout, stderr))
}

/// The epoch ticks `timeout` lasts.
fn epoch_ticks(timeout: Duration) -> u64 {
    let ticks = timeout.as_millis() / EPOCH_TICK.as_millis() + 1;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// Drives a guest's `run` on the engine's runtime until it ends, its time is up (the async
/// backstop behind the epoch deadline) or it is cancelled.
///
/// Most runs never wait: a synchronous action, a transformation busy with its data (file I/O is
/// inline, see [`poll`]) finish within the first poll of `run`, stopped if need be by the epoch
/// callback (time, cancellation, shutdown). Only a run that waits — a guest sleeping in
/// `poll_oneoff`, a component blocked on a pollable — needs the backstop timer and the cancel and
/// shutdown watchers, so they are set up after the first poll comes back pending, with the
/// deadline counted from the start. A run that never waits registers no timer with the runtime,
/// which otherwise had to wake its driver thread for every run (that wake-up, paid by every
/// thread at once, kept concurrent runs from scaling).
fn drive(
    engine: &WasmEngine,
    request: &ExecRequest,
    run: impl std::future::Future<Output = CallEnd>,
) -> CallEnd {
    if request.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
        return CallEnd::Cancelled;
    }
    if crate::shutdown::is_requested() {
        return CallEnd::ShutDown(crate::shutdown::requested().unwrap_or_default());
    }
    let deadline = tokio::time::Instant::now() + request.limits.timeout + TIMEOUT_BACKSTOP_GRACE;
    engine.inner.runtime.block_on(async {
        let mut run = std::pin::pin!(run);
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(run.as_mut().poll(cx))).await;
        if let std::task::Poll::Ready(end) = first {
            return end;
        }
        // Dropping `run` (timeout or cancellation) stops the guest at its next await point:
        // a host call, an epoch check yields nothing, so a busy guest is stopped by the epoch
        // deadline (timeout) and an explicit cancellation by the next host call or epoch tick.
        tokio::select! {
            biased;
            () = until_cancelled(request.cancel.as_ref()) => CallEnd::Cancelled,
            why = crate::shutdown::wait() => CallEnd::ShutDown(why),
            end = tokio::time::timeout_at(deadline, run) => end.unwrap_or(CallEnd::TimedOut),
        }
    })
}

/// How the guest's call ended, before the limiter is consulted.
enum CallEnd {
    Finished(wasmtime::Result<()>),
    Instantiation(wasmtime::Error),
    TimedOut,
    /// Cancelled from outside ([`crate::Cancel`]).
    Cancelled,
    /// A process-wide shutdown was requested ([`crate::shutdown`]).
    ShutDown(String),
}

impl Executor for WasmComponent {
    fn component_name(&self) -> &str {
        &self.name
    }

    fn execute(&self, request: &ExecRequest) -> Result<ExecResult, ExecError> {
        if !request.data_dir.is_dir() {
            return Err(ExecError::DataDir {
                path: request.data_dir.clone(),
                reason: "is not a directory".into(),
            });
        }
        let pre = match &self.pre {
            Prepared::Module(pre) => pre,
            Prepared::Component(pre) => return component::execute(self, pre, request),
        };
        let (mut store, stdout, stderr) =
            self.build_store(request)
                .map_err(|source| ExecError::Executor {
                    executor: "wasi",
                    source,
                })?;
        let started = Instant::now();
        let end = drive(&self.engine, request, async {
            {
                let instance = match pre.instantiate_async(&mut store).await {
                    Ok(instance) => instance,
                    Err(error) => return CallEnd::Instantiation(error),
                };
                let start = match instance.get_typed_func::<(), ()>(&mut store, "_start") {
                    Ok(start) => start,
                    Err(error) => return CallEnd::Instantiation(error),
                };
                CallEnd::Finished(start.call_async(&mut store, ()).await)
            }
        });
        let duration = started.elapsed();
        let memory_denied = store.data().limiter.denied();
        drop(store);
        finish(&self.name, end, memory_denied, duration, stdout, stderr)
    }
}

/// The result of a module's or component's run, from how its call ended.
fn finish(
    name: &str,
    end: CallEnd,
    memory_denied: bool,
    duration: Duration,
    stdout: OutputCapture,
    stderr: OutputCapture,
) -> Result<ExecResult, ExecError> {
    let termination = match end {
        CallEnd::TimedOut => Termination::TimedOut,
        CallEnd::Cancelled => Termination::Cancelled,
        CallEnd::ShutDown(why) => shut_down(&why),
        CallEnd::Finished(Ok(())) => Termination::Exited(0),
        CallEnd::Finished(Err(error)) => termination_of(&error, memory_denied),
        CallEnd::Instantiation(error) => {
            if memory_denied {
                Termination::OutOfMemory
            } else if error.downcast_ref::<Trap>().is_some() {
                termination_of(&error, false)
            } else {
                return Err(ExecError::Component {
                    component: name.to_owned(),
                    source: anyhow::Error::from(error).context("instantiating the module"),
                });
            }
        }
    };
    Ok(ExecResult {
        termination,
        stdout: stdout.finish(),
        stderr: stderr.finish(),
        duration,
    })
}

/// The termination of a run stopped because berth received `why` (a signal's name).
fn shut_down(why: &str) -> Termination {
    Termination::Crashed(format!(
        "{}: berth received {why} and stopped the component",
        crate::shutdown::CANCELLED
    ))
}

/// Maps a guest's error to a termination; a denied memory growth turns any failure into
/// out-of-memory.
fn termination_of(error: &wasmtime::Error, memory_denied: bool) -> Termination {
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return match exit.0 {
            0 => Termination::Exited(0),
            _ if memory_denied => Termination::OutOfMemory,
            code => Termination::Exited(code),
        };
    }
    if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return Termination::TimedOut;
    }
    if error.downcast_ref::<GuestCancelled>().is_some() {
        return Termination::Cancelled;
    }
    if error.downcast_ref::<GuestShutDown>().is_some() {
        return shut_down(&crate::shutdown::requested().unwrap_or_default());
    }
    if memory_denied {
        return Termination::OutOfMemory;
    }
    let reason = match error.downcast_ref::<Trap>() {
        Some(trap) => format!("wasm trap: {trap}"),
        None => error.root_cause().to_string(),
    };
    Termination::Crashed(reason)
}

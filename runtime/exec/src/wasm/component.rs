//! WASI preview 2 components (the `wasi:cli/command` world) in the same sandbox as preview 1
//! modules.
//!
//! A component is told from a core module by its header ([`is_component`]); the engine then
//! compiles it through the same [`CompiledCache`](crate::compiled_cache::CompiledCache), links it
//! against wasmtime-wasi's preview 2 host and calls its `wasi:cli/run` export. Everything that
//! makes the sandbox is shared with preview 1 (see the parent module): the WASI context (only
//! `/data` preopened, the request's environment and nothing else, capped output, sockets linked
//! but every address refused and no name lookup), the epoch deadline and the async backstop, and
//! the mapping of how a call ended to a [`Termination`](crate::Termination).
//!
//! What differs is memory: a component is several core instances, each with its own linear
//! memories and tables, so [`ComponentLimiter`] limits the sum of all its memories rather than
//! one memory, and allows the instances, memories and tables a component is made of.

use std::time::Instant;

use anyhow::{Context, Result};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxView, WasiView};

use super::{CallEnd, MemoryLimiter, WasmComponent};
use crate::Cancel;
use crate::compiled_cache::{CacheStatus, CompiledCache};
use crate::{ExecError, ExecRequest, ExecResult};

/// Core instances one component may create (a Python component has about ten).
const MAX_INSTANCES: usize = 64;
/// Linear memories across those instances.
const MAX_MEMORIES: usize = 16;
/// Tables across those instances.
const MAX_TABLES: usize = 64;

/// Whether `wasm` is a component (as opposed to a core module).
pub(super) fn is_component(wasm: &[u8]) -> bool {
    wasmparser::Parser::is_component(wasm)
}

/// Store data of one component execution.
pub(super) struct ComponentHost {
    ctx: WasiCtx,
    table: ResourceTable,
    limiter: ComponentLimiter,
    /// Set from outside to stop the guest (checked at every epoch tick).
    cancel: Option<Cancel>,
    /// Epoch ticks left before the timeout traps.
    ticks_left: u64,
}

impl WasiView for ComponentHost {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// The linker every component is linked with: WASI preview 2, async.
pub(super) fn linker(engine: &Engine) -> Result<Linker<ComponentHost>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Ok(linker)
}

/// Compiles (or loads from `cache`) the component `wasm` with digest `digest` and links it.
pub(super) fn prepare(
    engine: &Engine,
    linker: &Linker<ComponentHost>,
    cache: &CompiledCache,
    wasm: &[u8],
    digest: &str,
) -> Result<(CommandPre<ComponentHost>, CacheStatus)> {
    let (component, status) = cache.load_or_compile_component(engine, wasm, digest)?;
    Ok((link(linker, &component)?, status))
}

/// Links a compiled component against WASI preview 2 and finds its `wasi:cli/run`.
pub(super) fn link(
    linker: &Linker<ComponentHost>,
    component: &Component,
) -> Result<CommandPre<ComponentHost>> {
    let pre = linker
        .instantiate_pre(component)
        .map_err(anyhow::Error::from)
        .context("linking the component against WASI preview 2")?;
    CommandPre::new(pre)
        .map_err(anyhow::Error::from)
        .context("the component does not export wasi:cli/run (not a wasi:cli/command)")
}

/// Compiles the component `wasm` into `cache` without linking it (precompile on pull).
pub(super) fn precompile(
    engine: &Engine,
    cache: &CompiledCache,
    wasm: &[u8],
    digest: &str,
) -> Result<()> {
    cache.load_or_compile_component(engine, wasm, digest)?;
    Ok(())
}

/// Runs `pre` once for `request`, as [`WasmComponent`]'s `execute` does for a module.
pub(super) fn execute(
    component: &WasmComponent,
    pre: &CommandPre<ComponentHost>,
    request: &ExecRequest,
) -> Result<ExecResult, ExecError> {
    let engine = &component.engine.inner;
    let build = || -> Result<_> {
        let (mut builder, stdout, stderr) = super::sandbox_context(&component.args, request)?;
        let host = ComponentHost {
            ctx: builder.build(),
            table: ResourceTable::new(),
            limiter: ComponentLimiter::new(request.limits.memory_bytes),
            cancel: request.cancel.clone(),
            ticks_left: super::epoch_ticks(request.limits.timeout),
        };
        let mut store = Store::new(&engine.engine, host);
        store.limiter(|host| &mut host.limiter);
        // Every tick decides, as for modules: cancelled, timed out, or one more tick.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut store| {
            let host = store.data_mut();
            super::epoch_tick(host.cancel.as_ref(), &mut host.ticks_left)
        });
        Ok((store, stdout, stderr))
    };
    let (mut store, stdout, stderr) = build().map_err(|source| ExecError::Executor {
        executor: "wasi",
        source,
    })?;
    let started = Instant::now();
    let end = super::drive(&component.engine, request, async {
        let command = match pre.instantiate_async(&mut store).await {
            Ok(command) => command,
            Err(error) => return CallEnd::Instantiation(error),
        };
        CallEnd::Finished(match command.wasi_cli_run().call_run(&mut store).await {
            Ok(Ok(())) => Ok(()),
            // `run` returning an error status (`wasi:cli/exit` with one arrives as I32Exit).
            Ok(Err(())) => Err(wasmtime::format_err!(I32Exit(1))),
            Err(error) => Err(error),
        })
    });
    let duration = started.elapsed();
    let memory_denied = store.data().limiter.denied();
    drop(store);
    super::finish(
        &component.name,
        end,
        memory_denied,
        duration,
        stdout,
        stderr,
    )
}

/// Limits the total size of a component's linear memories, and how many instances, memories and
/// tables it may create; growth past the memory limit is denied and remembered.
#[derive(Debug)]
pub(super) struct ComponentLimiter {
    inner: MemoryLimiter,
    /// The sum of the current sizes of every memory: each growth reports its memory's current
    /// and desired size (from 0 when the memory is created), so the total moves by the delta.
    total: usize,
}

impl ComponentLimiter {
    fn new(max_bytes: u64) -> Self {
        Self {
            inner: MemoryLimiter::new(max_bytes),
            total: 0,
        }
    }

    fn denied(&self) -> bool {
        self.inner.denied()
    }
}

impl ResourceLimiter for ComponentLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.total.saturating_sub(current).saturating_add(desired);
        let granted = self.inner.memory_growing(self.total, total, maximum)?;
        if granted {
            self.total = total;
        }
        Ok(granted)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}
